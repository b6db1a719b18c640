/**
 * Names the kernel and the filesystem store: interface names and network namespace references.
 * One rule each, used by every layer that takes them (specs, Rtnl.open, Netns, the CLI), so a
 * name is refused up front unless it is exactly what will be stored.
 */
import { describeValue, type Problems } from './problems';

/** IFNAMSIZ - 1: the longest interface name in bytes. */
export const IFNAME_MAX_BYTES = 15;

/**
 * Why `v` is not an interface name the kernel stores as given, or undefined when it is one.
 * The kernel's dev_valid_name() refuses "", ".", "..", '/', ':' and whitespace, and truncates at
 * a NUL; a '%' makes the name a template ("br%d" creates br0, br1...), which would create a
 * device under another name. So: 1..15 bytes, none of those.
 */
export function ifNameProblem(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0) return `expected an interface name, got ${describeValue(v)}`;
  if (Buffer.byteLength(v) > IFNAME_MAX_BYTES) return `${describeValue(v)} is longer than ${IFNAME_MAX_BYTES} bytes (IFNAMSIZ)`;
  if (v === '.' || v === '..') return `${describeValue(v)} is not a valid interface name`;
  if (v.includes('\0')) return `${describeValue(v)} contains a NUL byte: the kernel would store only the part before it`;
  if (v.includes('%')) return `${describeValue(v)} contains '%': the kernel reads it as a name template (br%d -> br0) and would name the device otherwise`;
  if (/[/:\s]/.test(v)) return `${describeValue(v)} is not a valid interface name (no '/', ':' or whitespace)`;
  return undefined;
}

/** Interface names (see ifNameProblem). Adds a problem at `path` and returns false otherwise. */
export function checkIfName(p: Problems, path: string, v: unknown): v is string {
  const problem = ifNameProblem(v);
  if (problem !== undefined) p.add(path, problem);
  return problem === undefined;
}

/** Where named network namespaces live (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/run/netns';
/** NAME_MAX: a namespace name is one path component. */
const NETNS_NAME_MAX = 255;
/** PATH_MAX, including the terminating NUL the addon adds. */
const NETNS_PATH_MAX = 4095;

/**
 * Why `v` is not a namespace reference, or undefined when it is one. A reference is a name
 * under /run/netns (one path component: not empty, not "." or "..", no '/', no NUL) or an
 * absolute path (/proc/PID/ns/net, another bind mount). Anything else is refused rather than
 * guessed at: an empty string (an unset variable) must never mean "this namespace", and a
 * relative path would depend on the working directory.
 */
export function netnsProblem(v: unknown): string | undefined {
  if (typeof v !== 'string') return `expected a namespace name or absolute path (a string), got ${describeValue(v)}`;
  if (v.length === 0) return 'a namespace cannot be the empty string (an unset variable?): give a name under /run/netns or an absolute path, or leave netns out for this namespace';
  if (v.includes('\0')) return 'a namespace name or path cannot contain NUL';
  if (v.startsWith('/')) {
    if (Buffer.byteLength(v) > NETNS_PATH_MAX) return `a namespace path is at most ${NETNS_PATH_MAX} bytes`;
    return undefined;
  }
  if (v === '.' || v === '..') return `${describeValue(v)} is not a namespace name`;
  if (v.includes('/')) return `${describeValue(v)} is a relative path: give a name under ${NETNS_RUN_DIR} or an absolute path`;
  if (Buffer.byteLength(v) > NETNS_NAME_MAX) return `a namespace name is at most ${NETNS_NAME_MAX} bytes`;
  return undefined;
}

/** A namespace reference (see netnsProblem). Adds a problem at `path` and returns false otherwise. */
export function checkNetns(p: Problems, path: string, v: unknown): v is string {
  const problem = netnsProblem(v);
  if (problem !== undefined) p.add(path, problem);
  return problem === undefined;
}

/** The path of a valid namespace reference: a name lives under /run/netns, a path is itself. */
export function netnsPath(v: string): string {
  return v.startsWith('/') ? v : `${NETNS_RUN_DIR}/${v}`;
}

/**
 * Why `v` is not a namespace *name* (create and delete take names only, as `ip netns add/del`),
 * or undefined when it is one.
 */
export function netnsNameProblem(v: unknown): string | undefined {
  const problem = netnsProblem(v);
  if (problem !== undefined) return problem;
  if ((v as string).startsWith('/')) return `${describeValue(v)} is a path; give a name (created under ${NETNS_RUN_DIR})`;
  return undefined;
}
