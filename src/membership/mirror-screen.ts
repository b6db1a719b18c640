/**
 * Screening the incremental copy (issue 24: "one changed record screened in < 1 ms"): an
 * IncrementalScreener that follows a MembershipMirror, so that a screening after one event
 * re-decides the records that event may affect instead of running screenNodes over every record
 * (~100 ms at 10,000 records).
 *
 * The screener is fed what changed since the last screening: the node keys the mirror noted as
 * it applied events (put or delete), and the reservation keys: the admit rule is answered by
 * LiveReservations, kept current key by key like the records, and the records a changed
 * reservation may concern (its owner, overlapping subnets) are decided again (setAdmit). It
 * starts over (every record and reservation taken again) when there is nothing to
 * continue from: another copy (read again in full), a copy reset from a read, another record of
 * this host, other options, or a screening that failed half way.
 *
 * The screening order is the one EtcdMembership hands screenNodes: the copy's records by
 * create_revision, then key bytes (orderNodeKvs), then the records too big to read by key. The
 * screener orders by rank, then key in JavaScript string order, so a record's key is its etcd
 * key in latin1 (one character per byte: string order is byte order, distinct keys stay
 * distinct), and the records too big to read rank after every revision with a key no latin1
 * string has.
 */
import type { Reservation } from './allocate';
import { IncrementalScreener, type IncrementalResult, type ScreenItem } from './incremental-screen';
import { LiveReservations, type ReservationTouch } from './live-reservations';
import { tooBigCandidate, type MembershipMirror, type NodeEntry } from './mirror';
import type { CandidateRecord, NodeRecord, ScreenOptions } from './types';

/** Ranks after any revision (etcd's are int64): the records too big to read come last. */
const TOO_BIG_RANK = 1n << 64n;
/** Before a too-big record's key: a character above latin1, so no record key equals it. */
const TOO_BIG_MARK = '\u0100';
/** Before the name of a node kept while etcd settles: after every record (same rank as the
 * too-big ones, a greater first character), in name order. */
const KEPT_MARK = '\u0101';

/** What one screening of the copy gives. */
export interface MirrorScreenResult {
  result: IncrementalResult;
  /** The screener this result continues: a result whose `continues` equals the previous
   * result's has a delta relative to it (see ScreenedChanges.publish). */
  continues: object;
}

/** An IncrementalScreener following one MembershipMirror (see the module doc). */
export class MirrorScreening {
  private screener: IncrementalScreener | undefined;
  private mirror: MembershipMirror | undefined;
  private selfText = '';
  private options: ScreenOptions | undefined;
  private readonly reservations = new LiveReservations();
  /** The order key placed for each reservation key (as for the records). */
  private readonly placedAlloc = new Map<string, string>();
  private readonly admit = (rec: NodeRecord, c: CandidateRecord) => this.reservations.admit(rec, this.leases.get(c));
  /** The lease each record was stored with, for the admit rule. */
  private leases = new WeakMap<CandidateRecord, string>();
  /** The screener key placed for each copy key (to remove it whatever the copy holds now). */
  private readonly placed = new Map<string, string>();
  /** The nodes kept while etcd settles, by name: the record (as JSON) and its candidate. */
  private readonly kept = new Map<string, { text: string; candidate: CandidateRecord }>();

  constructor(private readonly nodesPrefix: string) {}

  /** Screenings that started over (every record put again), and ones that continued from the
   * last (only the changes): for tests and benchmarks. */
  starts = 0;
  follows = 0;

  /**
   * The result screenNodes gives for `self` and the copy's records (this host's own key left
   * out), with `options` and the copy's reservations as the admit rule (ReservationIndex's, over
   * mirror.allocSnapshot()). `options` is compared by identity: pass the same object while they
   * hold. `kept`: nodes of the last list missing from the copy right after an outage, sorted by
   * name; they are screened after all records, as `<key> (kept while etcd settles)`, without a
   * lease (admitted before).
   */
  screen(mirror: MembershipMirror, self: NodeRecord, options: ScreenOptions, kept: readonly NodeRecord[] = []): MirrorScreenResult {
    const selfText = JSON.stringify(self);
    const changes = mirror.takeNodeChanges();
    const allocChanges = mirror.takeAllocChanges();
    try {
      if (!this.screener || this.mirror !== mirror || changes === 'all' || allocChanges === 'all' || this.selfText !== selfText || this.options !== options) {
        this.start(mirror, self, selfText, options);
      } else {
        this.follows++;
        const s = this.screener;
        const ownKey = this.nodesPrefix + self.name;
        for (const [key, raw] of changes) {
          const was = this.placed.get(key);
          const entry = key === ownKey ? undefined : mirror.node(key);
          const now = entry ? raw.toString('latin1') : undefined;
          if (was !== undefined && was !== now) s.delete(was);
          // A record too big to read is only ever read (the copy forgets it at its next event).
          s.delete(TOO_BIG_MARK + key);
          if (entry) {
            this.placed.set(key, now!);
            s.put(this.itemOf(now!, entry));
          } else this.placed.delete(key);
        }
        if (allocChanges.size) {
          const touched: ReservationTouch = { names: new Set(), nets: [] };
          for (const [key, raw] of allocChanges) {
            const was = this.placedAlloc.get(key);
            const r = mirror.reservationAt(key);
            const now = r ? raw.toString('latin1') : undefined;
            if (was !== undefined && was !== now) this.reservations.set(was, undefined, touched);
            this.reservations.set(TOO_BIG_MARK + key, undefined, touched);
            if (r) {
              this.placedAlloc.set(key, now!);
              this.reservations.set(now!, r, touched);
            } else this.placedAlloc.delete(key);
          }
          if (touched.names.size || touched.nets.length) s.setAdmit(this.admit, touched);
        }
      }
      this.keep(kept);
      return { result: this.screener!.result(), continues: this.screener! };
    } catch (e) {
      this.screener = undefined; // half applied: start over next time
      throw e;
    }
  }

  /** Puts the kept nodes that are new or changed, deletes the ones no longer kept. */
  private keep(nodes: readonly NodeRecord[]): void {
    const s = this.screener!;
    if (nodes.length === 0 && this.kept.size === 0) return;
    const now = new Set<string>();
    for (const n of nodes) {
      now.add(n.name);
      const text = JSON.stringify(n);
      if (this.kept.get(n.name)?.text === text) continue;
      const candidate: CandidateRecord = { source: `${this.nodesPrefix}${n.name} (kept while etcd settles)`, value: n, expectedName: n.name };
      this.kept.set(n.name, { text, candidate });
      s.put({ key: KEPT_MARK + n.name, rank: TOO_BIG_RANK, candidate });
    }
    for (const name of this.kept.keys()) {
      if (now.has(name)) continue;
      this.kept.delete(name);
      s.delete(KEPT_MARK + name);
    }
  }

  private itemOf(key: string, e: NodeEntry): ScreenItem {
    this.leases.set(e.candidate, e.lease);
    return { key, rank: e.createRevision, candidate: e.candidate };
  }

  private start(mirror: MembershipMirror, self: NodeRecord, selfText: string, options: ScreenOptions): void {
    this.starts++;
    this.screener = undefined;
    const rows: Array<[string, Reservation]> = [];
    this.placedAlloc.clear();
    for (const [key, order] of mirror.allocKeyOrder()) {
      const r = mirror.reservationAt(key);
      if (!r) continue;
      this.placedAlloc.set(key, order);
      rows.push([order, r]);
    }
    for (const key of mirror.tooBigAllocKeys()) {
      const r = mirror.tooBigReservation(key);
      if (r) rows.push([TOO_BIG_MARK + key, r]);
    }
    this.reservations.build(rows);
    this.mirror = mirror;
    this.selfText = selfText;
    this.options = options;
    this.leases = new WeakMap();
    this.placed.clear();
    this.kept.clear();
    const ownKey = this.nodesPrefix + self.name;
    const items: ScreenItem[] = [];
    for (const e of mirror.nodeEntries()) {
      if (e.key === ownKey) continue;
      this.placed.set(e.key, e.order);
      items.push(this.itemOf(e.order, e));
    }
    for (const key of mirror.tooBigNodes()) {
      if (key !== ownKey) items.push({ key: TOO_BIG_MARK + key, rank: TOO_BIG_RANK, candidate: tooBigCandidate(key, this.nodesPrefix) });
    }
    const s = new IncrementalScreener(self, { ...options, admit: this.admit });
    s.reset(items);
    this.screener = s;
  }
}
