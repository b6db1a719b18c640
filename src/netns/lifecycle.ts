/**
 * Creating, deleting and listing named network namespaces, compatibly with iproute2: a namespace
 * is a bind mount of an nsfs file on /run/netns/NAME, and /run/netns is a shared mount point.
 * The addon makes new namespaces on a dedicated thread, so no JavaScript thread changes
 * namespace while doing so.
 */
import { readdirSync } from 'node:fs';
import { native } from '../addon';
import { netnsErrorFrom } from './errors';
import { isNamespaceFile, namedPath, nsPath } from './path';
import { NETNS_RUN_DIR } from '../values/names';

/** Creates network namespace `name` at /run/netns/NAME. */
export function createNetns(name: string): void {
  const path = namedPath(name, 'Netns.create');
  try {
    native().netns.create(NETNS_RUN_DIR, path);
  } catch (e) {
    throw netnsErrorFrom(e, 'Netns.create', name, path);
  }
}

/** Unmounts and removes /run/netns/NAME. */
export function deleteNetns(name: string): void {
  const path = namedPath(name, 'Netns.delete');
  try {
    native().netns.remove(path);
  } catch (e) {
    throw netnsErrorFrom(e, 'Netns.delete', name, path);
  }
}

/** The names under /run/netns, sorted (none when the directory does not exist yet). */
export function listNetns(): string[] {
  let names: string[];
  try {
    names = readdirSync(NETNS_RUN_DIR);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return [];
    throw netnsErrorFrom(e, 'Netns.list', NETNS_RUN_DIR, NETNS_RUN_DIR);
  }
  return names.sort();
}

/** True when `ns` (a name or an absolute path) is a network-namespace-like nsfs file. */
export function netnsExists(ns: string): boolean {
  return isNamespaceFile(nsPath(ns, 'Netns.exists'));
}
