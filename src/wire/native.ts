import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A received batch: every datagram's bytes back to back, a table of (offset, length, sender
 * port id, flags) as little-endian u32s, and an errno (0, or e.g. ENOBUFS) seen while reading. */
export type ReceivedBatch = [data: Buffer | null, meta: Buffer | null, errno: number];

/** The C addon's socket (native/nlsock.c). */
export interface NativeSocket {
  portId(): number;
  fd(): number;
  setOption(level: number, name: number, value: number): void;
  getOption(level: number, name: number): number;
  /** which: 0 receive, 1 send. Returns the size the kernel reports afterwards. */
  setBuffer(which: 0 | 1, bytes: number, force: boolean): number;
  /** portId 0 (the default) is the kernel; another port only for tests. */
  send(buf: Buffer, offset: number, length: number, portId?: number): number;
  drain(maxBytes?: number): ReceivedBatch | null;
  start(callback: (data: Buffer | null, meta: Buffer | null, errno: number) => void): void;
  stop(): void;
  ref(on: boolean): void;
  close(): void;
}

/** The C addon's namespace helpers (native/netns.c). */
export interface NativeNetns {
  create(dir: string, path: string): void;
  remove(path: string): void;
  enter(target: string | number): number;
  restore(fd: number): void;
  inode(path?: string): string;
  open(target: string): number;
  closeFd(fd: number): void;
}

export interface NativeAddon {
  NlSocket: new (protocol: number, netnsPath: string | null, netnsFd: number) => NativeSocket;
  netns: NativeNetns;
}

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

/** Loads the addon once (a prebuild, or the one built from native/ by node-gyp). */
export function native(): NativeAddon {
  if (!addon) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    addon = load(packageRoot());
  }
  return addon;
}
