/**
 * Operational counters of an agent, as data: what its reconciler did (cycles, ops by kind and
 * action, drift repairs, conflicts, event overflows), what its membership source says (nodes,
 * skipped records, connection, revision, last read) and what its netlink socket carried
 * (requests, errors by errno, dumps). Embedders read snapshot() or listen to 'cycle'; the
 * `netlink-agent` command serves the same numbers to Prometheus. Nothing here needs an HTTP
 * server or a metrics library.
 *
 * Counting happens in listeners of the objects' own events and in plain integers on the
 * socket: no work in the hot paths beyond an increment.
 *
 * @example
 * ```ts
 * const stats = new AgentStats();
 * stats.observeReconciler(agent.reconciler);
 * stats.observeMembership(membership);
 * stats.observeNetlink(nl);
 * setInterval(() => console.log(stats.snapshot().reconcile.ops), 10_000);
 * ```
 */
import { EventEmitter } from 'eventemitter3';
import type { Membership } from '../membership/types';
import type { Reconciler } from '../reconcile/reconciler';
import type { ApplyResult, CycleReason, WatchCycle } from '../reconcile/types';
import type { GenlSocket } from '../wire/genl';
import type { NetlinkSocket } from '../wire/socket';

/** How many ops of one kind and action were applied and failed. */
export interface OpCount {
  kind: string;
  action: string;
  applied: number;
  failed: number;
}

/** Watch cycles of one reason and outcome. */
export interface CycleCount {
  reason: CycleReason;
  outcome: WatchCycle['outcome'];
  count: number;
}

/** Everything AgentStats counts, at one moment. Times are milliseconds since the epoch. */
export interface StatsSnapshot {
  /** When the snapshot was taken. */
  at: number;
  reconcile: {
    /** Watch cycles by reason and outcome. */
    cycles: CycleCount[];
    /** Total wall time of all watch cycles, ms. */
    cycleMsTotal: number;
    /** Start of the cycle running now, if one is. */
    cycleRunningSince: number | undefined;
    /** End of the last watch cycle. */
    lastCycleEnd: number | undefined;
    /** Ops applied and failed, by kind and action (apply() and watch cycles alike). */
    ops: OpCount[];
    /** Ops applied by watch cycles that were started by the kernel changing (an event, an
     * overflow, a resync, a retry), not by a new desired state: repairs of drift. */
    driftRepairs: number;
    /** Conflicts reported, summed over plans (a lasting conflict counts once per plan). */
    conflictsSeen: number;
    /** Conflicts in the last plan. */
    conflictsNow: number;
    /** Event monitor overflows (each followed by a full re-read). */
    overflows: number;
    /** Kernel events that showed their key as desired, so were not read (Reconciler.settledEvents:
     * mostly the echoes of the reconciler's own writes). */
    settledEvents: number;
    /** The reconciler's 'error' events: failed watch cycles and monitors (it retries). */
    errors: number;
    /** Whether the last apply (or cycle) converged; undefined before the first. */
    converged: boolean | undefined;
    /** The first and the last time the kernel was found converged. */
    firstConverged: number | undefined;
    lastConverged: number | undefined;
  };
  membership: {
    /** 'unknown' before the source said anything. */
    state: 'connected' | 'disconnected' | 'unknown';
    /** The store revision of the last full read (etcd), when the source has revisions. */
    revision: string | undefined;
    /** The last time the node list was known to be in sync with the source. */
    lastRead: number | undefined;
    nodes: number;
    skipped: number;
  };
  netlink: {
    /** Requests sent: reads (GET and dumps) and modifying ones (NEW, DEL, SET). */
    readRequests: number;
    modifyingRequests: number;
    /** Failed requests by errno name (ETIMEDOUT: no answer in time). */
    errors: Record<string, number>;
    /** Dumps completed and the objects they returned. */
    dumps: number;
    dumpObjects: number;
  };
}

/** The events AgentStats emits. */
export interface AgentStatsEvents {
  /** A watch cycle ended (as Reconciler's 'cycle'): for histograms of the duration. */
  cycle: (cycle: WatchCycle) => void;
}

/** rtnetlink message types start at 16 in groups of four (NEW, DEL, GET, SET); a GET is 4k + 2. */
const RTM_BASE = 16;

/** Counts what an agent's reconciler, membership and netlink socket do (see the module doc). */
export class AgentStats extends EventEmitter<AgentStatsEvents> {
  private readonly now: () => number;
  private readonly cycles = new Map<string, CycleCount>();
  private cycleMsTotal = 0;
  private cycleRunningSince: number | undefined;
  private cycleReason: CycleReason | undefined;
  private lastCycleEnd: number | undefined;
  private readonly ops = new Map<string, OpCount>();
  private driftRepairs = 0;
  private conflictsSeen = 0;
  private conflictsNow = 0;
  private overflows = 0;
  /** Reconcilers observed now (their settledEvents are read at each snapshot), and what those
   * no longer observed had counted. */
  private readonly reconcilers = new Set<Reconciler>();
  private settledBefore = 0;
  private errors = 0;
  private converged: boolean | undefined;
  private firstConverged: number | undefined;
  private lastConverged: number | undefined;
  private membershipState: StatsSnapshot['membership']['state'] = 'unknown';
  private revision: string | undefined;
  private lastRead: number | undefined;
  private nodes = 0;
  private skipped = 0;
  private readonly sockets = new Set<NetlinkSocket>();
  /** Rtnl handles whose generic netlink socket (WireGuard's requests) is summed too, once opened. */
  private readonly genlSources = new Set<{ genlIfOpen(): GenlSocket | undefined }>();

  /** `now` is for tests (default Date.now). */
  constructor(options: { now?: () => number } = {}) {
    super();
    this.now = options.now ?? Date.now;
  }

  /** Counts what a Reconciler does from now on. Returns a function that stops counting. */
  observeReconciler(r: Reconciler): () => void {
    const onStart = (reason: CycleReason) => {
      this.cycleRunningSince = this.now();
      this.cycleReason = reason;
    };
    const onCycle = (c: WatchCycle) => {
      const key = `${c.reason} ${c.outcome}`;
      const entry = this.cycles.get(key) ?? { reason: c.reason, outcome: c.outcome, count: 0 };
      entry.count++;
      this.cycles.set(key, entry);
      this.cycleMsTotal += c.durationMs;
      this.cycleRunningSince = undefined;
      this.cycleReason = undefined;
      this.lastCycleEnd = this.now();
      this.emit('cycle', c);
    };
    const onPlan = (plan: { conflicts: readonly unknown[] }) => {
      this.conflictsSeen += plan.conflicts.length;
      this.conflictsNow = plan.conflicts.length;
    };
    const onApplied = (res: ApplyResult) => {
      for (const op of res.applied) this.op(op.kind, op.action).applied++;
      for (const f of res.failed) this.op(f.op.kind, f.op.action).failed++;
      // A watch cycle that the kernel started (not a new desired state) repairs drift.
      const r = this.cycleReason;
      if (r !== undefined && r !== 'start' && r !== 'desired') this.driftRepairs += res.applied.length;
      this.converged = res.converged;
      if (res.converged) this.markConverged();
    };
    const onOverflow = () => this.overflows++;
    const onError = () => this.errors++;
    r.on('cycleStart', onStart);
    r.on('cycle', onCycle);
    r.on('plan', onPlan);
    r.on('applied', onApplied);
    r.on('overflow', onOverflow);
    r.on('error', onError);
    // Its settled events are counted from now on (read at each snapshot, kept when it is let go).
    const added = !this.reconcilers.has(r);
    if (added) {
      this.reconcilers.add(r);
      this.settledBefore -= r.settledEvents;
    }
    return () => {
      if (added && this.reconcilers.delete(r)) this.settledBefore += r.settledEvents;
      r.off('cycleStart', onStart);
      r.off('cycle', onCycle);
      r.off('plan', onPlan);
      r.off('applied', onApplied);
      r.off('overflow', onOverflow);
      r.off('error', onError);
    };
  }

  /** Counts what a membership source reports from now on. Returns a function that stops counting. */
  observeMembership(m: Membership): () => void {
    const onNodes = (nodes: readonly unknown[]) => (this.nodes = nodes.length);
    const onSkipped = (list: readonly unknown[]) => (this.skipped = list.length);
    const onStatus = (s: { state: 'connected' | 'disconnected' }) => (this.membershipState = s.state);
    const onRead = (info: { revision?: string }) => {
      this.lastRead = this.now();
      if (info.revision !== undefined) this.revision = info.revision;
      this.membershipState = 'connected';
    };
    m.on('nodes', onNodes);
    m.on('skipped', onSkipped);
    m.on('status', onStatus);
    m.on('read', onRead);
    return () => {
      m.off('nodes', onNodes);
      m.off('skipped', onSkipped);
      m.off('status', onStatus);
      m.off('read', onRead);
    };
  }

  /** Adds a netlink socket (or an Rtnl's: its socket, and its generic netlink socket once
   * genl() opened it) whose counters the snapshots sum. */
  observeNetlink(source: NetlinkSocket | { socket: NetlinkSocket; genlIfOpen?(): GenlSocket | undefined }): () => void {
    const s = 'socket' in source ? source.socket : source;
    this.sockets.add(s);
    const g = 'genlIfOpen' in source && typeof source.genlIfOpen === 'function' ? (source as { genlIfOpen(): GenlSocket | undefined }) : undefined;
    if (g) this.genlSources.add(g);
    return () => {
      this.sockets.delete(s);
      if (g) this.genlSources.delete(g);
    };
  }

  private op(kind: string, action: string): OpCount {
    const key = `${kind} ${action}`;
    let c = this.ops.get(key);
    if (!c) {
      c = { kind, action, applied: 0, failed: 0 };
      this.ops.set(key, c);
    }
    return c;
  }

  private markConverged(): void {
    const t = this.now();
    this.firstConverged ??= t;
    this.lastConverged = t;
  }

  /** The counters now (a copy: later changes do not show in it). */
  snapshot(): StatsSnapshot {
    let readRequests = 0;
    let modifyingRequests = 0;
    const errors: Record<string, number> = {};
    let dumps = 0;
    let dumpObjects = 0;
    for (const s of this.sockets) {
      const t = s.sentByType;
      for (let type = 0; type < t.length; type++) {
        if (type >= RTM_BASE && (type & 3) !== 2) modifyingRequests += t[type];
        else readRequests += t[type];
      }
      for (const [code, n] of s.errorsByCode) errors[code] = (errors[code] ?? 0) + n;
      dumps += s.dumpsCompleted;
      dumpObjects += s.dumpObjects;
    }
    for (const source of this.genlSources) {
      const g = source.genlIfOpen();
      if (!g) continue;
      // Generic netlink message types are family ids, not RTM_*: the socket classifies its own.
      readRequests += g.readRequests;
      modifyingRequests += g.modifyingRequests;
      for (const [code, n] of g.socket.errorsByCode) errors[code] = (errors[code] ?? 0) + n;
      dumps += g.socket.dumpsCompleted;
      dumpObjects += g.socket.dumpObjects;
    }
    return {
      at: this.now(),
      reconcile: {
        cycles: [...this.cycles.values()].map((c) => ({ ...c })),
        cycleMsTotal: this.cycleMsTotal,
        cycleRunningSince: this.cycleRunningSince,
        lastCycleEnd: this.lastCycleEnd,
        ops: [...this.ops.values()].map((c) => ({ ...c })),
        driftRepairs: this.driftRepairs,
        conflictsSeen: this.conflictsSeen,
        conflictsNow: this.conflictsNow,
        overflows: this.overflows,
        settledEvents: this.settledEventsNow(),
        errors: this.errors,
        converged: this.converged,
        firstConverged: this.firstConverged,
        lastConverged: this.lastConverged,
      },
      membership: { state: this.membershipState, revision: this.revision, lastRead: this.lastRead, nodes: this.nodes, skipped: this.skipped },
      netlink: { readRequests, modifyingRequests, errors, dumps, dumpObjects },
    };
  }

  private settledEventsNow(): number {
    let n = this.settledBefore;
    for (const r of this.reconcilers) n += r.settledEvents;
    return n;
  }
}
