/**
 * The nexthop kind's vocabulary: a desired nexthop object (by explicit id, or by a name the
 * reconciler gives a stable id), its ops and its conflicts.
 */
import type { NexthopGroupSpec, NexthopObject, NexthopObjectSpec, SingleNexthopSpec } from '../../../rtnl/nexthop/types';

/** How a desired nexthop is identified: an explicit id, a name (the reconciler allocates the
 * id, see the README's "Nexthop ids"), or both (the name then refers to the explicit id). */
export type DesiredNexthopIdentity = { id: number; name?: string } | { name: string; id?: undefined };

/** A member of a desired group: a desired nexthop by id or by name. */
export type DesiredNexthopMember = { id: number; weight?: number; nexthop?: undefined } | { nexthop: string; weight?: number; id?: undefined };

/** A desired single nexthop: as nexthops.add() takes it, without protocol (the owner's is
 * added), identified by id or name. */
export type DesiredSingleNexthop = Omit<SingleNexthopSpec, 'id' | 'protocol'> & DesiredNexthopIdentity;

/** A desired nexthop group: members are desired single nexthops, by id or by name. */
export type DesiredNexthopGroup = Omit<NexthopGroupSpec, 'id' | 'protocol' | 'group'> & DesiredNexthopIdentity & { group: DesiredNexthopMember[] };

/**
 * A nexthop object in a DesiredState.
 *
 * @example
 * ```ts
 * const desired = {
 *   nexthops: [
 *     { name: 'node-7', via: '10.57.0.7', dev: 'eth0', onlink: true },
 *     { name: 'node-8', via: '10.57.0.8', dev: 'eth0', onlink: true },
 *     { name: 'both', group: [{ nexthop: 'node-7' }, { nexthop: 'node-8', weight: 2 }] },
 *   ],
 *   routes: [{ dst: '10.244.7.0/24', nexthop: 'node-7' }, { dst: '10.244.0.0/16', nexthop: 'both' }],
 * };
 * ```
 */
export type DesiredNexthop = DesiredSingleNexthop | DesiredNexthopGroup;

/** A nexthop key for a person: "node-7 (id 268501234)" or "id 5". */
export type NexthopKey = string;

/**
 * An op on a nexthop object. desired is what is sent (ids resolved, the owner's protocol
 * added at apply); actual what the kernel has. update is a replace (NLM_F_REPLACE: routes on it
 * stay and follow); recreate is delete and add, for what the kernel cannot replace (a single
 * nexthop becoming a group, a group's type or bucket count, the fdb flag); the kernel removes
 * the routes on the old one, and the route kind re-adds them in the same apply.
 */
export type NexthopOp =
  | { readonly kind: 'nexthop'; action: 'create'; key: NexthopKey; reason: string; desired: NexthopObjectSpec; actual?: undefined; adopt?: undefined }
  | { readonly kind: 'nexthop'; action: 'update'; key: NexthopKey; reason: string; desired: NexthopObjectSpec; actual: NexthopObject; adopt?: boolean }
  | { readonly kind: 'nexthop'; action: 'recreate'; key: NexthopKey; reason: string; desired: NexthopObjectSpec; actual: NexthopObject; adopt?: boolean }
  | { readonly kind: 'nexthop'; action: 'delete'; key: NexthopKey; reason: string; desired?: undefined; actual: NexthopObject; adopt?: undefined };

/** A desired nexthop left alone: a nexthop of another owner holds its id, or its device is another owner's link. */
export interface NexthopConflict {
  /** Which kind of object. */
  readonly kind: 'nexthop';
  /** The nexthop's key for a person. */
  key: NexthopKey;
  /** Why it was left alone. */
  reason: string;
  /** What was wanted (ids resolved). */
  desired: NexthopObjectSpec;
  /** The foreign nexthop on the id; undefined when the id is free but the device is another owner's. */
  actual: NexthopObject | undefined;
}
