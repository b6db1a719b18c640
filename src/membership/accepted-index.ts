/**
 * What screenNodes has accepted so far, indexed so that a new record is compared only with the
 * records it may collide with, not with every one before it (issue 24: 8,000 records took 1.25 s
 * pairwise, and with a short lease the CPU saturated).
 *
 * Names, node IPs, VTEP MACs and WireGuard keys are looked up by value. Pod subnets are kept per
 * family as sorted, disjoint ranges (screenNodes refuses a subnet that overlaps an accepted one),
 * node IPs as sorted points. The index only narrows the search: it returns the positions of every
 * accepted record that may collide, in acceptance order, and screenNodes applies its own rules to
 * those, so its decisions and messages stay what the pairwise loop gave.
 */
import type { ParsedAddress, ParsedPrefix } from '../values/address';
import type { PrefixBytes } from '../values/prefix';
import { addressValue, lowerBound, prefixRange } from '../values/prefix';

/**
 * An address (or a bound of a subnet's range) as a number: an IPv4 one as a plain number (exact
 * below 2^32, and nothing allocated for it), an IPv6 one as a BigInt. The two never meet: every
 * index of values is per family.
 */
export type AddressValue = number | bigint;

/** What a record brings to the index. */
export interface IndexedRecord {
  name: string;
  ips: readonly ParsedAddress[];
  nets: readonly ParsedPrefix[];
  macs: readonly string[];
  wireguardKey: string | undefined;
  /** The ips' values and the nets' ranges, computed once per record (screenNodes keeps the
   * IndexedRecord of an unchanged candidate between screenings). */
  values?: { ips: AddressValue[]; nets: Array<[AddressValue, AddressValue]> };
}

/** An address's value (see AddressValue). */
export function valueOfAddress(bytes: Uint8Array): AddressValue {
  return bytes.length === 4 ? bytes[0] * 0x1000000 + ((bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) : addressValue(bytes);
}

/** A prefix as its first and last address's values (bits past the length are ignored). */
export function rangeOf(p: PrefixBytes): [AddressValue, AddressValue] {
  if (p.bytes.length !== 4) return prefixRange(p);
  const size = 2 ** (32 - p.prefixLength);
  const v = valueOfAddress(p.bytes) as number;
  const start = v - (v % size);
  return [start, start + size - 1];
}

/** `v` with the bits past the first `length` of `bits` cleared (the start of its /length). */
export function maskValue(v: AddressValue, bits: number, length: number): AddressValue {
  if (typeof v === 'number') {
    const size = 2 ** (bits - length);
    return v - (v % size);
  }
  const host = BigInt(bits - length);
  return (v >> host) << host;
}

/** The record's address values and subnet ranges (computed once per record). */
export function valuesOf(r: IndexedRecord): { ips: AddressValue[]; nets: Array<[AddressValue, AddressValue]> } {
  // map(): arrays of exactly their length (one or two values; see listOf in types.ts).
  return (r.values ??= { ips: r.ips.map((ip) => valueOfAddress(ip.bytes)), nets: r.nets.map((n) => rangeOf(n)) });
}

/** Sorted values (or disjoint ranges, by start) with the acceptance position of each. */
class Sorted {
  readonly starts: AddressValue[] = [];
  readonly ends: AddressValue[] = [];
  readonly positions: number[] = [];

  insert(start: AddressValue, end: AddressValue, position: number): void {
    const at = lowerBound(this.starts, start);
    if (at === this.starts.length) {
      // Records mostly come in address order: appending is the common case.
      this.starts.push(start);
      this.ends.push(end);
      this.positions.push(position);
      return;
    }
    this.starts.splice(at, 0, start);
    this.ends.splice(at, 0, end);
    this.positions.splice(at, 0, position);
  }

  /** Positions of the entries that meet [start, end] (entries are disjoint: the one before the
   * first start >= start may reach into it; the ones after, up to end, lie inside it). */
  meeting(start: AddressValue, end: AddressValue, out: Set<number>): void {
    let i = lowerBound(this.starts, start);
    if (i > 0 && this.ends[i - 1] >= start) out.add(this.positions[i - 1]);
    for (; i < this.starts.length && this.starts[i] <= end; i++) out.add(this.positions[i]);
  }
}

/** The accepted records of one screenNodes call. */
export class AcceptedIndex {
  private readonly byName = new Map<string, number>();
  private readonly byIP = new Map<string, number>();
  private readonly byMac = new Map<string, number>();
  private readonly byKey = new Map<string, number>();
  private readonly nets = new Map<number, Sorted>();
  private readonly ips = new Map<number, Sorted>();

  private sorted(m: Map<number, Sorted>, family: number): Sorted {
    let s = m.get(family);
    if (!s) m.set(family, (s = new Sorted()));
    return s;
  }

  /** Records the accepted record at `position` (accepted records never collide with each other). */
  add(position: number, r: IndexedRecord): void {
    this.byName.set(r.name, position);
    const values = valuesOf(r);
    for (let i = 0; i < r.ips.length; i++) {
      this.byIP.set(r.ips[i].text, position);
      const v = values.ips[i];
      this.sorted(this.ips, r.ips[i].family).insert(v, v, position);
    }
    for (let i = 0; i < r.nets.length; i++) {
      const [start, end] = values.nets[i];
      this.sorted(this.nets, r.nets[i].family).insert(start, end, position);
    }
    for (const mac of r.macs) this.byMac.set(mac, position);
    if (r.wireguardKey !== undefined) this.byKey.set(r.wireguardKey, position);
  }

  /** The positions, ascending, of every accepted record the candidate may collide with: same
   * name, node IP, MAC or key; a pod subnet meeting one of its subnets; a node IP inside one of
   * its subnets; a subnet holding one of its node IPs. */
  mayCollide(r: IndexedRecord): number[] {
    const out = new Set<number>();
    one(out, this.byName, r.name);
    const values = valuesOf(r);
    for (let i = 0; i < r.ips.length; i++) {
      one(out, this.byIP, r.ips[i].text);
      const v = values.ips[i];
      this.nets.get(r.ips[i].family)?.meeting(v, v, out);
    }
    for (let i = 0; i < r.nets.length; i++) {
      const [start, end] = values.nets[i];
      this.nets.get(r.nets[i].family)?.meeting(start, end, out);
      this.ips.get(r.nets[i].family)?.meeting(start, end, out);
    }
    for (const mac of r.macs) one(out, this.byMac, mac);
    one(out, this.byKey, r.wireguardKey);
    if (out.size === 0) return [];
    return [...out].sort((a, b) => a - b);
  }
}

/** Adds the position `m` holds for `k`, if any. */
function one(out: Set<number>, m: Map<string, number>, k: string | undefined): void {
  const at = k === undefined ? undefined : m.get(k);
  if (at !== undefined) out.add(at);
}
