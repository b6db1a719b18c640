/** Sending the route kind's ops: each action as one pipelined batch. */
import type { Rtnl } from '../../../rtnl/rtnl';
import type { Route, RouteSpec } from '../../../rtnl/types';
import type { KindContext, Outcome } from '../../engine/kind';
import { collect } from '../../engine/outcome';
import type { RouteOp } from './types';

/** Applies one stage's route ops. Desired specs carry no protocol (prepare refuses another
 * one): the batch adds the owner's. */
export async function applyRoutes(nl: Rtnl, ops: readonly RouteOp[], ctx: KindContext, out: Outcome<RouteOp>): Promise<void> {
  const protocol = ctx.owner.protocol;
  // A big stage is usually one action (100k creates, or deletes): its ops are the batch's as
  // they are, and the specs go in an array made at its size, not grown a push at a time.
  const action = ops.length > 0 ? ops[0].action : undefined;
  let same = 1;
  while (same < ops.length && ops[same].action === action) same++;
  if (same === ops.length && action !== undefined) return sendAll(nl, ops, protocol, out);
  const created: RouteOp[] = [];
  const changed: RouteOp[] = [];
  const deleted: RouteOp[] = [];
  for (const op of ops) {
    if (op.action === 'create') created.push(op);
    else if (op.action === 'update') changed.push(op);
    else if (op.action === 'delete') deleted.push(op);
  }
  await sendAll(nl, created, protocol, out);
  await sendAll(nl, changed, protocol, out);
  await sendAll(nl, deleted, protocol, out);
}

/** Sends ops of one action as one batch. */
async function sendAll(nl: Rtnl, ops: readonly RouteOp[], protocol: number, out: Outcome<RouteOp>): Promise<void> {
  const n = ops.length;
  if (n === 0) return;
  if (ops[0].action === 'delete') {
    const routes = new Array<Route>(n);
    for (let i = 0; i < n; i++) {
      const op = ops[i];
      if (op.action === 'delete') routes[i] = op.actual;
    }
    // Routes as the kind's read decoded them: not checked again.
    return collect(ops, await nl.routes.delMany(routes, { validated: true }), out);
  }
  const specs = new Array<RouteSpec>(n);
  for (let i = 0; i < n; i++) {
    const op = ops[i];
    if (op.action !== 'delete') specs[i] = op.desired;
  }
  collect(ops, await nl.routes.addMany(specs, { replace: ops[0].action === 'update', validated: true, protocol }), out);
}
