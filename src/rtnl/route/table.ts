/**
 * The route message as tables: struct rtmsg, struct rtnexthop, the RTA_* attributes (with
 * RTA_METRICS as a nested table and RTA_MULTIPATH as an array of rtnexthop + attributes), and
 * the fields of a RouteSpec, a NexthopSpec, a RouteFilter and a RouteLookup.
 *
 * The tables are the declaration; the hot paths are specialised on them: RouteFacts (facts.ts)
 * reads a message in one pass over the attribute types ROUTE_ATTRS names, parseRouteMessage is
 * built on it, and the encoder writes in ROUTE_ATTRS' order with its types (test/rtnl/route/
 * table.test.js holds the specialised encoder and decoder equal to the generic table's).
 */
import { describeValue } from '../../values/problems';
import { attr, ip, nested, skip, u32, string, defineAttrs, type AttrCodec } from '../../wire/attrs';
import { NetlinkParseError } from '../../wire/errors';
import { formatIP, parseIPv4, parseIPv6Into } from '../../values/ip';
import { defineStruct, field } from '../../wire/struct';
import {
  AF_INET,
  AF_INET6,
  RTAX_ADVMSS,
  RTAX_CC_ALGO,
  RTAX_CWND,
  RTAX_FASTOPEN_NO_COOKIE,
  RTAX_FEATURES,
  RTAX_HOPLIMIT,
  RTAX_INITCWND,
  RTAX_INITRWND,
  RTAX_LOCK,
  RTAX_MTU,
  RTAX_QUICKACK,
  RTAX_REORDERING,
  RTAX_RTO_MIN,
  RTAX_RTT,
  RTAX_RTTVAR,
  RTAX_SSTHRESH,
  RTAX_WINDOW,
  RTA_CACHEINFO,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_MFC_STATS,
  RTA_MULTIPATH,
  RTA_NH_ID,
  RTA_OIF,
  RTA_PAD,
  RTA_PREF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTA_VIA,
  RTMSG_LEN,
  RTNEXTHOP_LEN,
} from '../constants';
import { PROTOCOLS, ROUTE_TYPES, SCOPES } from '../names';
import { bool, defineFields, device, family, fieldOf, int, nameOrInt, oneOf, checkedElsewhere, address } from '../spec';

/** struct rtmsg (linux/rtnetlink.h). */
export const RTMSG = defineStruct('rtmsg', RTMSG_LEN, {
  family: field(0, 'u8'),
  dstLen: field(1, 'u8'),
  srcLen: field(2, 'u8'),
  tos: field(3, 'u8'),
  /** RT_TABLE_* when below 256; RTA_TABLE holds the full number. */
  table: field(4, 'u8'),
  protocol: field(5, 'u8'),
  scope: field(6, 'u8'),
  type: field(7, 'u8'),
  /** RTNH_F_* and RTM_F_* bits. */
  flags: field(8, 'u32'),
});

/** struct rtnexthop: one path of RTA_MULTIPATH, followed by its own attributes (RTA_GATEWAY). */
export const RTNEXTHOP = defineStruct('rtnexthop', RTNEXTHOP_LEN, {
  /** The length of this path, header and attributes. */
  len: field(0, 'u16'),
  /** RTNH_F_* bits. */
  flags: field(2, 'u8'),
  /** The weight minus one. */
  hops: field(3, 'u8'),
  ifindex: field(4, 's32'),
});

/** RTA_METRICS: the route's TCP/path metrics (RTAX_*), each a u32 but the congestion control's name. */
export const METRICS_ATTRS = defineAttrs('RTAX', {
  lock: attr(RTAX_LOCK, u32),
  mtu: attr(RTAX_MTU, u32),
  window: attr(RTAX_WINDOW, u32),
  rtt: attr(RTAX_RTT, u32),
  rttvar: attr(RTAX_RTTVAR, u32),
  ssthresh: attr(RTAX_SSTHRESH, u32),
  cwnd: attr(RTAX_CWND, u32),
  advmss: attr(RTAX_ADVMSS, u32),
  reordering: attr(RTAX_REORDERING, u32),
  hoplimit: attr(RTAX_HOPLIMIT, u32),
  initcwnd: attr(RTAX_INITCWND, u32),
  features: attr(RTAX_FEATURES, u32),
  rtoMin: attr(RTAX_RTO_MIN, u32),
  initrwnd: attr(RTAX_INITRWND, u32),
  quickack: attr(RTAX_QUICKACK, u32),
  ccAlgo: attr(RTAX_CC_ALGO, string),
  fastopenNoCookie: attr(RTAX_FASTOPEN_NO_COOKIE, u32),
});

/** The address of an RTA_VIA (struct rtvia { u16 family; u8 addr[]; }): an IPv6 gateway of an IPv4 route. */
export const rtvia: AttrCodec<string> = {
  encode: (w, t, v) => {
    const six = v.includes(':');
    const off = w.reserve(4 + 2 + (six ? 16 : 4));
    const b = w.buf;
    b.writeUInt16LE(4 + 2 + (six ? 16 : 4), off);
    b.writeUInt16LE(t, off + 2);
    b.writeUInt16LE(six ? AF_INET6 : AF_INET, off + 4);
    if (six) {
      if (!parseIPv6Into(v, b, off + 6)) throw new TypeError(`not an IP address: ${describeValue(v)}`);
    } else {
      const n = parseIPv4(v);
      if (n < 0) throw new TypeError(`not an IP address: ${describeValue(v)}`);
      b.writeUInt32BE(n, off + 6);
    }
  },
  decode: (buf, off, len) => {
    if (len < 2) throw new NetlinkParseError(`RTA_VIA: ${len} bytes`, off);
    const af = buf.readUInt16LE(off);
    const want = af === AF_INET ? 4 : af === AF_INET6 ? 16 : -1;
    if (want < 0) throw new NetlinkParseError(`RTA_VIA of address family ${af}`, off);
    if (len - 2 !== want) throw new NetlinkParseError(`RTA_VIA: ${len - 2} bytes, expected a ${want}-byte address`, off);
    return formatIP(buf, off + 2, want)!;
  },
};

/** One path of a multipath route as the table reads it (Nexthop is built from it). */
export interface RtnexthopValues {
  /** RTNH_F_* bits. */
  flags: number;
  /** The weight minus one. */
  hops: number;
  /** Interface index (0: none). */
  ifindex: number;
  /** RTA_GATEWAY, in the route's family, when set. */
  gateway?: string;
  /** RTA_VIA (a gateway of the other family), when set. */
  via?: string;
}

/** The attributes inside one rtnexthop. */
export const NEXTHOP_ATTRS = defineAttrs('rtnexthop RTA', {
  gateway: attr(RTA_GATEWAY, ip),
  via: attr(RTA_VIA, rtvia),
});

/** RTA_MULTIPATH: struct rtnexthop after struct rtnexthop, each with its attributes, bounds-checked. */
export const multipath: AttrCodec<RtnexthopValues[]> = {
  encode: (w, t, v) => {
    const nest = w.nestStart(t);
    for (const nh of v) {
      const off = RTNEXTHOP.write(w, { flags: nh.flags, hops: nh.hops, ifindex: nh.ifindex });
      NEXTHOP_ATTRS.encode(w, { gateway: nh.gateway, via: nh.via });
      w.buf.writeUInt16LE(w.length - off, off); // rtnh_len (the buffer may have grown)
    }
    w.nestEnd(nest);
  },
  decode: (buf, off, len) => {
    const out: RtnexthopValues[] = [];
    const end = off + len;
    while (end - off >= RTNEXTHOP_LEN) {
      const h = RTNEXTHOP.read(buf, off, end, 'rtnexthop');
      if (h.len < RTNEXTHOP_LEN || h.len > end - off) throw new NetlinkParseError(`RTA_MULTIPATH: bad rtnh_len ${h.len} (${end - off} bytes left)`, off);
      const nh: RtnexthopValues = { flags: h.flags, hops: h.hops, ifindex: h.ifindex };
      NEXTHOP_ATTRS.decodeInto(buf, off + RTNEXTHOP_LEN, off + h.len, nh);
      out.push(nh);
      off += (h.len + 3) & ~3;
    }
    return out;
  },
};

/**
 * The RTA_* attributes a route is read and written with, in the order a request carries them
 * (`ip route add`: DST, PREFSRC, GATEWAY or VIA, TABLE, PRIORITY, OIF, METRICS, MULTIPATH).
 * RTA_CACHEINFO (every IPv6 route's volatile counters), RTA_PREF (an IPv6 router preference,
 * medium unless learnt from an RA) and RTA_PAD are named and passed over; any other attribute
 * (RTA_EXPIRES, RTA_ENCAP, RTA_MARK, ...) is kept on Route.unknown.
 */
export const ROUTE_ATTRS = defineAttrs('RTA', {
  dst: attr(RTA_DST, ip),
  prefsrc: attr(RTA_PREFSRC, ip),
  gateway: attr(RTA_GATEWAY, ip),
  via: attr(RTA_VIA, rtvia),
  table: attr(RTA_TABLE, u32),
  priority: attr(RTA_PRIORITY, u32),
  oif: attr(RTA_OIF, u32),
  metrics: attr(RTA_METRICS, nested(METRICS_ATTRS)),
  multipath: attr(RTA_MULTIPATH, multipath),
  nhid: attr(RTA_NH_ID, u32),
  cacheinfo: skip(RTA_CACHEINFO),
  pref: skip(RTA_PREF),
  pad: skip(RTA_PAD),
  mfcStats: skip(RTA_MFC_STATS),
});

/** Route types a spec may name: RTN_NAT is a name iproute2 knows, but Linux refuses new NAT routes (EINVAL "Invalid scope"). */
export const SPEC_ROUTE_TYPES = Object.keys(ROUTE_TYPES).filter((t) => t !== 'nat');

/** Largest RTAX_MTU the kernel stores unchanged (ip_metrics_convert clamps). */
export const MAX_ROUTE_MTU = 65535 - 15;
/** Largest RTAX_ADVMSS the kernel stores unchanged. */
export const MAX_ROUTE_ADVMSS = 65535 - 40;

/**
 * The fields of a RouteSpec: their names, docs and "did you mean" words. The checks of a
 * route spec are specialised in validate.ts (100k routes are validated per call; the fields'
 * relations need the family), which reads exactly these names.
 */
export const ROUTE_FIELDS = defineFields(
  'RouteSpec',
  {
    dst: fieldOf(checkedElsewhere, '"192.168.11.0/24", "fd01::/64", a host address, or "default" (needs family, or via to infer it).', 'required'),
    family: fieldOf(family, "Needed only for dst \"default\" without via: 4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10."),
    via: fieldOf(checkedElsewhere, 'Gateway address (RTA_GATEWAY).'),
    dev: fieldOf(device, 'Output device (RTA_OIF).'),
    onlink: fieldOf(bool, 'Treat the gateway as on-link even without a matching prefix (RTNH_F_ONLINK).'),
    table: fieldOf(checkedElsewhere, 'Default main (254). Tables above 255 go in RTA_TABLE.'),
    protocol: fieldOf(nameOrInt(PROTOCOLS, 'protocol', 0, 255), 'Who owns the route (rtm_protocol). Default boot, as `ip route add`.'),
    scope: fieldOf(
      nameOrInt(SCOPES, 'scope', 0, 255),
      'Route scope. Default as iproute2 picks it (host for local, link for a unicast route without a gateway, universe otherwise; IPv6 always universe).',
    ),
    type: fieldOf(oneOf(SPEC_ROUTE_TYPES, 'route type'), 'Route type. Default unicast.'),
    metric: fieldOf(int(0, 0xffffffff), 'RTA_PRIORITY.'),
    prefsrc: fieldOf(address(), 'Preferred source address (RTA_PREFSRC).'),
    tos: fieldOf(int(0, 255), 'Type of service to match (rtm_tos).'),
    mtu: fieldOf(int(1, MAX_ROUTE_MTU), 'RTAX_MTU.'),
    advmss: fieldOf(int(1, MAX_ROUTE_ADVMSS), 'RTAX_ADVMSS.'),
    nexthops: fieldOf(checkedElsewhere, 'Multipath: exclusive with via/dev.'),
    nhid: fieldOf(int(1, 0xffffffff), 'Use the nexthop object with this id (RTA_NH_ID): exclusive with via, dev, onlink and nexthops; not an FDB nexthop.'),
  },
  { src: 'prefsrc', prefix: 'dst' },
);

/** The fields of a NexthopSpec (one path of RouteSpec.nexthops). */
export const NEXTHOP_FIELDS = defineFields(
  'NexthopSpec',
  {
    via: fieldOf(checkedElsewhere, 'Gateway address.'),
    dev: fieldOf(device, 'Output device.'),
    weight: fieldOf(int(1, 256), '1..256 (rtnh_hops + 1).'),
    onlink: fieldOf(bool, 'Treat the gateway as on-link even without a matching prefix (RTNH_F_ONLINK).'),
  },
  { hops: 'weight' },
);

/** The fields of a RouteFilter. */
export const ROUTE_FILTER_FIELDS = defineFields('RouteFilter', {
  family: fieldOf(family, "Default: both. 4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10."),
  table: fieldOf(checkedElsewhere, "Default: main, as `ip route` shows; 'all' (or 0) for every table, as `ip route show table all`."),
  protocol: fieldOf(nameOrInt(PROTOCOLS, 'protocol', 0, 255), 'Only routes with this owner.'),
  dev: fieldOf(device, 'Routes that use this device (as output device or in any nexthop).'),
  type: fieldOf(oneOf(Object.keys(ROUTE_TYPES), 'route type'), 'Only routes of this type.'),
  scope: fieldOf(nameOrInt(SCOPES, 'scope', 0, 255), 'Only routes with this scope.'),
});

/** The fields of a RouteLookup. */
export const ROUTE_LOOKUP_FIELDS = defineFields('RouteLookup', {
  table: fieldOf(
    checkedElsewhere,
    "Only this table: a longest-prefix match over the table's routes, done here, because the kernel's route lookup (RTM_GETROUTE) takes no table under strict checking.",
  ),
  dev: fieldOf(device, 'Output device to look up for (RTA_OIF).'),
  src: fieldOf(checkedElsewhere, 'Source address to look up for (RTA_SRC).'),
  fibMatch: fieldOf(
    bool,
    'Return the FIB entry that matched (RTM_F_FIB_MATCH: its prefix, table, nexthops). Default true; false returns the resolved host route (dst /32 or /128 with the chosen nexthop and source), as `ip route get` prints it.',
  ),
});
