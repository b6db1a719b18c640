/**
 * The routing tables of one namespace (both families): entries, their order, and the kernel's
 * rules for inserting (NLM_F_EXCL / REPLACE / APPEND / prepend; IPv6 ECMP siblings), deleting
 * (what an unset field matches) and looking up (longest prefix through the local, main and
 * default tables, as the default policy rules do).
 */
import { RTNH_F_DEAD, RTNH_F_LINKDOWN, RTNH_F_ONLINK, RTN_BLACKHOLE, RTN_LOCAL, RTN_PROHIBIT, RTN_THROW, RTN_UNREACHABLE, RT_SCOPE_HOST, RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN } from '../rtnl/constants';
import type { Device } from './device';
import { E, fail, inPrefix, sameBytes } from './message';
import type { NsState } from './state';

/** One path of a route. */
export interface Nexthop {
  dev: Device | undefined;
  gw: Buffer | undefined;
  /** 1..256. */
  weight: number;
  /** RTNH_F_ONLINK and RTNH_F_DEAD (an IPv4 multipath path whose device went down). */
  flags: number;
}

/** One route (a fib alias / fib6_info). */
export interface RouteEntry {
  family: 4 | 6;
  table: number;
  /** Masked destination. */
  dst: Buffer;
  len: number;
  tos: number;
  /** RTA_PRIORITY (IPv6: 1024 when not given). */
  metric: number;
  protocol: number;
  scope: number;
  type: number;
  prefsrc: Buffer | undefined;
  /** RTAX_* values (RTA_METRICS). */
  metrics: Map<number, number>;
  nhs: Nexthop[];
  /** Reported as RTA_MULTIPATH (several paths, or one given that way). */
  multipath: boolean;
  /** IPv6 RTA_PREF (router preference; 0 = medium). */
  pref: number;
  /** Added by the kernel for an address (so removing that address removes it). */
  kernel?: 'ifaddr' | 'addrconf';
}

/** Route types that carry no next hop (fib_props[].error). */
export function isRejectType(type: number): boolean {
  return type === RTN_BLACKHOLE || type === RTN_UNREACHABLE || type === RTN_PROHIBIT || type === RTN_THROW;
}

function sameMetrics(a: Map<number, number>, b: Map<number, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function sameNexthops(a: Nexthop[], b: Nexthop[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.dev !== y.dev || !sameBytes(x.gw, y.gw) || x.weight !== y.weight || (x.flags & RTNH_F_ONLINK) !== (y.flags & RTNH_F_ONLINK)) return false;
  }
  return true;
}

/** fib_info equality: the same route in everything but its place. */
export function sameInfo(a: RouteEntry, b: RouteEntry): boolean {
  return (
    a.type === b.type &&
    a.protocol === b.protocol &&
    a.scope === b.scope &&
    a.metric === b.metric &&
    sameBytes(a.prefsrc, b.prefsrc) &&
    sameMetrics(a.metrics, b.metrics) &&
    sameNexthops(a.nhs, b.nhs)
  );
}

/** What a delete request names (0/undefined: matches anything). */
export interface RouteMatch {
  family: 4 | 6;
  table: number;
  dst: Buffer;
  len: number;
  tos: number;
  metric: number;
  protocol: number;
  /** RT_SCOPE_NOWHERE (255) matches any. */
  scope: number;
  type: number;
  prefsrc: Buffer | undefined;
  oif: number;
  gw: Buffer | undefined;
  /** RTA_MULTIPATH paths to match, if given. */
  nhs: Nexthop[] | undefined;
  metrics: Map<number, number>;
}

/** The per-request outcome of an insert: what to announce. */
export interface InsertResult {
  /** The entry to announce with RTM_NEWROUTE, or undefined when nothing changed. */
  announce: RouteEntry | undefined;
  /** NLM_F_* of the announcement (NLM_F_REPLACE for a replace...). */
  nlflags: number;
  /** Entries replaced (gone). */
  replaced: RouteEntry[];
}

/** The tables of both families. Tables appear on first use and stay, as in the kernel. */
export class RouteStore {
  private readonly tables = [new Map<number, RouteEntry[]>(), new Map<number, RouteEntry[]>()];

  constructor(private readonly ns: NsState) {
    // IPv6's main and local tables exist from the start (fib6_net_init); IPv4's appear on first
    // insert, which is why an onlink route fails in a namespace that never had a local route.
    this.tables[1].set(RT_TABLE_MAIN, []);
    this.tables[1].set(RT_TABLE_LOCAL, []);
  }

  private fam(family: 4 | 6): Map<number, RouteEntry[]> {
    return this.tables[family === 4 ? 0 : 1];
  }

  /** The table if it exists. */
  table(family: 4 | 6, id: number): RouteEntry[] | undefined {
    return this.fam(family).get(id);
  }

  /** fib_new_table() / fib6_new_table(). */
  ensureTable(family: 4 | 6, id: number): RouteEntry[] {
    let t = this.fam(family).get(id);
    if (!t) this.fam(family).set(id, (t = []));
    return t;
  }

  /** Table ids of a family in dump order (the kernel's hash order: id mod 256, ascending). */
  tableIds(family: 4 | 6): number[] {
    return [...this.fam(family).keys()].sort((a, b) => (a & 255) - (b & 255) || a - b);
  }

  /** Every route of a family in a table, in the kernel's dump order: prefix ascending, and for
   * one address the longer prefix first; aliases of one prefix in their list order. */
  sorted(family: 4 | 6, id: number): RouteEntry[] {
    const t = this.fam(family).get(id);
    if (!t) return [];
    const idx = new Map<RouteEntry, number>();
    t.forEach((r, i) => idx.set(r, i));
    return [...t].sort((a, b) => Buffer.compare(a.dst, b.dst) || b.len - a.len || idx.get(a)! - idx.get(b)!);
  }

  /** Every route of a family, all tables. */
  all(family: 4 | 6): RouteEntry[] {
    const out: RouteEntry[] = [];
    for (const t of this.fam(family).values()) out.push(...t);
    return out;
  }

  /** Removes entries matching `pred` from every table of a family; returns them. */
  removeWhere(family: 4 | 6, pred: (r: RouteEntry) => boolean): RouteEntry[] {
    const out: RouteEntry[] = [];
    for (const t of this.fam(family).values()) {
      for (let i = t.length - 1; i >= 0; i--) {
        if (pred(t[i])) out.unshift(...t.splice(i, 1));
      }
    }
    return out;
  }

  /** Removes one entry; returns whether it was there. */
  remove(r: RouteEntry): boolean {
    const t = this.fam(r.family).get(r.table);
    const i = t ? t.indexOf(r) : -1;
    if (i < 0) return false;
    t!.splice(i, 1);
    return true;
  }

  /**
   * fib_table_insert() (IPv4) / fib6_add_rt2node() (IPv6) for a validated entry and the
   * request's NLM_F_* flags. Throws KernelError (EEXIST, ENOENT, ...).
   */
  insert(r: RouteEntry, flags: { excl: boolean; replace: boolean; append: boolean; create: boolean }): InsertResult {
    const t = this.ensureTable(r.family, r.table);
    return r.family === 4 ? this.insert4(t, r, flags) : this.insert6(t, r, flags);
  }

  private group(t: RouteEntry[], r: { dst: Buffer; len: number }): number[] {
    const out: number[] = [];
    for (let i = 0; i < t.length; i++) if (t[i].len === r.len && sameBytes(t[i].dst, r.dst)) out.push(i);
    return out;
  }

  private insert4(t: RouteEntry[], r: RouteEntry, f: { excl: boolean; replace: boolean; append: boolean; create: boolean }): InsertResult {
    const g = this.group(t, r);
    // Aliases of one prefix are ordered by tos (descending), then priority (ascending).
    const sameKey = g.filter((i) => t[i].tos === r.tos && t[i].metric === r.metric);
    if (sameKey.length) {
      if (f.excl) fail(E.EEXIST);
      const match = sameKey.find((i) => sameInfo(t[i], r));
      if (f.replace) {
        if (match !== undefined) {
          if (match === sameKey[0]) return { announce: undefined, nlflags: 0, replaced: [] };
          fail(E.EEXIST);
        }
        const old = t[sameKey[0]];
        t[sameKey[0]] = r;
        return { announce: r, nlflags: 0x100 /* NLM_F_REPLACE */, replaced: [old] };
      }
      if (match !== undefined) fail(E.EEXIST);
      if (!f.create) fail(E.ENOENT);
      const at = f.append ? sameKey[sameKey.length - 1] + 1 : sameKey[0];
      t.splice(at, 0, r);
      return { announce: r, nlflags: 0x400 | (f.append ? 0x800 : 0), replaced: [] };
    }
    if (!f.create) fail(E.ENOENT);
    // Before the first alias that sorts after it (lower tos, or same tos and higher priority).
    let at = g.length ? g[g.length - 1] + 1 : t.length;
    for (const i of g) {
      if (t[i].tos < r.tos || (t[i].tos === r.tos && t[i].metric > r.metric)) {
        at = i;
        break;
      }
    }
    t.splice(at, 0, r);
    return { announce: r, nlflags: 0x400 | 0x200, replaced: [] };
  }

  private insert6(t: RouteEntry[], r: RouteEntry, f: { excl: boolean; replace: boolean; append: boolean; create: boolean }): InsertResult {
    const g = this.group(t, r);
    const ecmp = (x: RouteEntry) => x.kernel !== 'addrconf' && x.nhs.length > 0 && x.nhs[0].gw !== undefined && !isRejectType(x.type);
    const same = g.filter((i) => t[i].metric === r.metric);
    if (same.length && f.excl) fail(E.EEXIST);
    if (f.replace) {
      const target = same.find((i) => ecmp(t[i]) === ecmp(r)) ?? same[0];
      if (target === undefined) {
        if (!f.create) fail(E.ENOENT, 'Can not replace route - no match found');
      } else {
        const old = t[target];
        t[target] = r;
        return { announce: r, nlflags: 0x100, replaced: [old] };
      }
    } else {
      for (const i of same) {
        const x = t[i];
        // A path it already has is a duplicate.
        if (r.nhs.every((nh) => x.nhs.some((y) => y.dev === nh.dev && sameBytes(y.gw, nh.gw)))) fail(E.EEXIST);
      }
      const sib = same.find((i) => ecmp(t[i]) && ecmp(r));
      if (sib !== undefined) {
        // Same destination and metric, another gateway: an alternative path (ECMP sibling).
        const x = t[sib];
        x.nhs.push(...r.nhs);
        x.multipath = true;
        return { announce: x, nlflags: 0x400 | 0x800, replaced: [] };
      }
    }
    let at = g.length ? g[g.length - 1] + 1 : t.length;
    for (const i of g) {
      if (t[i].metric > r.metric) {
        at = i;
        break;
      }
    }
    t.splice(at, 0, r);
    return { announce: r, nlflags: 0x400 | (same.length ? 0 : 0x200), replaced: [] };
  }

  /**
   * fib_table_delete() / ip6_route_del(): the first entry the request matches. For IPv6 with a
   * gateway, only that path of a multipath route goes. Returns the removed entry and, when only
   * a path went, the entry that stays. Throws ESRCH when nothing matches.
   */
  delete(m: RouteMatch): { removed: RouteEntry; remaining?: RouteEntry } {
    const t = this.fam(m.family).get(m.table);
    if (!t) fail(E.ESRCH, m.family === 6 ? 'FIB table does not exist' : undefined);
    for (const i of this.group(t, m)) {
      const r = t[i];
      if (m.family === 4) {
        if (r.tos !== m.tos) continue;
        if (m.type && r.type !== m.type) continue;
        if (m.scope !== 255 && r.scope !== m.scope) continue;
        if (m.prefsrc && !sameBytes(r.prefsrc, m.prefsrc)) continue;
        if (m.protocol && r.protocol !== m.protocol) continue;
        if (m.metric && r.metric !== m.metric) continue;
        if (!nhMatch4(r, m)) continue;
        let ok = true;
        for (const [k, v] of m.metrics) if (r.metrics.get(k) !== v) ok = false;
        if (!ok) continue;
        t.splice(i, 1);
        return { removed: r };
      }
      if (m.metric && r.metric !== m.metric) continue;
      if (m.protocol && r.protocol !== m.protocol) continue;
      const paths = r.nhs.filter((nh) => (!m.oif || nh.dev?.index === m.oif) && (!m.gw || sameBytes(nh.gw, m.gw)));
      if (!paths.length) continue;
      if (m.gw && r.nhs.length > 1) {
        const nh = paths[0];
        r.nhs.splice(r.nhs.indexOf(nh), 1);
        const removed: RouteEntry = { ...r, nhs: [nh], multipath: false };
        if (r.nhs.length === 1) r.multipath = false;
        return { removed, remaining: r };
      }
      t.splice(i, 1);
      return { removed: r };
    }
    fail(E.ESRCH);
  }

  /**
   * The route a packet to `addr` takes: the longest prefix, then the lowest metric, through the
   * local, main and default tables (the default policy rules), or only `tableId` when given.
   * `oif` restricts to paths through that device; `minScope` skips IPv4 routes of a narrower
   * scope (fib lookups for gateways want scope link or host). Reject routes match too.
   */
  lookup(family: 4 | 6, addr: Buffer, opts: { tableId?: number; oif?: number; minScope?: number; skipDefault?: boolean } = {}): { route: RouteEntry; nh: Nexthop | undefined } | undefined {
    const ids = opts.tableId !== undefined ? [opts.tableId] : [RT_TABLE_LOCAL, RT_TABLE_MAIN, RT_TABLE_DEFAULT];
    for (const id of ids) {
      const t = this.fam(family).get(id);
      if (!t) continue;
      let best: { route: RouteEntry; nh: Nexthop | undefined } | undefined;
      for (const r of t) {
        if (!inPrefix(addr, r.dst, r.len)) continue;
        if (opts.skipDefault && r.len === 0) continue;
        if (opts.minScope !== undefined && family === 4 && r.scope < opts.minScope) continue;
        let nh: Nexthop | undefined = r.nhs.find((x) => !(x.flags & RTNH_F_DEAD));
        if (opts.oif) {
          nh = r.nhs.find((x) => x.dev?.index === opts.oif);
          if (!nh && !isRejectType(r.type)) continue;
        }
        if (!best || r.len > best.route.len || (r.len === best.route.len && r.metric < best.route.metric)) best = { route: r, nh };
      }
      if (best) return best;
    }
    return undefined;
  }

  /** The RTNH_F_* flags a path reports now (LINKDOWN follows the device's carrier). */
  nhFlags(nh: Nexthop, type: number): number {
    let f = nh.flags;
    if (nh.dev && type !== RTN_LOCAL && !nh.dev.carrier && !(nh.dev.flags & 0x8)) f |= RTNH_F_LINKDOWN;
    if (f & RTNH_F_DEAD) f |= RTNH_F_LINKDOWN;
    return f;
  }

  /** The namespace (for callers holding only the store). */
  get owner(): NsState {
    return this.ns;
  }
}

function nhMatch4(r: RouteEntry, m: RouteMatch): boolean {
  if (m.nhs) {
    if (m.nhs.length !== r.nhs.length) return false;
    return m.nhs.every((x, i) => (!x.dev || x.dev === r.nhs[i].dev) && (!x.gw || sameBytes(x.gw, r.nhs[i].gw)));
  }
  if (!m.oif && !m.gw) return true;
  if (r.nhs.length !== 1) return false;
  const nh = r.nhs[0];
  if (m.oif && nh.dev?.index !== m.oif) return false;
  if (m.gw && !sameBytes(nh.gw, m.gw)) return false;
  return true;
}

/** The scope of a route's own nexthop, for flushing on link down: host-scope routes (local
 * addresses) survive a device going down; the others through it go. */
export function survivesDown(r: RouteEntry): boolean {
  return r.family === 4 && r.scope === RT_SCOPE_HOST && r.type === RTN_LOCAL;
}
