/**
 * Acting inside a namespace from the calling thread: Netns.run() enters it around synchronous
 * work and always comes back (the addon's restore() aborts the process if it cannot: a thread
 * left in the wrong namespace would silently do everything after it in the wrong place).
 */
import { native } from '../addon';
import { NetnsError, netnsErrorFrom, type NetnsOperation } from './errors';
import { nsPath } from './path';
import { ensureThreadPool } from './pool';

const EINVAL = 22;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Runs `fn` with the calling thread inside the namespace at `path`, and returns what it returns. */
export function runIn<T>(operation: NetnsOperation, ns: string, path: string, fn: () => T): T {
  ensureThreadPool();
  let old: number;
  try {
    old = native().netns.enter(path);
  } catch (e) {
    throw netnsErrorFrom(e, operation, ns, path);
  }
  let result: T;
  try {
    result = fn();
  } finally {
    native().netns.restore(old);
  }
  if (isThenable(result)) {
    // Only the part before its first await ran inside; the rest runs wherever this thread is.
    Promise.resolve(result).catch(() => undefined);
    throw new NetnsError(
      operation,
      ns,
      EINVAL,
      'fn returned a promise: only its synchronous part ran inside the namespace. Netns.run is for synchronous work; use Netns.worker for asynchronous work and sockets',
    );
  }
  return result;
}

/** Netns.run(): validates the namespace, then runIn(). */
export function run<T>(ns: string, fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError('Netns.run(netns, fn): fn must be a function');
  return runIn('Netns.run', ns, nsPath(ns, 'Netns.run'), fn);
}

/** The inode number identifying a namespace (a name or path), or the calling thread's own. */
export function inode(ns?: string): string {
  if (ns === undefined) return native().netns.inode();
  const path = nsPath(ns, 'Netns.inode');
  try {
    return native().netns.inode(path);
  } catch (e) {
    throw netnsErrorFrom(e, 'Netns.inode', ns, path);
  }
}
