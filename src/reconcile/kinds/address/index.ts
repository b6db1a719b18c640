/**
 * The address kind: addresses keyed by (device, prefix), owned by whoever owns their device
 * (engine/entries.ts). Read with kernel-filtered dumps of the devices that matter.
 */
import { validateAddressSpec } from '../../../rtnl/address';
import { canonicalAddress } from '../../../rtnl/route/expected';
import type { Address, AddressSpec } from '../../../rtnl/types';
import { parsePrefix } from '../../../values/address';
import { isFrozenFlat } from '../../../values/plain';
import type { Problems } from '../../../values/problems';
import { devicesToRead, diffEntries, entryKey, matchEntries, preparedEntries, readOnDevices, type EntryRules, type PreparedEntries, type PreparedEntry } from '../../engine/entries';
import { changedEntryKeys, planEntryDevices } from '../../engine/entry-scope';
import type { KindModule, PrepareContext, ScopedKind } from '../../engine/kind';
import { one } from '../../engine/outcome';
import type { AddressConflict, AddressOp } from './types';

function show(v: unknown): string {
  return v === undefined ? '(none)' : String(v);
}

/** The address kind's rules for the shared entry logic. */
export const ADDRESS_RULES: EntryRules<'address', AddressSpec, Address> = {
  kind: 'address',
  idOf: (a) => a.address,
  labelOf: (a) => a.address,
  considered: () => true,
  differences(d, a) {
    const out: string[] = [];
    // Addresses compared in canonical text: "fd00:0::1" is the peer the kernel reports as "fd00::1".
    if (d.broadcast !== undefined && canonicalAddress(d.broadcast) !== a.broadcast) out.push(`broadcast ${show(a.broadcast)} -> ${d.broadcast}`);
    if (d.label !== undefined && d.label !== a.label) out.push(`label ${show(a.label)} -> ${d.label}`);
    if (d.peer !== undefined && canonicalAddress(d.peer) !== a.peer) out.push(`peer ${show(a.peer)} -> ${d.peer}`);
    return out;
  },
  // The kernel's own IPv6 link-local address stays.
  removable: (a) => !(a.family === 6 && a.address.startsWith('fe80:')),
  // Autoconfigured (not permanent) addresses are the kernel's; configured ones someone's.
  placed: (a) => a.permanent,
};

function isAddressSpec(p: Problems, path: string, x: unknown): x is AddressSpec {
  return validateAddressSpec(p, path, x);
}

/** Validates the desired addresses: canonical prefix, no key twice. */
function prepareAddresses(p: Problems, given: readonly unknown[], ctx: PrepareContext): PreparedEntries<AddressSpec, Address> {
  const list: PreparedEntry<AddressSpec>[] = [];
  const seen = new Map<string, string>();
  given.forEach((spec, i) => {
    const path = `addresses[${i}]`;
    if (!isAddressSpec(p, path, spec)) return;
    const pre = parsePrefix(p, `${path}.address`, spec.address, 'keep');
    if (!pre) return;
    const key = `${spec.dev} ${pre.prefix}`;
    const had = seen.get(key);
    if (had) return p.add(path, `address ${pre.prefix} on ${spec.dev} is already desired at ${had}`);
    seen.set(key, path);
    list.push({ spec, dev: spec.dev, id: pre.prefix, label: pre.prefix });
    ctx.references.push({ path: `${path}.dev`, dev: spec.dev });
  });
  return preparedEntries(list);
}

/** The types the address kind works with. */
export interface AddressTypes {
  kind: 'address';
  field: 'addresses';
  prepared: PreparedEntries<AddressSpec, Address>;
  observed: Address[];
  op: AddressOp;
  conflict: AddressConflict;
  event: 'address';
}

/** Addresses key by key (engine/scope.ts): "<ifindex> <prefix>", read device by device (a
 * kernel-filtered dump of the few addresses a device has). An address event (a link-local address
 * finishing DAD) then costs that device's addresses, not a full cycle. */
const addressScoped: ScopedKind<AddressTypes> = {
  eventKey: (a) => entryKey(a.index, ADDRESS_RULES.idOf(a)),
  changedKeys: (prev, next, view) => changedEntryKeys(prev, next, view),
  planKeys: (nl, desired, keys, view, ctx) => planEntryDevices(desired, keys, view, ctx, ADDRESS_RULES, (index) => nl.addresses.list({ dev: index })),
};

/** Addresses: right after links (routes and neighbours may need them), deleted late. */
export const addressKind: KindModule<AddressTypes> = {
  kind: 'address',
  field: 'addresses',
  stages: { create: 20, update: 20, recreate: 20, delete: 80 },
  event: 'address',
  prepare: prepareAddresses,
  async observe(nl, desired, view) {
    const devices = devicesToRead(desired.list, view);
    const read = await readOnDevices(devices, (dev) => nl.addresses.list({ dev }), () => nl.addresses.list());
    return matchEntries(desired, read, view, ADDRESS_RULES);
  },
  diff: (desired, leftovers, view, ctx) => diffEntries(desired, leftovers, view, ctx, ADDRESS_RULES),
  async apply(nl, ops, _ctx, out) {
    for (const op of ops) {
      if (op.action === 'create') await one(op, out, () => nl.addresses.add(op.desired));
      else if (op.action === 'update') await one(op, out, () => nl.addresses.replace(op.desired));
      else await one(op, out, () => nl.addresses.del(op.actual));
    }
  },
  relevant: (a, desired, view) => view === undefined || view.owned.has(a.index) || desired.devs.has(a.index) || desired.devs.has(view.byIndex.get(a.index)?.name ?? ''),
  count: (desired) => desired.list.length,
  scoped: addressScoped,
  // A validated address spec holds only primitives.
  frozenSpec: isFrozenFlat,
};
