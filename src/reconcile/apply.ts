/**
 * Executing a plan: stage by stage (see plan.ts), each stage's ops of one kind as one
 * pipelined batch. Every op gets an outcome; a failure does not stop unrelated ops.
 */
import type { Rtnl } from '../rtnl/rtnl';
import type { Address, AddressSpec, FdbEntry, FdbSpec, Link, LinkSpec, Neighbor, NeighborSpec, Route, RouteSpec } from '../rtnl/types';
import type { BatchResult } from '../wire/socket';
import { ZERO_MAC } from './diff';
import { stageOf } from './plan';
import type { FailedOp, Op } from './types';

export interface StageOutcome {
  applied: Op[];
  failed: FailedOp[];
}

function collect(ops: Op[], result: BatchResult, out: StageOutcome): void {
  for (let i = 0; i < ops.length; i++) {
    const e = result.errors[i];
    if (e) out.failed.push({ op: ops[i], error: e });
    else out.applied.push(ops[i]);
  }
}

async function one(op: Op, out: StageOutcome, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    out.applied.push(op);
  } catch (e) {
    out.failed.push({ op, error: e instanceof Error ? e : new Error(String(e)) });
  }
}

async function applyLink(nl: Rtnl, op: Op): Promise<void> {
  const spec = op.desired as LinkSpec;
  if (op.action === 'delete') return nl.links.del((op.actual as Link).index);
  if (op.action === 'recreate') await nl.links.del((op.actual as Link).index);
  if (op.action === 'create' || op.action === 'recreate') {
    const made = await nl.links.add(spec);
    if (spec.up && !made.up) await nl.links.set(made.index, { up: true });
    // The kernel clamps a tunnel's mtu to what its underlay allows instead of refusing it (a
    // vxlan over IPv6 on a 1500-byte link gets 1430): that is not the desired state.
    if (spec.mtu !== undefined && made.mtu !== spec.mtu) {
      throw new Error(`links.add ${spec.name}: the kernel set mtu ${made.mtu}, not ${spec.mtu} (more than the underlay allows?)`);
    }
    return;
  }
  // update: links.change() sends every changed field, kind attributes included (one request,
  // two for a vxlan whose mtu changes too); common fields alone are one links.set().
  const patch = op.linkPatch ?? { set: {}, kindAttributes: false };
  if (patch.kindAttributes) await nl.links.change(spec.name, spec);
  else if (Object.keys(patch.set).length) await nl.links.set(spec.name, patch.set);
}

/** Runs the ops of one stage. */
async function applyStage(nl: Rtnl, ops: Op[], protocol: number, out: StageOutcome): Promise<void> {
  const of = (kind: string, ...actions: string[]): Op[] => {
    const match = (o: Op) => o.kind === kind && actions.includes(o.action);
    // A big stage is usually one kind and action (100k route creates): no copy of it then.
    return ops.length > 0 && match(ops[0]) && ops.every(match) ? ops : ops.filter(match);
  };
  for (const op of of('link', 'create', 'recreate', 'update', 'delete')) await one(op, out, () => applyLink(nl, op));

  for (const op of of('address', 'create')) await one(op, out, () => nl.addresses.add(op.desired as AddressSpec));
  for (const op of of('address', 'update')) await one(op, out, () => nl.addresses.replace(op.desired as AddressSpec));
  for (const op of of('address', 'delete')) await one(op, out, () => nl.addresses.del(op.actual as Address));

  const neighUp = of('neighbor', 'create', 'update');
  if (neighUp.length) collect(neighUp, await nl.neighbors.replaceMany(neighUp.map((o) => o.desired as NeighborSpec)), out);
  const neighDel = of('neighbor', 'delete');
  if (neighDel.length) collect(neighDel, await nl.neighbors.delMany(neighDel.map((o) => o.actual as Neighbor)), out);

  // FDB: a missing (mac, dst) is appended (several remotes per MAC are allowed); a changed
  // unicast entry is replaced; a changed all-zero (flood) entry is removed and appended again,
  // because replace would rewrite the first remote of the MAC, not this one.
  const fdbNew = of('fdb', 'create');
  if (fdbNew.length) collect(fdbNew, await nl.fdb.appendMany(fdbNew.map((o) => o.desired as FdbSpec)), out);
  const fdbChanged = of('fdb', 'update');
  const fdbReplace = fdbChanged.filter((o) => (o.desired as FdbSpec).mac !== ZERO_MAC);
  if (fdbReplace.length) collect(fdbReplace, await nl.fdb.replaceMany(fdbReplace.map((o) => o.desired as FdbSpec)), out);
  for (const op of fdbChanged.filter((o) => (o.desired as FdbSpec).mac === ZERO_MAC)) {
    await one(op, out, async () => {
      await nl.fdb.del(op.actual as FdbEntry);
      await nl.fdb.append(op.desired as FdbSpec);
    });
  }
  const fdbDel = of('fdb', 'delete');
  if (fdbDel.length) collect(fdbDel, await nl.fdb.delMany(fdbDel.map((o) => o.actual as FdbEntry)), out);

  // Desired route specs carry no protocol (prepareDesired refuses another one): the batch adds ours.
  const routeNew = of('route', 'create');
  if (routeNew.length) collect(routeNew, await nl.routes.addMany(routeNew.map((o) => o.desired as RouteSpec), { validated: true, protocol }), out);
  const routeChanged = of('route', 'update');
  if (routeChanged.length) collect(routeChanged, await nl.routes.addMany(routeChanged.map((o) => o.desired as RouteSpec), { replace: true, validated: true, protocol }), out);
  const routeDel = of('route', 'delete');
  if (routeDel.length) collect(routeDel, await nl.routes.delMany(routeDel.map((o) => o.actual as Route)), out);
}

/** Applies ops in stage order. Ops on an object whose link failed to appear still run (and
 * fail on their own, reported), so the result names every op that did not happen. */
export async function applyOps(nl: Rtnl, ops: Op[], protocol: number): Promise<StageOutcome> {
  const out: StageOutcome = { applied: [], failed: [] };
  // A plan's ops are in stage order (ReconcilePlan): each run of one stage is a stage.
  for (let start = 0; start < ops.length; ) {
    const s = stageOf(ops[start]);
    let end = start + 1;
    while (end < ops.length && stageOf(ops[end]) === s) end++;
    if (end < ops.length && stageOf(ops[end]) < s) throw new Error('applyOps: ops are not in stage order');
    await applyStage(nl, start === 0 && end === ops.length ? ops : ops.slice(start, end), protocol, out);
    start = end;
  }
  return out;
}
