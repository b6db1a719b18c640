/**
 * Reading the kernel for one reconcile: only what the desired state and the ownership rules
 * can touch, with kernel-side filtered dumps where the kernel offers them.
 */
import type { Rtnl } from '../rtnl/rtnl';
import type { Address, FdbEntry, Link, Neighbor, Route } from '../rtnl/types';
import type { PreparedState } from './prepare';

export interface Observed {
  links: Link[];
  byName: Map<string, Link>;
  byIndex: Map<number, Link>;
  /** Links this reconciler manages: desired ones that exist, and ones marked with its alias. */
  managed: Set<number>;
  addresses: Address[];
  fdb: FdbEntry[];
  neighbors: Neighbor[];
}

/** Reads links, then everything on the links that matter. The reconciler's routes are read
 * after the link diff, by observeRoutes() (routescan.ts), which needs to know which links go. */
export async function observe(nl: Rtnl, desired: PreparedState, ownerAlias: string): Promise<Observed> {
  const links = await nl.links.list();
  const byName = new Map<string, Link>();
  const byIndex = new Map<number, Link>();
  for (const l of links) {
    byName.set(l.name, l);
    byIndex.set(l.index, l);
  }
  const managed = new Set<number>();
  for (const d of desired.links) {
    const l = byName.get(d.spec.name);
    if (l) managed.add(l.index);
  }
  for (const l of links) if (l.alias === ownerAlias) managed.add(l.index);

  // Devices whose entries we read: managed links plus any device a desired entry is on.
  const index = (ref: string | number) => (typeof ref === 'number' ? (byIndex.has(ref) ? ref : undefined) : byName.get(ref)?.index);
  const entryDevices = (refs: Array<string | number>) => {
    const set = new Set<number>(managed);
    for (const r of refs) {
      const i = index(r);
      if (i !== undefined) set.add(i);
    }
    return set;
  };

  const addrDevs = entryDevices(desired.addresses.map((a) => a.dev));
  const addresses = addrDevs.size ? (await nl.addresses.list()).filter((a) => addrDevs.has(a.index)) : [];

  const neighDevs = entryDevices(desired.neighbors.map((n) => n.dev));
  const neighbors = neighDevs.size ? (await nl.neighbors.list()).filter((n) => neighDevs.has(n.index)) : [];

  // FDB: one filtered dump per device (a full dump lists every port's multicast entries too).
  const fdbDevs = entryDevices(desired.fdb.map((f) => f.dev));
  const fdb: FdbEntry[] = [];
  for (const i of fdbDevs) {
    const l = byIndex.get(i);
    if (!l || (l.kind !== 'vxlan' && !desired.fdb.some((f) => index(f.dev) === i))) continue;
    fdb.push(...(await nl.fdb.list({ dev: i })));
  }

  return { links, byName, byIndex, managed, addresses, fdb, neighbors };
}

/** All routes of other protocols in the given tables (read only when a desired key is missing). */
export async function observeForeignRoutes(nl: Rtnl, tables: Set<number>, protocol: number): Promise<Route[]> {
  const out: Route[] = [];
  for (const table of tables) {
    for (const r of await nl.routes.list({ table })) if (r.protocol !== protocol) out.push(r);
  }
  return out;
}
