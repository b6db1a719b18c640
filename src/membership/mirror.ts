/**
 * The incremental half of EtcdMembership (issue 24): a copy of the keys a membership reads
 * (<root>nodes/, <root>alloc/ and this host's lock key), started from one consistent read and
 * kept current by applying the watch's events one by one, so that a change costs one event, not
 * a read of every record by every agent.
 *
 * The copy keeps what a full read at the same revision would give, in the order it would give
 * it: node records by create_revision (ties by key, as the stable sort of a read in key order),
 * reservations in key order. Unchanged records keep their CandidateRecord object, so a screening
 * with a ScreenCache does not parse or validate them again; and the copy notes which keys its
 * events touched (takeNodeChanges, takeAllocChanges), so that a screening that follows it
 * (mirror-screen.ts) looks at those alone.
 *
 * Pure (no etcd): the events come from the caller; the tests drive it with random sequences
 * against a full read of a model store.
 */
import type { IKeyValue, IResponseHeader } from 'etcd3';
import { parseAllocKeys, allocKeys, type AllocSnapshot, type Reservation } from './allocate';
import { MAX_RECORD_BYTES, type CandidateRecord } from './types';

/** A node record as the screening takes it, from a stored key and value. */
export function candidateOf(kv: IKeyValue, nodesPrefix: string): CandidateRecord {
  return candidateOfText(kv.key.toString(), kv.value.length, kv.value.length > MAX_RECORD_BYTES ? undefined : kv.value.toString(), nodesPrefix);
}

/** candidateOf for a value already decoded (`text`, undefined when it is over MAX_RECORD_BYTES). */
function candidateOfText(key: string, bytes: number, text: string | undefined, nodesPrefix: string): CandidateRecord {
  const name = key.slice(nodesPrefix.length);
  if (text === undefined) return { source: key, value: undefined, expectedName: name, error: `record is ${bytes} bytes, more than ${MAX_RECORD_BYTES}` };
  try {
    return { source: key, value: JSON.parse(text) as unknown, expectedName: name };
  } catch (e) {
    return { source: key, value: undefined, expectedName: name, error: `not JSON (${(e as Error).message})` };
  }
}

/** A record a read could not carry (its value alone exceeds a response). */
export function tooBigCandidate(key: string, nodesPrefix: string): CandidateRecord {
  return { source: key, value: undefined, expectedName: key.slice(nodesPrefix.length), error: 'record is too big to read (more than one etcd response may carry)' };
}

/**
 * One stored node record and its candidate (made once per stored version). What the copy
 * needs of the etcd KeyValue, not the KeyValue itself: at 5,000 records and 10,000
 * reservation keys, the decoded KeyValues (two Buffers, four number strings and a property
 * array each) were ~12 MB of the agent's live heap; this is about a third of that.
 */
export interface NodeEntry {
  key: string;
  /** The key's bytes as a latin1 string (one character per byte): string order is byte order. */
  order: string;
  createRevision: bigint;
  modRevision: string;
  /** The lease the record is stored with ('0': none), for the admit rule. */
  lease: string;
  /** The stored value as text; undefined when it is over MAX_RECORD_BYTES (not decoded). */
  text: string | undefined;
  /** The stored value's length in bytes. */
  bytes: number;
  candidate: CandidateRecord;
}

/** What a key under alloc/ holds, as parseAllocKeys makes it of that key alone (parsed once
 * per stored version; the KeyValue itself is not kept). */
interface AllocEntry {
  /** The key's bytes as latin1 (see NodeEntry.order). */
  order: string;
  /** The guard's mod_revision, when this is the guard. */
  guardMod: string | undefined;
  reservation: Reservation | undefined;
  /** alloc/owner/<name>: the name and the subnet text it names. */
  owner: [string, string] | undefined;
}

/** Node records in the order a full read screens them: create_revision, then key. */
export function orderNodeKvs(kvs: readonly IKeyValue[]): IKeyValue[] {
  return [...kvs].sort((a, b) => {
    const d = BigInt(a.create_revision) - BigInt(b.create_revision);
    return d < 0n ? -1 : d > 0n ? 1 : Buffer.compare(a.key, b.key);
  });
}

/** What a full read hands the mirror: one revision's nodes, reservations and lock. */
export interface MirrorSnapshot {
  nodes: IKeyValue[];
  nodesTooBig: string[];
  alloc: IKeyValue[];
  allocTooBig: string[];
  lock: IKeyValue | undefined;
  header: IResponseHeader;
}

/** A watch event as the etcd client reports it. */
export interface MirrorEvent {
  type: 'put' | 'delete';
  kv: IKeyValue;
}

/** What parseAllocKeys is given for one key (the header is not part of what the mirror keeps of it). */
const EMPTY_HEADER: IResponseHeader = { cluster_id: '0', member_id: '0', revision: '0', raft_term: '0' };

const compareOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Whether a stored value equals what an entry was made from. */
function sameValue(e: NodeEntry, value: Buffer): boolean {
  if (value.length !== e.bytes) return false;
  // Values over MAX_RECORD_BYTES are not kept: same key, revision and length count as the same.
  return e.text === undefined || value.toString() === e.text;
}

const compareEntry = (cr: bigint, order: string, e: NodeEntry): number => (cr < e.createRevision ? -1 : cr > e.createRevision ? 1 : order < e.order ? -1 : order > e.order ? 1 : 0);

/** The keys of one membership, kept current from watch events (see the module doc). */
export class MembershipMirror {
  readonly nodesPrefix: string;
  private readonly allocPrefix: string;
  /** Every event up to this revision is applied (the read's revision, or the last event's). */
  private rev = 0n;
  private header: IResponseHeader | undefined;
  private readonly nodes = new Map<string, NodeEntry>();
  /** The node entries in screening order. */
  private ordered: NodeEntry[] = [];
  private readonly nodesTooBig = new Set<string>();
  private readonly alloc = new Map<string, AllocEntry>();
  /** The keys of `alloc` in key order (as a read returns them). */
  private allocKeysSorted: string[] = [];
  private readonly allocTooBig = new Set<string>();
  private allocCache: AllocSnapshot | undefined;
  private lockKv: IKeyValue | undefined;
  private changed = true;
  /** Node keys changed since the last takeNodeChanges() (with the key as stored), or 'all'
   * after a reset: what a screening that follows the copy must look at again. */
  private nodeChanges: Map<string, Buffer> | 'all' = 'all';
  /** The same for the keys under alloc/. */
  private allocChanges: Map<string, Buffer> | 'all' = 'all';

  constructor(
    private readonly root: string,
    private readonly lockKey: string,
  ) {
    this.nodesPrefix = `${root}nodes/`;
    this.allocPrefix = allocKeys(root).prefix;
  }

  /** The revision the copy is exact at. */
  get revision(): bigint {
    return this.rev;
  }

  /** Starts over from a full read. */
  reset(s: MirrorSnapshot): void {
    this.rev = BigInt(s.header.revision);
    this.header = s.header;
    this.nodes.clear();
    this.ordered = orderNodeKvs(s.nodes).map((kv) => this.entry(kv));
    for (const e of this.ordered) this.nodes.set(e.key, e);
    this.nodesTooBig.clear();
    for (const k of s.nodesTooBig) this.nodesTooBig.add(k);
    this.alloc.clear();
    for (const kv of s.alloc) this.alloc.set(kv.key.toString(), this.allocEntry(kv));
    this.allocKeysSorted = [...this.alloc.keys()].sort((a, b) => compareOrder(this.alloc.get(a)!.order, this.alloc.get(b)!.order));
    this.allocTooBig.clear();
    for (const k of s.allocTooBig) this.allocTooBig.add(k);
    this.allocCache = undefined;
    this.lockKv = s.lock;
    this.changed = true;
    this.nodeChanges = 'all';
    this.allocChanges = 'all';
  }

  private entry(kv: IKeyValue): NodeEntry {
    const key = kv.key.toString();
    const bytes = kv.value.length;
    const text = bytes > MAX_RECORD_BYTES ? undefined : kv.value.toString();
    return { key, order: kv.key.toString('latin1'), createRevision: BigInt(kv.create_revision), modRevision: String(kv.mod_revision), lease: String(kv.lease), text, bytes, candidate: candidateOfText(key, bytes, text, this.nodesPrefix) };
  }

  private allocEntry(kv: IKeyValue): AllocEntry {
    const part = parseAllocKeys([kv], [], this.root, EMPTY_HEADER);
    const owner = part.owners.entries().next();
    return { order: kv.key.toString('latin1'), guardMod: part.guardMod !== '0' ? part.guardMod : undefined, reservation: part.reservations[0], owner: owner.done ? undefined : owner.value };
  }

  /** The position of an entry with this order key (or where it would go). */
  private position(cr: bigint, order: string): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEntry(cr, order, this.ordered[mid]) > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private removeNode(key: string): void {
    const old = this.nodes.get(key);
    if (!old) return;
    this.nodes.delete(key);
    const at = this.position(old.createRevision, old.order);
    if (this.ordered[at] === old) this.ordered.splice(at, 1);
    else this.ordered = this.ordered.filter((e) => e !== old); // not reached: the order is exact
  }

  /**
   * Applies one watch event. Events of revisions the copy already holds are ignored (a resumed
   * watch may repeat the last revision). Returns whether the copy changed.
   */
  apply(ev: MirrorEvent): boolean {
    const mod = BigInt(ev.kv.mod_revision);
    if (mod < this.rev) return false;
    this.rev = mod;
    const key = ev.kv.key.toString();
    if (key.startsWith(this.nodesPrefix)) {
      if (this.nodeChanges !== 'all') this.nodeChanges.set(key, ev.kv.key);
      this.nodesTooBig.delete(key);
      const old = this.nodes.get(key);
      if (ev.type === 'delete') {
        this.removeNode(key);
      } else if (old && old.createRevision === BigInt(ev.kv.create_revision)) {
        if (old.modRevision === String(ev.kv.mod_revision) && sameValue(old, ev.kv.value)) return false;
        const e = this.entry(ev.kv);
        this.nodes.set(key, e);
        this.ordered[this.position(e.createRevision, e.order)] = e;
      } else {
        this.removeNode(key);
        const e = this.entry(ev.kv);
        this.nodes.set(key, e);
        this.ordered.splice(this.position(e.createRevision, e.order), 0, e);
      }
    } else if (key.startsWith(this.allocPrefix)) {
      if (this.allocChanges !== 'all') this.allocChanges.set(key, ev.kv.key);
      this.allocTooBig.delete(key);
      const had = this.alloc.has(key);
      if (ev.type === 'delete') {
        if (!had) return false;
        this.allocKeysSorted.splice(this.allocAt(this.alloc.get(key)!.order), 1); // looks the entries up: before the delete
        this.alloc.delete(key);
      } else {
        const e = this.allocEntry(ev.kv);
        this.alloc.set(key, e);
        if (!had) this.allocKeysSorted.splice(this.allocAt(e.order), 0, key);
      }
      this.allocCache = undefined;
    } else if (key === this.lockKey) {
      this.lockKv = ev.type === 'delete' ? undefined : ev.kv;
    } else return false;
    this.changed = true;
    return true;
  }

  private allocAt(order: string): number {
    let lo = 0;
    let hi = this.allocKeysSorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.alloc.get(this.allocKeysSorted[mid])!.order < order) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Whether anything changed since the last takeChanged(). */
  takeChanged(): boolean {
    const c = this.changed;
    this.changed = false;
    return c;
  }

  /**
   * The node keys put or deleted since the last call (each with its key as stored; the copy
   * holds what they are now), or 'all' when the copy was reset since: a screening that follows
   * the copy looks at these instead of walking every record.
   */
  takeNodeChanges(): ReadonlyMap<string, Buffer> | 'all' {
    const c = this.nodeChanges;
    this.nodeChanges = new Map();
    return c;
  }

  /** The same for the keys under alloc/ (see reservationAt). */
  takeAllocChanges(): ReadonlyMap<string, Buffer> | 'all' {
    const c = this.allocChanges;
    this.allocChanges = new Map();
    return c;
  }

  /** The reservation the key under alloc/ stored as `key` makes (the same object while the key
   * keeps its version), if any. */
  reservationAt(key: string): Reservation | undefined {
    return this.alloc.get(key)?.reservation;
  }

  /** The reservations of a key too big to read (`key` as listed by the read), if any. */
  tooBigReservation(key: string): Reservation | undefined {
    return this.allocTooBig.has(key) ? parseAllocKeys([], [key], this.root, this.header!).reservations[0] : undefined;
  }

  /** The keys under alloc/ too big to read, in the order a snapshot lists them. */
  tooBigAllocKeys(): string[] {
    return [...this.allocTooBig].sort();
  }

  /** The keys under alloc/ that hold a value, in key order: each as a string (for
   * reservationAt) and its bytes as latin1 (whose string order is the key order). */
  *allocKeyOrder(): IterableIterator<[key: string, order: string]> {
    for (const k of this.allocKeysSorted) yield [k, this.alloc.get(k)!.order];
  }

  /** The node record stored under `key` (not one too big to read). */
  node(key: string): NodeEntry | undefined {
    return this.nodes.get(key);
  }

  /** Whether a record is stored under `key` (readable or too big to read). */
  hasNode(key: string): boolean {
    return this.nodes.has(key) || this.nodesTooBig.has(key);
  }

  /** The node records in screening order, then the ones too big to read (as a full read lists them). */
  nodeEntries(): readonly NodeEntry[] {
    return this.ordered;
  }

  /** Keys under nodes/ whose value could not be read. */
  tooBigNodes(): string[] {
    return [...this.nodesTooBig].sort();
  }

  /** The reservations as parseAllocKeys gives them for a read at this revision (each key is
   * parsed once per stored version, then the snapshot is put together in key order). */
  allocSnapshot(): AllocSnapshot {
    if (this.allocCache) return this.allocCache;
    const header = { ...this.header!, revision: String(this.rev) };
    const snap: AllocSnapshot = { guardMod: '0', reservations: [], owners: new Map(), header };
    for (const k of this.allocKeysSorted) {
      const e = this.alloc.get(k)!;
      if (e.guardMod !== undefined) snap.guardMod = e.guardMod;
      if (e.reservation) snap.reservations.push(e.reservation);
      if (e.owner) snap.owners.set(e.owner[0], e.owner[1]);
    }
    const tooBig = parseAllocKeys([], [...this.allocTooBig].sort(), this.root, header);
    snap.reservations.push(...tooBig.reservations);
    this.allocCache = snap;
    return snap;
  }

  /** This host's name lock as stored. */
  get lock(): IKeyValue | undefined {
    return this.lockKv;
  }

  /** How many keys a count of nodes/ and of alloc/ at `revision` must find. */
  counts(): { nodes: number; alloc: number } {
    return { nodes: this.nodes.size + this.nodesTooBig.size, alloc: this.alloc.size + this.allocTooBig.size };
  }
}
