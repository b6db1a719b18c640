/**
 * Route specs are checked completely before anything is sent: every problem of every spec is
 * reported at once, with its path ("routes[17].via"). The common case (IPv4 literals, a device
 * name used by many routes) takes a fast path that builds no strings and no address objects;
 * anything unusual goes through the general checks of the values layer for their messages.
 *
 * The field names and their "did you mean" words are ROUTE_FIELDS' (table.ts); the checks are
 * specialised here because they depend on each other (the family decides what a gateway may
 * be). A RouteValidator holds what one validation carries between its steps (the path being
 * checked, the last device and gateway seen, its prefix parsers): the caller owns it.
 */
import { parseIPv4, parseIPv6Into } from '../../values/ip';
import { RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from '../constants';
import { PROTOCOLS, ROUTE_TYPES, SCOPES, TABLES } from '../names';
import type { IpFamily, Route, RouteFilter, RouteSpec, RouteTypeName } from '../types';
import { checkDevice } from '../validate';
import { familyOf, parseAddress, parsePrefix } from '../../values/address';
import { checkInt, describeValue as show, own, Problems } from '../../values/problems';
import { V4PrefixParser, V6PrefixParser, v4HostBits } from '../../values/prefix';
import type { ParsedDsts } from './codec';
import { RouteSpecReader, type SpecFields } from './fields';
import { MAX_ROUTE_ADVMSS as MAX_ADVMSS, MAX_ROUTE_MTU as MAX_MTU, NEXTHOP_FIELDS, ROUTE_FIELDS, ROUTE_FILTER_FIELDS, ROUTE_LOOKUP_FIELDS, SPEC_ROUTE_TYPES } from './table';

/** Every field a RouteSpec may have (ROUTE_FIELDS' names). */
export const ROUTE_SPEC_KEYS: readonly string[] = ROUTE_FIELDS.names;
const NEXTHOP_KEYS = NEXTHOP_FIELDS.names;
const NEXTHOP_KEY_SET = new Set(NEXTHOP_KEYS);

/** Types that drop or refuse packets: no gateway, device or nexthops (the kernel refuses them). */
const REJECT_TYPES = new Set<string>(['blackhole', 'unreachable', 'prohibit', 'throw']);
/** Types that need a device. */
const DEVICE_TYPES = new Set<string>(['local', 'broadcast', 'anycast', 'multicast']);
const SPEC_TYPES = SPEC_ROUTE_TYPES;

/** checkInt's test, without a path. */
const isIntIn = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isLinkLocal6 = (first16: number) => (first16 & 0xffc0) === 0xfe80;
const NONE = Symbol('none');

/**
 * Checks route specs, filters and lookups. One per caller (a Routes handle keeps one): it
 * remembers the last device and gateways it accepted (tables use a few many times) and owns
 * its prefix parsers, which is all the state a check carries; no result depends on it.
 */
export class RouteValidator {
  // The path of the spec being checked, built only when a problem is reported.
  private curBase = '';
  private curIndex = -1;
  // A device name that passed checkDevice.
  private lastGoodDev: unknown = NONE;
  // The first 16 bits of the last IPv6 address addrFamily saw (for the link-local check), and
  // the last literals it accepted.
  private lastV6First = 0;
  private lastGoodV4: unknown = NONE;
  private lastGoodV6: unknown = NONE;
  private lastGoodV6First = 0;
  private readonly v6scratch = Buffer.alloc(16);
  private readonly v4 = new V4PrefixParser();
  private readonly v6 = new V6PrefixParser();
  private readonly fields = new RouteSpecReader();
  // Whether the last spec()'s dst parsed as an IPv4 prefix (then this.v4 holds it).
  private dstIsV4 = false;

  /**
   * The fields the last spec() read, valid until this validator's next check: a caller that
   * validates and then works on the same spec (the reconciler's prepare) need not read its
   * fields a second time.
   */
  lastFields(): SpecFields {
    return this.fields;
  }

  /** The IPv4 destination the last spec() parsed (address, length, slashed), or undefined when
   * its dst was not an IPv4 prefix; valid until this validator's next check. */
  lastV4Dst(): V4PrefixParser | undefined {
    return this.dstIsV4 ? this.v4 : undefined;
  }

  /** checkInt at a field of the current path, the path built only for a problem (a delete of
   * 100k Routes from list() checks six numbers each). */
  private checkIntAt(p: Problems, field: string, v: unknown, min: number, max: number): boolean {
    return isIntIn(v, min, max) || checkInt(p, this.here(field), v, min, max);
  }

  private here(field: string): string {
    const at = this.curIndex < 0 ? this.curBase : `${this.curBase}[${this.curIndex}]`;
    return field ? (at ? `${at}.${field}` : field) : at;
  }

  private checkDev(p: Problems, field: string, v: unknown): void {
    if (v === this.lastGoodDev && typeof v === 'string') return;
    if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 0x7fffffff) return;
    if (checkDevice(p, this.here(field), v) && typeof v === 'string') this.lastGoodDev = v;
  }

  /** Family of an address literal (fast for both families), 0 after reporting a problem. */
  private addrFamily(p: Problems, field: string, v: unknown): 0 | 4 | 6 {
    if (v === this.lastGoodV4) return 4;
    if (v === this.lastGoodV6) {
      this.lastV6First = this.lastGoodV6First;
      return 6;
    }
    if (typeof v === 'string' && parseIPv4(v) >= 0) {
      this.lastGoodV4 = v;
      return 4;
    }
    // Our own parser agrees with net.isIPv6 (checked on random strings); the general check
    // below is for the message.
    if (typeof v === 'string' && parseIPv6Into(v, this.v6scratch, 0)) {
      this.lastGoodV6 = v;
      this.lastV6First = this.lastGoodV6First = (this.v6scratch[0] << 8) | this.v6scratch[1];
      return 6;
    }
    const a = parseAddress(p, this.here(field), v);
    if (!a) return 0;
    if (a.family === 6) this.lastV6First = (a.bytes[0] << 8) | a.bytes[1];
    return a.family;
  }

  /** Whether s is "x::y/n" (n 0..128, no leading zeros) or a bare IPv6 address, without bits
   * set past n. The fast path: anything else goes to parsePrefix for its message. */
  private isV6Prefix(s: string): boolean {
    const v6 = this.v6;
    if (!v6.parse(s)) return false;
    const b = v6.bytes;
    for (let bit = v6.length; bit < 128; bit++) if (b[bit >> 3] & (0x80 >> (bit & 7))) return false;
    return true;
  }

  private checkName(p: Problems, field: string, v: unknown, names: Record<string, number>, max: number, min = 0): number | undefined {
    if (typeof v === 'string') {
      if (Object.prototype.hasOwnProperty.call(names, v)) return names[v];
      p.add(this.here(field), `unknown ${field} name ${show(v)} (known: ${Object.keys(names).join(', ')}; or a number ${min}..${max})`);
      return undefined;
    }
    return checkInt(p, this.here(field), v, min, max) ? (v as number) : undefined;
  }

  private checkTable(p: Problems, field: string, v: unknown): void {
    if (v === 0) {
      p.add(this.here(field), `0 is RT_TABLE_UNSPEC, not a table (use 'main' or 254)`);
      return;
    }
    this.checkName(p, field, v, TABLES, 0xffffffff, 1);
  }

  /**
   * Checks a route spec at the path `${base}[${index}]` (just `base` for index -1; built only if
   * there is a problem); reports every problem to p and returns whether this spec had none.
   * forDelete: a spec that selects routes to delete may leave out what it does not match on
   * (a bare dst deletes the first route to it). parsed: where to record the destination this
   * check parsed (at `index`), so the encoder of the same batch does not parse it again.
   * Never throws, whatever the value.
   */
  spec(p: Problems, base: string, index: number, r: unknown, forDelete = false, parsed?: ParsedDsts): r is RouteSpec {
    this.curBase = base;
    this.curIndex = index;
    this.dstIsV4 = false;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      p.add(this.here(''), `expected a route spec object, got ${show(r)}`);
      return false;
    }
    const before = p.list.length;
    // Every own field read once (see fields.ts: fast for spread-made specs too); unknown ones named.
    const s = this.fields.read(r);
    if (s.unknown) for (const k of s.unknown) p.add(this.here(k), unknownField(k));
    if (s.inherited) {
      for (const k of s.inherited) p.add(this.here(k), "is inherited, not an own property: only a spec's own fields are read; set it on the object itself");
    }

    let family: 0 | 4 | 6 = 0;
    if (s.family !== undefined) {
      const f = familyOf(s.family);
      if (f !== undefined) family = f;
      else p.add(this.here('family'), `${show(s.family)} is not an address family (4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10)`);
    }

    // Destination.
    let dstFamily: 0 | 4 | 6 = 0;
    const dst = s.dst;
    const v4 = this.v4;
    if (dst === 'default') {
      // family from `family` or a gateway, below
    } else if (typeof dst === 'string') {
      if (v4.parse(dst) && !v4HostBits(v4.address, v4.length)) {
        dstFamily = 4;
        this.dstIsV4 = true;
        parsed?.setV4(index, v4.address, v4.length);
      } else if (this.isV6Prefix(dst)) {
        dstFamily = 6;
        parsed?.setV6(index, this.v6.bytes, this.v6.length);
      } else {
        const pp = parsePrefix(p, this.here('dst'), dst, 'reject');
        if (pp) dstFamily = pp.family;
      }
    } else {
      p.add(this.here('dst'), `expected a prefix like "10.0.0.0/24", an address or "default", got ${show(dst)}`);
    }
    if (family && dstFamily && family !== dstFamily) {
      p.add(this.here('family'), `family ${family} does not match dst ${show(dst)} (IPv${dstFamily})`);
    }

    // Gateway and device.
    const hasVia = s.via !== undefined;
    const viaFamily = hasVia ? this.addrFamily(p, 'via', s.via) : 0;
    const viaLinkLocal = viaFamily === 6 && isLinkLocal6(this.lastV6First);
    const nexthops = s.nexthops;
    const nh0 = Array.isArray(nexthops) && nexthops.length > 0 && typeof nexthops[0] === 'object' && nexthops[0] !== null ? nexthops[0] : undefined;
    const nh0Via = nh0 !== undefined ? own(nh0, 'via') : undefined;
    let fam: 0 | 4 | 6 = dstFamily || family || viaFamily;
    if (!fam && typeof nh0Via === 'string') fam = parseIPv4(nh0Via) >= 0 ? 4 : nh0Via.includes(':') ? 6 : 0;
    if (dst === 'default' && !fam) {
      p.add(this.here('dst'), `"default" needs family (4 or 6) or a via to tell IPv4 from IPv6`);
    }
    if (dst === 'default' && fam) parsed?.setDefault(index, fam);
    if (fam === 6 && viaFamily === 4) {
      p.add(this.here('via'), `${show(s.via)} is IPv4, but the route is IPv6 (an IPv6 route needs an IPv6 gateway)`);
    }
    const hasDev = s.dev !== undefined;
    if (hasDev) this.checkDev(p, 'dev', s.dev);
    if (viaLinkLocal && !hasDev) p.add(this.here('via'), `${show(s.via)} is link-local: give dev too`);
    const onlink = s.onlink;
    if (onlink !== undefined && typeof onlink !== 'boolean') p.add(this.here('onlink'), `${show(onlink)} must be true or false`);
    if (onlink === true) {
      if (!hasVia) p.add(this.here('onlink'), 'onlink needs a gateway (via)');
      if (!hasDev) p.add(this.here('onlink'), 'onlink needs dev (the gateway is not looked up, so the device must be named)');
    }

    // Header fields.
    if (s.table !== undefined) this.checkTable(p, 'table', s.table);
    if (s.protocol !== undefined) this.checkName(p, 'protocol', s.protocol, PROTOCOLS, 255);
    if (s.scope !== undefined) {
      const scope = this.checkName(p, 'scope', s.scope, SCOPES, 255);
      if (scope !== undefined && scope !== RT_SCOPE_UNIVERSE) {
        if (fam === 6) p.add(this.here('scope'), 'IPv6 routes have no scope (the kernel always reports universe); leave it out');
        else if (onlink === true && scope >= RT_SCOPE_LINK) p.add(this.here('scope'), 'an onlink gateway needs scope universe (the kernel refuses it with scope link or host)');
      }
    }
    let type: RouteTypeName = 'unicast';
    if (s.type !== undefined) {
      if (typeof s.type === 'string' && SPEC_TYPES.includes(s.type)) type = s.type as RouteTypeName;
      else p.add(this.here('type'), `${show(s.type)} is not a route type (${SPEC_TYPES.join(', ')})`);
    }
    if (s.metric !== undefined) checkInt(p, this.here('metric'), s.metric, 0, 0xffffffff);
    if (s.prefsrc !== undefined) {
      const f = this.addrFamily(p, 'prefsrc', s.prefsrc);
      if (f && fam && f !== fam) p.add(this.here('prefsrc'), `${show(s.prefsrc)} is IPv${f}, but the route is IPv${fam}`);
    }
    if (s.tos !== undefined && checkInt(p, this.here('tos'), s.tos, 0, 255)) {
      if (fam === 6 && s.tos !== 0) p.add(this.here('tos'), 'IPv6 routes take no tos (the kernel refuses it)');
      else if ((s.tos as number) & 3) p.add(this.here('tos'), `${s.tos} has ECN bits set: tos is a DSCP value times 4 (the kernel refuses the low two bits)`);
    }
    if (s.mtu !== undefined) checkInt(p, this.here('mtu'), s.mtu, 1, MAX_MTU);
    if (s.advmss !== undefined) checkInt(p, this.here('advmss'), s.advmss, 1, MAX_ADVMSS);

    // Nexthop object.
    const hasNhid = s.nhid !== undefined;
    if (hasNhid) {
      checkInt(p, this.here('nhid'), s.nhid, 1, 0xffffffff);
      if (hasVia || hasDev || nexthops !== undefined || onlink !== undefined) {
        p.add(this.here('nhid'), 'nhid and via/dev/onlink/nexthops are exclusive: the nexthop object says where the route goes');
      }
    }

    // Multipath.
    const hasNexthops = nexthops !== undefined;
    if (hasNexthops) {
      if (hasVia || hasDev || onlink !== undefined) {
        p.add(this.here('nexthops'), 'nexthops and via/dev/onlink are exclusive: give each path its own via/dev/onlink');
      }
      if (!Array.isArray(nexthops) || nexthops.length === 0) {
        p.add(this.here('nexthops'), `expected a non-empty array of nexthops, got ${show(nexthops)}`);
      } else {
        for (let k = 0; k < nexthops.length; k++) this.checkNexthop(p, k, nexthops[k], fam);
      }
    }

    // What the type needs and refuses.
    if (REJECT_TYPES.has(type)) {
      if (hasVia || hasDev || hasNexthops || onlink === true || hasNhid) p.add(this.here('type'), `a ${type} route takes no via, dev, onlink, nexthops or nhid`);
    } else if (forDelete) {
      // matches on what it names
    } else if (DEVICE_TYPES.has(type)) {
      if (!hasDev) p.add(this.here('dev'), `a ${type} route needs dev`);
      if (hasNhid) p.add(this.here('nhid'), `a ${type} route takes no nhid`);
    } else if (!hasVia && !hasDev && !hasNexthops && !hasNhid) {
      p.add(this.here(''), 'a unicast route needs via, dev, nexthops or nhid');
    }
    return p.list.length === before;
  }

  private checkNexthop(p: Problems, k: number, nh: unknown, fam: 0 | 4 | 6): void {
    const field = (f: string) => (f ? `nexthops[${k}].${f}` : `nexthops[${k}]`);
    if (typeof nh !== 'object' || nh === null || Array.isArray(nh)) {
      p.add(this.here(field('')), `expected a nexthop object, got ${show(nh)}`);
      return;
    }
    for (const key of Object.keys(nh)) {
      if (!NEXTHOP_KEY_SET.has(key)) {
        const meant = NEXTHOP_FIELDS.synonyms[key];
        p.add(this.here(field(key)), meant ? `unknown field (did you mean \`${meant}\`?)` : `unknown field (expected one of ${NEXTHOP_KEYS.join(', ')})`);
      }
    }
    for (const key in nh) {
      if (!Object.prototype.hasOwnProperty.call(nh, key) && NEXTHOP_KEY_SET.has(key)) p.add(this.here(field(key)), "is inherited, not an own property: only a spec's own fields are read; set it on the object itself");
    }
    const via = own(nh, 'via');
    const dev = own(nh, 'dev');
    const weight = own(nh, 'weight');
    const onlink = own(nh, 'onlink');
    const hasVia = via !== undefined;
    const viaFamily = hasVia ? this.addrFamily(p, field('via'), via) : 0;
    if (fam === 6 && viaFamily === 4) p.add(this.here(field('via')), `${show(via)} is IPv4, but the route is IPv6`);
    if (viaFamily === 6 && isLinkLocal6(this.lastV6First) && dev === undefined) p.add(this.here(field('via')), `${show(via)} is link-local: give dev too`);
    if (dev !== undefined) this.checkDev(p, field('dev'), dev);
    if (!hasVia && dev === undefined) p.add(this.here(field('')), 'a nexthop needs via or dev');
    if (fam === 6 && !hasVia) p.add(this.here(field('via')), 'IPv6 multipath nexthops need a gateway (the kernel refuses device-only paths)');
    if (weight !== undefined) checkInt(p, this.here(field('weight')), weight, 1, 256);
    if (onlink !== undefined && typeof onlink !== 'boolean') p.add(this.here(field('onlink')), `${show(onlink)} must be true or false`);
    if (onlink === true && (!hasVia || dev === undefined)) p.add(this.here(field('onlink')), 'onlink needs via and dev');
  }

  /** Checks a read-back Route given to delete: it must look like what list() returns. */
  route(p: Problems, base: string, index: number, r: Route): boolean {
    this.curBase = base;
    this.curIndex = index;
    this.dstIsV4 = false;
    const before = p.list.length;
    const v4 = this.v4;
    if (r.family !== 4 && r.family !== 6) p.add(this.here('family'), `${show(r.family)} must be 4 or 6`);
    if (r.dst !== 'default') {
      const ok = r.family === 4 && typeof r.dst === 'string' && v4.parse(r.dst) && !v4HostBits(v4.address, v4.length);
      if (!ok) parsePrefix(p, this.here('dst'), r.dst, 'reject', r.family === 6 ? 6 : 4);
    }
    if (r.via !== undefined) this.addrFamily(p, 'via', r.via);
    if (r.prefsrc !== undefined) this.addrFamily(p, 'prefsrc', r.prefsrc);
    if (r.dev !== undefined) this.checkIntAt(p, 'dev', r.dev, 1, 0x7fffffff);
    this.checkIntAt(p, 'table', r.table, 0, 0xffffffff);
    this.checkIntAt(p, 'protocol', r.protocol, 0, 255);
    this.checkIntAt(p, 'scope', r.scope, 0, 255);
    this.checkIntAt(p, 'tos', r.tos, 0, 255);
    if (typeof r.type !== 'number' && !Object.prototype.hasOwnProperty.call(ROUTE_TYPES, r.type)) p.add(this.here('type'), `${show(r.type)} is not a route type`);
    if (r.metric !== undefined) this.checkIntAt(p, 'metric', r.metric, 0, 0xffffffff);
    if (r.nhid !== undefined) this.checkIntAt(p, 'nhid', r.nhid, 1, 0xffffffff);
    if (r.nexthops !== undefined) {
      if (!Array.isArray(r.nexthops)) p.add(this.here('nexthops'), 'expected an array');
      else {
        for (let k = 0; k < r.nexthops.length; k++) {
          const nh = r.nexthops[k];
          if (nh.via !== undefined) this.addrFamily(p, `nexthops[${k}].via`, nh.via);
          if (nh.dev !== undefined && !isIntIn(nh.dev, 1, 0x7fffffff)) checkInt(p, this.here(`nexthops[${k}].dev`), nh.dev, 1, 0x7fffffff);
          if (!isIntIn(nh.weight, 1, 256)) checkInt(p, this.here(`nexthops[${k}].weight`), nh.weight, 1, 256);
        }
      }
    }
    return p.list.length === before;
  }

  /** Checks a list() filter. */
  filter(p: Problems, f: unknown): f is RouteFilter {
    this.curBase = 'filter';
    this.curIndex = -1;
    const before = p.list.length;
    if (!ROUTE_FILTER_FIELDS.check(p, 'filter', f, 'a filter')) {
      // checkFields ran too; the table-specific checks below add the table's rule
    }
    if (typeof f !== 'object' || f === null || Array.isArray(f)) return false;
    const table = own(f, 'table');
    if (table !== undefined && table !== 'all' && table !== 0) this.checkTable(p, 'table', table);
    return p.list.length === before;
  }

  /** Checks get()'s destination and options; returns the destination's family (0 after a problem). */
  lookup(p: Problems, dst: unknown, opts: unknown): 0 | IpFamily {
    this.curBase = 'lookup';
    this.curIndex = -1;
    const a = parseAddress(p, 'dst', dst);
    if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
      p.add('options', `expected an options object, got ${show(opts)}`);
      return 0;
    }
    ROUTE_LOOKUP_FIELDS.check(p, '', opts, 'an options');
    const table = own(opts, 'table');
    const src = own(opts, 'src');
    if (table !== undefined) this.checkTable(p, 'table', table);
    if (src !== undefined) parseAddress(p, 'src', src, a?.family);
    if (table !== undefined && own(opts, 'fibMatch') === false) p.add('fibMatch', 'a lookup in one table returns the matching route (fibMatch cannot be false)');
    return a ? a.family : 0;
  }
}

/** "unknown field", with "did you mean" for a word ROUTE_FIELDS knows. */
function unknownField(k: string): string {
  const meant = Object.prototype.hasOwnProperty.call(ROUTE_FIELDS.synonyms, k) ? ROUTE_FIELDS.synonyms[k] : undefined;
  return meant !== undefined ? `unknown field (did you mean \`${meant}\`?)` : `unknown field (expected one of ${ROUTE_SPEC_KEYS.join(', ')})`;
}

/** The validator of the free functions below (it carries no result between calls). */
let defaultValidator: RouteValidator | undefined;
const validator = (): RouteValidator => (defaultValidator ??= new RouteValidator());

/**
 * Checks a route spec; reports every problem to p under `path` ("routes[3]") and returns
 * whether this spec had none. Never throws.
 */
export function validateRouteSpec(p: Problems, path: string, r: unknown): r is RouteSpec {
  return validator().spec(p, path, -1, r);
}

/**
 * validateRouteSpec with the path `${base}[${index}]` (built only if there is a problem).
 * forDelete: a spec that selects routes to delete may leave out what it does not match on
 * (a bare dst deletes the first route to it). parsed: where to record the parsed destination
 * for the encoder (see ParsedDsts). A caller that checks many keeps a RouteValidator.
 */
export function checkRouteSpecAt(p: Problems, base: string, index: number, r: unknown, forDelete = false, parsed?: ParsedDsts): r is RouteSpec {
  return validator().spec(p, base, index, r, forDelete, parsed);
}

/** Checks a read-back Route given to delete: it must look like what list() returns. */
export function checkRouteAt(p: Problems, base: string, index: number, r: Route): boolean {
  return validator().route(p, base, index, r);
}

/** Checks a list() filter. */
export function checkRouteFilter(p: Problems, f: unknown): f is RouteFilter {
  return validator().filter(p, f);
}

/** Checks get()'s destination and options; returns the destination's family (0 after a problem). */
export function checkRouteLookup(p: Problems, dst: unknown, opts: unknown): 0 | IpFamily {
  return validator().lookup(p, dst, opts);
}
