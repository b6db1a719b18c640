/**
 * Route messages (struct rtmsg + RTA_* attributes) to and from bytes.
 *
 * This is the hot path of large tables: 100k routes are encoded in one pipelined batch and
 * 100k decoded from one dump. Encoding writes straight into the MessageWriter from the spec's
 * strings (dotted quads parsed without slicing); decoding is one switch over attribute types
 * with no per-attribute closure, and repeated gateways reuse the string made for the last one.
 * Attribute order follows iproute2, so requests are byte-for-byte what `ip route` sends.
 */
import { NLA_HDRLEN, NLA_TYPE_MASK, NLM_F_DUMP, NLM_F_REQUEST, nlAlign } from '../../wire/constants';
import { NetlinkParseError } from '../../wire/errors';
import { formatIPv6, parseIPv4, parseIPv6Into } from '../../values/ip';
import type { MessageView } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import {
  AF_INET,
  AF_INET6,
  RTAX_ADVMSS,
  RTAX_MTU,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_MULTIPATH,
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
  RTNEXTHOP_LEN,
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
import type { DeviceRef, IpFamily, Nexthop, NexthopSpec, ProtocolName, Route, RouteSpec, RouteTypeName, ScopeName, TableName } from '../types';
import { formatIPv4 as fmt4, formatIPv4Head as fmt3 } from '../../values/ip';
import { V4PrefixParser } from '../../values/prefix';
import { readValidSpec } from './fields';
import { makeNexthop, makeRoute } from './shape';

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
export function specFamily(r: { readonly dst?: string; readonly family?: IpFamily; readonly via?: string; readonly nexthops?: NexthopSpec[] }): IpFamily {
  const d = r.dst;
  if (d === 'default') {
    if (r.family !== undefined) return r.family;
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

// The destination parsed by parseDst (module scratch: no allocation per route).
let dstLen = 0;
let dstV4 = -1;
const v4dst = new V4PrefixParser();
let dstV6: string | undefined;

function parseDst(dst: string, family: number): void {
  dstV4 = -1;
  dstV6 = undefined;
  if (dst === 'default') {
    dstLen = 0;
    return;
  }
  if (family === AF_INET) {
    if (!v4dst.parse(dst)) throw new TypeError(`not an IPv4 prefix: ${JSON.stringify(dst)}`);
    dstV4 = v4dst.address;
    dstLen = v4dst.length;
    return;
  }
  const slash = dst.indexOf('/');
  dstV6 = slash < 0 ? dst : dst.slice(0, slash);
  dstLen = slash < 0 ? 128 : Number(dst.slice(slash + 1));
  if (!(dstLen >= 0 && dstLen <= 128)) throw new TypeError(`not an IPv6 prefix: ${JSON.stringify(dst)}`);
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

function writeDstAttr(w: MessageWriter): void {
  if (dstLen === 0) return; // default: no RTA_DST, as iproute2
  if (dstV4 >= 0) w.be32(RTA_DST, dstV4);
  else w.ip(RTA_DST, dstV6!);
}

/** RTA_GATEWAY in the route's family; an IPv6 gateway of an IPv4 route goes in RTA_VIA. */
// The last IPv4 gateway parsed: tables of many routes name few gateways.
let lastGwText = '';
let lastGwValue = -1;

function writeGateway(w: MessageWriter, family: number, via: string): void {
  let v4: number;
  if (via === lastGwText) v4 = lastGwValue;
  else {
    v4 = parseIPv4(via);
    if (v4 >= 0) {
      lastGwText = via;
      lastGwValue = v4;
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
  // struct rtvia { __kernel_sa_family_t rtvia_family; __u8 rtvia_addr[]; }
  const off = w.reserve(NLA_HDRLEN + 2 + 16);
  const b = w.buf;
  b.writeUInt16LE(NLA_HDRLEN + 2 + 16, off);
  b.writeUInt16LE(RTA_VIA, off + 2);
  b.writeUInt16LE(AF_INET6, off + 4);
  if (!parseIPv6Into(via, b, off + 6)) throw new TypeError(`not an IP address: ${JSON.stringify(via)}`);
}

function writeMetrics(w: MessageWriter, mtu: number | undefined, advmss: number | undefined): void {
  if (mtu === undefined && advmss === undefined) return;
  const nest = w.nestStart(RTA_METRICS);
  if (mtu !== undefined) w.u32(RTAX_MTU, mtu);
  if (advmss !== undefined) w.u32(RTAX_ADVMSS, advmss);
  w.nestEnd(nest);
}

/** RTA_MULTIPATH: one struct rtnexthop per path, each followed by its gateway attribute. */
function writeMultipath(w: MessageWriter, family: number, nhs: ReadonlyArray<NexthopSpec | Nexthop>, devIndex: DevIndex): void {
  const nest = w.nestStart(RTA_MULTIPATH);
  for (let k = 0; k < nhs.length; k++) {
    const nh = nhs[k];
    const ifindex = nh.dev !== undefined ? devIndex(nh.dev) : 0;
    const off = w.reserve(RTNEXTHOP_LEN);
    const b = w.buf;
    b[off + 2] = nh.onlink ? RTNH_F_ONLINK : 0;
    b[off + 3] = (nh.weight ?? 1) - 1; // rtnh_hops is the weight minus one
    b.writeInt32LE(ifindex, off + 4);
    if (nh.via !== undefined) writeGateway(w, family, nh.via);
    w.buf.writeUInt16LE(w.length - off, off); // rtnh_len (the buffer may have grown)
  }
  w.nestEnd(nest);
}

/**
 * Writes one complete route message (begin ... end) for a spec or a read-back route.
 * `flags` are the nlmsg flags (NLM_F_CREATE|NLM_F_EXCL for add, ...); the socket adds
 * NLM_F_REQUEST/NLM_F_ACK. A spec gets iproute2's defaults (main table, protocol boot, scope
 * from type and gateway); for RTM_DELROUTE unset fields match anything. A Route is written
 * with its own values, so deleting what list() returned removes exactly that route.
 * `protocol` (a number) is the rtm_protocol of a spec that names none, instead of boot.
 * Expects validated input: throws TypeError for an address it cannot parse, and whatever
 * devIndex throws for a device it cannot resolve.
 */
export function encodeRoute(w: MessageWriter, type: number, flags: number, r: RouteSpec | Route, devIndex: DevIndex, protocol?: number): void {
  if (isRoute(r)) encodeReadBack(w, type, flags, r, devIndex);
  else encodeSpec(w, type, flags, r, devIndex, protocol);
}

function encodeSpec(w: MessageWriter, type: number, flags: number, spec: RouteSpec, devIndex: DevIndex, protocol: number | undefined): void {
  const r = readValidSpec(spec); // each field read once (fast for spread-made specs too)
  const del = type === RTM_DELROUTE;
  const family = specFamily(r) === 6 ? AF_INET6 : AF_INET;
  parseDst(r.dst!, family);
  const rtype = routeTypeOf(r.type, del);
  const table = tableOf(r.table, rtype);
  const via = r.via;
  const nexthops = r.nexthops;
  const gateway = via !== undefined || nexthops !== undefined;
  const scope = scopeOf(r.scope, family, rtype, gateway, del);
  const dev = r.dev;
  const metric = r.metric;
  const prefsrc = r.prefsrc;
  const mtu = r.mtu;
  const advmss = r.advmss;
  const proto = r.protocol === undefined && protocol !== undefined ? protocol : protocolOf(r.protocol, del);
  const tos = r.tos ?? 0;
  const onlink = r.onlink === true;
  // devIndex and the writers below never read a spec: the scratch fields are all taken.
  const oif = dev !== undefined ? devIndex(dev) : 0;
  w.begin(type, flags);
  writeHeader(w, family, dstLen, 0, tos, table, proto, scope, rtype, onlink ? RTNH_F_ONLINK : 0);
  writeDstAttr(w);
  if (prefsrc !== undefined) w.ip(RTA_PREFSRC, prefsrc);
  if (via !== undefined) writeGateway(w, family, via);
  if (table > 255) w.u32(RTA_TABLE, table);
  if (metric !== undefined) w.u32(RTA_PRIORITY, metric);
  if (dev !== undefined) w.u32(RTA_OIF, oif);
  writeMetrics(w, mtu, advmss);
  if (nexthops !== undefined) writeMultipath(w, family, nexthops, devIndex);
  w.end();
}

function encodeReadBack(w: MessageWriter, type: number, flags: number, r: Route, devIndex: DevIndex): void {
  const family = r.family === 6 ? AF_INET6 : AF_INET;
  parseDst(r.dst, family);
  w.begin(type, flags);
  // Only the flag a request may carry: DEAD/LINKDOWN/OFFLOAD are the kernel's to report.
  const rflags = r.onlink ? RTNH_F_ONLINK : 0;
  writeHeader(w, family, dstLen, 0, r.tos, r.table, r.protocol, r.scope, routeTypeOf(r.type, false), rflags);
  writeDstAttr(w);
  if (r.prefsrc !== undefined) w.ip(RTA_PREFSRC, r.prefsrc);
  if (r.via !== undefined) writeGateway(w, family, r.via);
  if (r.table > 255) w.u32(RTA_TABLE, r.table);
  if (r.metric !== undefined) w.u32(RTA_PRIORITY, r.metric);
  if (r.dev !== undefined) w.u32(RTA_OIF, r.dev);
  writeMetrics(w, r.mtu, r.advmss);
  if (r.nexthops !== undefined) writeMultipath(w, family, r.nexthops, devIndex);
  w.end();
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

// ---------------------------------------------------------------- decoding

const TYPE_NAMES: Array<RouteTypeName | undefined> = [];
for (const [name, n] of Object.entries(ROUTE_TYPES) as Array<[RouteTypeName, number]>) TYPE_NAMES[n] = name;

const LEN_TEXT: string[] = Array.from({ length: 129 }, (_, i) => '/' + i);

// The last IPv4 gateway/prefsrc formatted: large tables repeat a few of them, so most routes
// reuse the string instead of building a new one. 0.0.0.0 is the right text for key 0.
let lastV4Key = 0;
let lastV4Text = '0.0.0.0';

function v4Cached(buf: Buffer, off: number): string {
  const k = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
  if (k === lastV4Key) return lastV4Text;
  lastV4Key = k;
  return (lastV4Text = fmt4(buf, off));
}

// IPv4 destinations as "a.b.c." + "d/len", both pieces cached: routes of a big table share
// their first three octets in runs (dumps come in trie order) and the "d/len" tails repeat,
// so a destination costs one concatenation instead of seven. The caches are bounded:
// a direct-mapped table of 4096 prefixes and at most 256 x 33 tails.
const PREFIX_SLOTS = 4096;
const prefixKeys = new Int32Array(PREFIX_SLOTS).fill(-1);
const prefixTexts: string[] = new Array<string>(PREFIX_SLOTS).fill('');
const tailTexts: Array<string | undefined> = new Array<string | undefined>(256 * 33);

function v4DstText(buf: Buffer, off: number, len: number): string {
  const k = (buf[off] << 16) | (buf[off + 1] << 8) | buf[off + 2];
  const slot = (k ^ (k >>> 12)) & (PREFIX_SLOTS - 1);
  let head: string;
  if (prefixKeys[slot] === k) head = prefixTexts[slot];
  else {
    prefixKeys[slot] = k;
    head = prefixTexts[slot] = fmt3(buf, off);
  }
  const t = buf[off + 3] * 33 + len;
  let tail = tailTexts[t];
  if (tail === undefined) tail = tailTexts[t] = String(buf[off + 3]) + LEN_TEXT[len];
  return head + tail;
}

function addrAttr(buf: Buffer, off: number, len: number, alen: number, what: string): string {
  if (len !== alen) throw new NetlinkParseError(`${what}: ${len} bytes, expected a ${alen}-byte address`, off);
  return alen === 4 ? v4Cached(buf, off) : formatIPv6(buf, off);
}

/** RTA_VIA: struct rtvia { u16 family; u8 addr[] }. */
function viaAttr(buf: Buffer, off: number, len: number): string {
  if (len < 2) throw new NetlinkParseError(`RTA_VIA: ${len} bytes`, off);
  const af = buf.readUInt16LE(off);
  if (af === AF_INET) return addrAttr(buf, off + 2, len - 2, 4, 'RTA_VIA');
  if (af === AF_INET6) return addrAttr(buf, off + 2, len - 2, 16, 'RTA_VIA');
  throw new NetlinkParseError(`RTA_VIA of address family ${af}`, off);
}

function u32Attr(buf: Buffer, off: number, len: number, what: string): number {
  if (len < 4) throw new NetlinkParseError(`${what}: ${len} bytes, need 4`, off);
  return (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
}

/** Reads one attribute header at off (bounds-checked); sets attrType/attrLen. */
let attrType = 0;
let attrLen = 0;
function attrAt(buf: Buffer, off: number, end: number, where: string): void {
  const len = buf.readUInt16LE(off);
  if (len < NLA_HDRLEN || len > end - off) {
    throw new NetlinkParseError(`${where}: bad nla_len ${len} (${end - off} bytes left)`, off);
  }
  attrLen = len;
  attrType = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
}

let mxMtu: number | undefined;
let mxAdvmss: number | undefined;
function parseMetrics(buf: Buffer, off: number, end: number): void {
  mxMtu = undefined;
  mxAdvmss = undefined;
  while (end - off >= NLA_HDRLEN) {
    attrAt(buf, off, end, 'RTA_METRICS');
    const t = attrType;
    const len = attrLen;
    if (t === RTAX_MTU) mxMtu = u32Attr(buf, off + NLA_HDRLEN, len - NLA_HDRLEN, 'RTAX_MTU');
    else if (t === RTAX_ADVMSS) mxAdvmss = u32Attr(buf, off + NLA_HDRLEN, len - NLA_HDRLEN, 'RTAX_ADVMSS');
    off += nlAlign(len);
  }
}

function parseMultipath(buf: Buffer, off: number, end: number, alen: number): Nexthop[] {
  const out: Nexthop[] = [];
  while (end - off >= RTNEXTHOP_LEN) {
    const len = buf.readUInt16LE(off);
    if (len < RTNEXTHOP_LEN || len > end - off) {
      throw new NetlinkParseError(`RTA_MULTIPATH: bad rtnh_len ${len} (${end - off} bytes left)`, off);
    }
    const flags = buf[off + 2];
    const ifindex = buf.readInt32LE(off + 4);
    let via: string | undefined;
    const nhEnd = off + len;
    let a = off + RTNEXTHOP_LEN;
    while (nhEnd - a >= NLA_HDRLEN) {
      attrAt(buf, a, nhEnd, 'rtnexthop');
      const vlen = attrLen - NLA_HDRLEN;
      if (attrType === RTA_GATEWAY) via = addrAttr(buf, a + NLA_HDRLEN, vlen, alen, 'rtnexthop RTA_GATEWAY');
      else if (attrType === RTA_VIA) via = viaAttr(buf, a + NLA_HDRLEN, vlen);
      a += nlAlign(attrLen);
    }
    out.push(makeNexthop(via, ifindex > 0 ? ifindex : undefined, buf[off + 3] + 1, (flags & RTNH_F_ONLINK) !== 0, flags));
    off += nlAlign(len);
  }
  return out;
}

/**
 * Decodes one RTM_NEWROUTE/RTM_DELROUTE message (a dump reply, a lookup reply or an event).
 * Optional fields the kernel did not send are left out (see shape.ts). Throws NetlinkParseError for a malformed message or a family other than
 * AF_INET/AF_INET6 (multicast and MPLS routes are not decoded here).
 */
export function parseRouteMessage(m: MessageView): Route {
  const buf = m.buf;
  const p = m.payload;
  const end = m.end;
  if (end - p < RTMSG_LEN) throw new NetlinkParseError(`route message of ${end - p} bytes, need ${RTMSG_LEN} (struct rtmsg)`, p);
  const af = buf[p];
  if (af !== AF_INET && af !== AF_INET6) {
    throw new NetlinkParseError(`route message of address family ${af}, expected AF_INET or AF_INET6`, p);
  }
  const alen = af === AF_INET ? 4 : 16;
  const dLen = buf[p + 1];
  if (dLen > alen * 8) throw new NetlinkParseError(`rtm_dst_len ${dLen} is too long for the family`, p + 1);
  let table = buf[p + 4];
  const rtype = buf[p + 7];
  const flags = buf.readUInt32LE(p + 8);
  let dst: string | undefined;
  let via: string | undefined;
  let dev: number | undefined;
  let metric: number | undefined;
  let prefsrc: string | undefined;
  let mtu: number | undefined;
  let advmss: number | undefined;
  let nexthops: Nexthop[] | undefined;
  let off = p + RTMSG_LEN;
  while (end - off >= NLA_HDRLEN) {
    // Attribute header read inline (this loop runs ~5 times per route of a 100k dump).
    const len = buf[off] | (buf[off + 1] << 8);
    if (len < NLA_HDRLEN || len > end - off) {
      throw new NetlinkParseError(`route attribute: bad nla_len ${len} (${end - off} bytes left)`, off);
    }
    const v = off + NLA_HDRLEN;
    const vl = len - NLA_HDRLEN;
    switch ((buf[off + 2] | (buf[off + 3] << 8)) & NLA_TYPE_MASK) {
      case RTA_DST:
        if (vl !== alen) throw new NetlinkParseError(`RTA_DST: ${vl} bytes, expected ${alen}`, v);
        dst = alen === 4 ? v4DstText(buf, v, dLen) : formatIPv6(buf, v) + LEN_TEXT[dLen];
        break;
      case RTA_GATEWAY:
        via = addrAttr(buf, v, vl, alen, 'RTA_GATEWAY');
        break;
      case RTA_VIA:
        via = viaAttr(buf, v, vl);
        break;
      case RTA_OIF:
        dev = u32Attr(buf, v, vl, 'RTA_OIF');
        break;
      case RTA_PRIORITY:
        metric = u32Attr(buf, v, vl, 'RTA_PRIORITY');
        break;
      case RTA_PREFSRC:
        prefsrc = addrAttr(buf, v, vl, alen, 'RTA_PREFSRC');
        break;
      case RTA_TABLE:
        table = u32Attr(buf, v, vl, 'RTA_TABLE');
        break;
      case RTA_METRICS:
        parseMetrics(buf, v, v + vl);
        mtu = mxMtu;
        advmss = mxAdvmss;
        break;
      case RTA_MULTIPATH:
        nexthops = parseMultipath(buf, v, v + vl, alen);
        break;
    }
    off += (len + 3) & ~3;
  }
  let dstText: string;
  if (dLen === 0) dstText = 'default';
  else if (dst === undefined) throw new NetlinkParseError(`route with rtm_dst_len ${dLen} but no RTA_DST`, p);
  else dstText = dst;
  return makeRoute(
    alen === 4 ? 4 : 6,
    dstText,
    table,
    buf[p + 5],
    buf[p + 6],
    TYPE_NAMES[rtype] ?? rtype,
    buf[p + 3],
    metric,
    via,
    dev,
    (flags & RTNH_F_ONLINK) !== 0,
    prefsrc,
    mtu,
    advmss,
    nexthops,
    flags,
  );
}
