/**
 * Route messages (struct rtmsg + RTA_* attributes) to bytes; decoding is facts.ts (RouteFacts
 * and parseRouteMessage, built on it).
 *
 * This is the hot path of large tables: 100k routes are encoded in one pipelined batch.
 * Encoding writes straight into the MessageWriter from the spec's strings (dotted quads parsed
 * without slicing), in ROUTE_ATTRS' order with its types (the generic table encoder writes the
 * same bytes: test/rtnl/route/table.test.js). Attribute order follows iproute2, so requests
 * are byte-for-byte what `ip route` sends. The state an encode needs between its steps (the
 * parsed destination, the last gateway) lives in a RouteEncoder the caller owns.
 */
import { NLM_F_DUMP, NLM_F_REQUEST } from '../../wire/constants';
import { parseIPv4 } from '../../values/ip';
import { describeValue } from '../../values/problems';
import type { MessageWriter } from '../../wire/writer';
import {
  AF_INET,
  AF_INET6,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_MULTIPATH,
  RTA_NH_ID,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_SRC,
  RTA_TABLE,
  RTA_VIA,
  RTMSG_LEN,
  RTM_DELROUTE,
  RTM_F_FIB_MATCH,
  RTM_F_LOOKUP_TABLE,
  RTM_GETROUTE,
  RTNH_F_ONLINK,
  RTN_ANYCAST,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_NAT,
  RTN_UNICAST,
  RTN_UNSPEC,
  RTPROT_BOOT,
  RTPROT_UNSPEC,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  RT_TABLE_UNSPEC,
} from '../constants';
import { PROTOCOLS, ROUTE_TYPES, SCOPES, TABLES } from '../names';
import { familyOf } from '../../values/address';
import type { DeviceRef, FamilyInput, IpFamily, Nexthop, NexthopSpec, ProtocolName, Route, RouteSpec, RouteTypeName, ScopeName, TableName } from '../types';
import { V4PrefixParser } from '../../values/prefix';
import { RouteSpecReader, readValidSpec } from './fields';
import { METRICS_ATTRS, RTNEXTHOP, rtvia } from './table';

/** Maps a device name or index to an interface index (throws when it cannot). */
export type DevIndex = (ref: DeviceRef) => number;

// ---------------------------------------------------------------- defaults, shared with validation

/** Whether a value is a read-back Route rather than a RouteSpec (only Routes carry flags). */
export function isRoute(r: RouteSpec | Route): r is Route {
  // `in` first: reading a property a spread-made spec lacks is slow in V8 (see fields.ts).
  return 'flags' in r && typeof (r as Route).flags === 'number';
}

/** The address family of a (validated) spec: from dst, or for "default" from family or the
 * first gateway, IPv4 when nothing says. */
export function specFamily(r: { readonly dst?: string; readonly family?: FamilyInput; readonly via?: string; readonly nexthops?: NexthopSpec[] }): IpFamily {
  const d = r.dst;
  if (d === 'default') {
    const f = familyOf(r.family);
    if (f !== undefined) return f;
    const via = r.via ?? (r.nexthops !== undefined && r.nexthops.length > 0 ? r.nexthops[0].via : undefined);
    return via !== undefined && via.includes(':') ? 6 : 4;
  }
  return d !== undefined && d.includes(':') ? 6 : 4;
}

/** rtm_type of a spec: unicast for adds, RTN_UNSPEC (any) for deletes, as iproute2. */
export function routeTypeOf(t: RouteTypeName | number | undefined, del: boolean): number {
  if (t === undefined) return del ? RTN_UNSPEC : RTN_UNICAST;
  return typeof t === 'number' ? t : ROUTE_TYPES[t];
}

/** The table a spec goes to: main, or local for local/broadcast/anycast/nat routes (iproute2's
 * choice, so `ip route add local ...` and this agree). */
export function tableOf(t: number | TableName | undefined, type: number): number {
  if (t === undefined) {
    return type === RTN_LOCAL || type === RTN_BROADCAST || type === RTN_ANYCAST || type === RTN_NAT ? RT_TABLE_LOCAL : RT_TABLE_MAIN;
  }
  return typeof t === 'number' ? t : TABLES[t];
}

/** rtm_protocol: boot for adds (as `ip route add`), any (0) for deletes. */
export function protocolOf(p: number | ProtocolName | undefined, del: boolean): number {
  if (p === undefined) return del ? RTPROT_UNSPEC : RTPROT_BOOT;
  return typeof p === 'number' ? p : PROTOCOLS[p];
}

/**
 * rtm_scope when the spec names none, as iproute2 picks it: host for local, link for
 * broadcast/multicast/anycast and for unicast routes without a gateway, universe otherwise;
 * deletes match any scope (RT_SCOPE_NOWHERE). IPv6 has no route scopes (always universe).
 */
export function defaultScope(family: number, type: number, gateway: boolean, del: boolean): number {
  if (family === AF_INET6) return RT_SCOPE_UNIVERSE;
  if (type === RTN_LOCAL || type === RTN_NAT) return RT_SCOPE_HOST;
  if (type === RTN_BROADCAST || type === RTN_MULTICAST || type === RTN_ANYCAST) return RT_SCOPE_LINK;
  if (type === RTN_UNICAST || type === RTN_UNSPEC) {
    if (del) return RT_SCOPE_NOWHERE;
    if (!gateway) return RT_SCOPE_LINK;
  }
  return RT_SCOPE_UNIVERSE;
}

/** rtm_scope of a spec: its own, or defaultScope's. */
export function scopeOf(s: number | ScopeName | undefined, family: number, type: number, gateway: boolean, del: boolean): number {
  if (s === undefined) return defaultScope(family, type, gateway, del);
  return typeof s === 'number' ? s : SCOPES[s];
}

// ---------------------------------------------------------------- encoding

/**
 * Destinations parsed once, by validation, for the encoder of the same batch: index i holds
 * the i-th route's family, prefix length and address, so the text is not parsed again on the
 * way to the kernel. Routes.addMany/delMany make one per call; a caller that validates itself
 * (checkRouteSpecAt) can pass one to both (see AddManyOptions.parsed).
 */
export class ParsedDsts {
  /** 0: not parsed (the encoder parses it), 4 or 6. */
  readonly family: Uint8Array;
  /** Prefix lengths. */
  readonly length: Uint8Array;
  /** IPv4 addresses (unsigned 32-bit). */
  readonly v4: Uint32Array;
  /** IPv6 addresses, 16 bytes each (allocated on the first one). */
  v6: Buffer | undefined;

  /** Room for n routes. */
  constructor(readonly size: number) {
    this.family = new Uint8Array(size);
    this.length = new Uint8Array(size);
    this.v4 = new Uint32Array(size);
  }

  /** Records route i's IPv4 destination. */
  setV4(i: number, address: number, length: number): void {
    this.family[i] = 4;
    this.v4[i] = address;
    this.length[i] = length;
  }

  /** Records route i's IPv6 destination (bytes: 16). */
  setV6(i: number, bytes: Uint8Array, length: number): void {
    const v6 = (this.v6 ??= Buffer.alloc(16 * this.size));
    v6.set(bytes, 16 * i);
    this.family[i] = 6;
    this.length[i] = length;
  }

  /** Records that route i's destination is "default". */
  setDefault(i: number, family: 4 | 6): void {
    this.family[i] = family;
    this.length[i] = 0;
  }
}

/**
 * The state one route encode carries between its steps, owned by its caller (a Routes handle
 * keeps one): the destination just parsed and the last IPv4 gateway parsed (tables of many
 * routes name few gateways). Holds no result: every encode overwrites what it uses.
 */
export class RouteEncoder {
  private dstLen = 0;
  private dstV4 = -1;
  private dstV6: string | undefined;
  private dstV6Off = -1;
  private dstV6Buf: Buffer | undefined;
  private readonly v4dst = new V4PrefixParser();
  private lastGwText = '';
  private lastGwValue = -1;

  /**
   * Writes one complete route message (begin ... end) for a spec or a read-back route (see
   * encodeRoute). `parsed`/`index`: the destination validation parsed for this route.
   */
  encode(w: MessageWriter, type: number, flags: number, r: RouteSpec | Route, devIndex: DevIndex, protocol?: number, parsed?: ParsedDsts, index = -1): void {
    if (isRoute(r)) this.encodeReadBack(w, type, flags, r, devIndex);
    else this.encodeSpec(w, type, flags, r, devIndex, protocol, parsed, index);
  }

  private encodeSpec(w: MessageWriter, type: number, flags: number, spec: RouteSpec, devIndex: DevIndex, protocol: number | undefined, parsed: ParsedDsts | undefined, index: number): void {
    const r = readValidSpec(spec, this.fields); // each own field read once (fast for spread-made specs too)
    const del = type === RTM_DELROUTE;
    const family = specFamily(r) === 6 ? AF_INET6 : AF_INET;
    if (parsed !== undefined && index >= 0 && parsed.family[index] !== 0) this.takeDst(parsed, index);
    else this.parseDst(r.dst!, family);
    const rtype = routeTypeOf(r.type, del);
    const table = tableOf(r.table, rtype);
    const via = r.via;
    const nexthops = r.nexthops;
    const nhid = r.nhid;
    const gateway = via !== undefined || nexthops !== undefined || nhid !== undefined;
    const scope = scopeOf(r.scope, family, rtype, gateway, del);
    const dev = r.dev;
    const metric = r.metric;
    const prefsrc = r.prefsrc;
    const mtu = r.mtu;
    const advmss = r.advmss;
    const proto = r.protocol === undefined && protocol !== undefined ? protocol : protocolOf(r.protocol, del);
    const tos = r.tos ?? 0;
    const onlink = r.onlink === true;
    // devIndex and the writers below never read a spec: the fields are all taken.
    const oif = dev !== undefined ? devIndex(dev) : 0;
    w.begin(type, flags);
    writeHeader(w, family, this.dstLen, 0, tos, table, proto, scope, rtype, onlink ? RTNH_F_ONLINK : 0);
    this.writeDstAttr(w);
    if (prefsrc !== undefined) w.ip(RTA_PREFSRC, prefsrc);
    if (via !== undefined) this.writeGateway(w, family, via);
    if (table > 255) w.u32(RTA_TABLE, table);
    if (metric !== undefined) w.u32(RTA_PRIORITY, metric);
    if (dev !== undefined) w.u32(RTA_OIF, oif);
    writeMetrics(w, mtu, advmss);
    if (nexthops !== undefined) this.writeMultipath(w, family, nexthops, devIndex);
    if (nhid !== undefined) w.u32(RTA_NH_ID, nhid);
    w.end();
  }

  private encodeReadBack(w: MessageWriter, type: number, flags: number, r: Route, devIndex: DevIndex): void {
    const family = r.family === 6 ? AF_INET6 : AF_INET;
    this.parseDst(r.dst, family);
    w.begin(type, flags);
    // Only the flag a request may carry: DEAD/LINKDOWN/OFFLOAD are the kernel's to report.
    // A route on a nexthop object is named by its nhid alone: the paths it reports are the
    // object's, and the kernel refuses them next to RTA_NH_ID.
    const nhid = r.nhid;
    const rflags = r.onlink && nhid === undefined ? RTNH_F_ONLINK : 0;
    writeHeader(w, family, this.dstLen, 0, r.tos, r.table, r.protocol, r.scope, routeTypeOf(r.type, false), rflags);
    this.writeDstAttr(w);
    if (r.prefsrc !== undefined) w.ip(RTA_PREFSRC, r.prefsrc);
    if (r.via !== undefined && nhid === undefined) this.writeGateway(w, family, r.via);
    if (r.table > 255) w.u32(RTA_TABLE, r.table);
    if (r.metric !== undefined) w.u32(RTA_PRIORITY, r.metric);
    if (r.dev !== undefined && nhid === undefined) w.u32(RTA_OIF, r.dev);
    writeMetrics(w, r.mtu, r.advmss);
    if (r.nexthops !== undefined && nhid === undefined) this.writeMultipath(w, family, r.nexthops, devIndex);
    if (nhid !== undefined) w.u32(RTA_NH_ID, nhid);
    w.end();
  }

  /** The spec fields, read once per encode into this encoder's own reader. */
  private readonly fields = new RouteSpecReader();

  private takeDst(parsed: ParsedDsts, i: number): void {
    this.dstLen = parsed.length[i];
    this.dstV6 = undefined;
    this.dstV4 = -1;
    this.dstV6Off = -1;
    if (this.dstLen === 0) return;
    if (parsed.family[i] === 4) this.dstV4 = parsed.v4[i];
    else {
      this.dstV6Buf = parsed.v6;
      this.dstV6Off = 16 * i;
    }
  }

  private parseDst(dst: string, family: number): void {
    this.dstV4 = -1;
    this.dstV6 = undefined;
    this.dstV6Off = -1;
    if (dst === 'default') {
      this.dstLen = 0;
      return;
    }
    if (family === AF_INET) {
      if (!this.v4dst.parse(dst)) throw new TypeError(`not an IPv4 prefix: ${describeValue(dst)}`);
      this.dstV4 = this.v4dst.address;
      this.dstLen = this.v4dst.length;
      return;
    }
    const slash = dst.indexOf('/');
    this.dstV6 = slash < 0 ? dst : dst.slice(0, slash);
    this.dstLen = slash < 0 ? 128 : Number(dst.slice(slash + 1));
    if (!(this.dstLen >= 0 && this.dstLen <= 128)) throw new TypeError(`not an IPv6 prefix: ${describeValue(dst)}`);
  }

  private writeDstAttr(w: MessageWriter): void {
    if (this.dstLen === 0) return; // default: no RTA_DST, as iproute2
    if (this.dstV4 >= 0) w.be32(RTA_DST, this.dstV4);
    else if (this.dstV6Off >= 0) w.binary(RTA_DST, this.dstV6Buf!.subarray(this.dstV6Off, this.dstV6Off + 16));
    else w.ip(RTA_DST, this.dstV6!);
  }

  /** RTA_GATEWAY in the route's family; an IPv6 gateway of an IPv4 route goes in RTA_VIA. */
  private writeGateway(w: MessageWriter, family: number, via: string): void {
    let v4: number;
    if (via === this.lastGwText) v4 = this.lastGwValue;
    else {
      v4 = parseIPv4(via);
      if (v4 >= 0) {
        this.lastGwText = via;
        this.lastGwValue = v4;
      }
    }
    if (v4 >= 0) {
      if (family !== AF_INET) throw new TypeError(`an IPv6 route cannot have the IPv4 gateway ${via}`);
      w.be32(RTA_GATEWAY, v4);
      return;
    }
    if (family === AF_INET6) {
      w.ip(RTA_GATEWAY, via);
      return;
    }
    rtvia.encode(w, RTA_VIA, via);
  }

  /** RTA_MULTIPATH: one struct rtnexthop per path, each followed by its gateway attribute. */
  private writeMultipath(w: MessageWriter, family: number, nhs: ReadonlyArray<NexthopSpec | Nexthop>, devIndex: DevIndex): void {
    const nest = w.nestStart(RTA_MULTIPATH);
    for (let k = 0; k < nhs.length; k++) {
      const nh = nhs[k];
      const ifindex = nh.dev !== undefined ? devIndex(nh.dev) : 0;
      const off = RTNEXTHOP.write(w, { flags: nh.onlink ? RTNH_F_ONLINK : 0, hops: (nh.weight ?? 1) - 1, ifindex });
      if (nh.via !== undefined) this.writeGateway(w, family, nh.via);
      w.buf.writeUInt16LE(w.length - off, off); // rtnh_len (the buffer may have grown)
    }
    w.nestEnd(nest);
  }
}

function writeHeader(
  w: MessageWriter,
  family: number,
  dLen: number,
  sLen: number,
  tos: number,
  table: number,
  protocol: number,
  scope: number,
  type: number,
  flags: number,
): void {
  const off = w.reserve(RTMSG_LEN);
  const b = w.buf;
  // struct rtmsg at RTMSG's offsets, written inline (100k of them per batch)
  b[off] = family;
  b[off + 1] = dLen;
  b[off + 2] = sLen;
  b[off + 3] = tos;
  // Tables above 255 do not fit rtm_table: RT_TABLE_UNSPEC there and RTA_TABLE, as iproute2.
  b[off + 4] = table > 255 ? RT_TABLE_UNSPEC : table;
  b[off + 5] = protocol;
  b[off + 6] = scope;
  b[off + 7] = type;
  b.writeUInt32LE(flags >>> 0, off + 8);
}

function writeMetrics(w: MessageWriter, mtu: number | undefined, advmss: number | undefined): void {
  if (mtu === undefined && advmss === undefined) return;
  const nest = w.nestStart(RTA_METRICS);
  METRICS_ATTRS.encode(w, { mtu, advmss });
  w.nestEnd(nest);
}

/** The encoder of the free function below (its state is overwritten by every encode). */
let defaultEncoder: RouteEncoder | undefined;

/**
 * Writes one complete route message (begin ... end) for a spec or a read-back route.
 * `flags` are the nlmsg flags (NLM_F_CREATE|NLM_F_EXCL for add, ...); the socket adds
 * NLM_F_REQUEST/NLM_F_ACK. A spec gets iproute2's defaults (main table, protocol boot, scope
 * from type and gateway); for RTM_DELROUTE unset fields match anything. A Route is written
 * with its own values, so deleting what list() returned removes exactly that route.
 * `protocol` (a number) is the rtm_protocol of a spec that names none, instead of boot.
 * Expects validated input: throws TypeError for an address it cannot parse, and whatever
 * devIndex throws for a device it cannot resolve. A caller encoding many keeps a RouteEncoder.
 */
export function encodeRoute(w: MessageWriter, type: number, flags: number, r: RouteSpec | Route, devIndex: DevIndex, protocol?: number): void {
  (defaultEncoder ??= new RouteEncoder()).encode(w, type, flags, r, devIndex, protocol);
}

/** A dump filter in kernel terms (0 = any). */
export interface RouteDumpRequest {
  /** AF_UNSPEC, AF_INET or AF_INET6. */
  family: number;
  table: number;
  protocol: number;
  type: number;
  /** Interface index. */
  dev: number;
}

/**
 * RTM_GETROUTE dump request. With NETLINK_GET_STRICT_CHK the kernel filters by rtm_protocol,
 * rtm_type, RTA_TABLE and RTA_OIF (and marks replies NLM_F_DUMP_FILTERED); a table always goes
 * in RTA_TABLE, as iproute2 sends it, and the header's table stays 0.
 */
export function encodeRouteDump(w: MessageWriter, f: RouteDumpRequest): void {
  w.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP);
  writeHeader(w, f.family, 0, 0, 0, 0, f.protocol, 0, f.type, 0);
  if (f.table) w.u32(RTA_TABLE, f.table);
  if (f.dev) w.u32(RTA_OIF, f.dev);
  w.end();
}

/**
 * RTM_GETROUTE lookup of one address (the kernel's FIB lookup). RTM_F_LOOKUP_TABLE (IPv4 only)
 * makes the reply name the table that matched; RTM_F_FIB_MATCH returns the matching FIB entry.
 */
export function encodeRouteGet(w: MessageWriter, family: IpFamily, dst: string, src: string | undefined, oif: number, fibMatch: boolean): void {
  const af = family === 6 ? AF_INET6 : AF_INET;
  const full = family === 6 ? 128 : 32;
  w.begin(RTM_GETROUTE, NLM_F_REQUEST);
  // IPv6 refuses RTM_F_LOOKUP_TABLE ("Invalid flags for get route request").
  const flags = (af === AF_INET ? RTM_F_LOOKUP_TABLE : 0) | (fibMatch ? RTM_F_FIB_MATCH : 0);
  writeHeader(w, af, full, src !== undefined ? full : 0, 0, 0, 0, 0, 0, flags);
  w.ip(RTA_DST, dst);
  if (src !== undefined) w.ip(RTA_SRC, src);
  if (oif) w.u32(RTA_OIF, oif);
  w.end();
}
