/**
 * Validation and indexing of the desired routes: every spec through the routes layer's
 * validator, the identity key (duplicates refused), and the lean shapes of the common case.
 */
// From the defining modules, not the route index: a re-export is a getter call per use, and
// these run 100k times per desired state.
import { V6PrefixParser } from '../../../values/prefix';
import { IP6_RT_PRIO_USER, canonicalDst, expectedRoute } from '../../../rtnl/route/expected';
import type { SpecFields } from '../../../rtnl/route/fields';
import { RouteValidator } from '../../../rtnl/route/validate';
import { RT_TABLE_MAIN } from '../../../rtnl/constants';
import { formatIPv6, parseIPv4, parseIPv6Into } from '../../../values/ip';
import type { DeviceRef, Route } from '../../../rtnl/types';
import type { Problems } from '../../../values/problems';
import { insertedAt, movedTo, patchList, removedBy, type Edit } from '../../engine/edits';
import { prepareInserted } from '../../engine/patch';
import { PROTOCOLS, lookup } from '../../../rtnl/names';
import type { PrepareContext } from '../../engine/kind';
import { FoundMarks } from '../../engine/settle';
import { checkRouteLinkUp } from '../link/rules';
import { DesiredRouteIndex, describeRouteKey, routeKey } from './desired-index';
import { SimpleRoute, SimpleRoute6, type PreparedRoute } from './prepared';
import type { NexthopIds } from '../nexthop/ids';
import { isObject, own } from '../../../values/problems';

/** The desired routes, validated and indexed. */
export interface PreparedRoutes {
  /** Every desired route, in the order given. */
  readonly list: PreparedRoute[];
  /** Positions in list by identity key. */
  readonly index: DesiredRouteIndex;
  /** What the current read found of them (engine/settle.ts). */
  readonly marks: FoundMarks<Route>;
  /** The named nexthops' ids of the current plan (routes may name one). */
  readonly nexthopIds: NexthopIds;
  /** The devices the routes name. */
  readonly devs: ReadonlySet<DeviceRef>;
  /** The position of the last route naming a device no earlier route names (-1: none): edits
   * past it leave the references (one per device, at its first route) as they are. */
  readonly lastNewDevice: number;
}

const v6scratch = Buffer.alloc(16);
// A prefix parser of this module (its results are read right after each parse).
const v6 = new V6PrefixParser();

/** The last IPv6 gateway parsed: canonical text and words (tables name few gateways). */
const lastV6Gateway = { via: '', ok: false, text: '', w0: 0, w1: 0, w2: 0, w3: 0 };
function v6Gateway(via: string): typeof lastV6Gateway {
  const g = lastV6Gateway;
  if (via === g.via) return g;
  g.via = via;
  g.ok = parseIPv6Into(via, v6scratch, 0);
  if (g.ok) {
    g.text = formatIPv6(v6scratch, 0);
    g.w0 = v6scratch.readInt32BE(0);
    g.w1 = v6scratch.readInt32BE(4);
    g.w2 = v6scratch.readInt32BE(8);
    g.w3 = v6scratch.readInt32BE(12);
  }
  return g;
}

const NO_REFS: Array<DeviceRef | undefined> = [];
const NO_DEVS: DeviceRef[] = [];

/**
 * Whether a validated spec has the simple shape: it sets nothing but dst, via, dev, onlink
 * and protocol, via and dev being strings. Reads the fields a RouteSpecReader got (fast for
 * spread-made specs too).
 */
function simpleShape(s: SpecFields): boolean {
  if (typeof s.via !== 'string' || typeof s.dev !== 'string') return false;
  if (
    s.family !== undefined ||
    s.table !== undefined ||
    s.scope !== undefined ||
    s.type !== undefined ||
    s.metric !== undefined ||
    s.prefsrc !== undefined ||
    s.tos !== undefined ||
    s.mtu !== undefined ||
    s.advmss !== undefined ||
    s.nexthops !== undefined
  ) {
    return false;
  }
  return true;
}

/**
 * What prepare made of a frozen spec of a simple shape (SimpleRoute, SimpleRoute6): the route,
 * its key words, and the protocol it was accepted (and its expected Route built) for. Such a
 * spec holds only primitives and can never change: when the same object comes again (an overlay
 * hands the same specs for its unchanged nodes at every change) it is not checked, parsed or
 * made again.
 */
type RouteMemo =
  | { readonly protocol: number; readonly route: PreparedRoute; readonly family: 4; readonly addr: number; readonly len: number }
  | { readonly protocol: number; readonly route: PreparedRoute; readonly family: 6; readonly w0: number; readonly w1: number; readonly w2: number; readonly w3: number; readonly len: number };
const routeMemo = new WeakMap<object, RouteMemo>();

/** Validates and indexes the desired routes; problems go to p (never throws). */
export function prepareRoutes(p: Problems, given: readonly unknown[], ctx: PrepareContext): PreparedRoutes {
  const defaultProtocol = ctx.owner.protocol;
  const out: { list: PreparedRoute[]; index: DesiredRouteIndex } = { list: [], index: new DesiredRouteIndex(given.length) };
  // One per prepare: after each check it holds the spec's fields and parsed IPv4 dst, which
  // the shapes below are decided on (each spec's fields read and its dst parsed once).
  const validator = new RouteValidator();
  let lastVia = '';
  let lastVia4 = -1;
  const routeDevs = new Set<DeviceRef>();
  let lastNewDevice = -1;
  const oneDev = new Map<DeviceRef, DeviceRef[]>(); // shared [dev] arrays: 100k routes, few devices
  const sharedDevs = (dev: DeviceRef): DeviceRef[] => {
    let devs = oneDev.get(dev);
    if (!devs) oneDev.set(dev, (devs = [dev]));
    return devs;
  };
  // Thousands of routes name the same few devices: check each device once.
  const checkDevsOnce = (i: number, devs: DeviceRef[]): void => {
    for (let k = 0; k < devs.length; k++) {
      if (routeDevs.has(devs[k])) continue;
      routeDevs.add(devs[k]);
      lastNewDevice = out.list.length - 1; // the route is in the list already
      ctx.references.push({ path: `routes[${i}].dev`, dev: devs[k] });
      const dev = devs[k];
      if (typeof dev === 'string') checkRouteLinkUp(p, `routes[${i}].dev`, dev, ctx);
    }
  };
  const duplicate = (i: number, had: number, key: string): void => {
    const first = out.list[had];
    const at = given.indexOf(first.source ?? first.spec); // only for the message
    p.add(`routes[${i}]`, `route ${describeRouteKey(key)} is already desired at routes[${at}]`);
  };
  given.forEach((given0: unknown, i) => {
    const memo = typeof given0 === 'object' && given0 !== null ? routeMemo.get(given0) : undefined;
    if (memo !== undefined && memo.protocol === defaultProtocol) {
      const r = memo.route;
      const had = memo.family === 4 ? out.index.addMainV4(memo.addr, memo.len, out.list.length) : out.index.addMainV6(memo.w0, memo.w1, memo.w2, memo.w3, memo.len, out.list.length);
      if (had >= 0) return duplicate(i, had, routeKey(RT_TABLE_MAIN, memo.family, r.dst, 0, r.metric));
      out.list.push(r);
      checkDevsOnce(i, r.devs);
      return;
    }
    let spec = given0;
    // A route on a named nexthop: checked as a route with nhid, resolved per plan.
    const nexthopName = isObject(given0) && own(given0, 'nexthop') !== undefined ? namedNexthop(p, i, given0, ctx.nexthopIds) : undefined;
    if (nexthopName === null) return;
    if (nexthopName !== undefined) {
      const check: Record<string, unknown> = {};
      for (const k of Object.keys(given0 as object)) if (k !== 'nexthop') check[k] = (given0 as Record<string, unknown>)[k];
      check.nhid = NAMED_PLACEHOLDER;
      spec = check;
    }
    if (!validator.spec(p, 'routes', i, spec)) return; // builds its path only for a problem
    // Valid: no unknown or inherited field, so the fields read are all the spec has.
    const f = validator.lastFields();
    const d4 = validator.lastV4Dst();
    // The overlay's shape with `nexthops: true`: an IPv4 prefix on a nexthop object, nothing
    // else (thousands per node). Keyed on the numbers like a simple route; the expected Route
    // is built only if a cycle ever needs it (prepared.ts expectedOf).
    if (d4 !== undefined && d4.length > 0 && d4.slashed && onlyDstAndNhid(f)) {
      const had = out.index.addMainV4(d4.address, d4.length, out.list.length);
      if (had >= 0) return duplicate(i, had, routeKey(RT_TABLE_MAIN, 4, spec.dst, 0, 0));
      out.list.push({
        spec,
        family: 4,
        dst: spec.dst,
        table: RT_TABLE_MAIN,
        tos: 0,
        metric: 0,
        devs: NO_DEVS,
        devRef: undefined,
        nexthopRefs: NO_REFS,
        simple: false,
        gateway: undefined,
        gw4: -1,
        onlink: false,
        expected: undefined,
        plainNhid: true,
        ...(nexthopName !== undefined ? { nexthopName, source: given0 } : {}),
      });
      return;
    }
    const protocol = f.protocol === undefined ? defaultProtocol : lookup(PROTOCOLS, f.protocol as number | string);
    if (protocol !== defaultProtocol) {
      p.add(`routes[${i}].protocol`, `routes in a desired state carry the reconciler's protocol (${defaultProtocol}); leave it out`);
      return;
    }
    const simple = simpleShape(f);
    let gw4 = -1;
    if (simple) {
      // Tables name few gateways: parse each run of one once.
      if (f.via !== lastVia) {
        lastVia = f.via as string;
        lastVia4 = parseIPv4(lastVia);
      }
      gw4 = lastVia4;
    }
    const sdst = f.dst as string;
    // Canonical IPv4 "a.b.c.d/n", n > 0 (validation refused host bits; a bare address would
    // read back with "/32" and "/0" as "default", so those take the general path).
    if (gw4 >= 0 && d4 !== undefined && d4.length > 0 && d4.slashed) {
      const addr = d4.address;
      // The common shape: the defaults are known (main table, tos 0, metric 0) without asking
      // the routes layer for a whole expected Route.
      const len = d4.length;
      const onlink = f.onlink === true;
      const devs = sharedDevs(f.dev as string);
      const had = out.index.addMainV4(addr, len, out.list.length);
      if (had >= 0) return duplicate(i, had, routeKey(RT_TABLE_MAIN, 4, sdst, 0, 0));
      const route = new SimpleRoute(spec, gw4, onlink, devs);
      if (Object.isFrozen(spec)) routeMemo.set(spec, { protocol: defaultProtocol, route, family: 4, addr, len });
      out.list.push(route);
      checkDevsOnce(i, devs);
      return;
    }
    // The same shape in IPv6: main table, tos 0, metric 1024 (what the kernel gives a route
    // added without one), keyed by the prefix as four words.
    if (simple && gw4 < 0 && sdst !== 'default' && v6.parse(sdst) && v6.length > 0 && v6Gateway(f.via as string).ok) {
      const { w0, w1, w2, w3, length } = v6;
      const had = out.index.addMainV6(w0, w1, w2, w3, length, out.list.length);
      if (had >= 0) return duplicate(i, had, routeKey(RT_TABLE_MAIN, 6, canonicalDst(sdst, 6), 0, IP6_RT_PRIO_USER));
      const devs = sharedDevs(f.dev as string);
      const g = v6Gateway(f.via as string);
      const route = new SimpleRoute6(spec, g.text, g.w0, g.w1, g.w2, g.w3, f.onlink === true, devs);
      if (Object.isFrozen(spec)) routeMemo.set(spec, { protocol: defaultProtocol, route, family: 6, w0, w1, w2, w3, len: length });
      out.list.push(route);
      checkDevsOnce(i, devs);
      return;
    }
    // The routes layer knows every default the kernel applies; the key comes from the same place.
    const expected = expectedRoute({ ...spec, protocol: defaultProtocol }, () => 0);
    const { family, dst, table, tos } = expected;
    const metric = expected.metric ?? 0;
    const had = out.index.add(table, family, dst, tos, metric, out.list.length);
    if (had >= 0) return duplicate(i, had, routeKey(table, family, dst, tos, metric));
    const multipath = spec.nexthops !== undefined && spec.nexthops.length > 1;
    const devRef = spec.nexthops?.length === 1 ? spec.nexthops[0].dev : spec.dev;
    const nexthopRefs = multipath ? spec.nexthops!.map((nh) => nh.dev) : NO_REFS;
    let devs: DeviceRef[];
    if (!multipath) devs = devRef === undefined ? NO_DEVS : sharedDevs(devRef);
    else {
      devs = [];
      for (const d of nexthopRefs) if (d !== undefined) devs.push(d);
    }
    out.list.push({
      spec,
      family,
      dst,
      table,
      tos,
      metric,
      devs,
      devRef: multipath ? undefined : devRef,
      nexthopRefs,
      simple: false,
      gateway: undefined,
      gw4: -1,
      onlink: spec.onlink === true,
      expected,
      ...(nexthopName !== undefined ? { nexthopName, source: given0 } : {}),
    });
    checkDevsOnce(i, devs);
  });
  return { list: out.list, index: out.index, marks: new FoundMarks<Route>(out.list.length), nexthopIds: ctx.nexthopIds, devs: routeDevs, lastNewDevice };
}

/**
 * KindModule.patch: the routes before with the edits' routes, made from before's list and index
 * and a prepare of the inserted routes alone (prepareInserted says when it can be), unless a
 * route is on a named nexthop or takes a key another route has; otherwise undefined (prepared
 * whole, which reports what is wrong with the paths of the whole list).
 */
export function patchRoutes(before: PreparedRoutes, edits: readonly Edit[], given: readonly unknown[], ctx: PrepareContext): PreparedRoutes | undefined {
  const ready = prepareInserted(before, edits, given, ctx, prepareRoutes);
  if (ready === undefined) return undefined;
  const { inserted, count: n } = ready;
  for (const r of inserted.list) if (r.nexthopName !== undefined) return undefined;
  const old = before.list;
  const index = before.index.patched(
    removedBy(edits).map((k) => old[k]),
    movedTo(edits, old.length),
    inserted.list,
    insertedAt(edits),
  );
  if (index === undefined) return undefined;
  const list = patchList(old, inserted.list, edits, n);
  return { list, index, marks: new FoundMarks<Route>(n), nexthopIds: ctx.nexthopIds, devs: before.devs, lastNewDevice: before.lastNewDevice };
}

/** Whether a validated spec's fields are only dst (a string) and nhid. Anything else, a protocol
 * included (which the general path refuses unless it is the owner's), takes the general path. */
function onlyDstAndNhid(s: SpecFields): boolean {
  return (
    typeof s.dst === 'string' &&
    s.nhid !== undefined &&
    s.family === undefined &&
    s.via === undefined &&
    s.dev === undefined &&
    s.onlink === undefined &&
    s.table === undefined &&
    s.protocol === undefined &&
    s.scope === undefined &&
    s.type === undefined &&
    s.metric === undefined &&
    s.prefsrc === undefined &&
    s.tos === undefined &&
    s.mtu === undefined &&
    s.advmss === undefined &&
    s.nexthops === undefined
  );
}

/** The nhid a named nexthop's route is checked with (resolved per plan). */
const NAMED_PLACEHOLDER = 1;

/** The name of the desired nexthop a route names (routes[i].nexthop), or null after a problem. */
function namedNexthop(p: Problems, i: number, spec: Record<string, unknown>, ids: NexthopIds): string | null {
  const name = own(spec, 'nexthop');
  const path = `routes[${i}].nexthop`;
  if (typeof name !== 'string' || name.length === 0) {
    p.add(path, `${JSON.stringify(name) ?? String(name)} must be the name of a desired nexthop`);
    return null;
  }
  for (const f of ['via', 'dev', 'onlink', 'nexthops', 'nhid']) {
    if (own(spec, f) !== undefined) {
      p.add(path, `nexthop and ${f} are exclusive: the nexthop object says where the route goes`);
      return null;
    }
  }
  const facts = ids.declared.get(name);
  if (facts === undefined) {
    p.add(path, `no desired nexthop is named "${name}" (nexthops[].name)`);
    return null;
  }
  if (facts.fdb) {
    p.add(path, `nexthop "${name}" is an FDB nexthop: it carries FDB entries of a vxlan device, not routes`);
    return null;
  }
  return name;
}
