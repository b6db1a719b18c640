/**
 * Stable ids for named nexthops.
 *
 * A nexthop object has no name in the kernel, only an id (1..2^32-1), and routes name it by
 * that id. A desired nexthop given a name instead gets an id derived from the owner and the
 * name: candidate k of name N is
 *
 *   NAMED_NEXTHOP_ID_BASE + (fnv1a32("<protocol>/<owner>/<N>") + k) mod NAMED_NEXTHOP_ID_SPAN
 *
 * so every restart, and every host with the same owner, computes the same id, with nothing
 * stored anywhere. Candidate 0 is taken unless it is unavailable: the id of an explicitly
 * desired nexthop, one already given to another name in this plan, or the id of another
 * owner's nexthop in the kernel. Before that, a name keeps an id of its first few candidates
 * that already holds exactly its nexthop (ours): an id taken over from a colliding name or a
 * foreign nexthop that later went away is not renumbered. With 2^28 candidates, two names of
 * one owner share candidate 0 with a chance of about n^2 / 2^29 (10^-4 for 500 names).
 */

/** First id given to named nexthops (2^28). */
export const NAMED_NEXTHOP_ID_BASE = 0x10000000;
/** How many ids named nexthops use: 0x10000000..0x1fffffff. */
export const NAMED_NEXTHOP_ID_SPAN = 0x10000000;
/** How many candidates of a name are searched for its existing nexthop before the first free one is taken. */
const STICKY_CANDIDATES = 8;

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Candidate k of a name for an owner (see the module comment). */
export function namedNexthopCandidate(protocol: number, owner: string, name: string, k: number): number {
  return NAMED_NEXTHOP_ID_BASE + ((fnv1a32(`${protocol}/${owner}/${name}`) + k) % NAMED_NEXTHOP_ID_SPAN);
}

/** What the kernel has on a candidate id, for the allocation. */
export type IdHolder = 'free' | 'foreign' | 'ours-equal' | 'ours-different';

/**
 * Gives every name an id. names are in a fixed order (the caller sorts); taken holds the
 * explicitly desired ids; holder(name, id, given) says what the kernel has on that id for that
 * name (given: the ids named so far, for a group's members).
 * Deterministic for a given desired state and kernel.
 */
export function allocateNamedIds(
  protocol: number,
  owner: string,
  names: readonly string[],
  taken: ReadonlySet<number>,
  holder: (name: string, id: number, given: ReadonlyMap<string, number>) => IdHolder,
): Map<string, number> {
  const out = new Map<string, number>();
  const claimed = new Set<number>(taken);
  // First pass: a name whose nexthop is already there (ours, equal) on one of its first
  // candidates keeps that id.
  for (const name of names) {
    for (let k = 0; k < STICKY_CANDIDATES; k++) {
      const id = namedNexthopCandidate(protocol, owner, name, k);
      if (claimed.has(id)) continue;
      if (holder(name, id, out) === 'ours-equal') {
        out.set(name, id);
        claimed.add(id);
        break;
      }
    }
  }
  // Second pass: the first candidate neither claimed nor another owner's.
  for (const name of names) {
    if (out.has(name)) continue;
    for (let k = 0; ; k++) {
      const id = namedNexthopCandidate(protocol, owner, name, k);
      if (claimed.has(id) || holder(name, id, out) === 'foreign') continue;
      out.set(name, id);
      claimed.add(id);
      break;
    }
  }
  return out;
}

/**
 * The named nexthops of one desired state, shared between the nexthop kind (which declares
 * the names while preparing and gives them ids in each plan) and the kinds that refer to them
 * by name (routes). Made once per prepared desired state.
 */
export class NexthopIds {
  /** Names declared by desired nexthops -> whether it is a group, an FDB nexthop, a blackhole
   * (for a group: whether its one member is). */
  readonly declared = new Map<string, { group: boolean; fdb: boolean; blackhole: boolean }>();
  /** Explicit ids of desired nexthops -> the same facts. */
  readonly explicit = new Map<number, { group: boolean; fdb: boolean; blackhole: boolean }>();
  private ids = new Map<string, number>();
  /** Ids the current plan deletes and adds again (routes on them go with the old one). */
  recreated: ReadonlySet<number> = new Set();
  /** Whether the current plan has given ids (the nexthop kind ran). */
  planned = false;

  /** The id of a name in the current plan (undefined before the nexthop kind planned). */
  id(name: string): number | undefined {
    return this.ids.get(name);
  }

  /** Called by the nexthop kind for each plan. */
  set(ids: Map<string, number>, recreated: ReadonlySet<number>): void {
    this.ids = ids;
    this.recreated = recreated;
    this.planned = true;
  }
}
