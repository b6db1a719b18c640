import type { Conflict, Op, OpAction, Plan } from './types';

const SYMBOL: Record<OpAction, string> = { create: '+', update: '~', recreate: '-/+', delete: '-' };

/** The order ops run in: links first, then what sits on them, routes last; deletions after
 * all creations, in the reverse order. */
const STAGE: Record<string, Partial<Record<OpAction, number>>> = {
  link: { create: 0, recreate: 0, update: 0, delete: 7 },
  address: { create: 1, update: 1, delete: 6 },
  neighbor: { create: 2, update: 2, delete: 5 },
  fdb: { create: 2, update: 2, delete: 5 },
  route: { create: 3, update: 3, delete: 4 },
};

export function stageOf(op: Op): number {
  return STAGE[op.kind][op.action]!;
}

export class ReconcilePlan implements Plan {
  readonly ops: Op[];
  constructor(
    ops: Op[],
    readonly conflicts: Conflict[],
  ) {
    // Ops in stage order, each kind's in diff order. Usually they come in that order already
    // (a big plan is all route creates): then the array is kept, not copied.
    let ordered = true;
    for (let i = 1; i < ops.length && ordered; i++) ordered = stageOf(ops[i - 1]) <= stageOf(ops[i]);
    if (ordered) this.ops = ops;
    else {
      // Bucket by stage (stable, O(n), no wrapper per op).
      const buckets: Op[][] = [];
      for (let i = 0; i < ops.length; i++) (buckets[stageOf(ops[i])] ??= []).push(ops[i]);
      this.ops = buckets.flatMap((b) => b ?? []);
    }
  }

  get empty(): boolean {
    return this.ops.length === 0;
  }

  text(): string {
    const lines = this.ops.map((op) => `${SYMBOL[op.action].padEnd(3)} ${op.kind} ${op.key}: ${op.reason}`);
    for (const c of this.conflicts) lines.push(`!   ${c.kind} ${c.key}: conflict, ${c.reason} (left alone)`);
    const count = (a: OpAction) => this.ops.filter((o) => o.action === a).length;
    lines.push(
      `Plan: ${count('create')} to create, ${count('update')} to update, ${count('recreate')} to recreate, ${count('delete')} to delete` +
        (this.conflicts.length ? `, ${this.conflicts.length} in conflict.` : '.'),
    );
    return lines.join('\n');
  }
}
