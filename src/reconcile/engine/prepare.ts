/**
 * Validation of a whole desired state before anything is read or written: the top level, then
 * the links (other kinds check rules against them), then every other kind's list. One
 * ValidationError names every problem.
 */
import { isDeepFrozen, sameFrozen } from '../../values/plain';
import { Problems, checkKeys, isObject, own } from '../../values/problems';
import type { DesiredState } from '../types';
import type { PrepareContext, Reference } from './kind';
import { editsBetween } from './edits';
import type { OwnerIdentity } from './owner';
import { LINKS, ON_LINKS, type PreparedKind, type RegisteredKind } from './registry';
import type { PreparedLinks } from '../kinds/link/prepare';
import { NexthopIds } from '../kinds/nexthop/ids';

/** A desired state that passed validation, in the shapes the kinds work with. */
export interface PreparedState {
  /** The desired links. */
  readonly links: PreparedLinks;
  /** Every other kind's desired list, in registration order. */
  readonly kinds: readonly PreparedKind[];
  /** The links as given, copied (scoped cycles compare them with the next state's). */
  readonly givenLinks: readonly unknown[];
  /** Every device the state refers to (dev, master, underlay): each must be desired or present. */
  readonly references: readonly Reference[];
  /** Whom it was prepared for. */
  readonly owner: OwnerIdentity;
  /** Whether every given link could never change when prepared (isDeepFrozen). */
  readonly linksFrozen: boolean;
}

/**
 * What is kept of a prepared kind whose given specs could never change (KindModule.frozenSpec):
 * the list as given (copied) and the references its prepare made, to hand the prepared kind
 * back when a later state of the same owner, on the same links, gives the same specs. A
 * controller applying the same frozen state again (a resync, a level-triggered loop), or an
 * overlay whose change touches one kind, then skips validating and indexing 10k unchanged specs.
 */
interface Kept {
  readonly given: readonly unknown[];
  readonly references: readonly Reference[];
}
const kept = new WeakMap<PreparedKind, Kept>();

/** At most this many specs of a list are compared by value (a caller that builds its frozen
 * specs anew each time); past it, preparing again is cheaper than comparing. */
const COMPARED_BY_VALUE = 64;

/** What was kept of `before` when it was kept for these specs: the same objects in the same
 * order, or a few new frozen objects equal to the old (sameFrozen). */
function handBack(before: PreparedKind | undefined, given: readonly unknown[]): Kept | undefined {
  const was = before === undefined ? undefined : kept.get(before);
  if (was === undefined || was.given.length !== given.length) return undefined;
  let byValue = 0;
  for (let i = 0; i < given.length; i++) {
    if (was.given[i] === given[i]) continue;
    if (++byValue > COMPARED_BY_VALUE || !sameFrozen(was.given[i], given[i])) return undefined;
  }
  return was;
}

/** At most this share of a list (old and new entries together) may differ for it to be patched
 * (KindModule.patch) rather than prepared whole; and always this many. */
const PATCHED_SHARE = 16;
const PATCHED_ALWAYS = 16;

/**
 * A kind's list patched from `before` (kept for specs that could never change: see Kept) when
 * `given` is that list with a few runs of entries inserted, removed or replaced (by identity,
 * engine/edits.ts), each new one a spec that can never change either: the kind then prepares
 * the edits, not the list. The patched list is kept in turn, with before's references (a patch
 * leaves them as they were).
 */
function patchBack(k: RegisteredKind, before: PreparedKind | undefined, given: readonly unknown[], ctx: PrepareContext): PreparedKind | undefined {
  const was = before === undefined || !k.patches ? undefined : kept.get(before);
  const frozen = k.frozenSpec;
  if (was === undefined || frozen === undefined) return undefined;
  const edits = editsBetween(was.given, given, Math.max(PATCHED_ALWAYS, Math.floor(given.length / PATCHED_SHARE)));
  if (edits === undefined || edits.length === 0) return undefined;
  for (const e of edits) for (let j = e.newStart; j < e.newEnd; j++) if (!(j in given) || !frozen(given[j])) return undefined;
  const patched = k.patch(before!, edits, given, ctx);
  if (patched !== undefined) kept.set(patched, { given: given.slice(), references: was.references });
  return patched;
}

/** Keeps a kind just prepared (whose references are those from `from` on) when every spec it was
 * given can never change (holes cannot be kept). */
function keep(k: RegisteredKind, prepared: PreparedKind, given: readonly unknown[], references: readonly Reference[], from: number): void {
  const frozen = k.frozenSpec;
  if (frozen === undefined || given.length === 0) return;
  for (let i = 0; i < given.length; i++) if (!frozen(given[i])) return;
  kept.set(prepared, { given: given.slice(), references: references.slice(from) });
}

/** Whether some kind of a prepared state was kept (may be handed back to a later state with the same specs). */
export function keepsSome(state: PreparedState): boolean {
  return state.kinds.some((k) => kept.has(k));
}

/** Whether two lists of links that could never change hold the same values (an overlay makes
 * its one device's spec anew each time). */
function sameLinks(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameFrozen(a[i], b[i])) return false;
  return true;
}

/** The DesiredState lists, one per kind. */
const FIELDS: readonly string[] = [LINKS.field, ...ON_LINKS.map((k) => k.field)];

function list(p: Problems, state: object, field: string): readonly unknown[] {
  const v = own(state, field);
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add(field, 'must be an array');
    return [];
  }
  return v;
}

/**
 * Validates and indexes; throws ValidationError naming every problem. Sends nothing.
 * `previous`: the last state prepared for this owner, whose kept kinds (see Kept) are handed
 * back for the same specs.
 */
export function prepareDesired(state: DesiredState, owner: OwnerIdentity, previous?: PreparedState): PreparedState {
  const p = new Problems();
  if (!isObject(state)) {
    p.add('', 'the desired state must be an object');
    p.throwIfAny('invalid desired state');
  }
  checkKeys(p, '', state, FIELDS);
  const references: Reference[] = [];
  const nexthopIds = new NexthopIds();
  const givenLinks = list(p, state, LINKS.field);
  const links = LINKS.prepare(p, givenLinks, { owner, references, nexthopIds });
  const ctx = { owner, references, links, nexthopIds };
  const lists = ON_LINKS.map((k) => list(p, state, k.field));
  const linksFrozen = givenLinks.every(isDeepFrozen);
  // Kinds are checked against the links, and routes and FDB entries see the nexthops' ids of
  // each plan (NexthopIds): a prepared kind is kept only from a state without nexthops, and
  // handed back only on the same ground (the same owner, the same unchangeable links, no
  // nexthops desired).
  const nexthopless = ON_LINKS.every((k, i) => k.kind !== 'nexthop' || lists[i].length === 0);
  const ground =
    nexthopless &&
    previous !== undefined &&
    previous.owner === owner &&
    previous.linksFrozen &&
    linksFrozen &&
    sameLinks(previous.givenLinks, givenLinks);
  const kinds = ON_LINKS.map((k, i) => {
    const given = lists[i];
    const was = ground ? handBack(previous.kinds[i], given) : undefined;
    if (was !== undefined) {
      references.push(...was.references);
      return previous!.kinds[i];
    }
    const patched = ground ? patchBack(k, previous.kinds[i], given, ctx) : undefined;
    if (patched !== undefined) {
      references.push(...kept.get(patched)!.references);
      return patched;
    }
    const from = references.length;
    const prepared = k.prepare(p, given, ctx);
    if (nexthopless && linksFrozen) keep(k, prepared, given, references, from);
    return prepared;
  });
  p.throwIfAny('invalid desired state');
  return { links, kinds, references, givenLinks: givenLinks.slice(), owner, linksFrozen };
}
