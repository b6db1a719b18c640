/** A plan: ops in stage order, conflicts, and its text. */
import type { Conflict, Op, OpAction, Plan } from '../types';
import type { Stages } from './kind';
import { LINKS, ON_LINKS } from './registry';

const SYMBOL: Record<OpAction, string> = { create: '+', update: '~', recreate: '-/+', delete: '-' };

/** Each kind's stages, by kind name (a plain object: looked up twice per op of a 100k plan). */
const STAGES: Record<string, Stages> = Object.fromEntries([LINKS, ...ON_LINKS].map((k) => [k.kind, k.stages]));

/** The stage an op runs in. */
export function stageOf(op: Op): number {
  return STAGES[op.kind][op.action];
}

/** A Plan (see types.ts). */
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
    const adopted = this.ops.filter((o) => o.adopt === true).length;
    lines.push(
      `Plan: ${count('create')} to create, ${count('update')} to update, ${count('recreate')} to recreate, ${count('delete')} to delete` +
        (adopted ? `, ${adopted} to adopt` : '') +
        (this.conflicts.length ? `, ${this.conflicts.length} in conflict.` : '.'),
    );
    return lines.join('\n');
  }
}
