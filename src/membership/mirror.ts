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
  const key = kv.key.toString();
  const name = key.slice(nodesPrefix.length);
  if (kv.value.length > MAX_RECORD_BYTES) return { source: key, value: undefined, expectedName: name, error: `record is ${kv.value.length} bytes, more than ${MAX_RECORD_BYTES}` };
  try {
    return { source: key, value: JSON.parse(kv.value.toString()) as unknown, expectedName: name };
  } catch (e) {
    return { source: key, value: undefined, expectedName: name, error: `not JSON (${(e as Error).message})` };
  }
}

/** A record a read could not carry (its value alone exceeds a response). */
export function tooBigCandidate(key: string, nodesPrefix: string): CandidateRecord {
  return { source: key, value: undefined, expectedName: key.slice(nodesPrefix.length), error: 'record is too big to read (more than one etcd response may carry)' };
}

/** One stored node record and its candidate (made once per stored version). */
export interface NodeEntry {
  key: string;
  kv: IKeyValue;
  createRevision: bigint;
  candidate: CandidateRecord;
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

const compareEntry = (cr: bigint, key: Buffer, e: NodeEntry): number => (cr < e.createRevision ? -1 : cr > e.createRevision ? 1 : Buffer.compare(key, e.kv.key));

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
  private readonly alloc = new Map<string, IKeyValue>();
  /** Alloc keys in key order (as a read returns them). */
  private allocKeysSorted: Buffer[] = [];
  private readonly allocTooBig = new Set<string>();
  private allocCache: AllocSnapshot | undefined;
  /** What parseAllocKeys makes of each stored version of an alloc key. */
  private readonly allocParts = new WeakMap<IKeyValue, AllocSnapshot>();
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
    for (const kv of s.alloc) this.alloc.set(kv.key.toString(), kv);
    this.allocKeysSorted = [...s.alloc.map((kv) => kv.key)].sort(Buffer.compare);
    this.allocTooBig.clear();
    for (const k of s.allocTooBig) this.allocTooBig.add(k);
    this.allocCache = undefined;
    this.lockKv = s.lock;
    this.changed = true;
    this.nodeChanges = 'all';
    this.allocChanges = 'all';
  }

  private entry(kv: IKeyValue): NodeEntry {
    return { key: kv.key.toString(), kv, createRevision: BigInt(kv.create_revision), candidate: candidateOf(kv, this.nodesPrefix) };
  }

  /** The position of an entry with this order key (or where it would go). */
  private position(cr: bigint, key: Buffer): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEntry(cr, key, this.ordered[mid]) > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private removeNode(key: string): void {
    const old = this.nodes.get(key);
    if (!old) return;
    this.nodes.delete(key);
    const at = this.position(old.createRevision, old.kv.key);
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
        if (old.kv.mod_revision === ev.kv.mod_revision && old.kv.value.equals(ev.kv.value)) return false;
        const e = this.entry(ev.kv);
        this.nodes.set(key, e);
        this.ordered[this.position(e.createRevision, e.kv.key)] = e;
      } else {
        this.removeNode(key);
        const e = this.entry(ev.kv);
        this.nodes.set(key, e);
        this.ordered.splice(this.position(e.createRevision, e.kv.key), 0, e);
      }
    } else if (key.startsWith(this.allocPrefix)) {
      if (this.allocChanges !== 'all') this.allocChanges.set(key, ev.kv.key);
      this.allocTooBig.delete(key);
      const had = this.alloc.has(key);
      if (ev.type === 'delete') {
        if (!had) return false;
        this.alloc.delete(key);
        const at = this.allocAt(ev.kv.key);
        this.allocKeysSorted.splice(at, 1);
      } else {
        this.alloc.set(key, ev.kv);
        if (!had) this.allocKeysSorted.splice(this.allocAt(ev.kv.key), 0, ev.kv.key);
      }
      this.allocCache = undefined;
    } else if (key === this.lockKey) {
      this.lockKv = ev.type === 'delete' ? undefined : ev.kv;
    } else return false;
    this.changed = true;
    return true;
  }

  private allocAt(key: Buffer): number {
    let lo = 0;
    let hi = this.allocKeysSorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare(this.allocKeysSorted[mid], key) < 0) lo = mid + 1;
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
    const kv = this.alloc.get(key);
    return kv ? this.partOf(kv).reservations[0] : undefined;
  }

  /** The reservations of a key too big to read (`key` as listed by the read), if any. */
  tooBigReservation(key: string): Reservation | undefined {
    return this.allocTooBig.has(key) ? parseAllocKeys([], [key], this.root, this.header!).reservations[0] : undefined;
  }

  /** The keys under alloc/ too big to read, in the order a snapshot lists them. */
  tooBigAllocKeys(): string[] {
    return [...this.allocTooBig].sort();
  }

  /** The keys under alloc/ that hold a value, in key order (as stored). */
  allocKeyBytes(): readonly Buffer[] {
    return this.allocKeysSorted;
  }

  private partOf(kv: IKeyValue): AllocSnapshot {
    let part = this.allocParts.get(kv);
    if (!part) this.allocParts.set(kv, (part = parseAllocKeys([kv], [], this.root, this.header!)));
    return part;
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
      const part = this.partOf(this.alloc.get(k.toString())!);
      if (part.guardMod !== '0') snap.guardMod = part.guardMod;
      snap.reservations.push(...part.reservations);
      for (const [name, v] of part.owners) snap.owners.set(name, v);
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
