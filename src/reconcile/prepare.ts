/**
 * Validation of a whole desired state before anything is read or written: every spec through
 * its kind's validator, then the cross-object rules (duplicate keys, conflicting entries,
 * references between objects). One ValidationError lists every problem.
 */
import { validateAddressSpec } from '../rtnl/address';
import { validateFdbSpec } from '../rtnl/fdb';
import { validateLinkSpec } from '../rtnl/link';
import { validateNeighborSpec } from '../rtnl/neighbor';
// From the defining modules, not the route index: a re-export is a getter call per use, and
// these run 100k times per desired state.
import { V4PrefixParser, V6PrefixParser } from '../values/prefix';
import { IP6_RT_PRIO_USER, canonicalDst, expectedRoute } from '../rtnl/route/expected';
import { readSpecFields, type SpecFields } from '../rtnl/route/fields';
import { checkRouteSpecAt } from '../rtnl/route/validate';
import { RT_TABLE_MAIN } from '../rtnl/constants';
import { formatIPv6, parseIPv4, parseIPv6Into } from '../values/ip';
import type { AddressSpec, DeviceRef, FdbSpec, LinkSpec, NeighborSpec, Route, RouteSpec } from '../rtnl/types';
import { parseAddress, parsePrefix } from '../values/address';
import { Problems, checkKeys } from '../values/problems';
import { PROTOCOLS, lookup } from '../rtnl/names';
import { DesiredRouteIndex, describeRouteKey, routeKey } from './routeindex';
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
  /** The spec as given (the reconciler's protocol is added when it is sent). */
  readonly spec: RouteSpec;
  /** 4 or 6 (from dst, via or the spec's family). */
  readonly family: 4 | 6;
  /** Canonical dst ("default" for /0). */
  readonly dst: string;
  /** Table number (names resolved; default main). */
  readonly table: number;
  /** rtm_tos (default 0). */
  readonly tos: number;
  /** The metric the kernel will report (0 for IPv4, 1024 for IPv6 when none is given). */
  readonly metric: number;
  /** Devices the route names (dev and nexthop devs). */
  readonly devs: DeviceRef[];
  /** The device of a single-path route, or undefined (the kernel picks it from the gateway). */
  readonly devRef: DeviceRef | undefined;
  /** The devices of a multipath route's nexthops, in order. */
  readonly nexthopRefs: Array<DeviceRef | undefined>;
  /**
   * The common shape, a unicast `dst via gw dev D [onlink]` in the main table with nothing else
   * set (spec.via and spec.dev are strings; IPv4 or IPv6): compared field by field without
   * building an expected Route, or on the numbers of the dump (routescan.ts).
   */
  readonly simple: boolean;
  /** The gateway of a simple route in canonical text (undefined for other routes). */
  readonly gateway: string | undefined;
  /** The gateway of a simple IPv4 route as an unsigned 32-bit number (-1 for other routes). */
  readonly gw4: number;
  /** spec.onlink === true. */
  readonly onlink: boolean;
  /** What the kernel will report once applied (device indexes are placeholders); built lazily. */
  expected: Route | undefined;
  /** The diff cycle that last found this route in the kernel (diff bookkeeping, 0: never). */
  seen: number;
  /** The kernel's route found in that cycle, when it still needs comparing. */
  found: Route | undefined;
}

/**
 * A simple route in seven fields, everything else derived from the spec or constant: a desired
 * state holds 100k of these, and a fourteen-field object each was most of its memory.
 */
class SimpleRoute implements PreparedRoute {
  expected: Route | undefined = undefined;
  seen = 0;
  found: Route | undefined = undefined;
  constructor(
    readonly spec: RouteSpec,
    readonly gw4: number,
    /** spec.onlink === true, kept: the read compares it for every route of every cycle. */
    readonly onlink: boolean,
    readonly devs: DeviceRef[],
  ) {}
  get simple(): boolean {
    return true;
  }
  get gateway(): string | undefined {
    return this.spec.via;
  }
  get family(): 4 {
    return 4;
  }
  get dst(): string {
    return this.spec.dst; // canonical: checked before one is made
  }
  get table(): number {
    return RT_TABLE_MAIN;
  }
  get tos(): number {
    return 0;
  }
  get metric(): number {
    return 0;
  }
  get devRef(): DeviceRef | undefined {
    return this.devs[0];
  }
  get nexthopRefs(): Array<DeviceRef | undefined> {
    return NO_REFS;
  }
}

/**
 * A simple IPv6 route: its canonical gateway text and the gateway as four words are kept (the
 * spec may spell it otherwise), the canonical dst made when first asked for; the rest is
 * derived or constant.
 */
export class SimpleRoute6 implements PreparedRoute {
  expected: Route | undefined = undefined;
  seen = 0;
  found: Route | undefined = undefined;
  private dstText: string | undefined = undefined;
  constructor(
    readonly spec: RouteSpec,
    readonly gateway: string,
    /** The gateway as four big-endian signed 32-bit words, compared with RouteFacts'. */
    readonly g0: number,
    readonly g1: number,
    readonly g2: number,
    readonly g3: number,
    readonly onlink: boolean,
    readonly devs: DeviceRef[],
  ) {}
  get simple(): boolean {
    return true;
  }
  get gw4(): number {
    return -1;
  }
  get family(): 6 {
    return 6;
  }
  /** Canonical dst, made on first use (a no-op cycle never needs it). */
  get dst(): string {
    return (this.dstText ??= canonicalDst(this.spec.dst, 6));
  }
  get table(): number {
    return RT_TABLE_MAIN;
  }
  get tos(): number {
    return 0;
  }
  get metric(): number {
    return IP6_RT_PRIO_USER;
  }
  get devRef(): DeviceRef | undefined {
    return this.devs[0];
  }
  get nexthopRefs(): Array<DeviceRef | undefined> {
    return NO_REFS;
  }
}

const v6scratch = Buffer.alloc(16);
// Prefix parsers of this module (their results are read right after each parse).
const v4 = new V4PrefixParser();
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

/** The expected read-back of a prepared route (built once, on first use). */
export function expectedOf(d: PreparedRoute, protocol: number): Route {
  if (!d.expected) d.expected = expectedRoute({ ...d.spec, protocol }, () => 0);
  return d.expected;
}

const NO_REFS: Array<DeviceRef | undefined> = [];
const NO_DEVS: DeviceRef[] = [];

/**
 * Whether a validated spec has the simple shape: it sets nothing but dst, via, dev, onlink
 * and protocol, via and dev being strings. Reads the fields readSpecFields got (fast for
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
  /** Positions in routes by identity key. */
  routeIndex: DesiredRouteIndex;
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
  const givenRoutes = list<RouteSpec>(p, s, 'routes');
  const out: PreparedState = { links: [], addresses: [], routes: [], routeIndex: new DesiredRouteIndex(givenRoutes.length), fdb: [], neighbors: [], references: [] };

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

  const routeDevs = new Set<DeviceRef>();
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
      out.references.push({ path: `routes[${i}].dev`, dev: devs[k] });
    }
  };
  const duplicate = (i: number, had: number, key: string): void => {
    const at = givenRoutes.indexOf(out.routes[had].spec); // only for the message
    p.add(`routes[${i}]`, `route ${describeRouteKey(key)} is already desired at routes[${at}]`);
  };
  givenRoutes.forEach((given, i) => {
    if (!checkRouteSpecAt(p, 'routes', i, given)) return; // builds its path only for a problem
    const protocol = given.protocol === undefined ? defaultProtocol : lookup(PROTOCOLS, given.protocol);
    if (protocol !== defaultProtocol) {
      p.add(`routes[${i}].protocol`, `routes in a desired state carry the reconciler's protocol (${defaultProtocol}); leave it out`);
      return;
    }
    const spec = given;
    const f = readSpecFields(spec);
    const simple = simpleShape(f);
    const gw4 = simple ? parseIPv4(f.via as string) : -1;
    const sdst = f.dst as string;
    // Canonical IPv4 "a.b.c.d/n", n > 0 (validation refused host bits; a bare address would
    // read back with "/32" and "/0" as "default", so those take the general path).
    if (gw4 >= 0 && v4.parse(sdst) && v4.length > 0 && v4.slashed) {
      const addr = v4.address;
      // The common shape: the defaults are known (main table, tos 0, metric 0) without asking
      // the routes layer for a whole expected Route.
      const len = v4.length;
      const onlink = f.onlink === true;
      const devs = sharedDevs(f.dev as string);
      const had = out.routeIndex.addMainV4(addr, len, out.routes.length);
      if (had >= 0) return duplicate(i, had, routeKey(RT_TABLE_MAIN, 4, sdst, 0, 0));
      out.routes.push(new SimpleRoute(spec, gw4, onlink, devs));
      checkDevsOnce(i, devs);
      return;
    }
    // The same shape in IPv6: main table, tos 0, metric 1024 (what the kernel gives a route
    // added without one), keyed by the prefix as four words.
    if (simple && gw4 < 0 && sdst !== 'default' && v6.parse(sdst) && v6.length > 0 && v6Gateway(f.via as string).ok) {
      const had = out.routeIndex.addMainV6(v6.w0, v6.w1, v6.w2, v6.w3, v6.length, out.routes.length);
      if (had >= 0) return duplicate(i, had, routeKey(RT_TABLE_MAIN, 6, canonicalDst(sdst, 6), 0, IP6_RT_PRIO_USER));
      const devs = sharedDevs(f.dev as string);
      const g = v6Gateway(f.via as string);
      out.routes.push(new SimpleRoute6(spec, g.text, g.w0, g.w1, g.w2, g.w3, f.onlink === true, devs));
      checkDevsOnce(i, devs);
      return;
    }
    // The routes layer knows every default the kernel applies; the key comes from the same place.
    const expected = expectedRoute({ ...spec, protocol: defaultProtocol }, () => 0);
    const { family, dst, table, tos } = expected;
    const metric = expected.metric ?? 0;
    const had = out.routeIndex.add(table, family, dst, tos, metric, out.routes.length);
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
    out.routes.push({
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
      seen: 0,
      found: undefined,
    });
    checkDevsOnce(i, devs);
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
