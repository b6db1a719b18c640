/**
 * The neighbour kind: ARP/NDP entries keyed by (device, ip), owned by whoever owns their
 * device (engine/entries.ts); on owned links only permanent entries are removed (the others are
 * the kernel's cache). Read with kernel-filtered dumps of the devices that matter.
 */
import { NUD_NOARP, NUD_PERMANENT } from '../../../rtnl/constants';
import { validateNeighborSpec } from '../../../rtnl/neighbor';
import { QuickNeighbor } from '../../../rtnl/neighbor/quick';
import type { Neighbor, NeighborSpec } from '../../../rtnl/types';
import { parseAddress } from '../../../values/address';
import { parseIPv4 } from '../../../values/ip';
import { canonicalMac } from '../../../values/mac';
import { isFrozenFlat } from '../../../values/plain';
import type { Problems } from '../../../values/problems';
import { patchList, type Edit } from '../../engine/edits';
import { prepareInserted } from '../../engine/patch';
import { devicesToRead, diffEntries, entryKey, fastEntryReads, matchEntries, preparedEntries, readOnDevices, type EntryRules, type PreparedEntry } from '../../engine/entries';
import { changedEntryKeys, planEntryKeys, entrySettles, type EntryReader } from '../../engine/entry-scope';
import type { KindModule, LinkView, PrepareContext, ScopedKind } from '../../engine/kind';
import type { Rtnl } from '../../../rtnl/rtnl';
import { collect } from '../../engine/outcome';
import { NeighborKeys, scanNeighbors, type NeighborWords, type PreparedNeighbors } from './fast';
import type { NeighborConflict, NeighborOp } from './types';

/** The neighbour kind's rules for the shared entry logic. */
export const NEIGHBOR_RULES: EntryRules<'neighbor', NeighborSpec, Neighbor> = {
  kind: 'neighbor',
  idOf: (n) => n.ip,
  labelOf: (n) => n.ip,
  considered: (n) => !n.proxy,
  // The fast read (fast.ts, NeighborKeys.settles) decides these same fields on numbers: a
  // field compared here must be compared there too.
  differences(d, n) {
    const out: string[] = [];
    // Most specs spell the MAC as the kernel does: compare canonical text only when they differ.
    if (d.lladdr !== undefined && d.lladdr !== n.lladdr) {
      const lladdr = canonicalMac(d.lladdr) ?? d.lladdr;
      if (lladdr !== n.lladdr) out.push(`lladdr ${n.lladdr ?? '(none)'} -> ${lladdr}`);
    }
    const state = d.state ?? 'permanent';
    if (!n.states.includes(state)) out.push(`state ${n.states.join('|')} -> ${state}`);
    return out;
  },
  removable: (n) => (n.state & NUD_PERMANENT) !== 0,
  // Permanent and noarp entries were put there; the others the kernel resolved.
  placed: (n) => (n.state & (NUD_PERMANENT | NUD_NOARP)) !== 0,
};

function isNeighborSpec(p: Problems, path: string, x: unknown): x is NeighborSpec {
  return validateNeighborSpec(p, path, x);
}

/**
 * What prepare made of a frozen spec it accepted: its entry and its numbers. A validated
 * neighbour spec holds only primitives, so a frozen one can never change: when the same object
 * comes again (an overlay hands the same specs for its unchanged nodes, 5,000 at every change)
 * it is not checked or parsed again, and its entry is the same object (none made per change).
 */
interface NeighborMemo {
  readonly entry: PreparedEntry<NeighborSpec>;
  readonly words: NeighborWords;
}
const neighborMemo = new WeakMap<object, NeighborMemo>();

/**
 * Validates the desired neighbours: canonical ip, no key twice. 10k entries a cycle: the common
 * spec is checked and read as numbers in one pass (QuickNeighbor), and no text (a path, a
 * key) is made for an entry unless a message needs it.
 */
function prepareNeighbors(p: Problems, given: readonly unknown[], ctx: PrepareContext): PreparedNeighbors {
  // Sized once and filled by index (cut to length at the end): grown by push, a copy per growth.
  const list: PreparedEntry<NeighborSpec>[] = new Array(given.length);
  let count = 0;
  const keys = new NeighborKeys(given.length);
  /** The index in given of each desired position (for the message naming a duplicate). */
  const from = new Int32Array(given.length);
  const referenced = new Set<NeighborSpec['dev']>(); // 10k entries name one device: checked once
  const okDevs = new Set<string>(); // device names the full check accepted (QuickNeighbor)
  const q = QUICK;
  let lastDev: NeighborSpec['dev'] | undefined;
  let lastSlot = -1;
  let lastNewDevice = -1;
  for (let i = 0; i < given.length; i++) {
    const spec = given[i];
    if (spec === undefined && !(i in given)) continue; // a hole: skipped, as forEach() did
    let text: string;
    let had: number;
    const memo = typeof spec === 'object' && spec !== null ? neighborMemo.get(spec) : undefined;
    if (memo !== undefined) {
      const entry = memo.entry;
      if (entry.dev !== lastDev) {
        lastDev = entry.dev;
        lastSlot = keys.devs.slotOf(entry.dev);
      }
      had = keys.addMemo(count, lastSlot, memo.words);
      if (had >= 0) {
        p.add(`neighbors[${i}]`, `neighbour ${entry.id} on ${entry.dev} is already desired at neighbors[${from[had]}]`);
        continue;
      }
      from[count] = i;
      if (!referenced.has(entry.dev)) {
        referenced.add(entry.dev);
        ctx.references.push({ path: `neighbors[${i}].dev`, dev: entry.dev });
        lastNewDevice = count;
      }
      list[count++] = entry;
      continue;
    }
    if (q.read(spec, okDevs)) {
      // An IPv4 literal that parses is canonical text already: no parsed object made for it.
      text = spec.ip;
      const dev = spec.dev as string; // a name: okDevs holds names
      if (dev !== lastDev) {
        lastDev = dev;
        lastSlot = keys.devs.slotOf(dev);
      }
      had = keys.addQuick(count, lastSlot, q);
    } else {
      const path = `neighbors[${i}]`;
      if (!isNeighborSpec(p, path, spec)) continue;
      if (typeof spec.dev === 'string') okDevs.add(spec.dev);
      const v4 = parseIPv4(spec.ip);
      if (v4 >= 0) {
        text = spec.ip;
        had = keys.add(count, spec, 4, v4 | 0, 0, 0, 0);
      } else {
        const ip = parseAddress(p, `${path}.ip`, spec.ip);
        if (!ip) continue;
        text = ip.text;
        const b = ip.bytes;
        had = keys.add(count, spec, 16, b.readInt32BE(0), b.readInt32BE(4), b.readInt32BE(8), b.readInt32BE(12));
      }
    }
    if (had >= 0) {
      p.add(`neighbors[${i}]`, `neighbour ${text} on ${spec.dev} is already desired at neighbors[${from[had]}]`);
      continue;
    }
    const entry: PreparedEntry<NeighborSpec> = { spec, dev: spec.dev, id: text, label: text };
    if (Object.isFrozen(spec)) neighborMemo.set(spec, { entry, words: keys.memoAt(count) });
    from[count] = i;
    if (!referenced.has(spec.dev)) {
      referenced.add(spec.dev);
      ctx.references.push({ path: `neighbors[${i}].dev`, dev: spec.dev });
      lastNewDevice = count;
    }
    list[count++] = entry;
  }
  list.length = count;
  // referenced is their devices already: no second pass over 10k entries for them.
  return { ...preparedEntries<NeighborSpec, Neighbor>(list, referenced), keys, lastNewDevice };
}

/**
 * KindModule.patch: the list before with the edits' entries, made from before's keys and
 * entries and a prepare of the inserted entries alone (prepareInserted says when it can be),
 * unless a key repeats; otherwise undefined (prepared whole, which reports what is wrong with
 * the paths of the whole list).
 */
function patchNeighbors(before: PreparedNeighbors, edits: readonly Edit[], given: readonly unknown[], ctx: PrepareContext): PreparedNeighbors | undefined {
  const ready = prepareInserted(before, edits, given, ctx, prepareNeighbors);
  if (ready === undefined) return undefined;
  const { inserted, count } = ready;
  const keys = NeighborKeys.patched(before.keys, inserted.keys, edits, before.list.length, count);
  if (keys === undefined) return undefined;
  const list = patchList(before.list, inserted.list, edits, count);
  return { ...preparedEntries<NeighborSpec, Neighbor>(list, before.devs), keys, lastNewDevice: before.lastNewDevice };
}

/** prepare()'s reader of the common spec (prepare runs to the end without yielding). */
const QUICK = new QuickNeighbor();

/**
 * devicesToRead() from the desired devices' slots (index -> slot, in the order the entries
 * first name them) rather than from 10k entries: the links owned that stay, then the desired
 * devices that exist and stay, in that order.
 */
function devicesOf(slots: ReadonlyMap<number, number>, view: LinkView): Set<number> {
  const out = new Set<number>();
  for (const i of view.owned) if (!view.vanishing.has(i)) out.add(i);
  for (const i of slots.keys()) if (!view.vanishing.has(i)) out.add(i);
  return out;
}

/** Desired specs passed prepare's validation: the batch does not check them again. */
const VALIDATED = { validated: true };

/** The types the neighbour kind works with. */
export interface NeighborTypes {
  kind: 'neighbor';
  field: 'neighbors';
  prepared: PreparedNeighbors;
  observed: Neighbor[];
  op: NeighborOp;
  conflict: NeighborConflict;
  event: 'neighbor';
}

/** A neighbour is read alone by its device and address (RTM_GETNEIGH): exact, one entry a key. */
function neighborReader(nl: Rtnl): EntryReader<Neighbor> {
  return {
    request: (t) => ({ id: entryKey(t.index, t.id), run: t }),
    read: (targets) => nl.neighbors.getMany(targets.map((t) => ({ dev: t.index, ip: t.id }))),
  };
}

/** Neighbours key by key (engine/scope.ts): "<ifindex> <ip>". */
const neighborScoped: ScopedKind<NeighborTypes> = {
  eventKey: (n) => entryKey(n.index, NEIGHBOR_RULES.idOf(n)),
  changedKeys: (prev, next, view, edits) => changedEntryKeys(prev, next, view, edits),
  planKeys: (nl, desired, keys, view, ctx) => planEntryKeys(desired, keys, view, ctx, NEIGHBOR_RULES, neighborReader(nl)),
  // A device holds one neighbour per address (proxies, kept apart, are never considered): the
  // event's entry is all there is on its key.
  settledBy: (n, action, desired, key, view) => entrySettles(desired, key, n, action, view, NEIGHBOR_RULES, true),
};

/** Neighbours: after addresses, before routes (a route's gateway may be one); one batch per action. */
export const neighborKind: KindModule<NeighborTypes> = {
  kind: 'neighbor',
  field: 'neighbors',
  stages: { create: 30, update: 30, recreate: 30, delete: 70 },
  event: 'neighbor',
  prepare: prepareNeighbors,
  patch: patchNeighbors,
  async observe(nl, desired, view) {
    const slots = fastEntryReads() ? desired.keys.devs.resolve(view) : undefined;
    if (slots !== undefined) {
      const devices = devicesOf(slots, view);
      // A device nobody here owns is read for the desired entries only: one family when they have one.
      const families = (index: number) => {
        const slot = slots.get(index);
        return slot === undefined || view.owned.has(index) ? undefined : desired.keys.familyOf(slot);
      };
      return scanNeighbors(nl, desired, devices, families, view, slots, NEIGHBOR_RULES);
    }
    const devices = devicesToRead(desired.list, view);
    const read = await readOnDevices(devices, (dev) => nl.neighbors.list({ dev }), () => nl.neighbors.list());
    return matchEntries(desired, read, view, NEIGHBOR_RULES);
  },
  diff: (desired, leftovers, view, ctx) => diffEntries(desired, leftovers, view, ctx, NEIGHBOR_RULES),
  async apply(nl, ops, _ctx, out) {
    const put: NeighborOp[] = [];
    const putSpecs: NeighborSpec[] = [];
    const gone: NeighborOp[] = [];
    const goneEntries: Neighbor[] = [];
    // Indexed: apply runs once a cycle, its loop mostly before V8 optimises it, and for...of
    // there allocates an iterator result per op (10k a cycle).
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (op.action === 'delete') {
        gone.push(op);
        goneEntries.push(op.actual);
      } else {
        put.push(op);
        putSpecs.push(op.desired);
      }
    }
    if (put.length) collect(put, await nl.neighbors.replaceMany(putSpecs, VALIDATED), out);
    if (gone.length) collect(gone, await nl.neighbors.delMany(goneEntries), out);
  },
  relevant: (n, desired, view) => view === undefined || view.owned.has(n.index) || desired.devs.has(n.index) || desired.devs.has(view.byIndex.get(n.index)?.name ?? ''),
  count: (desired) => desired.list.length,
  scoped: neighborScoped,
  // A validated neighbour spec holds only primitives.
  frozenSpec: isFrozenFlat,
};
