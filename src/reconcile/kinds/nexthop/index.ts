/**
 * The nexthop kind: nexthop objects (RTM_NEWNEXTHOP) owned by the reconciler's protocol
 * (nh_protocol), keyed by id; a desired nexthop may be named instead, and gets a stable id
 * (ids.ts) that routes refer to by the name. Read with one dump (nexthops are few: one per
 * peer, not per route).
 *
 * Order: created and changed after addresses (a gateway without onlink needs its connected
 * route) and before FDB entries, neighbours and routes that use them, single nexthops before
 * the groups made of them; deleted after the routes and FDB entries that used them, groups
 * before their members. A recreate (what the kernel cannot replace) deletes groups before
 * members too: a member's delete would take a group along (the kernel removes a group with its
 * last member), and the group's own delete would then fail.
 */
import type { Rtnl } from '../../../rtnl/rtnl';
import type { NexthopObjectSpec } from '../../../rtnl/nexthop/types';
import type { BatchResult } from '../../../wire/socket';
import { NetlinkError } from '../../../wire/errors';
import type { KindContext, KindModule, Outcome, Outcomes } from '../../engine/kind';
import { collect, one } from '../../engine/outcome';
import { diffNexthops } from './diff';
import { prepareNexthops, type PreparedNexthops } from './prepare';
import type { NexthopObject } from '../../../rtnl/nexthop/types';
import type { NexthopConflict, NexthopOp } from './types';

/** The types the nexthop kind works with. */
export interface NexthopTypes {
  kind: 'nexthop';
  field: 'nexthops';
  prepared: PreparedNexthops;
  observed: NexthopObject[];
  op: NexthopOp;
  conflict: NexthopConflict;
  event: 'nexthop';
}

const isGroup = (s: NexthopObjectSpec): boolean => (s as { group?: unknown }).group !== undefined;

/** Runs a batch; a refusal of the whole batch (a ValidationError of a group's members, say)
 * fails each of its ops. */
async function batch(ops: readonly NexthopOp[], out: Outcome<NexthopOp>, run: () => Promise<BatchResult>): Promise<void> {
  if (ops.length === 0) return;
  let result: BatchResult;
  try {
    result = await run();
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    for (const op of ops) out.failed.push({ op, error });
    return;
  }
  collect(ops, result, out);
}

/** Sends one stage's nexthop ops, the owner's protocol added. */
async function applyNexthops(nl: Rtnl, ops: readonly NexthopOp[], ctx: KindContext, out: Outcome<NexthopOp>): Promise<void> {
  const protocol = ctx.owner.protocol;
  const deletes = ops.filter((o): o is Extract<NexthopOp, { action: 'delete' }> => o.action === 'delete');
  if (deletes.length) {
    // Groups before their members.
    const groups = deletes.filter((o) => o.actual.kind === 'group');
    const singles = deletes.filter((o) => o.actual.kind !== 'group');
    await batch(groups, out, () => nl.nexthops.delMany(groups.map((o) => o.actual.id)));
    await batch(singles, out, () => nl.nexthops.delMany(singles.map((o) => o.actual.id)));
  }
  // A recreate first removes what the kernel cannot replace, groups before their members (a
  // group whose last member goes is gone already: ENOENT is fine); its add goes with the replaces.
  const replaces: NexthopOp[] = [];
  const creates: NexthopOp[] = [];
  const recreates = ops.filter((o) => o.action === 'recreate');
  recreates.sort((a, b) => Number(b.actual!.kind === 'group') - Number(a.actual!.kind === 'group'));
  for (const op of ops) {
    if (op.action === 'create') creates.push(op);
    else if (op.action === 'update') replaces.push(op);
  }
  for (const op of recreates) {
    const { actual } = op;
    const gone: Outcomes<NexthopOp> = { applied: [], failed: [] };
    await one(op, gone, async () => {
      try {
        await nl.nexthops.del(actual!.id);
      } catch (e) {
        if (!(e instanceof NetlinkError && e.code === 'ENOENT' && actual!.kind === 'group')) throw e;
      }
    });
    if (gone.failed.length) for (const f of gone.failed) out.failed.push(f);
    else replaces.push(op);
  }
  const specOf = (o: NexthopOp): NexthopObjectSpec => ({ ...o.desired!, protocol });
  // A member that becomes a blackhole waits for its groups to shrink to it (the kernel allows
  // a blackhole only alone in a group); every other single nexthop goes before the groups made of it.
  const toBlackhole = (o: NexthopOp): boolean => o.action === 'update' && o.actual.kind === 'single' && !o.actual.blackhole && (o.desired as { blackhole?: boolean }).blackhole === true;
  const last = replaces.filter(toBlackhole);
  for (const group of [false, true]) {
    const c = creates.filter((o) => isGroup(o.desired!) === group);
    const r = replaces.filter((o) => isGroup(o.desired!) === group && !toBlackhole(o));
    await batch(c, out, () => nl.nexthops.addMany(c.map(specOf)));
    await batch(r, out, () => nl.nexthops.replaceMany(r.map(specOf)));
  }
  await batch(last, out, () => nl.nexthops.replaceMany(last.map(specOf)));
}

/** Nexthop objects: after addresses, before FDB entries, neighbours and routes; deleted after them. */
export const nexthopKind: KindModule<NexthopTypes> = {
  kind: 'nexthop',
  field: 'nexthops',
  stages: { create: 25, update: 25, recreate: 25, delete: 75 },
  event: 'nexthop',
  prepare: prepareNexthops,
  // Every nexthop: ours, and the others for the ids they hold (few; the kernel filters no protocol).
  async observe(nl, desired) {
    try {
      return await nl.nexthops.list();
    } catch (e) {
      // A kernel without nexthop objects (before 5.3) has none of ours: fine unless some are desired.
      if (desired.list.length === 0 && e instanceof NetlinkError && (e.code === 'EOPNOTSUPP' || e.code === 'EINVAL' || e.code === 'EAFNOSUPPORT')) return [];
      throw e;
    }
  },
  diff: diffNexthops,
  apply: applyNexthops,
  relevant: (n, desired, _view, ctx) => n.protocol === ctx.owner.protocol || desired.current.has(n.id),
  count: (desired) => desired.list.length,
};
