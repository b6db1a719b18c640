/**
 * The rule kind: policy routing rules (RTM_NEWRULE) owned by the reconciler's protocol
 * (FRA_PROTOCOL), IPv4 and IPv6, keyed by ruleKey() (everything a rule matches and does, its
 * priority included, its owner not). The kernel has no unique key for rules and no replace:
 * a rule is created or deleted; a rule of another protocol on a desired key is a conflict.
 *
 * Priority as `ip rule` has it: a desired rule with a priority is that rule at that priority;
 * one without lets the kernel pick (below the lowest non-zero priority, at add time) and is
 * matched by everything but its priority, so whatever the kernel picked is kept.
 *
 * Order: created after the routes (a rule sends traffic to a table: the table is filled
 * first), deleted before the routes are.
 */
import type { Rtnl } from '../../../rtnl/rtnl';
import { validateRuleSpec, ruleKey, describeRule } from '../../../rtnl/rule';
import type { Rule, RuleSpec } from '../../../rtnl/rule/types';
import { PROTOCOLS, lookup } from '../../../rtnl/names';
import { isObject, own, type Problems } from '../../../values/problems';
import type { KindContext, KindDiff, KindModule, Outcome, PrepareContext } from '../../engine/kind';
import { collect, one } from '../../engine/outcome';
import { NetlinkError } from '../../../wire/errors';
import type { RuleConflict, RuleOp } from './types';

/** A desired rule with its keys. */
interface PreparedRule {
  readonly spec: RuleSpec;
  /** ruleKey(spec). */
  readonly key: string;
  /** Without a priority: matched on this (ruleKey without the priority). */
  readonly anyPriority: boolean;
}

/** The desired rules, validated. */
export interface PreparedRules {
  readonly list: readonly PreparedRule[];
  /** Keys of the rules with a priority. */
  readonly keys: ReadonlySet<string>;
  /** Keys without priority of the rules without one. */
  readonly looseKeys: ReadonlySet<string>;
}

/** ruleKey() with the priority left out (the second field). */
function looseKey(r: RuleSpec | Rule): string {
  const parts = ruleKey(r).split('|');
  parts[1] = '';
  return parts.join('|');
}

function prepareRules(p: Problems, given: readonly unknown[], ctx: PrepareContext): PreparedRules {
  const list: PreparedRule[] = [];
  const keys = new Set<string>();
  const looseKeys = new Set<string>();
  const seen = new Map<string, string>();
  given.forEach((spec, i) => {
    const path = `rules[${i}]`;
    if (isObject(spec)) {
      const protocol = own(spec, 'protocol');
      if (protocol !== undefined && lookup(PROTOCOLS, protocol as number) !== ctx.owner.protocol) {
        p.add(`${path}.protocol`, `rules in a desired state carry the reconciler's protocol (${ctx.owner.protocol}); leave it out`);
        return;
      }
    }
    if (!validateRuleSpec(p, path, spec)) return;
    const anyPriority = spec.priority === undefined;
    const key = anyPriority ? looseKey(spec) : ruleKey(spec);
    const had = seen.get(key);
    if (had) return p.add(path, `rule ${describeRule(spec)} is already desired at ${had}`);
    seen.set(key, path);
    (anyPriority ? looseKeys : keys).add(key);
    list.push({ spec, key, anyPriority });
  });
  return { list, keys, looseKeys };
}

/** Takes the first rule of a key from a multimap. */
function take(m: Map<string, Rule[]>, key: string): Rule | undefined {
  const l = m.get(key);
  const r = l?.shift();
  if (l && l.length === 0) m.delete(key);
  return r;
}

function push(m: Map<string, Rule[]>, key: string, r: Rule): void {
  const l = m.get(key);
  if (l) l.push(r);
  else m.set(key, [r]);
}

function diffRules(desired: PreparedRules, kernel: readonly Rule[], _view: unknown, ctx: KindContext): KindDiff<RuleOp, RuleConflict> {
  const protocol = ctx.owner.protocol;
  const ours = new Map<string, Rule[]>();
  const foreign = new Map<string, Rule[]>();
  const oursLoose = new Map<string, Rule[]>();
  const foreignLoose = new Map<string, Rule[]>();
  for (const r of kernel) {
    const key = ruleKey(r);
    push(r.protocol === protocol ? ours : foreign, key, r);
  }
  const ops: RuleOp[] = [];
  const conflicts: RuleConflict[] = [];
  // Exact keys first: a rule without priority must not take the rule of one with.
  const loose: PreparedRule[] = [];
  for (const d of desired.list) {
    if (d.anyPriority) {
      loose.push(d);
      continue;
    }
    if (take(ours, d.key)) continue;
    decideMissing(d, take(foreign, d.key), ops, conflicts, ctx);
  }
  if (loose.length) {
    for (const [, l] of ours) for (const r of l) push(oursLoose, looseKey(r), r);
    for (const [, l] of foreign) for (const r of l) push(foreignLoose, looseKey(r), r);
    ours.clear();
    for (const d of loose) {
      if (take(oursLoose, d.key)) continue;
      decideMissing(d, take(foreignLoose, d.key), ops, conflicts, ctx);
    }
  }
  for (const m of [ours, oursLoose]) {
    for (const [, l] of m) for (const r of l) ops.push({ kind: 'rule', action: 'delete', key: describeRule(r), reason: 'not desired any more', actual: r });
  }
  return { ops, conflicts };
}

/** A desired rule none of ours matches: create it, or it is another owner's. */
function decideMissing(d: PreparedRule, held: Rule | undefined, ops: RuleOp[], conflicts: RuleConflict[], ctx: KindContext): void {
  const key = describeRule(d.spec);
  if (held === undefined) ops.push({ kind: 'rule', action: 'create', key, reason: 'missing', desired: d.spec });
  else if (ctx.adoptConflicts) ops.push({ kind: 'rule', action: 'update', key, reason: `adopt from protocol ${held.protocol}`, desired: d.spec, actual: held, adopt: true });
  else conflicts.push({ kind: 'rule', key, reason: `held by protocol ${held.protocol}`, desired: d.spec, actual: held });
}

async function applyRules(nl: Rtnl, ops: readonly RuleOp[], ctx: KindContext, out: Outcome<RuleOp>): Promise<void> {
  const protocol = ctx.owner.protocol;
  const created: RuleOp[] = [];
  const deleted: Array<Extract<RuleOp, { action: 'delete' }>> = [];
  for (const op of ops) {
    if (op.action === 'create') created.push(op);
    else if (op.action === 'delete') deleted.push(op);
    else {
      // Adopt: ours next to the foreign one (the kernel keeps rules of different owners apart), then the foreign one goes.
      const { desired, actual } = op;
      await one(op, out, async () => {
        await nl.rules.add({ ...desired, protocol });
        await nl.rules.del(actual);
      });
    }
  }
  if (created.length) collect(created, await nl.rules.addMany(created.map((o) => ({ ...o.desired!, protocol }))), out);
  if (deleted.length) collect(deleted, await nl.rules.delMany(deleted.map((o) => o.actual)), out);
}

/** The types the rule kind works with. */
export interface RuleTypes {
  kind: 'rule';
  field: 'rules';
  prepared: PreparedRules;
  observed: Rule[];
  op: RuleOp;
  conflict: RuleConflict;
  event: 'rule';
}

/** Policy rules: created after routes, deleted before them. */
export const ruleKind: KindModule<RuleTypes> = {
  kind: 'rule',
  field: 'rules',
  stages: { create: 45, update: 45, recreate: 45, delete: 55 },
  event: 'rule',
  prepare: prepareRules,
  // Both families, every rule: ours, and the others for the keys they hold (a handful).
  async observe(nl, desired) {
    try {
      return await nl.rules.list();
    } catch (e) {
      // Where rules cannot be read (a fake kernel, say), none are ours: fine unless some are desired.
      if (desired.list.length === 0 && e instanceof NetlinkError && e.code === 'EOPNOTSUPP') return [];
      throw e;
    }
  },
  diff: diffRules,
  apply: applyRules,
  relevant: (r, desired, _view, ctx) => r.protocol === ctx.owner.protocol || desired.keys.has(ruleKey(r)) || (desired.looseKeys.size > 0 && desired.looseKeys.has(looseKey(r))),
  count: (desired) => desired.list.length,
};
