/**
 * Scoped cycles. After a cycle that left the kernel as desired, a new desired state or a few
 * kernel events need not read everything again: what changed is known by key (ScopedKind in
 * kind.ts), the keys whose desired objects differ and the keys events named, and only those
 * are read (targeted requests) and compared, by the same rules as a whole read. A kind that
 * cannot say is read whole; links that changed, an event without a key, an overflow, a
 * resync, a retry or a start make a full cycle (cycle.ts). Still level-triggered: a key only
 * says where to look; what is there is read from the kernel.
 *
 * Whether a desired object is unchanged is known only for objects that cannot change
 * (frozen, values/plain.ts sameFrozen): an object changed in place since the last cycle would
 * otherwise look equal to itself. A new desired state of unfrozen objects is read whole; events
 * on an unchanged state are still read by key.
 */
import type { Rtnl } from '../../rtnl/rtnl';
import { sameFrozen } from '../../values/plain';
import { NetlinkError } from '../../wire/errors';
import type { Conflict, Op } from '../types';
import { checkReferences, type PlannedCycle } from './cycle';
import type { KindContext, LinkView } from './kind';
import { ReconcilePlan } from './plan';
import type { PreparedState } from './prepare';
import type { PreparedKind } from './registry';

/** The desired state a cycle last brought the kernel to, and the links as that cycle saw them. */
export interface ScopeBase {
  /** The state. */
  readonly state: PreparedState;
  /** Its view of the links (still true while no link event came and the links are unchanged). */
  readonly view: LinkView;
}

/** More keys than this in one kind and it is read whole: one dump costs less than that many requests. */
export const MAX_SCOPED_KEYS = 256;

/** A scoped plan, with how much of it was read whole. */
export interface ScopedCycle extends PlannedCycle {
  /** Kinds that were read whole (they could not be scoped). */
  readonly kindsWhole: number;
}

/**
 * A kind's targeted read, or undefined ("read it whole") when the kernel refuses it: a targeted
 * read asks more of the kernel than a dump does (a FIB lookup, the policy rules, netconf, a
 * device that went away), and a kernel or namespace without one of those must not fail a cycle
 * the whole read can do. The whole read then reports any kernel error that is real; any other
 * exception is a bug and is thrown.
 */
async function planKeysOrWhole(kind: PreparedKind, nl: Rtnl, keys: ReadonlySet<string>, view: LinkView, ctx: KindContext): Promise<Awaited<ReturnType<PreparedKind['planKeys']>>> {
  try {
    return await kind.planKeys(nl, keys, view, ctx);
  } catch (e) {
    if (e instanceof NetlinkError) return undefined;
    throw e;
  }
}

/** Whether two given lists are known to be the same (every element unchanged and frozen). */
function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameFrozen(a[i], b[i])) return false;
  return true;
}

/**
 * Plans next against the kernel reading only what changed since base: the keys each kind's
 * desired objects changed, and the keys events named (dirty, by kind name). undefined when a
 * full cycle must run instead: the links changed, or objects named by name across kinds
 * (nexthop ids, resolved by the nexthop kind's read) are desired.
 */
export async function computeScopedPlan(nl: Rtnl, next: PreparedState, base: ScopeBase, dirty: ReadonlyMap<string, ReadonlySet<string>>, ctx: KindContext): Promise<ScopedCycle | undefined> {
  // The same prepared state (a cycle for events only) has the same links whatever they are made of.
  const same = base.state === next;
  if (!same && !sameList(base.state.givenLinks, next.givenLinks)) return undefined;
  // Routes and FDB entries may name a nexthop group, whose id each plan learns from the
  // nexthop kind's read: with nexthops desired every kind is planned in full.
  if (next.kinds.some((k) => k.kind.kind === 'nexthop' && k.count > 0)) return undefined;
  if (base.state.kinds.length !== next.kinds.length) return undefined;
  const view = base.view;
  checkReferences(next.references, view);
  // The kinds to look at, with the keys to read (undefined: the kind is read whole).
  const asked: Array<{ kind: PreparedKind; keys: Set<string> | undefined }> = [];
  for (let k = 0; k < next.kinds.length; k++) {
    const kind = next.kinds[k];
    const before = base.state.kinds[k];
    const events = dirty.get(kind.kind.kind);
    let keys: Set<string> | undefined;
    if (kind.scoped) {
      const changed = kind.changedKeys(before, view);
      if (changed !== undefined) {
        keys = new Set(changed);
        if (events !== undefined) for (const e of events) keys.add(e);
      }
    } else if (events === undefined && (same || sameList(before.given, kind.given))) keys = new Set();
    if (keys === undefined || keys.size > 0) asked.push({ kind, keys });
  }
  // The kinds' targeted reads go out together: one wait for the kernel (and for whatever else
  // the event loop runs meanwhile) instead of one per kind. The plan keeps the kinds' order.
  const scoped = await Promise.all(asked.map(({ kind, keys }) => (keys !== undefined && keys.size <= MAX_SCOPED_KEYS ? planKeysOrWhole(kind, nl, keys, view, ctx) : undefined)));
  const opLists: Op[][] = [];
  const conflicts: Conflict[] = [];
  let kindsWhole = 0;
  for (let i = 0; i < asked.length; i++) {
    let d: { ops: Op[]; conflicts: Conflict[] } | undefined = scoped[i];
    if (d === undefined) {
      kindsWhole++;
      d = await asked[i].kind.plan(nl, view, ctx);
    }
    if (d.ops.length) opLists.push(d.ops);
    for (const c of d.conflicts) conflicts.push(c);
  }
  return { plan: new ReconcilePlan(opLists.length === 1 ? opLists[0] : opLists.flat(), conflicts), view, kindsWhole };
}
