/**
 * Validation of a whole desired state before anything is read or written: every spec through
 * its kind's validator, then the cross-object rules (duplicate keys, conflicting entries,
 * references between objects). One ValidationError lists every problem.
 */
import { validateAddressSpec } from '../rtnl/address';
import { validateFdbSpec } from '../rtnl/fdb';
import { validateLinkSpec } from '../rtnl/link';
import { validateNeighborSpec } from '../rtnl/neighbor';
import { canonicalDst, checkRouteSpecAt, expectedRoute } from '../rtnl/route';
import { RT_TABLE_MAIN } from '../rtnl/constants';
import { parseIPv4 } from '../wire/ip';
import type { AddressSpec, DeviceRef, FdbSpec, LinkSpec, NeighborSpec, Route, RouteSpec } from '../rtnl/types';
import { Problems, checkKeys, parseAddress, parsePrefix } from '../rtnl/validate';
import { PROTOCOLS, lookup } from '../rtnl/names';
import type { DesiredState } from './types';

/** A validated desired link. */
export interface PreparedLink {
  /** The spec as given. */
  spec: LinkSpec;
  /** Where it was in the desired state ("links[2]"), for error messages. */
  path: string;
}
/** A validated desired address, with its canonical identity. */
export interface PreparedAddress {
  /** The spec as given. */
  spec: AddressSpec;
  /** The device it goes on. */
  dev: DeviceRef;
  /** Canonical "addr/len". */
  prefix: string;
  /** 4 or 6. */
  family: 4 | 6;
}
/** A validated desired route, with its identity and the values the kernel will report. */
export interface PreparedRoute {
  /** The spec as given (the reconciler's protocol is added when it is sent: withProtocol()). */
  spec: RouteSpec;
  /** 4 or 6 (from dst, via or the spec's family). */
  family: 4 | 6;
  /** Canonical dst ("default" for /0). */
  dst: string;
  /** Table number (names resolved; default main). */
  table: number;
  /** rtm_tos (default 0). */
  tos: number;
  /** The metric the kernel will report (0 for IPv4, 1024 for IPv6 when none is given). */
  metric: number;
  /** The identity key (routeKey). */
  key: string;
  /** Devices the route names (dev and nexthop devs). */
  devs: DeviceRef[];
  /** The device of a single-path route, or undefined (the kernel picks it from the gateway). */
  devRef: DeviceRef | undefined;
  /** The devices of a multipath route's nexthops, in order. */
  nexthopRefs: Array<DeviceRef | undefined>;
  /**
   * The common shape, an IPv4 unicast `dst via gw dev D [onlink]` in the main table with
   * nothing else set: compared field by field without building an expected Route. Undefined
   * for every other route.
   */
  simple?: { via: string; dev: string; onlink: boolean; gw4: number };
  /** What the kernel will report once applied (device indexes are placeholders); built lazily. */
  expected?: Route;
  /** The diff cycle that last found this route in the kernel (diff bookkeeping). */
  seen?: number;
  /** The kernel's route found in that cycle. */
  found?: Route;
}

/** The expected read-back of a prepared route (built once, on first use). */
export function expectedOf(d: PreparedRoute, protocol: number): Route {
  if (!d.expected) d.expected = expectedRoute({ ...d.spec, protocol }, () => 0);
  return d.expected;
}

/** The spec to send: the given one with the reconciler's protocol. */
export function withProtocol(d: PreparedRoute, protocol: number): RouteSpec {
  // Object.assign, not spread: V8 reads the properties of spread-made objects several times
  // slower, and the encoder reads every field of 100k of them.
  return d.spec.protocol === protocol ? d.spec : Object.assign({}, d.spec, { protocol });
}

const NO_REFS: Array<DeviceRef | undefined> = [];
const NO_DEVS: DeviceRef[] = [];

/** Fields a route spec may have and still be "simple" (see PreparedRoute.simple). */
const SIMPLE_KEYS = new Set(['dst', 'via', 'dev', 'onlink', 'protocol']);

function simpleShape(spec: RouteSpec): PreparedRoute['simple'] {
  if (typeof spec.via !== 'string' || typeof spec.dev !== 'string') return undefined;
  const gw4 = parseIPv4(spec.via);
  if (gw4 < 0) return undefined;
  const keys = Object.keys(spec); // not for-in: slow on objects made by spread
  for (let k = 0; k < keys.length; k++) if (!SIMPLE_KEYS.has(keys[k])) return undefined;
  return { via: spec.via, dev: spec.dev, onlink: spec.onlink === true, gw4 };
}

/** A validated desired FDB entry, with its canonical identity. */
export interface PreparedFdb {
  /** The spec as given. */
  spec: FdbSpec;
  /** The device the entry is on. */
  dev: DeviceRef;
  /** Canonical (lower-case) MAC. */
  mac: string;
  /** Canonical remote address, or '' when none. */
  dst: string;
}
/** A validated desired neighbour entry, with its canonical identity. */
export interface PreparedNeighbor {
  /** The spec as given. */
  spec: NeighborSpec;
  /** The device the entry is on. */
  dev: DeviceRef;
  /** Canonical IP text. */
  ip: string;
}

/** A desired state that passed validation, in the shapes the diff works with. */
export interface PreparedState {
  /** The desired links. */
  links: PreparedLink[];
  /** The desired addresses. */
  addresses: PreparedAddress[];
  /** The desired routes. */
  routes: PreparedRoute[];
  /** The desired FDB entries. */
  fdb: PreparedFdb[];
  /** The desired neighbour entries. */
  neighbors: PreparedNeighbor[];
  /** Every device the state refers to (dev, master, underlay), to check they exist or are desired. */
  references: Array<{ path: string; dev: DeviceRef }>;
}

const TOP_KEYS = ['links', 'addresses', 'routes', 'fdb', 'neighbors'] as const;

function list<T>(p: Problems, state: Record<string, unknown>, key: string): T[] {
  const v = state[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add(key, 'must be an array');
    return [];
  }
  return v as T[];
}

/** Validates and normalizes; throws ValidationError naming every problem. Sends nothing. */
export function prepareDesired(state: DesiredState, defaultProtocol: number): PreparedState {
  const p = new Problems();
  if (state === null || typeof state !== 'object' || Array.isArray(state)) {
    p.add('', 'the desired state must be an object');
    p.throwIfAny('invalid desired state');
  }
  checkKeys(p, '', state, TOP_KEYS);
  const s = state as Record<string, unknown>;
  const out: PreparedState = { links: [], addresses: [], routes: [], fdb: [], neighbors: [], references: [] };

  const linkNames = new Map<string, string>();
  list<LinkSpec>(p, s, 'links').forEach((spec, i) => {
    const path = `links[${i}]`;
    if (!validateLinkSpec(p, path, spec)) return;
    const seen = linkNames.get(spec.name);
    if (seen) return p.add(path, `link "${spec.name}" is already desired at ${seen}`);
    linkNames.set(spec.name, path);
    out.links.push({ spec, path });
    if (spec.master !== undefined && spec.master !== null) out.references.push({ path: `${path}.master`, dev: spec.master });
    if ((spec.kind === 'vxlan' || spec.kind === 'ipip') && spec.dev !== undefined) out.references.push({ path: `${path}.dev`, dev: spec.dev });
    if (spec.kind === 'veth') {
      const peerSeen = linkNames.get(spec.peer.name);
      if (peerSeen && !spec.peer.netns) p.add(`${path}.peer.name`, `"${spec.peer.name}" is also desired at ${peerSeen}`);
    }
  });

  const addrKeys = new Map<string, string>();
  list<AddressSpec>(p, s, 'addresses').forEach((spec, i) => {
    const path = `addresses[${i}]`;
    if (!validateAddressSpec(p, path, spec)) return;
    const pre = parsePrefix(p, `${path}.address`, spec.address, 'keep');
    if (!pre) return;
    const key = `${spec.dev} ${pre.prefix}`;
    const seen = addrKeys.get(key);
    if (seen) return p.add(path, `address ${pre.prefix} on ${spec.dev} is already desired at ${seen}`);
    addrKeys.set(key, path);
    out.addresses.push({ spec, dev: spec.dev, prefix: pre.prefix, family: pre.family });
    out.references.push({ path: `${path}.dev`, dev: spec.dev });
  });

  const routeKeys = new Map<string, number>();
  const routeDevs = new Set<DeviceRef>();
  const oneDev = new Map<DeviceRef, DeviceRef[]>(); // shared [dev] arrays: 100k routes, few devices
  list<RouteSpec>(p, s, 'routes').forEach((given, i) => {
    if (!checkRouteSpecAt(p, 'routes', i, given)) return; // builds its path only for a problem
    const path = () => `routes[${i}]`; // built only for a message
    const protocol = given.protocol === undefined ? defaultProtocol : lookup(PROTOCOLS, given.protocol);
    if (protocol !== defaultProtocol) {
      p.add(`${path()}.protocol`, `routes in a desired state carry the reconciler's protocol (${defaultProtocol}); leave it out`);
      return;
    }
    const spec = given;
    const simple = simpleShape(spec);
    let family: 4 | 6;
    let dst: string;
    let table: number;
    let tos: number;
    let metric: number;
    let expected: Route | undefined;
    if (simple && spec.dst !== 'default' && !spec.dst.includes(':')) {
      // The common shape: the defaults are known (main table, tos 0, metric 0) without asking
      // the routes layer for a whole expected Route.
      family = 4;
      dst = canonicalDst(spec.dst, 4);
      table = RT_TABLE_MAIN;
      tos = 0;
      metric = 0;
    } else {
      // The routes layer knows every default the kernel applies; the key comes from the same place.
      expected = expectedRoute({ ...spec, protocol: defaultProtocol }, () => 0);
      family = expected.family;
      dst = expected.dst;
      table = expected.table;
      tos = expected.tos;
      metric = expected.metric ?? 0;
    }
    const key = routeKey(table, family, dst, tos, metric);
    const seen = routeKeys.get(key);
    if (seen !== undefined) return p.add(path(), `route ${describeRouteKey(key)} is already desired at routes[${seen}]`);
    routeKeys.set(key, i);
    const multipath = spec.nexthops !== undefined && spec.nexthops.length > 1;
    const devRef = spec.nexthops?.length === 1 ? spec.nexthops[0].dev : spec.dev;
    const nexthopRefs = multipath ? spec.nexthops!.map((nh) => nh.dev) : NO_REFS;
    let devs: DeviceRef[];
    if (!multipath) {
      devs = devRef === undefined ? NO_DEVS : (oneDev.get(devRef) ?? []);
      if (devRef !== undefined && !oneDev.has(devRef)) oneDev.set(devRef, (devs = [devRef]));
    } else {
      devs = [];
      for (const d of nexthopRefs) if (d !== undefined) devs.push(d);
    }
    out.routes.push({
      spec,
      family,
      dst,
      table,
      tos,
      metric,
      key,
      devs,
      devRef: multipath ? undefined : devRef,
      nexthopRefs,
      simple: expected ? undefined : simple,
      expected,
    });
    // Thousands of routes name the same few devices: check each device once.
    for (const dev of devs) {
      if (routeDevs.has(dev)) continue;
      routeDevs.add(dev);
      out.references.push({ path: `${path()}.dev`, dev });
    }
  });

  const fdbKeys = new Map<string, string>();
  const fdbUnicast = new Map<string, { dst: string; path: string }>();
  list<FdbSpec>(p, s, 'fdb').forEach((spec, i) => {
    const path = `fdb[${i}]`;
    if (!validateFdbSpec(p, path, spec)) return;
    const mac = spec.mac.toLowerCase().replace(/-/g, ':');
    const dst = spec.dst === undefined ? '' : (parseAddress(p, `${path}.dst`, spec.dst)?.text ?? '');
    const key = `${spec.dev} ${mac} ${dst}`;
    const seen = fdbKeys.get(key);
    if (seen) return p.add(path, `FDB entry ${mac}${dst ? ` dst ${dst}` : ''} on ${spec.dev} is already desired at ${seen}`);
    fdbKeys.set(key, path);
    // A vxlan device keeps one remote per unicast MAC (it acknowledges a second append without
    // adding it): only the all-zero and multicast MACs take several destinations.
    const multicast = (parseInt(mac.slice(0, 2), 16) & 1) === 1;
    if (mac !== '00:00:00:00:00:00' && !multicast) {
      const unicastKey = `${spec.dev} ${mac} ${spec.vlan ?? ''}`;
      const other = fdbUnicast.get(unicastKey);
      if (other && other.dst !== dst) {
        return p.add(path, `unicast MAC ${mac} on ${spec.dev} already goes to ${other.dst || '(no dst)'} at ${other.path}: a device keeps one destination per unicast MAC`);
      }
      fdbUnicast.set(unicastKey, { dst, path });
    }
    out.fdb.push({ spec, dev: spec.dev, mac, dst });
    out.references.push({ path: `${path}.dev`, dev: spec.dev });
  });

  const neighKeys = new Map<string, string>();
  list<NeighborSpec>(p, s, 'neighbors').forEach((spec, i) => {
    const path = `neighbors[${i}]`;
    if (!validateNeighborSpec(p, path, spec)) return;
    const ip = parseAddress(p, `${path}.ip`, spec.ip);
    if (!ip) return;
    const key = `${spec.dev} ${ip.text}`;
    const seen = neighKeys.get(key);
    if (seen) return p.add(path, `neighbour ${ip.text} on ${spec.dev} is already desired at ${seen}`);
    neighKeys.set(key, path);
    out.neighbors.push({ spec, dev: spec.dev, ip: ip.text });
    out.references.push({ path: `${path}.dev`, dev: spec.dev });
  });

  p.throwIfAny('invalid desired state');
  return out;
}

export function routeKey(table: number, family: number, dst: string, tos: number, metric: number): string {
  return `${table} ${family} ${dst} ${tos} ${metric}`;
}

/** "10.0.0.0/24 table 254 metric 0" from a key, for messages. */
export function describeRouteKey(key: string): string {
  const [table, , dst, tos, metric] = key.split(' ');
  return `${dst} table ${table}${tos !== '0' ? ` tos ${tos}` : ''} metric ${metric}`;
}
