/**
 * The addon's TypeScript face (native/): its raw socket and namespace interfaces and the
 * loader. The layers above use NetlinkSocket (wire) and Netns (netns) rather than these.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A received batch: every datagram's bytes back to back, a table of (offset, length, sender
 * port id, flags) as little-endian u32s, and an errno (0, or e.g. ENOBUFS) seen while reading. */
export type ReceivedBatch = [data: Buffer | null, meta: Buffer | null, errno: number];

/**
 * The C addon's socket (native/nlsock.c): the addon's raw interface; use NetlinkSocket.
 * Failing calls throw a Node-style error with code, errno and syscall.
 */
export interface NativeSocket {
  /** The socket's netlink port id (nl_pid). */
  portId(): number;
  /** The socket's file descriptor. */
  fd(): number;
  /** setsockopt() of an integer option (SOL_NETLINK or SOL_SOCKET). */
  setOption(level: number, name: number, value: number): void;
  /** getsockopt() of an integer option. */
  getOption(level: number, name: number): number;
  /** which: 0 receive, 1 send. Returns the size the kernel reports afterwards. */
  setBuffer(which: 0 | 1, bytes: number, force: boolean): number;
  /** portId 0 (the default) is the kernel; another port only for tests. */
  send(buf: Buffer, offset: number, length: number, portId?: number): number;
  /** Copies one chunk into the queue of the socket's send thread, which sends the chunks in
   * order while the caller goes on (this waits only while the queue is full). A failed send is
   * reported by sendFailures() under `tag`. Optional, as are flushSend and sendFailures: a
   * stand-in without them makes NetlinkSocket send every chunk itself. */
  queueSend?(buf: Buffer, offset: number, length: number, tag: number, portId?: number): void;
  /** Waits until at most `max` (default 0) queued chunks are unsent; returns how many are. */
  flushSend?(max?: number): number;
  /** [tag, errno, tag, errno, ...] of queued chunks whose sendto failed since the last call, or
   * null. A failure is recorded before the next chunk is sent. */
  sendFailures?(): number[] | null;
  /** Reads every datagram ready now (up to maxBytes), synchronously; null when none is. With
   * readAhead, a slice that filled up starts the read of the next on the socket's read thread,
   * and the next drain() returns that (reads stay in order). */
  drain(maxBytes?: number, readAhead?: boolean): ReceivedBatch | null;
  /** drain() into the caller's buffers, which it keeps: null when nothing is ready, else
   * `(errno << 16) | count` with count datagrams in data and their table (offset, length,
   * sender port id, flags: u32 LE each) in meta; or drain()'s own result when the batch does
   * not fit them. Optional for stand-ins (drain() is used without it). */
  drainInto?(data: Buffer, meta: Buffer, maxBytes: number, readAhead: boolean): number | ReceivedBatch | null;
  /** Starts polling on the libuv loop: every ready batch goes to callback(data, meta, errno). */
  start(callback: (data: Buffer | null, meta: Buffer | null, errno: number) => void): void;
  /** Stops polling (the socket stays open). */
  stop(): void;
  /** Whether the polling socket keeps the event loop alive. */
  ref(on: boolean): void;
  /** Stops polling and closes the descriptor. */
  close(): void;
  /** Zeroes the receive scratch drain() and the poll read into (it keeps the last replies after
   * copying them out): after replies that carried a secret. Optional for stand-ins. */
  wipeReceive?(): void;
  /** Whether the receive scratch holds these bytes anywhere (copies nothing out): for tests of wipeReceive(). */
  receiveScratchIncludes?(needle: Buffer): boolean;
}

/**
 * The C addon's namespace helpers (native/netns.c): the addon's raw interface; use Netns.
 * Failing calls throw a Node-style error with code, errno and syscall (Netns wraps them in NetnsError).
 */
export interface NativeNetns {
  /** Creates a namespace bind-mounted at `path`, making `dir` a shared mount first; EEXIST when it exists. */
  create(dir: string, path: string): void;
  /** Unmounts and removes the namespace file at `path`. */
  remove(path: string): void;
  /** Moves the calling thread into a namespace (path or fd); returns an fd of the old one for restore(). */
  enter(target: string | number): number;
  /** Moves the calling thread back to the namespace enter() returned, and closes that fd (a fatal process error if it cannot). */
  restore(fd: number): void;
  /** A namespace's inode number as a string (its identity); without a path, the calling thread's. */
  inode(path?: string): string;
  /** Opens a namespace file read-only; returns the fd (e.g. for IFLA_NET_NS_FD). */
  open(target: string): number;
  /** Closes an fd from open(). */
  closeFd(fd: number): void;
}

/**
 * The C addon's flock(2) (native/flock.c): advisory whole-file locks on an open descriptor,
 * released by unlock(), by closing the file, or when the process dies. Failing calls throw a
 * Node-style error with code, errno and syscall 'flock'.
 */
export interface NativeFlock {
  /** Takes the lock (exclusive unless `exclusive` is false); with `wait` false (the default)
   * returns false at once when another holder has it, else blocks until it is free. */
  lock(fd: number, exclusive?: boolean, wait?: boolean): boolean;
  /** Releases the lock. */
  unlock(fd: number): void;
}

/** What the native addon exports: the raw interface under NetlinkSocket, Netns and the CNI IPAM's lock. */
export interface NativeAddon {
  /** Opens a netlink socket, inside another namespace when netnsPath or netnsFd (>= 0) is given. */
  NlSocket: new (protocol: number, netnsPath: string | null, netnsFd: number) => NativeSocket;
  /** Namespace create/remove/enter helpers. */
  netns: NativeNetns;
  /** flock(2) on a file descriptor. */
  flock: NativeFlock;
}

/**
 * Where netlink sockets and namespace handles come from: the real kernel through the addon
 * (nativeKernel(), the default) or a stand-in with the same behaviour, such as the in-memory
 * kernel (MemoryKernel) that tests use without root. NetlinkSocket.open() and Rtnl.open() take
 * one as their `kernel` option; everything above the socket then runs unchanged.
 */
export interface NetlinkKernel {
  /** Opens a socket of `protocol`, inside the namespace at netnsPath or netnsFd (>= 0) when
   * given, else in the caller's own. Throws a Node-style error (code, errno, syscall). */
  openSocket(protocol: number, netnsPath: string | null, netnsFd: number): NativeSocket;
  /** Opens a namespace by path for IFLA_NET_NS_FD; returns the descriptor. Throws a Node-style
   * error, e.g. ENOENT when there is no such namespace. */
  openNetns(path: string): number;
  /** Closes a descriptor from openNetns(). */
  closeNetns(fd: number): void;
}

/** The real kernel, through the addon: what NetlinkSocket.open() uses when no kernel is given. */
export function nativeKernel(): NetlinkKernel {
  return NATIVE_KERNEL;
}

const NATIVE_KERNEL: NetlinkKernel = {
  openSocket: (protocol, netnsPath, netnsFd) => new (native().NlSocket)(protocol, netnsPath, netnsFd),
  openNetns: (path) => native().netns.open(path),
  closeNetns: (fd) => native().netns.closeFd(fd),
};

/** NETLINK_ROUTE, the protocol number of rtnetlink sockets (<linux/netlink.h>). */
export const NETLINK_ROUTE = 0;

/** Datagram flags in the meta table. */
export const META_FLAG_TRUNC = 1;

function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'netlink-agent') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('netlink-agent: cannot find the package root to load the native addon');
    dir = up;
  }
}

let addon: NativeAddon | undefined;

/** Loads the addon once (a prebuild, or the one built from native/ by node-gyp). Throws Error
 * when the package root or a loadable addon cannot be found. */
export function native(): NativeAddon {
  if (!addon) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    addon = load(packageRoot());
  }
  return addon;
}
