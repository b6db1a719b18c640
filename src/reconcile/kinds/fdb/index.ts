/**
 * The FDB kind: forwarding entries keyed by (device, mac, dst), owned by whoever owns their
 * device (engine/entries.ts). Only static entries in the device's own table are compared
 * (learned ones are the kernel's); on owned links, undesired ones are removed from vxlan
 * devices only (a bridge keeps its ports' own entries). Read with one kernel-filtered dump per
 * device (a full dump lists every port's multicast entries too).
 */
import { NUD_NOARP, NUD_PERMANENT } from '../../../rtnl/constants';
import { validateFdbSpec } from '../../../rtnl/fdb';
import type { FdbEntry, FdbSpec } from '../../../rtnl/types';
import { parseAddress } from '../../../values/address';
import { ZERO_MAC, canonicalMac, isMulticastMac } from '../../../values/mac';
import type { Problems } from '../../../values/problems';
import { devicesToRead, diffEntries, fastEntryReads, matchEntries, preparedEntries, type EntryRules, type PreparedEntry } from '../../engine/entries';
import type { KindModule, PrepareContext } from '../../engine/kind';
import { collect, one } from '../../engine/outcome';
import { FdbKeys, scanFdb, type PreparedFdb } from './fast';
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

/** Validates the desired FDB entries: canonical MAC and dst, no key twice, one remote per unicast MAC. */
function prepareFdb(p: Problems, given: readonly unknown[], ctx: PrepareContext): PreparedFdb {
  const list: PreparedEntry<FdbSpec>[] = [];
  const paths: string[] = [];
  const keys = new FdbKeys(given.length);
  given.forEach((spec, i) => {
    const path = `fdb[${i}]`;
    if (!isFdbSpec(p, path, spec)) return;
    const mac = canonicalMac(spec.mac) ?? spec.mac;
    const parsed = spec.dst === undefined ? undefined : parseAddress(p, `${path}.dst`, spec.dst);
    if (spec.dst !== undefined && parsed === undefined) return; // reported
    const dst = parsed?.text ?? '';
    const pos = list.length;
    keys.keyOf(spec.dev, mac, parsed);
    const had = keys.find();
    if (had >= 0) return p.add(path, `FDB entry ${label(mac, dst)} on ${spec.dev} is already desired at ${paths[had]}`);
    // A vxlan device keeps one remote per unicast MAC (it acknowledges a second append without
    // adding it): only the all-zero and multicast MACs take several destinations.
    if (mac !== ZERO_MAC && !isMulticastMac(mac)) {
      const other = keys.firstUnicast(pos, spec.vlan);
      const otherDst = other === pos ? dst : list[other].id.slice(mac.length + 1);
      if (otherDst !== dst) {
        return p.add(path, `unicast MAC ${mac} on ${spec.dev} already goes to ${otherDst || '(no dst)'} at ${paths[other]}: a device keeps one destination per unicast MAC`);
      }
    }
    keys.record(pos, spec);
    paths.push(path);
    list.push({ spec, dev: spec.dev, id: `${mac} ${dst}`, label: label(mac, dst) });
    ctx.references.push({ path: `${path}.dev`, dev: spec.dev });
  });
  return { ...preparedEntries(list), keys };
}

/** Desired specs passed prepare's validation: the batch does not check them again. */
const VALIDATED = { validated: true };

/** The types the FDB kind works with. */
export interface FdbTypes {
  kind: 'fdb';
  field: 'fdb';
  prepared: PreparedFdb;
  observed: FdbEntry[];
  op: FdbOp;
  conflict: FdbConflict;
  event: 'fdb';
}

/** FDB entries: beside neighbours, before routes. */
export const fdbKind: KindModule<FdbTypes> = {
  kind: 'fdb',
  field: 'fdb',
  stages: { create: 30, update: 30, recreate: 30, delete: 70 },
  event: 'fdb',
  prepare: prepareFdb,
  async observe(nl, desired, view) {
    // Owned vxlan devices (their entries are ours) and the devices desired entries are on.
    const devices = devicesToRead(desired.list, view, false);
    for (const i of view.owned) if (!view.vanishing.has(i) && view.byIndex.get(i)?.kind === 'vxlan') devices.add(i);
    const slots = fastEntryReads() ? desired.keys.devs.resolve(view) : undefined;
    if (slots !== undefined) return scanFdb(nl, desired, devices, view, slots, FDB_RULES);
    const read: FdbEntry[] = [];
    for (const dev of devices) for (const e of await nl.fdb.list({ dev })) read.push(e);
    return matchEntries(desired, read, view, FDB_RULES);
  },
  diff: (desired, leftovers, view, ctx) => diffEntries(desired, leftovers, view, ctx, FDB_RULES),
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
};
