/**
 * The nexthops in the kernel against the desired ones: ids for the named ones (ids.ts), then
 * ops and conflicts.
 *
 * Ownership: nexthops carrying the reconciler's protocol (nh_protocol) are its own; another
 * protocol's nexthop on a desired id is a conflict, left alone unless adoptConflicts; nothing on
 * another owner's link is touched. A change the kernel can make in place (a gateway, a device,
 * a group's members and weights, a resilient group's timers) is a replace: routes on the
 * nexthop stay and follow. What it cannot (single <-> group, a group's type, a resilient
 * group's bucket count) is a recreate.
 */
import type { NexthopGroupSpec, NexthopObject, NexthopObjectSpec, SingleNexthopSpec } from '../../../rtnl/nexthop/types';
import type { KindContext, KindDiff, LinkView } from '../../engine/kind';
import { allocateNamedIds, type IdHolder } from './ids';
import type { PreparedNexthop, PreparedNexthops } from './prepare';
import type { NexthopConflict, NexthopOp } from './types';

/** How a kernel nexthop differs from a desired one: nothing, in place, or only by delete and add. */
interface Difference {
  /** Empty when equal. */
  reasons: string[];
  /** The kernel cannot replace it in place. */
  recreate: boolean;
}

const show = (v: unknown): string => (v === undefined ? '(none)' : String(v));

function membersText(ms: ReadonlyArray<{ id: number; weight: number }>): string {
  return [...ms]
    .sort((a, b) => a.id - b.id)
    .map((m) => (m.weight === 1 ? String(m.id) : `${m.id}/${m.weight}`))
    .join(',');
}

/** The member ids of a desired group, names resolved (undefined while a name has no id yet). */
function resolveMembers(d: PreparedNexthop, ids: ReadonlyMap<string, number>): Array<{ id: number; weight: number }> | undefined {
  const out: Array<{ id: number; weight: number }> = [];
  for (const m of d.members) {
    const id = m.name !== undefined ? ids.get(m.name) : m.id;
    if (id === undefined) return undefined;
    out.push({ id, weight: m.weight });
  }
  return out;
}

/** Desired against kernel (ownership aside). */
function compare(d: PreparedNexthop, k: NexthopObject, view: LinkView, ids: ReadonlyMap<string, number>): Difference {
  const reasons: string[] = [];
  if (d.group !== (k.kind === 'group')) return { reasons: [d.group ? 'a single nexthop becomes a group' : 'a group becomes a single nexthop'], recreate: true };
  // The kernel refuses to replace either way ("Cannot change nexthop FDB status while in a
  // group", "Route cannot point to a fdb nexthop").
  if (d.fdb !== k.fdb) return { reasons: [d.fdb ? 'becomes an FDB nexthop' : 'stops being an FDB nexthop'], recreate: true };
  if (k.kind === 'group') {
    if (d.type !== k.type) return { reasons: [`type ${k.type} -> ${d.type}`], recreate: true };
    if (d.type === 'resilient' && d.buckets !== k.buckets) return { reasons: [`buckets ${show(k.buckets)} -> ${d.buckets}`], recreate: true };
    const want = resolveMembers(d, ids);
    const wantText = want === undefined ? '?' : membersText(want);
    const haveText = membersText(k.group);
    if (wantText !== haveText) reasons.push(`group ${haveText} -> ${wantText}`);
    if (d.type === 'resilient') {
      if (d.idleTimer !== k.idleTimer) reasons.push(`idleTimer ${show(k.idleTimer)} -> ${d.idleTimer}`);
      if (d.unbalancedTimer !== k.unbalancedTimer) reasons.push(`unbalancedTimer ${show(k.unbalancedTimer)} -> ${d.unbalancedTimer}`);
    }
    return { reasons, recreate: false };
  }
  if (d.blackhole !== k.blackhole) reasons.push(d.blackhole ? 'becomes a blackhole' : 'stops being a blackhole');
  if (d.via !== k.via) reasons.push(`via ${show(k.via)} -> ${show(d.via)}`);
  else if (d.via === undefined && !d.blackhole && d.family !== k.family) reasons.push(`family ${k.family} -> ${d.family}`);
  const wantDev = d.dev === undefined ? undefined : view.name(d.dev);
  const haveDev = k.dev === undefined || d.blackhole ? undefined : view.name(k.dev);
  if (!d.blackhole && !d.fdb && wantDev !== haveDev) reasons.push(`dev ${show(haveDev)} -> ${show(wantDev)}`);
  if (!d.fdb && d.onlink !== k.onlink) reasons.push(`onlink ${k.onlink} -> ${d.onlink}`);
  return { reasons, recreate: false };
}

/** The spec to send for a desired nexthop with its id (names resolved; no protocol: apply adds the owner's). */
export function specOf(d: PreparedNexthop, id: number, ids: ReadonlyMap<string, number>): NexthopObjectSpec {
  const s = d.spec as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(s)) if (k !== 'name' && k !== 'protocol' && k !== 'group' && k !== 'id') out[k] = s[k];
  out.id = id;
  if (d.group) {
    out.group = d.members.map((m) => ({ id: m.name !== undefined ? ids.get(m.name)! : m.id!, weight: m.weight }));
    return out as unknown as NexthopGroupSpec;
  }
  return out as unknown as SingleNexthopSpec;
}

/** "node-7 (id 268501234)" or "id 5". */
function keyOf(d: PreparedNexthop, id: number): string {
  return d.name !== undefined ? `${d.name} (id ${id})` : `id ${id}`;
}

/** Desired nexthops against the kernel's: ids for names, ops, conflicts. Publishes the ids. */
export function diffNexthops(desired: PreparedNexthops, kernel: readonly NexthopObject[], view: LinkView, ctx: KindContext): KindDiff<NexthopOp, NexthopConflict> {
  const protocol = ctx.owner.protocol;
  const byId = new Map<number, NexthopObject>();
  for (const k of kernel) byId.set(k.id, k);
  // Names: single nexthops first (a group's members must have ids to be compared).
  const named = desired.list.filter((d) => d.id === undefined && d.name !== undefined);
  named.sort((a, b) => (a.group !== b.group ? (a.group ? 1 : -1) : a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : 0));
  const byName = new Map<string, PreparedNexthop>();
  for (const d of desired.list) if (d.name !== undefined) byName.set(d.name, d);
  const holder = (name: string, id: number, given: ReadonlyMap<string, number>): IdHolder => {
    const k = byId.get(id);
    if (k === undefined) return 'free';
    if (k.protocol !== protocol) return 'foreign';
    return compare(byName.get(name)!, k, view, given).reasons.length === 0 ? 'ours-equal' : 'ours-different';
  };
  const allocated = allocateNamedIds(
    protocol,
    ctx.owner.name,
    named.map((d) => d.name!),
    new Set(desired.ids.explicit.keys()),
    holder,
  );
  const ids = new Map<string, number>(allocated);
  for (const d of desired.list) if (d.id !== undefined && d.name !== undefined) ids.set(d.name, d.id);

  const ops: NexthopOp[] = [];
  const conflicts: NexthopConflict[] = [];
  const wanted = new Set<number>();
  const recreated = new Set<number>();
  for (const d of desired.list) {
    const id = d.id ?? ids.get(d.name!)!;
    wanted.add(id);
    const spec = specOf(d, id, ids);
    const key = keyOf(d, id);
    if (d.dev !== undefined && view.status(d.dev) === 'foreign') {
      conflicts.push({ kind: 'nexthop', key, reason: `on ${view.name(d.dev)}, a link another owner holds`, desired: spec, actual: byId.get(id) });
      continue;
    }
    const k = byId.get(id);
    if (k === undefined) {
      ops.push({ kind: 'nexthop', action: 'create', key, reason: 'missing', desired: spec });
      continue;
    }
    if (k.protocol !== protocol) {
      if (!ctx.adoptConflicts) {
        conflicts.push({ kind: 'nexthop', key, reason: `held by protocol ${k.protocol}`, desired: spec, actual: k });
        continue;
      }
      const diff = compare(d, k, view, ids);
      if (diff.recreate) recreated.add(id);
      ops.push({ kind: 'nexthop', action: diff.recreate ? 'recreate' : 'update', key, reason: `adopt from protocol ${k.protocol}`, desired: spec, actual: k, adopt: true });
      continue;
    }
    // Ours on a link that goes away: it goes with the link; replace puts it back either way.
    if (k.kind === 'single' && k.dev !== undefined && view.vanishing.has(k.dev)) {
      ops.push({ kind: 'nexthop', action: 'update', key, reason: `re-added: ${view.name(k.dev)} goes away`, desired: spec, actual: k });
      continue;
    }
    const diff = compare(d, k, view, ids);
    if (diff.reasons.length === 0) continue;
    if (diff.recreate) recreated.add(id);
    ops.push({ kind: 'nexthop', action: diff.recreate ? 'recreate' : 'update', key, reason: diff.reasons.join(', '), desired: spec, actual: k });
  }
  for (const k of kernel) {
    if (k.protocol !== protocol || wanted.has(k.id)) continue;
    if (k.kind === 'single' && k.dev !== undefined && (view.foreign.has(k.dev) || view.vanishing.has(k.dev))) continue; // another owner's link, or it goes with its link
    ops.push({ kind: 'nexthop', action: 'delete', key: `id ${k.id}`, reason: 'not desired any more', actual: k });
  }
  desired.ids.set(ids, recreated);
  desired.current = wanted;
  return { ops, conflicts };
}
