/** The FDB kind's ops and conflicts. */
import type { FdbEntry, FdbSpec } from '../../../rtnl/types';
import type { ConflictOf, EntryOp } from '../../engine/ops';

/** An op on an FDB entry (desired: a FdbSpec; actual: a FdbEntry as read back). */
export type FdbOp = EntryOp<'fdb', FdbSpec, FdbEntry>;

/** A desired FDB entry left alone: another owner holds its key or its device. */
export type FdbConflict = ConflictOf<'fdb', FdbSpec, FdbEntry>;
