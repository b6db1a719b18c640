/**
 * Executing a plan: stage by stage, each stage's ops of one kind sent by that kind as one
 * pipelined batch. Every op gets an outcome; a failure does not stop unrelated ops.
 */
import type { Rtnl } from '../../rtnl/rtnl';
import type { Op } from '../types';
import type { KindContext, Outcome, Outcomes } from './kind';
import { stageOf } from './plan';
import { LINKS, ON_LINKS } from './registry';

function isLinkOp(op: Op): op is Extract<Op, { kind: 'link' }> {
  return op.kind === 'link';
}

/** The kinds among a stage's ops, in one pass (a big stage is usually one kind: no set then). */
function kindsIn(ops: readonly Op[]): ReadonlySet<string> | string {
  const first = ops[0].kind;
  let i = 1;
  while (i < ops.length && ops[i].kind === first) i++;
  if (i === ops.length) return first;
  const kinds = new Set<string>([first]);
  for (; i < ops.length; i++) kinds.add(ops[i].kind);
  return kinds;
}

/** Runs the ops of one stage, kind by kind in registration order; each reports straight into out. */
async function applyStage(nl: Rtnl, ops: readonly Op[], ctx: KindContext, out: Outcome<Op>): Promise<void> {
  const kinds = kindsIn(ops);
  const has = (kind: string) => (typeof kinds === 'string' ? kinds === kind : kinds.has(kind));
  if (has(LINKS.kind)) await LINKS.apply(nl, ops.filter(isLinkOp), ctx, out);
  for (const k of ON_LINKS) if (has(k.kind)) await k.apply(nl, ops, ctx, out);
}

/** Applies ops in stage order. Ops on an object whose link failed to appear still run (and
 * fail on their own, reported), so the result names every op that did not happen. */
export async function applyOps(nl: Rtnl, ops: Op[], ctx: KindContext): Promise<Outcomes<Op>> {
  const out: Outcomes<Op> = { applied: [], failed: [] };
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
