import { EventEmitter } from 'eventemitter3';
import type { Rtnl } from '../rtnl/rtnl';
import { NetlinkClosedError } from '../wire/errors';
import { applyOps } from './engine/apply';
import { computePlan } from './engine/cycle';
import { isEventOf, type EventObjects, type KindContext, type LinkView, type ObjectEvent } from './engine/kind';
import { lockOwner, type OwnerLock } from './engine/lock';
import { checkReconcilerOptions, type OwnerIdentity } from './engine/owner';
import { ReconcilePlan } from './engine/plan';
import { computeScopedPlan, type ScopeBase } from './engine/scope';
import { keepsSome, prepareDesired, type PreparedState } from './engine/prepare';
import { LINKS, ON_LINKS } from './engine/registry';
import { WatchLoop, watchTiming } from './engine/watch';
import type { ApplyResult, CycleReason, DesiredState, Plan, ReconcilerEvents, ReconcilerOptions, WatchOptions } from './types';

/** A listener threw during a watch cycle: the cycle stops and the exception is thrown on the event loop. */
class ListenerFault {
  constructor(readonly error: unknown) {}
}

/** Throws on the event loop, where an exception from a timer's work belongs (an uncaught
 * exception, as from any EventEmitter listener called from the loop). */
function throwOnLoop(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}

/** What a scoped cycle starts from: the last state applied, and the keys events named since. */
interface Scope {
  readonly base: ScopeBase;
  readonly dirty: ReadonlyMap<string, ReadonlySet<string>>;
}

/** Every event the kinds listen to. */
const EVENTS: readonly ObjectEvent[] = [LINKS.event, ...ON_LINKS.map((k) => k.event)];

/**
 * Desired state in, minimal kernel changes out.
 *
 * ```ts
 * const r = new Reconciler(nl, { protocol: 77 });
 * console.log((await r.plan(desired)).text());
 * const res = await r.apply(desired);       // res.converged, res.failed
 * r.watch(desired);                          // keep it so; r.setDesired(next) to change course
 * ```
 * The constructor throws ValidationError for bad options (a reserved route protocol among
 * them). plan() and apply() throw ValidationError (listing every problem) before sending
 * anything when the desired state is invalid. Kernel failures of single ops do not throw: they
 * are in ApplyResult.failed. apply() and watch() refuse (OwnerBusyError) while another
 * reconciler with the same protocol or link alias works on the namespace.
 */
export class Reconciler extends EventEmitter<ReconcilerEvents> {
  /** The route protocol this reconciler's routes carry. */
  readonly protocol: number;
  /** Its identity: route protocol, owner name and the alias its links carry. */
  readonly owner: OwnerIdentity;
  private readonly ctx: KindContext;
  private queue: Promise<unknown> = Promise.resolve();
  /** What watch cycles converge to: prepared (validated, indexed) once by watch()/setDesired(). */
  private watched: PreparedState | undefined;
  private loop: WatchLoop | undefined;
  /** Held while watching. */
  private lock: OwnerLock | undefined;
  /** The links as the last plan saw them, and the devices the desired state names there. */
  private lastView: LinkView | undefined;
  private referenced = new Set<number>();
  /** What the last watch cycle brought the kernel to, when it applied every op and left no
   * conflict: the next cycle may then read only what changed since (engine/scope.ts). */
  private base: ScopeBase | undefined;
  /** Keys kernel events named since the last cycle started, by kind; and whether one came that
   * names none (a link, a kind that is not scoped): then the next cycle reads everything. */
  private dirty = new Map<string, Set<string>>();
  private dirtyAll = false;
  /** Whether watch cycles may be scoped (WatchOptions.scopedCycles), and whether the last one was. */
  private scoping = true;
  /** The last state prepared, when some of its kinds may be handed back (engine/prepare.ts). */
  private lastPrepared?: PreparedState;
  private lastScoped = false;
  private settled = 0;

  /**
   * Kernel events a watch took as showing their key as desired, so read nothing for: a new
   * object that is ours and equal to the desired one on its key, or ours deleted from a key
   * nothing is desired on (the events of its own writes, mostly). Counted since the reconciler
   * was made; only while cycles are scoped.
   */
  get settledEvents(): number {
    return this.settled;
  }

  constructor(
    private readonly nl: Rtnl,
    options: ReconcilerOptions = {},
  ) {
    super();
    const { owner, adoptConflicts } = checkReconcilerOptions(options);
    this.owner = owner;
    this.protocol = owner.protocol;
    this.ctx = { owner, adoptConflicts };
  }

  private prepare(desired: DesiredState): PreparedState {
    const prepared = prepareDesired(desired, this.owner, this.lastPrepared);
    // Held only when it has lists to hand back (frozen specs): otherwise the next prepare would
    // have two states of 100k routes alive at once for nothing.
    this.lastPrepared = keepsSome(prepared) ? prepared : undefined;
    return prepared;
  }

  /**
   * Validates, reads the kernel and computes the ops. Sends no modifying request. The desired
   * state is read when called: change it and pass it again, and the change counts.
   */
  async plan(desired: DesiredState): Promise<Plan> {
    const prepared = this.prepare(desired);
    return this.serial(() => this.computePlan(prepared, false));
  }

  /** Plans and applies; resolves with every op's outcome. Reads desired when called, as plan(). */
  async apply(desired: DesiredState): Promise<ApplyResult> {
    const prepared = this.prepare(desired);
    return this.serial(() =>
      this.locked(() => {
        this.base = undefined; // the kernel is brought to another state than the watch's: its next cycle reads whole
        return this.applyPrepared(prepared, false);
      }),
    );
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs fn holding the owner's lock on the namespace (the watch's, when watching). */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    if (this.lock) return fn();
    if (this.nl.socket.isClosed) throw new NetlinkClosedError('reconciler apply');
    const lock = lockOwner(this.nl, this.owner);
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  /** Emits; in a watch cycle a listener's exception is marked for the cycle to rethrow on the loop. */
  private fire(fromLoop: boolean, emit: () => void): void {
    if (!fromLoop) return emit();
    try {
      emit();
    } catch (e) {
      throw new ListenerFault(e);
    }
  }

  private async computePlan(prepared: PreparedState, fromLoop: boolean, scope?: Scope): Promise<ReconcilePlan> {
    const scoped = scope === undefined ? undefined : await computeScopedPlan(this.nl, prepared, scope.base, scope.dirty, this.ctx);
    this.lastScoped = scoped !== undefined && scoped.kindsWhole === 0;
    const { plan, view } = scoped ?? (await computePlan(this.nl, prepared, this.ctx));
    this.remember(prepared, view);
    this.fire(fromLoop, () => this.emit('plan', plan));
    for (const c of plan.conflicts) this.fire(fromLoop, () => this.emit('conflict', c));
    return plan;
  }

  private async applyPrepared(prepared: PreparedState, fromLoop: boolean, scope?: Scope): Promise<ApplyResult> {
    const before = this.nl.modifyingRequests();
    let plan = await this.computePlan(prepared, fromLoop, scope);
    const outcome = plan.empty ? { applied: [], failed: [] } : await applyOps(this.nl, plan.ops, this.ctx);
    // The kernel adjusts some settings as objects are added: a bridge's MTU set at creation
    // follows its first port's. So after creating links, read once more and apply what still
    // differs, for one apply() to converge (a second pass, at most; its ops join the plan).
    if (outcome.failed.length === 0 && plan.ops.some((op) => op.kind === 'link' && LINKS.needsSecondLook(op))) {
      const second = await this.computePlan(prepared, fromLoop);
      if (!second.empty) {
        const more = await applyOps(this.nl, second.ops, this.ctx);
        outcome.applied.push(...more.applied);
        outcome.failed.push(...more.failed);
        plan = new ReconcilePlan(plan.ops.concat(second.ops), second.conflicts);
      }
    }
    const result: ApplyResult = {
      plan,
      applied: outcome.applied,
      failed: outcome.failed,
      converged: outcome.failed.length === 0 && plan.conflicts.length === 0,
      requests: this.nl.modifyingRequests() - before,
    };
    this.fire(fromLoop, () => this.emit('applied', result));
    return result;
  }

  /** What kernel events count as "ours" in watch mode, until the next plan. */
  private remember(prepared: PreparedState, view: LinkView): void {
    const referenced = new Set<number>();
    for (const ref of prepared.references) {
      const i = view.index(ref.dev);
      if (i !== undefined) referenced.add(i);
    }
    this.lastView = view;
    this.referenced = referenced;
  }

  private relevant<E extends ObjectEvent>(event: E, object: EventObjects[E], action: 'new' | 'del'): boolean {
    const w = this.watched;
    if (!w) return false;
    const view = this.lastView;
    if (isEventOf('link', event, object)) {
      const yes = this.referenced.has(object.index) || LINKS.relevant(object, w.links, view, this.ctx);
      if (yes) this.dirtyAll = true;
      return yes;
    }
    let yes = false;
    for (const k of w.kinds) {
      if (!k.relevant(event, object, view, this.ctx)) continue;
      // Where the next cycle must look: the event's key, or everything when it has none.
      const key = view === undefined ? undefined : k.eventKey(event, object, view);
      // An event that shows its key as a read would leave it (the echo of a write of ours,
      // mostly): nothing to read there; and when it shows all the key holds, an earlier event's
      // ask to read it is void too. Only when cycles are scoped.
      const settles = key !== undefined && this.scoping ? k.settledBy(event, object, action, key, view!, this.ctx) : false;
      if (settles !== false) {
        this.settled++;
        if (settles === 'key') {
          const keys = this.dirty.get(k.kind.kind);
          if (keys?.delete(key!) && keys.size === 0) this.dirty.delete(k.kind.kind);
        }
        continue;
      }
      yes = true;
      if (key === undefined) this.dirtyAll = true;
      else {
        let keys = this.dirty.get(k.kind.kind);
        if (keys === undefined) this.dirty.set(k.kind.kind, (keys = new Set()));
        keys.add(key);
      }
    }
    return yes;
  }

  /** Whether a cycle for events has nothing to look at: the last one left the kernel as the
   * state being watched, and every event since settled its key (see relevant). */
  private idle(reason: CycleReason): boolean {
    return reason === 'event' && this.scoping && this.base !== undefined && this.base.state === this.watched && !this.dirtyAll && this.dirty.size === 0;
  }

  // ------------------------------------------------------------------ watch

  /**
   * Keeps the host converged: reconciles now, then again (debounced) whenever the kernel
   * reports a change to something this reconciler owns or wants, on every resync interval, and
   * after an event overflow. Events only trigger a re-read; they are never trusted as state.
   * Failed ops are retried with exponential backoff. The desired state is read (validated and
   * indexed) now, once: to change course, call setDesired() with the new state.
   *
   * Throws, having started nothing, for invalid options or desired state (ValidationError), a
   * closed handle (NetlinkClosedError), a monitor that cannot open, or another reconciler with
   * this identity on the namespace (OwnerBusyError). If the handle is closed while watching,
   * the watch emits one 'error' and stops.
   */
  watch(desired: DesiredState, options: WatchOptions = {}): void {
    const timing = watchTiming(options);
    const prepared = this.prepare(desired); // throws ValidationError now rather than in the background
    this.scoping = timing.scopedCycles;
    if (this.loop && !this.loop.isStopped) {
      this.watched = prepared;
      this.loop.retime(timing);
      this.loop.trigger(0, 'desired');
      return;
    }
    if (this.nl.socket.isClosed) throw new NetlinkClosedError('reconciler watch');
    const lock = lockOwner(this.nl, this.owner);
    let loop: WatchLoop;
    try {
      loop = new WatchLoop(this.nl, EVENTS, timing, {
        run: (reason) => this.cycle(reason),
        relevant: (event, object, action) => this.relevant(event, object, action),
        idle: (reason) => this.idle(reason),
        failed: (error) => this.failed(error),
        starting: (reason) => this.report(() => this.emit('cycleStart', reason)),
        cycled: (cycle) => this.report(() => this.emit('cycle', { ...cycle, scoped: this.lastScoped })),
        overflowed: () => this.report(() => this.emit('overflow')),
      });
    } catch (e) {
      lock.release();
      throw e;
    }
    this.watched = prepared;
    this.base = undefined;
    this.dirty.clear();
    this.dirtyAll = false;
    this.lock = lock;
    this.loop = loop;
  }

  /** Changes the target of a running watch (read and validated now; throws ValidationError). */
  setDesired(next: DesiredState): void {
    const prepared = this.prepare(next);
    this.watched = prepared;
    if (this.loop && !this.loop.isStopped) this.loop.trigger(0, 'desired');
  }

  /** Emits an event from the watch loop's timers: a listener's exception goes to the event loop. */
  private report(emit: () => void): void {
    try {
      emit();
    } catch (e) {
      throwOnLoop(e);
    }
  }

  /**
   * One watch cycle: apply, then report. A new desired state or events after a cycle that left
   * the kernel as desired read only the keys they touch; every other reason reads everything.
   */
  private async cycle(reason: CycleReason): Promise<'retry' | 'done'> {
    const target = this.watched;
    this.lastScoped = false;
    if (!target) return 'done';
    // Events from here on name what the next cycle must look at.
    const dirty = this.dirty;
    const all = this.dirtyAll;
    this.dirty = new Map();
    this.dirtyAll = false;
    const base = this.base;
    this.base = undefined; // until this cycle has applied everything
    const scope = this.scoping && base !== undefined && !all && (reason === 'event' || reason === 'desired') ? { base, dirty } : undefined;
    try {
      const res = await this.serial(() => this.applyPrepared(target, true, scope));
      const view = this.lastView;
      // Links changed: the kernel may adjust what it was given (see applyPrepared); read whole next time.
      if (res.failed.length === 0 && res.plan.conflicts.length === 0 && view !== undefined && !res.plan.ops.some((op) => op.kind === 'link')) {
        this.base = { state: target, view };
      }
      if (res.plan.ops.length) this.fire(true, () => this.emit('drift', res.plan.ops));
      if (res.failed.length) return 'retry';
      if (res.converged) this.fire(true, () => this.emit('converged'));
      return 'done';
    } catch (e) {
      if (!(e instanceof ListenerFault)) throw e;
      throwOnLoop(e.error);
      return 'done';
    }
  }

  /** A cycle or the monitor failed: report it; false (stop) when the handle is closed. */
  private failed(error: Error): boolean {
    const closed = this.nl.socket.isClosed;
    const reported = closed ? Object.assign(new NetlinkClosedError('reconciler watch'), { message: 'reconciler watch: the Rtnl handle was closed, so the watch stops (call watch() again on an open handle)', cause: error }) : error;
    try {
      this.emit('error', reported);
    } catch (e) {
      throwOnLoop(e);
    }
    if (closed) this.endWatch();
    return !closed;
  }

  private endWatch(): void {
    this.loop?.stop();
    this.loop = undefined;
    this.lock?.release();
    this.lock = undefined;
  }

  /** Stops watching (the kernel is left as it is). Resolves when a running cycle is done. */
  async stop(): Promise<void> {
    this.loop?.stop();
    this.loop = undefined;
    await this.queue;
    this.lock?.release();
    this.lock = undefined;
  }
}
