/**
 * The etcd security flags of `overlay`: TLS files, a user whose password comes from a file or
 * the environment (never from argv: any user of the machine reads /proc/PID/cmdline), and
 * --etcd-insecure for plain HTTP to another host. Files are read here and handed to the
 * library as PEM text; problems name the flag.
 */
import * as fs from 'node:fs';
import { Option, type Command } from 'commander';
import type { EtcdMembershipOptions } from '../membership/etcd';
import { Problems, ValidationError } from '../values/problems';

/** The environment variable `overlay` reads the etcd password from (when no file is given). */
export const ETCD_PASSWORD_ENV = 'NETLINK_AGENT_ETCD_PASSWORD';

/** The flags (commander's camelCase names). */
export interface EtcdAccessFlags {
  etcd?: string;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  etcdUser?: string;
  etcdPasswordFile?: string;
  etcdInsecure?: boolean;
  /** Hidden: present only to refuse it with a reason. */
  etcdPassword?: string;
}

/** Adds the flags to a command. */
export function addEtcdAccessOptions(c: Command): Command {
  return c
    .option('--etcd-cafile <file>', 'CA certificate(s) (PEM) that signed etcd\'s server certificate (https:// endpoints)')
    .option('--etcd-certfile <file>', 'client certificate (PEM) for etcd\'s --client-cert-auth; with etcd auth on and no --etcd-user, its CN is the etcd user')
    .option('--etcd-keyfile <file>', 'the client certificate\'s private key (PEM, unencrypted)')
    .option('--etcd-user <name>', `etcd user; the password is read from --etcd-password-file or $${ETCD_PASSWORD_ENV}, never from the command line`)
    .option('--etcd-password-file <file>', 'file holding the etcd user\'s password (one line)')
    .option('--etcd-insecure', 'allow http:// to an etcd on another host (anyone on the path could read and forge node records)')
    .addOption(new Option('--etcd-password <secret>').hideHelp());
}

/** Why --etcd-password is refused (the value is never repeated). */
export const PASSWORD_ON_ARGV =
  `error: --etcd-password is not accepted: a password on the command line is visible to every user of this machine (ps, /proc/PID/cmdline); put it in a file (--etcd-password-file) or in $${ETCD_PASSWORD_ENV}`;

const MAX_FILE = 1 << 20;

function readSmall(p: Problems, flag: string, file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) {
      p.add(flag, `${file} is not a file`);
      return undefined;
    }
    if (st.size > MAX_FILE) {
      p.add(flag, `${file} is ${st.size} bytes, more than the ${MAX_FILE} such a file can need`);
      return undefined;
    }
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    p.add(flag, `cannot read ${file}${code ? ` (${code})` : ''}`);
    return undefined;
  }
}

/**
 * Reads the files and the environment: the tls/auth/insecure part of EtcdMembershipOptions.
 * Throws ValidationError naming the flags; never includes the password.
 */
export function etcdAccessFromFlags(o: EtcdAccessFlags, env: NodeJS.ProcessEnv): Pick<EtcdMembershipOptions, 'tls' | 'auth' | 'insecure'> {
  const p = new Problems();
  const out: Pick<EtcdMembershipOptions, 'tls' | 'auth' | 'insecure'> = {};
  const ca = o.etcdCafile !== undefined ? readSmall(p, '--etcd-cafile', o.etcdCafile) : undefined;
  const cert = o.etcdCertfile !== undefined ? readSmall(p, '--etcd-certfile', o.etcdCertfile) : undefined;
  const key = o.etcdKeyfile !== undefined ? readSmall(p, '--etcd-keyfile', o.etcdKeyfile) : undefined;
  if ((o.etcdCertfile === undefined) !== (o.etcdKeyfile === undefined)) {
    p.add(o.etcdCertfile === undefined ? '--etcd-certfile' : '--etcd-keyfile', 'give --etcd-certfile and --etcd-keyfile together');
  }
  if (ca !== undefined || cert !== undefined || key !== undefined) {
    out.tls = { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
  }
  const fromEnv = env[ETCD_PASSWORD_ENV];
  if (o.etcdUser !== undefined) {
    let password: string | undefined;
    if (o.etcdPasswordFile !== undefined) {
      if (fromEnv !== undefined) p.add('--etcd-password-file', `and $${ETCD_PASSWORD_ENV} are both given; give one`);
      const text = readSmall(p, '--etcd-password-file', o.etcdPasswordFile);
      // One line: the trailing line break editors and `echo` add is not part of the password.
      if (text !== undefined) password = text.replace(/\r?\n$/, '');
      if (password === '') p.add('--etcd-password-file', `${o.etcdPasswordFile} is empty`);
    } else if (fromEnv !== undefined) {
      password = fromEnv;
      if (password === '') p.add(ETCD_PASSWORD_ENV, 'is empty');
    } else p.add('--etcd-user', `needs a password: --etcd-password-file FILE or $${ETCD_PASSWORD_ENV}`);
    if (password) out.auth = { username: o.etcdUser, password };
  } else if (o.etcdPasswordFile !== undefined) p.add('--etcd-password-file', 'needs --etcd-user');
  if (o.etcdInsecure) out.insecure = true;
  p.throwIfAny('invalid etcd options');
  if (out.tls || o.etcd?.includes('https://')) quietIpServernameWarning();
  return out;
}

let quieted = false;
/**
 * gRPC sets the TLS server name to the endpoint's host, also when that is an IP address, and
 * Node warns about that once (DEP0123) on stderr, a line that is not a log line (it breaks
 * --json). The command owns its process: it drops that one warning, nothing else.
 */
function quietIpServernameWarning(): void {
  if (quieted) return;
  quieted = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
    if (code === 'DEP0123') return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

const FLAG_OF: Record<string, string> = {
  'tls.ca': '--etcd-cafile',
  'tls.cert': '--etcd-certfile',
  'tls.key': '--etcd-keyfile',
  'auth.username': '--etcd-user',
  'auth.password': '--etcd-password-file',
  insecure: '--etcd-insecure',
  endpoints: '--etcd',
};

/** Runs `make` (new EtcdMembership); a ValidationError it throws names flags instead of the
 * library's fields (tls.cert -> --etcd-certfile). */
export function withEtcdFlagNames<T>(make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw withFlagNames(e);
  }
}

function withFlagNames(e: unknown): unknown {
  if (!(e instanceof ValidationError)) return e;
  const problems = e.problems.map((x) => {
    const m = /^([a-z.]+)(\[\d+\])?$/.exec(x.path);
    const flag = m ? FLAG_OF[m[1]] : undefined;
    if (!flag) return x;
    const index = m![2] ? Number(m![2].slice(1, -1)) : undefined;
    return { path: index !== undefined ? `${flag} (URL ${index + 1})` : flag, message: x.message };
  });
  return problems.some((x, i) => x !== e.problems[i]) ? new ValidationError(problems, 'invalid etcd options') : e;
}
