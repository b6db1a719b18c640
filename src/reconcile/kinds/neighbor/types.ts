/** The neighbour kind's ops and conflicts. */
import type { Neighbor, NeighborSpec } from '../../../rtnl/types';
import type { ConflictOf, EntryOp } from '../../engine/ops';

/** An op on a neighbour entry (desired: a NeighborSpec; actual: a Neighbor as read back). */
export type NeighborOp = EntryOp<'neighbor', NeighborSpec, Neighbor>;

/** A desired neighbour entry left alone: another owner holds its key or its device. */
export type NeighborConflict = ConflictOf<'neighbor', NeighborSpec, Neighbor>;
