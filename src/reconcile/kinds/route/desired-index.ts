/**
 * The desired routes by identity key (table, family, dst, tos, metric), built once per
 * desired state and used for duplicate checks, the diff, the read's settling and watch events.
 *
 * Nearly every route of a big table is in the main table with tos 0 and the family's default
 * metric (0 for IPv4, 1024 for IPv6): those are kept by (address, prefix length) in typed
 * arrays, so 100k of them cost a few megabytes and no key strings. Every other route is kept
 * by its key string in a Map.
 */
import { IP6_RT_PRIO_USER } from '../../../rtnl/route/expected';
import { V4PrefixParser, V6PrefixParser } from '../../../values/prefix';
import { RT_TABLE_MAIN } from '../../../rtnl/constants';
import type { Route } from '../../../rtnl/types';
import { closeHole, movedValues } from '../../engine/probe';

/** The identity key of a route as one string: "table family dst tos metric". */
export function routeKey(table: number, family: number, dst: string, tos: number, metric: number): string {
  return `${table} ${family} ${dst} ${tos} ${metric}`;
}

/** "10.0.0.0/24 table 254 metric 0" from a key, for messages. */
export function describeRouteKey(key: string): string {
  const [table, , dst, tos, metric] = key.split(' ');
  return `${dst} table ${table}${tos !== '0' ? ` tos ${tos}` : ''} metric ${metric}`;
}


/** The metric the kernel reports for a route given none: 0 for IPv4, 1024 for IPv6. */
export function defaultMetric(family: number): number {
  return family === 6 ? IP6_RT_PRIO_USER : 0;
}

/** The identity key of a route read from the kernel. */
export function keyOfRoute(r: Route): string {
  return routeKey(r.table, r.family, r.dst, r.tos, r.metric ?? defaultMetric(r.family));
}

/**
 * (IPv4 address, prefix length 1..32) -> number, open addressing over typed arrays: a lookup
 * hashes two numbers and allocates nothing.
 */
export class V4PrefixIndex {
  private addrs: Int32Array;
  private lens: Uint8Array; // 0: an empty slot
  private values: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected: number) {
    let size = 16;
    while (size < expected * 2) size *= 2;
    this.addrs = new Int32Array(size);
    this.lens = new Uint8Array(size);
    this.values = new Int32Array(size);
    this.mask = size - 1;
  }

  private slot(addr: number, len: number): number {
    // murmur3's finalizer: prefixes of a table differ in a few middle bits, which a single
    // multiply leaves in the high bits (2 probes per lookup on average instead of ~1.2).
    let h = addr ^ Math.imul(len, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  /** Sets (addr, len) to value unless it has one: returns the value it had, or -1. */
  add(addr: number, len: number, value: number): number {
    if ((this.count + 1) * 2 > this.lens.length) this.grow();
    const a = addr | 0;
    let i = this.slot(a, len);
    for (;;) {
      const l = this.lens[i];
      if (l === 0) break;
      if (l === len && this.addrs[i] === a) return this.values[i];
      i = (i + 1) & this.mask;
    }
    this.addrs[i] = a;
    this.lens[i] = len;
    this.values[i] = value;
    this.count++;
    return -1;
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

  /** Takes (addr, len) out; whether it was in. */
  remove(addr: number, len: number): boolean {
    const a = addr | 0;
    const { addrs, lens, values, mask } = this;
    let i = this.slot(a, len);
    for (;;) {
      const l = lens[i];
      if (l === 0) return false;
      if (l === len && addrs[i] === a) break;
      i = (i + 1) & mask;
    }
    const move = (to: number, from: number): void => {
      addrs[to] = addrs[from];
      lens[to] = lens[from];
      values[to] = values[from];
    };
    lens[closeHole(i, mask, (j) => lens[j] !== 0, (j) => this.slot(addrs[j], lens[j]), move)] = 0;
    this.count--;
    return true;
  }

  /** A copy, its values (positions) mapped by `to` (old position -> new). */
  mapped(to: Int32Array): V4PrefixIndex {
    const out = new V4PrefixIndex(0);
    out.addrs = this.addrs.slice();
    out.lens = this.lens.slice();
    out.values = movedValues(this.lens, this.values, to);
    out.mask = this.mask;
    out.count = this.count;
    return out;
  }

  private grow(): void {
    const { addrs, lens, values } = this;
    const size = lens.length * 2;
    this.addrs = new Int32Array(size);
    this.lens = new Uint8Array(size);
    this.values = new Int32Array(size);
    this.mask = size - 1;
    this.count = 0;
    for (let i = 0; i < lens.length; i++) if (lens[i] !== 0) this.add(addrs[i], lens[i], values[i]);
  }
}

/**
 * (IPv6 address as four big-endian 32-bit words, prefix length 1..128) -> number, open
 * addressing over typed arrays, as V4PrefixIndex.
 */
export class V6PrefixIndex {
  private words: Int32Array; // 4 per slot
  private lens: Uint8Array; // 0: an empty slot
  private values: Int32Array;
  private mask: number;
  private count = 0;

  constructor(expected: number) {
    let size = 16;
    while (size < expected * 2) size *= 2;
    this.words = new Int32Array(size * 4);
    this.lens = new Uint8Array(size);
    this.values = new Int32Array(size);
    this.mask = size - 1;
  }

  private slot(w0: number, w1: number, w2: number, w3: number, len: number): number {
    let h = Math.imul(len, 0x9e3779b1);
    h = Math.imul(h ^ w0, 0x85ebca6b);
    h = Math.imul((h ^ (h >>> 13)) ^ w1, 0xc2b2ae35);
    h = Math.imul((h ^ (h >>> 16)) ^ w2, 0x85ebca6b);
    h = Math.imul((h ^ (h >>> 13)) ^ w3, 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  private at(i: number, w0: number, w1: number, w2: number, w3: number): boolean {
    const k = i * 4;
    const w = this.words;
    return w[k] === w0 && w[k + 1] === w1 && w[k + 2] === w2 && w[k + 3] === w3;
  }

  /** Sets the key to value unless it has one: returns the value it had, or -1. */
  add(w0: number, w1: number, w2: number, w3: number, len: number, value: number): number {
    if ((this.count + 1) * 2 > this.lens.length) this.grow();
    let i = this.slot(w0 | 0, w1 | 0, w2 | 0, w3 | 0, len);
    for (;;) {
      const l = this.lens[i];
      if (l === 0) break;
      if (l === len && this.at(i, w0 | 0, w1 | 0, w2 | 0, w3 | 0)) return this.values[i];
      i = (i + 1) & this.mask;
    }
    const k = i * 4;
    this.words[k] = w0;
    this.words[k + 1] = w1;
    this.words[k + 2] = w2;
    this.words[k + 3] = w3;
    this.lens[i] = len;
    this.values[i] = value;
    this.count++;
    return -1;
  }

  /** The value of the key, or -1. */
  get(w0: number, w1: number, w2: number, w3: number, len: number): number {
    let i = this.slot(w0 | 0, w1 | 0, w2 | 0, w3 | 0, len);
    for (;;) {
      const l = this.lens[i];
      if (l === 0) return -1;
      if (l === len && this.at(i, w0 | 0, w1 | 0, w2 | 0, w3 | 0)) return this.values[i];
      i = (i + 1) & this.mask;
    }
  }

  /** Takes the key out; whether it was in. */
  remove(w0: number, w1: number, w2: number, w3: number, len: number): boolean {
    const { words, lens, values, mask } = this;
    let i = this.slot(w0 | 0, w1 | 0, w2 | 0, w3 | 0, len);
    for (;;) {
      const l = lens[i];
      if (l === 0) return false;
      if (l === len && this.at(i, w0 | 0, w1 | 0, w2 | 0, w3 | 0)) break;
      i = (i + 1) & mask;
    }
    const home = (j: number): number => this.slot(words[j * 4], words[j * 4 + 1], words[j * 4 + 2], words[j * 4 + 3], lens[j]);
    const move = (to: number, from: number): void => {
      words.copyWithin(to * 4, from * 4, from * 4 + 4);
      lens[to] = lens[from];
      values[to] = values[from];
    };
    lens[closeHole(i, mask, (j) => lens[j] !== 0, home, move)] = 0;
    this.count--;
    return true;
  }

  /** A copy, its values (positions) mapped by `to` (old position -> new). */
  mapped(to: Int32Array): V6PrefixIndex {
    const out = new V6PrefixIndex(0);
    out.words = this.words.slice();
    out.lens = this.lens.slice();
    out.values = movedValues(this.lens, this.values, to);
    out.mask = this.mask;
    out.count = this.count;
    return out;
  }

  private grow(): void {
    const { words, lens, values } = this;
    const size = lens.length * 2;
    this.words = new Int32Array(size * 4);
    this.lens = new Uint8Array(size);
    this.values = new Int32Array(size);
    this.mask = size - 1;
    this.count = 0;
    for (let i = 0; i < lens.length; i++) {
      if (lens[i] !== 0) this.add(words[i * 4], words[i * 4 + 1], words[i * 4 + 2], words[i * 4 + 3], lens[i], values[i]);
    }
  }
}

/** What a route's identity key is made of. */
export interface KeyOf {
  readonly table: number;
  readonly family: number;
  readonly dst: string;
  readonly tos: number;
  readonly metric: number;
}

/**
 * Positions of desired routes by key. `add` refuses a second route on a key (returning the
 * first one's position); the finders return a position or -1.
 */
export class DesiredRouteIndex {
  private readonly v4: V4PrefixIndex;
  private v6: V6PrefixIndex | undefined; // made with the first IPv6 main-table route
  private readonly other = new Map<string, number>();
  private readonly v4p = new V4PrefixParser();
  private readonly v6p = new V6PrefixParser();

  /** v4, v6: a patched index's (see patched). */
  constructor(
    private readonly expected: number,
    v4?: V4PrefixIndex,
    v6?: V6PrefixIndex,
  ) {
    this.v4 = v4 ?? new V4PrefixIndex(expected);
    this.v6 = v6;
  }

  private v6Index(): V6PrefixIndex {
    return (this.v6 ??= new V6PrefixIndex(this.expected));
  }

  /** Records a route at position pos: -1, or the position already holding its key. */
  add(table: number, family: number, dst: string, tos: number, metric: number, pos: number): number {
    if (table === RT_TABLE_MAIN && family === 4 && tos === 0 && metric === 0) {
      const v4 = this.v4p;
      if (v4.parse(dst) && v4.length > 0) return this.v4.add(v4.address, v4.length, pos);
    }
    const v6 = this.v6p;
    if (table === RT_TABLE_MAIN && family === 6 && tos === 0 && metric === IP6_RT_PRIO_USER && v6.parse(dst) && v6.length > 0) {
      return this.v6Index().add(v6.w0, v6.w1, v6.w2, v6.w3, v6.length, pos);
    }
    const key = routeKey(table, family, dst, tos, metric);
    const had = this.other.get(key);
    if (had !== undefined) return had;
    this.other.set(key, pos);
    return -1;
  }

  /**
   * This index for a list patched from the one it was made for (engine/edits.ts): the keys of
   * `removed` (routes of the old list the edits take out) taken out, every other position moved
   * by `to` (old position -> new), and `inserted` (the routes the edits put in) added at `at`
   * (their new positions). Undefined when an inserted route's key is taken (the list is then
   * prepared whole, which says by which).
   */
  patched(removed: readonly KeyOf[], to: Int32Array, inserted: readonly KeyOf[], at: readonly number[]): DesiredRouteIndex | undefined {
    const out = new DesiredRouteIndex(this.expected, this.v4.mapped(to), this.v6?.mapped(to));
    for (const [key, pos] of this.other) out.other.set(key, to[pos]);
    for (const r of removed) out.remove(r.table, r.family, r.dst, r.tos, r.metric);
    for (let k = 0; k < inserted.length; k++) {
      const r = inserted[k];
      if (out.add(r.table, r.family, r.dst, r.tos, r.metric, at[k]) >= 0) return undefined;
    }
    return out;
  }

  /** Takes a route's key out. */
  private remove(table: number, family: number, dst: string, tos: number, metric: number): void {
    if (table === RT_TABLE_MAIN && family === 4 && tos === 0 && metric === 0) {
      const v4 = this.v4p;
      if (v4.parse(dst) && v4.length > 0) return void this.v4.remove(v4.address, v4.length);
    }
    const v6 = this.v6p;
    if (table === RT_TABLE_MAIN && family === 6 && tos === 0 && metric === IP6_RT_PRIO_USER && v6.parse(dst) && v6.length > 0) {
      return void this.v6?.remove(v6.w0, v6.w1, v6.w2, v6.w3, v6.length);
    }
    this.other.delete(routeKey(table, family, dst, tos, metric));
  }

  /** add() for an IPv4 main-table route with tos 0 and metric 0, given as numbers (len 1..32). */
  addMainV4(addr: number, len: number, pos: number): number {
    return this.v4.add(addr, len, pos);
  }

  /** The position of the desired route on a key, or -1. */
  find(table: number, family: number, dst: string, tos: number, metric: number): number {
    if (table === RT_TABLE_MAIN && family === 4 && tos === 0 && metric === 0) {
      const v4 = this.v4p;
      if (v4.parse(dst) && v4.length > 0) return this.v4.get(v4.address, v4.length);
    }
    const v6 = this.v6p;
    if (table === RT_TABLE_MAIN && family === 6 && tos === 0 && metric === IP6_RT_PRIO_USER && v6.parse(dst) && v6.length > 0) {
      return this.v6 ? this.v6.get(v6.w0, v6.w1, v6.w2, v6.w3, v6.length) : -1;
    }
    return this.other.get(routeKey(table, family, dst, tos, metric)) ?? -1;
  }

  /** The position of the desired route on a kernel route's key, or -1. */
  findRoute(r: Route): number {
    return this.find(r.table, r.family, r.dst, r.tos, r.metric ?? defaultMetric(r.family));
  }

  /** The position of the desired IPv4 main-table route (tos 0, metric 0) on addr/len, or -1. */
  findMainV4(addr: number, len: number): number {
    return this.v4.get(addr, len);
  }

  /** add() for an IPv6 main-table route with tos 0 and metric 1024, given as words (len 1..128). */
  addMainV6(w0: number, w1: number, w2: number, w3: number, len: number, pos: number): number {
    return this.v6Index().add(w0, w1, w2, w3, len, pos);
  }

  /** The position of the desired IPv6 main-table route (tos 0, metric 1024) on the prefix, or -1. */
  findMainV6(w0: number, w1: number, w2: number, w3: number, len: number): number {
    return this.v6 ? this.v6.get(w0, w1, w2, w3, len) : -1;
  }
}
