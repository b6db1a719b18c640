/**
 * What the kinds that put entries on a device share (addresses, neighbours, FDB entries): the
 * read of the devices that matter, the match of what the kernel has against the desired
 * entries, and the ownership rule by device.
 *
 * Ownership: such an entry carries no owner mark of its own; it belongs to whoever owns its
 * device. On a link this reconciler owns, every entry the kind manages is its own: missing ones
 * are added, different ones changed, undesired ones removed. On a desired link another owner
 * holds, nothing is touched: every desired entry there is a conflict. On a device nobody's
 * desired state names (an underlay), missing entries are added, entries the kernel learned are
 * replaced, but an entry someone placed there (a permanent neighbour, an address) that differs
 * on a desired key is a conflict, left alone unless adoptConflicts; nothing there is removed.
 */
import { constants as osConstants } from 'node:os';
import { NetlinkError } from '../../wire/errors';
import type { DeviceRef } from '../../rtnl/types';
import type { KindContext, KindDiff, LinkView } from './kind';
import type { ConflictOf, EntryOp } from './ops';
import { FoundMarks } from './settle';

/** The key of an entry on a device: its interface index and its identity there (EntryMatcher's,
 * and the scoped cycles' key, engine/entry-scope.ts). */
export function entryKey(index: number, id: string): string {
  return `${index} ${id}`;
}

/** A desired entry once validated: its spec, its device and its identity on that device. */
export interface PreparedEntry<S> {
  /** The spec as given. */
  readonly spec: S;
  /** The device it goes on. */
  readonly dev: DeviceRef;
  /** Its identity on the device, canonical: equal to EntryRules.idOf() of the entry the kernel reports. */
  readonly id: string;
  /** Its identity for a person ("0a:58:c0:a8:0b:00 dst 10.57.4.21"). */
  readonly label: string;
}

/** The desired entries of one kind. */
export interface PreparedEntries<S, A> {
  /** In the order given. */
  readonly list: PreparedEntry<S>[];
  /** What the current read found of them. */
  readonly marks: FoundMarks<A>;
  /** The devices they name (kernel events on them matter). */
  readonly devs: ReadonlySet<DeviceRef>;
}

/** Makes the prepared form of a validated list; `devs`: the devices its entries name, when the caller has collected them already. */
export function preparedEntries<S, A>(list: PreparedEntry<S>[], devs?: ReadonlySet<DeviceRef>): PreparedEntries<S, A> {
  if (devs === undefined) {
    const all = new Set<DeviceRef>();
    for (const e of list) all.add(e.dev);
    devs = all;
  }
  return { list, marks: new FoundMarks<A>(list.length), devs };
}

/** What the kernel reports: an entry on a device (by index). */
export interface KernelEntry {
  /** Interface index. */
  readonly index: number;
}

/** The rules of one entry kind. */
export interface EntryRules<K extends string, S, A extends KernelEntry> {
  /** The kind's name. */
  readonly kind: K;
  /** The identity on its device of an entry the kernel reports (as PreparedEntry.id). */
  idOf(a: A): string;
  /** Its identity for a person (as PreparedEntry.label). */
  labelOf(a: A): string;
  /** Whether the kind manages such an entry at all; others (learned FDB entries, proxy
   * neighbours) are never compared, changed or removed. */
  considered(a: A): boolean;
  /** What differs, for a person ("lladdr a -> b"); empty when equal. */
  differences(d: S, a: A): string[];
  /** Whether an undesired entry on an owned link is removed (e.g. not an IPv6 link-local address). */
  removable(a: A, view: LinkView): boolean;
  /** Whether someone placed the entry (rather than the kernel learning it): on a device nobody
   * owns, a placed entry that differs on a desired key is a conflict. */
  placed(a: A): boolean;
}

/** Kernel-filtered dumps per device up to this many devices; one dump of everything above. */
const PER_DEVICE_DUMPS = 4;

/**
 * The devices whose entries a kind reads: the links it owns that stay, and the existing
 * devices desired entries are on. Vanishing links are left out: what is on them goes anyway.
 */
export function devicesToRead<S>(desired: readonly PreparedEntry<S>[], view: LinkView, owned = true): Set<number> {
  const out = new Set<number>();
  if (owned) for (const i of view.owned) if (!view.vanishing.has(i)) out.add(i);
  for (const d of desired) {
    const i = view.index(d.dev);
    if (i !== undefined && !view.vanishing.has(i)) out.add(i);
  }
  return out;
}

/**
 * Reads the entries on the given devices, filtered by the kernel: one dump per device when
 * they are few, else one dump of all filtered here. A device that went away since the links
 * were read has no entries (the next cycle sees it gone).
 */
export async function readOnDevices<A extends KernelEntry>(devices: ReadonlySet<number>, perDevice: (index: number) => Promise<A[]>, all: () => Promise<A[]>): Promise<A[]> {
  if (devices.size === 0) return [];
  if (devices.size > PER_DEVICE_DUMPS) return (await all()).filter((a) => devices.has(a.index));
  const out: A[] = [];
  for (const index of devices) {
    try {
      for (const a of await perDevice(index)) out.push(a);
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === 'ENODEV')) throw e;
    }
  }
  return out;
}

/**
 * Whether entry kinds settle their steady state on the numbers of their dumps (the default).
 * Off, they decode every entry and match it by key string: the general path, which the fast
 * one must agree with exactly (the tests compare the two). Not part of the public API.
 */
let fastReads = true;

/** Turns the fast reads of entry kinds off or on (tests: the general path as an oracle). */
export function setFastEntryReads(on: boolean): void {
  fastReads = on;
}

/** Whether entry kinds read on the numbers of their dumps. */
export function fastEntryReads(): boolean {
  return fastReads;
}

/**
 * Matches what the kernel has against the desired entries (engine/settle.ts), one entry at a
 * time: an equal entry settles its desired position, a different one is kept for the diff;
 * entries on no desired key (or a second on one) are kept as leftovers. The fast reads settle
 * the common case on numbers and offer only the rest here, decoded, with the position they
 * already looked up; so both paths decide every entry by this one rule.
 */
export class EntryMatcher<K extends string, S, A extends KernelEntry> {
  /** Entries on no desired key, or a second one on a key. */
  left: A[] = [];
  private at: Map<string, number> | undefined;

  constructor(
    private readonly desired: PreparedEntries<S, A>,
    private readonly view: LinkView,
    private readonly rules: EntryRules<K, S, A>,
  ) {}

  /** Starts a read (or starts it over): nothing found, nothing left over. */
  begin(): void {
    this.desired.marks.begin();
    this.left = [];
  }

  /**
   * One entry the kernel has. pos: the desired position on its key when the caller looked it
   * up (-1: none); without it, it is looked up here by key string.
   */
  offer(a: A, pos?: number): void {
    const { rules, view } = this;
    if (!rules.considered(a) || view.vanishing.has(a.index)) return;
    const i = pos ?? this.position(a);
    const marks = this.desired.marks;
    if (i < 0) this.left.push(a);
    else if (!view.foreign.has(a.index) && rules.differences(this.desired.list[i].spec, a).length === 0) {
      if (!marks.settle(i)) this.left.push(a);
    } else if (!marks.take(i, a)) this.left.push(a);
  }

  private position(a: A): number {
    if (this.at === undefined) {
      this.at = new Map();
      const list = this.desired.list;
      for (let i = 0; i < list.length; i++) {
        const index = this.view.index(list[i].dev);
        if (index !== undefined) this.at.set(entryKey(index, list[i].id), i);
      }
    }
    return this.at.get(entryKey(a.index, this.rules.idOf(a))) ?? -1;
  }
}

/** The general path: every entry decoded, matched by key string (see EntryMatcher). */
export function matchEntries<K extends string, S, A extends KernelEntry>(desired: PreparedEntries<S, A>, actual: readonly A[], view: LinkView, rules: EntryRules<K, S, A>): A[] {
  const m = new EntryMatcher(desired, view, rules);
  m.begin();
  for (const a of actual) m.offer(a);
  return m.left;
}

/**
 * The distinct devices desired entries name, each numbered (its slot): typed keys of desired
 * entries carry the slot, and a read maps each kernel interface index to one.
 */
export class DeviceSlots {
  private readonly refs: DeviceRef[] = [];
  private readonly slots = new Map<DeviceRef, number>();

  /** The slot of a device reference (a new one for a reference not seen before). */
  slotOf(ref: DeviceRef): number {
    let s = this.slots.get(ref);
    if (s === undefined) {
      s = this.refs.length;
      this.refs.push(ref);
      this.slots.set(ref, s);
    }
    return s;
  }

  /** Each of this one's slots as a slot of `other` (Int32Array by slot); undefined when other
   * has no slot for one of its devices. */
  slotsIn(other: DeviceSlots): Int32Array | undefined {
    const out = new Int32Array(this.refs.length);
    for (let s = 0; s < this.refs.length; s++) {
      const t = other.slots.get(this.refs[s]);
      if (t === undefined) return undefined;
      out[s] = t;
    }
    return out;
  }

  /**
   * Interface index -> slot in this view, for the devices that exist; undefined when two
   * references name one device (a name and its index): then the general path decides, which
   * matches such entries by key string.
   */
  resolve(view: LinkView): Map<number, number> | undefined {
    const out = new Map<number, number>();
    for (let s = 0; s < this.refs.length; s++) {
      const index = view.index(this.refs[s]);
      if (index === undefined) continue;
      if (out.has(index)) return undefined;
      out.set(index, s);
    }
    return out;
  }
}

/** Times a read of several dumps starts over when one is interrupted before giving up. */
const MAX_READ_RESTARTS = 5;

/**
 * The fast reads' dumps: one per device (or, with all, one of everything when the devices are
 * more than a few), begin() called first and whenever a dump restarts. A restart forgets what
 * earlier devices' dumps settled too, so then every device is read again. A device that went
 * away since the links were read has no entries when missingOk (the next cycle sees it gone).
 */
export async function scanDevices(
  devices: ReadonlySet<number>,
  opts: { all: boolean; missingOk: boolean; what: string },
  begin: () => void,
  scan: (index: number, onRestart: () => void) => Promise<unknown>,
): Promise<void> {
  begin();
  if (devices.size === 0) return;
  const list = opts.all && devices.size > PER_DEVICE_DUMPS ? [0] : [...devices];
  for (let attempt = 0; ; attempt++) {
    let redo = false;
    for (let k = 0; k < list.length; k++) {
      const onRestart = (): void => {
        begin();
        if (k > 0) redo = true;
      };
      try {
        await scan(list[k], onRestart);
      } catch (e) {
        if (!(opts.missingOk && e instanceof NetlinkError && e.code === 'ENODEV')) throw e;
      }
    }
    if (!redo) return;
    if (attempt >= MAX_READ_RESTARTS) {
      throw new NetlinkError(osConstants.errno.EINTR, {}, opts.what, `the read was interrupted by concurrent changes ${attempt + 1} times (NLM_F_DUMP_INTR); giving up`);
    }
    begin();
  }
}

/** Desired entries against the matched read: ops and conflicts, by the ownership rule above. */
export function diffEntries<K extends string, S, A extends KernelEntry>(
  desired: PreparedEntries<S, A>,
  leftovers: readonly A[],
  view: LinkView,
  ctx: KindContext,
  rules: EntryRules<K, S, A>,
): KindDiff<EntryOp<K, S, A>, ConflictOf<K, S, A>> {
  return diffEntriesAt(desired, undefined, leftovers, view, ctx, rules);
}

/**
 * diffEntries() for some desired positions only (a scoped read: the keys it read), or all of
 * them (positions undefined). The same rule decides each position either way.
 */
export function diffEntriesAt<K extends string, S, A extends KernelEntry>(
  desired: PreparedEntries<S, A>,
  positions: readonly number[] | undefined,
  leftovers: readonly A[],
  view: LinkView,
  ctx: KindContext,
  rules: EntryRules<K, S, A>,
): KindDiff<EntryOp<K, S, A>, ConflictOf<K, S, A>> {
  const ops: EntryOp<K, S, A>[] = [];
  const conflicts: ConflictOf<K, S, A>[] = [];
  const kind = rules.kind;
  const { list, marks } = desired;
  const n = positions === undefined ? list.length : positions.length;
  for (let k = 0; k < n; k++) {
    const i = positions === undefined ? k : positions[k];
    const d = list[i];
    const status = view.status(d.dev);
    const have = marks.actual(i);
    if (status !== 'foreign' && marks.found(i) && have === undefined) continue; // settled equal by the read
    const key = `${view.name(d.dev)} ${d.label}`;
    if (status === 'foreign') {
      // Not adopted (an adopted link is owned in this plan): nothing on it is touched.
      conflicts.push({ kind, key, reason: `on ${view.name(d.dev)}, a link another owner holds`, desired: d.spec, actual: have });
      continue;
    }
    if (have === undefined) {
      ops.push({ kind, action: 'create', key, reason: 'missing', desired: d.spec });
      continue;
    }
    const diffs = rules.differences(d.spec, have);
    if (diffs.length === 0) continue;
    if (status === 'unmanaged' && rules.placed(have)) {
      if (!ctx.adoptConflicts) {
        conflicts.push({ kind, key, reason: `held by an entry this reconciler did not make on ${view.name(d.dev)}, a link it does not own (${diffs.join(', ')})`, desired: d.spec, actual: have });
        continue;
      }
      ops.push({ kind, action: 'update', key, reason: `adopt, ${diffs.join(', ')}`, desired: d.spec, actual: have, adopt: true });
      continue;
    }
    ops.push({ kind, action: 'update', key, reason: diffs.join(', '), desired: d.spec, actual: have });
  }
  for (const a of leftovers) {
    if (!view.owned.has(a.index) || !rules.removable(a, view)) continue;
    ops.push({ kind, action: 'delete', key: `${view.name(a.index)} ${rules.labelOf(a)}`, reason: `not desired on ${view.name(a.index)}, a link this reconciler owns`, actual: a });
  }
  return { ops, conflicts };
}
