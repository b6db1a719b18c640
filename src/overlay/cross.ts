/**
 * The overlay's checks across nodes (names, node IPs and pod subnets each used once, pod subnets
 * not overlapping), kept between calls. An agent is handed the whole node list at every
 * membership change, 5,000 nodes for one changed record, with the same objects for unchanged
 * records; checking every name, address and subnet again was most of desiredState's cost.
 * After a list that passed, this index holds its values; the next list is checked by taking out
 * the nodes that are gone or changed and putting in the new ones, each against the index.
 *
 * It only says yes or no: on any problem the caller runs the full check over the list, which
 * names every problem as before. A node counts as unchanged only when it is the same object,
 * with the same name and the same remembered own checks (modes.ts CheckedNode, which compares
 * the node's values: a node changed in place is a changed node).
 */
import type { ParsedPrefix } from '../values/address';
import type { IpFamily } from '../values/ip';
import { lowerBound, prefixRange } from '../values/prefix';
import { FAMILIES, type NodeStack } from './stack';

/** What the index keeps of one node. */
interface Entry {
  /** The own checks it passed (modes.ts CheckedNode), by identity. */
  readonly checked: object;
  readonly name: string;
  readonly ips: readonly string[];
  readonly nets: readonly ParsedPrefix[];
  /** The list (begin() count) that last had it. */
  seen: number;
}

/** Disjoint ranges of one family, sorted by first address. */
class SortedRanges {
  private readonly starts: bigint[] = [];
  private readonly ends: bigint[] = [];

  /** Whether [start, end] overlaps a range held. Held ranges are disjoint, so only the two
   * beside where it would go can. */
  overlaps(start: bigint, end: bigint): boolean {
    const i = lowerBound(this.starts, start);
    return (i > 0 && this.ends[i - 1] >= start) || (i < this.starts.length && this.starts[i] <= end);
  }

  insert(start: bigint, end: bigint): void {
    const i = lowerBound(this.starts, start);
    this.starts.splice(i, 0, start);
    this.ends.splice(i, 0, end);
  }

  remove(start: bigint): void {
    const i = lowerBound(this.starts, start);
    if (this.starts[i] === start) {
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    }
  }

  /** All at once, from ranges known to be disjoint (a list that passed the full check). */
  fill(ranges: Array<[bigint, bigint]>): void {
    ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.starts.length = this.ends.length = 0;
    for (const [s, e] of ranges) {
      this.starts.push(s);
      this.ends.push(e);
    }
  }
}

/** A range per parsed subnet object (a remembered node keeps its parsed stack). */
const rangesOf = new WeakMap<ParsedPrefix, [bigint, bigint]>();
export function rangeOf(net: ParsedPrefix): [bigint, bigint] {
  let r = rangesOf.get(net);
  if (r === undefined) rangesOf.set(net, (r = prefixRange(net)));
  return r;
}

/** Most changed nodes a list may have for the index to be updated rather than rebuilt by a full check. */
const MAX_CHANGED = 256;

function valuesOf(stack: NodeStack): { ips: string[]; nets: ParsedPrefix[] } {
  const ips: string[] = [];
  const nets: ParsedPrefix[] = [];
  for (const f of FAMILIES) {
    const ip = stack.ip[f];
    if (ip) ips.push(ip.text);
    const net = stack.cidr[f];
    if (net) nets.push(net);
  }
  return { ips, nets };
}

/** See the file's comment. */
export class CrossIndex {
  private entries = new Map<object, Entry>();
  private readonly names = new Set<string>();
  private readonly ips = new Set<string>();
  private readonly ranges: Record<IpFamily, SortedRanges> = { 4: new SortedRanges(), 6: new SortedRanges() };
  private list = 0;
  private kept = 0;
  /** Whether it holds a list that passed (else every list gets the full check). */
  ready = false;

  /** A new list is being looked at. */
  begin(): void {
    this.list++;
    this.kept = 0;
  }

  /** Whether node n (whose own checks are `checked`) is one the index holds unchanged; it is then
   * counted as in this list. A node object given twice is unchanged only the first time. */
  keeps(n: object, name: unknown, checked: object): boolean {
    const e = this.entries.get(n);
    if (e === undefined || e.checked !== checked || e.name !== name || e.seen === this.list) return false;
    e.seen = this.list;
    this.kept++;
    return true;
  }

  /**
   * Takes out the nodes of the last list that this one did not keep, and puts in the changed
   * ones (positions in nodes, with their stacks and own checks), each checked against the rest.
   * False when one clashes, or too many changed: the caller then runs the full check, and the
   * index is empty until rebuilt.
   */
  update(nodes: ReadonlyArray<{ name: string }>, changed: readonly number[], stacks: readonly NodeStack[], checked: readonly (object | undefined)[]): boolean {
    if (changed.length > MAX_CHANGED || this.kept + changed.length !== nodes.length) return this.fail();
    if (this.kept !== this.entries.size) {
      // forEach, not for...of: no [key, value] pair made for each of 5,000 entries per list.
      this.entries.forEach((e, n) => {
        if (e.seen === this.list) return;
        this.entries.delete(n);
        this.names.delete(e.name);
        for (const ip of e.ips) this.ips.delete(ip);
        for (const net of e.nets) this.ranges[net.family].remove(rangeOf(net)[0]);
      });
    }
    for (const i of changed) {
      const n = nodes[i];
      const c = checked[i];
      if (c === undefined || this.names.has(n.name)) return this.fail();
      const { ips, nets } = valuesOf(stacks[i]);
      for (const ip of ips) if (this.ips.has(ip)) return this.fail();
      for (const net of nets) {
        const [s, e] = rangeOf(net);
        if (this.ranges[net.family].overlaps(s, e)) return this.fail();
      }
      // Its own two families cannot clash with each other; its own subnets are of two families.
      this.names.add(n.name);
      for (const ip of ips) this.ips.add(ip);
      for (const net of nets) {
        const [s, e] = rangeOf(net);
        this.ranges[net.family].insert(s, e);
      }
      this.entries.set(n, { checked: c, name: n.name, ips, nets, seen: this.list });
    }
    return true;
  }

  /** Holds a list that passed the full check. */
  rebuild(nodes: ReadonlyArray<{ name: string }>, stacks: readonly NodeStack[], checked: readonly (object | undefined)[]): void {
    this.clear();
    const ranges: Record<IpFamily, Array<[bigint, bigint]>> = { 4: [], 6: [] };
    for (let i = 0; i < nodes.length; i++) {
      const c = checked[i];
      if (c === undefined) return this.clear(); // (a passed list has every node checked)
      const { ips, nets } = valuesOf(stacks[i]);
      this.names.add(nodes[i].name);
      for (const ip of ips) this.ips.add(ip);
      for (const net of nets) ranges[net.family].push(rangeOf(net));
      this.entries.set(nodes[i], { checked: c, name: nodes[i].name, ips, nets, seen: this.list });
    }
    this.ranges[4].fill(ranges[4]);
    this.ranges[6].fill(ranges[6]);
    this.ready = true;
  }

  /** Forgets everything (the next list gets the full check). */
  clear(): void {
    this.entries = new Map();
    this.names.clear();
    this.ips.clear();
    this.ranges[4].fill([]);
    this.ranges[6].fill([]);
    this.ready = false;
  }

  private fail(): false {
    this.clear();
    return false;
  }
}
