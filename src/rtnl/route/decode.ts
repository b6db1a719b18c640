/**
 * The decoder of routes.list() and get(): one pass over a route message straight into a Route.
 *
 * A 100k-route dump is mostly messages of the same few kinds: a destination, a gateway, an
 * output device, a metric, a table, and on IPv6 the cache info and router preference nobody
 * reads. For those, RouteDecoder reads the attributes into locals and builds the Route in the
 * same function: no detour through RouteFacts' fields and makeRoute's seventeen arguments,
 * and the strings come from RouteText's caches. Anything else (a preferred source, RTA_METRICS,
 * RTA_VIA, multipath, a nexthop id, an attribute the tables do not name) and anything malformed
 * goes to RouteFacts.read().route(), the one full decoder, so errors and rare fields have one
 * implementation. The fast path accepts a message only when the full decoder would return the
 * same Route (the fuzz suite holds parseRouteMessage, built on this, to RouteFacts).
 *
 * The Routes are object literals with makeRoute's keys in its order (shape.ts), one literal
 * per combination of gateway, device and metric: a stable hidden class each. (Objects made by
 * `new` of a plain function, which V8 does not pretenure, were measured too: more GC, no gain.)
 */
import { NLA_HDRLEN, NLA_TYPE_MASK } from '../../wire/constants';
import type { MessageView } from '../../wire/reader';
import { AF_INET, AF_INET6, RTA_CACHEINFO, RTA_DST, RTA_GATEWAY, RTA_MFC_STATS, RTA_OIF, RTA_PAD, RTA_PREF, RTA_PRIORITY, RTA_TABLE, RTMSG_LEN, RTNH_F_ONLINK } from '../constants';
import { ROUTE_TYPES } from '../names';
import type { Route, RouteTypeName } from '../types';
import { RouteFacts } from './facts';
import { RouteText } from './text';

/** Route type names by rtm_type (a number the table does not name stays a number). */
const TYPE_NAMES: Array<RouteTypeName | undefined> = [];
for (const [name, n] of Object.entries(ROUTE_TYPES) as Array<[RouteTypeName, number]>) TYPE_NAMES[n] = name;

/**
 * Decodes route messages into Routes (see the module comment). One per reader: it keeps the
 * string caches of its RouteText and a RouteFacts for the messages the fast path leaves alone;
 * it holds no result between calls.
 */
export class RouteDecoder {
  private readonly facts: RouteFacts;

  /** @param text - the string caches to format with (shared with the reader's RouteFacts) */
  constructor(private readonly text: RouteText = new RouteText()) {
    this.facts = new RouteFacts(text);
  }

  /** The Route of one RTM_NEWROUTE/RTM_DELROUTE message: as parseRouteMessage (NetlinkParseError when malformed). */
  decode(m: MessageView): Route {
    const buf = m.buf;
    const p = m.payload;
    const end = m.end;
    if (end - p < RTMSG_LEN) return this.full(m);
    const af = buf[p];
    const alen = af === AF_INET ? 4 : af === AF_INET6 ? 16 : 0;
    if (alen === 0) return this.full(m);
    const dLen = buf[p + 1];
    if (dLen > alen * 8) return this.full(m);
    let table = buf[p + 4];
    let dstOff = -1;
    let gatewayOff = -1;
    let metric = -1;
    let oif = 0;
    let off = p + RTMSG_LEN;
    while (end - off >= NLA_HDRLEN) {
      const len = buf[off] | (buf[off + 1] << 8);
      if (len < NLA_HDRLEN || len > end - off) return this.full(m);
      const v = off + NLA_HDRLEN;
      const vl = len - NLA_HDRLEN;
      switch ((buf[off + 2] | (buf[off + 3] << 8)) & NLA_TYPE_MASK) {
        case RTA_DST:
          if (vl !== alen) return this.full(m);
          dstOff = v;
          break;
        case RTA_GATEWAY:
          if (vl !== alen) return this.full(m);
          gatewayOff = v;
          break;
        case RTA_OIF:
          if (vl < 4) return this.full(m);
          oif = u32le(buf, v);
          break;
        case RTA_PRIORITY:
          if (vl < 4) return this.full(m);
          metric = u32le(buf, v);
          break;
        case RTA_TABLE:
          if (vl < 4) return this.full(m);
          table = u32le(buf, v);
          break;
        case RTA_CACHEINFO:
        case RTA_PREF:
        case RTA_PAD:
        case RTA_MFC_STATS:
          break; // named and passed over, as ROUTE_ATTRS does
        default:
          return this.full(m); // RTA_PREFSRC, RTA_METRICS, RTA_VIA, RTA_MULTIPATH, RTA_NH_ID, unknown ones
      }
      off += (len + 3) & ~3;
    }
    if (dLen > 0 && dstOff < 0) return this.full(m);
    const text = this.text;
    const family = alen === 4 ? 4 : 6;
    let dst: string;
    if (dLen === 0) dst = 'default';
    else dst = alen === 4 ? text.v4Dst(buf, dstOff, dLen) : text.v6Dst(buf, dstOff, dLen);
    const rtype = buf[p + 7];
    const type = TYPE_NAMES[rtype] ?? rtype;
    const flags = (buf[p + 8] | (buf[p + 9] << 8) | (buf[p + 10] << 16) | (buf[p + 11] << 24)) >>> 0;
    const onlink = (flags & RTNH_F_ONLINK) !== 0;
    const protocol = buf[p + 5];
    const scope = buf[p + 6];
    const tos = buf[p + 3];
    // makeRoute's shapes (shape.ts) as literals of their own, keys in its order; oif 0 means no device.
    if (gatewayOff >= 0) {
      const via = alen === 4 ? text.v4(buf, gatewayOff) : text.v6(buf, gatewayOff);
      if (oif === 0) {
        if (metric < 0) return { family, dst, table, protocol, scope, type, tos, via, onlink, flags };
        return { family, dst, table, protocol, scope, type, tos, metric, via, onlink, flags };
      }
      if (metric < 0) return { family, dst, table, protocol, scope, type, tos, via, dev: oif, onlink, flags };
      return { family, dst, table, protocol, scope, type, tos, metric, via, dev: oif, onlink, flags };
    }
    if (oif === 0) {
      if (metric < 0) return { family, dst, table, protocol, scope, type, tos, onlink, flags };
      return { family, dst, table, protocol, scope, type, tos, metric, onlink, flags };
    }
    if (metric < 0) return { family, dst, table, protocol, scope, type, tos, dev: oif, onlink, flags };
    return { family, dst, table, protocol, scope, type, tos, metric, dev: oif, onlink, flags };
  }

  /** The full decoder, for everything the fast path does not take (it throws for malformed messages). */
  private full(m: MessageView): Route {
    return this.facts.read(m).route();
  }
}

function u32le(buf: Buffer, off: number): number {
  return (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
}

/** One decoder for the free function below (its caches hold strings only, never results). */
let defaultDecoder: RouteDecoder | undefined;

/**
 * Decodes one RTM_NEWROUTE/RTM_DELROUTE message (a dump reply, a lookup reply or an event).
 * Optional fields the kernel did not send are left out (see shape.ts); attributes the table
 * does not name are kept in `unknown`. Throws NetlinkParseError for a malformed message or a
 * family other than AF_INET/AF_INET6 (multicast and MPLS routes are not decoded here).
 *
 * @param reader - a RouteFacts to decode with instead (`reader.read(m).route()`); by default a
 *   shared RouteDecoder, which gives the same Route
 */
export function parseRouteMessage(m: MessageView, reader?: RouteFacts): Route {
  if (reader !== undefined) return reader.read(m).route();
  return (defaultDecoder ??= new RouteDecoder()).decode(m);
}
