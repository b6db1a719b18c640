/**
 * The numbers of a route message, read without building a Route: the header fields and the
 * attributes that identify a route and make up the common `dst via gw dev D` shape.
 *
 * Why: a caller that compares a dump of 100k routes against what it wants (the reconciler's
 * no-op cycle) needs no text and no object for a route that matches. Decoding 100k Route
 * objects (strings for dst and gateway, one object each) costs more than the kernel's own
 * share of the dump and makes most of the garbage; reading the same facts as numbers costs
 * neither. A route that needs a closer look is decoded whole with facts.route().
 */
import { NLA_HDRLEN, NLA_TYPE_MASK } from '../../wire/constants';
import { NetlinkParseError } from '../../wire/errors';
import type { MessageView } from '../../wire/reader';
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
  RTA_TABLE,
  RTA_VIA,
  RTMSG_LEN,
} from '../constants';
import type { Route } from '../types';
import { parseRouteMessage } from './codec';

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
   * no multipath and no RTA_VIA. When false, route() holds the rest.
   */
  complete = true;
  private msg: MessageView | undefined;

  /** The whole Route of the message being visited (decoded now; only valid during the visit). */
  route(): Route {
    if (!this.msg) throw new Error('RouteFacts.route() outside of a visit');
    return parseRouteMessage(this.msg);
  }

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
    let hasDst = false;
    let off = p + RTMSG_LEN;
    while (end - off >= NLA_HDRLEN) {
      const len = buf[off] | (buf[off + 1] << 8);
      if (len < NLA_HDRLEN || len > end - off) {
        throw new NetlinkParseError(`route attribute: bad nla_len ${len} (${end - off} bytes left)`, off);
      }
      const v = off + NLA_HDRLEN;
      const vl = len - NLA_HDRLEN;
      switch ((buf[off + 2] | (buf[off + 3] << 8)) & NLA_TYPE_MASK) {
        case RTA_DST:
          if (vl !== alen) throw new NetlinkParseError(`RTA_DST: ${vl} bytes, expected ${alen}`, v);
          hasDst = true;
          // With rtm_dst_len 0 the route is the default one whatever RTA_DST says (as the
          // full decoder reads it); the kernel sends none then.
          if (dLen > 0) {
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
          if (hasRouteMetric(buf, v, v + vl)) this.complete = false;
          break;
        case RTA_PREFSRC:
        case RTA_VIA:
        case RTA_MULTIPATH:
          this.complete = false; // route() decodes (and checks) them
          break;
      }
      off += (len + 3) & ~3;
    }
    if (dLen > 0 && !hasDst) throw new NetlinkParseError(`route with rtm_dst_len ${dLen} but no RTA_DST`, p);
    return this;
  }
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
