/**
 * The route kind reconciled key by key (engine ScopedKind): a node joining costs the other
 * hosts a lookup of its route, not a dump of every route.
 *
 * A key is the route's identity key (desired-index.ts routeKey: table, family, dst, tos,
 * metric); it names no device. The kernel has no exact-key get for routes: a key is read with
 * a FIB lookup of the first address of its prefix (routes.getMany, RTM_F_FIB_MATCH), which
 * answers with the route a packet to it matches after the policy rules. That answer settles the
 * key in two cases only, and every other answer makes planKeys say "cannot" (undefined: the
 * engine then reads the kind whole):
 *
 * - the match has exactly the key (main table, same prefix, tos 0, same metric, unicast, one
 *   path): it is the route on the key, compared as the full diff compares it. For IPv4 one
 *   kernel-filtered dump of the local table's unicast routes (normally none) rules out a
 *   local-table route, which a lookup reports as main's while no policy rule was ever added;
 * - the match is a less specific route of the main table, or no route matched (ENETUNREACH)
 *   while every policy rule is an unconditional lookup and main has no throw route: main's
 *   longest live match for the address is shorter than the key's prefix, or there is none, so
 *   no live route holds the key. Routes a lookup passes over although they exist are ruled out
 *   first: those on a device that is up without carrier (ignore_routes_with_linkdown) are
 *   dumped per such device (few), and an IPv6 answer counts only with IPv6 forwarding on (else
 *   a gateway whose neighbour FAILED is passed over).
 *
 * Refused: keys outside the main table, tos, default routes, multipath routes (desired or
 * found), and answers that are errors (blackhole/unreachable/prohibit, a rule's action), more
 * specific routes, the same prefix with another metric or type, other tables.
 *
 * What a lookup cannot see: a second route on one key (added with NLM_F_APPEND by someone
 * else). The full read deletes a second route of ours on a key; the lookup sees the first one
 * only. The reconciler itself never adds a second route on a key.
 */
import { insertedAt, removedBy, type Edit } from '../../engine/edits';
import { constants as osConstants } from 'node:os';
import { IFF_LOWER_UP, IFF_UP, RT_TABLE_LOCAL, RT_TABLE_MAIN } from '../../../rtnl/constants';
import type { Rtnl } from '../../../rtnl/rtnl';
import type { Rule } from '../../../rtnl/rule/types';
import type { Route } from '../../../rtnl/types';
import { NetlinkError } from '../../../wire/errors';
import type { KindContext, LinkView, ScopedDiff, ScopedKind } from '../../engine/kind';
import { defaultMetric, keyOfRoute, routeKey } from './desired-index';
import { decideExtra, decideFound, decideHeld, decideMissing, routeSettles } from './diff';
import type { RouteTypes } from './index';
import { isDeepFrozen, sameFrozen } from '../../../values/plain';
import { ipv6ForwardingAll } from './netconf';
import { goesWithLink } from './observe';
import type { PreparedRoutes } from './prepare';
import type { PreparedRoute } from './prepared';
import type { RouteConflict, RouteOp } from './types';

const { ENETUNREACH } = osConstants.errno;

/** The key of a desired route. */
export function keyOfPrepared(d: PreparedRoute): string {
  return routeKey(d.table, d.family, d.dst, d.tos, d.metric);
}

/** A key to read: its parts, the address to look up, and the desired route on it. */
interface Ask {
  key: string;
  family: number;
  dst: string;
  /** The prefix length of dst. */
  length: number;
  metric: number;
  /** The first address of dst. */
  address: string;
  /** The desired route's position, or -1. */
  at: number;
  d: PreparedRoute | undefined;
}

/** A key's parts when it is one planKeys can read (main table, tos 0, a prefix, one path desired), else undefined. */
function askOf(key: string, desired: PreparedRoutes): Ask | undefined {
  const parts = key.split(' ');
  if (parts.length !== 5) return undefined;
  const [table, family, dst, tos, metric] = parts;
  if (table !== String(RT_TABLE_MAIN) || tos !== '0' || (family !== '4' && family !== '6')) return undefined;
  const slash = dst.indexOf('/');
  const length = slash < 0 ? -1 : Number(dst.slice(slash + 1));
  if (!(length > 0)) return undefined; // "default" and anything not a prefix
  const m = Number(metric);
  if (!Number.isInteger(m) || m < 0) return undefined;
  const at = desired.index.find(RT_TABLE_MAIN, Number(family), dst, 0, m);
  const d = at >= 0 ? desired.list[at] : undefined;
  // Multipath: what a lookup returns of one is not proven equal to what a dump returns.
  if (d !== undefined && (d.nexthopRefs.length > 0 || (d.spec.nexthops?.length ?? 0) > 1)) return undefined;
  return { key, family: Number(family), dst, length, metric: m, address: dst.slice(0, slash), at, d };
}

function prefixLength(dst: string): number {
  if (dst === 'default') return 0;
  const slash = dst.indexOf('/');
  return slash < 0 ? -1 : Number(dst.slice(slash + 1));
}

/** What a lookup says of a key: the route on it, that none is on it, that no route matched
 * (ENETUNREACH: absent if the rules took the lookup to the main table), or undefined (cannot tell). */
type Answer = { route: Route } | 'absent' | 'no route' | undefined;

function answerOf(ask: Ask, got: Route | Error): Answer {
  if (got instanceof NetlinkError && got.errno === ENETUNREACH) return 'no route';
  if (got instanceof Error) return undefined;
  if (got.table !== RT_TABLE_MAIN || got.family !== ask.family) return undefined;
  const len = prefixLength(got.dst);
  if (len < 0) return undefined;
  if (len < ask.length) return 'absent'; // main's longest live match is shorter than the key
  if (got.dst !== ask.dst || got.tos !== 0 || (got.metric ?? defaultMetric(got.family)) !== ask.metric) return undefined;
  if (got.type !== 'unicast' || got.nexthops !== undefined) return undefined;
  return { route: got };
}

/** Links that are up without carrier: their routes may be passed over by a lookup (linkdown). */
function carrierless(view: LinkView): number[] {
  const out: number[] = [];
  for (const l of view.links) if ((l.flags & IFF_UP) !== 0 && (l.flags & IFF_LOWER_UP) === 0) out.push(l.index);
  return out;
}

/** Whether a rule only sends every lookup to its table: no selector, no suppression. */
function unconditionalLookup(r: Rule): boolean {
  return (
    r.action === 'lookup' &&
    !r.not &&
    r.tos === 0 &&
    !r.l3mdev &&
    r.from === undefined &&
    r.to === undefined &&
    r.iif === undefined &&
    r.oif === undefined &&
    r.fwmark === undefined &&
    r.ipProto === undefined &&
    r.sport === undefined &&
    r.dport === undefined &&
    r.uidRange === undefined &&
    r.suppressPrefixLength === undefined &&
    r.suppressIfgroup === undefined
  );
}

/**
 * Whether "no route matched" (ENETUNREACH) means that the main table holds no route for the
 * address: every rule of the family is an unconditional lookup (so none ends the lookup early,
 * an `unreachable` rule answering ENETUNREACH too) and one of them is main's, and main has no
 * throw route (which sends the lookup on to the next rule without a match).
 */
async function noRouteMeansAbsent(nl: Rtnl, family: 4 | 6): Promise<boolean> {
  const rules = await nl.rules.list({ family });
  if (!rules.every(unconditionalLookup) || !rules.some((r) => r.table === RT_TABLE_MAIN)) return false;
  return (await nl.routes.list({ family, table: RT_TABLE_MAIN, type: 'throw' })).length === 0;
}

/**
 * Whether the IPv4 routes the lookups found on their keys are main's. Until a policy rule is
 * added the kernel keeps the local table in main's trie, and a lookup reports a local-table
 * route found there as main's: a unicast route of the local table on a key would pass for
 * main's (local and broadcast routes are refused by type). One dump, filtered in the kernel.
 */
async function mainOnly(nl: Rtnl, asks: readonly Ask[], answers: readonly Answer[]): Promise<boolean> {
  const found = new Set<string>();
  for (let k = 0; k < asks.length; k++) if (asks[k].family === 4 && typeof answers[k] === 'object') found.add(asks[k].dst);
  if (found.size === 0) return true;
  const local = await nl.routes.list({ family: 4, table: RT_TABLE_LOCAL, type: 'unicast' });
  return !local.some((r) => found.has(r.dst));
}

/**
 * Whether a lookup that found a key absent can be trusted: no route on those keys sits on a
 * link without carrier, and IPv6 forwarding is on for IPv6 keys.
 */
async function absenceHolds(nl: Rtnl, absent: Ask[], view: LinkView): Promise<boolean> {
  if (absent.length === 0) return true;
  if (absent.some((a) => a.family === 6) && (await ipv6ForwardingAll(nl)) !== true) return false;
  const devs = carrierless(view);
  if (devs.length === 0) return true;
  const keys = new Set(absent.map((a) => a.key));
  for (const dev of devs) {
    const routes = await nl.routes.list({ table: RT_TABLE_MAIN, dev });
    for (const r of routes) if (keys.has(keyOfRoute(r))) return false;
  }
  return true;
}

/** planKeys: see the module's comment. */
async function planRouteKeys(nl: Rtnl, desired: PreparedRoutes, keys: ReadonlySet<string>, view: LinkView, ctx: KindContext): Promise<ScopedDiff<RouteOp, RouteConflict> | undefined> {
  const asks: Ask[] = [];
  for (const key of keys) {
    const ask = askOf(key, desired);
    if (ask === undefined) return undefined;
    asks.push(ask);
  }
  const ops: RouteOp[] = [];
  const conflicts: RouteConflict[] = [];
  if (asks.length === 0) return { ops, conflicts, read: 0 };
  const got = await nl.routes.getMany(asks.map((a) => a.address));
  const answers: Answer[] = [];
  const absent: Ask[] = [];
  const noRoute = new Set<4 | 6>();
  for (let k = 0; k < asks.length; k++) {
    const answer = answerOf(asks[k], got[k]);
    if (answer === undefined) return undefined;
    answers.push(answer);
    if (answer === 'no route') noRoute.add(asks[k].family === 6 ? 6 : 4);
    if (answer !== 'absent' && answer !== 'no route') continue;
    absent.push(asks[k]);
  }
  for (const family of noRoute) if (!(await noRouteMeansAbsent(nl, family))) return undefined;
  if (!(await mainOnly(nl, asks, answers))) return undefined;
  if (!(await absenceHolds(nl, absent, view))) return undefined;

  // As the full diff decides (diff.ts), in its order: desired routes by position, then deletions.
  const protocol = ctx.owner.protocol;
  const ids = desired.nexthopIds;
  const foreignLinks = view.foreign.size > 0;
  const order = asks.map((_, k) => k).sort((a, b) => position(asks[a]) - position(asks[b]));
  for (const k of order) {
    const { d } = asks[k];
    const answer = answers[k];
    const have = typeof answer === 'object' ? answer.route : undefined;
    if (have === undefined) {
      if (d) decideMissing(d, undefined, view, ids, foreignLinks, ops, conflicts);
    } else if (have.protocol === protocol) {
      // Ours on a link that goes away: re-added if desired, else it goes with the link.
      if (goesWithLink(have, view)) {
        if (d) decideMissing(d, have, view, ids, foreignLinks, ops, conflicts);
      } else if (d) decideFound(d, have, view, protocol, ids, foreignLinks, ops, conflicts);
      else decideExtra(have, view, ids, foreignLinks, ops);
    } else if (d && decideMissing(d, undefined, view, ids, foreignLinks, ops, conflicts) && !goesWithLink(have, view)) {
      // Another protocol's route holds the key: the create becomes a conflict or an adoption.
      const create = ops.pop() as RouteOp & { action: 'create' };
      const held = decideHeld(create, have, ctx.adoptConflicts);
      if ('action' in held) ops.push(held);
      else conflicts.push(held);
    }
  }
  return { ops, conflicts, read: asks.length };
}

/** Desired routes first in their order, then keys desired by none (deletions). */
function position(a: Ask): number {
  return a.at >= 0 ? a.at : Number.MAX_SAFE_INTEGER;
}

/** isDeepFrozen for a validated spec, whose only field holding objects is nexthops: one
 * Object.isFrozen for the common route (100k of them are checked per change). */
export function isFrozenRouteSpec(spec: { readonly nexthops?: unknown }): boolean {
  return Object.isFrozen(spec) && (spec.nexthops === undefined || isDeepFrozen(spec.nexthops));
}

/**
 * The keys whose desired routes differ between prev and next; undefined when a spec handed
 * again is not frozen (it may have changed in place since prev: values/plain.ts). One pass over
 * next: a route whose spec is the very object at prev's position (the overlay hands the same
 * frozen specs for unchanged routes) costs an identity check; any other is found by key in
 * prev's index and is unchanged only when both specs are frozen and equal (sameFrozen). Prev's
 * positions no route of next matched are removed keys. A key counted as changed when it is not
 * costs a lookup; one missed would be a wrong plan.
 */
export function changedRouteKeys(prev: PreparedRoutes, next: PreparedRoutes, edits?: readonly Edit[]): string[] | undefined {
  if (prev === next) return [];
  if (edits !== undefined) return editedRouteKeys(prev, next, edits);
  const before = prev.list;
  const after = next.list;
  const seen = new Uint8Array(before.length);
  const out: string[] = [];
  let j = 0; // prev's position expected next: insertions and removals move it on
  for (let i = 0; i < after.length; i++) {
    const d = after[i];
    if (j < before.length && seen[j] === 0 && before[j].spec === d.spec && before[j].nexthopName === d.nexthopName) {
      if (!isFrozenRouteSpec(d.spec)) return undefined; // handed again, but perhaps changed in place
      seen[j++] = 1;
      continue;
    }
    const at = prev.index.find(d.table, d.family, d.dst, d.tos, d.metric);
    if (at < 0 || seen[at] !== 0) {
      out.push(keyOfPrepared(d));
      continue;
    }
    seen[at] = 1;
    if (at >= j) j = at + 1;
    const was = before[at];
    if (was.nexthopName !== d.nexthopName || !sameFrozen(was.spec, d.spec)) out.push(keyOfPrepared(d));
  }
  for (let k = 0; k < before.length; k++) if (seen[k] === 0) out.push(keyOfPrepared(before[k]));
  return out;
}

/**
 * changedRouteKeys of a list patched from prev (KindModule.patch): the keys of the routes the
 * edits put in whose key prev had with another spec or not at all, and of those they took out
 * whose key next does not have. A patch refuses an inserted route on the key of a route it keeps,
 * so an inserted route's key in prev is one the edits took out.
 */
function editedRouteKeys(prev: PreparedRoutes, next: PreparedRoutes, edits: readonly Edit[]): string[] {
  const out: string[] = [];
  for (const k of insertedAt(edits)) {
    const d = next.list[k];
    const at = prev.index.find(d.table, d.family, d.dst, d.tos, d.metric);
    if (at < 0 || prev.list[at].nexthopName !== d.nexthopName || !sameFrozen(prev.list[at].spec, d.spec)) out.push(keyOfPrepared(d));
  }
  for (const k of removedBy(edits)) {
    const r = prev.list[k];
    if (next.index.find(r.table, r.family, r.dst, r.tos, r.metric) < 0) out.push(keyOfPrepared(r));
  }
  return out;
}

/** The route kind's ScopedKind. */
export const scopedRoutes: ScopedKind<RouteTypes> = {
  eventKey: (route) => keyOfRoute(route),
  changedKeys: (prev, next, _view, edits) => changedRouteKeys(prev, next, edits),
  planKeys: planRouteKeys,
  settledBy: (route, action, desired, _key, view, ctx) => routeSettles(desired, route, action, view, ctx.owner.protocol),
};
