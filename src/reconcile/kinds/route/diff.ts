/**
 * The routes this reconciler owns against the desired ones, into ops. O(n): the read has
 * matched every owned route to its desired position (observe.ts); what is left here is to
 * compare the ones that did not settle, and to decide the rest.
 *
 * Ownership: only routes carrying the reconciler's protocol are replaced or deleted. A route of
 * another protocol on a desired key is a conflict, left alone unless adoptConflicts is set; so
 * is a desired route through another owner's link, and the owned routes on such a link are left
 * as they are (nothing on a foreign link is touched).
 */
import type { DeviceRef, Route } from '../../../rtnl/types';
import type { EventSettles, KindContext, KindDiff, LinkView } from '../../engine/kind';
import { keyOfRoute, routeKey } from './desired-index';
import { goesWithLink, type ObservedRoutes } from './observe';
import type { PreparedRoutes } from './prepare';
import { expectedOf, resolvedSpec, wantedNhid, type PreparedRoute } from './prepared';
import type { NexthopIds } from '../nexthop/ids';
import type { RouteConflict, RouteOp } from './types';

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  if (Array.isArray(v)) return v.join('-');
  return String(v);
}

/**
 * A route's comparable fields (everything outside its key) as one string, devices by name.
 * Comparing one string per route keeps a no-op reconcile of 100k routes cheap; the detailed
 * reason is only worked out for routes that differ. dev '*' means "any": a route given only a
 * gateway gets its device from the kernel's lookup.
 */
function signature(r: Route, dev: string, nexthopDevs: string[]): string {
  let sig = `${r.via ?? ''}|${dev}|${r.onlink ? 1 : 0}|${r.type}|${r.scope}|${r.prefsrc ?? ''}|${r.mtu ?? ''}|${r.advmss ?? ''}`;
  if (r.nexthops) r.nexthops.forEach((h, i) => (sig += `|${h.via ?? ''}@${nexthopDevs[i]}/${h.weight}${h.onlink ? 'o' : ''}`));
  return sig;
}

function refName(view: LinkView, ref: DeviceRef | undefined): string {
  return ref === undefined ? '' : view.name(ref);
}

/** The desired side: the route as the kernel will report it, devices named as in the spec. */
function desiredSignature(d: PreparedRoute, e: Route, view: LinkView): string {
  // No device in the spec: the kernel picks one (or, for IPv6 blackholes and the like, lo).
  const dev = d.devRef !== undefined ? refName(view, d.devRef) : e.nexthops ? '' : e.dev === 1 ? 'lo' : '*';
  return signature(e, dev, d.nexthopRefs.map((r) => (r === undefined ? '*' : refName(view, r))));
}

function actualSignature(r: Route, view: LinkView, anyDev: boolean, anyNexthopDev: boolean[]): string {
  const dev = anyDev ? '*' : r.dev === undefined ? '' : view.name(r.dev);
  return signature(r, dev, (r.nexthops ?? []).map((h, i) => (anyNexthopDev[i] || h.dev === undefined ? '*' : view.name(h.dev))));
}

/** The common shape compared field by field: no strings built, nothing allocated. */
function simpleMatches(d: PreparedRoute, have: Route, view: LinkView): boolean {
  return (
    have.via === d.gateway &&
    have.dev !== undefined &&
    view.byIndex.get(have.dev)?.name === d.devRef &&
    have.onlink === d.onlink &&
    have.type === 'unicast' &&
    have.scope === 0 &&
    have.prefsrc === undefined &&
    have.mtu === undefined &&
    have.advmss === undefined &&
    have.nexthops === undefined &&
    have.nhid === undefined
  );
}

/** Field by field, for the reason text of a route that differs. */
function routeDiffs(want: Route, wantDev: string, have: Route, haveDev: string): string[] {
  const out: string[] = [];
  const cmp = (name: string, a: unknown, b: unknown) => {
    if (!same(a, b)) out.push(`${name} ${show(b)} -> ${show(a)}`);
  };
  cmp('via', want.via, have.via);
  if (wantDev !== '*') cmp('dev', wantDev || undefined, haveDev || undefined);
  cmp('onlink', want.onlink, have.onlink);
  cmp('type', want.type, have.type);
  cmp('scope', want.scope, have.scope);
  cmp('prefsrc', want.prefsrc, have.prefsrc);
  cmp('mtu', want.mtu, have.mtu);
  cmp('advmss', want.advmss, have.advmss);
  const nh = (r: Route) => (r.nexthops ?? []).map((h) => `${h.via ?? ''}/${h.weight}${h.onlink ? ' onlink' : ''}`).join(',');
  if (nh(want) !== nh(have)) out.push(`nexthops ${nh(have) || '(none)'} -> ${nh(want) || '(none)'}`);
  return out.length ? out : ['nexthop devices differ'];
}

const tableSuffixes = new Map<number, string>();
// The last table's suffix: a plan of 100k keys is nearly all one table (no lookup per key).
let lastTable = -1;
let lastSuffix = '';
/** "10.1.0.0/24 table 254": one concatenation (the suffix is made once per table). */
export function readableKey(dst: string, table: number): string {
  if (table === lastTable) return dst + lastSuffix;
  let suffix = tableSuffixes.get(table);
  if (suffix === undefined) {
    suffix = ` table ${table}`;
    if (tableSuffixes.size < 1024) tableSuffixes.set(table, suffix);
  }
  lastTable = table;
  lastSuffix = suffix;
  return dst + suffix;
}

/** Whether the desired nexthop a route is on is a blackhole (or a group of one). */
function onBlackhole(d: PreparedRoute, want: number | undefined, ids: NexthopIds): boolean {
  const facts = d.nexthopName !== undefined ? ids.declared.get(d.nexthopName) : want !== undefined ? ids.explicit.get(want) : undefined;
  return facts?.blackhole === true;
}

/**
 * A route on a nexthop object against the kernel's: its nhid and what is not the path (the
 * kernel reports the nexthop's gateway and device too, which are the nexthop kind's business).
 */
function compareNhidRoute(d: PreparedRoute, have: Route, ids: NexthopIds, protocol: number): RouteOp | undefined {
  const want = wantedNhid(d, ids);
  const e = expectedOf(d, protocol);
  const out: string[] = [];
  if (have.nhid !== want) out.push(have.nhid === undefined ? `${have.nexthops ? 'multipath' : `via ${have.via ?? '(none)'}`} -> nhid ${String(want)}` : `nhid ${have.nhid} -> ${String(want)}`);
  else if (want !== undefined && ids.recreated.has(want)) out.push(`re-added: nexthop ${want} is recreated`);
  // The kernel reports a route on a blackhole nexthop (or a group of one) as type blackhole.
  if (e.type !== have.type && !(e.type === 'unicast' && have.type === 'blackhole' && have.nhid === want && onBlackhole(d, want, ids))) out.push(`type ${have.type} -> ${e.type}`);
  if (e.scope !== have.scope) out.push(`scope ${have.scope} -> ${e.scope}`);
  if (e.prefsrc !== have.prefsrc) out.push(`prefsrc ${show(have.prefsrc)} -> ${show(e.prefsrc)}`);
  if (e.mtu !== have.mtu) out.push(`mtu ${show(have.mtu)} -> ${show(e.mtu)}`);
  if (e.advmss !== have.advmss) out.push(`advmss ${show(have.advmss)} -> ${show(e.advmss)}`);
  if (out.length === 0) return undefined;
  return { action: 'update', kind: 'route', key: readableKey(d.dst, d.table), reason: out.join(', '), desired: resolvedSpec(d, ids), actual: have };
}

/** An update op when the kernel's route differs from the desired one, else undefined. */
function compareRoute(d: PreparedRoute, have: Route, view: LinkView, protocol: number, ids: NexthopIds): RouteOp | undefined {
  if (d.simple && simpleMatches(d, have, view)) return undefined;
  if (d.spec.nhid !== undefined) return compareNhidRoute(d, have, ids, protocol);
  const readable = readableKey(d.dst, d.table);
  // On a nexthop object, though the path is the desired one: back to a path of its own.
  if (have.nhid !== undefined) return { action: 'update', kind: 'route', key: readable, reason: `nhid ${have.nhid} -> its own path`, desired: d.spec, actual: have };
  // A device that does not exist yet (created in this apply) cannot carry the route now.
  if (d.devs.some((x) => view.index(x) === undefined)) {
    return { action: 'update', kind: 'route', key: readable, reason: 'its device appears', desired: d.spec, actual: have };
  }
  const e = expectedOf(d, protocol);
  const want = desiredSignature(d, e, view);
  const anyDev = d.devRef === undefined && !e.nexthops && e.dev !== 1;
  const got = actualSignature(have, view, anyDev, d.nexthopRefs.map((r) => r === undefined));
  if (want === got) return undefined;
  const reason = routeDiffs(e, want.split('|')[1], have, got.split('|')[1]).join(', ');
  return { action: 'update', kind: 'route', key: readable, reason, desired: d.spec, actual: have };
}

/** The first of the route's devices that another owner holds, if any. */
function foreignDevice(d: PreparedRoute, view: LinkView): DeviceRef | undefined {
  for (let k = 0; k < d.devs.length; k++) if (view.status(d.devs[k]) === 'foreign') return d.devs[k];
  return undefined;
}

/**
 * Owned routes on vanishing links by identity key (few: what sat on a link that goes away).
 */
class VanishingRoutes {
  private readonly byKey = new Map<string, Route>();
  constructor(routes: Route[]) {
    for (const r of routes) this.byKey.set(keyOfRoute(r), r);
  }
  /** Finds and removes the route on a desired key. */
  take(d: PreparedRoute): Route | undefined {
    if (this.byKey.size === 0) return undefined;
    const k = routeKey(d.table, d.family, d.dst, d.tos, d.metric);
    const r = this.byKey.get(k);
    if (r) this.byKey.delete(k);
    return r;
  }
}

/*
 * The decisions on one key, shared by the whole diff below and the scoped read of some keys
 * (scoped.ts): each pushes what it decides onto ops or conflicts. foreignLinks: whether the
 * view has any link another owner holds (view.foreign.size > 0).
 */

/** A desired route found among ours as `have`, not settled by the read: an update, or a
 * conflict when it goes through another owner's link; nothing when equal. */
export function decideFound(d: PreparedRoute, have: Route, view: LinkView, protocol: number, ids: NexthopIds, foreignLinks: boolean, ops: RouteOp[], conflicts: RouteConflict[]): void {
  const op = compareRoute(d, have, view, protocol, ids);
  if (!op) return;
  const held = foreignLinks ? foreignDevice(d, view) : undefined;
  if (held !== undefined) conflicts.push(onForeign(d, held, view, have));
  else ops.push(op);
}

/**
 * A desired route none of ours holds (was: our route on its key on a link that goes away, if
 * any): re-added, a conflict when it goes through another owner's link, or a create. Returns
 * true for a create (a route of another protocol on the key may still make it a conflict or an
 * adoption: decideHeld).
 */
export function decideMissing(d: PreparedRoute, was: Route | undefined, view: LinkView, ids: NexthopIds, foreignLinks: boolean, ops: RouteOp[], conflicts: RouteConflict[]): boolean {
  if (was) {
    const name = was.dev === undefined ? 'its link' : view.name(was.dev);
    const reason = d.spec.dev === name ? `re-added: ${name} is recreated` : `moves off ${name}, which goes away`;
    ops.push({ action: 'update', kind: 'route', key: readableKey(d.dst, d.table), reason, desired: resolvedSpec(d, ids), actual: was });
    return false;
  }
  const held = foreignLinks ? foreignDevice(d, view) : undefined;
  if (held !== undefined) {
    conflicts.push(onForeign(d, held, view, undefined));
    return false;
  }
  // The spec as given: the reconciler's protocol is added when it is sent (apply.ts).
  ops.push({ action: 'create', kind: 'route', key: readableKey(d.dst, d.table), reason: 'missing', desired: resolvedSpec(d, ids) });
  return true;
}

/** One of our routes on no desired key (or a second one on a key): deleted, unless it is on
 * another owner's link or goes with a nexthop that is recreated. */
export function decideExtra(r: Route, view: LinkView, ids: NexthopIds, foreignLinks: boolean, ops: RouteOp[]): void {
  if (foreignLinks && ((r.dev !== undefined && view.foreign.has(r.dev)) || (r.nexthops ?? []).some((h) => h.dev !== undefined && view.foreign.has(h.dev)))) return; // nothing on another owner's link is touched
  if (r.nhid !== undefined && ids.recreated.has(r.nhid)) return; // the kernel removes it with its nexthop
  ops.push({ action: 'delete', kind: 'route', key: readableKey(r.dst, r.table), reason: 'not desired any more', actual: r });
}

/** A create (decideMissing) whose key a route of another protocol holds, f: with adoptConflicts
 * the update that replaces it with ours, else the conflict (and the create is dropped). */
export function decideHeld(op: RouteOp & { action: 'create' }, f: Route, adopt: boolean): RouteOp | RouteConflict {
  if (adopt) return { action: 'update', kind: 'route', key: op.key, reason: `adopt from protocol ${f.protocol}`, desired: op.desired, actual: f, adopt: true };
  return { kind: 'route', key: op.key, reason: `held by protocol ${f.protocol}`, desired: op.desired, actual: f };
}

/**
 * ScopedKind.settledBy for routes, of our route `have`: new or changed, whether it is the
 * desired route on its key by the diff's own comparison (decideFound: compareRoute makes no op,
 * so no conflict either); deleted, whether nothing is desired on its key. On no link that goes
 * away or another owner holds; not for routes on nexthop objects (their ids come with each
 * plan) nor multipath ones. A key may hold a second route (added with NLM_F_APPEND), whose own
 * events name it: the event speaks for its own route only ('object').
 */
export function routeSettles(desired: PreparedRoutes, have: Route, action: 'new' | 'del', view: LinkView, protocol: number): EventSettles {
  if (have.protocol !== protocol || have.nhid !== undefined || have.nexthops !== undefined) return false;
  if (have.dev !== undefined && (view.vanishing.has(have.dev) || view.foreign.has(have.dev))) return false;
  const pos = desired.index.findRoute(have);
  if (action === 'del') return pos < 0 ? 'object' : false;
  if (pos < 0) return false;
  const d = desired.list[pos];
  if (d.spec.nhid !== undefined || d.nexthopName !== undefined) return false;
  return compareRoute(d, have, view, protocol, desired.nexthopIds) === undefined ? 'object' : false;
}

/** Desired routes against what the read found: ops and conflicts. */
export function diffRoutes(desired: PreparedRoutes, obs: ObservedRoutes, view: LinkView, ctx: KindContext): KindDiff<RouteOp, RouteConflict> {
  const ops: RouteOp[] = [];
  const conflicts: RouteConflict[] = [];
  const { list, marks } = desired;
  const protocol = ctx.owner.protocol;
  const ids = desired.nexthopIds;
  const foreignLinks = view.foreign.size > 0;

  const leaving = new VanishingRoutes(obs.onVanishing);
  // Desired position -> 1 + index in ops of its create (0: none), kept only when foreign routes
  // were read (a namespace always has the kernel's own): a typed array, not a Map of 100k entries.
  const creates = obs.foreign.length ? new Int32Array(list.length) : undefined;
  let createCount = 0;
  for (let i = 0; i < list.length; i++) {
    const d = list[i];
    if (marks.found(i)) {
      const have = marks.actual(i);
      if (have !== undefined) decideFound(d, have, view, protocol, ids, foreignLinks, ops, conflicts); // else settled equal by the read
      continue;
    }
    const created = decideMissing(d, leaving.take(d), view, ids, foreignLinks, ops, conflicts);
    if (created && creates) {
      creates[i] = ops.length; // 1 + the create's index
      createCount++;
    }
  }
  // Deletions last: they run in a later stage, and a plan already in stage order is not copied.
  for (const r of obs.extra) decideExtra(r, view, ids, foreignLinks, ops);
  if (!creates || createCount === 0) return { ops, conflicts };
  const drop = checkForeignRoutes(ops, conflicts, creates, desired, obs.foreign, view, ctx);
  return { ops: drop.size ? ops.filter((_, k) => !drop.has(k)) : ops, conflicts };
}

function onForeign(d: PreparedRoute, dev: DeviceRef, view: LinkView, have: Route | undefined): RouteConflict {
  return { kind: 'route', key: readableKey(d.dst, d.table), reason: `through ${view.name(dev)}, a link another owner holds`, desired: d.spec, actual: have };
}

/**
 * A create whose key a route of another protocol holds: a conflict (left alone), or with
 * adoptConflicts an update that replaces it with ours. Works from the foreign routes (usually
 * few) through the desired index, so a plan of 100k creates costs no extra list. Returns the
 * positions in ops of the creates that became conflicts.
 */
function checkForeignRoutes(
  ops: RouteOp[],
  conflicts: RouteConflict[],
  creates: Int32Array,
  desired: PreparedRoutes,
  foreign: Route[],
  view: LinkView,
  ctx: KindContext,
): Set<number> {
  const drop = new Set<number>();
  for (const f of foreign) {
    if (goesWithLink(f, view)) continue;
    const at = desired.index.findRoute(f);
    const k = at < 0 ? -1 : creates[at] - 1;
    if (k < 0) continue; // not desired, or ours is there already
    creates[at] = 0; // one foreign route per key decides
    const op = ops[k];
    if (op.action !== 'create') continue;
    const held = decideHeld(op, f, ctx.adoptConflicts);
    if ('action' in held) ops[k] = held;
    else {
      conflicts.push(held);
      drop.add(k);
    }
  }
  return drop;
}
