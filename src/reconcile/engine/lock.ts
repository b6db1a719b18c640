/**
 * One identity per namespace: two reconcilers with the same route protocol (or the same link
 * alias) in one namespace would undo each other's work forever (each deletes what the other
 * adds). A reconciler therefore holds a lock on its protocol and on its alias in the namespace
 * while it watches or applies, and a second one is refused with a sentence naming the holder.
 *
 * The lock is an advisory flock(2) on a file under /run/netlink-agent named by the namespace's
 * inode, so it works across processes and dies with its holder (a killed agent never leaves it
 * held). Within one process a registry gives the same answer without the file (and is all
 * there is for an in-memory kernel, or where /run/netlink-agent cannot be written).
 */
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync, ftruncateSync, constants as fsConstants } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../addon';
import type { Rtnl } from '../../rtnl/rtnl';
import type { OwnerIdentity } from './owner';

/** Where the lock files live. */
export const LOCK_DIR = '/run/netlink-agent';

/**
 * Another reconciler with this identity already holds the namespace. Thrown by watch() and
 * rejected by apply(): nothing was sent.
 */
export class OwnerBusyError extends Error {
  /** Always 'OwnerBusyError'. */
  override readonly name = 'OwnerBusyError';
  /** Always 'EOWNERBUSY'. */
  readonly code = 'EOWNERBUSY';
  constructor(
    message: string,
    /** Who holds it, as the holder wrote it ("pid 1234 owner netlink-agent protocol 77"), when known. */
    readonly holder: string | undefined,
  ) {
    super(message);
  }
}

/** A held lock: release() gives it back (also when called twice). */
export interface OwnerLock {
  /** Releases the lock. */
  release(): void;
}

/** Locks held in this process, by namespace and key: who holds them. */
const held = new Map<string, string>();
/** Identities of in-memory kernels (they have no inode). */
const kernels = new WeakMap<object, number>();
let kernelCount = 0;

/** The namespace's identity and whether it is the real kernel's. */
function namespaceOf(nl: Rtnl): { id: string; inode: string | undefined } {
  const kernel: unknown = Reflect.get(nl.openOptions, 'kernel');
  if (typeof kernel === 'object' && kernel !== null) {
    let n = kernels.get(kernel);
    if (n === undefined) kernels.set(kernel, (n = ++kernelCount));
    return { id: `memory-${n}:${nl.netnsPath ?? ''}`, inode: undefined };
  }
  const inode = native().netns.inode(nl.netnsPath);
  return { id: `net-${inode}`, inode };
}

/** A file name part for any alias (hex: an alias may hold any byte but NUL). */
function fileSafe(s: string): string {
  return Buffer.from(s).toString('hex');
}

/** Takes one file lock; undefined when the file cannot be made (no lock across processes then). */
function fileLock(path: string, holder: string): { fd: number } | 'busy' | undefined {
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      mkdirSync(LOCK_DIR, { recursive: true, mode: 0o755 });
      fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
    } catch {
      return undefined; // not root, or a read-only /run: the in-process registry still holds
    }
    let locked = false;
    try {
      locked = native().flock.lock(fd, true, false);
      // The holder may have removed the file between our open and our lock: then we hold a
      // lock on a file nobody else can open; start over on the path's current file.
      if (locked && fstatSync(fd).ino !== statSync(path, { throwIfNoEntry: false })?.ino) {
        closeSync(fd);
        continue;
      }
    } catch {
      closeSync(fd);
      return undefined;
    }
    if (!locked) {
      closeSync(fd);
      return 'busy';
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${holder}\n`, 0);
    return { fd };
  }
  return undefined;
}

function readHolder(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the owner's locks on nl's namespace: its protocol and its alias. Throws OwnerBusyError
 * naming the holder when another reconciler has either.
 */
export function lockOwner(nl: Rtnl, owner: OwnerIdentity): OwnerLock {
  const ns = namespaceOf(nl);
  const holder = `pid ${process.pid} owner ${owner.name} protocol ${owner.protocol} alias ${JSON.stringify(owner.alias)}`;
  const keys = [
    { key: `protocol-${owner.protocol}`, what: `route protocol ${owner.protocol}` },
    { key: `alias-${fileSafe(owner.alias)}`, what: `link alias ${JSON.stringify(owner.alias)}` },
  ];
  const taken: Array<() => void> = [];
  const release = () => {
    for (const undo of taken.splice(0).reverse()) undo();
  };
  const where = nl.netnsPath ?? 'its own namespace';
  for (const { key, what } of keys) {
    const id = `${ns.id}/${key}`;
    // null: free; a string or undefined: busy, with the holder's words when known.
    let busy: string | undefined | null = held.get(id) ?? null;
    if (busy === null && ns.inode !== undefined) {
      const path = join(LOCK_DIR, `${ns.inode}.${key}.lock`);
      const r = fileLock(path, holder);
      if (r === 'busy') busy = readHolder(path);
      else if (r) {
        taken.push(() => {
          try {
            // Emptied first: on ext4 a file truncated to zero and then written (the holder
            // line) has its data flushed when closed (auto_da_alloc), which made every
            // release wait ~6 ms (up to 90) for the disk.
            ftruncateSync(r.fd, 0);
          } catch {
            // the close below still releases the lock
          }
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
          closeSync(r.fd); // closing releases the flock
        });
      }
    }
    if (busy !== null) {
      release();
      throw new OwnerBusyError(
        `another reconciler already uses ${what} in ${where}${busy ? ` (${busy})` : ''}: two reconcilers with one identity would undo each other's changes; give each its own protocol and owner (ReconcilerOptions.protocol, .owner), or stop the other one`,
        busy,
      );
    }
    held.set(id, `${holder} in this process`);
    taken.push(() => held.delete(id));
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      release();
    },
  };
}
