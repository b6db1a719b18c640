/**
 * Executing a plan: stage by stage, each stage's ops of one kind sent by that kind as one
 * pipelined batch. Every op gets an outcome; a failure does not stop unrelated ops.
 */
import type { Rtnl } from '../../rtnl/rtnl';
import type { Op } from '../types';
import type { KindContext, Outcome } from './kind';
import { stageOf } from './plan';
import { LINKS, ON_LINKS } from './registry';

function isLinkOp(op: Op): op is Extract<Op, { kind: 'link' }> {
  return op.kind === 'link';
}

/** Runs the ops of one stage, kind by kind in registration order. */
async function applyStage(nl: Rtnl, ops: readonly Op[], ctx: KindContext, out: Outcome<Op>): Promise<void> {
  const links = ops.filter(isLinkOp);
  if (links.length) {
    const done: Outcome<Extract<Op, { kind: 'link' }>> = { applied: [], failed: [] };
    await LINKS.apply(nl, links, ctx, done);
    out.applied.push(...done.applied);
    out.failed.push(...done.failed);
  }
  for (const k of ON_LINKS) await k.apply(nl, ops, ctx, out);
}

/** Applies ops in stage order. Ops on an object whose link failed to appear still run (and
 * fail on their own, reported), so the result names every op that did not happen. */
export async function applyOps(nl: Rtnl, ops: Op[], ctx: KindContext): Promise<Outcome<Op>> {
  const out: Outcome<Op> = { applied: [], failed: [] };
  // A plan's ops are in stage order (ReconcilePlan): each run of one stage is a stage.
  for (let start = 0; start < ops.length; ) {
    const s = stageOf(ops[start]);
    let end = start + 1;
    while (end < ops.length && stageOf(ops[end]) === s) end++;
    if (end < ops.length && stageOf(ops[end]) < s) throw new Error('applyOps: ops are not in stage order');
    await applyStage(nl, start === 0 && end === ops.length ? ops : ops.slice(start, end), ctx, out);
    start = end;
  }
  return out;
}
