/**
 * Screening the incremental copy (issue 24: "one changed record screened in < 1 ms"): an
 * IncrementalScreener that follows a MembershipMirror, so that a screening after one event
 * re-decides the records that event may affect instead of running screenNodes over every record
 * (~100 ms at 10,000 records).
 *
 * The screener is fed what changed since the last screening: the node keys the mirror noted as
 * it applied events (put or delete), and, when the reservations changed, the difference between
 * the two snapshots (setAdmit). It starts over (every record put again) when there is nothing to
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
import type { AllocSnapshot } from './allocate';
import { reservationChange, type ReservationIndex } from './admit';
import { IncrementalScreener, type IncrementalResult, type ScreenItem } from './incremental-screen';
import { tooBigCandidate, type MembershipMirror, type NodeEntry } from './mirror';
import type { CandidateRecord, NodeRecord, ScreenOptions } from './types';

/** Ranks after any revision (etcd's are int64): the records too big to read come last. */
const TOO_BIG_RANK = 1n << 64n;
/** Before a too-big record's key: a character above latin1, so no record key equals it. */
const TOO_BIG_MARK = '\u0100';

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
  private alloc: AllocSnapshot | undefined;
  /** The lease each record was stored with, for the admit rule. */
  private leases = new WeakMap<CandidateRecord, string>();
  /** The screener key placed for each copy key (to remove it whatever the copy holds now). */
  private readonly placed = new Map<string, string>();

  constructor(private readonly nodesPrefix: string) {}

  /** Screenings that started over (every record put again), and ones that continued from the
   * last (only the changes): for tests and benchmarks. */
  starts = 0;
  follows = 0;

  /**
   * The result screenNodes gives for `self` and the copy's records (this host's own key left
   * out), with `options` and the reservations of `alloc` (indexed as `reservations`) as the
   * admit rule. `options` is compared by identity: pass the same object while they hold.
   */
  screen(mirror: MembershipMirror, self: NodeRecord, options: ScreenOptions, alloc: AllocSnapshot, reservations: ReservationIndex): MirrorScreenResult {
    const admit = (rec: NodeRecord, c: CandidateRecord) => reservations.admitCached(c, rec, this.leases.get(c));
    const selfText = JSON.stringify(self);
    const changes = mirror.takeNodeChanges();
    try {
      if (!this.screener || this.mirror !== mirror || changes === 'all' || this.selfText !== selfText || this.options !== options) {
        this.start(mirror, self, selfText, options, admit);
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
        if (this.alloc !== alloc) s.setAdmit(admit, reservationChange(this.alloc!, alloc));
      }
      this.alloc = alloc;
      return { result: this.screener!.result(), continues: this.screener! };
    } catch (e) {
      this.screener = undefined; // half applied: start over next time
      throw e;
    }
  }

  private itemOf(key: string, e: NodeEntry): ScreenItem {
    this.leases.set(e.candidate, String(e.kv.lease));
    return { key, rank: e.createRevision, candidate: e.candidate };
  }

  private start(mirror: MembershipMirror, self: NodeRecord, selfText: string, options: ScreenOptions, admit: ScreenOptions['admit']): void {
    this.starts++;
    this.mirror = mirror;
    this.selfText = selfText;
    this.options = options;
    this.leases = new WeakMap();
    this.placed.clear();
    const ownKey = this.nodesPrefix + self.name;
    const items: ScreenItem[] = [];
    for (const e of mirror.nodeEntries()) {
      if (e.key === ownKey) continue;
      const key = e.kv.key.toString('latin1');
      this.placed.set(e.key, key);
      items.push(this.itemOf(key, e));
    }
    for (const key of mirror.tooBigNodes()) {
      if (key !== ownKey) items.push({ key: TOO_BIG_MARK + key, rank: TOO_BIG_RANK, candidate: tooBigCandidate(key, this.nodesPrefix) });
    }
    this.screener = undefined;
    const s = new IncrementalScreener(self, { ...options, admit });
    s.reset(items);
    this.screener = s;
  }
}
