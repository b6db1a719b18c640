/**
 * Desired vs observed, kind by kind, into ops. O(n) with hash maps on identity keys.
 *
 * Ownership (what may be changed or deleted):
 * - links: desired ones; deleted only when marked with the owner alias (created by us).
 * - addresses, neighbours (permanent ones), FDB entries (on vxlan devices): only on managed links.
 * - routes: only those carrying the reconciler's protocol; a foreign route on a desired key is
 *   a conflict, left alone unless adoptConflicts is set.
 */
import { planLinkChange, type LinkRefs } from '../rtnl/link';
import { canonicalAddress } from '../rtnl/route/expected';
import { NUD_NOARP, NUD_PERMANENT } from '../rtnl/constants';
import type { Address, FdbEntry, Link, LinkChanges, LinkSpec, Neighbor, Route, RouteSpec } from '../rtnl/types';
import type { Observed } from './observe';
import { expectedOf, type PreparedRoute, type PreparedState } from './prepare';
import { keyOfRoute, routeKey } from './routeindex';
import type { ObservedRoutes } from './routescan';
import type { Conflict, Op } from './types';

export interface DiffContext {
  protocol: number;
  ownerAlias: string;
  adoptConflicts: boolean;
}

export interface DiffResult {
  ops: Op[];
  conflicts: Conflict[];
}

const ZERO_MAC = '00:00:00:00:00:00';

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

function show(v: unknown): string {
  if (v === undefined) return '(none)';
  if (Array.isArray(v)) return v.join('-');
  return String(v);
}

// ------------------------------------------------------------------ links

/** Common fields links.set() changes (the rest of a change goes through links.change()). */
const SETTABLE = new Set(['mtu', 'address', 'txqueuelen', 'alias', 'master', 'up']);

/** "mtu 1500 -> 1450", "down -> up", "dev eth0 -> eth1" for one changed field. */
function describeLinkChange(f: string, actual: Link, want: LinkSpec, obs: Observed): string {
  const a = actual as unknown as Record<string, unknown>;
  const w = want as unknown as Record<string, unknown>;
  if (f === 'up') return want.up ? 'down -> up' : 'up -> down';
  if (f === 'master' || f === 'dev') {
    const have = a[f] === undefined || a[f] === 0 ? undefined : nameOf(obs, a[f] as number);
    return `${f} ${show(have)} -> ${show(w[f] ?? 'none')}`;
  }
  return `${f} ${show(a[f])} -> ${show(w[f])}`;
}

export interface LinkDiff {
  ops: Op[];
  /** Indexes of links that will be deleted or recreated: whatever is on them now goes too. */
  vanishing: Set<number>;
}

export function diffLinks(desired: PreparedState, obs: Observed, ctx: DiffContext): LinkDiff {
  const ops: Op[] = [];
  const vanishing = new Set<number>();
  const desiredNames = new Set<string>();
  for (const { spec } of desired.links) {
    desiredNames.add(spec.name);
    const want: LinkSpec = spec.alias === undefined ? { ...spec, alias: ctx.ownerAlias } : spec;
    const actual = obs.byName.get(spec.name);
    if (!actual) {
      ops.push({ action: 'create', kind: 'link', key: spec.name, reason: `missing (${describeLink(spec)})`, desired: want });
      continue;
    }
    if (actual.kind !== spec.kind) {
      vanishing.add(actual.index);
      ops.push({ action: 'recreate', kind: 'link', key: spec.name, reason: `kind ${show(actual.kind)} -> ${spec.kind}`, desired: want, actual });
      continue;
    }
    // The links layer decides what differs and what cannot change in place (canonical MACs
    // and addresses, vxlan's address-family rule, ipip's recreate cases): the same rules
    // links.change() applies, so a plan never promises an in-place change the kernel refuses
    // and a spec written in another notation (upper-case MAC, IPv6 with zeros) is not drift.
    // A device that does not exist yet resolves to -1: it differs, and apply resolves it.
    const refs: LinkRefs = {};
    const under = want.kind === 'vxlan' || want.kind === 'ipip' ? want.dev : undefined;
    if (typeof under === 'string') refs.dev = obs.byName.get(under)?.index ?? -1;
    if (typeof want.master === 'string') refs.master = obs.byName.get(want.master)?.index ?? -1;
    const plan = planLinkChange(actual, want, refs);
    if (!plan.changed.length) continue;
    const changes = plan.changed.map((f) => describeLinkChange(f, actual, want, obs));
    if (plan.recreate.length) {
      vanishing.add(actual.index);
      ops.push({
        action: 'recreate',
        kind: 'link',
        key: spec.name,
        reason: `${changes.join(', ')} (${plan.recreate.join(', ')} cannot change in place)`,
        desired: want,
        actual,
      });
      continue;
    }
    const set: LinkChanges = {};
    const setFields = set as Record<string, unknown>;
    let kindAttributes = false;
    for (const f of plan.changed) {
      if (SETTABLE.has(f)) setFields[f] = (want as unknown as Record<string, unknown>)[f];
      else kindAttributes = true;
    }
    ops.push({ action: 'update', kind: 'link', key: spec.name, reason: changes.join(', '), desired: want, actual, linkPatch: { set, kindAttributes } });
  }
  for (const l of obs.links) {
    if (l.alias === ctx.ownerAlias && !desiredNames.has(l.name)) {
      vanishing.add(l.index);
      ops.push({ action: 'delete', kind: 'link', key: l.name, reason: 'not desired any more', actual: l });
    }
  }
  return { ops, vanishing };
}

function describeLink(s: LinkSpec): string {
  if (s.kind === 'vxlan') return `vxlan vni ${s.vni}${s.port ? ` port ${s.port}` : ''}`;
  if (s.kind === 'veth') return `veth peer ${s.peer.name}`;
  return s.kind;
}

// ------------------------------------------------------------------ addresses

export function diffAddresses(desired: PreparedState, obs: Observed, vanishing: Set<number>): Op[] {
  const ops: Op[] = [];
  const actual = new Map<string, Address>();
  for (const a of obs.addresses) if (!vanishing.has(a.index)) actual.set(`${a.index} ${a.address}`, a);
  const wanted = new Set<string>();
  for (const d of desired.addresses) {
    const index = devIndex(obs, d.dev);
    const key = `${devName(obs, d.dev)} ${d.prefix}`;
    const a = index === undefined ? undefined : actual.get(`${index} ${d.prefix}`);
    if (index !== undefined) wanted.add(`${index} ${d.prefix}`);
    if (!a) {
      ops.push({ action: 'create', kind: 'address', key, reason: 'missing', desired: d.spec });
      continue;
    }
    const diffs: string[] = [];
    // Addresses compared in canonical text: "fd00:0::1" is the peer the kernel reports as "fd00::1".
    if (d.spec.broadcast !== undefined && canonicalAddress(d.spec.broadcast) !== a.broadcast) diffs.push(`broadcast ${show(a.broadcast)} -> ${d.spec.broadcast}`);
    if (d.spec.label !== undefined && d.spec.label !== a.label) diffs.push(`label ${show(a.label)} -> ${d.spec.label}`);
    if (d.spec.peer !== undefined && canonicalAddress(d.spec.peer) !== a.peer) diffs.push(`peer ${show(a.peer)} -> ${d.spec.peer}`);
    if (diffs.length) ops.push({ action: 'update', kind: 'address', key, reason: diffs.join(', '), desired: d.spec, actual: a });
  }
  for (const [k, a] of actual) {
    if (!obs.managed.has(a.index) || wanted.has(k)) continue;
    if (a.family === 6 && a.address.startsWith('fe80:')) continue; // the kernel's link-local address
    ops.push({ action: 'delete', kind: 'address', key: `${nameOf(obs, a.index)} ${a.address}`, reason: 'not desired on a managed link', actual: a });
  }
  return ops;
}

// ------------------------------------------------------------------ routes

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

function refName(obs: Observed, ref: string | number | undefined): string {
  if (ref === undefined) return '';
  return typeof ref === 'string' ? ref : nameOf(obs, ref);
}

/** The desired side: the route as the kernel will report it, devices named as in the spec. */
function desiredSignature(d: PreparedRoute, e: Route, obs: Observed): string {
  // No device in the spec: the kernel picks one (or, for IPv6 blackholes and the like, lo).
  const dev = d.devRef !== undefined ? refName(obs, d.devRef) : e.nexthops ? '' : e.dev === 1 ? 'lo' : '*';
  return signature(e, dev, d.nexthopRefs.map((r) => (r === undefined ? '*' : refName(obs, r))));
}

function actualSignature(r: Route, obs: Observed, anyDev: boolean, anyNexthopDev: boolean[]): string {
  const dev = anyDev ? '*' : r.dev === undefined ? '' : nameOf(obs, r.dev);
  return signature(r, dev, (r.nexthops ?? []).map((h, i) => (anyNexthopDev[i] || h.dev === undefined ? '*' : nameOf(obs, h.dev))));
}

/** The common shape compared field by field: no strings built, nothing allocated. */
function simpleMatches(d: PreparedRoute, have: Route, obs: Observed): boolean {
  return (
    have.via === d.gateway &&
    have.dev !== undefined &&
    obs.byIndex.get(have.dev)?.name === d.devRef &&
    have.onlink === d.onlink &&
    have.type === 'unicast' &&
    have.scope === 0 &&
    have.prefsrc === undefined &&
    have.mtu === undefined &&
    have.advmss === undefined &&
    have.nexthops === undefined
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

/**
 * Kernel routes by identity key, for the owned routes on vanishing links (few: what sat on a
 * link that goes away).
 */
class RouteIndex {
  private readonly byKey = new Map<string, Route>();

  add(r: Route): void {
    this.byKey.set(keyOfRoute(r), r);
  }

  /** Finds and removes the route on a desired key. */
  take(d: PreparedRoute): Route | undefined {
    const k = routeKey(d.table, d.family, d.dst, d.tos, d.metric);
    const r = this.byKey.get(k);
    if (r) this.byKey.delete(k);
    return r;
  }

  get size(): number {
    return this.byKey.size;
  }
}

export interface RouteDiff {
  ops: Op[];
  conflicts: Conflict[];
  /** Tables where a desired route has no owned route on its key (a foreign one may hold it). */
  missingTables: Set<number>;
}

/**
 * Second look at the routes planned for creation, once the foreign routes of their tables are
 * read: a foreign route on the key is a conflict (left alone) or, with adoptConflicts, replaced.
 * Only the creates are revisited; the rest of the diff stands. Works from the foreign routes
 * (usually few) through the desired index, so a plan of 100k creates costs no extra list.
 */
export function checkForeign(diff: RouteDiff, desired: PreparedState, foreignRoutes: Route[], vanishing: Set<number>, ctx: DiffContext): void {
  let createOf: Map<RouteSpec, Op> | undefined; // built on the first foreign route on a desired key
  const dropped = new Set<Op>();
  for (const f of foreignRoutes) {
    if (f.dev !== undefined && vanishing.has(f.dev)) continue;
    const at = desired.routeIndex.findRoute(f);
    if (at < 0) continue;
    if (!createOf) {
      createOf = new Map();
      for (const op of diff.ops) if (op.kind === 'route' && op.action === 'create') createOf.set(op.desired as RouteSpec, op);
    }
    const spec = desired.routes[at].spec;
    const op = createOf.get(spec);
    if (!op) continue; // ours is there already (an update, or equal)
    createOf.delete(spec); // one foreign route per key decides
    if (ctx.adoptConflicts) {
      op.action = 'update';
      op.reason = `adopt from protocol ${f.protocol}`;
      op.actual = f;
    } else {
      diff.conflicts.push({ kind: 'route', key: op.key, reason: `held by protocol ${f.protocol}`, desired: op.desired, actual: f });
      dropped.add(op);
    }
  }
  if (dropped.size) diff.ops = diff.ops.filter((op) => !dropped.has(op));
}

/**
 * Owned routes against desired ones. The read (observeRoutes) has already settled the routes
 * that match in the common shape, marking their desired route with its cycle; what is left
 * here is every route it could not settle.
 */
export function diffRoutes(desired: PreparedState, obs: Observed, read: ObservedRoutes, vanishing: Set<number>, ctx: DiffContext): RouteDiff {
  const ops: Op[] = [];
  const conflicts: Conflict[] = [];
  const missingTables = new Set<number>();
  const idx = desired.routeIndex;
  const routes = desired.routes;
  const cycle = read.cycle;
  // Owned routes on a link that is deleted or recreated go with it, but only when the link
  // goes, which is after the route stage for a deletion: a desired route on the same key must
  // replace it, not be added next to it (EEXIST).
  const onVanishing = new RouteIndex();
  const owned = read.owned;
  for (let k = 0; k < owned.length; k++) {
    const r = owned[k];
    if (r.dev !== undefined && vanishing.has(r.dev)) {
      onVanishing.add(r);
      continue;
    }
    const at = idx.findRoute(r);
    const d = at >= 0 ? routes[at] : undefined;
    if (!d || d.seen === cycle) {
      ops.push({ action: 'delete', kind: 'route', key: readableKey(r.dst, r.table), reason: 'not desired any more', actual: r });
      continue;
    }
    d.seen = cycle;
    d.found = r;
  }
  for (let k = 0; k < routes.length; k++) {
    const d = routes[k];
    if (d.seen === cycle) {
      const have = d.found;
      if (have === undefined) continue; // settled equal by the read
      d.found = undefined;
      const op = compareRoute(d, have, obs, ctx.protocol);
      if (op) ops.push(op);
      continue;
    }
    const leaving = onVanishing.size ? onVanishing.take(d) : undefined;
    if (leaving) {
      const was = leaving.dev === undefined ? 'its link' : nameOf(obs, leaving.dev);
      const reason = d.spec.dev === was ? `re-added: ${was} is recreated` : `moves off ${was}, which goes away`;
      ops.push({ action: 'update', kind: 'route', key: readableKey(d.dst, d.table), reason, desired: d.spec, actual: leaving });
      continue;
    }
    missingTables.add(d.table);
    // The spec as given: the reconciler's protocol is added when it is sent (applyOps).
    const op: Op = { action: 'create', kind: 'route', key: readableKey(d.dst, d.table), reason: 'missing', desired: d.spec };
    ops.push(op);
  }
  return { ops, conflicts, missingTables };
}

const tableSuffixes = new Map<number, string>();
/** "10.1.0.0/24 table 254": one concatenation (the suffix is made once per table). */
function readableKey(dst: string, table: number): string {
  let suffix = tableSuffixes.get(table);
  if (suffix === undefined) {
    suffix = ` table ${table}`;
    if (tableSuffixes.size < 1024) tableSuffixes.set(table, suffix);
  }
  return dst + suffix;
}

/** An update op when the kernel's route differs from the desired one, else undefined. */
function compareRoute(d: PreparedRoute, have: Route, obs: Observed, protocol: number): Op | undefined {
  if (d.simple && simpleMatches(d, have, obs)) return undefined;
  const readable = readableKey(d.dst, d.table);
  // A device that does not exist yet (created in this apply) cannot carry the route now.
  if (d.devs.some((x) => devIndex(obs, x) === undefined)) {
    return { action: 'update', kind: 'route', key: readable, reason: 'its device appears', desired: d.spec, actual: have };
  }
  const e = expectedOf(d, protocol);
  const want = desiredSignature(d, e, obs);
  const anyDev = d.devRef === undefined && !e.nexthops && e.dev !== 1;
  const got = actualSignature(have, obs, anyDev, d.nexthopRefs.map((r) => r === undefined));
  if (want === got) return undefined;
  const reason = routeDiffs(e, want.split('|')[1], have, got.split('|')[1]).join(', ');
  return { action: 'update', kind: 'route', key: readable, reason, desired: d.spec, actual: have };
}

// ------------------------------------------------------------------ FDB

export function diffFdb(desired: PreparedState, obs: Observed, vanishing: Set<number>): Op[] {
  const ops: Op[] = [];
  const actual = new Map<string, FdbEntry>();
  for (const e of obs.fdb) {
    if (vanishing.has(e.index) || !e.self) continue;
    if (!(e.state & (NUD_PERMANENT | NUD_NOARP))) continue; // learned entries are the kernel's
    actual.set(`${e.index} ${e.mac} ${e.dst ?? ''}`, e);
  }
  const wanted = new Set<string>();
  for (const d of desired.fdb) {
    const index = devIndex(obs, d.dev);
    const k = `${index} ${d.mac} ${d.dst}`;
    const key = `${devName(obs, d.dev)} ${d.mac}${d.dst ? ` dst ${d.dst}` : ''}`;
    if (index !== undefined) wanted.add(k);
    const have = index === undefined ? undefined : actual.get(k);
    if (!have) {
      ops.push({ action: 'create', kind: 'fdb', key, reason: 'missing', desired: d.spec });
      continue;
    }
    const diffs: string[] = [];
    const permanent = d.spec.permanent ?? true;
    if (permanent !== have.permanent) diffs.push(permanent ? 'static -> permanent' : 'permanent -> static');
    if (d.spec.vni !== undefined && d.spec.vni !== have.vni) diffs.push(`vni ${show(have.vni)} -> ${d.spec.vni}`);
    if (d.spec.port !== undefined && d.spec.port !== have.port) diffs.push(`port ${show(have.port)} -> ${d.spec.port}`);
    if (diffs.length) ops.push({ action: 'update', kind: 'fdb', key, reason: diffs.join(', '), desired: d.spec, actual: have });
  }
  for (const [k, e] of actual) {
    const l = obs.byIndex.get(e.index);
    if (!obs.managed.has(e.index) || l?.kind !== 'vxlan' || wanted.has(k)) continue;
    ops.push({
      action: 'delete',
      kind: 'fdb',
      key: `${nameOf(obs, e.index)} ${e.mac}${e.dst ? ` dst ${e.dst}` : ''}`,
      reason: 'not desired on a managed vxlan device',
      actual: e,
    });
  }
  return ops;
}

export { ZERO_MAC };

// ------------------------------------------------------------------ neighbours

export function diffNeighbors(desired: PreparedState, obs: Observed, vanishing: Set<number>): Op[] {
  const ops: Op[] = [];
  const actual = new Map<string, Neighbor>();
  for (const n of obs.neighbors) if (!vanishing.has(n.index) && !n.proxy) actual.set(`${n.index} ${n.ip}`, n);
  const wanted = new Set<string>();
  for (const d of desired.neighbors) {
    const index = devIndex(obs, d.dev);
    const k = `${index} ${d.ip}`;
    const key = `${devName(obs, d.dev)} ${d.ip}`;
    if (index !== undefined) wanted.add(k);
    const have = index === undefined ? undefined : actual.get(k);
    if (!have) {
      ops.push({ action: 'create', kind: 'neighbor', key, reason: 'missing', desired: d.spec });
      continue;
    }
    const diffs: string[] = [];
    const lladdr = d.spec.lladdr?.toLowerCase().replace(/-/g, ':');
    if (lladdr !== undefined && lladdr !== have.lladdr) diffs.push(`lladdr ${show(have.lladdr)} -> ${lladdr}`);
    const state = d.spec.state ?? 'permanent';
    if (!have.states.includes(state)) diffs.push(`state ${have.states.join('|')} -> ${state}`);
    if (diffs.length) ops.push({ action: 'update', kind: 'neighbor', key, reason: diffs.join(', '), desired: d.spec, actual: have });
  }
  for (const [k, n] of actual) {
    if (!obs.managed.has(n.index) || wanted.has(k) || !(n.state & NUD_PERMANENT)) continue;
    ops.push({ action: 'delete', kind: 'neighbor', key: `${nameOf(obs, n.index)} ${n.ip}`, reason: 'not desired on a managed link', actual: n });
  }
  return ops;
}

// ------------------------------------------------------------------ helpers

function devIndex(obs: Observed, ref: string | number): number | undefined {
  return typeof ref === 'number' ? (obs.byIndex.has(ref) ? ref : undefined) : obs.byName.get(ref)?.index;
}
function devName(obs: Observed, ref: string | number): string {
  return typeof ref === 'string' ? ref : nameOf(obs, ref);
}
function nameOf(obs: Observed, index: number): string {
  return obs.byIndex.get(index)?.name ?? `if${index}`;
}

