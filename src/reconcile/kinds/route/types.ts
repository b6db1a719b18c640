/** The route kind's ops and conflicts. */
import type { Route, RouteSpec } from '../../../rtnl/types';
import type { ConflictOf, EntryOp } from '../../engine/ops';

/** An op on a route (desired: a RouteSpec; actual: a Route as read back). */
export type RouteOp = EntryOp<'route', RouteSpec, Route>;

/** A desired route left alone: a route of another protocol holds its key, or its device is another owner's link. */
export type RouteConflict = ConflictOf<'route', RouteSpec, Route>;
