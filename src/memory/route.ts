/**
 * RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE of the in-memory kernel: the kernel's checks of a
 * new route (scope, type, next hops: device up, gateway on-link unless RTNH_F_ONLINK, prefsrc
 * local), its defaults (IPv6 metric 1024, protocol boot for 0), dumps with strict-check
 * filtering, lookups, and the messages routes are reported with.
 */
import {
  AF_INET,
  AF_INET6,
  RTA_DST,
  RTA_GATEWAY,
  RTA_METRICS,
  RTA_MULTIPATH,
  RTA_OIF,
  RTA_PREF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_SRC,
  RTA_TABLE,
  RTA_VIA,
  RTMSG_LEN,
  RTM_DELROUTE,
  RTM_F_CLONED,
  RTM_F_FIB_MATCH,
  RTM_F_LOOKUP_TABLE,
  RTM_NEWROUTE,
  RTNEXTHOP_LEN,
  RTNH_F_DEAD,
  RTNH_F_ONLINK,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_ROUTE,
  RTN_ANYCAST,
  RTN_BLACKHOLE,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_NAT,
  RTN_PROHIBIT,
  RTN_THROW,
  RTN_UNICAST,
  RTN_UNREACHABLE,
  RTPROT_BOOT,
  RTPROT_UNSPEC,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_COMPAT,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
} from '../rtnl/constants';
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, nlAlign } from '../wire/constants';
import type { MessageWriter } from '../wire/writer';
import type { Device } from './device';
import { Attrs, E, fail, maskBytes, sameBytes } from './message';
import type { Request } from './request';
import { isRejectType, survivesDown, type Nexthop, type RouteEntry, type RouteMatch } from './route-store';
import type { NsState } from './state';

const RTN_MAX = 11;
/** The narrowest scope each route type allows (fib_props[].scope). */
const TYPE_SCOPE: Record<number, number> = {
  [RTN_UNICAST]: RT_SCOPE_UNIVERSE,
  [RTN_LOCAL]: RT_SCOPE_HOST,
  [RTN_BROADCAST]: RT_SCOPE_LINK,
  [RTN_ANYCAST]: RT_SCOPE_LINK,
  [RTN_MULTICAST]: RT_SCOPE_UNIVERSE,
  [RTN_BLACKHOLE]: RT_SCOPE_UNIVERSE,
  [RTN_UNREACHABLE]: RT_SCOPE_UNIVERSE,
  [RTN_PROHIBIT]: RT_SCOPE_UNIVERSE,
  [RTN_THROW]: RT_SCOPE_UNIVERSE,
  [RTN_NAT]: RT_SCOPE_HOST,
};
/** What a packet to a reject route gets (fib_props[].error). */
const REJECT_ERRNO: Record<number, number> = {
  [RTN_BLACKHOLE]: E.EINVAL,
  [RTN_UNREACHABLE]: E.EHOSTUNREACH,
  [RTN_PROHIBIT]: E.EACCES,
  [RTN_THROW]: E.EAGAIN,
};

/** The multicast group route events of a family go to. */
export function routeGroup(family: 4 | 6): number {
  return family === 4 ? RTNLGRP_IPV4_ROUTE : RTNLGRP_IPV6_ROUTE;
}

/** Announces a route change (RTM_NEWROUTE / RTM_DELROUTE). */
export function announceRoute(ns: NsState, type: number, r: RouteEntry, nlflags = 0): void {
  ns.notify(routeGroup(r.family), type, nlflags, (w) => fillRoute(w, ns, r));
}

interface Header {
  family: 4 | 6;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

function readHeader(req: Request): { h: Header; tb: Attrs } {
  if (req.end - req.payload < RTMSG_LEN) fail(E.EINVAL, 'Invalid header for route request');
  const b = req.buf;
  const p = req.payload;
  const fam = b[p];
  if (fam !== AF_INET && fam !== AF_INET6) fail(E.EOPNOTSUPP);
  const h: Header = {
    family: fam === AF_INET ? 4 : 6,
    dstLen: b[p + 1],
    srcLen: b[p + 2],
    tos: b[p + 3],
    table: b[p + 4],
    protocol: b[p + 5],
    scope: b[p + 6],
    type: b[p + 7],
    flags: b.readUInt32LE(p + 8),
  };
  const tb = Attrs.parse(b, p + RTMSG_LEN, req.end);
  const t = tb.u32(RTA_TABLE);
  if (t !== undefined) h.table = t;
  return { h, tb };
}

function addrLen(family: 4 | 6): 4 | 16 {
  return family === 4 ? 4 : 16;
}

function readDst(h: Header, tb: Attrs, mask: boolean): Buffer {
  const alen = addrLen(h.family);
  if (h.dstLen > alen * 8) fail(E.EINVAL, 'Invalid prefix length');
  const raw = tb.addr(RTA_DST, alen) ?? Buffer.alloc(alen);
  const masked = maskBytes(raw, h.dstLen);
  if (!mask && h.family === 4 && !sameBytes(masked, raw)) fail(E.EINVAL, 'Invalid prefix for given prefix length');
  return masked;
}

function readMetrics(tb: Attrs): Map<number, number> {
  const out = new Map<number, number>();
  const m = tb.nest(RTA_METRICS);
  if (!m) return out;
  for (const a of m.all) {
    if (a.len < 4) fail(E.EINVAL, 'Attribute failed policy validation');
    out.set(a.type, m.buf.readUInt32LE(a.off));
  }
  return out;
}

function readGateway(family: 4 | 6, a: Attrs): Buffer | undefined {
  const gw = a.addr(RTA_GATEWAY);
  if (gw) {
    if (gw.length !== addrLen(family)) fail(E.EINVAL, 'Invalid gateway address');
    return gw;
  }
  const via = a.range(RTA_VIA);
  if (via) {
    const fam = a.buf.readUInt16LE(via.off);
    const bytes = Buffer.from(a.buf.subarray(via.off + 2, via.end));
    if ((fam === AF_INET ? 4 : 16) !== bytes.length || (fam !== AF_INET && fam !== AF_INET6)) fail(E.EINVAL, 'Invalid gateway address');
    if (bytes.length !== addrLen(family)) fail(E.EINVAL, family === 6 ? 'IPv6 routes can not use an IPv4 nexthop' : 'IPv4 routes with IPv6 gateways are not supported here');
    return bytes;
  }
  return undefined;
}

/** The paths a request names: RTA_MULTIPATH, or RTA_OIF/RTA_GATEWAY. Devices must exist. */
function readNexthops(ns: NsState, h: Header, tb: Attrs, lookup = true): { nhs: Nexthop[]; multipath: boolean; oif: number; gw: Buffer | undefined } {
  const oif = tb.u32(RTA_OIF) ?? 0;
  const gw = readGateway(h.family, tb);
  const mp = tb.range(RTA_MULTIPATH);
  if (mp) {
    const nhs: Nexthop[] = [];
    let off = mp.off;
    while (mp.end - off >= RTNEXTHOP_LEN) {
      const len = tb.buf.readUInt16LE(off);
      if (len < RTNEXTHOP_LEN || len > mp.end - off) fail(E.EINVAL, 'Invalid nexthop configuration - extra data after nexthop');
      const flags = tb.buf[off + 2];
      const weight = tb.buf[off + 3] + 1;
      const ifindex = tb.buf.readInt32LE(off + 4);
      const inner = Attrs.parse(tb.buf, off + RTNEXTHOP_LEN, off + len);
      const dev = ifindex ? ns.devices.get(ifindex) : undefined;
      if (lookup && ifindex && !dev) fail(E.ENODEV, 'Nexthop device not found');
      nhs.push({ dev, gw: readGateway(h.family, inner), weight, flags: flags & RTNH_F_ONLINK });
      off += nlAlign(len);
    }
    if (!nhs.length) fail(E.EINVAL, 'Invalid nexthop configuration - no valid nexthops');
    return { nhs, multipath: true, oif, gw };
  }
  let dev: Device | undefined;
  if (oif) {
    dev = ns.devices.get(oif);
    if (!dev && lookup) fail(E.ENODEV, h.family === 4 ? 'Nexthop device not found' : undefined);
  }
  const nhs = oif || gw ? [{ dev, gw, weight: 1, flags: h.flags & RTNH_F_ONLINK }] : [];
  return { nhs, multipath: false, oif, gw };
}

/** inet_addr_type_dev_table(): what the local table says an IPv4 address is (no local table:
 * broadcast, the kernel's starting value). */
function addrType4(ns: NsState, addr: Buffer, dev: Device | undefined): number {
  if (addr.every((b) => b === 0) || addr.every((b) => b === 0xff)) return RTN_BROADCAST;
  if ((addr[0] & 0xf0) === 0xe0) return RTN_MULTICAST;
  if (!ns.routes.table(4, RT_TABLE_LOCAL)) return RTN_BROADCAST;
  const hit = ns.routes.lookup(4, addr, { tableId: RT_TABLE_LOCAL });
  if (hit && (!dev || hit.nh?.dev === dev)) return hit.route.type;
  return RTN_UNICAST;
}

/** fib_check_nh() for one IPv4 path. */
function checkNexthop4(ns: NsState, nh: Nexthop, scope: number, table: number): void {
  if (nh.gw) {
    if (nh.flags & RTNH_F_ONLINK) {
      if (scope >= RT_SCOPE_LINK) fail(E.EINVAL, 'Nexthop has invalid scope');
      if (addrType4(ns, nh.gw, nh.dev) !== RTN_UNICAST) fail(E.EINVAL, 'Nexthop has invalid gateway');
      if (!nh.dev) fail(E.ENODEV, 'Nexthop device required for onlink');
      if (!nh.dev.up) fail(E.ENETDOWN, 'Nexthop device is not up');
      return;
    }
    const minScope = Math.max(scope + 1, RT_SCOPE_LINK);
    const oif = nh.dev?.index;
    let hit = table && table !== RT_TABLE_MAIN ? ns.routes.lookup(4, nh.gw, { tableId: table, oif, minScope }) : undefined;
    if (!hit || isRejectType(hit.route.type)) hit = ns.routes.lookup(4, nh.gw, { oif, minScope });
    if (!hit || isRejectType(hit.route.type)) fail(E.ENETUNREACH, 'Nexthop has invalid gateway');
    if (hit.route.type !== RTN_UNICAST && hit.route.type !== RTN_LOCAL) fail(E.EINVAL, 'Nexthop has invalid gateway');
    const dev = hit.nh?.dev;
    if (!dev) fail(E.EINVAL, 'No egress device for nexthop gateway');
    nh.dev = dev;
    if (!dev.up) fail(E.ENETDOWN);
    return;
  }
  if (nh.flags & RTNH_F_ONLINK) fail(E.EINVAL, 'Invalid flags for nexthop - PERVASIVE and ONLINK can not be set');
  if (!nh.dev) fail(E.ENODEV, 'Nexthop device not found');
  if (!nh.dev.up) fail(E.ENETDOWN, 'Device for nexthop is not up');
}

function isLinkLocal6(a: Buffer): boolean {
  return a[0] === 0xfe && (a[1] & 0xc0) === 0x80;
}

function hasAddress(ns: NsState, family: 4 | 6, a: Buffer, dev?: Device): boolean {
  return ns.addrs.some((x) => x.family === family && (!dev || x.dev === dev) && sameBytes(x.local, a));
}

/** fib6_nh_init() / ip6_validate_gw() for one IPv6 path. */
function checkNexthop6(ns: NsState, nh: Nexthop, table: number): void {
  if (nh.flags & RTNH_F_ONLINK) {
    if (!nh.dev) fail(E.ENODEV, 'Nexthop device required for onlink');
    if (!nh.dev.up) fail(E.ENETDOWN, 'Nexthop device is not up');
  }
  if (nh.gw) {
    const gw = nh.gw;
    if (nh.dev && hasAddress(ns, 6, gw, nh.dev)) fail(E.EINVAL, 'Gateway can not be a local address');
    if (!isLinkLocal6(gw)) {
      if (gw[0] === 0xff || gw.every((b) => b === 0)) fail(E.EINVAL, 'Invalid gateway address');
      if (nh.flags & RTNH_F_ONLINK) {
        const hit = ns.routes.lookup(6, gw, { tableId: RT_TABLE_MAIN, skipDefault: true });
        if (hit && !isRejectType(hit.route.type) && (hit.route.type !== RTN_UNICAST || hit.nh?.dev !== nh.dev)) fail(E.EINVAL, 'Nexthop has invalid gateway or device mismatch');
      } else {
        const ok = (hit: ReturnType<typeof ns.routes.lookup>) => hit && !isRejectType(hit.route.type) && hit.nh && !hit.nh.gw;
        let hit = table ? ns.routes.lookup(6, gw, { tableId: table, oif: nh.dev?.index }) : undefined;
        if (!ok(hit) || (nh.dev && hit!.nh!.dev !== nh.dev)) hit = ns.routes.lookup(6, gw, { oif: nh.dev?.index });
        if (!ok(hit)) fail(E.EHOSTUNREACH);
        if (nh.dev && hit!.nh!.dev !== nh.dev) fail(E.EHOSTUNREACH);
        nh.dev = hit!.nh!.dev;
      }
    }
    if (!nh.dev) fail(E.EINVAL, 'Egress device not specified');
    if (nh.dev.flags & 0x8) fail(E.EINVAL, 'Egress device can not be loopback device for this route');
  }
  if (!nh.dev) fail(E.ENODEV);
  if (!nh.dev.up) fail(E.ENETDOWN, 'Nexthop device is not up');
}

/** RTM_NEWROUTE. */
export function newRoute(req: Request): void {
  const ns = req.ns;
  const { h, tb } = readHeader(req);
  if (h.type > RTN_MAX) fail(E.EINVAL, 'Invalid route type');
  const dst = readDst(h, tb, h.family === 6);
  if (tb.has(RTA_SRC) || h.srcLen) fail(E.EINVAL, h.family === 6 ? 'Specifying source address requires IPV6_SUBTREES to be enabled' : 'Invalid source address');
  const table = h.table || RT_TABLE_MAIN;
  const create = (req.flags & NLM_F_CREATE) !== 0;
  // The table is made before the route is checked, so a refused route leaves it behind.
  ns.routes.ensureTable(h.family, table);
  const { nhs, multipath } = readNexthops(ns, h, tb);
  const r: RouteEntry = {
    family: h.family,
    table,
    dst,
    len: h.dstLen,
    tos: h.tos,
    metric: tb.u32(RTA_PRIORITY) ?? 0,
    protocol: h.protocol,
    scope: h.scope,
    type: h.type,
    prefsrc: tb.addr(RTA_PREFSRC, addrLen(h.family)),
    metrics: readMetrics(tb),
    nhs,
    multipath,
    pref: tb.u8(RTA_PREF) ?? 0,
  };
  if (h.family === 4) validate4(ns, r);
  else validate6(ns, r);
  const res = ns.routes.insert(r, {
    excl: (req.flags & NLM_F_EXCL) !== 0,
    replace: (req.flags & NLM_F_REPLACE) !== 0,
    append: (req.flags & NLM_F_APPEND) !== 0,
    create,
  });
  if (res.announce) announceRoute(ns, RTM_NEWROUTE, res.announce, res.nlflags);
}

function validate4(ns: NsState, r: RouteEntry): void {
  if (r.type === 0) fail(E.EINVAL, 'Invalid route type');
  if (TYPE_SCOPE[r.type] > r.scope) fail(E.EINVAL, 'Invalid scope');
  if (isRejectType(r.type)) {
    if (r.nhs.length) fail(E.EINVAL, 'Gateway, device and multipath can not be specified for this route type');
    return;
  }
  if (r.scope > RT_SCOPE_HOST) fail(E.EINVAL, 'Invalid scope');
  if (r.scope === RT_SCOPE_HOST) {
    if (r.nhs.length !== 1) fail(E.EINVAL, 'Route with host scope can not have multiple nexthops');
    if (r.nhs[0].gw) fail(E.EINVAL, 'Route with host scope can not have a gateway');
    if (!r.nhs[0].dev) fail(E.ENODEV);
  } else {
    if (!r.nhs.length) fail(E.ENODEV, 'Nexthop device not found');
    for (const nh of r.nhs) checkNexthop4(ns, nh, r.scope, r.table);
  }
  if (r.prefsrc && !(r.type === RTN_LOCAL && r.len === 32 && sameBytes(r.dst, r.prefsrc)) && addrType4(ns, r.prefsrc, undefined) !== RTN_LOCAL) {
    fail(E.EINVAL, 'Invalid prefsrc address');
  }
}

function validate6(ns: NsState, r: RouteEntry): void {
  if (!r.metric) r.metric = 1024; // IP6_RT_PRIO_USER
  if (r.protocol === RTPROT_UNSPEC) r.protocol = RTPROT_BOOT;
  r.scope = RT_SCOPE_UNIVERSE;
  if (r.type === 0) r.type = RTN_UNICAST;
  if (isRejectType(r.type)) {
    // A reject route goes through the loopback device, whatever was asked.
    const lo = [...ns.devices.values()].find((d) => d.flags & 0x8);
    r.nhs = [{ dev: lo, gw: undefined, weight: 1, flags: 0 }];
    r.multipath = false;
    return;
  }
  if (!r.nhs.length) fail(E.ENODEV);
  for (const nh of r.nhs) checkNexthop6(ns, nh, r.table);
  if (r.prefsrc && !hasAddress(ns, 6, r.prefsrc)) fail(E.EINVAL, 'Invalid source address');
  if (r.nhs.length === 1) r.multipath = false;
}

/** RTM_DELROUTE. */
export function delRoute(req: Request): void {
  const ns = req.ns;
  const { h, tb } = readHeader(req);
  const dst = readDst(h, tb, true);
  const table = h.table || RT_TABLE_MAIN;
  if (!ns.routes.table(h.family, table)) fail(E.ESRCH, 'FIB table does not exist');
  // A delete names devices by index and only compares them: a missing one matches nothing.
  const { oif, gw, nhs, multipath } = readNexthops(ns, h, tb, false);
  const m: RouteMatch = {
    family: h.family,
    table,
    dst,
    len: h.dstLen,
    tos: h.tos,
    metric: tb.u32(RTA_PRIORITY) ?? 0,
    protocol: h.protocol,
    scope: h.family === 4 ? h.scope : RT_SCOPE_NOWHERE,
    type: h.type,
    prefsrc: tb.addr(RTA_PREFSRC, addrLen(h.family)),
    oif,
    gw,
    nhs: multipath ? nhs : undefined,
    metrics: readMetrics(tb),
  };
  const { removed } = ns.routes.delete(m);
  announceRoute(ns, RTM_DELROUTE, removed);
}

/** The type a route is reported with (the kernel keeps it; IPv6 reports unicast for 0). */
function tableField(id: number): number {
  return id < 256 ? id : RT_TABLE_COMPAT;
}

/** Writes struct rtmsg and the attributes of a route, in the kernel's order. */
export function fillRoute(w: MessageWriter, ns: NsState, r: RouteEntry, opts: { dst?: Buffer; cloned?: boolean; table?: number } = {}): void {
  const single = !r.multipath && r.nhs.length === 1 ? r.nhs[0] : undefined;
  let flags = opts.cloned ? RTM_F_CLONED : 0;
  if (single) flags |= ns.routes.nhFlags(single, r.type);
  const off = w.reserve(RTMSG_LEN);
  const b = w.buf;
  const dstLen = opts.dst ? opts.dst.length * 8 : r.len;
  const table = opts.table ?? r.table;
  b[off] = r.family === 4 ? AF_INET : AF_INET6;
  b[off + 1] = dstLen;
  b[off + 2] = 0;
  b[off + 3] = r.tos;
  b[off + 4] = tableField(table);
  b[off + 5] = opts.cloned && r.family === 4 ? RTPROT_UNSPEC : r.protocol;
  b[off + 6] = opts.cloned && r.family === 4 ? RT_SCOPE_UNIVERSE : r.scope;
  b[off + 7] = r.type;
  b.writeUInt32LE(flags, off + 8);
  w.u32(RTA_TABLE, table);
  if (dstLen) w.binary(RTA_DST, opts.dst ?? r.dst);
  if (r.family === 6 || r.metric) w.u32(RTA_PRIORITY, r.metric);
  if (r.family === 6) {
    if (r.prefsrc) w.binary(RTA_PREFSRC, r.prefsrc);
    writeMetrics(w, r);
  } else {
    writeMetrics(w, r);
    if (r.prefsrc) w.binary(RTA_PREFSRC, r.prefsrc);
  }
  if (single) {
    if (single.gw) w.binary(RTA_GATEWAY, single.gw);
    if (single.dev) w.u32(RTA_OIF, single.dev.index);
  } else if (r.nhs.length) {
    const nest = w.nestStart(RTA_MULTIPATH);
    for (const nh of r.nhs) {
      const o = w.reserve(RTNEXTHOP_LEN);
      w.buf[o + 2] = ns.routes.nhFlags(nh, r.type);
      w.buf[o + 3] = nh.weight - 1;
      w.buf.writeInt32LE(nh.dev?.index ?? 0, o + 4);
      if (nh.gw) w.binary(RTA_GATEWAY, nh.gw);
      w.buf.writeUInt16LE(w.length - o, o);
    }
    w.nestEnd(nest);
  }
  if (r.family === 6) w.u8(RTA_PREF, r.pref);
}

function writeMetrics(w: MessageWriter, r: RouteEntry): void {
  if (!r.metrics.size) return;
  const nest = w.nestStart(RTA_METRICS);
  for (const k of [...r.metrics.keys()].sort((a, b) => a - b)) w.u32(k, r.metrics.get(k)!);
  w.nestEnd(nest);
}

/** RTM_GETROUTE dump, filtered as a strict-checking kernel does. */
export function dumpRoutes(req: Request): void {
  const ns = req.ns;
  const b = req.buf;
  const p = req.payload;
  let family = 0;
  let filter = { table: 0, protocol: 0, type: 0, dev: undefined as Device | undefined };
  if (req.end - p >= 1) family = b[p];
  if (req.strict) {
    if (req.end - p < RTMSG_LEN) fail(E.EINVAL, 'Invalid header for FIB dump request');
    if (b[p + 1] || b[p + 2] || b[p + 3] || b[p + 6]) fail(E.EINVAL, 'Invalid values in header for FIB dump request');
    const flags = b.readUInt32LE(p + 8);
    if (flags & ~(RTM_F_CLONED | 0x800)) fail(E.EINVAL, 'Invalid flags for FIB dump request');
    filter = { table: b[p + 4], protocol: b[p + 5], type: b[p + 7], dev: undefined };
    const tb = Attrs.parse(b, p + RTMSG_LEN, req.end);
    for (const a of tb.all) {
      if (a.type === RTA_TABLE) filter.table = tb.u32(RTA_TABLE)!;
      else if (a.type === RTA_OIF) {
        filter.dev = ns.devices.get(tb.u32(RTA_OIF)!);
        if (!filter.dev) fail(E.ENODEV);
      } else fail(E.EINVAL, 'Unsupported attribute in dump request');
    }
    // Linux 6.18 marks every strict route dump as filtered.
    req.filtered();
    if (flags & RTM_F_CLONED) return; // route exceptions (cached clones): none are modelled
  }
  const families: Array<4 | 6> = family === AF_INET ? [4] : family === AF_INET6 ? [6] : [4, 6];
  if (family !== 0 && family !== AF_INET && family !== AF_INET6) return;
  for (const fam of families) {
    let ids = ns.routes.tableIds(fam);
    if (filter.table) {
      if (!ns.routes.table(fam, filter.table)) {
        if (family === 0) continue;
        fail(E.ENOENT, fam === 4 ? 'ipv4: FIB table does not exist' : 'ipv6: FIB table does not exist');
      }
      ids = [filter.table];
    }
    for (const id of ids) {
      for (const r of ns.routes.sorted(fam, id)) {
        if (filter.protocol && r.protocol !== filter.protocol) continue;
        if (filter.type && r.type !== filter.type) continue;
        if (filter.dev && !r.nhs.some((nh) => nh.dev === filter.dev)) continue;
        req.reply(RTM_NEWROUTE, 0, (w) => fillRoute(w, ns, r));
      }
    }
  }
}

/** RTM_GETROUTE of one destination: the kernel's lookup (local, main, default tables). */
export function getRoute(req: Request): void {
  const ns = req.ns;
  const { h, tb } = readHeader(req);
  const b = req.buf;
  const p = req.payload;
  if (req.strict) {
    if ((h.srcLen && h.srcLen !== (h.family === 4 ? 32 : 128)) || (h.dstLen && h.dstLen !== (h.family === 4 ? 32 : 128)) || b[p + 4] || h.protocol || h.scope || h.type) {
      fail(E.EINVAL, h.family === 4 ? 'ipv4: Invalid values in header for route get request' : 'Invalid values in header for get route request');
    }
    const allowed = h.family === 4 ? RTM_F_FIB_MATCH | RTM_F_LOOKUP_TABLE | 0x100 : RTM_F_FIB_MATCH;
    if (h.flags & ~allowed) fail(E.EINVAL, h.family === 4 ? 'ipv4: Unsupported rtm_flags for route get request' : 'Invalid flags for get route request');
    if (tb.has(RTA_TABLE)) fail(E.EINVAL, h.family === 4 ? 'ipv4: Unsupported attribute in route get request' : 'Unsupported attribute in get route request');
  }
  const dst = tb.addr(RTA_DST, addrLen(h.family)) ?? Buffer.alloc(addrLen(h.family));
  const oif = tb.u32(RTA_OIF) ?? 0;
  if (oif && !ns.devices.has(oif)) fail(E.ENODEV);
  const hit = ns.routes.lookup(h.family, dst, { oif: oif || undefined });
  if (!hit) fail(E.ENETUNREACH);
  const r = hit.route;
  if (isRejectType(r.type)) fail(h.family === 6 ? (r.type === RTN_BLACKHOLE ? E.EINVAL : REJECT_ERRNO[r.type] ?? E.ENETUNREACH) : REJECT_ERRNO[r.type] ?? E.ENETUNREACH);
  if (h.flags & RTM_F_FIB_MATCH) {
    req.reply(RTM_NEWROUTE, 0, (w) => fillRoute(w, ns, r));
    return;
  }
  // The resolved route to this one address: what `ip route get` prints.
  const nh = hit.nh;
  const lo = [...ns.devices.values()].find((d) => d.flags & 0x8);
  const dev = r.type === RTN_LOCAL ? lo : nh?.dev;
  const src = r.prefsrc ?? (dev ? ns.addrs.find((a) => a.family === h.family && a.dev === (nh?.dev ?? dev))?.local : undefined);
  const resolved: RouteEntry = {
    ...r,
    protocol: h.family === 4 ? RTPROT_UNSPEC : r.protocol,
    nhs: [{ dev, gw: nh?.gw, weight: 1, flags: 0 }],
    multipath: false,
    prefsrc: src,
  };
  const table = h.family === 4 && !(h.flags & RTM_F_LOOKUP_TABLE) ? RT_TABLE_MAIN : r.table;
  req.reply(RTM_NEWROUTE, 0, (w) => fillRoute(w, ns, resolved, { dst, cloned: h.family === 4, table }));
}

/** A route the kernel adds for an address (fib_magic, addrconf): RTM_NEWROUTE unless the same
 * route is already there (the kernel's EEXIST is ignored). Returns the entry added. */
export function addKernelRoute(ns: NsState, r: RouteEntry): RouteEntry | undefined {
  const t = ns.routes.ensureTable(r.family, r.table);
  const dup = t.find((x) => x.len === r.len && sameBytes(x.dst, r.dst) && x.type === r.type && x.metric === r.metric && x.tos === r.tos && x.nhs[0]?.dev === r.nhs[0]?.dev && sameBytes(x.prefsrc, r.prefsrc) && x.protocol === r.protocol);
  if (dup) return undefined;
  try {
    ns.routes.insert(r, { excl: false, replace: false, append: true, create: true });
  } catch {
    return undefined;
  }
  announceRoute(ns, RTM_NEWROUTE, r, NLM_F_CREATE | NLM_F_APPEND);
  return r;
}

/** Removes a kernel route (fib_magic RTM_DELROUTE) if present, announcing it. */
export function delKernelRoute(ns: NsState, pred: (r: RouteEntry) => boolean, family: 4 | 6, notify = true): void {
  for (const r of ns.routes.removeWhere(family, pred)) if (notify) announceRoute(ns, RTM_DELROUTE, r);
}

/**
 * Routes through a device that went down or away (fib_sync_down_dev + fib_flush, and IPv6's
 * rt6_sync_down_dev): a route whose every path uses the device goes; a multipath route keeps
 * its other paths and marks this one dead. keepLocal: IPv4 host-scope local routes stay (a
 * device going down keeps its addresses). notify: IPv4 flushes are silent, IPv6 ones are not.
 */
export function flushDeviceRoutes(ns: NsState, dev: Device, family: 4 | 6, opts: { keepLocal: boolean; notify: boolean }): void {
  const gone = ns.routes.removeWhere(family, (r) => {
    if (!r.nhs.some((nh) => nh.dev === dev)) return false;
    if (opts.keepLocal && survivesDown(r)) return false;
    if (r.nhs.every((nh) => nh.dev === dev || nh.flags & RTNH_F_DEAD)) return true;
    for (const nh of r.nhs) if (nh.dev === dev) nh.flags |= RTNH_F_DEAD;
    return false;
  });
  if (opts.notify) for (const r of gone) announceRoute(ns, RTM_DELROUTE, r);
}

/** fib_sync_up(): the paths through a device that came back up are alive again. */
export function reviveDeviceRoutes(ns: NsState, dev: Device): void {
  for (const r of ns.routes.all(4)) for (const nh of r.nhs) if (nh.dev === dev) nh.flags &= ~RTNH_F_DEAD;
}
