/**
 * Reading the reconciler's own routes, and settling the common case while reading.
 *
 * A steady-state cycle finds the kernel as desired: 100k routes read, 100k found equal. Most
 * of them have the common shape (PreparedRoute.simple), which can be compared on the numbers
 * of the route message (RouteFacts) against numbers prepared once per desired state; a match
 * marks the desired route as found and builds nothing. Every other owned route (another
 * shape, a difference, a duplicate, a route on a device that goes away) is decoded whole and
 * left to diffRoutes(), which sees exactly what a full read would have given it.
 */
import { RTN_UNICAST, RTNH_F_ONLINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from '../rtnl/constants';
import { parseV4Prefix, v4PrefixLen } from '../rtnl/route';
import type { Rtnl } from '../rtnl/rtnl';
import type { Route } from '../rtnl/types';
import type { Observed } from './observe';
import type { PreparedState } from './prepare';

export interface ObservedRoutes {
  /**
   * The diff cycle of this read: a desired route with seen === cycle was found in the kernel,
   * equal when its found is undefined (settled by the scan), else found is the route to compare.
   */
  cycle: number;
  /** Owned routes the scan did not settle, decoded whole. */
  owned: Route[];
}

let cycles = 0;

/** A new cycle mark (PreparedRoute.seen): no route carries it yet. */
export function nextCycle(): number {
  return ++cycles;
}

/**
 * The desired simple routes by (IPv4 destination, prefix length): open addressing over typed
 * arrays, so a lookup hashes two numbers and allocates nothing.
 */
export class V4PrefixIndex {
  private readonly addrs: Int32Array;
  private readonly lens: Uint8Array; // 0: empty slot (the routes here are never /0)
  private readonly values: Int32Array;
  private readonly mask: number;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.addrs = new Int32Array(size);
    this.lens = new Uint8Array(size);
    this.values = new Int32Array(size);
    this.mask = size - 1;
  }

  private slot(addr: number, len: number): number {
    let h = Math.imul(addr ^ (len << 27), 0x9e3779b1);
    h ^= h >>> 16;
    return h & this.mask;
  }

  /** Sets (addr, len) to value; len 1..32. */
  set(addr: number, len: number, value: number): void {
    const a = addr | 0;
    let i = this.slot(a, len);
    while (this.lens[i] !== 0 && !(this.lens[i] === len && this.addrs[i] === a)) i = (i + 1) & this.mask;
    this.addrs[i] = a;
    this.lens[i] = len;
    this.values[i] = value;
  }

  /** The value of (addr, len), or -1. */
  get(addr: number, len: number): number {
    const a = addr | 0;
    let i = this.slot(a, len);
    for (;;) {
      const l = this.lens[i];
      if (l === 0) return -1;
      if (l === len && this.addrs[i] === a) return this.values[i];
      i = (i + 1) & this.mask;
    }
  }
}

const indexes = new WeakMap<PreparedState, V4PrefixIndex>();

/** The simple desired routes by destination, built once per prepared state. */
function simpleIndex(desired: PreparedState): V4PrefixIndex {
  let idx = indexes.get(desired);
  if (!idx) {
    let n = 0;
    for (const d of desired.routes) if (d.simple) n++;
    idx = new V4PrefixIndex(n);
    const routes = desired.routes;
    for (let i = 0; i < routes.length; i++) {
      if (!routes[i].simple) continue;
      const addr = parseV4Prefix(routes[i].dst); // canonical "a.b.c.d/n"
      if (addr >= 0 && v4PrefixLen > 0) idx.set(addr, v4PrefixLen, i);
    }
    indexes.set(desired, idx);
  }
  return idx;
}

/**
 * Dumps the routes carrying the reconciler's protocol (every table, filtered by the kernel),
 * settling simple routes that match their desired route as they arrive. Routes on vanishing
 * devices are never settled here: they go with their device, and diffRoutes() decides.
 */
export async function observeRoutes(nl: Rtnl, desired: PreparedState, obs: Observed, vanishing: Set<number>, protocol: number): Promise<ObservedRoutes> {
  const idx = simpleIndex(desired);
  const routes = desired.routes;
  let cycle = nextCycle();
  let owned: Route[] = [];
  // Thousands of routes name the same device: resolve the name once per run of it.
  let lastDev: string | undefined;
  let lastIndex = -1;
  await nl.routes.scan(
    { table: 'all', protocol },
    (f) => {
      if (f.complete && f.family === 4 && f.table === RT_TABLE_MAIN && f.tos === 0 && f.metric <= 0 && f.dstLen > 0) {
        const i = idx.get(f.dst4, f.dstLen);
        const d = i >= 0 ? routes[i] : undefined;
        const s = d?.simple;
        if (
          d !== undefined &&
          s !== undefined &&
          d.seen !== cycle &&
          f.type === RTN_UNICAST &&
          f.scope === RT_SCOPE_UNIVERSE &&
          f.gateway4 === s.gw4 &&
          ((f.flags & RTNH_F_ONLINK) !== 0) === s.onlink &&
          f.oif > 0 &&
          !vanishing.has(f.oif)
        ) {
          if (s.dev !== lastDev) {
            lastDev = s.dev;
            lastIndex = obs.byName.get(s.dev)?.index ?? -1;
          }
          if (f.oif === lastIndex) {
            d.seen = cycle;
            d.found = undefined;
            return;
          }
        }
      }
      owned.push(f.route());
    },
    () => {
      // The dump starts over: forget what this attempt settled.
      cycle = nextCycle();
      owned = [];
    },
  );
  return { cycle, owned };
}
