/**
 * Liveness and readiness of an agent from its StatsSnapshot, as Kubernetes probes ask them:
 *
 * - live (healthz): the reconciler is not stuck. No watch cycle has been running for longer
 *   than maxCycleMs, and, once watching, one has finished within maxQuietMs (the watch resyncs
 *   periodically, so a long silence means its timers stopped). That the answer comes at all
 *   shows the event loop runs.
 * - ready (readyz): the kernel was brought to the desired state at least once, and the
 *   membership source is in sync (connected). Until then the node is not part of the pod
 *   network yet; when the source is lost it keeps its routes but is no longer up to date.
 *   An agent without a membership source (a desired state from a file) is ready once converged.
 */
import type { StatsSnapshot } from './stats';

/** Bounds of the liveness check, ms. */
export interface HealthBounds {
  /** Longest a single watch cycle may run. Default 120 s. */
  maxCycleMs?: number;
  /** Longest the watch may go without finishing a cycle. Default 180 s (resync 30 s, backoff 30 s, slack). */
  maxQuietMs?: number;
}

/** A probe's answer: ok, and the reasons when not (or what it is waiting for). */
export interface ProbeResult {
  ok: boolean;
  reasons: string[];
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** healthz: see the module doc. `watching`: whether the reconciler's watch has started. */
export function liveness(s: StatsSnapshot, watching: boolean, bounds: HealthBounds = {}): ProbeResult {
  const maxCycle = bounds.maxCycleMs ?? 120_000;
  const maxQuiet = bounds.maxQuietMs ?? 180_000;
  const reasons: string[] = [];
  const r = s.reconcile;
  if (r.cycleRunningSince !== undefined && s.at - r.cycleRunningSince > maxCycle) {
    reasons.push(`a reconcile cycle has been running for ${seconds(s.at - r.cycleRunningSince)} (bound ${seconds(maxCycle)})`);
  }
  if (watching && r.cycleRunningSince === undefined && r.lastCycleEnd !== undefined && s.at - r.lastCycleEnd > maxQuiet) {
    reasons.push(`no reconcile cycle has finished for ${seconds(s.at - r.lastCycleEnd)} (bound ${seconds(maxQuiet)})`);
  }
  return { ok: reasons.length === 0, reasons };
}

/** What readiness asks of an agent: `membership: false` for one without a membership source
 * (`netlink-agent watch`: a desired state from a file), ready once converged. */
export interface ReadinessOptions {
  membership?: boolean;
}

/** readyz: see the module doc. */
export function readiness(s: StatsSnapshot, o: ReadinessOptions = {}): ProbeResult {
  const reasons: string[] = [];
  if (s.reconcile.firstConverged === undefined) reasons.push('the kernel has not yet been brought to the desired state');
  if (o.membership !== false && s.membership.state !== 'connected') reasons.push(s.membership.state === 'unknown' ? 'membership has not been read yet' : 'membership source unreachable: the node list may be stale');
  return { ok: reasons.length === 0, reasons };
}
