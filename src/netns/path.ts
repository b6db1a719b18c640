/**
 * Namespace names and paths. A name is a file under /run/netns, as iproute2 keeps them, so
 * `ip netns list/exec` and this library see the same namespaces; where it makes sense an
 * absolute path (/proc/PID/ns/net, /proc/thread-self/ns/net, another bind mount) is accepted too.
 */
import { readlinkSync, statSync } from 'node:fs';
import { Problems } from '../rtnl/validate';

/** Where named namespaces live (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/run/netns';

/** NAME_MAX: a name is one path component. */
const NAME_MAX = 255;
/** PATH_MAX, including the terminating NUL the addon adds. */
const PATH_MAX = 4095;

/** Why `name` is not a namespace name, or undefined when it is one. */
function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `expected a namespace name (a string), got ${typeof name}`;
  if (name.length === 0) return 'a namespace name cannot be empty';
  if (name === '.' || name === '..') return `${JSON.stringify(name)} is not a namespace name`;
  if (name.includes('/')) return `${JSON.stringify(name)}: a namespace name cannot contain "/"`;
  if (name.includes('\0')) return 'a namespace name cannot contain NUL';
  if (Buffer.byteLength(name) > NAME_MAX) return `a namespace name is at most ${NAME_MAX} bytes`;
  return undefined;
}

/**
 * The path of the namespace called `name` under /run/netns. Only a name is accepted (create
 * and delete work on names, as `ip netns add/del` do). Throws ValidationError otherwise.
 */
export function namedPath(name: unknown, what: string): string {
  const problem = nameProblem(name);
  if (problem !== undefined) {
    const p = new Problems();
    p.add('name', problem);
    p.throwIfAny(what);
  }
  return `${NETNS_RUN_DIR}/${name as string}`;
}

/**
 * The path of a namespace given either by name (under /run/netns) or by absolute path.
 * A relative path ("a/b") is refused as ambiguous. Throws ValidationError.
 */
export function nsPath(ns: unknown, what: string): string {
  if (typeof ns === 'string' && ns.startsWith('/')) {
    const p = new Problems();
    if (ns.includes('\0')) p.add('netns', 'a namespace path cannot contain NUL');
    else if (Buffer.byteLength(ns) > PATH_MAX) p.add('netns', `a namespace path is at most ${PATH_MAX} bytes`);
    p.throwIfAny(what);
    return ns;
  }
  const problem = nameProblem(ns);
  if (problem !== undefined) {
    const p = new Problems();
    p.add('netns', `${problem} (give a name under ${NETNS_RUN_DIR} or an absolute path)`);
    p.throwIfAny(what);
  }
  return `${NETNS_RUN_DIR}/${ns as string}`;
}

let nsfsDev: number | undefined;

/** The device number of nsfs, the filesystem every namespace file lives on. */
export function nsfsDevice(): number {
  if (nsfsDev === undefined) nsfsDev = statSync('/proc/self/ns/net').dev;
  return nsfsDev;
}

/**
 * True when `path` is a network namespace file: a bind mount of one (what /run/netns/NAME is;
 * only its filesystem, nsfs, can be checked without entering it) or a /proc/.../ns/net link
 * (whose target names the type, "net:[4026531840]"). A leftover plain file under /run/netns is
 * not, nor is /proc/self/ns/mnt.
 */
export function isNamespaceFile(path: string): boolean {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined || st.dev !== nsfsDevice()) return false;
  let target: string;
  try {
    target = readlinkSync(path);
  } catch {
    return true; // a bind mount, not a link
  }
  return target.startsWith('net:[');
}
