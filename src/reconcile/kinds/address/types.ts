/** The address kind's ops and conflicts. */
import type { Address, AddressSpec } from '../../../rtnl/types';
import type { ConflictOf, EntryOp } from '../../engine/ops';

/** An op on an address (desired: an AddressSpec; actual: an Address as read back). */
export type AddressOp = EntryOp<'address', AddressSpec, Address>;

/** A desired address left alone: another owner holds its key or its device. */
export type AddressConflict = ConflictOf<'address', AddressSpec, Address>;
