/**
 * The one route decoder. RouteFacts reads a route message in one bounds-checked pass over the
 * attribute types ROUTE_ATTRS names, into numbers (no strings, no objects) plus where the rest
 * lies; route() builds the whole Route from that same read. parseRouteMessage() is
 * `facts.read(m).route()`, so the fast reader the reconciler uses and the full decoder cannot
 * disagree (the fuzz suite checks them against each other on every case anyway).
 *
 * Why numbers first: a caller that compares a dump of 100k routes against what it wants (the
 * reconciler's no-op cycle) needs no text and no object for a route that matches. Decoding
 * 100k Route objects (strings for dst and gateway, one object each) costs more than the
 * kernel's own share of the dump and makes most of the garbage.
 */
import { NLA_HDRLEN, NLA_TYPE_MASK } from '../../wire/constants';
import { NetlinkParseError } from '../../wire/errors';
import { rawAttr, type MessageView, type RawAttribute } from '../../wire/reader';
import { formatIPv6 } from '../../values/ip';
import {
  AF_INET,
  AF_INET6,
  RTAX_ADVMSS,
  RTAX_MTU,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_MULTIPATH,
  RTA_NH_ID,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTA_VIA,
  RTMSG_LEN,
  RTNH_F_ONLINK,
} from '../constants';
import type { Nexthop, Route, RouteTypeName } from '../types';
import { ROUTE_TYPES } from '../names';
import { makeNexthop, makeRoute } from './shape';
import { METRICS_ATTRS, ROUTE_ATTRS, multipath, rtvia } from './table';
import { RouteText } from './text';

const TYPE_NAMES: Array<RouteTypeName | undefined> = [];
for (const [name, n] of Object.entries(ROUTE_TYPES) as Array<[RouteTypeName, number]>) TYPE_NAMES[n] = name;

/**
 * One route message as numbers. A scan reuses one RouteFacts for every message: read it in
 * the visit, copy what you keep, and call route() there if you need the whole Route.
 */
export class RouteFacts {
  /** 4 or 6. */
  family: 4 | 6 = 4;
  /** rtm_dst_len. */
  dstLen = 0;
  /** The IPv4 destination as an unsigned 32-bit number (0 for IPv6 and for default routes). */
  dst4 = 0;
  /** The IPv6 destination as four big-endian signed 32-bit words (0 for IPv4 and default). */
  dst6a = 0;
  /** Second word of the IPv6 destination. */
  dst6b = 0;
  /** Third word of the IPv6 destination. */
  dst6c = 0;
  /** Fourth word of the IPv6 destination. */
  dst6d = 0;
  /** RTA_TABLE, or rtm_table when the message has none. */
  table = 0;
  /** rtm_protocol. */
  protocol = 0;
  /** rtm_scope. */
  scope = 0;
  /** rtm_type (RTN_*). */
  type = 0;
  /** rtm_tos. */
  tos = 0;
  /** rtm_flags (RTNH_F_ONLINK, RTM_F_* ...). */
  flags = 0;
  /** RTA_PRIORITY, or -1 when the message has none. */
  metric = -1;
  /** RTA_OIF, or 0 when the message has none. */
  oif = 0;
  /** An IPv4 RTA_GATEWAY as an unsigned 32-bit number, or -1 when there is none. */
  gateway4 = -1;
  /** Whether an IPv6 route has an RTA_GATEWAY (then in gateway6a..d). */
  hasGateway6 = false;
  /** The IPv6 gateway as four big-endian signed 32-bit words (0 when there is none). */
  gateway6a = 0;
  /** Second word of the IPv6 gateway. */
  gateway6b = 0;
  /** Third word of the IPv6 gateway. */
  gateway6c = 0;
  /** Fourth word of the IPv6 gateway. */
  gateway6d = 0;
  /**
   * True when these numbers are all the Route has: no preferred source, no mtu/advmss metric,
   * no multipath, no RTA_VIA and no attribute the tables do not name. When false, route()
   * holds the rest.
   */
  complete = true;
  /** RTA_NH_ID, or 0 when the route names no nexthop object (then complete is false). */
  nhid = 0;
  /**
   * True when the route names a nexthop object (nhid) and all it has beyond these numbers is
   * that object's path as the kernel resolves it (RTA_GATEWAY, RTA_VIA, RTA_MULTIPATH): no
   * preferred source, no mtu/advmss metric, no attribute the tables do not name. Such a route
   * can be compared on nhid and the numbers alone, as the path is the nexthop's business.
   */
  nhidOnly = false;

  // Where the rest of the message being visited lies (offsets of attribute values in msg.buf).
  private msg: MessageView | undefined;
  private dstOff = -1;
  private gatewayOff = -1;
  private prefsrcOff = -1;
  private prefsrcLen = 0;
  private viaOff = -1;
  private viaLen = 0;
  private metricsOff = -1;
  private metricsLen = 0;
  private multipathOff = -1;
  private multipathLen = 0;
  private hasUnknown = false;

  /**
   * @param text - the string caches route() formats with (one per reader by default; share
   *   one between readers of one thread to share its caches)
   */
  constructor(private readonly text: RouteText = new RouteText()) {}

  /** Reads m into this object (bounds-checked); throws NetlinkParseError for a malformed message. */
  read(m: MessageView): this {
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
    this.msg = m;
    this.family = alen === 4 ? 4 : 6;
    this.dstLen = dLen;
    this.dst4 = 0;
    // struct rtmsg, read field by field at RTMSG's offsets (this loop runs 100k times a dump)
    this.tos = buf[p + 3];
    this.table = buf[p + 4];
    this.protocol = buf[p + 5];
    this.scope = buf[p + 6];
    this.type = buf[p + 7];
    this.flags = (buf[p + 8] | (buf[p + 9] << 8) | (buf[p + 10] << 16) | (buf[p + 11] << 24)) >>> 0;
    this.metric = -1;
    this.oif = 0;
    this.gateway4 = -1;
    this.dst6a = this.dst6b = this.dst6c = this.dst6d = 0;
    this.hasGateway6 = false;
    this.gateway6a = this.gateway6b = this.gateway6c = this.gateway6d = 0;
    this.complete = true;
    this.nhid = 0;
    let beyondPath = false; // prefsrc, a route metric or an unknown attribute
    this.dstOff = this.gatewayOff = this.prefsrcOff = this.viaOff = this.metricsOff = this.multipathOff = -1;
    this.hasUnknown = false;
    let off = p + RTMSG_LEN;
    while (end - off >= NLA_HDRLEN) {
      // Attribute header read inline (this loop runs ~5 times per route of a 100k dump).
      const len = buf[off] | (buf[off + 1] << 8);
      if (len < NLA_HDRLEN || len > end - off) {
        throw new NetlinkParseError(`route attribute: bad nla_len ${len} (${end - off} bytes left)`, off);
      }
      const v = off + NLA_HDRLEN;
      const vl = len - NLA_HDRLEN;
      const type = (buf[off + 2] | (buf[off + 3] << 8)) & NLA_TYPE_MASK;
      switch (type) {
        case RTA_DST:
          if (vl !== alen) throw new NetlinkParseError(`RTA_DST: ${vl} bytes, expected ${alen}`, v);
          // With rtm_dst_len 0 the route is the default one whatever RTA_DST says; the kernel
          // sends none then.
          if (dLen > 0) {
            this.dstOff = v;
            if (alen === 4) this.dst4 = u32be(buf, v);
            else {
              this.dst6a = i32be(buf, v);
              this.dst6b = i32be(buf, v + 4);
              this.dst6c = i32be(buf, v + 8);
              this.dst6d = i32be(buf, v + 12);
            }
          }
          break;
        case RTA_GATEWAY:
          if (vl !== alen) throw new NetlinkParseError(`RTA_GATEWAY: ${vl} bytes, expected a ${alen}-byte address`, v);
          this.gatewayOff = v;
          this.viaOff = -1; // the last gateway attribute wins
          if (alen === 4) this.gateway4 = u32be(buf, v);
          else {
            this.hasGateway6 = true;
            this.gateway6a = i32be(buf, v);
            this.gateway6b = i32be(buf, v + 4);
            this.gateway6c = i32be(buf, v + 8);
            this.gateway6d = i32be(buf, v + 12);
          }
          break;
        case RTA_OIF:
          this.oif = u32le(buf, v, vl, 'RTA_OIF');
          break;
        case RTA_PRIORITY:
          this.metric = u32le(buf, v, vl, 'RTA_PRIORITY');
          break;
        case RTA_TABLE:
          this.table = u32le(buf, v, vl, 'RTA_TABLE');
          break;
        case RTA_METRICS:
          // Only mtu and advmss are Route fields; other metrics (hoplimit, ...) are not decoded.
          if (hasRouteMetric(buf, v, v + vl)) {
            this.complete = false;
            beyondPath = true;
            this.metricsOff = v;
            this.metricsLen = vl;
          } else this.metricsOff = -1;
          break;
        case RTA_PREFSRC:
          this.complete = false; // route() decodes (and checks) it
          beyondPath = true;
          this.prefsrcOff = v;
          this.prefsrcLen = vl;
          break;
        case RTA_VIA:
          this.complete = false;
          this.viaOff = v;
          this.viaLen = vl;
          this.gatewayOff = -1;
          break;
        case RTA_NH_ID:
          this.complete = false;
          this.nhid = u32le(buf, v, vl, 'RTA_NH_ID');
          break;
        case RTA_MULTIPATH:
          this.complete = false;
          this.multipathOff = v;
          this.multipathLen = vl;
          break;
        default:
          // Named and skipped (RTA_CACHEINFO, RTA_PREF on every IPv6 route), or kept by route().
          if (!ROUTE_ATTRS.knows(type)) {
            this.hasUnknown = true;
            this.complete = false;
            beyondPath = true;
          }
      }
      off += (len + 3) & ~3;
    }
    if (dLen > 0 && this.dstOff < 0) throw new NetlinkParseError(`route with rtm_dst_len ${dLen} but no RTA_DST`, p);
    this.nhidOnly = this.nhid !== 0 && !beyondPath;
    return this;
  }

  /**
   * The whole Route of the message being visited, from this read (the deferred attributes are
   * decoded and checked now: NetlinkParseError when one is malformed). Only valid during the visit.
   */
  route(): Route {
    const m = this.msg;
    if (!m) throw new Error('RouteFacts.route() outside of a visit');
    const buf = m.buf;
    const alen = this.family === 4 ? 4 : 16;
    const text = this.text;
    const dLen = this.dstLen;
    let dst: string;
    if (dLen === 0) dst = 'default';
    else dst = alen === 4 ? text.v4Dst(buf, this.dstOff, dLen) : formatIPv6(buf, this.dstOff) + text.lenText(dLen);
    let via: string | undefined;
    if (this.gatewayOff >= 0) via = alen === 4 ? text.v4(buf, this.gatewayOff) : formatIPv6(buf, this.gatewayOff);
    else if (this.viaOff >= 0) via = viaText(buf, this.viaOff, this.viaLen, text);
    let prefsrc: string | undefined;
    if (this.prefsrcOff >= 0) {
      if (this.prefsrcLen !== alen) throw new NetlinkParseError(`RTA_PREFSRC: ${this.prefsrcLen} bytes, expected a ${alen}-byte address`, this.prefsrcOff);
      prefsrc = alen === 4 ? text.v4(buf, this.prefsrcOff) : formatIPv6(buf, this.prefsrcOff);
    }
    let mtu: number | undefined;
    let advmss: number | undefined;
    if (this.metricsOff >= 0) {
      const x: { mtu?: number; advmss?: number } = {};
      decodeChecked(() => METRICS_ATTRS.decodeInto(buf, this.metricsOff, this.metricsOff + this.metricsLen, x), 'RTA_METRICS', this.metricsOff);
      mtu = x.mtu;
      advmss = x.advmss;
    }
    let nexthops: Nexthop[] | undefined;
    if (this.multipathOff >= 0) nexthops = this.nexthops(buf, alen);
    const r = makeRoute(
      this.family,
      dst,
      this.table,
      this.protocol,
      this.scope,
      TYPE_NAMES[this.type] ?? this.type,
      this.tos,
      this.metric < 0 ? undefined : this.metric,
      via,
      this.oif || undefined,
      (this.flags & RTNH_F_ONLINK) !== 0,
      prefsrc,
      mtu,
      advmss,
      nexthops,
      this.flags,
      this.nhid || undefined,
    );
    if (this.hasUnknown) r.unknown = unknownAttrs(buf, m.payload + RTMSG_LEN, m.end);
    return r;
  }

  private nexthops(buf: Buffer, alen: number): Nexthop[] {
    const off = this.multipathOff;
    const paths = decodeChecked(() => multipath.decode(buf, off, this.multipathLen), 'RTA_MULTIPATH', off);
    const out: Nexthop[] = [];
    for (const nh of paths) {
      // RTA_GATEWAY is in the route's family (the other family's gateway is RTA_VIA).
      if (nh.gateway !== undefined && nh.gateway.includes(':') !== (alen === 16)) {
        throw new NetlinkParseError(`rtnexthop RTA_GATEWAY: ${alen === 16 ? 4 : 16} bytes, expected a ${alen}-byte address`, off);
      }
      out.push(makeNexthop(nh.gateway ?? nh.via, nh.ifindex > 0 ? nh.ifindex : undefined, nh.hops + 1, (nh.flags & RTNH_F_ONLINK) !== 0, nh.flags));
    }
    return out;
  }
}

/** Runs a table decode, naming where it failed. */
function decodeChecked<T>(run: () => T, what: string, off: number): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof NetlinkParseError) throw new NetlinkParseError(`${what}: ${e.message.replace(/ \(at byte -?\d+\)$/, '')}`, off);
    throw e;
  }
}

/** RTA_VIA as text (checked by the table's codec). */
function viaText(buf: Buffer, off: number, len: number, text: RouteText): string {
  if (len === 6 && buf.readUInt16LE(off) === AF_INET) return text.v4(buf, off + 2);
  return rtvia.decode(buf, off, len);
}

/** The attributes ROUTE_ATTRS does not name, copied (rare: a second walk only when there are some). */
function unknownAttrs(buf: Buffer, off: number, end: number): RawAttribute[] {
  const out: RawAttribute[] = [];
  while (end - off >= NLA_HDRLEN) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (!ROUTE_ATTRS.knows(type)) out.push(rawAttr(buf, type, off + NLA_HDRLEN, len - NLA_HDRLEN));
    off += (len + 3) & ~3;
  }
  return out;
}

function u32be(buf: Buffer, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

function i32be(buf: Buffer, off: number): number {
  return (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
}

function u32le(buf: Buffer, off: number, len: number, what: string): number {
  if (len < 4) throw new NetlinkParseError(`${what}: ${len} bytes, need 4`, off);
  return (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
}

/** Whether an RTA_METRICS nest holds RTAX_MTU or RTAX_ADVMSS (bounds-checked). */
function hasRouteMetric(buf: Buffer, off: number, end: number): boolean {
  let found = false;
  while (end - off >= NLA_HDRLEN) {
    const len = buf[off] | (buf[off + 1] << 8);
    if (len < NLA_HDRLEN || len > end - off) throw new NetlinkParseError(`RTA_METRICS: bad nla_len ${len} (${end - off} bytes left)`, off);
    const t = (buf[off + 2] | (buf[off + 3] << 8)) & NLA_TYPE_MASK;
    if (t === RTAX_MTU || t === RTAX_ADVMSS) found = true;
    off += (len + 3) & ~3;
  }
  return found;
}

/** One reader for the free function below (its caches hold strings only, never results). */
let defaultFacts: RouteFacts | undefined;

/**
 * Decodes one RTM_NEWROUTE/RTM_DELROUTE message (a dump reply, a lookup reply or an event):
 * RouteFacts.read() then route(). Optional fields the kernel did not send are left out (see
 * shape.ts); attributes the table does not name are kept in `unknown`. Throws
 * NetlinkParseError for a malformed message or a family other than AF_INET/AF_INET6
 * (multicast and MPLS routes are not decoded here).
 *
 * @param reader - the RouteFacts to read with (a caller decoding many messages keeps its own)
 */
export function parseRouteMessage(m: MessageView, reader?: RouteFacts): Route {
  return (reader ?? (defaultFacts ??= new RouteFacts())).read(m).route();
}
