/**
 * The reservations of a MembershipMirror, indexed for the admit rule and kept current key by
 * key (issue 24). ReservationIndex (admit.ts) indexes one snapshot: a join or a leave (a
 * reservation key put or deleted) meant a new snapshot and a new index, ~200 ms at 10,000
 * reservations, for one changed key. Here a changed key is one removal and one insertion, and
 * the answer is ReservationIndex's: the reservations in snapshot order (reservation keys in key
 * byte order, then the ones too big to read by key), the first matching one deciding.
 *
 * Positions in snapshot order are order keys here: the key's bytes as latin1 (string order is
 * byte order), and a key too big to read as a character above latin1 before its text.
 */
import type { Reservation } from './allocate';
import { admitRecord } from './admit';
import { prefixOf } from './cidr';
import type { NodeRecord } from './types';
import type { ParsedPrefix } from '../values/address';
import { lowerBound, prefixRange, prefixesOverlap } from '../values/prefix';

/** One reservation where it stands. */
interface Held {
  order: string;
  r: Reservation;
  start: bigint;
}

/** One family's reservations by start, and the prefix lengths present. */
class Family {
  starts: bigint[] = [];
  held: Held[] = [];
  private readonly lengthCount = new Map<number, number>();
  lengths: number[] = [];

  constructor(readonly bits: number) {}

  count(length: number, d: 1 | -1): void {
    const n = (this.lengthCount.get(length) ?? 0) + d;
    if (n > 0) this.lengthCount.set(length, n);
    else this.lengthCount.delete(length);
    if ((d === 1 && n === 1) || n === 0) this.lengths = [...this.lengthCount.keys()].sort((a, b) => a - b);
  }
}

const exactKey = (family: number, length: number, start: bigint) => `${family}/${length}/${start}`;

function pull(m: Map<string, Held[]>, k: string, h: Held): void {
  const list = m.get(k);
  if (!list) return;
  const at = list.indexOf(h);
  if (at >= 0) list.splice(at, 1);
  if (!list.length) m.delete(k);
}

function push(m: Map<string, Held[]>, k: string, h: Held): void {
  const list = m.get(k);
  if (list) list.push(h);
  else m.set(k, [h]);
}

/** What a changed reservation may change the admit answer of (IncrementalScreener.setAdmit). */
export interface ReservationTouch {
  names: Set<string>;
  nets: ParsedPrefix[];
}

/** Reservations by order key, indexed as ReservationIndex indexes a snapshot (see the module doc). */
export class LiveReservations {
  private readonly byOrder = new Map<string, Held>();
  /** `${owner}\0${prefix}` -> its reservations (the first in order is the owner's). */
  private readonly own = new Map<string, Held[]>();
  private readonly exact = new Map<string, Held[]>();
  private readonly families = new Map<number, Family>();

  /** Takes these (order key, reservation) pairs instead of the ones held. */
  build(rows: ReadonlyArray<[string, Reservation]>): void {
    this.byOrder.clear();
    this.own.clear();
    this.exact.clear();
    this.families.clear();
    for (const [order, r] of rows) {
      const h = this.index(order, r);
      const f = this.familyOf(r.net);
      f.held.push(h);
    }
    for (const f of this.families.values()) {
      f.held.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
      f.starts = f.held.map((h) => h.start);
    }
  }

  /** Sets (or with undefined removes) the reservation under an order key; what that may change. */
  set(order: string, r: Reservation | undefined, touched: ReservationTouch): void {
    const old = this.byOrder.get(order);
    if (old?.r === r) return;
    if (old) {
      this.byOrder.delete(order);
      pull(this.own, `${old.r.owner}\0${old.r.net.prefix}`, old);
      pull(this.exact, exactKey(old.r.net.family, old.r.net.prefixLength, old.start), old);
      const f = this.families.get(old.r.net.family)!;
      for (let i = lowerBound(f.starts, old.start); i < f.starts.length && f.starts[i] === old.start; i++) {
        if (f.held[i] !== old) continue;
        f.starts.splice(i, 1);
        f.held.splice(i, 1);
        break;
      }
      f.count(old.r.net.prefixLength, -1);
      touched.names.add(old.r.owner);
      touched.nets.push(old.r.net);
    }
    if (r) {
      const h = this.index(order, r);
      const f = this.familyOf(r.net);
      const at = lowerBound(f.starts, h.start);
      f.starts.splice(at, 0, h.start);
      f.held.splice(at, 0, h);
      touched.names.add(r.owner);
      touched.nets.push(r.net);
    }
  }

  private familyOf(net: ParsedPrefix): Family {
    let f = this.families.get(net.family);
    if (!f) this.families.set(net.family, (f = new Family(net.bytes.length * 8)));
    return f;
  }

  /** Notes h everywhere but in its family's starts. */
  private index(order: string, r: Reservation): Held {
    const [start] = prefixRange(r.net);
    const h: Held = { order, r, start };
    this.byOrder.set(order, h);
    push(this.own, `${r.owner}\0${r.net.prefix}`, h);
    push(this.exact, exactKey(r.net.family, r.net.prefixLength, start), h);
    this.familyOf(r.net).count(r.net.prefixLength, 1);
    return h;
  }

  /** Every reservation that may overlap [start, end] (a prefix of `length`): a superset. */
  private overlapping(net: ParsedPrefix, start: bigint, end: bigint, each: (h: Held) => void): void {
    const f = this.families.get(net.family);
    if (!f) return;
    for (let i = lowerBound(f.starts, start); i < f.starts.length && f.starts[i] <= end; i++) each(f.held[i]);
    for (const len of f.lengths) {
      if (len >= net.prefixLength) break;
      const host = BigInt(f.bits - len);
      const s = (start >> host) << host;
      if (s === start) continue; // starts inside: found above
      for (const h of this.exact.get(exactKey(net.family, len, s)) ?? []) each(h);
    }
  }

  /** ReservationIndex.admit over the reservations held now. */
  admit(rec: NodeRecord, lease: string | undefined): string | undefined {
    return admitRecord(rec, lease, prefixOf, this.ownOf, this.olderOf);
  }

  /** The first-made of the owner's reservations of the subnet (as ReservationIndex keeps the first in snapshot order). */
  private readonly ownOf = (name: string, cidr: string): Held | undefined => {
    let own: Held | undefined;
    for (const h of this.own.get(`${name}\0${cidr}`) ?? []) if (!own || h.order < own.order) own = h;
    return own;
  };

  private readonly olderOf = (mine: Held, net: ParsedPrefix, name: string): Reservation | undefined => {
    const [start, end] = prefixRange(net);
    let older: Held | undefined;
    this.overlapping(net, start, end, (h) => {
      const r = h.r;
      if ((!older || h.order < older.order) && h !== mine && r.owner !== name && r.createRevision < mine.r.createRevision && prefixesOverlap(r.net, net)) older = h;
    });
    return older?.r;
  };
}
