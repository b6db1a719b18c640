/**
 * Errors of the namespace layer. A system call that failed (open, mount, setns, ...) becomes a
 * NetnsError that names the namespace and says what was being done; privilege failures get a
 * sentence saying what privilege is missing instead of a bare "Operation not permitted".
 */
import { errnoMessage, errnoName } from '../addon/errno';

/** What Netns was doing when it failed, for the message ("Netns.create nla-a: ..."). */
export type NetnsOperation =
  | 'Netns.create'
  | 'Netns.delete'
  | 'Netns.list'
  | 'Netns.run'
  | 'Netns.worker'
  | 'Netns.inode'
  | 'Netns.sysctl'
  | 'Netns.readSysctl';

/**
 * A namespace operation failed. `code` is the errno name: 'ENOENT' (no such namespace, or no
 * such sysctl key), 'EEXIST' (already exists), 'EPERM' (not privileged: the message says which
 * capability is missing), 'EINVAL' (the file is not a network namespace), or whatever the
 * system call reported. `errno` is the matching positive number.
 */
export class NetnsError extends Error {
  override readonly name = 'NetnsError';
  /** The errno name: 'ENOENT', 'EEXIST', 'EPERM', 'EINVAL', ... */
  readonly code: string;
  /** The positive errno number matching `code`. */
  readonly errno: number;
  /** The namespace as the caller gave it: a name ("host1") or a path. */
  readonly netns: string;
  /** What was being done ('Netns.create', ...). */
  readonly operation: NetnsOperation;
  /** The system call that failed, when one did ("mount", "setns", "open"). */
  readonly syscall: string | undefined;

  constructor(operation: NetnsOperation, netns: string, errno: number, explanation: string, syscall?: string, cause?: unknown) {
    const code = errnoName(errno);
    super(`${operation} ${netns}: ${code}: ${explanation}`, cause === undefined ? undefined : { cause });
    this.code = code;
    this.errno = Math.abs(errno);
    this.netns = netns;
    this.operation = operation;
    this.syscall = syscall;
  }
}

/** The shape of errors thrown by the addon and by node:fs (Node-style system errors). */
interface SystemError {
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
}

const EPERM = 1;
const ENOENT = 2;

/** The positive errno of a system error from the addon (positive) or node:fs (negative). */
export function errnoOf(e: unknown): number | undefined {
  const n = (e as SystemError | null)?.errno;
  return typeof n === 'number' && n !== 0 ? Math.abs(n) : undefined;
}

function syscallOf(e: unknown): string | undefined {
  const s = (e as SystemError | null)?.syscall;
  return typeof s === 'string' ? s : undefined;
}

/** What each operation needs, for the sentence an unprivileged caller gets. */
const privilege: Record<NetnsOperation, string> = {
  'Netns.create': 'creating network namespaces needs CAP_SYS_ADMIN (run as root)',
  'Netns.delete': 'deleting network namespaces needs CAP_SYS_ADMIN to unmount them (run as root)',
  'Netns.list': 'listing /run/netns was refused',
  'Netns.run': 'entering a network namespace needs CAP_SYS_ADMIN (run as root)',
  'Netns.worker': 'entering a network namespace needs CAP_SYS_ADMIN (run as root)',
  'Netns.inode': 'reading the namespace file was refused',
  'Netns.sysctl': 'writing network sysctls needs CAP_NET_ADMIN, and entering the namespace CAP_SYS_ADMIN (run as root)',
  'Netns.readSysctl': 'entering a network namespace needs CAP_SYS_ADMIN (run as root)',
};

/**
 * Turns a system error into a NetnsError about `netns`. ENOENT says the namespace does not
 * exist (at `path`); EPERM, and EACCES on the operations whose only permission check is a
 * capability, become code 'EPERM' with the privilege sentence (the original error is `cause`).
 * Anything that is not a system error is returned unchanged.
 */
export function netnsErrorFrom(e: unknown, operation: NetnsOperation, netns: string, path: string): unknown {
  if (e instanceof NetnsError) return e;
  const errno = errnoOf(e);
  if (errno === undefined) return e;
  const syscall = syscallOf(e);
  const code = errnoName(errno);
  if (code === 'ENOENT') {
    return new NetnsError(operation, netns, ENOENT, `no network namespace ${JSON.stringify(netns)} (${path} does not exist)`, syscall, e);
  }
  if (code === 'EPERM' || (code === 'EACCES' && operation !== 'Netns.list' && operation !== 'Netns.inode')) {
    return new NetnsError(operation, netns, EPERM, `${privilege[operation]} [${syscall ?? 'system call'}: ${errnoMessage(errno)}]`, syscall, e);
  }
  if (code === 'EEXIST') {
    return new NetnsError(operation, netns, errno, `network namespace ${JSON.stringify(netns)} already exists (${path})`, syscall, e);
  }
  if (code === 'EINVAL' && syscall === 'setns') {
    return new NetnsError(operation, netns, errno, `${path} is not a network namespace`, syscall, e);
  }
  return new NetnsError(operation, netns, errno, `${syscall ?? 'system call'} failed: ${errnoMessage(errno)} (${path})`, syscall, e);
}
