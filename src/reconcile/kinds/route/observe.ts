/**
 * What the route kind reads for one plan: its own routes (settling the equal ones while
 * reading, scan.ts), matched to the desired routes by key, and the routes of other protocols in
 * the tables where a desired key was not found among its own (a foreign route may hold it).
 */
import type { Rtnl } from '../../../rtnl/rtnl';
import type { Route } from '../../../rtnl/types';
import type { LinkView } from '../../engine/kind';
import type { PreparedRoutes } from './prepare';
import { scanOwnedRoutes } from './scan';

/** The route kind's read of the kernel, matched against the desired routes. */
export interface ObservedRoutes {
  /** Owned routes on no desired key, or a second one on a key: to delete (unless on another owner's link). */
  extra: Route[];
  /** Owned routes on links that go away in this plan: they go with the link, or are re-added. */
  onVanishing: Route[];
  /** Routes of other protocols in the tables where a desired key is free of ours. */
  foreign: Route[];
}

/** Reads the owned routes and, where needed, the foreign ones; matches them to the desired routes. */
export async function observeRoutes(nl: Rtnl, desired: PreparedRoutes, view: LinkView, protocol: number): Promise<ObservedRoutes> {
  const owned = await scanOwnedRoutes(nl, desired, view, protocol, desired.nexthopIds);
  const { index, list, marks } = desired;
  const extra: Route[] = [];
  const onVanishing: Route[] = [];
  for (let k = 0; k < owned.length; k++) {
    const r = owned[k];
    // Owned routes on a link that is deleted or recreated go with it, but only when the link
    // goes, which is after the route stage for a deletion: a desired route on the same key must
    // replace it, not be added next to it (EEXIST).
    if (r.dev !== undefined && view.vanishing.has(r.dev)) {
      onVanishing.push(r);
      continue;
    }
    const at = index.findRoute(r);
    if (at < 0 || !marks.take(at, r)) extra.push(r);
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
  return { extra, onVanishing, foreign };
}
