/**
 * The store's own rule for a peer's record (EtcdMembership's `admit`): an agent's record is
 * attached to a lease, and each of its pod subnets is reserved for it under alloc/ (agents reserve
 * before they publish); when reservations overlap (written by hand: the allocator never lets
 * them), the older one wins.
 *
 * The reservations are indexed once per snapshot (by owner and subnet; per family by start, and
 * by the lengths present), so that a record costs a few lookups instead of two scans of every
 * reservation: at 5,000 nodes the scans made every screening O(n²). The first matching
 * reservation in snapshot order decides, as Array.find over the snapshot did.
 */
import type { AllocSnapshot, Reservation } from './allocate';
import { prefixOf } from './cidr';
import type { NodeRecord } from './types';
import type { ParsedPrefix } from '../values/address';
import { lowerBound, prefixRange, prefixesOverlap } from '../values/prefix';

/** Sorted starts of one family's reservations with their snapshot positions. */
interface FamilyStarts {
  starts: bigint[];
  positions: number[];
  /** The distinct prefix lengths of the family's reservations, ascending. */
  lengths: number[];
}

/** Parsed pod subnets by text: a record's subnets are parsed once, not at every screening. */
const parsed = new Map<string, ReturnType<typeof prefixOf>>();
function cidrOf(text: string): ReturnType<typeof prefixOf> {
  let p = parsed.get(text);
  if (p === undefined && !parsed.has(text)) {
    if (parsed.size >= 1 << 17) parsed.clear(); // bounded: a cache, not a record of every text seen
    p = prefixOf(text);
    parsed.set(text, p);
  }
  return p;
}

/**
 * The admit rule, one for the three ways reservations are looked up (ReservationIndex,
 * LiveReservations, and admitByScan, the tests' oracle): a record needs a lease, and each of its
 * pod subnets a reservation of its own that no older reservation of another node overlaps.
 * `ownOf` finds the record's own reservation of a subnet; `olderOf` the first reservation (in
 * snapshot order) of another owner that overlaps `net` and was made before `own`. Returns why the
 * record (stored with `lease`; undefined for a record kept while etcd settles, admitted before) is
 * not admitted, or undefined when it is.
 */
export function admitRecord<Own>(
  rec: NodeRecord,
  lease: string | undefined,
  parse: (cidr: string) => ParsedPrefix | undefined,
  ownOf: (name: string, cidr: string) => Own | undefined,
  olderOf: (own: Own, net: ParsedPrefix, name: string) => Reservation | undefined,
): string | undefined {
  if (lease === undefined) return undefined;
  if (lease === '0') return 'the record has no lease (an agent\'s record always has one, so that it goes when the agent does)';
  for (const cidr of rec.podCIDRs ?? [rec.podCIDR]) {
    const net = parse(cidr);
    if (!net) continue;
    const own = ownOf(rec.name, cidr);
    if (own === undefined) return `podCIDR ${cidr} has no reservation for "${rec.name}" (agents reserve their subnet before they publish)`;
    const older = olderOf(own, net, rec.name);
    if (older) return `podCIDR ${cidr} is reserved for ${older.owner ? `node "${older.owner}"` : 'another node'} (${older.net.prefix}, reserved earlier)`;
  }
  return undefined;
}

/** One snapshot's reservations, indexed for the admit rule. */
export class ReservationIndex {
  private readonly own = new Map<string, number>();
  private readonly families = new Map<number, FamilyStarts>();
  /** `${family}/${length}/${start}` -> positions (ascending). */
  private readonly exact = new Map<string, number[]>();
  private readonly reservations: readonly Reservation[];
  /** Decisions per candidate object (an unchanged record keeps its candidate: see mirror.ts). */
  private readonly decided = new WeakMap<object, { lease: string | undefined; reason: string | undefined }>();

  constructor(alloc: AllocSnapshot) {
    this.reservations = alloc.reservations;
    const rows: Array<{ family: number; start: bigint; position: number }> = [];
    this.reservations.forEach((r, i) => {
      const k = `${r.owner}\0${r.net.prefix}`;
      if (!this.own.has(k)) this.own.set(k, i);
      const [start] = prefixRange(r.net);
      rows.push({ family: r.net.family, start, position: i });
      const ek = `${r.net.family}/${r.net.prefixLength}/${start}`;
      const list = this.exact.get(ek);
      if (list) list.push(i);
      else this.exact.set(ek, [i]);
      let f = this.families.get(r.net.family);
      if (!f) this.families.set(r.net.family, (f = { starts: [], positions: [], lengths: [] }));
      if (!f.lengths.includes(r.net.prefixLength)) f.lengths.push(r.net.prefixLength);
    });
    rows.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.position - b.position));
    for (const row of rows) {
      const f = this.families.get(row.family)!;
      f.starts.push(row.start);
      f.positions.push(row.position);
    }
    for (const f of this.families.values()) f.lengths.sort((a, b) => a - b);
  }

  /** The positions of every reservation that may overlap `cidr` (a superset; callers check). */
  private overlapping(family: number, bits: number, start: bigint, end: bigint, length: number): number[] {
    const f = this.families.get(family);
    if (!f) return [];
    const out: number[] = [];
    // Starting inside the subnet: inside it, or (shorter) the same start.
    for (let i = lowerBound(f.starts, start); i < f.starts.length && f.starts[i] <= end; i++) out.push(f.positions[i]);
    // Starting before it and covering it: a shorter prefix with the masked start.
    for (const len of f.lengths) {
      if (len >= length) break;
      const host = BigInt(bits - len);
      const s = (start >> host) << host;
      if (s === start) continue; // already found by the scan above
      const list = this.exact.get(`${family}/${len}/${s}`);
      if (list) out.push(...list);
    }
    return out;
  }

  /** admit(), remembered per `key` object (a candidate): the same record under the same
   * reservations gets the same answer. */
  admitCached(key: object, rec: NodeRecord, lease: string | undefined): string | undefined {
    const known = this.decided.get(key);
    if (known && known.lease === lease) return known.reason;
    const reason = this.admit(rec, lease);
    this.decided.set(key, { lease, reason });
    return reason;
  }

  /**
   * Why `rec` (stored with `lease`; undefined for a record kept while etcd settles, admitted
   * before) is not admitted, or undefined when it is.
   */
  admit(rec: NodeRecord, lease: string | undefined): string | undefined {
    return admitRecord(rec, lease, cidrOf, this.ownOf, this.olderOf);
  }

  private readonly ownOf = (name: string, cidr: string): number | undefined => this.own.get(`${name}\0${cidr}`);

  private readonly olderOf = (ownAt: number, net: ParsedPrefix, name: string): Reservation | undefined => {
    const own = this.reservations[ownAt];
    const [start, end] = prefixRange(net);
    let older: Reservation | undefined;
    let olderAt = Infinity;
    for (const i of this.overlapping(net.family, net.bytes.length * 8, start, end, net.prefixLength)) {
      const r = this.reservations[i];
      if (i < olderAt && r !== own && r.owner !== name && r.createRevision < own.createRevision && prefixesOverlap(r.net, net)) {
        older = r;
        olderAt = i;
      }
    }
    return older;
  };
}

/** The same rule by scanning every reservation (what EtcdMembership did): the oracle of the tests. */
export function admitByScan(rec: NodeRecord, lease: string | undefined, alloc: AllocSnapshot): string | undefined {
  return admitRecord(
    rec,
    lease,
    prefixOf,
    (name, cidr) => alloc.reservations.find((r) => r.owner === name && r.net.prefix === cidr),
    (own, net, name) => alloc.reservations.find((r) => r !== own && r.owner !== name && r.createRevision < own.createRevision && prefixesOverlap(r.net, net)),
  );
}

/**
 * What differs between two reservation snapshots, for IncrementalScreener.setAdmit: the owners
 * and subnets of the reservations only one of them has. A reservation kept between snapshots is
 * the same object (MembershipMirror parses each stored version of a key once); another object
 * counts as a change, which at worst decides a few records again.
 */
export function reservationChange(before: AllocSnapshot, after: AllocSnapshot): { names: Set<string>; nets: ParsedPrefix[] } {
  const was = new Set(before.reservations);
  const now = new Set(after.reservations);
  const names = new Set<string>();
  const nets: ParsedPrefix[] = [];
  const note = (r: Reservation) => {
    names.add(r.owner);
    nets.push(r.net);
  };
  for (const r of after.reservations) if (!was.has(r)) note(r);
  for (const r of before.reservations) if (!now.has(r)) note(r);
  return { names, nets };
}
