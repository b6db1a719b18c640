/** Sending the route kind's ops: each action as one pipelined batch. */
import type { Rtnl } from '../../../rtnl/rtnl';
import type { Route, RouteSpec } from '../../../rtnl/types';
import type { KindContext, Outcome } from '../../engine/kind';
import { collect } from '../../engine/outcome';
import type { RouteOp } from './types';

/** Applies one stage's route ops. Desired specs carry no protocol (prepare refuses another
 * one): the batch adds the owner's. */
export async function applyRoutes(nl: Rtnl, ops: readonly RouteOp[], ctx: KindContext, out: Outcome<RouteOp>): Promise<void> {
  const created: RouteOp[] = [];
  const createSpecs: RouteSpec[] = [];
  const changed: RouteOp[] = [];
  const changeSpecs: RouteSpec[] = [];
  const deleted: RouteOp[] = [];
  const deleteRoutes: Route[] = [];
  for (const op of ops) {
    switch (op.action) {
      case 'create':
        created.push(op);
        createSpecs.push(op.desired);
        break;
      case 'update':
        changed.push(op);
        changeSpecs.push(op.desired);
        break;
      case 'delete':
        deleted.push(op);
        deleteRoutes.push(op.actual);
        break;
    }
  }
  const protocol = ctx.owner.protocol;
  if (created.length) collect(created, await nl.routes.addMany(createSpecs, { validated: true, protocol }), out);
  if (changed.length) collect(changed, await nl.routes.addMany(changeSpecs, { replace: true, validated: true, protocol }), out);
  if (deleted.length) collect(deleted, await nl.routes.delMany(deleteRoutes), out);
}
