/**
 * `plan`, `apply` and `watch`: a desired state from a JSON file against the kernel.
 *
 *   plan   prints what would change; exit 0 when nothing, 2 when changes are pending
 *   apply  makes the changes; exit 0 when converged, 1 otherwise
 *   watch  keeps the kernel converged until SIGTERM/SIGINT (SIGHUP re-reads the file)
 */
import * as fs from 'node:fs';
import { Reconciler } from '../reconcile/reconciler';
import type { ApplyResult, DesiredState, Plan, ReconcilerOptions } from '../reconcile/types';
import { ValidationError } from '../values/problems';
import { EXIT_CHANGES, EXIT_FAILURE, EXIT_OK, describeError, loggerFor, openRtnl, untilSignal, type CliIO, type CommonOptions } from './common';
import type { Logger } from './log';

export interface DesiredOptions extends CommonOptions {
  config: string;
  /** Route protocol number that marks this agent's routes (ReconcilerOptions.protocol). */
  protocol?: number;
  /** watch: full re-read interval. */
  resyncMs?: number;
}

/** Reads and parses the desired-state file; throws ValidationError when it is not JSON. The
 * reconciler validates the content. */
export function loadDesired(file: string): DesiredState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as DesiredState;
  } catch (e) {
    throw new ValidationError([{ path: file, message: `not JSON (${(e as Error).message})` }], 'invalid desired state');
  }
}

function reconcilerOptions(o: DesiredOptions): ReconcilerOptions {
  return o.protocol !== undefined ? { protocol: o.protocol } : {};
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
  const desired = loadDesired(o.config);
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
  const desired = loadDesired(o.config);
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
}

/** netlink-agent watch: runs until SIGTERM/SIGINT, then exits 0 leaving the kernel as it is. */
export async function watchCommand(o: DesiredOptions, io: CliIO): Promise<number> {
  const log = loggerFor(io, o);
  let desired = loadDesired(o.config);
  const nl = await openRtnl(o);
  const r = new Reconciler(nl, reconcilerOptions(o));
  logReconciler(r, log);
  const signal = untilSignal();
  const reload = () => {
    try {
      desired = loadDesired(o.config);
      r.setDesired(desired);
      log.info('config', `re-read ${o.config}`);
    } catch (e) {
      log.error('config', `${describeError(e)}; keeping the previous desired state`);
    }
  };
  process.on('SIGHUP', reload);
  try {
    r.watch(desired, o.resyncMs !== undefined ? { resyncIntervalMs: o.resyncMs } : {});
    log.info('start', `watching${o.netns ? ` netns ${o.netns}` : ''} for ${o.config}`, { pid: process.pid });
    const sig = await signal.done;
    log.info('stop', `${sig}: stopping; the kernel is left as it is`);
    return EXIT_OK;
  } finally {
    signal.cancel();
    process.off('SIGHUP', reload);
    await r.stop();
    nl.close();
  }
}
