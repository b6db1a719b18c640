/**
 * The contract between the engine and one kind of object (link, address, route, …).
 *
 * The engine owns what every kind shares: the order of the stages, batching, the plan, the
 * apply (with its second look after links appear), the watch and its retries, conflict
 * reporting and the owner's identity. A kind supplies what is its own: its DesiredState list,
 * identity key, validation, a filtered read of the kernel, the comparison, its ops, how they are
 * sent, its ownership rule, its stage numbers and which kernel events matter to it.
 *
 * Links are the ground the other kinds stand on: the link kind is read and compared first and
 * gives every other kind a LinkView (devices by name and index, which ones this reconciler owns,
 * which are held by another owner, which go away in this plan).
 */
import type { MonitorEvents } from '../../rtnl/monitor';
import type { Rtnl } from '../../rtnl/rtnl';
import type { DeviceRef, Link } from '../../rtnl/types';
import type { Problems } from '../../values/problems';
import type { OwnerIdentity } from './owner';
import type { NexthopIds } from '../kinds/nexthop/ids';
import type { Edit } from './edits';

/** What an op does to its object (see OpAction in types.ts). */
export type Action = 'create' | 'update' | 'recreate' | 'delete';

/** The shape every kind's op shares; each kind narrows desired and actual to its own types. */
export interface OpShape {
  /** Which kind of object. */
  readonly kind: string;
  /** What happens to it. */
  action: Action;
  /** Its identity key, for a person. */
  key: string;
  /** Why, for a person. */
  reason: string;
}

/** The shape every kind's conflict shares. */
export interface ConflictShape {
  /** Which kind of object. */
  readonly kind: string;
  /** The identity key both objects share. */
  key: string;
  /** Why it was left alone, for a person. */
  reason: string;
}

/**
 * The stage each action of a kind runs in. Lower stages run first; a stage's ops of one kind
 * go out as one batch. Creations and changes run upwards from the links, deletions downwards
 * after all of them (a route goes before the link it is on).
 */
export type Stages = Readonly<Record<Action, number>>;

/**
 * Where a kind's apply() reports each of its ops, exactly once. Add-only, so the engine can hand
 * every kind the apply's own lists (of any op) instead of a list per kind copied over afterwards:
 * 100k route ops are pushed once, not three times.
 */
export interface Outcome<O> {
  /** Ops the kernel accepted. */
  readonly applied: { push(op: O): unknown };
  /** Ops the kernel (or a check after it) refused, with why. */
  readonly failed: { push(failure: { op: O; error: Error }): unknown };
}

/** The outcome of ops as lists: what an apply returns, and what a kind keeps for itself. */
export interface Outcomes<O> {
  /** Ops the kernel accepted. */
  applied: O[];
  /** Ops the kernel (or a check after it) refused, with why. */
  failed: Array<{ op: O; error: Error }>;
}

/** Who is asking, for every kind: the owner's identity and how conflicts are handled. */
export interface KindContext {
  /** The owner's identity: route protocol, owner name, link alias. */
  readonly owner: OwnerIdentity;
  /** Take over foreign objects on desired keys (the plan says "adopt") instead of reporting conflicts. */
  readonly adoptConflicts: boolean;
}

/** A device another desired object refers to (dev, master, underlay), for the reference check. */
export interface Reference {
  /** Where in the desired state ("routes[3].dev"). */
  readonly path: string;
  /** The device named there. */
  readonly dev: DeviceRef;
}

/** What the desired links say, for the cross-kind rules other kinds check while preparing. */
export interface DesiredLinks {
  /** The desired link with this name, if any. */
  get(name: string): { readonly up?: boolean; readonly path: string } | undefined;
}

/** Given to every kind's prepare(): where to put references, and what links are desired. */
export interface PrepareContext {
  /** The owner's identity. */
  readonly owner: OwnerIdentity;
  /** Devices the kind's objects name: each must be a desired link or exist (checked once the kernel is read). */
  readonly references: Reference[];
  /** The desired links (prepared before every other kind). */
  readonly links: DesiredLinks;
  /** Named nexthops: declared by the nexthop kind, given ids in each plan, referred to by name by routes. */
  readonly nexthopIds: NexthopIds;
}

/** How a device stands for the kinds that put entries on it. */
export type DeviceStatus =
  /** A link this reconciler owns (its alias) or adopts in this plan: everything on it is managed. */
  | 'owned'
  /** A desired link's name held by a device another owner holds: nothing on it is touched. */
  | 'foreign'
  /** A link that goes away in this plan (deleted, or recreated): what is on it goes too. */
  | 'vanishing'
  /** A desired link that does not exist yet: created in this apply. */
  | 'pending'
  /** A device that is neither desired nor owned (an underlay): entries are added, never taken over or removed. */
  | 'unmanaged'
  /** Neither desired nor present. */
  | 'missing';

/** The links as the link kind found them, for every other kind. */
export interface LinkView {
  /** Every link of the namespace. */
  readonly links: readonly Link[];
  /** Links by name. */
  readonly byName: ReadonlyMap<string, Link>;
  /** Links by index. */
  readonly byIndex: ReadonlyMap<number, Link>;
  /** Indexes of the links whose entries this reconciler manages (owned, adopted). */
  readonly owned: ReadonlySet<number>;
  /** Indexes of devices another owner holds under a desired link's name, with why. */
  readonly foreign: ReadonlyMap<number, string>;
  /** Indexes of links deleted or recreated by this plan: what is on them now goes too. */
  readonly vanishing: ReadonlySet<number>;
  /** Names of the desired links. */
  readonly desiredNames: ReadonlySet<string>;
  /** The index of a device, or undefined when it does not exist (yet). */
  index(ref: DeviceRef): number | undefined;
  /** A device's name as given, or looked up from its index ("if7" when unknown). */
  name(ref: DeviceRef): string;
  /** How a device stands (see DeviceStatus). */
  status(ref: DeviceRef): DeviceStatus;
}

/** The objects kernel events carry, by the Monitor event that carries them. */
export type EventObjects = { [E in Exclude<keyof MonitorEvents, 'overflow' | 'error'>]: Parameters<MonitorEvents[E]>[0]['object'] };

/** The Monitor events that carry objects. */
export type ObjectEvent = keyof EventObjects;

/** What a kind's diff found: its ops (in its own order) and the desired objects left alone. */
export interface KindDiff<O, C> {
  /** The changes. */
  ops: O[];
  /** Desired objects whose key a foreign object holds. */
  conflicts: C[];
}

/**
 * The types one kind works with, bundled so that a module is KindModule<TheseTypes>.
 */
export interface KindTypes {
  /** The kind's name ('address'). */
  kind: string;
  /** Its DesiredState field ('addresses'). */
  field: string;
  /** The desired state after validation and indexing. */
  prepared: unknown;
  /** What the kind read from the kernel for one plan. */
  observed: unknown;
  /** Its op (a discriminated union on action). */
  op: OpShape;
  /** Its conflict. */
  conflict: ConflictShape;
  /** The Monitor event that carries its objects. */
  event: ObjectEvent;
}

/** What a scoped read of some keys found: the kind's diff on those keys, and how many keys it asked the kernel for. */
export interface ScopedDiff<O, C> extends KindDiff<O, C> {
  /** Keys read with targeted requests. */
  read: number;
}

/**
 * What a kind supplies to be reconciled key by key (scoped cycles, engine/scope.ts): the key
 * of what a kernel event carries, the keys a new desired state changes, and a read and diff of
 * just some keys. A key is the kind's own string, built from the view's interface indexes (a
 * device by name and by index is one key). Every answer may be "cannot" (undefined): the engine
 * then reads the kind whole, or runs a full cycle. Level-triggered: a key only says where to
 * look; what is there is read from the kernel.
 */
export interface ScopedKind<T extends KindTypes> {
  /** The key of the object an event carries; undefined when it has none (a full cycle follows). */
  eventKey(object: EventObjects[T['event']], view: LinkView): string | undefined;
  /** The keys whose desired objects differ between prev and next (added, removed, changed);
   * undefined when they cannot be told apart key by key (a full cycle follows). `edits`: when
   * next was patched from prev (KindModule.patch), the edits that made it: the entries they
   * replaced and put in are all that can differ. */
  changedKeys(prev: T['prepared'], next: T['prepared'], view: LinkView, edits?: readonly Edit[]): Iterable<string> | undefined;
  /** Reads only these keys (targeted requests) and compares them as diff() would, with the same
   * ops and conflicts; undefined when it cannot (then observe() and diff() run). */
  planKeys(nl: Rtnl, desired: T['prepared'], keys: ReadonlySet<string>, view: LinkView, ctx: KindContext): Promise<ScopedDiff<T['op'], T['conflict']> | undefined>;
  /**
   * What an event (on `key`, its eventKey) shows of its key without a read (EventSettles): a
   * new object that is the desired one on the key, ours, by the very rule the diff compares
   * with; or our object deleted from a key nothing is desired on. Such events (mostly the echoes
   * of this reconciler's own writes) name no key to read: every later change of the key brings
   * an event of its own, and a lost one an overflow. false whenever unsure (then the key is
   * read). Kinds without it have every relevant event read.
   */
  settledBy?(object: EventObjects[T['event']], action: 'new' | 'del', desired: T['prepared'], key: string, view: LinkView, ctx: KindContext): EventSettles;
}

/**
 * What an event shows of its key (ScopedKind.settledBy). 'key': everything the key holds (the
 * kernel keeps one object per key of this kind), and a read would plan nothing there: the key
 * need not be read, even if an earlier event asked for it (the last event on a key tells its
 * state). 'object': this object is settled, but the key may hold others, whose own events name
 * it. false: the key is read.
 */
export type EventSettles = 'key' | 'object' | false;

/**
 * One kind that sits on links (address, neighbour, FDB, route, …): everything the engine needs
 * from it. A new kind is a module implementing this plus one line in engine/registry.ts.
 */
export interface KindModule<T extends KindTypes> {
  /** The kind's name, as ops and conflicts carry it. */
  readonly kind: T['kind'];
  /** Its list in DesiredState. */
  readonly field: T['field'];
  /** Which stage each action runs in. */
  readonly stages: Stages;
  /** The Monitor event that carries its objects (the monitor joins the groups for it). */
  readonly event: T['event'];
  /**
   * Validates and indexes the given list (an array already): canonical keys, duplicates,
   * cross-object rules; problems go to p with their paths; devices the objects name go to
   * ctx.references. Never throws, never reads the kernel.
   */
  prepare(p: Problems, given: readonly unknown[], ctx: PrepareContext): T['prepared'];
  /**
   * The prepared list of `given` made from `before`, this kind's prepared list of a list whose
   * specs could never change (frozenSpec), and the edits that make given of that list (by
   * identity, engine/edits.ts; the specs they put in could never change either): exactly what
   * prepare() would make of given, with the references before's prepare made (it pushes none).
   * Costs the edits, not the list. Undefined whenever unsure (the engine then prepares given
   * whole). Kinds without it are prepared whole.
   */
  readonly patch?: (before: T['prepared'], edits: readonly Edit[], given: readonly unknown[], ctx: PrepareContext) => T['prepared'] | undefined;
  /** Reads what the kind may touch or must compare, filtered in the kernel wherever it can be. */
  observe(nl: Rtnl, desired: T['prepared'], view: LinkView, ctx: KindContext): Promise<T['observed']>;
  /** Desired against observed: the ops, and the conflicts (foreign objects on desired keys). */
  diff(desired: T['prepared'], observed: T['observed'], view: LinkView, ctx: KindContext): KindDiff<T['op'], T['conflict']>;
  /** Sends one stage's ops of this kind (batched), reporting every op in out. */
  apply(nl: Rtnl, ops: readonly T['op'][], ctx: KindContext, out: Outcome<T['op']>): Promise<void>;
  /** Whether a kernel event about this object can matter to the desired state (then the watch re-reads). */
  relevant(object: EventObjects[T['event']], desired: T['prepared'], view: LinkView | undefined, ctx: KindContext): boolean;
  /** Whether the object counts: the number of desired objects (for messages and sizing). */
  count(desired: T['prepared']): number;
  /** Key by key reconciling, for the kinds that support it (the others always go whole). */
  readonly scoped?: ScopedKind<T>;
  /**
   * Whether a spec this kind has just accepted can never change (frozen, and every object it
   * holds; false for anything that depends on other kinds, such as a named nexthop). Asked for
   * each given spec right after prepare: when every one can never change and a later desired
   * state hands the very same specs again, the engine hands back this prepared list instead of
   * preparing it again (engine/prepare.ts). Kinds without it are prepared every time.
   */
  readonly frozenSpec?: (spec: unknown) => boolean;
}

/** Narrows an event's object to the type of one event name. */
export function isEventOf<E extends ObjectEvent>(want: E, event: ObjectEvent, object: EventObjects[ObjectEvent]): object is EventObjects[E] {
  return event === want && object !== undefined;
}
