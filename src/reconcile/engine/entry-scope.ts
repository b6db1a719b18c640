/**
 * Scoped cycles (engine/scope.ts) for the kinds that put entries on a device (neighbours,
 * FDB entries, addresses): an entry's key is "<ifindex> <id>", the key EntryMatcher matches by; the keys
 * a new desired state changes are found by comparing the two lists key by key; some keys are
 * read with targeted requests and decided by the same rule as a whole read (EntryMatcher,
 * diffEntriesAt), so the ops on those keys are the ones a whole read would make.
 */
import type { NetlinkError } from '../../wire/errors';
import { sameFrozen } from '../../values/plain';
import { EntryMatcher, diffEntriesAt, entryKey, type EntryRules, type KernelEntry, type PreparedEntries, type PreparedEntry } from './entries';
import { insertedAt, removedBy, type Edit } from './edits';
import type { EventSettles, KindContext, LinkView, ScopedDiff } from './kind';
import type { ConflictOf, EntryOp } from './ops';

/** A key split back into its device and identity. */
export interface EntryTarget {
  /** Interface index. */
  readonly index: number;
  /** The entry's identity on it (PreparedEntry.id). */
  readonly id: string;
}

function splitKey(key: string): EntryTarget | undefined {
  const sp = key.indexOf(' ');
  const index = Number(key.slice(0, sp));
  return sp > 0 && Number.isInteger(index) ? { index, id: key.slice(sp + 1) } : undefined;
}

/** Positions by key of one desired list in one view: every key (built only when a key not
 * known otherwise is asked: an event on a key no change touched), and the keys a change to
 * this list touched (changedEntryKeys), -1 for a key it no longer has. */
interface KeyMemo {
  readonly view: LinkView;
  all: Map<string, number> | null | undefined;
  readonly touched: Map<string, number>;
}
const keyMemo = new WeakMap<object, KeyMemo>();

function memoOf(desired: object, view: LinkView): KeyMemo {
  let m = keyMemo.get(desired);
  if (m === undefined || m.view !== view) keyMemo.set(desired, (m = { view, all: undefined, touched: new Map() }));
  return m;
}

/**
 * The desired positions by key; null when a key cannot be made for every entry (a device that
 * does not exist yet, two references to one device giving one key twice): the kind is then
 * read whole. One pass over the list, once per list and view.
 */
export function positionsByKey<S, A>(desired: PreparedEntries<S, A>, view: LinkView): Map<string, number> | null {
  const memo = memoOf(desired, view);
  if (memo.all !== undefined) return memo.all;
  let at: Map<string, number> | null = new Map();
  const list = desired.list;
  for (let i = 0; i < list.length; i++) {
    const index = view.index(list[i].dev);
    const key = index === undefined ? undefined : entryKey(index, list[i].id);
    if (key === undefined || at.has(key)) {
      at = null;
      break;
    }
    at.set(key, i);
  }
  memo.all = at;
  return at;
}

/** The desired position on a key, -1 when none; undefined when positionsByKey cannot tell. */
export function positionOf<S, A>(desired: PreparedEntries<S, A>, key: string, view: LinkView): number | undefined {
  const memo = memoOf(desired, view);
  const known = memo.touched.get(key);
  if (known !== undefined) return known;
  const all = positionsByKey(desired, view);
  return all === null ? undefined : (all.get(key) ?? -1);
}

/**
 * ScopedKind.settledBy for entry kinds, of entry `a` on `key` (its eventKey). A new or changed
 * entry settles when a read of the key would settle it (EntryMatcher.offer: considered, on a
 * device neither another owner's nor going away, no difference from the desired entry on the
 * key) and the diff then leave it alone (a desired entry on a link another owner holds is a
 * conflict whatever the kernel has). A deleted one settles its key when nothing is desired
 * there and the kernel keeps one entry per key (`single`): a read would find nothing to plan
 * for. Without `single`, the event speaks for its own entry only, and deletions are read.
 */
export function entrySettles<K extends string, S, A extends KernelEntry>(desired: PreparedEntries<S, A>, key: string, a: A, action: 'new' | 'del', view: LinkView, rules: EntryRules<K, S, A>, single: boolean): EventSettles {
  if (!rules.considered(a) || view.vanishing.has(a.index)) return false;
  const pos = positionOf(desired, key, view);
  if (pos === undefined) return false;
  if (action === 'del') return single && pos < 0 ? 'key' : false;
  if (pos < 0 || view.foreign.has(a.index)) return false;
  const d = desired.list[pos];
  if (view.status(d.dev) === 'foreign' || rules.differences(d.spec, a).length !== 0) return false;
  return single ? 'key' : 'object';
}

/** How far apart (entries skipped in both lists together) two lists may meet again after a
 * difference before the rest is matched as sets instead. */
const RESYNC_WINDOW = 8;

/**
 * The keys whose desired entries differ between prev and next (added, removed, changed);
 * undefined when that cannot be told: a spec not frozen (it may have changed in place), a
 * device that does not exist yet. An unchanged entry is the same frozen spec object handed
 * again (what the overlay does), or an equal frozen copy of it where the walk meets it.
 *
 * A change to a long list is usually a few entries inserted, removed or replaced here and there
 * with the rest in the same order: both lists are walked together comparing object identity,
 * and after a difference they are brought together again at the nearest entry they share
 * (within RESYNC_WINDOW); only when none is near is the rest matched as sets. Keys are made only
 * for what differs. A validated entry spec has only primitive fields, so Object.isFrozen is the
 * whole check that it cannot change.
 */
export function changedEntryKeys<S, A>(prev: PreparedEntries<S, A>, next: PreparedEntries<S, A>, view: LinkView, edits?: readonly Edit[]): string[] | undefined {
  if (prev === next) return [];
  if (edits !== undefined) return editedEntryKeys(prev, next, view, edits);
  const a = prev.list;
  const b = next.list;
  const gone: number[] = []; // positions in a whose entry b does not have (as walked)
  const added: number[] = []; // positions in b whose entry a did not have
  let i = 0;
  let j = 0;
  walk: while (i < a.length && j < b.length) {
    if (a[i].spec === b[j].spec) {
      if (!Object.isFrozen(a[i].spec)) return undefined; // handed again, but perhaps changed in place
      i++;
      j++;
      continue;
    }
    if (sameFrozen(a[i].spec, b[j].spec)) {
      // An equal copy (a caller that makes a few specs anew each time, as the overlay its own addresses).
      i++;
      j++;
      continue;
    }
    // A few entries inserted, removed or replaced here: the nearest point where the lists meet again.
    for (let d = 1; d <= RESYNC_WINDOW; d++) {
      for (let x = 0; x <= d; x++) {
        const y = d - x;
        if (i + x < a.length && j + y < b.length && a[i + x].spec === b[j + y].spec) {
          for (let k = 0; k < x; k++) gone.push(i + k);
          for (let k = 0; k < y; k++) added.push(j + k);
          i += x;
          j += y;
          continue walk;
        }
      }
    }
    break; // no meeting point near: the rest is matched as sets
  }
  if (i < a.length || j < b.length) {
    // Entries handed again elsewhere in the rest are unchanged too.
    const kept = new Set<unknown>();
    for (let k = i; k < a.length; k++) kept.add(a[k].spec);
    const again = new Set<unknown>();
    for (let k = j; k < b.length; k++) {
      const spec = b[k].spec;
      if (!kept.has(spec)) added.push(k);
      else if (!Object.isFrozen(spec)) return undefined;
      else again.add(spec);
    }
    for (let k = i; k < a.length; k++) if (!again.has(a[k].spec)) gone.push(k);
  }
  return keysAt(a, b, gone, added, view, memoOf(next, view).touched);
}

/**
 * changedEntryKeys of a list patched from prev (KindModule.patch): the keys of the entries the
 * edits replaced and put in, and nothing else read. A key whose entry an edit replaced with an
 * equal one (a spec made anew, the same values) is not changed.
 */
function editedEntryKeys<S, A>(prev: PreparedEntries<S, A>, next: PreparedEntries<S, A>, view: LinkView, edits: readonly Edit[]): string[] | undefined {
  const a = prev.list;
  const b = next.list;
  const gone = removedBy(edits);
  const added = insertedAt(edits);
  const touched = memoOf(next, view).touched;
  // An equal spec made anew on a key the edits also took away: the same entry, not a change.
  const was = new Map<string, number>();
  for (const k of gone) {
    const index = view.index(a[k].dev);
    if (index === undefined) return undefined;
    was.set(entryKey(index, a[k].id), k);
  }
  const same: string[] = [];
  for (const k of added) {
    const index = view.index(b[k].dev);
    if (index === undefined) return undefined;
    const key = entryKey(index, b[k].id);
    const old = was.get(key);
    if (old !== undefined && sameFrozen(a[old].spec, b[k].spec)) same.push(key);
  }
  const out = keysAt(a, b, gone, added, view, touched);
  if (out === undefined || same.length === 0) return out;
  const skip = new Set(same);
  return out.filter((key) => !skip.has(key));
}

/** The keys of the entries at `added` in b and `gone` in a (each once), noted in `touched` with
 * their position in b (-1: no longer desired). */
function keysAt<S>(a: readonly PreparedEntry<S>[], b: readonly PreparedEntry<S>[], gone: readonly number[], added: readonly number[], view: LinkView, touched: Map<string, number>): string[] | undefined {
  const out: string[] = [];
  for (const k of added) {
    const index = view.index(b[k].dev);
    if (index === undefined) return undefined;
    const key = entryKey(index, b[k].id);
    touched.set(key, k);
    out.push(key);
  }
  for (const k of gone) {
    const index = view.index(a[k].dev);
    if (index === undefined) return undefined;
    const key = entryKey(index, a[k].id);
    if (!touched.has(key)) {
      touched.set(key, -1); // not desired any more (a key next still has was set above)
      out.push(key);
    }
  }
  return out;
}

/**
 * How a kind reads some keys. A request answers for a group of keys (an FDB MAC's: the device
 * has one remote for it, whatever dst a key names), and may find an entry on any key of its
 * group. At most one desired entry may be in a group (prepare guarantees it where groups are
 * wider than a key); every desired entry of an asked group is decided, as a whole read would.
 */
export interface EntryReader<A> {
  /** The request for a key, with the id of its group; undefined: not readable alone. */
  request(t: EntryTarget, view: LinkView): { id: string; run: EntryTarget } | undefined;
  /** Sends the requests together: each entry, undefined (none), or the kernel's error. */
  read(targets: readonly EntryTarget[]): Promise<Array<A | undefined | NetlinkError>>;
}

/**
 * The desired positions in the asked groups. When every asked key is one the last change of
 * the list touched, the touched keys hold them all: a desired entry in such a group that the
 * change did not touch would share the group with a touched key in this list or the one
 * before, which the one-per-group rule excludes. Otherwise every desired key is looked at
 * (once per list and view: an event on a key no change touched, a repair).
 */
function groupPositions<S, A>(desired: PreparedEntries<S, A>, view: LinkView, asked: ReadonlySet<string>, touchedOnly: boolean, reader: EntryReader<A>): number[] | undefined {
  const memo = memoOf(desired, view);
  const out: number[] = [];
  const from = touchedOnly ? memo.touched : positionsByKey(desired, view);
  if (from === null) return undefined;
  for (const [key, pos] of from) {
    if (pos < 0) continue;
    const t = splitKey(key);
    const req = t === undefined ? undefined : reader.request(t, view);
    if (req !== undefined && asked.has(req.id)) out.push(pos);
  }
  return out;
}

/**
 * Reads only these keys and decides them as a whole read would: the ops and conflicts on them.
 * undefined when it cannot (a key not readable alone, a device gone, a kernel error): the kind
 * is then read whole, which also reports what went wrong.
 */
export async function planEntryKeys<K extends string, S, A extends KernelEntry>(
  desired: PreparedEntries<S, A>,
  keys: ReadonlySet<string>,
  view: LinkView,
  ctx: KindContext,
  rules: EntryRules<K, S, A>,
  reader: EntryReader<A>,
): Promise<ScopedDiff<EntryOp<K, S, A>, ConflictOf<K, S, A>> | undefined> {
  const targets: EntryTarget[] = [];
  const asked = new Set<string>();
  const touched = memoOf(desired, view).touched;
  let touchedOnly = true;
  for (const key of keys) {
    const t = splitKey(key);
    if (t === undefined || !view.byIndex.has(t.index) || view.vanishing.has(t.index)) return undefined;
    const req = reader.request(t, view);
    if (req === undefined) return undefined;
    if (!asked.has(req.id)) {
      asked.add(req.id);
      targets.push(req.run);
    }
    if (!touched.has(key)) touchedOnly = false;
  }
  const positions = groupPositions(desired, view, asked, touchedOnly, reader);
  if (positions === undefined) return undefined;
  const got = await reader.read(targets);
  const m = new EntryMatcher(desired, view, rules);
  m.begin();
  for (const r of got) {
    if (r instanceof Error) return undefined;
    if (r === undefined) continue;
    const pos = positionOf(desired, entryKey(r.index, rules.idOf(r)), view);
    if (pos === undefined) return undefined;
    m.offer(r, pos);
    // In an asked group, so decided above; kept as a check that costs nothing when it holds.
    if (pos >= 0 && !positions.includes(pos)) positions.push(pos);
  }
  return { ...diffEntriesAt(desired, positions, m.left, view, ctx, rules), read: targets.length };
}

/**
 * planEntryKeys() for a kind read device by device (addresses: the kernel has no request for one
 * IPv4 address, and a device holds few): the devices of the keys are read with kernel-filtered
 * dumps and every desired entry on them is decided, as a whole read would decide it.
 */
export async function planEntryDevices<K extends string, S, A extends KernelEntry>(
  desired: PreparedEntries<S, A>,
  keys: ReadonlySet<string>,
  view: LinkView,
  ctx: KindContext,
  rules: EntryRules<K, S, A>,
  read: (index: number) => Promise<A[]>,
): Promise<ScopedDiff<EntryOp<K, S, A>, ConflictOf<K, S, A>> | undefined> {
  const devices = new Set<number>();
  for (const key of keys) {
    const t = splitKey(key);
    if (t === undefined || !view.byIndex.has(t.index) || view.vanishing.has(t.index)) return undefined;
    devices.add(t.index);
  }
  const got: A[] = [];
  // A device gone since is a NetlinkError: the engine then reads the kind whole (scope.ts).
  for (const index of devices) for (const a of await read(index)) got.push(a);
  const m = new EntryMatcher(desired, view, rules);
  m.begin();
  for (const a of got) m.offer(a);
  const positions: number[] = [];
  const list = desired.list;
  for (let i = 0; i < list.length; i++) {
    const index = view.index(list[i].dev);
    if (index !== undefined && devices.has(index)) positions.push(i);
  }
  return { ...diffEntriesAt(desired, positions, m.left, view, ctx, rules), read: devices.size };
}
