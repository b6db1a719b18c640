/**
 * Route specs are checked completely before anything is sent: every problem of every spec is
 * reported at once, with its path ("routes[17].via"). The common case (IPv4 literals, a device
 * name used by many routes) takes a fast path that builds no strings and no address objects;
 * anything unusual goes through the general checks in ../validate for their messages.
 */
import { parseIPv4, parseIPv6Into } from '../../values/ip';
import { RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from '../constants';
import { PROTOCOLS, ROUTE_TYPES, SCOPES, TABLES } from '../names';
import type { IpFamily, Route, RouteFilter, RouteSpec, RouteTypeName } from '../types';
import { checkDevice } from '../validate';
import { parseAddress, parsePrefix } from '../../values/address';
import { checkInt, Problems } from '../../values/problems';
import { V4PrefixParser, V6PrefixParser, v4HostBits } from '../../values/prefix';
import { readSpecFields } from './fields';

const show = (v: unknown) => JSON.stringify(v);

/** Every field a RouteSpec may have. */
export const ROUTE_SPEC_KEYS: readonly string[] = ['dst', 'family', 'via', 'dev', 'onlink', 'table', 'protocol', 'scope', 'type', 'metric', 'prefsrc', 'tos', 'mtu', 'advmss', 'nexthops'];
const NEXTHOP_KEYS = ['via', 'dev', 'weight', 'onlink'];
const FILTER_KEYS = ['family', 'table', 'protocol', 'dev', 'type', 'scope'];
const LOOKUP_KEYS = ['table', 'dev', 'src', 'fibMatch'];
const NEXTHOP_KEY_SET = new Set(NEXTHOP_KEYS);

/** Types that drop or refuse packets: no gateway, device or nexthops (the kernel refuses them). */
const REJECT_TYPES = new Set<string>(['blackhole', 'unreachable', 'prohibit', 'throw']);
/** Types that need a device. */
const DEVICE_TYPES = new Set<string>(['local', 'broadcast', 'anycast', 'multicast']);
/** RTN_NAT is a name iproute2 knows, but Linux refuses new NAT routes (EINVAL "Invalid scope"). */
const SPEC_TYPES = Object.keys(ROUTE_TYPES).filter((t) => t !== 'nat');

/** Largest RTAX_MTU / RTAX_ADVMSS the kernel stores unchanged (ip_metrics_convert clamps). */
const MAX_MTU = 65535 - 15;
const MAX_ADVMSS = 65535 - 40;

// The path of the spec being checked, built only when a problem is reported.
let curBase = '';
let curIndex = -1;
function here(field: string): string {
  const at = curIndex < 0 ? curBase : `${curBase}[${curIndex}]`;
  return field ? (at ? `${at}.${field}` : field) : at;
}

// A device name that passed checkDevice: tables use a few names many times.
let lastGoodDev: unknown;

function checkDev(p: Problems, field: string, v: unknown): void {
  if (v === lastGoodDev && typeof v === 'string') return;
  if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 0x7fffffff) return;
  if (checkDevice(p, here(field), v) && typeof v === 'string') lastGoodDev = v;
}

// The first 16 bits of the last IPv6 address addrFamily saw (for the link-local check), and
// the last IPv4 literal it accepted (tables name few gateways many times).
let lastV6First = 0;
let lastGoodV4: unknown = Symbol('none');

let lastGoodV6: unknown = Symbol('none');
let lastGoodV6First = 0;
const v6scratch = Buffer.alloc(16);
// Prefix parsers of this module (their results are read right after each parse).
const v4 = new V4PrefixParser();
const v6 = new V6PrefixParser();

/** Family of an address literal (fast for both families), 0 after reporting a problem. */
function addrFamily(p: Problems, field: string, v: unknown): 0 | 4 | 6 {
  if (v === lastGoodV4) return 4;
  if (v === lastGoodV6) {
    lastV6First = lastGoodV6First;
    return 6;
  }
  if (typeof v === 'string' && parseIPv4(v) >= 0) {
    lastGoodV4 = v;
    return 4;
  }
  // Our own parser agrees with net.isIPv6 (checked on random strings); the general check
  // below is for the message.
  if (typeof v === 'string' && parseIPv6Into(v, v6scratch, 0)) {
    lastGoodV6 = v;
    lastV6First = lastGoodV6First = (v6scratch[0] << 8) | v6scratch[1];
    return 6;
  }
  const a = parseAddress(p, here(field), v);
  if (!a) return 0;
  if (a.family === 6) lastV6First = (a.bytes[0] << 8) | a.bytes[1];
  return a.family;
}

const isLinkLocal6 = (first16: number) => (first16 & 0xffc0) === 0xfe80;

/** Whether s is "x::y/n" (n 0..128, no leading zeros) or a bare IPv6 address, without bits
 * set past n. The fast path: anything else goes to parsePrefix for its message. */
function isV6Prefix(s: string): boolean {
  if (!v6.parse(s)) return false;
  const b = v6.bytes;
  for (let bit = v6.length; bit < 128; bit++) if (b[bit >> 3] & (0x80 >> (bit & 7))) return false;
  return true;
}

function checkName(p: Problems, field: string, v: unknown, names: Record<string, number>, max: number, min = 0): number | undefined {
  if (typeof v === 'string') {
    if (Object.prototype.hasOwnProperty.call(names, v)) return names[v];
    p.add(here(field), `unknown ${field} name ${show(v)} (known: ${Object.keys(names).join(', ')}; or a number ${min}..${max})`);
    return undefined;
  }
  return checkInt(p, here(field), v, min, max) ? (v as number) : undefined;
}

function checkTable(p: Problems, field: string, v: unknown): void {
  if (v === 0) {
    p.add(here(field), `0 is RT_TABLE_UNSPEC, not a table (use 'main' or 254)`);
    return;
  }
  checkName(p, field, v, TABLES, 0xffffffff, 1);
}

/**
 * Checks a route spec; reports every problem to p under `path` ("routes[3]") and returns
 * whether this spec had none. Never throws.
 */
export function validateRouteSpec(p: Problems, path: string, r: unknown): r is RouteSpec {
  return checkRouteSpecAt(p, path, -1, r);
}

/**
 * validateRouteSpec with the path `${base}[${index}]` (built only if there is a problem).
 * forDelete: a spec that selects routes to delete may leave out what it does not match on
 * (a bare dst deletes the first route to it).
 */
export function checkRouteSpecAt(p: Problems, base: string, index: number, r: unknown, forDelete = false): r is RouteSpec {
  curBase = base;
  curIndex = index;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    p.add(here(''), `expected a route spec object, got ${show(r)}`);
    return false;
  }
  const before = p.list.length;
  // Every field read once (see fields.ts: fast for spread-made specs too); unknown ones named.
  const s = readSpecFields(r);
  if (s.unknown) for (const k of s.unknown) p.add(here(k), `unknown field (expected one of ${ROUTE_SPEC_KEYS.join(', ')})`);

  let family: 0 | 4 | 6 = 0;
  if (s.family !== undefined) {
    if (s.family === 4 || s.family === 6) family = s.family;
    else p.add(here('family'), `${show(s.family)} must be 4 or 6`);
  }

  // Destination.
  let dstFamily: 0 | 4 | 6 = 0;
  const dst = s.dst;
  if (dst === 'default') {
    // family from `family` or a gateway, below
  } else if (typeof dst === 'string') {
    if (v4.parse(dst) && !v4HostBits(v4.address, v4.length)) dstFamily = 4;
    else if (isV6Prefix(dst)) dstFamily = 6;
    else {
      const pp = parsePrefix(p, here('dst'), dst, 'reject');
      if (pp) dstFamily = pp.family;
    }
  } else {
    p.add(here('dst'), `expected a prefix like "10.0.0.0/24", an address or "default", got ${show(dst)}`);
  }
  if (family && dstFamily && family !== dstFamily) {
    p.add(here('family'), `family ${family} does not match dst ${show(dst)} (IPv${dstFamily})`);
  }

  // Gateway and device.
  const hasVia = s.via !== undefined;
  const viaFamily = hasVia ? addrFamily(p, 'via', s.via) : 0;
  const viaLinkLocal = viaFamily === 6 && isLinkLocal6(lastV6First);
  const nexthops = s.nexthops;
  const nh0Via =
    Array.isArray(nexthops) && nexthops.length > 0 && typeof nexthops[0] === 'object' && nexthops[0] !== null ? (nexthops[0] as { via?: unknown }).via : undefined;
  let fam: 0 | 4 | 6 = dstFamily || family || viaFamily;
  if (!fam && typeof nh0Via === 'string') fam = parseIPv4(nh0Via) >= 0 ? 4 : nh0Via.includes(':') ? 6 : 0;
  if (dst === 'default' && !fam) {
    p.add(here('dst'), `"default" needs family (4 or 6) or a via to tell IPv4 from IPv6`);
  }
  if (fam === 6 && viaFamily === 4) {
    p.add(here('via'), `${show(s.via)} is IPv4, but the route is IPv6 (an IPv6 route needs an IPv6 gateway)`);
  }
  const hasDev = s.dev !== undefined;
  if (hasDev) checkDev(p, 'dev', s.dev);
  if (viaLinkLocal && !hasDev) p.add(here('via'), `${show(s.via)} is link-local: give dev too`);
  const onlink = s.onlink;
  if (onlink !== undefined && typeof onlink !== 'boolean') p.add(here('onlink'), `${show(onlink)} must be true or false`);
  if (onlink === true) {
    if (!hasVia) p.add(here('onlink'), 'onlink needs a gateway (via)');
    if (!hasDev) p.add(here('onlink'), 'onlink needs dev (the gateway is not looked up, so the device must be named)');
  }

  // Header fields.
  if (s.table !== undefined) checkTable(p, 'table', s.table);
  if (s.protocol !== undefined) checkName(p, 'protocol', s.protocol, PROTOCOLS, 255);
  if (s.scope !== undefined) {
    const scope = checkName(p, 'scope', s.scope, SCOPES, 255);
    if (scope !== undefined && scope !== RT_SCOPE_UNIVERSE) {
      if (fam === 6) p.add(here('scope'), 'IPv6 routes have no scope (the kernel always reports universe); leave it out');
      else if (onlink === true && scope >= RT_SCOPE_LINK) p.add(here('scope'), 'an onlink gateway needs scope universe (the kernel refuses it with scope link or host)');
    }
  }
  let type: RouteTypeName = 'unicast';
  if (s.type !== undefined) {
    if (typeof s.type === 'string' && SPEC_TYPES.includes(s.type)) type = s.type as RouteTypeName;
    else p.add(here('type'), `${show(s.type)} is not a route type (${SPEC_TYPES.join(', ')})`);
  }
  if (s.metric !== undefined) checkInt(p, here('metric'), s.metric, 0, 0xffffffff);
  if (s.prefsrc !== undefined) {
    const f = addrFamily(p, 'prefsrc', s.prefsrc);
    if (f && fam && f !== fam) p.add(here('prefsrc'), `${show(s.prefsrc)} is IPv${f}, but the route is IPv${fam}`);
  }
  if (s.tos !== undefined && checkInt(p, here('tos'), s.tos, 0, 255)) {
    if (fam === 6 && s.tos !== 0) p.add(here('tos'), 'IPv6 routes take no tos (the kernel refuses it)');
    else if ((s.tos as number) & 3) p.add(here('tos'), `${s.tos} has ECN bits set: tos is a DSCP value times 4 (the kernel refuses the low two bits)`);
  }
  if (s.mtu !== undefined) checkInt(p, here('mtu'), s.mtu, 1, MAX_MTU);
  if (s.advmss !== undefined) checkInt(p, here('advmss'), s.advmss, 1, MAX_ADVMSS);

  // Multipath.
  const hasNexthops = nexthops !== undefined;
  if (hasNexthops) {
    if (hasVia || hasDev || onlink !== undefined) {
      p.add(here('nexthops'), 'nexthops and via/dev/onlink are exclusive: give each path its own via/dev/onlink');
    }
    if (!Array.isArray(nexthops) || nexthops.length === 0) {
      p.add(here('nexthops'), `expected a non-empty array of nexthops, got ${show(nexthops)}`);
    } else {
      for (let k = 0; k < nexthops.length; k++) checkNexthop(p, k, nexthops[k], fam);
    }
  }

  // What the type needs and refuses.
  if (REJECT_TYPES.has(type)) {
    if (hasVia || hasDev || hasNexthops || onlink === true) p.add(here('type'), `a ${type} route takes no via, dev, onlink or nexthops`);
  } else if (forDelete) {
    // matches on what it names
  } else if (DEVICE_TYPES.has(type)) {
    if (!hasDev) p.add(here('dev'), `a ${type} route needs dev`);
  } else if (!hasVia && !hasDev && !hasNexthops) {
    p.add(here(''), 'a unicast route needs via, dev or nexthops');
  }
  return p.list.length === before;
}

function checkNexthop(p: Problems, k: number, nh: unknown, fam: 0 | 4 | 6): void {
  const field = (f: string) => (f ? `nexthops[${k}].${f}` : `nexthops[${k}]`);
  if (typeof nh !== 'object' || nh === null || Array.isArray(nh)) {
    p.add(here(field('')), `expected a nexthop object, got ${show(nh)}`);
    return;
  }
  const n = nh as Record<string, unknown>;
  for (const key in n) {
    if (!NEXTHOP_KEY_SET.has(key)) p.add(here(field(key)), `unknown field (expected one of ${NEXTHOP_KEYS.join(', ')})`);
  }
  const hasVia = n.via !== undefined;
  const viaFamily = hasVia ? addrFamily(p, field('via'), n.via) : 0;
  if (fam === 6 && viaFamily === 4) p.add(here(field('via')), `${show(n.via)} is IPv4, but the route is IPv6`);
  if (viaFamily === 6 && isLinkLocal6(lastV6First) && n.dev === undefined) p.add(here(field('via')), `${show(n.via)} is link-local: give dev too`);
  if (n.dev !== undefined) checkDev(p, field('dev'), n.dev);
  if (!hasVia && n.dev === undefined) p.add(here(field('')), 'a nexthop needs via or dev');
  if (fam === 6 && !hasVia) p.add(here(field('via')), 'IPv6 multipath nexthops need a gateway (the kernel refuses device-only paths)');
  if (n.weight !== undefined) checkInt(p, here(field('weight')), n.weight, 1, 256);
  if (n.onlink !== undefined && typeof n.onlink !== 'boolean') p.add(here(field('onlink')), `${show(n.onlink)} must be true or false`);
  if (n.onlink === true && (!hasVia || n.dev === undefined)) p.add(here(field('onlink')), 'onlink needs via and dev');
}

/** Checks a read-back Route given to delete: it must look like what list() returns. */
export function checkRouteAt(p: Problems, base: string, index: number, r: Route): boolean {
  curBase = base;
  curIndex = index;
  const before = p.list.length;
  if (r.family !== 4 && r.family !== 6) p.add(here('family'), `${show(r.family)} must be 4 or 6`);
  if (r.dst !== 'default') {
    const ok = r.family === 4 && typeof r.dst === 'string' && v4.parse(r.dst) && !v4HostBits(v4.address, v4.length);
    if (!ok) parsePrefix(p, here('dst'), r.dst, 'reject', r.family === 6 ? 6 : 4);
  }
  if (r.via !== undefined) addrFamily(p, 'via', r.via);
  if (r.prefsrc !== undefined) addrFamily(p, 'prefsrc', r.prefsrc);
  if (r.dev !== undefined) checkInt(p, here('dev'), r.dev, 1, 0x7fffffff);
  checkInt(p, here('table'), r.table, 0, 0xffffffff);
  checkInt(p, here('protocol'), r.protocol, 0, 255);
  checkInt(p, here('scope'), r.scope, 0, 255);
  checkInt(p, here('tos'), r.tos, 0, 255);
  if (typeof r.type !== 'number' && !Object.prototype.hasOwnProperty.call(ROUTE_TYPES, r.type)) p.add(here('type'), `${show(r.type)} is not a route type`);
  if (r.metric !== undefined) checkInt(p, here('metric'), r.metric, 0, 0xffffffff);
  if (r.nexthops !== undefined) {
    if (!Array.isArray(r.nexthops)) p.add(here('nexthops'), 'expected an array');
    else {
      for (let k = 0; k < r.nexthops.length; k++) {
        const nh = r.nexthops[k];
        if (nh.via !== undefined) addrFamily(p, `nexthops[${k}].via`, nh.via);
        if (nh.dev !== undefined) checkInt(p, here(`nexthops[${k}].dev`), nh.dev, 1, 0x7fffffff);
        checkInt(p, here(`nexthops[${k}].weight`), nh.weight, 1, 256);
      }
    }
  }
  return p.list.length === before;
}

/** Checks a list() filter. */
export function checkRouteFilter(p: Problems, f: unknown): f is RouteFilter {
  curBase = 'filter';
  curIndex = -1;
  if (typeof f !== 'object' || f === null || Array.isArray(f)) {
    p.add('filter', `expected a filter object, got ${show(f)}`);
    return false;
  }
  const before = p.list.length;
  const s = f as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!FILTER_KEYS.includes(k)) p.add(here(k), `unknown field (expected one of ${FILTER_KEYS.join(', ')})`);
  if (s.family !== undefined && s.family !== 4 && s.family !== 6) p.add(here('family'), `${show(s.family)} must be 4 or 6`);
  if (s.table !== undefined && s.table !== 'all' && s.table !== 0) checkTable(p, 'table', s.table);
  if (s.protocol !== undefined) checkName(p, 'protocol', s.protocol, PROTOCOLS, 255);
  if (s.scope !== undefined) checkName(p, 'scope', s.scope, SCOPES, 255);
  if (s.dev !== undefined) checkDevice(p, here('dev'), s.dev);
  if (s.type !== undefined && !(typeof s.type === 'string' && Object.prototype.hasOwnProperty.call(ROUTE_TYPES, s.type))) {
    p.add(here('type'), `${show(s.type)} is not a route type (${Object.keys(ROUTE_TYPES).join(', ')})`);
  }
  return p.list.length === before;
}

/** Checks get()'s destination and options; returns the destination's family (0 after a problem). */
export function checkRouteLookup(p: Problems, dst: unknown, opts: unknown): 0 | IpFamily {
  curBase = 'lookup';
  curIndex = -1;
  const a = parseAddress(p, 'dst', dst);
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    p.add('options', `expected an options object, got ${show(opts)}`);
    return 0;
  }
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!LOOKUP_KEYS.includes(k)) p.add(k, `unknown option (expected one of ${LOOKUP_KEYS.join(', ')})`);
  if (o.table !== undefined) checkTable(p, 'table', o.table);
  if (o.dev !== undefined) checkDevice(p, 'dev', o.dev);
  if (o.src !== undefined) parseAddress(p, 'src', o.src, a?.family);
  if (o.fibMatch !== undefined && typeof o.fibMatch !== 'boolean') p.add('fibMatch', `${show(o.fibMatch)} must be true or false`);
  if (o.table !== undefined && o.fibMatch === false) p.add('fibMatch', 'a lookup in one table returns the matching route (fibMatch cannot be false)');
  return a ? a.family : 0;
}

