/**
 * Keeping a host converged: a monitor whose relevant events trigger a debounced cycle, a
 * periodic resync, a resync after an event overflow, and retries with exponential backoff.
 * Events only trigger a re-read; they are never trusted as state (level-triggered).
 *
 * Starting is all or nothing: the options are checked and the monitor opened before anything
 * is kept, so a watch that throws leaves nothing behind and the next one starts clean.
 */
import type { Monitor, MonitorEvent, MonitorGroup } from '../../rtnl/monitor';
import type { Rtnl } from '../../rtnl/rtnl';
import { Problems, ValidationError, checkInt, checkKeys, describeValue, isObject, own } from '../../values/problems';
import type { CycleReason, WatchCycle, WatchOptions } from '../types';
import type { EventObjects, ObjectEvent } from './kind';

/** WatchOptions with every default filled in. */
export interface WatchTiming {
  readonly resyncIntervalMs: number;
  readonly debounceMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly monitorReceiveBufferBytes: number | undefined;
  readonly scopedCycles: boolean;
}

const WATCH_KEYS = ['resyncIntervalMs', 'debounceMs', 'minBackoffMs', 'maxBackoffMs', 'monitorReceiveBufferBytes', 'scopedCycles'] as const;
/** Longest timer Node.js keeps (2^31 - 1 ms). */
const MAX_TIMER_MS = 0x7fffffff;

/** Checks WatchOptions and fills in the defaults; throws one ValidationError naming every problem. */
export function watchTiming(options: unknown): WatchTiming {
  const p = new Problems();
  if (!isObject(options)) throw new ValidationError([{ path: '', message: `watch options must be an object, got ${describeValue(options)}` }], 'invalid watch options');
  const o = options;
  checkKeys(p, '', o, WATCH_KEYS);
  const num = (key: keyof WatchOptions, dflt: number, min: number, max = MAX_TIMER_MS): number => {
    const v = own(o, key);
    if (v === undefined) return dflt;
    return checkInt(p, key, v, min, max) ? v : dflt;
  };
  const scoped = own(o, 'scopedCycles');
  if (scoped !== undefined && typeof scoped !== 'boolean') p.add('scopedCycles', `expected true or false, got ${describeValue(scoped)}`);
  const timing = {
    resyncIntervalMs: num('resyncIntervalMs', 30_000, 1),
    debounceMs: num('debounceMs', 50, 0),
    minBackoffMs: num('minBackoffMs', 200, 1),
    maxBackoffMs: num('maxBackoffMs', 30_000, 1),
    // The kernel takes at least SOCK_MIN_RCVBUF; the monitor refuses less than 1 KiB.
    monitorReceiveBufferBytes: own(o, 'monitorReceiveBufferBytes') === undefined ? undefined : num('monitorReceiveBufferBytes', 0, 1024, 0x7fffffff),
    scopedCycles: scoped !== false,
  };
  if (p.ok && timing.maxBackoffMs < timing.minBackoffMs) p.add('maxBackoffMs', `${timing.maxBackoffMs} is less than minBackoffMs (${timing.minBackoffMs})`);
  p.throwIfAny('invalid watch options');
  return timing;
}

/** The monitor group that carries each kind of event. */
const GROUP_OF: Record<ObjectEvent, MonitorGroup> = { link: 'link', address: 'addr', route: 'route', neighbor: 'neigh', fdb: 'neigh', nexthop: 'nexthop', rule: 'rule' };

/** Which reason names a cycle that several triggers asked for: the higher. */
const REASON_RANK: Record<CycleReason, number> = { event: 0, retry: 1, resync: 1, desired: 2, overflow: 3, start: 4 };

/** What a WatchLoop asks of its owner. */
export interface WatchHooks {
  /** One reconcile. Resolves 'retry' when some op failed (backoff), 'done' otherwise; throws
   * when the cycle failed (the loop reports it through error() and retries). */
  run(reason: CycleReason): Promise<'retry' | 'done'>;
  /** Whether a kernel event can matter (action: the object is new or changed, or deleted). */
  relevant<E extends ObjectEvent>(event: E, object: EventObjects[E], action: 'new' | 'del'): boolean;
  /** A cycle or the monitor failed. Returns false when the watch cannot go on (the handle is closed): the loop then stops. */
  failed(error: Error): boolean;
  /** Whether a cycle for this reason would have nothing to look at (then it does not run: the
   * events that asked for it all turned out to settle their keys). */
  idle?(reason: CycleReason): boolean;
  /** A cycle starts (for metrics and health: a cycle that never ends is a stuck reconciler). */
  starting?(reason: CycleReason): void;
  /** A cycle ended, with why it ran, how long it took and how it ended (scoped: as run() reported it). */
  cycled?(cycle: Omit<WatchCycle, 'scoped'>): void;
  /** The monitor's receive buffer overflowed: events were lost, a full re-read follows. */
  overflowed?(): void;
}

/** The running part of a watch: monitor, timers, backoff. */
export class WatchLoop {
  private debounceTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoff = 0;
  private running = false;
  private rerun = false;
  private stopped = false;
  /** Why the next cycle runs: the first reason since the last cycle started. */
  private reason: CycleReason | undefined;
  private readonly monitor: Monitor;

  /** Opens the monitor (throws, keeping nothing, when it cannot) and starts the first cycle. */
  constructor(
    nl: Rtnl,
    events: readonly ObjectEvent[],
    private timing: WatchTiming,
    private readonly hooks: WatchHooks,
  ) {
    const groups = [...new Set(events.map((e) => GROUP_OF[e]))];
    const m = nl.monitor({ groups, receiveBufferBytes: timing.monitorReceiveBufferBytes });
    this.monitor = m;
    for (const event of new Set(events)) this.listen(event);
    m.on('overflow', () => {
      this.hooks.overflowed?.();
      this.trigger(0, 'overflow'); // events were lost: re-read everything
    });
    m.on('error', (err: Error) => {
      if (!this.hooks.failed(err)) this.stop();
    });
    this.trigger(0, 'start');
  }

  /** Subscribes to one kind of object event: a relevant one triggers a cycle. */
  private listen<E extends ObjectEvent>(event: E): void {
    // The monitor's on() seen per object event: EventObjects is derived from MonitorEvents, so
    // this is its own signature, which TypeScript cannot follow through a generic key.
    const on = this.monitor.on.bind(this.monitor) as (event: E, listener: (e: MonitorEvent<EventObjects[E]>) => void) => unknown;
    on(event, (e) => {
      if (this.hooks.relevant(event, e.object, e.action)) this.trigger();
    });
  }

  /** New timing for a running watch (watch() called again). */
  retime(timing: WatchTiming): void {
    this.timing = timing;
  }

  /** Whether stop() was called (or the watch stopped itself). */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** A cycle after delay (default: the debounce). */
  trigger(delay = this.timing.debounceMs, reason: CycleReason = 'event'): void {
    if (this.stopped) return;
    // Triggers that come together make one cycle, named by the most telling of their reasons.
    if (this.reason === undefined || REASON_RANK[reason] > REASON_RANK[this.reason]) this.reason = reason;
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

  private async cycle(timer?: 'retry' | 'resync'): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    const reason = this.reason ?? timer ?? 'event';
    this.reason = undefined;
    if (this.hooks.idle?.(reason)) return;
    this.running = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const started = performance.now();
    this.hooks.starting?.(reason);
    let outcome: 'retry' | 'done' | Error;
    try {
      outcome = await this.hooks.run(reason);
    } catch (e) {
      outcome = e instanceof Error ? e : new Error(String(e));
    }
    this.running = false;
    this.hooks.cycled?.({ reason, durationMs: performance.now() - started, outcome: outcome instanceof Error ? 'error' : outcome === 'retry' ? 'failed-ops' : 'done' });
    if (outcome instanceof Error) {
      if (this.hooks.failed(outcome)) this.scheduleRetry();
      else this.stop();
    } else if (outcome === 'retry') this.scheduleRetry();
    else this.backoff = 0;
    this.scheduleResync();
    if (this.rerun) {
      this.rerun = false;
      this.trigger(0, this.reason ?? 'event');
    }
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const t = this.timing;
    this.backoff = this.backoff ? Math.min(this.backoff * 2, t.maxBackoffMs) : t.minBackoffMs;
    this.retryTimer = setTimeout(() => void this.cycle('retry'), this.backoff);
  }

  private scheduleResync(): void {
    if (this.stopped) return;
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.resyncTimer = setTimeout(() => void this.cycle('resync'), this.timing.resyncIntervalMs);
  }

  /** Stops: no cycle starts afterwards (a running one finishes), the monitor is closed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.debounceTimer, this.resyncTimer, this.retryTimer]) if (t) clearTimeout(t);
    this.debounceTimer = this.resyncTimer = this.retryTimer = undefined;
    this.monitor.close();
  }
}
