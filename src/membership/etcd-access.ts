/**
 * How EtcdMembership proves who it is to etcd and who etcd is: TLS (the CA that signed etcd's
 * certificate, a client certificate for etcd's --client-cert-auth), a user name and password,
 * and the rule that node records do not cross a network in plain HTTP.
 *
 * Everything here is checked before the first connection, so that a wrong file, an expired
 * certificate or a key that does not belong to its certificate is a ValidationError naming the
 * field, not a handshake that fails later for reasons nobody can read. What only etcd can
 * decide (it does not trust our certificate, the password is wrong, the user may not write a
 * key) comes back as an EtcdAccessError with a sentence saying what to change.
 *
 * The password is never part of a message: not of a ValidationError, not of an
 * EtcdAccessError, and the options object it came in is not kept.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { IOptions } from 'etcd3';
import type { Problems } from '../values/problems';

/** TLS towards etcd. PEM text (or its bytes); the CLI reads it from --etcd-cafile etc. */
export interface EtcdTlsOptions {
  /** The CA certificate(s) that signed etcd's server certificate. Default: the system's roots. */
  ca?: string | Buffer;
  /** This client's certificate (chain), for etcd's --client-cert-auth. Give `key` with it. With
   * etcd's auth enabled and no `auth`, etcd takes the certificate's CN as the user name. */
  cert?: string | Buffer;
  /** The private key of `cert` (unencrypted PEM). */
  key?: string | Buffer;
}

/** etcd user authentication (etcd's auth enabled). */
export interface EtcdAuthOptions {
  username: string;
  /** Never logged and never part of an error. The CLI reads it from a file or the environment. */
  password: string;
}

/** The security part of EtcdMembershipOptions. */
export interface EtcdAccessOptions {
  /** Client URLs; https:// for TLS. */
  endpoints: string | string[];
  tls?: EtcdTlsOptions;
  auth?: EtcdAuthOptions;
  /**
   * Allow http:// to an etcd that is not on this host. Off by default: in plain HTTP anyone on
   * the path can read the records and forge one, redirecting pod traffic to any address.
   */
  insecure?: boolean;
}

const MAX_USERNAME = 128;
const MAX_PEM_BYTES = 1 << 20;

/** Loopback hosts: plain HTTP to them never leaves this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** An endpoint without user info, for messages (a URL may carry a password: never echo it). */
export function redactEndpoint(u: string): string {
  try {
    const url = new URL(u);
    if (url.username || url.password) {
      url.username = '';
      url.password = '';
      return `${url.toString()} (user info removed)`;
    }
    return u;
  } catch {
    // Not a URL at all: whatever is between "//" and "@" could be user info.
    return u.replace(/\/\/[^/@]*@/, '//…@');
  }
}

function pemText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return undefined;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Parses every certificate of a PEM bundle; adds problems for unreadable or expired ones. */
function checkCertificates(p: Problems, path: string, v: unknown, now: number): X509Certificate[] {
  const text = pemText(v);
  if (text === undefined) {
    p.add(path, 'must be PEM text (a string or a Buffer)');
    return [];
  }
  if (text.length > MAX_PEM_BYTES) {
    p.add(path, `is ${text.length} bytes; a PEM certificate bundle of more than ${MAX_PEM_BYTES} bytes is not one`);
    return [];
  }
  const blocks = text.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) {
    p.add(path, 'holds no PEM certificate ("-----BEGIN CERTIFICATE-----")');
    return [];
  }
  const certs: X509Certificate[] = [];
  blocks.forEach((b, i) => {
    const which = blocks.length > 1 ? `certificate ${i + 1} of ${blocks.length}` : 'the certificate';
    let x: X509Certificate;
    try {
      x = new X509Certificate(b);
    } catch (e) {
      p.add(path, `${which} cannot be read (${(e as Error).message})`);
      return;
    }
    const subject = x.subject.replace(/\n/g, ', ');
    if (Date.parse(x.validTo) < now) p.add(path, `${which} (${subject}) expired on ${new Date(x.validTo).toISOString()}; etcd refuses it`);
    else if (Date.parse(x.validFrom) > now) p.add(path, `${which} (${subject}) is not valid before ${new Date(x.validFrom).toISOString()} (is this host's clock right?)`);
    certs.push(x);
  });
  return certs;
}

function checkKey(p: Problems, path: string, v: unknown): KeyObject | undefined {
  const text = pemText(v);
  if (text === undefined) {
    p.add(path, 'must be PEM text (a string or a Buffer)');
    return undefined;
  }
  if (text.length > MAX_PEM_BYTES) {
    p.add(path, `is ${text.length} bytes, too big for a private key`);
    return undefined;
  }
  try {
    return createPrivateKey(text);
  } catch (e) {
    // The library's message names the format problem, never the key's bytes.
    const why = (e as { code?: string }).code === 'ERR_MISSING_PASSPHRASE' ? 'is encrypted; give it unencrypted (readable by this agent only)' : 'is not a PEM private key';
    p.add(path, why);
    return undefined;
  }
}

/**
 * Checks endpoints against TLS, auth and the plain-HTTP rule, and the TLS material itself.
 * Adds problems naming `tls.ca`, `tls.cert`, `tls.key`, `auth.username`, `auth.password`,
 * `endpoints[i]`. Never puts a password in a message.
 */
export function checkEtcdAccess(p: Problems, o: EtcdAccessOptions, now = Date.now()): void {
  const endpoints = typeof o.endpoints === 'string' ? [o.endpoints] : Array.isArray(o.endpoints) ? o.endpoints : [];
  const tls = o.tls;
  if (tls !== undefined && (tls === null || typeof tls !== 'object')) p.add('tls', 'must be an object {ca?, cert?, key?}');
  const auth = o.auth;
  if (auth !== undefined && (auth === null || typeof auth !== 'object')) p.add('auth', 'must be an object {username, password}');
  if (o.insecure !== undefined && typeof o.insecure !== 'boolean') p.add('insecure', 'must be true or false');
  const schemes = new Set<string>();
  endpoints.forEach((u, i) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      return; // reported by the caller's URL check
    }
    schemes.add(url.protocol);
    if (url.username || url.password) {
      p.add(`endpoints[${i}]`, 'has user info (user:password@) in the URL; URLs are logged: give the user as auth.username (--etcd-user) and the password from a file');
    }
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      if (tls) p.add(`endpoints[${i}]`, `${redactEndpoint(u)} is http:// but TLS is configured; use https://`);
      else if (!o.insecure) {
        p.add(
          `endpoints[${i}]`,
          `${redactEndpoint(u)} is plain HTTP to another host: anyone on the path could read the node records and forge one, redirecting pod traffic; use https:// (with a CA, --etcd-cafile), or accept the risk with insecure (--etcd-insecure)`,
        );
      }
    } else if (url.protocol === 'http:' && tls) {
      p.add(`endpoints[${i}]`, `${redactEndpoint(u)} is http:// but TLS is configured; use https://`);
    }
  });
  if (schemes.size > 1) p.add('endpoints', 'mixes http:// and https://; one client speaks one of them');
  if (tls && typeof tls === 'object') {
    if (tls.ca !== undefined) checkCertificates(p, 'tls.ca', tls.ca, now);
    if ((tls.cert === undefined) !== (tls.key === undefined)) p.add(tls.cert === undefined ? 'tls.cert' : 'tls.key', 'give the client certificate and its key together');
    if (tls.cert !== undefined && tls.key !== undefined) {
      const certs = checkCertificates(p, 'tls.cert', tls.cert, now);
      const key = checkKey(p, 'tls.key', tls.key);
      if (certs[0] && key && !certs[0].checkPrivateKey(key)) p.add('tls.key', 'is not the private key of tls.cert (the first certificate)');
    }
  }
  if (auth && typeof auth === 'object') {
    const u = auth.username;
    if (typeof u !== 'string' || u.length === 0 || u.length > MAX_USERNAME || /[\x00-\x1f\x7f]/.test(u)) {
      p.add('auth.username', `must be 1 to ${MAX_USERNAME} printable characters`);
    }
    const pw = auth.password as unknown;
    if (typeof pw !== 'string' || pw.length === 0) p.add('auth.password', 'must be a non-empty string (its value is never shown)');
    else if (/[\r\n]/.test(pw)) p.add('auth.password', 'contains a line break (a password file with two lines?); its value is never shown');
  }
}

/** The etcd3 client options for TLS and auth (checked before: see checkEtcdAccess). */
export function etcd3AccessOptions(o: EtcdAccessOptions): Pick<IOptions, 'credentials' | 'auth'> {
  const out: Pick<IOptions, 'credentials' | 'auth'> = {};
  const buf = (v: string | Buffer | undefined) => (v === undefined ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(v));
  if (o.tls) {
    const ca = buf(o.tls.ca);
    const cert = buf(o.tls.cert);
    const key = buf(o.tls.key);
    out.credentials = { ...(ca ? { rootCertificate: ca } : {}), ...(cert && key ? { certChain: cert, privateKey: key } : {}) } as IOptions['credentials'];
  }
  if (o.auth) out.auth = { username: o.auth.username, password: o.auth.password };
  return out;
}

/** Who etcd takes this client for, in messages: the user, the certificate's CN, or nobody. */
export function etcdIdentity(o: EtcdAccessOptions): string {
  if (o.auth) return `etcd user "${o.auth.username}"`;
  const cert = o.tls?.cert;
  if (cert !== undefined) {
    try {
      const x = new X509Certificate(pemText(cert) ?? '');
      const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1];
      // Through an etcd grpc-proxy etcd sees the proxy's certificate, not this one (tested:
      // test/membership/grpc-proxy-tls.test.js): the message must not send one looking at the wrong CN.
      if (cn !== undefined) return `etcd user "${cn}" (the client certificate's CN, unless a grpc-proxy stands between: etcd then sees the proxy's certificate)`;
    } catch {
      // checked before; fall through
    }
  }
  return 'this client (no etcd user)';
}

/** What etcd (or the TLS handshake) refused. */
export type EtcdAccessProblem =
  /** etcd's certificate is not signed by a CA we trust, or does not name the host. */
  | 'server-untrusted'
  /** etcd refused our client certificate (missing, expired, or signed by a CA it does not trust). */
  | 'client-refused'
  /** Wrong user name or password. */
  | 'authentication'
  /** The user may not read or write a key (etcd roles). */
  | 'permission';

/**
 * etcd, or the TLS handshake with it, refused this client. Retrying the same request does not
 * help: the configuration (certificates, password, etcd roles) must change. `message` says
 * what; `cause` is the client library's error.
 */
export class EtcdAccessError extends Error {
  override readonly name = 'EtcdAccessError';
  readonly code = 'ERR_NETLINK_AGENT_ETCD_ACCESS';
  constructor(
    readonly problem: EtcdAccessProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const SERVER_UNTRUSTED = /unable to verify|self[- ]signed certificate|unable to get (local )?issuer|certificate has expired|Hostname\/IP does not match|ERR_TLS_CERT_ALTNAME|certificate is not yet valid/i;
const CLIENT_REFUSED = /alert (bad certificate|certificate expired|unknown ca|certificate required|certificate unknown|certificate revoked|access denied|handshake failure)|SSL alert number (42|45|48|116|46|49|40)/i;

/** The first line of the TLS reason inside a gRPC "No connection established" message. */
function tlsReason(message: string): string {
  const m = /Last error: (?:Error: )?([^\n]*?)(?:\s*\(\d{4}-\d\d-\d\dT[^)]*\))?(?:\. Resolution note:.*)?$/m.exec(message);
  const raw = (m?.[1] ?? message).trim();
  const alert = /alert ([a-z ]+?)(?::|$)/i.exec(raw);
  return alert ? `TLS alert "${alert[1].trim()}" from etcd` : raw.slice(0, 200);
}

/**
 * Turns what etcd or the TLS handshake refused into an EtcdAccessError with a sentence;
 * anything else (etcd unreachable, timeouts) is returned as it is. `doing` says what was being
 * done ("writing nodes/host1"), `who` who this client is to etcd (etcdIdentity).
 */
export function explainEtcdError(e: Error, who: string, doing?: string): Error {
  if (e instanceof EtcdAccessError) return e;
  const type = e.constructor?.name ?? '';
  const msg = e.message ?? '';
  const what = doing ? ` ${doing}` : '';
  if (type === 'EtcdPermissionDeniedError' || /etcdserver: permission denied/.test(msg)) {
    return new EtcdAccessError('permission', `etcd refused${what || ' a request'} (permission denied for ${who}): its roles do not allow it; see "Securing etcd" in the README for the per-node layout`, { cause: e });
  }
  if (type === 'EtcdAuthenticationFailedError' || /authentication failed, invalid user ID or password/.test(msg)) {
    return new EtcdAccessError('authentication', `etcd refused the user name or password of ${who} (authentication failed); check --etcd-user and the password file or NETLINK_AGENT_ETCD_PASSWORD`, { cause: e });
  }
  if (/etcdserver: user name not found|user name is empty/.test(msg)) {
    return new EtcdAccessError('authentication', `etcd does not know ${who} (${msg.replace(/^.*etcdserver: /, '')}); etcd's auth is on and this client has no user it knows`, { cause: e });
  }
  if (CLIENT_REFUSED.test(msg)) {
    return new EtcdAccessError(
      'client-refused',
      `etcd refused this client's TLS certificate (${tlsReason(msg)}): it requires a client certificate signed by a CA it trusts and not expired (tls.cert/tls.key, --etcd-certfile/--etcd-keyfile)`,
      { cause: e },
    );
  }
  if (SERVER_UNTRUSTED.test(msg)) {
    return new EtcdAccessError(
      'server-untrusted',
      `etcd's TLS certificate is not trusted (${tlsReason(msg)}): give the CA that signed it (tls.ca, --etcd-cafile), and an endpoint host the certificate names`,
      { cause: e },
    );
  }
  return e;
}
