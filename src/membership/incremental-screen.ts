/**
 * screenNodes kept current (issue 24: "one changed record screened in < 1 ms"). screenNodes
 * screens every record again for every change: at 10,000 records a change cost ~350 ms. The
 * IncrementalScreener keeps what screening decided, and for a change re-decides only the records
 * whose decision may depend on it:
 *
 * - the changed record itself (put, removed, or another version of it);
 * - the records that may collide with its old or new version (name, node IP, VTEP MAC, WireGuard
 *   key by value; pod subnets and node IPs by range, over ALL the records that may be accepted,
 *   not only the accepted ones), when the changed record's acceptance changed, and then, in
 *   screening order, the later records that may collide with each record whose acceptance
 *   flipped (a min-heap: a record is decided once every earlier decision is final);
 * - the holders of a VTEP MAC whose owner (the first record deriving it) changed;
 * - after a change of the source's rule (the reservations), the records whose name owns or whose
 *   subnets overlap a changed reservation (setAdmit).
 *
 * Collisions are symmetric (if the later may collide with the earlier, so does the earlier with
 * the later), and a record is affected only by the records before it, so these are all the
 * decisions that can change. A change of this host or of the options screens everything again
 * (make a new screener). The result is the one screenNodes gives for the same records in the
 * same order, warnings and reasons included: the rules are screenNodes' own (types.ts), and
 * test/membership/screen-incremental.test.js holds the two together on random changes.
 */
import { maskValue, rangeOf, valuesOf, type AddressValue, type IndexedRecord } from './accepted-index';
import {
  byName,
  checkedOf,
  collisionReason,
  derivedMacsOf,
  fixedVerdict,
  indexedOf,
  macRule,
  modeWarning,
  nodesKey,
  screenContext,
  skippedOf,
  type CandidateRecord,
  type Checked,
  type NodeRecord,
  type ScreenContext,
  type ScreenOptions,
  type ScreenResult,
  type SkippedRecord,
} from './types';
import type { ParsedPrefix } from '../values/address';
import { lowerBound } from '../values/prefix';

/** A record to screen, where it stands in the screening order. */
export interface ScreenItem {
  /** Its identity (an etcd key): unique among the items. */
  key: string;
  /** The screening order: by rank (etcd: create_revision), then by key (JavaScript string order). */
  rank: bigint;
  candidate: CandidateRecord;
}

/** How the node list changed since the previous result (names, each sorted). */
export interface NodesDelta {
  added: string[];
  removed: string[];
  /** In both lists, with another record. */
  changed: string[];
}

/** A screening result and how its node list differs from the previous one. */
export interface IncrementalResult extends ScreenResult {
  delta: NodesDelta;
}

/** What the reservations' change touches (see setAdmit). */
export interface AdmitChange {
  /** Records with these names are decided again. */
  names: Iterable<string>;
  /** Records with a pod subnet overlapping one of these are decided again. */
  nets: readonly ParsedPrefix[];
}

/** One item and what screening made of it. */
interface Entry {
  key: string;
  rank: bigint;
  x: Checked;
  /** The decision no other record changes; undefined for a contender (the others decide). */
  fixed: { reason: string } | 'own' | undefined;
  /** The MACs it derives (it may own them). */
  derived: string[];
  accepted: boolean;
  skip: SkippedRecord | undefined;
  warning: string | undefined;
  queued: boolean;
  live: boolean;
}

const before = (a: Entry, b: Entry): boolean => a.rank < b.rank || (a.rank === b.rank && a.key < b.key);

/** Sorted values, each with its entry (several entries may share a value). */
class SortedBag {
  values: AddressValue[] = [];
  entries: Entry[] = [];

  /** Takes these values and entries (parallel arrays), sorting them by value. */
  build(values: AddressValue[], entries: Entry[]): void {
    let sorted = true;
    for (let i = 1; i < values.length && sorted; i++) sorted = values[i - 1] <= values[i];
    if (sorted) {
      // Records mostly come in address order (agents number themselves in sequence): no sort.
      this.values = values;
      this.entries = entries;
      return;
    }
    const order = Array.from(values.keys());
    order.sort((i, j) => (values[i] < values[j] ? -1 : values[i] > values[j] ? 1 : i - j));
    this.values = order.map((i) => values[i]);
    this.entries = order.map((i) => entries[i]);
  }

  insert(v: AddressValue, e: Entry): void {
    const at = lowerBound(this.values, v);
    this.values.splice(at, 0, v);
    this.entries.splice(at, 0, e);
  }

  remove(v: AddressValue, e: Entry): void {
    for (let i = lowerBound(this.values, v); i < this.values.length && this.values[i] === v; i++) {
      if (this.entries[i] !== e) continue;
      this.values.splice(i, 1);
      this.entries.splice(i, 1);
      return;
    }
  }

  /** The entries whose value lies in [lo, hi]. */
  range(lo: AddressValue, hi: AddressValue, out: Entry[]): void {
    for (let i = lowerBound(this.values, lo); i < this.values.length && this.values[i] <= hi; i++) out.push(this.entries[i]);
  }
}

/**
 * Entries by a key, most keys having one: the entry itself is stored then, an array only for a
 * key shared (10,000 one-element arrays per index were most of a full screening's allocations).
 */
class Multi<K> {
  private readonly m = new Map<K, Entry | Entry[]>();

  add(k: K, e: Entry): void {
    const v = this.m.get(k);
    if (v === undefined) this.m.set(k, e);
    else if (Array.isArray(v)) v.push(e);
    else this.m.set(k, [v, e]);
  }

  remove(k: K, e: Entry): void {
    const v = this.m.get(k);
    if (v === undefined) return;
    if (!Array.isArray(v)) {
      if (v === e) this.m.delete(k);
      return;
    }
    const at = v.indexOf(e);
    if (at >= 0) v.splice(at, 1);
    if (v.length === 1) this.m.set(k, v[0]);
    else if (v.length === 0) this.m.delete(k);
  }

  /** Appends the entries under `k` to `out`. */
  collect(k: K, out: Entry[]): void {
    const v = this.m.get(k);
    if (v === undefined) return;
    if (Array.isArray(v)) for (const e of v) out.push(e);
    else out.push(v);
  }

  get(k: K): readonly Entry[] {
    const v = this.m.get(k);
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  }
}

/** One family's pod subnets: by start (the ones starting inside a range), and by length and
 * start (the ones containing it: one exact lookup per shorter length present). */
class NetIndex {
  readonly starts = new SortedBag();
  /** length -> start -> entries. */
  private readonly exact = new Map<number, Multi<AddressValue>>();
  private readonly lengthCount = new Map<number, number>();
  /** The lengths present, ascending. */
  lengths: number[] = [];

  constructor(readonly bits: number) {}

  add(length: number, start: AddressValue, e: Entry, bulk: boolean): void {
    if (!bulk) this.starts.insert(start, e);
    let byStart = this.exact.get(length);
    if (!byStart) this.exact.set(length, (byStart = new Multi()));
    byStart.add(start, e);
    const n = this.lengthCount.get(length) ?? 0;
    this.lengthCount.set(length, n + 1);
    if (n === 0) this.lengths = [...this.lengthCount.keys()].sort((a, b) => a - b);
  }

  remove(length: number, start: AddressValue, e: Entry): void {
    this.starts.remove(start, e);
    this.exact.get(length)?.remove(start, e);
    const n = this.lengthCount.get(length)! - 1;
    if (n > 0) this.lengthCount.set(length, n);
    else {
      this.lengthCount.delete(length);
      this.exact.delete(length);
      this.lengths = [...this.lengthCount.keys()].sort((a, b) => a - b);
    }
  }

  /** Every entry with a subnet overlapping [start, end] (a prefix of `length`): one starting
   * inside it, or a shorter one containing it. */
  overlapping(start: AddressValue, end: AddressValue, length: number, out: Entry[]): void {
    this.starts.range(start, end, out);
    for (const len of this.lengths) {
      if (len >= length) break;
      const s = maskValue(start, this.bits, len);
      if (s === start) continue; // starts inside: found above
      this.exact.get(len)!.collect(s, out);
    }
  }
}

/** Every record that may be accepted (the contenders), by what two records may collide on. */
class ContenderIndex {
  private readonly byName = new Multi<string>();
  private readonly byIP = new Multi<string>();
  readonly byMac = new Multi<string>();
  private readonly byKey = new Multi<string>();
  private readonly nets = new Map<number, NetIndex>();
  private readonly ips = new Map<number, SortedBag>();

  private netsOf(bits: number): NetIndex {
    let n = this.nets.get(bits);
    if (!n) this.nets.set(bits, (n = new NetIndex(bits)));
    return n;
  }

  private ipsOf(bits: number): SortedBag {
    let n = this.ips.get(bits);
    if (!n) this.ips.set(bits, (n = new SortedBag()));
    return n;
  }

  /** Adds the contenders at once (sorting each range index once, not inserting one by one). */
  build(entries: readonly Entry[]): void {
    // Per address size (32, 128): the values and their entries, in parallel arrays.
    const netRows = new Map<number, { values: AddressValue[]; entries: Entry[] }>();
    const ipRows = new Map<number, { values: AddressValue[]; entries: Entry[] }>();
    const rows = (m: Map<number, { values: AddressValue[]; entries: Entry[] }>, bits: number) => {
      let r = m.get(bits);
      if (!r) m.set(bits, (r = { values: [], entries: [] }));
      return r;
    };
    for (const e of entries) {
      const r = indexedOf(e.x);
      this.addValues(e, r);
      const values = valuesOf(r);
      for (let i = 0; i < r.nets.length; i++) {
        const bits = r.nets[i].bytes.length * 8;
        const start = values.nets[i][0];
        this.netsOf(bits).add(r.nets[i].prefixLength, start, e, true);
        const row = rows(netRows, bits);
        row.values.push(start);
        row.entries.push(e);
      }
      for (let i = 0; i < r.ips.length; i++) {
        const row = rows(ipRows, r.ips[i].bytes.length * 8);
        row.values.push(values.ips[i]);
        row.entries.push(e);
      }
    }
    for (const [bits, r] of netRows) this.netsOf(bits).starts.build(r.values, r.entries);
    for (const [bits, r] of ipRows) this.ipsOf(bits).build(r.values, r.entries);
  }

  private addValues(e: Entry, r: IndexedRecord): void {
    this.byName.add(r.name, e);
    for (const ip of r.ips) this.byIP.add(ip.text, e);
    for (const mac of r.macs) this.byMac.add(mac, e);
    if (r.wireguardKey !== undefined) this.byKey.add(r.wireguardKey, e);
  }

  add(e: Entry): void {
    const r = indexedOf(e.x);
    this.addValues(e, r);
    const values = valuesOf(r);
    for (let i = 0; i < r.nets.length; i++) this.netsOf(r.nets[i].bytes.length * 8).add(r.nets[i].prefixLength, values.nets[i][0], e, false);
    for (let i = 0; i < r.ips.length; i++) this.ipsOf(r.ips[i].bytes.length * 8).insert(values.ips[i], e);
  }

  remove(e: Entry): void {
    const r = indexedOf(e.x);
    this.byName.remove(r.name, e);
    for (const ip of r.ips) this.byIP.remove(ip.text, e);
    for (const mac of r.macs) this.byMac.remove(mac, e);
    if (r.wireguardKey !== undefined) this.byKey.remove(r.wireguardKey, e);
    const values = valuesOf(r);
    for (let i = 0; i < r.nets.length; i++) this.nets.get(r.nets[i].bytes.length * 8)!.remove(r.nets[i].prefixLength, values.nets[i][0], e);
    for (let i = 0; i < r.ips.length; i++) this.ips.get(r.ips[i].bytes.length * 8)!.remove(values.ips[i], e);
  }

  /** Every contender that may collide with `r` (a superset, possibly with repeats: the rules
   * decide), `r`'s own entry included. */
  mayCollide(r: IndexedRecord, out: Entry[] = []): Entry[] {
    this.byName.collect(r.name, out);
    for (const ip of r.ips) this.byIP.collect(ip.text, out);
    for (const mac of r.macs) this.byMac.collect(mac, out);
    if (r.wireguardKey !== undefined) this.byKey.collect(r.wireguardKey, out);
    const values = valuesOf(r);
    for (let i = 0; i < r.ips.length; i++) {
      const bits = r.ips[i].bytes.length * 8;
      const v = values.ips[i];
      this.nets.get(bits)?.overlapping(v, v, bits, out);
    }
    for (let i = 0; i < r.nets.length; i++) this.overlapping(r.nets[i], values.nets[i], out);
    return out;
  }

  /** The contenders with a pod subnet overlapping `net`, or a node IP inside it. */
  overlapping(net: ParsedPrefix, [start, end]: readonly [AddressValue, AddressValue], out: Entry[]): void {
    const bits = net.bytes.length * 8;
    this.nets.get(bits)?.overlapping(start, end, net.prefixLength, out);
    this.ips.get(bits)?.range(start, end, out);
  }

  named(name: string): readonly Entry[] {
    return this.byName.get(name);
  }
}

/** Entries by screening order (a min-heap). */
class Queue {
  private readonly heap: Entry[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(e: Entry): void {
    if (e.queued || !e.live || e.fixed !== undefined) return;
    e.queued = true;
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  pop(): Entry {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && before(h[l + 1], h[l]) ? l + 1 : l;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    top.queued = false;
    return top;
  }
}

/** Where `e` is, or would go, in `list` sorted by screening order. */
function orderedAt(list: readonly Entry[], e: Entry): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(list[mid], e)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Inserts `e` into `list` sorted by screening order. */
function insertOrdered(list: Entry[], e: Entry): void {
  list.splice(orderedAt(list, e), 0, e);
}

function removeOrdered(list: Entry[], e: Entry): void {
  const at = orderedAt(list, e);
  if (list[at] === e) list.splice(at, 1);
}

/** The position of `name` in a node list sorted by name (or where it would go). */
function nameAt(nodes: readonly NodeRecord[], name: string): number {
  let lo = 0;
  let hi = nodes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (nodes[mid].name < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const sameNode = (a: NodeRecord, b: NodeRecord): boolean => a === b || nodesKey([a]) === nodesKey([b]);

/** How node list `b` differs from `a` (both sorted by name, names unique). */
function listDelta(a: readonly NodeRecord[], b: readonly NodeRecord[]): NodesDelta {
  const delta: NodesDelta = { added: [], removed: [], changed: [] };
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.name < y.name)) {
      delta.removed.push(x.name);
      i++;
    } else if (x === undefined || y.name < x.name) {
      delta.added.push(y.name);
      j++;
    } else {
      if (!sameNode(x, y)) delta.changed.push(x.name);
      i++;
      j++;
    }
  }
  return delta;
}

/**
 * screenNodes for one host and one set of options, kept current between changes (see the
 * module doc). put()/delete()/setAdmit() note changes; result() decides what they may have
 * changed and returns the result screenNodes would give for the items in screening order.
 */
export class IncrementalScreener {
  private readonly ctx: ScreenContext;
  private admit: ScreenOptions['admit'];
  private readonly entries = new Map<string, Entry>();
  private index = new ContenderIndex();
  /** MAC -> the entries deriving it, in screening order (the first owns it): the entry itself
   * when only one does (the usual case), an array when several do. */
  private derivers = new Map<string, Entry | Entry[]>();
  private readonly queue = new Queue();
  /** This host and the accepted records, by name. */
  private nodes: NodeRecord[];
  private skipped: Entry[] = [];
  private warned: Entry[] = [];
  /** Names whose node changed since the last result, with the node they had then. */
  private touched = new Map<string, NodeRecord | undefined>();
  /** After a reset: the node list of the last result (the delta is then the difference of two
   * sorted lists, not 10,000 names noted one by one and looked up again). */
  private baseline: NodeRecord[] | undefined;

  constructor(
    readonly self: NodeRecord,
    private readonly options: ScreenOptions = {},
  ) {
    this.ctx = screenContext(self, options);
    this.admit = options.admit;
    this.nodes = [self];
  }

  /** How many items it holds. */
  get size(): number {
    return this.entries.size;
  }

  /** The item under `key`'s candidate, if any. */
  candidate(key: string): CandidateRecord | undefined {
    return this.entries.get(key)?.x.c;
  }

  /** Takes these items instead of the ones held, screening them all (in any order: they are sorted). */
  reset(items: readonly ScreenItem[]): void {
    const previous = this.nodes;
    this.entries.clear();
    this.index = new ContenderIndex();
    this.derivers = new Map();
    while (this.queue.size) this.queue.pop();
    const all = items.map((it) => this.entryOf(it));
    all.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    for (const e of all) {
      this.entries.set(e.key, e);
      // In screening order here: appending keeps each list ordered.
      for (const mac of e.derived) {
        const v = this.derivers.get(mac);
        if (v === undefined) this.derivers.set(mac, e);
        else if (Array.isArray(v)) v.push(e);
        else this.derivers.set(mac, [v, e]);
      }
    }
    const contenders = all.filter((e) => e.fixed === undefined);
    this.index.build(contenders);
    const accepted: NodeRecord[] = [this.self];
    this.skipped = [];
    this.warned = [];
    for (const e of all) {
      if (e.fixed === 'own') continue;
      const reason = e.fixed ? e.fixed.reason : this.reasonOf(e);
      if (reason !== undefined) {
        e.skip = skippedOf(e.x, reason);
        this.skipped.push(e);
        continue;
      }
      e.accepted = true;
      e.warning = modeWarning(this.ctx, e.x.rec!);
      if (e.warning !== undefined) this.warned.push(e);
      accepted.push(e.x.rec!);
    }
    this.nodes = accepted.sort(byName);
    // The delta against the list of the last result: nothing changed since it, that list is
    // `previous` (reset replaces this.nodes, never changes it); otherwise every name either
    // list has, changes not yet reported keeping the node they had at the last result.
    if (this.baseline) return;
    if (this.touched.size === 0) {
      this.baseline = previous;
      return;
    }
    for (const n of previous) if (!this.touched.has(n.name)) this.touched.set(n.name, n);
    for (const n of this.nodes) if (!this.touched.has(n.name)) this.touched.set(n.name, undefined);
  }

  /** Adds an item, or replaces the one with its key (a record of the same key moves to its new rank). */
  put(item: ScreenItem): void {
    const old = this.entries.get(item.key);
    if (old && old.x.c === item.candidate && old.rank === item.rank) return;
    if (old) this.removeEntry(old);
    this.addEntry(this.entryOf(item));
  }

  /** Removes the item with this key (nothing when there is none). */
  delete(key: string): void {
    const old = this.entries.get(key);
    if (old) this.removeEntry(old);
  }

  /** The items' keys in screening order (O(n log n): for tests and checks). */
  keys(): string[] {
    return [...this.entries.values()].sort((a, b) => (before(a, b) ? -1 : 1)).map((e) => e.key);
  }

  /**
   * A new source rule (e.g. the rule of another reservation snapshot). `change` says which
   * records its answer may differ for; without it every record that reached the rule is decided again.
   */
  setAdmit(admit: ScreenOptions['admit'], change?: AdmitChange): void {
    this.admit = admit;
    if (!change) {
      for (const e of this.entries.values()) this.queue.push(e);
      return;
    }
    for (const name of change.names) for (const e of this.index.named(name)) this.queue.push(e);
    const out: Entry[] = [];
    for (const net of change.nets) this.index.overlapping(net, rangeOf(net), out);
    for (const e of out) this.queue.push(e);
  }

  /** Decides what the changes since the last result may have changed; the result screenNodes
   * gives for the items held, and how the node list changed since the last result. */
  result(): IncrementalResult {
    while (this.queue.size) {
      const e = this.queue.pop();
      if (e.live) this.decide(e);
    }
    const delta = this.baseline ? listDelta(this.baseline, this.nodes) : this.touchedDelta();
    this.touched = new Map();
    this.baseline = undefined;
    for (const list of [delta.added, delta.removed, delta.changed]) list.sort();
    return { nodes: [...this.nodes], skipped: this.skipped.map((e) => e.skip!), warnings: this.warned.map((e) => e.warning!), delta };
  }

  /** The delta of the names touched since the last result. */
  private touchedDelta(): NodesDelta {
    const delta: NodesDelta = { added: [], removed: [], changed: [] };
    for (const [name, was] of this.touched) {
      const at = nameAt(this.nodes, name);
      const now = this.nodes[at]?.name === name ? this.nodes[at] : undefined;
      if (!was && now) delta.added.push(name);
      else if (was && !now) delta.removed.push(name);
      else if (was && now && !sameNode(was, now)) delta.changed.push(name);
    }
    return delta;
  }

  private entryOf(it: ScreenItem): Entry {
    const x = checkedOf(it.candidate, this.options.cache);
    return { key: it.key, rank: it.rank, x, fixed: fixedVerdict(this.ctx, x), derived: derivedMacsOf(x, this.self), accepted: false, skip: undefined, warning: undefined, queued: false, live: true };
  }

  private ownerOf = (mac: string): string | undefined => {
    const v = this.derivers.get(mac);
    return v === undefined ? undefined : (Array.isArray(v) ? v[0] : v).x.rec!.name;
  };

  /** The holders of `mac` are decided again when the name owning it changed. */
  private ownerChanged(mac: string, was: string | undefined): void {
    if (this.ownerOf(mac) === was) return;
    for (const e of this.index.byMac.get(mac)) this.queue.push(e);
  }

  private addEntry(e: Entry): void {
    this.entries.set(e.key, e);
    for (const mac of e.derived) {
      const was = this.ownerOf(mac);
      const v = this.derivers.get(mac);
      if (v === undefined) this.derivers.set(mac, e);
      else if (Array.isArray(v)) insertOrdered(v, e);
      else this.derivers.set(mac, before(v, e) ? [v, e] : [e, v]);
      this.ownerChanged(mac, was);
    }
    if (e.fixed === undefined) {
      this.index.add(e);
      this.queue.push(e);
    } else if (e.fixed !== 'own') {
      this.setDecision(e, false, e.fixed.reason);
    }
  }

  private removeEntry(e: Entry): void {
    const wasAccepted = e.accepted;
    this.setDecision(e, false, undefined);
    e.live = false;
    this.entries.delete(e.key);
    for (const mac of e.derived) {
      const was = this.ownerOf(mac);
      const v = this.derivers.get(mac)!;
      if (!Array.isArray(v)) this.derivers.delete(mac);
      else {
        v.splice(v.indexOf(e), 1);
        if (v.length === 1) this.derivers.set(mac, v[0]);
      }
      this.ownerChanged(mac, was);
    }
    if (e.fixed !== undefined) return;
    this.index.remove(e);
    if (wasAccepted) this.later(e);
  }

  /** Queues the contenders after `e` that may collide with it (its acceptance changed). */
  private later(e: Entry): void {
    for (const f of this.index.mayCollide(indexedOf(e.x))) if (before(e, f)) this.queue.push(f);
  }

  /** Why contender `e` is skipped, given the decisions of the records before it. */
  private reasonOf(e: Entry): string | undefined {
    const x = e.x;
    const mac = macRule(this.ctx, x, this.ownerOf);
    if (mac !== undefined) return mac;
    // The first accepted record before it (in screening order) that it collides with.
    let first: Entry | undefined;
    let why: string | undefined;
    for (const f of this.index.mayCollide(indexedOf(x))) {
      if (!f.accepted || !before(f, e) || (first && before(first, f))) continue;
      const r = collisionReason(x, f.x);
      if (r !== undefined) {
        first = f;
        why = r;
      }
    }
    if (why !== undefined) return why;
    return this.admit?.(x.rec!, x.c);
  }

  private decide(e: Entry): void {
    const wasAccepted = e.accepted;
    const reason = this.reasonOf(e);
    this.setDecision(e, reason === undefined, reason);
    if (e.accepted !== wasAccepted) this.later(e);
  }

  /** Sets an entry's decision (not accepted and no reason: left out) and the lists it is in. */
  private setDecision(e: Entry, accepted: boolean, reason: string | undefined): void {
    const rec = e.x.rec;
    if (e.accepted !== accepted) {
      const name = rec!.name;
      const at = nameAt(this.nodes, name);
      if (!this.touched.has(name)) this.touched.set(name, this.nodes[at]?.name === name ? this.nodes[at] : undefined);
      if (accepted) this.nodes.splice(at, 0, rec!);
      else {
        // Two accepted records share a name for a moment (the later one is decided next).
        let i = at;
        while (this.nodes[i] !== rec && i < this.nodes.length - 1 && this.nodes[i + 1].name === name) i++;
        this.nodes.splice(i, 1);
      }
      e.accepted = accepted;
    }
    if (reason === undefined) {
      if (e.skip) removeOrdered(this.skipped, e);
      e.skip = undefined;
    } else if (e.skip?.reason !== reason) {
      if (!e.skip) insertOrdered(this.skipped, e);
      e.skip = skippedOf(e.x, reason);
    }
    const warning = accepted ? modeWarning(this.ctx, rec!) : undefined;
    if (warning !== e.warning) {
      if (e.warning === undefined) insertOrdered(this.warned, e);
      else if (warning === undefined) removeOrdered(this.warned, e);
      e.warning = warning;
    }
  }
}
