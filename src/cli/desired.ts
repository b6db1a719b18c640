/**
 * `plan`, `apply` and `watch`: a desired state from a JSON file against the kernel.
 *
 *   plan   prints what would change; exit 0 when nothing, 2 when changes are pending
 *   apply  makes the changes; exit 0 when converged, 1 otherwise
 *   watch  keeps the kernel converged until SIGTERM/SIGINT (SIGHUP re-reads the file)
 */
import { Reconciler } from '../reconcile/reconciler';
import type { ApplyResult, DesiredState, Plan, ReconcilerOptions } from '../reconcile/types';
import { EXIT_CHANGES, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, describeError, loggerFor, openRtnl, reloadOnHangup, untilSignal, type CliIO, type CommonOptions } from './common';
import { readJsonFile } from './json-file';
import { readDesiredKeyFiles } from './wireguard';
import type { Logger } from './log';
import type { MetricsServer } from './metrics-server';
import { AgentStats } from '../metrics/stats';
import { agentVersion } from '../membership/version';
import { hostname } from 'node:os';
import { CONFIG_OWNER, resolveOwner, type OwnerIdentityFlags } from './owner';

/** The options of plan, apply and watch. */
export interface DesiredOptions extends CommonOptions, OwnerIdentityFlags {
  config: string;
  /** watch: full re-read interval. */
  resyncMs?: number;
  /** watch: --metrics-addr HOST:PORT, serve /metrics, /healthz and /readyz there. */
  metricsAddr?: string;
}

/** Reads and parses the desired-state file; throws ValidationError when it is not JSON, or is
 * too big or too deeply nested to be one (checked while reading, before parsing), or when a
 * WireGuard device's privateKeyFile cannot be read as a key (readDesiredKeyFiles). The
 * reconciler validates the content. */
export async function loadDesired(file: string): Promise<DesiredState> {
  const what = 'invalid desired state';
  return readDesiredKeyFiles(readJsonFile(file, { what }) as DesiredState, file, what);
}

function reconcilerOptions(o: DesiredOptions): ReconcilerOptions {
  return resolveOwner(o, CONFIG_OWNER).reconciler;
}

/** The plan as data (for --json). */
export function planToJson(plan: Plan): object {
  return {
    empty: plan.empty,
    ops: plan.ops.map((o) => ({ action: o.action, kind: o.kind, key: o.key, reason: o.reason })),
    conflicts: plan.conflicts.map((c) => ({ kind: c.kind, key: c.key, reason: c.reason })),
  };
}

/** netlink-agent plan: exit 0 (no changes), 2 (changes pending), 1 (error). */
export async function planCommand(o: DesiredOptions, io: CliIO): Promise<number> {
  const desired = await loadDesired(o.config);
  const nl = await openRtnl(o);
  try {
    const plan = await new Reconciler(nl, reconcilerOptions(o)).plan(desired);
    io.stdout.write(o.json ? `${JSON.stringify(planToJson(plan))}\n` : `${plan.text()}\n`);
    return plan.empty ? EXIT_OK : EXIT_CHANGES;
  } finally {
    nl.close();
  }
}

function resultToJson(r: ApplyResult): object {
  return {
    ...planToJson(r.plan),
    converged: r.converged,
    requests: r.requests,
    applied: r.applied.length,
    failed: r.failed.map((f) => ({ action: f.op.action, kind: f.op.kind, key: f.op.key, error: describeError(f.error) })),
  };
}

/** netlink-agent apply: exit 0 when the kernel is in the desired state afterwards, 1 otherwise. */
export async function applyCommand(o: DesiredOptions, io: CliIO): Promise<number> {
  const desired = await loadDesired(o.config);
  const nl = await openRtnl(o);
  try {
    const r = await new Reconciler(nl, reconcilerOptions(o)).apply(desired);
    if (o.json) io.stdout.write(`${JSON.stringify(resultToJson(r))}\n`);
    else {
      io.stdout.write(`${r.plan.text()}\n`);
      for (const f of r.failed) io.stdout.write(`failed: ${f.op.action} ${f.op.kind} ${f.op.key}: ${describeError(f.error)}\n`);
      io.stdout.write(`Applied ${r.applied.length} of ${r.plan.ops.length} changes with ${r.requests} requests${r.converged ? '; converged.' : '; NOT converged.'}\n`);
    }
    return r.converged ? EXIT_OK : EXIT_FAILURE;
  } finally {
    nl.close();
  }
}

/** Logs what a reconciler does, one line per event (changes only on transitions). */
export function logReconciler(r: Reconciler, log: Logger, what = 'kernel'): void {
  let converged: boolean | undefined;
  r.on('applied', (res) => {
    for (const op of res.applied) log.info('change', `${op.action} ${op.kind} ${op.key}: ${op.reason}`);
    for (const f of res.failed) log.error('change', `${f.op.action} ${f.op.kind} ${f.op.key} failed: ${describeError(f.error)}`);
    for (const c of res.plan.conflicts) log.warn('conflict', `${c.kind} ${c.key}: ${c.reason} (left alone)`);
    if (!res.converged && converged !== false) {
      converged = false;
      log.warn('converged', `${what} is not in the desired state`, { failed: res.failed.length, conflicts: res.plan.conflicts.length });
    }
  });
  r.on('converged', () => {
    if (converged !== true) log.info('converged', `${what} is in the desired state`);
    converged = true;
  });
  r.on('error', (e) => log.error('reconcile', describeError(e)));
  r.on('overflow', () => log.warn('overflow', 'kernel events were lost (receive buffer overflow); re-reading everything'));
  r.on('cycle', (c) => {
    if (log.enabled('debug')) log.debug('cycle', `${c.reason} cycle ${c.outcome} in ${c.durationMs.toFixed(1)} ms`);
  });
}

/** netlink-agent watch: runs until SIGTERM/SIGINT, then exits 0 leaving the kernel as it is;
 * SIGHUP re-reads the file (an unusable file keeps the previous desired state). With
 * --metrics-addr it serves the reconciler's and the socket's counters, /healthz and /readyz
 * (ready once the kernel was converged) as the overlay agent does; an address that is not
 * HOST:PORT or cannot be bound exits 2 before anything is changed. */
export async function watchCommand(o: DesiredOptions, io: CliIO): Promise<number> {
  const log = loggerFor(io, o);
  let metricsModule: typeof import('./metrics-server') | undefined;
  let listen: { host: string; port: number } | undefined;
  if (o.metricsAddr !== undefined) {
    metricsModule = await import('./metrics-server');
    try {
      listen = metricsModule.parseListenAddress(o.metricsAddr);
    } catch (e) {
      log.error('start', `${describeError(e)}; nothing was changed`);
      return EXIT_USAGE;
    }
  }
  const signal = untilSignal();
  const hangup = reloadOnHangup();
  try {
    const desired = await loadDesired(o.config);
    const nl = await openRtnl(o);
    const id = resolveOwner(o, CONFIG_OWNER);
    const r = new Reconciler(nl, id.reconciler);
    let metrics: MetricsServer | undefined;
    let watching = false;
    try {
      if (metricsModule && listen) {
        const stats = new AgentStats();
        stats.observeNetlink(nl);
        stats.observeReconciler(r);
        try {
          metrics = await metricsModule.startMetricsServer({ ...listen, stats, watching: () => watching, membership: false, info: { node: hostname(), mode: 'watch', version: agentVersion() } });
        } catch (e) {
          if (!(e instanceof metricsModule.MetricsAddressError)) throw e;
          log.error('start', `${e.message}; nothing was changed`);
          return EXIT_USAGE;
        }
        const shown = metrics.host.includes(':') ? `[${metrics.host}]` : metrics.host;
        log.info('metrics', `serving http://${shown}:${metrics.port}/metrics, /healthz and /readyz`, { port: metrics.port });
      }
      logReconciler(r, log);
      r.watch(desired, o.resyncMs !== undefined ? { resyncIntervalMs: o.resyncMs } : {});
      watching = true;
      log.info('start', `watching${o.netns !== undefined ? ` netns ${o.netns}` : ''} for ${o.config}`, { pid: process.pid, owner: id.owner, protocol: id.protocol });
      // SIGHUP re-reads the file and the key files it names: a replaced key file reconfigures the device.
      let reloads = 0;
      hangup.ready(() => {
        const n = ++reloads; // a later SIGHUP's read wins, whichever finishes first
        loadDesired(o.config).then(
          (d) => {
            if (n !== reloads) return;
            try {
              r.setDesired(d);
              log.info('config', `SIGHUP: re-read ${o.config}`);
            } catch (e) {
              log.error('config', `SIGHUP: ${describeError(e)}; keeping the previous desired state`);
            }
          },
          (e: unknown) => log.error('config', `SIGHUP: ${describeError(e)}; keeping the previous desired state`),
        );
      });
      const sig = await signal.done;
      log.info('stop', `${sig}: stopping; the kernel is left as it is`);
      return EXIT_OK;
    } finally {
      await r.stop();
      await metrics?.close();
      nl.close();
    }
  } finally {
    signal.cancel();
    hangup.cancel();
  }
}
