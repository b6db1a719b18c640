import type { Conflict, Op, OpAction, Plan } from './types';

const SYMBOL: Record<OpAction, string> = { create: '+', update: '~', recreate: '-/+', delete: '-' };

/** The order ops run in: links first, then what sits on them, routes last; deletions after
 * all creations, in the reverse order. */
const STAGE: Record<string, number> = {
  'link:create': 0,
  'link:recreate': 0,
  'link:update': 0,
  'address:create': 1,
  'address:update': 1,
  'neighbor:create': 2,
  'neighbor:update': 2,
  'fdb:create': 2,
  'fdb:update': 2,
  'route:create': 3,
  'route:update': 3,
  'route:delete': 4,
  'neighbor:delete': 5,
  'fdb:delete': 5,
  'address:delete': 6,
  'link:delete': 7,
};

export function stageOf(op: Op): number {
  return STAGE[`${op.kind}:${op.action}`];
}

export class ReconcilePlan implements Plan {
  readonly ops: Op[];
  constructor(
    ops: Op[],
    readonly conflicts: Conflict[],
  ) {
    // Bucket by stage (stable, O(n), no wrapper per op): each kind's ops stay in diff order.
    const buckets: Op[][] = [];
    for (const op of ops) (buckets[stageOf(op)] ??= []).push(op);
    this.ops = buckets.length === 1 || ops.length === 0 ? (buckets.find(Boolean) ?? []) : buckets.flatMap((b) => b ?? []);
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
