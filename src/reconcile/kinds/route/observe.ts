/**
 * What the route kind reads for one plan: its own routes (settling the equal ones while
 * reading, scan.ts), matched to the desired routes by key, and the routes of other protocols in
 * the tables where a desired key was not found among its own (a foreign route may hold it).
 */
import type { Rtnl } from '../../../rtnl/rtnl';
import type { Route } from '../../../rtnl/types';
import type { LinkView } from '../../engine/kind';
import type { PreparedRoutes } from './prepare';
import { UNKNOWN_POSITION, scanOwnedRoutes } from './scan';

/** The route kind's read of the kernel, matched against the desired routes. */
export interface ObservedRoutes {
  /** Owned routes on no desired key, or a second one on a key: to delete (unless on another owner's link). */
  extra: Route[];
  /** Owned routes on links that go away in this plan: they go with the link, or are re-added. */
  onVanishing: Route[];
  /** Routes of other protocols in the tables where a desired key is free of ours. */
  foreign: Route[];
}

/** Whether a route is on a link that goes away in this plan (an owned one goes with it, or is
 * re-added; a foreign one holds its key no longer). */
export function goesWithLink(r: Route, view: LinkView): boolean {
  return r.dev !== undefined && view.vanishing.has(r.dev);
}

/** Reads the owned routes and, where needed, the foreign ones; matches them to the desired routes. */
export async function observeRoutes(nl: Rtnl, desired: PreparedRoutes, view: LinkView, protocol: number): Promise<ObservedRoutes> {
  const scanned = await scanOwnedRoutes(nl, desired, view, protocol, desired.nexthopIds);
  const owned = scanned.routes;
  const { index, list, marks } = desired;
  const onVanishing: Route[] = [];
  // Usually every owned route left is extra (a delete of all, 100k of them): then the scan's
  // list is the extra list, not copied a push at a time.
  let extra: Route[] | undefined;
  for (let k = 0; k < owned.length; k++) {
    const r = owned[k];
    // Owned routes on a link that is deleted or recreated go with it, but only when the link
    // goes, which is after the route stage for a deletion: a desired route on the same key must
    // replace it, not be added next to it (EEXIST).
    let keep: boolean;
    if (goesWithLink(r, view)) {
      onVanishing.push(r);
      keep = false;
    } else {
      const seen = scanned.at[k];
      const at = seen === UNKNOWN_POSITION ? index.findRoute(r) : seen;
      keep = at < 0 || !marks.take(at, r);
    }
    if (keep) extra?.push(r);
    else if (extra === undefined) extra = owned.slice(0, k); // the first one not extra
  }
  let foreign: Route[] = [];
  if (marks.count < list.length) {
    // Some desired keys hold none of our routes: is a foreign route on them?
    const tables = new Set<number>();
    for (let i = 0; i < list.length; i++) if (!marks.found(i)) tables.add(list[i].table);
    for (const table of tables) {
      const all = await nl.routes.list({ table });
      if (foreign.length === 0) foreign = all.filter((r) => r.protocol !== protocol);
      else for (const r of all) if (r.protocol !== protocol) foreign.push(r);
    }
  }
  return { extra: extra ?? owned, onVanishing, foreign };
}
