/**
 * Namespace names and paths. A name is a file under /run/netns, as iproute2 keeps them, so
 * `ip netns list/exec` and this library see the same namespaces; where it makes sense an
 * absolute path (/proc/PID/ns/net, /proc/thread-self/ns/net, another bind mount) is accepted too.
 */
import { readlinkSync, statSync } from 'node:fs';
import { netnsNameProblem, netnsPath, netnsProblem } from '../values/names';
import { Problems } from '../values/problems';

function refuse(field: string, problem: string, what: string): never {
  const p = new Problems();
  p.add(field, problem);
  p.throwIfAny(what);
  throw new Error('unreachable');
}

/**
 * The path of the namespace called `name` under /run/netns. Only a name is accepted (create
 * and delete work on names, as `ip netns add/del` do). Throws ValidationError otherwise.
 */
export function namedPath(name: unknown, what: string): string {
  const problem = netnsNameProblem(name);
  if (problem !== undefined) refuse('name', problem, what);
  return netnsPath(name as string);
}

/**
 * The path of a namespace given either by name (under /run/netns) or by absolute path, by the
 * one rule of the values layer (netnsProblem): an empty, relative or non-string reference is a
 * ValidationError, never "this namespace" or a path relative to the working directory.
 */
export function nsPath(ns: unknown, what: string): string {
  const problem = netnsProblem(ns);
  if (problem !== undefined) refuse('netns', problem, what);
  return netnsPath(ns as string);
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
