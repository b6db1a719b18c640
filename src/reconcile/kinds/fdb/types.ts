/** The FDB kind's ops and conflicts. */
import type { FdbEntry, FdbSpec } from '../../../rtnl/types';
import type { ConflictOf, EntryOp } from '../../engine/ops';

/** A desired FDB entry on a named desired FDB nexthop group (vxlan): everything an FdbSpec has
 * but the remote (dst, vni, port, nhid), which is the group's; the reconciler sends its id. */
export type NamedNexthopFdb = Omit<FdbSpec, 'dst' | 'vni' | 'port' | 'nhid'> & {
  /** The name of a desired FDB nexthop group (DesiredState.nexthops[].name, fdb: true). */
  nexthop: string;
};

/**
 * An op on an FDB entry (desired: a FdbSpec; actual: a FdbEntry as read back). recreate is
 * delete and add, for a unicast MAC whose entry changes between a dst and an nhid (the vxlan
 * driver replaces neither with the other).
 */
export type FdbOp =
  | EntryOp<'fdb', FdbSpec, FdbEntry>
  | { readonly kind: 'fdb'; action: 'recreate'; key: string; reason: string; desired: FdbSpec; actual: FdbEntry; adopt?: undefined };

/** A desired FDB entry left alone: another owner holds its key or its device. */
export type FdbConflict = ConflictOf<'fdb', FdbSpec, FdbEntry>;
