/**
 * One plan: read the links and compare them (which gives the view), check that every device
 * the desired state names exists or is desired, then let every other kind read and compare.
 */
import type { Rtnl } from '../../rtnl/rtnl';
import { ValidationError } from '../../values/problems';
import type { Conflict, Op } from '../types';
import type { KindContext, LinkView, Reference } from './kind';
import { ReconcilePlan } from './plan';
import type { PreparedState } from './prepare';
import { LINKS } from './registry';

/** A plan and the view of the links it was made with. */
export interface PlannedCycle {
  /** The plan. */
  plan: ReconcilePlan;
  /** The links as the plan saw them (for watch events until the next plan). */
  view: LinkView;
}

/** Devices named by desired objects must be desired links or exist. Throws ValidationError:
 * like every other validation problem, it is found before anything is written. */
export function checkReferences(references: readonly Reference[], view: LinkView): void {
  const problems: Array<{ path: string; message: string }> = [];
  for (const r of references) {
    if (view.status(r.dev) === 'missing') problems.push({ path: r.path, message: `device ${JSON.stringify(r.dev)} is neither desired nor present` });
  }
  if (problems.length) throw new ValidationError(problems, 'invalid desired state');
}

/** Reads the kernel and computes the plan. Sends no modifying request. */
export async function computePlan(nl: Rtnl, prepared: PreparedState, ctx: KindContext): Promise<PlannedCycle> {
  const links = LINKS.diff(prepared.links, await LINKS.observe(nl), ctx);
  const view = links.view;
  checkReferences(prepared.references, view);
  const opLists: Op[][] = [links.ops];
  const conflicts: Conflict[] = [...links.conflicts];
  for (const k of prepared.kinds) {
    const d = await k.plan(nl, view, ctx);
    opLists.push(d.ops);
    for (const c of d.conflicts) conflicts.push(c);
  }
  // A big plan is nearly all one kind (100k routes): no copy of it when the others are empty.
  const nonEmpty = opLists.filter((l) => l.length > 0);
  const ops = nonEmpty.length === 1 ? nonEmpty[0] : nonEmpty.flat();
  return { plan: new ReconcilePlan(ops, conflicts), view };
}
