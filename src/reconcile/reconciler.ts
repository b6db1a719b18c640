import { EventEmitter } from 'eventemitter3';
import type { Monitor } from '../rtnl/monitor';
import type { Rtnl } from '../rtnl/rtnl';
import type { Link, Route } from '../rtnl/types';
import { ValidationError } from '../values/problems';
import { applyOps } from './apply';
import { checkForeign, diffAddresses, diffFdb, diffLinks, diffNeighbors, diffRoutes, type DiffContext } from './diff';
import { observe, observeForeignRoutes, type Observed } from './observe';
import { observeRoutes } from './routescan';
import { ReconcilePlan } from './plan';
import { prepareDesired, type PreparedState } from './prepare';
import {
  RTPROT_NETLINK_AGENT,
  type ApplyResult,
  type DesiredState,
  type Plan,
  type ReconcilerEvents,
  type ReconcilerOptions,
  type WatchOptions,
} from './types';

interface Cycle {
  plan: ReconcilePlan;
  observed: Observed;
}

/**
 * Desired state in, minimal kernel changes out.
 *
 * ```ts
 * const r = new Reconciler(nl, { protocol: 77 });
 * console.log((await r.plan(desired)).text());
 * const res = await r.apply(desired);       // res.converged, res.failed
 * r.watch(desired);                          // keep it so; r.setDesired(next) to change course
 * ```
 * plan() and apply() throw ValidationError (listing every problem) before sending anything
 * when the desired state is invalid. Kernel failures of single ops do not throw: they are in
 * ApplyResult.failed.
 */
export class Reconciler extends EventEmitter<ReconcilerEvents> {
  readonly protocol: number;
  private readonly ctx: DiffContext;
  private queue: Promise<unknown> = Promise.resolve();
  // watch state
  /** What watch cycles converge to: prepared (validated, indexed) once by watch()/setDesired(). */
  private watched: PreparedState | undefined;
  private monitor: Monitor | undefined;
  private watchOpts: Required<Omit<WatchOptions, 'monitorReceiveBufferBytes'>> | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoff = 0;
  private running = false;
  private rerun = false;
  private stopped = true;
  private relevant: { names: Set<string>; indexes: Set<number>; prepared?: PreparedState } = { names: new Set(), indexes: new Set() };

  constructor(
    private readonly nl: Rtnl,
    options: ReconcilerOptions = {},
  ) {
    super();
    this.protocol = options.protocol ?? RTPROT_NETLINK_AGENT;
    if (!Number.isInteger(this.protocol) || this.protocol < 1 || this.protocol > 255) {
      throw new RangeError(`protocol must be 1..255, got ${options.protocol}`);
    }
    this.ctx = {
      protocol: this.protocol,
      ownerAlias: options.linkOwnerAlias ?? 'netlink-agent',
      adoptConflicts: options.adoptConflicts ?? false,
    };
  }

  private prepare(desired: DesiredState): PreparedState {
    return prepareDesired(desired, this.protocol);
  }

  /**
   * Validates, reads the kernel and computes the ops. Sends no modifying request. The desired
   * state is read when called: change it and pass it again, and the change counts.
   */
  async plan(desired: DesiredState): Promise<Plan> {
    const prepared = this.prepare(desired);
    return this.serial(async () => (await this.computePlan(prepared)).plan);
  }

  /** Plans and applies; resolves with every op's outcome. Reads desired when called, as plan(). */
  async apply(desired: DesiredState): Promise<ApplyResult> {
    const prepared = this.prepare(desired);
    return this.serial(() => this.applyPrepared(prepared));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async computePlan(prepared: PreparedState): Promise<Cycle> {
    const observed = await observe(this.nl, prepared, this.ctx.ownerAlias);
    this.checkReferences(prepared, observed);
    const links = diffLinks(prepared, observed, this.ctx);
    const read = await observeRoutes(this.nl, prepared, observed, links.vanishing, this.protocol);
    const routes = diffRoutes(prepared, observed, read, links.vanishing, this.ctx);
    if (routes.missingTables.size) {
      // Some desired routes are missing from what we own: is a foreign route on their key?
      const foreign = await observeForeignRoutes(this.nl, routes.missingTables, this.protocol);
      checkForeign(routes, prepared, foreign, links.vanishing, this.ctx);
    }
    const others = links.ops.concat(
      diffAddresses(prepared, observed, links.vanishing),
      diffNeighbors(prepared, observed, links.vanishing),
      diffFdb(prepared, observed, links.vanishing),
    );
    // A big plan is nearly all routes: no copy of it when there is nothing else.
    const ops = others.length ? others.concat(routes.ops) : routes.ops;
    this.remember(prepared, observed);
    const plan = new ReconcilePlan(ops, routes.conflicts);
    this.emit('plan', plan);
    for (const c of plan.conflicts) this.emit('conflict', c);
    return { plan, observed };
  }

  /** Devices named by desired objects must be desired links or exist already. */
  private checkReferences(prepared: PreparedState, observed: Observed): void {
    const desiredNames = new Set(prepared.links.map((l) => l.spec.name));
    const problems: Array<{ path: string; message: string }> = [];
    for (const r of prepared.references) {
      const ok = typeof r.dev === 'number' ? observed.byIndex.has(r.dev) : desiredNames.has(r.dev) || observed.byName.has(r.dev);
      if (!ok) problems.push({ path: r.path, message: `device ${JSON.stringify(r.dev)} is neither desired nor present` });
    }
    // Reported like every other validation problem: nothing has been written.
    if (problems.length) throw new ValidationError(problems, 'invalid desired state');
  }

  private async applyPrepared(prepared: PreparedState): Promise<ApplyResult> {
    const before = this.nl.modifyingRequests();
    let { plan } = await this.computePlan(prepared);
    const outcome = plan.empty ? { applied: [], failed: [] } : await applyOps(this.nl, plan.ops, this.protocol);
    // The kernel adjusts some settings as objects are added: a bridge's MTU set at creation
    // follows its first port's. So after creating links, read once more and apply what still
    // differs, for one apply() to converge (a second pass, at most; its ops join the plan).
    if (outcome.failed.length === 0 && plan.ops.some((op) => op.kind === 'link' && (op.action === 'create' || op.action === 'recreate'))) {
      const second = (await this.computePlan(prepared)).plan;
      if (!second.empty) {
        const more = await applyOps(this.nl, second.ops, this.protocol);
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
    this.emit('applied', result);
    return result;
  }

  /** What events count as "ours" in watch mode. */
  private remember(prepared: PreparedState, observed: Observed): void {
    const names = new Set(prepared.links.map((l) => l.spec.name));
    for (const l of observed.links) if (l.alias === this.ctx.ownerAlias) names.add(l.name);
    const indexes = new Set(observed.managed);
    for (const ref of prepared.references) {
      const i = typeof ref.dev === 'number' ? ref.dev : observed.byName.get(ref.dev)?.index;
      if (i !== undefined) indexes.add(i);
    }
    this.relevant = { names, indexes, prepared };
  }

  // ------------------------------------------------------------------ watch

  /**
   * Keeps the host converged: reconciles now, then again (debounced) whenever the kernel
   * reports a change to something this reconciler owns or wants, on every resync interval, and
   * after an event overflow. Events only trigger a re-read; they are never trusted as state.
   * Failed ops are retried with exponential backoff. The desired state is read (validated and
   * indexed) now, once: to change course, call setDesired() with the new state.
   */
  watch(desired: DesiredState, options: WatchOptions = {}): void {
    this.watched = this.prepare(desired); // throws ValidationError now rather than in the background
    this.watchOpts = {
      resyncIntervalMs: options.resyncIntervalMs ?? 30_000,
      debounceMs: options.debounceMs ?? 50,
      minBackoffMs: options.minBackoffMs ?? 200,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
    };
    if (!this.stopped) return this.trigger(0);
    this.stopped = false;
    const m = this.nl.monitor({ groups: ['link', 'addr', 'route', 'neigh'], receiveBufferBytes: options.monitorReceiveBufferBytes });
    this.monitor = m;
    m.on('link', (e) => {
      const l = e.object as Link;
      if (this.relevant.names.has(l.name) || this.relevant.indexes.has(l.index)) this.trigger();
    });
    m.on('address', (e) => this.relevant.indexes.has(e.object.index) && this.trigger());
    m.on('neighbor', (e) => this.relevant.indexes.has(e.object.index) && this.trigger());
    m.on('fdb', (e) => this.relevant.indexes.has(e.object.index) && this.trigger());
    m.on('route', (e) => {
      const r = e.object as Route;
      // A foreign route matters when it lands on a desired key.
      const p = this.relevant.prepared;
      if (r.protocol === this.protocol || (p && p.routeIndex.findRoute(r) >= 0)) this.trigger();
    });
    m.on('overflow', () => this.trigger(0)); // events were lost: re-read everything
    m.on('error', (err: Error) => this.emit('error', err));
    this.trigger(0);
  }

  /** Changes the target of a running watch (read and validated now; throws ValidationError). */
  setDesired(next: DesiredState): void {
    this.watched = this.prepare(next);
    if (!this.stopped) this.trigger(0);
  }

  private trigger(delay = this.watchOpts?.debounceMs ?? 50): void {
    if (this.stopped) return;
    if (this.debounceTimer) {
      // A cycle is already due: later events ride along instead of pushing it back, or steady
      // churn (events closer together than debounceMs) would starve every repair.
      if (delay > 0) return;
      clearTimeout(this.debounceTimer);
    }
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      void this.cycle();
    }, delay);
  }

  private async cycle(): Promise<void> {
    const target = this.watched;
    if (this.stopped || !target) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    try {
      const res = await this.serial(() => this.applyPrepared(target));
      if (res.plan.ops.length) this.emit('drift', res.plan.ops);
      if (res.failed.length) this.scheduleRetry();
      else {
        this.backoff = 0;
        if (res.converged) this.emit('converged');
      }
    } catch (e) {
      this.emit('error', e instanceof Error ? e : new Error(String(e)));
      this.scheduleRetry();
    } finally {
      this.running = false;
      this.scheduleResync();
      if (this.rerun) {
        this.rerun = false;
        this.trigger(0);
      }
    }
  }

  private scheduleRetry(): void {
    if (this.stopped || !this.watchOpts) return;
    const o = this.watchOpts;
    this.backoff = this.backoff ? Math.min(this.backoff * 2, o.maxBackoffMs) : o.minBackoffMs;
    this.retryTimer = setTimeout(() => void this.cycle(), this.backoff);
  }

  private scheduleResync(): void {
    if (this.stopped || !this.watchOpts) return;
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.resyncTimer = setTimeout(() => void this.cycle(), this.watchOpts.resyncIntervalMs);
  }

  /** Stops watching (the kernel is left as it is). Resolves when a running cycle is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.debounceTimer, this.resyncTimer, this.retryTimer]) if (t) clearTimeout(t);
    this.debounceTimer = this.resyncTimer = this.retryTimer = undefined;
    this.monitor?.close();
    this.monitor = undefined;
    await this.queue;
  }
}
