/**
 * Names for the numbers in route and neighbour headers, as iproute2 spells them
 * (/etc/iproute2/rt_tables, rt_protos, rt_scopes). Numbers pass through unchanged.
 */
import * as C from './constants';
import type { NudStateName, OperState, ProtocolName, RouteTypeName, ScopeName, TableName } from './types';

/** Routing table numbers by name (rt_tables). */
export const TABLES: Record<TableName, number> = { main: C.RT_TABLE_MAIN, local: C.RT_TABLE_LOCAL, default: C.RT_TABLE_DEFAULT };

/** Route protocol (owner) numbers by name (rt_protos). */
export const PROTOCOLS: Record<ProtocolName, number> = {
  redirect: C.RTPROT_REDIRECT,
  kernel: C.RTPROT_KERNEL,
  boot: C.RTPROT_BOOT,
  static: C.RTPROT_STATIC,
  ra: C.RTPROT_RA,
  dhcp: C.RTPROT_DHCP,
  bgp: C.RTPROT_BGP,
  bird: C.RTPROT_BIRD,
  babel: C.RTPROT_BABEL,
  ospf: C.RTPROT_OSPF,
};

/** Scope numbers by name (rt_scopes). */
export const SCOPES: Record<ScopeName, number> = {
  universe: C.RT_SCOPE_UNIVERSE,
  site: C.RT_SCOPE_SITE,
  link: C.RT_SCOPE_LINK,
  host: C.RT_SCOPE_HOST,
  nowhere: C.RT_SCOPE_NOWHERE,
};

/** Route type numbers (RTN_*) by name. */
export const ROUTE_TYPES: Record<RouteTypeName, number> = {
  unicast: C.RTN_UNICAST,
  local: C.RTN_LOCAL,
  broadcast: C.RTN_BROADCAST,
  anycast: C.RTN_ANYCAST,
  multicast: C.RTN_MULTICAST,
  blackhole: C.RTN_BLACKHOLE,
  unreachable: C.RTN_UNREACHABLE,
  prohibit: C.RTN_PROHIBIT,
  throw: C.RTN_THROW,
  nat: C.RTN_NAT,
};

/** Neighbour state bits (NUD_*) by name; 'none' is 0. */
export const NUD_STATES: Record<NudStateName, number> = {
  incomplete: C.NUD_INCOMPLETE,
  reachable: C.NUD_REACHABLE,
  stale: C.NUD_STALE,
  delay: C.NUD_DELAY,
  probe: C.NUD_PROBE,
  failed: C.NUD_FAILED,
  noarp: C.NUD_NOARP,
  permanent: C.NUD_PERMANENT,
  none: C.NUD_NONE,
};

/** IFLA_OPERSTATE values by number (index = IF_OPER_*). */
export const OPER_STATES: OperState[] = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

function invert<K extends string>(m: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(m).map(([k, v]) => [v as number, k as K]));
}
const routeTypeNames = invert(ROUTE_TYPES);

/** A route type number as its name (unknown numbers stay numbers). */
export function routeTypeName(n: number): RouteTypeName | number {
  return routeTypeNames.get(n) ?? n;
}

/**
 * The names of the NUD_* bits set in `state`, e.g. 0x80 -> ['permanent']; 0 is ['none'].
 * Unknown bits are left out. Never throws.
 */
export function nudStateNames(state: number): NudStateName[] {
  if (state === 0) return ['none'];
  const out: NudStateName[] = [];
  for (const [name, bit] of Object.entries(NUD_STATES) as Array<[NudStateName, number]>) {
    if (bit !== 0 && state & bit) out.push(name);
  }
  return out;
}

/** Resolves a name or number; undefined when a name is unknown (validation reports it). */
export function lookup<K extends string>(table: Record<K, number>, v: number | string): number | undefined {
  if (typeof v === 'number') return v;
  return Object.prototype.hasOwnProperty.call(table, v) ? table[v as K] : undefined;
}
