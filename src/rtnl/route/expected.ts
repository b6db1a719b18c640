/**
 * What the kernel reports back for a route spec once it is applied, so desired specs can be
 * diffed against list() field by field. Each default below was checked against Linux 6.18
 * (test/rtnl/route/route.test.js proves them with random specs).
 */
import { describeValue } from '../../values/problems';
import { formatIPv6, parseIPv4, parseIPv6Into } from '../../values/ip';
import { AF_INET, AF_INET6, RTNH_F_ONLINK, RTPROT_BOOT, RTPROT_UNSPEC, RT_SCOPE_UNIVERSE } from '../constants';
import type { Nexthop, NexthopSpec, Route, RouteSpec } from '../types';
import { V4PrefixParser } from '../../values/prefix';
import { protocolOf, routeTypeOf, scopeOf, specFamily, tableOf, type DevIndex } from './codec';
import { makeNexthop, makeRoute } from './shape';

/** The loopback device's index, the same in every namespace (LOOPBACK_IFINDEX). */
const LOOPBACK_IFINDEX = 1;
/** The metric IPv6 gives a route added without one (IP6_RT_PRIO_USER, include/net/ip6_route.h). */
export const IP6_RT_PRIO_USER = 1024;
/** IPv6 binds these to the loopback device (`ip -6 route` prints "dev lo"). */
const V6_LOOPBACK_TYPES = new Set<string>(['blackhole', 'unreachable', 'prohibit', 'throw']);

const scratch = Buffer.alloc(16);
const v4 = new V4PrefixParser();

/** The canonical text of a validated address (IPv4 literals are canonical already). */
export function canonicalAddress(a: string): string {
  if (parseIPv4(a) >= 0) return a;
  if (!parseIPv6Into(a, scratch, 0)) throw new TypeError(`not an IP address: ${describeValue(a)}`);
  return formatIPv6(scratch, 0);
}

/** The canonical text of a validated destination: "default" for /0, else "address/length". */
export function canonicalDst(dst: string, family: 4 | 6): string {
  if (dst === 'default') return dst;
  if (family === 4) {
    if (!v4.parse(dst)) throw new TypeError(`not an IPv4 prefix: ${describeValue(dst)}`);
    if (v4.length === 0) return 'default';
    return v4.length === 32 && !v4.slashed ? dst + '/32' : dst;
  }
  const slash = dst.indexOf('/');
  const len = slash < 0 ? 128 : Number(dst.slice(slash + 1));
  if (len === 0) return 'default';
  return `${canonicalAddress(slash < 0 ? dst : dst.slice(0, slash))}/${len}`;
}

/**
 * What the kernel will report back for a spec once applied, with every default filled in as
 * list() returns it: table main (local for local/broadcast/anycast routes), protocol boot
 * (also for an IPv6 route asking for 0),
 * type unicast, tos 0, scope as iproute2 picks it (link for a unicast route without a gateway,
 * host for local, universe otherwise; always universe for IPv6), canonical dst ("default" for
 * /0) and addresses, IPv4 metric only when non-zero, IPv6 metric 1024 when none or 0, IPv6
 * blackhole/unreachable/prohibit/throw routes on dev lo (index 1), nexthop weight 1, and a
 * single nexthop folded into via/dev (the kernel stores it as a plain route).
 *
 * One thing it cannot know: a route given only `via` gets its device from the kernel's lookup
 * of the gateway, so `dev` is undefined here while list() reports the chosen device.
 * devIndex maps the spec's device names to indexes (and throws when it cannot).
 */
export function expectedRoute(r: RouteSpec, devIndex: DevIndex): Route {
  const family = specFamily(r);
  const af = family === 6 ? AF_INET6 : AF_INET;
  const rtype = routeTypeOf(r.type, false);
  const gateway = r.via !== undefined || r.nexthops !== undefined || r.nhid !== undefined;
  let via = r.via;
  let devRef = r.dev;
  let onlink = r.onlink === true;
  let nexthops: Nexthop[] | undefined;
  if (r.nexthops !== undefined && r.nexthops.length === 1) {
    const nh = r.nexthops[0];
    via = nh.via;
    devRef = nh.dev;
    onlink = nh.onlink === true;
  } else if (r.nexthops !== undefined) {
    nexthops = r.nexthops.map((nh) => expectedNexthop(nh, devIndex));
  }
  const type = r.type ?? 'unicast';
  let dev = devRef !== undefined ? devIndex(devRef) : undefined;
  if (family === 6 && V6_LOOPBACK_TYPES.has(type)) dev = LOOPBACK_IFINDEX;
  return makeRoute(
    family,
    canonicalDst(r.dst, family),
    tableOf(r.table, rtype),
    // IPv6 stores an unspecified protocol (0) as boot; IPv4 keeps 0.
    protocolOf(r.protocol, false) || (family === 6 ? RTPROT_BOOT : RTPROT_UNSPEC),
    family === 6 ? RT_SCOPE_UNIVERSE : scopeOf(r.scope, af, rtype, gateway, false),
    type,
    r.tos ?? 0,
    family === 6 ? r.metric || IP6_RT_PRIO_USER : r.metric || undefined,
    via === undefined ? undefined : canonicalAddress(via),
    dev,
    onlink,
    r.prefsrc === undefined ? undefined : canonicalAddress(r.prefsrc),
    r.mtu,
    r.advmss,
    nexthops,
    onlink ? RTNH_F_ONLINK : 0,
    r.nhid,
  );
}

function expectedNexthop(nh: NexthopSpec, devIndex: DevIndex): Nexthop {
  const onlink = nh.onlink === true;
  return makeNexthop(nh.via === undefined ? undefined : canonicalAddress(nh.via), nh.dev !== undefined ? devIndex(nh.dev) : undefined, nh.weight ?? 1, onlink, onlink ? RTNH_F_ONLINK : 0);
}
