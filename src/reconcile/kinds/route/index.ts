/**
 * The route kind: routes owned by the reconciler's route protocol. Keyed by (table, family,
 * dst, tos, metric); read with one kernel-filtered dump of the owner's protocol, settled on the
 * numbers of the messages in the steady state; a route of another protocol on a desired key
 * is a conflict.
 */
import type { KindModule } from '../../engine/kind';
import { applyRoutes } from './apply';
import { diffRoutes } from './diff';
import { observeRoutes, type ObservedRoutes } from './observe';
import { patchRoutes, prepareRoutes, type PreparedRoutes } from './prepare';
import { isFrozenRouteSpec, scopedRoutes } from './scoped';
import { isObject, own } from '../../../values/problems';
import type { RouteConflict, RouteOp } from './types';

/** The types the route kind works with. */
export interface RouteTypes {
  kind: 'route';
  field: 'routes';
  prepared: PreparedRoutes;
  observed: ObservedRoutes;
  op: RouteOp;
  conflict: RouteConflict;
  event: 'route';
}

/** Routes: after neighbours and FDB entries (a route's gateway may need them), deleted first. */
export const routeKind: KindModule<RouteTypes> = {
  kind: 'route',
  field: 'routes',
  stages: { create: 40, update: 40, recreate: 40, delete: 60 },
  event: 'route',
  prepare: prepareRoutes,
  patch: patchRoutes,
  observe: (nl, desired, view, ctx) => observeRoutes(nl, desired, view, ctx.owner.protocol),
  diff: diffRoutes,
  apply: applyRoutes,
  // Ours, or a foreign route landing on a desired key.
  relevant: (r, desired, _view, ctx) => r.protocol === ctx.owner.protocol || desired.index.findRoute(r) >= 0,
  count: (desired) => desired.list.length,
  scoped: scopedRoutes,
  // A route on a named nexthop gets the nexthop's id per state: never handed back.
  frozenSpec: (spec) => isObject(spec) && own(spec, 'nexthop') === undefined && isFrozenRouteSpec(spec),
};

