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
import { addressValue, lowerBound, prefixRange } from '../values/prefix';

/** What a record brings to the index. */
export interface IndexedRecord {
  name: string;
  ips: readonly ParsedAddress[];
  nets: readonly ParsedPrefix[];
  macs: readonly string[];
  wireguardKey: string | undefined;
  /** The ips' values and the nets' ranges, computed once per record (screenNodes keeps the
   * IndexedRecord of an unchanged candidate between screenings). */
  values?: { ips: bigint[]; nets: Array<[bigint, bigint]> };
}

/** The record's address values and subnet ranges (computed once per record). */
export function valuesOf(r: IndexedRecord): { ips: bigint[]; nets: Array<[bigint, bigint]> } {
  r.values ??= { ips: r.ips.map((ip) => addressValue(ip.bytes)), nets: r.nets.map((n) => prefixRange(n)) };
  return r.values;
}

/** Sorted values (or disjoint ranges, by start) with the acceptance position of each. */
class Sorted {
  readonly starts: bigint[] = [];
  readonly ends: bigint[] = [];
  readonly positions: number[] = [];

  insert(start: bigint, end: bigint, position: number): void {
    const at = lowerBound(this.starts, start);
    this.starts.splice(at, 0, start);
    this.ends.splice(at, 0, end);
    this.positions.splice(at, 0, position);
  }

  /** Positions of the entries that meet [start, end] (entries are disjoint: the one before the
   * first start >= start may reach into it; the ones after, up to end, lie inside it). */
  meeting(start: bigint, end: bigint, out: Set<number>): void {
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
    r.ips.forEach((ip, i) => {
      this.byIP.set(ip.text, position);
      const v = values.ips[i];
      this.sorted(this.ips, ip.family).insert(v, v, position);
    });
    r.nets.forEach((net, i) => {
      const [start, end] = values.nets[i];
      this.sorted(this.nets, net.family).insert(start, end, position);
    });
    for (const mac of r.macs) this.byMac.set(mac, position);
    if (r.wireguardKey !== undefined) this.byKey.set(r.wireguardKey, position);
  }

  /** The positions, ascending, of every accepted record the candidate may collide with: same
   * name, node IP, MAC or key; a pod subnet meeting one of its subnets; a node IP inside one of
   * its subnets; a subnet holding one of its node IPs. */
  mayCollide(r: IndexedRecord): number[] {
    const out = new Set<number>();
    const one = (m: Map<string, number>, k: string | undefined) => {
      const at = k === undefined ? undefined : m.get(k);
      if (at !== undefined) out.add(at);
    };
    one(this.byName, r.name);
    const values = valuesOf(r);
    r.ips.forEach((ip, i) => {
      one(this.byIP, ip.text);
      const v = values.ips[i];
      this.nets.get(ip.family)?.meeting(v, v, out);
    });
    r.nets.forEach((net, i) => {
      const [start, end] = values.nets[i];
      this.nets.get(net.family)?.meeting(start, end, out);
      this.ips.get(net.family)?.meeting(start, end, out);
    });
    for (const mac of r.macs) one(this.byMac, mac);
    one(this.byKey, r.wireguardKey);
    if (out.size === 0) return [];
    return [...out].sort((a, b) => a - b);
  }
}
