/**
 * The kinds the reconciler manages. Links are the ground every other kind stands on: read and
 * compared first, they give the others their view of the devices. Every other kind is one
 * module (kinds/<kind>/) registered by one line in ON_LINKS, in the order they are read.
 */
import { addressKind } from '../kinds/address';
import { fdbKind } from '../kinds/fdb';
import { linkKind } from '../kinds/link';
import { neighborKind } from '../kinds/neighbor';
import { nexthopKind } from '../kinds/nexthop';
import { routeKind } from '../kinds/route';
import { ruleKind } from '../kinds/rule';
import { wireguardKind } from '../kinds/wireguard';
import type { Conflict, Op } from '../types';
import { isEventOf, type EventObjects, type EventSettles, type KindContext, type KindModule, type KindTypes, type LinkView, type ObjectEvent, type Outcome, type PrepareContext, type Stages } from './kind';
import type { Rtnl } from '../../rtnl/rtnl';
import type { Problems } from '../../values/problems';
import type { Edit } from './edits';

/** The link kind. */
export const LINKS = linkKind;

/** The kinds on links, each bound for the engine (see bind below). */
export const ON_LINKS: readonly RegisteredKind[] = [
  bind(addressKind),
  bind(nexthopKind), // before the kinds that name nexthops (it gives named ones their ids)
  bind(neighborKind),
  bind(fdbKind),
  bind(routeKind),
  bind(ruleKind),
  bind(wireguardKind),
];

/** A kind's types, as the engine may hold them: its ops and conflicts are in the public unions. */
type Registrable = KindTypes & { op: Op; conflict: Conflict };

/** A kind as the engine holds it, its own types closed over (so the engine needs no casts). */
export interface RegisteredKind {
  /** The kind's name. */
  readonly kind: string;
  /** Its DesiredState list. */
  readonly field: string;
  /** Its stages. */
  readonly stages: Stages;
  /** The Monitor event that carries its objects. */
  readonly event: ObjectEvent;
  /** Validates and indexes its list. */
  prepare(p: Problems, given: readonly unknown[], ctx: PrepareContext): PreparedKind;
  /** KindModule.patch, for a list prepared by this kind (undefined when the kind has none or cannot). */
  patch(before: PreparedKind, edits: readonly Edit[], given: readonly unknown[], ctx: PrepareContext): PreparedKind | undefined;
  /** The kind's own prepared form of a list it prepared or patched (for tests and diagnostics). */
  inner(prepared: PreparedKind): unknown;
  /** Whether the kind has KindModule.patch. */
  readonly patches: boolean;
  /** KindModule.frozenSpec: whether an accepted spec can never change (then a prepared list may be handed back). */
  readonly frozenSpec?: (spec: unknown) => boolean;
  /** Sends this kind's ops among ones of a stage (it picks its own); records each outcome. */
  apply(nl: Rtnl, ops: readonly Op[], ctx: KindContext, out: Outcome<Op>): Promise<void>;
}

/** One kind's prepared desired list, with the steps that use it. */
export interface PreparedKind {
  /** The kind. */
  readonly kind: RegisteredKind;
  /** How many objects are desired. */
  readonly count: number;
  /** The list as given, copied (for a kind that is not scoped: scope.ts compares it with the
   * next state's; empty for a scoped kind, which compares key by key). */
  readonly given: readonly unknown[];
  /** Reads and compares: the kind's ops and conflicts. */
  plan(nl: Rtnl, view: LinkView, ctx: KindContext): Promise<{ ops: Op[]; conflicts: Conflict[] }>;
  /** Whether a kernel event can matter (then a watch re-reads). */
  relevant<E extends ObjectEvent>(event: E, object: EventObjects[E], view: LinkView | undefined, ctx: KindContext): boolean;
  /** Whether the kind can be reconciled key by key (ScopedKind). */
  readonly scoped: boolean;
  /** The key of an event's object (the event must be this kind's); undefined: none. */
  eventKey<E extends ObjectEvent>(event: E, object: EventObjects[E], view: LinkView): string | undefined;
  /** ScopedKind.settledBy for an event of this kind (false for other events and kinds without it). */
  settledBy<E extends ObjectEvent>(event: E, object: EventObjects[E], action: 'new' | 'del', key: string, view: LinkView, ctx: KindContext): EventSettles;
  /** The keys that differ from prev (the same kind in an earlier state); undefined: cannot say. */
  changedKeys(prev: PreparedKind, view: LinkView): Iterable<string> | undefined;
  /** Reads and compares only these keys; undefined when the kind cannot (read it whole then). */
  planKeys(nl: Rtnl, keys: ReadonlySet<string>, view: LinkView, ctx: KindContext): Promise<{ ops: Op[]; conflicts: Conflict[]; read: number } | undefined>;
}

/** Closes a kind module over its own types. */
function bind<T extends Registrable>(m: KindModule<T>): RegisteredKind {
  const mine = (o: Op): o is T['op'] => o.kind === m.kind;
  // Each prepared list, for changedKeys() of a later state of the same kind.
  const preparedOf = new WeakMap<PreparedKind, T['prepared']>();
  // A patched list's edits, and the serial number of the list they were made from: a chain of
  // patched lists must not keep every earlier one (a WeakRef would, until the end of the job: a
  // caller calling setDesired() in a loop would hold every state it gave).
  const patchedFrom = new WeakMap<PreparedKind, { from: number; edits: readonly Edit[] }>();
  const serialOf = new WeakMap<PreparedKind, number>();
  let serials = 0;
  const registered: RegisteredKind = {
    kind: m.kind,
    field: m.field,
    stages: m.stages,
    event: m.event,
    frozenSpec: m.frozenSpec,
    patches: m.patch !== undefined,
    inner: (prepared) => preparedOf.get(prepared),
    prepare(p, given, ctx) {
      return wrap(m.prepare(p, given, ctx), given);
    },
    patch(before, edits, given, ctx) {
      const was = preparedOf.get(before);
      const prepared = was === undefined || m.patch === undefined ? undefined : m.patch(was, edits, given, ctx);
      if (prepared === undefined) return undefined;
      const out = wrap(prepared, given);
      patchedFrom.set(out, { from: serialOf.get(before)!, edits });
      return out;
    },
    async apply(nl, ops, ctx, out) {
      // A big stage is usually all one kind (100k route creates): no copy of it then.
      const own: readonly T['op'][] = ops.every(mine) ? ops : ops.filter(mine);
      if (own.length === 0) return;
      await m.apply(nl, own, ctx, out);
    },
  };
  /** The engine's handle on a list this kind prepared (or patched) from `given`. */
  function wrap(prepared: T['prepared'], given: readonly unknown[]): PreparedKind {
    const scoped = m.scoped;
    const out: PreparedKind = {
      kind: registered,
      scoped: scoped !== undefined,
      given: scoped === undefined ? given.slice() : [],
      eventKey(event, object, view) {
        return scoped !== undefined && isEventOf(m.event, event, object) ? scoped.eventKey(object, view) : undefined;
      },
      settledBy(event, object, action, key, view, kctx) {
        return scoped?.settledBy !== undefined && isEventOf(m.event, event, object) ? scoped.settledBy(object, action, prepared, key, view, kctx) : false;
      },
      changedKeys(prev, view) {
        if (prev === out) return []; // handed back for the same specs (engine/prepare.ts)
        const before = preparedOf.get(prev);
        const patched = patchedFrom.get(out);
        const edits = patched !== undefined && patched.from === serialOf.get(prev) ? patched.edits : undefined;
        return scoped === undefined || before === undefined ? undefined : scoped.changedKeys(before, prepared, view, edits);
      },
      planKeys(nl, keys, view, kctx) {
        return scoped === undefined ? Promise.resolve(undefined) : scoped.planKeys(nl, prepared, keys, view, kctx);
      },
      count: m.count(prepared),
      async plan(nl, view, kctx) {
        const observed = await m.observe(nl, prepared, view, kctx);
        return m.diff(prepared, observed, view, kctx);
      },
      relevant(event, object, view, kctx) {
        return isEventOf(m.event, event, object) && m.relevant(object, prepared, view, kctx);
      },
    };
    preparedOf.set(out, prepared);
    serialOf.set(out, ++serials);
    return out;
  }
  return registered;
}
