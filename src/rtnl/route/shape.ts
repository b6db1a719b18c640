/**
 * The one place Route and Nexthop objects are made, by the decoder and by expectedRoute alike,
 * so a route read back and the route expected for a spec have the same keys in the same order
 * and compare equal with assert.deepStrictEqual.
 *
 * Fields without a value are left out (not set to undefined): objects are smaller (a 100k
 * route dump allocates and collects measurably less), JSON and hand-written expectations look
 * the same, and `'metric' in r` means what it says. The common combinations are object
 * literals (one allocation, a stable hidden class); rare ones are built up in the same order.
 */
import type { Nexthop, Route, RouteTypeName } from '../types';

/** Builds a Route; see the module comment. Keys in order: family, dst, table, protocol, scope,
 * type, tos, metric, via, dev, onlink, prefsrc, mtu, advmss, nexthops, nhid, flags. */
export function makeRoute(
  family: 4 | 6,
  dst: string,
  table: number,
  protocol: number,
  scope: number,
  type: RouteTypeName | number,
  tos: number,
  metric: number | undefined,
  via: string | undefined,
  dev: number | undefined,
  onlink: boolean,
  prefsrc: string | undefined,
  mtu: number | undefined,
  advmss: number | undefined,
  nexthops: Nexthop[] | undefined,
  flags: number,
  nhid?: number,
): Route {
  const rare = prefsrc !== undefined || mtu !== undefined || advmss !== undefined || nexthops !== undefined || nhid !== undefined;
  if (!rare) {
    const shape = (metric !== undefined ? 1 : 0) | (via !== undefined ? 2 : 0) | (dev !== undefined ? 4 : 0);
    switch (shape) {
      case 0: // IPv4 blackhole/unreachable/prohibit/throw
        return { family, dst, table, protocol, scope, type, tos, onlink, flags };
      case 4: // device route
        return { family, dst, table, protocol, scope, type, tos, dev, onlink, flags };
      case 6: // IPv4 gateway route
        return { family, dst, table, protocol, scope, type, tos, via, dev, onlink, flags };
      case 5: // IPv6 device route, IPv4 device route with a metric
        return { family, dst, table, protocol, scope, type, tos, metric, dev, onlink, flags };
      case 7: // IPv6 gateway route, IPv4 gateway route with a metric
        return { family, dst, table, protocol, scope, type, tos, metric, via, dev, onlink, flags };
    }
  }
  const r = { family, dst, table, protocol, scope, type, tos } as Route;
  if (metric !== undefined) r.metric = metric;
  if (via !== undefined) r.via = via;
  if (dev !== undefined) r.dev = dev;
  r.onlink = onlink;
  if (prefsrc !== undefined) r.prefsrc = prefsrc;
  if (mtu !== undefined) r.mtu = mtu;
  if (advmss !== undefined) r.advmss = advmss;
  if (nexthops !== undefined) r.nexthops = nexthops;
  if (nhid !== undefined) r.nhid = nhid;
  r.flags = flags;
  return r;
}

/** Builds a Nexthop, leaving out via and dev when there are none. Keys in order: via, dev,
 * weight, onlink, flags. */
export function makeNexthop(via: string | undefined, dev: number | undefined, weight: number, onlink: boolean, flags: number): Nexthop {
  if (via !== undefined && dev !== undefined) return { via, dev, weight, onlink, flags };
  if (via !== undefined) return { via, weight, onlink, flags };
  if (dev !== undefined) return { dev, weight, onlink, flags };
  return { weight, onlink, flags };
}
