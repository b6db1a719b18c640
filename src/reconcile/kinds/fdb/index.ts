/**
 * The FDB kind: forwarding entries keyed by (device, mac, dst), owned by whoever owns their
 * device (engine/entries.ts). Only static entries in the device's own table are compared
 * (learned ones are the kernel's); on owned links, undesired ones are removed from vxlan
 * devices only (a bridge keeps its ports' own entries). Read with one kernel-filtered dump per
 * device (a full dump lists every port's multicast entries too).
 *
 * An entry may name a desired FDB nexthop group instead of a dst ({ dev, mac, nexthop }): its
 * id is looked up in each plan (the nexthop kind plans first) and compared with the entry's
 * NDA_NH_ID (by the general path: fast.ts leaves nhid to it). A unicast MAC has one entry per
 * device, and the vxlan driver replaces neither a dst entry with an nhid one nor the other way
 * round: such a change is one recreate (delete the MAC, add it again).
 */
import { NUD_NOARP, NUD_PERMANENT } from '../../../rtnl/constants';
import { validateFdbSpec } from '../../../rtnl/fdb';
import type { FdbEntry, FdbSpec } from '../../../rtnl/types';
import { parseAddress } from '../../../values/address';
import { parseIPv4 } from '../../../values/ip';
import { ZERO_MAC, canonicalMac, isMulticastMac } from '../../../values/mac';
import { isFrozenFlat } from '../../../values/plain';
import { describeValue, isObject, own, type Problems } from '../../../values/problems';
import { patchList, type Edit } from '../../engine/edits';
import { prepareInserted } from '../../engine/patch';
import { devicesToRead, diffEntries, entryKey, fastEntryReads, matchEntries, preparedEntries, type EntryRules, type PreparedEntry } from '../../engine/entries';
import { changedEntryKeys, planEntryKeys, positionOf, entrySettles, type EntryReader } from '../../engine/entry-scope';
import type { KindModule, LinkView, PrepareContext, ScopedKind } from '../../engine/kind';
import type { Rtnl } from '../../../rtnl/rtnl';
import type { NexthopIds } from '../nexthop/ids';
import { collect, one } from '../../engine/outcome';
import { FdbKeys, QuickFdb, scanFdb, type PreparedFdb } from './fast';
import type { FdbConflict, FdbOp } from './types';

function show(v: unknown): string {
  return v === undefined ? '(none)' : String(v);
}

/** "0a:58:c0:a8:0b:00 dst 10.57.4.21", or the MAC alone. */
function label(mac: string, dst: string | undefined): string {
  return dst ? `${mac} dst ${dst}` : mac;
}

/** Whether a MAC (as a spec gives it) is a unicast one: one remote per device. */
function isUnicast(mac: string): boolean {
  const m = canonicalMac(mac) ?? mac;
  return m !== ZERO_MAC && !isMulticastMac(m);
}

/** The FDB kind's rules for the shared entry logic. */
export const FDB_RULES: EntryRules<'fdb', FdbSpec, FdbEntry> = {
  kind: 'fdb',
  idOf: (e) => `${e.mac} ${e.dst ?? ''}`,
  labelOf: (e) => label(e.mac, e.dst),
  // Static entries in the device's own table; learned ones are the kernel's.
  considered: (e) => e.self && (e.state & (NUD_PERMANENT | NUD_NOARP)) !== 0,
  // The fast read (fast.ts, FdbKeys.settles) decides these same fields on numbers: a field
  // compared here must be compared there too (or, as nhid, kept off the fast path there).
  differences(d, e) {
    const out: string[] = [];
    const permanent = d.permanent ?? true;
    if (permanent !== e.permanent) out.push(permanent ? 'static -> permanent' : 'permanent -> static');
    if (d.nhid !== e.nhid) out.push(`nhid ${show(e.nhid)} -> ${show(d.nhid)}`);
    if (d.vni !== undefined && d.vni !== e.vni) out.push(`vni ${show(e.vni)} -> ${d.vni}`);
    if (d.port !== undefined && d.port !== e.port) out.push(`port ${show(e.port)} -> ${d.port}`);
    return out;
  },
  removable: (e, view) => view.byIndex.get(e.index)?.kind === 'vxlan',
  placed: () => true, // every considered entry is a static one someone added
};

function isFdbSpec(p: Problems, path: string, x: unknown): x is FdbSpec {
  return validateFdbSpec(p, path, x);
}

/** The desired FDB entries, with those on named nexthop groups (their nhid given per plan). */
export interface PreparedFdbEntries extends PreparedFdb {
  /** The position of the last entry whose device no earlier entry names (-1: none): edits past
   * it leave the references (one per device, at its first entry) as they are. */
  readonly lastNewDevice: number;
  /** Positions in list of entries on a named nexthop, with the name and the spec without nhid. */
  readonly named: ReadonlyArray<{ readonly at: number; readonly name: string; readonly base: FdbSpec }>;
  /** The names' ids in the current plan. */
  readonly nexthopIds: NexthopIds;
}

/** The nhid an entry on a named nexthop is checked with (resolved per plan; it keeps the entry off the fast read). */
const NAMED_PLACEHOLDER = 1;

/** An entry on a named nexthop group ({ dev, mac, nexthop }): the spec to check (nhid a
 * placeholder) and the name, or null after a problem. */
function namedEntry(p: Problems, path: string, x: Record<string, unknown>, ids: NexthopIds): { spec: FdbSpec; name: string } | null {
  const name = own(x, 'nexthop');
  if (typeof name !== 'string' || name.length === 0) {
    p.add(`${path}.nexthop`, `${describeValue(name)} must be the name of a desired FDB nexthop group`);
    return null;
  }
  for (const f of ['dst', 'vni', 'port', 'nhid', 'master']) {
    if (own(x, f) !== undefined) {
      p.add(`${path}.nexthop`, `nexthop and ${f} are exclusive: the nexthop group holds the remotes`);
      return null;
    }
  }
  const facts = ids.declared.get(name);
  if (facts === undefined) {
    p.add(`${path}.nexthop`, `no desired nexthop is named "${name}" (nexthops[].name)`);
    return null;
  }
  if (!facts.fdb || !facts.group) {
    p.add(`${path}.nexthop`, `nexthop "${name}" is not an FDB nexthop group: a vxlan entry takes only { group, fdb: true }`);
    return null;
  }
  const spec: Record<string, unknown> = {};
  for (const k of Object.keys(x)) if (k !== 'nexthop') spec[k] = x[k];
  spec.nhid = NAMED_PLACEHOLDER;
  return { spec: spec as unknown as FdbSpec, name };
}

/**
 * What prepare made of a frozen spec it accepted (not one on a named nexthop, whose id depends
 * on the desired nexthops): the entry and its key words. A frozen spec cannot change, so when the
 * same object comes again (an overlay hands the same specs for its unchanged nodes, 5,000 at
 * every change) it is not checked, parsed or labelled again.
 */
interface FdbMemo {
  readonly entry: PreparedEntry<FdbSpec>;
  readonly mac: string;
  readonly dst: string;
  readonly macWords: readonly [number, number];
  readonly len: number;
  readonly d: readonly [number, number, number, number];
  readonly unicast: boolean;
}
const fdbMemo = new WeakMap<object, FdbMemo>();

/** The quick check's reader (prepare reads its fields right after each read(); nothing nests). */
const QUICK = new QuickFdb();
/** The key words of an entry without dst (shared: never written). */
const NO_DST: [number, number, number, number] = [0, 0, 0, 0];

/** Validates the desired FDB entries: canonical MAC and dst, no key twice, one remote per unicast MAC. */
function prepareFdb(p: Problems, given: readonly unknown[], ctx: PrepareContext): PreparedFdbEntries {
  // Sized once and filled by index (cut to length at the end): grown by push, a copy per growth.
  const list: PreparedEntry<FdbSpec>[] = new Array(given.length);
  let count = 0;
  /** The index in given of each desired position (for the message naming a duplicate). */
  const from = new Int32Array(given.length);
  const named: Array<{ at: number; name: string; base: FdbSpec }> = [];
  const keys = new FdbKeys(given.length);
  const referenced = new Set<FdbSpec['dev']>(); // 10k entries name one device: checked once
  const okDevs = new Set<string>(); // device names the full check accepted (QuickFdb)
  const q = QUICK;
  const pathOf = (i: number) => `fdb[${i}]`;
  let lastNewDevice = -1;
  given.forEach((x, i) => {
    const memo = typeof x === 'object' && x !== null ? fdbMemo.get(x) : undefined;
    let spec: FdbSpec;
    let name: string | undefined;
    let mac: string;
    let dst: string;
    let unicast: boolean;
    if (memo !== undefined) {
      spec = memo.entry.spec;
      ({ mac, dst, unicast } = memo);
      keys.keyOfWords(spec.dev, memo.macWords[0], memo.macWords[1], memo.len, memo.d[0], memo.d[1], memo.d[2], memo.d[3]);
    } else {
      const path = pathOf(i);
      let given_: unknown = x;
      if (isObject(x) && own(x, 'nexthop') !== undefined) {
        const n = namedEntry(p, path, x, ctx.nexthopIds);
        if (!n) return;
        given_ = n.spec;
        name = n.name;
      }
      dst = '';
      let len = 0;
      let d: [number, number, number, number] = NO_DST;
      /** An IPv4 dst's word: d is made of it only for a memo (one array less per unfrozen spec). */
      let v4word = 0;
      if (q.read(given_, okDevs)) {
        // The common spec, parsed once by the quick check (an IPv4 literal that parses is
        // canonical text already: no parsed object made for it).
        spec = given_;
        mac = q.mac;
        unicast = q.unicast;
        if (q.v4 >= 0) {
          dst = spec.dst!;
          len = 4;
          v4word = q.v4 | 0;
        }
        keys.keyOfWords(spec.dev, q.macHi, q.macLo, len, v4word, 0, 0, 0);
      } else {
        if (!isFdbSpec(p, path, given_)) return;
        if (typeof given_.dev === 'string') okDevs.add(given_.dev);
        spec = given_;
        mac = canonicalMac(spec.mac) ?? spec.mac;
        unicast = mac !== ZERO_MAC && !isMulticastMac(mac);
        const v4 = spec.dst === undefined ? -1 : parseIPv4(spec.dst);
        if (spec.dst !== undefined && v4 >= 0) {
          dst = spec.dst;
          len = 4;
          d = [v4 | 0, 0, 0, 0];
        } else if (spec.dst !== undefined) {
          const parsed = parseAddress(p, `${path}.dst`, spec.dst);
          if (parsed === undefined) return; // reported
          dst = parsed.text;
          const b = parsed.bytes;
          len = 16;
          d = [b.readInt32BE(0), b.readInt32BE(4), b.readInt32BE(8), b.readInt32BE(12)];
        }
        keys.keyOf(spec.dev, mac, len, d[0], d[1], d[2], d[3]);
      }
      const entry = { spec, dev: spec.dev, id: `${mac} ${dst}`, label: name !== undefined ? `${mac} nexthop ${name}` : label(mac, dst) };
      if (name === undefined && Object.isFrozen(x)) {
        if (d === NO_DST && v4word !== 0) d = [v4word, 0, 0, 0];
        fdbMemo.set(x as object, { entry, mac, dst, macWords: keys.macWords(), len, d, unicast });
      }
      return add(i, spec, name, mac, dst, unicast, entry);
    }
    add(i, spec, name, mac, dst, unicast, memo.entry);
  });

  /** Puts entry (key last written to keys) in the list unless its key or unicast MAC is taken. */
  function add(i: number, spec: FdbSpec, name: string | undefined, mac: string, dst: string, unicast: boolean, entry: PreparedEntry<FdbSpec>): void {
    const pos = count;
    const had = keys.find();
    if (had >= 0) return p.add(pathOf(i), `FDB entry ${label(mac, dst)} on ${spec.dev} is already desired at ${pathOf(from[had])}`);
    // A vxlan device keeps one remote per unicast MAC (it acknowledges a second append without
    // adding it): only the all-zero and multicast MACs take several destinations.
    if (unicast) {
      const other = keys.firstUnicast(pos, spec.vlan);
      const otherDst = other === pos ? dst : list[other].id.slice(mac.length + 1);
      if (otherDst !== dst) {
        return p.add(pathOf(i), `unicast MAC ${mac} on ${spec.dev} already goes to ${otherDst || '(no dst)'} at ${pathOf(from[other])}: a device keeps one destination per unicast MAC`);
      }
    }
    keys.record(pos, spec);
    from[pos] = i;
    if (name !== undefined) {
      const { nhid: _placeholder, ...base } = spec;
      named.push({ at: pos, name, base });
    }
    if (!referenced.has(spec.dev)) {
      referenced.add(spec.dev);
      ctx.references.push({ path: `${pathOf(i)}.dev`, dev: spec.dev });
      lastNewDevice = count;
    }
    list[count++] = entry;
  }
  list.length = count;
  return { ...preparedEntries(list, referenced), keys, named, nexthopIds: ctx.nexthopIds, lastNewDevice };
}

/**
 * KindModule.patch: the list before with the edits' entries, made from before's keys and
 * entries and a prepare of the inserted entries alone (prepareInserted says when it can be),
 * unless an entry is on a named nexthop or a key or unicast MAC repeats; otherwise undefined
 * (prepared whole, which reports what is wrong with the paths of the whole list).
 */
function patchFdb(before: PreparedFdbEntries, edits: readonly Edit[], given: readonly unknown[], ctx: PrepareContext): PreparedFdbEntries | undefined {
  if (before.named.length !== 0) return undefined;
  const ready = prepareInserted(before, edits, given, ctx, prepareFdb);
  if (ready === undefined || ready.inserted.named.length !== 0) return undefined;
  const { inserted, count } = ready;
  const keys = FdbKeys.patched(before.keys, inserted.keys, edits, before.list.length, count);
  if (keys === undefined) return undefined;
  const list = patchList(before.list, inserted.list, edits, count);
  return { ...preparedEntries(list, before.devs), keys, named: [], nexthopIds: ctx.nexthopIds, lastNewDevice: before.lastNewDevice };
}

/** Entries on named nexthops get this plan's ids (the nexthop kind has planned): new spec
 * objects, so the ops of an earlier plan keep theirs. */
function resolveNamed(desired: PreparedFdbEntries): void {
  for (const n of desired.named) {
    const e = desired.list[n.at];
    const nhid = desired.nexthopIds.id(n.name);
    if (e.spec.nhid !== nhid) desired.list[n.at] = { ...e, spec: { ...n.base, nhid } };
  }
}

/** "<ifindex> <mac> <vlan>" of a unicast MAC on a device; undefined for the all-zero and multicast MACs. */
function unicastKey(index: number | undefined, mac: string, vlan: number | undefined): string | undefined {
  if (index === undefined || !isUnicast(mac)) return undefined;
  return `${index} ${canonicalMac(mac) ?? mac} ${vlan ?? ''}`;
}

/**
 * A create and a delete on the same unicast MAC of one device, one of them with an nhid, are
 * one entry changing form: the driver refuses to replace a dst entry with an nhid one
 * (EOPNOTSUPP) and ignores a dst replace of an nhid one, so the delete (a later stage) would
 * leave the MAC without an entry until the next cycle. Made one recreate: delete, then add.
 */
function pairNhidChanges(ops: FdbOp[], view: LinkView): FdbOp[] {
  const deletes = new Map<string, number>();
  ops.forEach((op, k) => {
    if (op.action !== 'delete') return;
    const key = unicastKey(op.actual.index, op.actual.mac, op.actual.vlan);
    if (key !== undefined) deletes.set(key, k);
  });
  if (deletes.size === 0) return ops;
  const gone = new Set<number>();
  const out = ops.map((op): FdbOp => {
    if (op.action !== 'create') return op;
    const key = unicastKey(view.index(op.desired.dev), op.desired.mac, op.desired.vlan);
    const k = key === undefined ? undefined : deletes.get(key);
    if (k === undefined || gone.has(k)) return op;
    const actual = (ops[k] as Extract<FdbOp, { action: 'delete' }>).actual;
    if (actual.nhid === undefined && op.desired.nhid === undefined) return op; // dst to dst: the create is a replace (apply)
    gone.add(k);
    const was = actual.nhid !== undefined ? `nhid ${actual.nhid}` : `dst ${show(actual.dst)}`;
    const now = op.desired.nhid !== undefined ? `nhid ${op.desired.nhid}` : `dst ${show(op.desired.dst)}`;
    return { kind: 'fdb', action: 'recreate', key: op.key, reason: `${was} -> ${now}`, desired: op.desired, actual };
  });
  return gone.size ? out.filter((_, k) => !gone.has(k)) : out;
}

/** Desired specs passed prepare's validation: the batch does not check them again. */
const VALIDATED = { validated: true };

/** The types the FDB kind works with. */
export interface FdbTypes {
  kind: 'fdb';
  field: 'fdb';
  prepared: PreparedFdbEntries;
  observed: FdbEntry[];
  op: FdbOp;
  conflict: FdbConflict;
  event: 'fdb';
}

/**
 * An FDB entry read alone: asked by device and MAC (RTM_GETNEIGH), the kernel answers with the
 * MAC's first remote only, so only a unicast MAC (one remote a device) on a vxlan device this
 * reconciler owns (made here: never collect-metadata, where the VNI is part of the key) is read
 * so, and only for a desired spec without a VNI or VLAN. A second remote someone appended to a
 * unicast MAC is not seen by such a read; the next full read (a resync) removes it.
 */
function fdbReader(nl: Rtnl, desired: PreparedFdbEntries): EntryReader<FdbEntry> {
  return {
    request(t, view) {
      const mac = t.id.slice(0, t.id.indexOf(' '));
      if (!isUnicast(mac) || !view.owned.has(t.index) || view.byIndex.get(t.index)?.kind !== 'vxlan') return undefined;
      const pos = positionOf(desired, entryKey(t.index, t.id), view);
      if (pos === undefined) return undefined;
      if (pos >= 0) {
        const spec = desired.list[pos].spec;
        if (spec.vni !== undefined || spec.vlan !== undefined) return undefined;
      }
      return { id: `${t.index} ${mac}`, run: t };
    },
    read: (targets) => nl.fdb.getMany(targets.map((t) => ({ dev: t.index, mac: t.id.slice(0, t.id.indexOf(' ')) }))),
  };
}

/** FDB entries key by key (engine/scope.ts): "<ifindex> <mac> <dst>"; see fdbReader. */
const fdbScoped: ScopedKind<FdbTypes> = {
  eventKey: (e) => entryKey(e.index, FDB_RULES.idOf(e)),
  changedKeys: (prev, next, view, edits) => changedEntryKeys(prev, next, view, edits),
  async planKeys(nl, desired, keys, view, ctx) {
    // Entries on named nexthop groups take this plan's ids from the nexthop kind's read.
    if (desired.named.length > 0) return undefined;
    const d = await planEntryKeys(desired, keys, view, ctx, FDB_RULES, fdbReader(nl, desired));
    return d === undefined ? undefined : { ...d, ops: pairNhidChanges(d.ops, view) };
  },
  // Not for entries with a vlan (a bridge's table holds one per vlan on a key that names none)
  // nor with named nexthops (their ids come with each plan). A unicast MAC has one remote per
  // device: its entry is all its key holds; the all-zero and multicast MACs take several remotes
  // with one dst (other ports or VNIs), so such an event speaks for its own entry only. A
  // deletion without a dst names no remote (Linux 6.1 announces a MAC deleted whole so): the
  // entry it removed was on another key, which is read.
  settledBy: (e, action, desired, key, view) =>
    e.vlan === undefined && desired.named.length === 0 && (action === 'new' || e.dst !== undefined) ? entrySettles(desired, key, e, action, view, FDB_RULES, isUnicast(e.mac)) : false,
};

/** FDB entries: beside neighbours, before routes. */
export const fdbKind: KindModule<FdbTypes> = {
  kind: 'fdb',
  field: 'fdb',
  stages: { create: 30, update: 30, recreate: 30, delete: 70 },
  event: 'fdb',
  prepare: prepareFdb,
  patch: patchFdb,
  async observe(nl, desired, view) {
    resolveNamed(desired);
    // Owned vxlan devices (their entries are ours) and the devices desired entries are on.
    const devices = devicesToRead(desired.list, view, false);
    for (const i of view.owned) if (!view.vanishing.has(i) && view.byIndex.get(i)?.kind === 'vxlan') devices.add(i);
    const slots = fastEntryReads() ? desired.keys.devs.resolve(view) : undefined;
    if (slots !== undefined) return scanFdb(nl, desired, devices, view, slots, FDB_RULES);
    const read: FdbEntry[] = [];
    for (const dev of devices) for (const e of await nl.fdb.list({ dev })) read.push(e);
    return matchEntries(desired, read, view, FDB_RULES);
  },
  diff(desired, leftovers, view, ctx) {
    const d = diffEntries(desired, leftovers, view, ctx, FDB_RULES);
    return { ops: pairNhidChanges(d.ops, view), conflicts: d.conflicts };
  },
  async apply(nl, ops, _ctx, out) {
    // A missing (mac, dst) of the all-zero or a multicast MAC is appended (several remotes per
    // MAC are allowed); a missing unicast one is a replace, as a device keeps one remote per
    // unicast MAC and ignores an append when the MAC has one (its old dst, deleted as undesired
    // in a later stage: which then finds nothing to remove). A changed unicast entry is
    // replaced; a changed all-zero (flood) entry is removed and appended again, because replace
    // would rewrite the first remote of the MAC, not this one.
    const added: FdbOp[] = [];
    const addSpecs: FdbSpec[] = [];
    const replaced: FdbOp[] = [];
    const replaceSpecs: FdbSpec[] = [];
    const gone: FdbOp[] = [];
    const goneEntries: FdbEntry[] = [];
    for (const op of ops) {
      if (op.action === 'create' && !isUnicast(op.desired.mac)) {
        added.push(op);
        addSpecs.push(op.desired);
      } else if (op.action === 'create') {
        replaced.push(op);
        replaceSpecs.push(op.desired);
      } else if (op.action === 'delete') {
        gone.push(op);
        goneEntries.push(op.actual);
      } else if (op.action === 'recreate') {
        // The MAC's one entry goes (no dst, no nhid: the whole MAC), then comes back in the other form.
        const { desired, actual } = op;
        await one(op, out, async () => {
          await nl.fdb.del({ dev: actual.index, mac: actual.mac, ...(actual.vlan !== undefined ? { vlan: actual.vlan } : {}) });
          await nl.fdb.append(desired);
        });
      } else if (canonicalMac(op.desired.mac) !== ZERO_MAC) {
        replaced.push(op);
        replaceSpecs.push(op.desired);
      } else {
        const { desired, actual } = op;
        await one(op, out, async () => {
          await nl.fdb.del(actual);
          await nl.fdb.append(desired);
        });
      }
    }
    if (added.length) collect(added, await nl.fdb.appendMany(addSpecs, VALIDATED), out);
    if (replaced.length) collect(replaced, await nl.fdb.replaceMany(replaceSpecs, VALIDATED), out);
    if (gone.length) collect(gone, await nl.fdb.delMany(goneEntries), out);
  },
  relevant: (e, desired, view) => view === undefined || view.owned.has(e.index) || desired.devs.has(e.index) || desired.devs.has(view.byIndex.get(e.index)?.name ?? ''),
  count: (desired) => desired.list.length,
  scoped: fdbScoped,
  // A validated entry holds only primitives; one on a named nexthop gets the group's id per state.
  frozenSpec: (spec) => isFrozenFlat(spec) && own(spec as object, 'nexthop') === undefined,
};
