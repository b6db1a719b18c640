/**
 * Reading the reconciler's own routes, and settling the common case while reading.
 *
 * A steady-state cycle finds the kernel as desired: 100k routes read, 100k found equal. Most
 * of them have the common shape (PreparedRoute.simple), which can be compared on the numbers
 * of the route message (RouteFacts) against numbers prepared once per desired state (the
 * desired route index, the IPv4 gateway in PreparedRoute.gw4, an IPv6 one in SimpleRoute6);
 * a match settles the desired route (engine/settle.ts) and builds nothing. Every other owned
 * route (another shape, a difference, a duplicate, a route on a device that goes away) is
 * decoded whole and left to the diff, which sees exactly what a full read would have given it.
 */
import { IP6_RT_PRIO_USER } from '../../../rtnl/route/expected';
import { RTN_UNICAST, RTNH_F_ONLINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from '../../../rtnl/constants';
import type { Rtnl } from '../../../rtnl/rtnl';
import type { Route } from '../../../rtnl/types';
import type { LinkView } from '../../engine/kind';
import type { NexthopIds } from '../nexthop/ids';
import type { PreparedRoutes } from './prepare';
import { SimpleRoute6, expectedOf, wantedNhid, type PreparedRoute } from './prepared';

/**
 * Whether a desired route on a nexthop object is settled by a kernel route that names nexthop
 * `nhid` and has nothing beyond its path (RouteFacts.nhidOnly): what compareNhidRoute (diff.ts)
 * would find equal, decided without decoding the route. The kernel reports the nexthop's
 * gateway and device on such a route too; they are the nexthop kind's business.
 */
function nhidSettles(d: PreparedRoute, nhid: number, ids: NexthopIds, protocol: number): boolean {
  if (wantedNhid(d, ids) !== nhid || ids.recreated.has(nhid)) return false;
  if (d.plainNhid) return true; // no expected Route needed (prepare.ts)
  const e = expectedOf(d, protocol);
  return e.type === 'unicast' && e.scope === RT_SCOPE_UNIVERSE && e.prefsrc === undefined && e.mtu === undefined && e.advmss === undefined;
}

/** The owned routes a scan did not settle, and where each one's key is among the desired routes. */
export interface ScannedRoutes {
  /** The routes, decoded. */
  routes: Route[];
  /** Per route: the desired position on its key, -1 when none is desired there, or
   * UNKNOWN_POSITION when the scan did not look it up (the caller does, from the Route). */
  at: number[];
}

/** ScannedRoutes.at of a route whose key the scan did not look up. */
export const UNKNOWN_POSITION = -2;

/**
 * Dumps the routes carrying the reconciler's protocol (every table, filtered by the kernel),
 * settling simple routes that match their desired route as they arrive. Routes on vanishing
 * devices are never settled here: they go with their device, and the diff decides. Returns the
 * owned routes it did not settle, decoded.
 */
export async function scanOwnedRoutes(nl: Rtnl, desired: PreparedRoutes, view: LinkView, protocol: number, ids: NexthopIds): Promise<ScannedRoutes> {
  const idx = desired.index;
  const routes = desired.list;
  const marks = desired.marks;
  const vanishing = view.vanishing;
  marks.begin();
  let owned: Route[] = [];
  let at: number[] = [];
  // Thousands of routes name the same device: resolve the name once per run of it.
  let lastDev: string | undefined;
  let lastIndex = -1;
  await nl.routes.scan(
    { table: 'all', protocol },
    (f) => {
      let pos = UNKNOWN_POSITION; // the desired position on f's key, once looked up
      // Unicast via a gateway on a device, main table, tos 0, the family's default metric.
      if (f.complete && f.table === RT_TABLE_MAIN && f.tos === 0 && f.dstLen > 0 && f.type === RTN_UNICAST && f.scope === RT_SCOPE_UNIVERSE && f.oif > 0 && f.nhid === 0) {
        let i = -1;
        let d: PreparedRoute | undefined;
        if (f.family === 4) {
          if (f.metric <= 0 && f.gateway4 >= 0) {
            pos = i = idx.findMainV4(f.dst4, f.dstLen);
            d = i >= 0 ? routes[i] : undefined;
            if (d !== undefined && !(d.simple && d.gw4 === f.gateway4)) d = undefined;
          }
        } else if (f.metric === IP6_RT_PRIO_USER && f.hasGateway6) {
          pos = i = idx.findMainV6(f.dst6a, f.dst6b, f.dst6c, f.dst6d, f.dstLen);
          const d6 = i >= 0 ? routes[i] : undefined;
          if (d6 instanceof SimpleRoute6 && d6.g0 === f.gateway6a && d6.g1 === f.gateway6b && d6.g2 === f.gateway6c && d6.g3 === f.gateway6d) d = d6;
        }
        if (d !== undefined && !marks.found(i) && ((f.flags & RTNH_F_ONLINK) !== 0) === d.onlink && !vanishing.has(f.oif)) {
          const dev = d.devs[0];
          if (dev !== lastDev) {
            lastDev = typeof dev === 'string' ? dev : undefined; // a simple route names its device
            lastIndex = lastDev === undefined ? -1 : (view.byName.get(lastDev)?.index ?? -1);
          }
          if (f.oif === lastIndex && marks.settle(i)) return;
        }
      } else if (f.nhidOnly && f.table === RT_TABLE_MAIN && f.tos === 0 && f.dstLen > 0 && f.type === RTN_UNICAST && f.scope === RT_SCOPE_UNIVERSE && !vanishing.has(f.oif)) {
        // A route on a nexthop object (overlay `nexthops: true`): settled on its nhid.
        let i = -1;
        if (f.family === 4) {
          if (f.metric <= 0) pos = i = idx.findMainV4(f.dst4, f.dstLen);
        } else if (f.metric === IP6_RT_PRIO_USER) pos = i = idx.findMainV6(f.dst6a, f.dst6b, f.dst6c, f.dst6d, f.dstLen);
        if (i >= 0 && !marks.found(i) && nhidSettles(routes[i], f.nhid, ids, protocol) && marks.settle(i)) return;
      }
      owned.push(f.route());
      at.push(pos);
    },
    () => {
      // The dump starts over: forget what this attempt settled.
      marks.begin();
      owned = [];
      at = [];
    },
  );
  return { routes: owned, at };
}
