/**
 * The agent's HTTP endpoint (--metrics-addr): Prometheus text format on /metrics (prom-client,
 * from AgentStats plus the standard process metrics), and /healthz and /readyz for Kubernetes
 * probes (200 "ok", or 503 with one reason per line). Only GET of those three paths is served:
 * any other method is 405, any other path 404. Loaded only when --metrics-addr is given, so
 * neither the library nor an agent without metrics loads prom-client.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { liveness, readiness, type HealthBounds } from '../metrics/health';
import type { AgentStats, StatsSnapshot } from '../metrics/stats';

/** What the endpoint serves. */
export interface MetricsServerOptions {
  host: string;
  port: number;
  stats: AgentStats;
  /** Whether the reconciler's watch has started (healthz checks cycles only then). */
  watching: () => boolean;
  /** Constant labels of netlink_agent_info (mode: the overlay mode, or "watch"). */
  info: { node: string; mode: string; version: string };
  /** Whether the agent has a membership source (default true): without one (`watch`), the
   * membership series are not served and /readyz asks only for a converged kernel. */
  membership?: boolean;
  bounds?: HealthBounds;
}

/** A running endpoint. */
export interface MetricsServer {
  /** The address it listens on (the port chosen by the kernel when 0 was asked). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Bad --metrics-addr, or one that cannot be bound; the message is the sentence to show. */
export class MetricsAddressError extends Error {
  override readonly name = 'MetricsAddressError';
}

/** Parses HOST:PORT ("127.0.0.1:9464", "[::1]:9464", ":9464" for every address); port 0 lets the kernel choose. */
export function parseListenAddress(v: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new MetricsAddressError(`--metrics-addr ${JSON.stringify(v)} is not HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464, :9464)`);
  const host = m[1] ?? (m[2] === '' ? '::' : m[2]);
  return { host, port };
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

/** Builds the registry: every metric reads the snapshot taken at the start of the scrape. */
function buildRegistry(o: MetricsServerOptions): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register });
  let snap: StatsSnapshot = o.stats.snapshot();
  const P = 'netlink_agent_';
  // Counters are set from the snapshot at each scrape: reset, then add the running total.
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter, s: StatsSnapshot) => void) =>
    new Counter({
      name: P + name,
      help,
      labelNames,
      registers: [register],
      collect() {
        this.reset();
        fill(this, snap);
      },
    });
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: StatsSnapshot) => void) =>
    new Gauge({
      name: P + name,
      help,
      labelNames,
      registers: [register],
      collect() {
        this.reset();
        fill(this, snap);
      },
    });
  // The first metric collected takes the snapshot for all (registration order is scrape order).
  new Gauge({
    name: `${P}info`,
    help: 'Constant 1, labelled with this agent\'s node, overlay mode and version.',
    labelNames: ['node', 'mode', 'version'],
    registers: [register],
    collect() {
      snap = o.stats.snapshot();
      this.set(o.info, 1);
    },
  });
  counter('reconcile_cycles_total', 'Watch cycles by why they ran (start, event, resync, overflow, retry, desired) and how they ended (done, failed-ops, error).', ['reason', 'outcome'], (c, s) => {
    for (const x of s.reconcile.cycles) c.inc({ reason: x.reason, outcome: x.outcome }, x.count);
  });
  const duration = new Histogram({
    name: `${P}reconcile_cycle_duration_seconds`,
    help: 'Wall time of watch cycles (read the kernel, plan, apply).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [register],
  });
  o.stats.on('cycle', (c) => duration.observe(c.durationMs / 1000));
  counter('reconcile_ops_applied_total', 'Kernel changes applied, by object kind and action.', ['kind', 'action'], (c, s) => {
    for (const x of s.reconcile.ops) c.inc({ kind: x.kind, action: x.action }, x.applied);
  });
  counter('reconcile_ops_failed_total', 'Kernel changes refused or lost, by object kind and action.', ['kind', 'action'], (c, s) => {
    for (const x of s.reconcile.ops) c.inc({ kind: x.kind, action: x.action }, x.failed);
  });
  counter('reconcile_drift_repairs_total', 'Changes applied because the kernel drifted from the desired state (not because the desired state changed).', [], (c, s) => c.inc(s.reconcile.driftRepairs));
  counter('reconcile_conflicts_total', 'Conflicts reported, summed over plans: a foreign object holds a desired key.', [], (c, s) => c.inc(s.reconcile.conflictsSeen));
  gauge('reconcile_conflicts', 'Conflicts in the last plan.', [], (g, s) => g.set(s.reconcile.conflictsNow));
  counter('reconcile_errors_total', 'Failed watch cycles and monitor failures (retried).', [], (c, s) => c.inc(s.reconcile.errors));
  counter('monitor_overflows_total', 'Kernel event overflows (events lost, a full re-read followed).', [], (c, s) => c.inc(s.reconcile.overflows));
  counter('reconcile_settled_events_total', 'Kernel events that showed their key as desired (mostly the echoes of the agent\'s own writes), so nothing was read for them.', [], (c, s) => c.inc(s.reconcile.settledEvents));
  counter('resyncs_total', 'Periodic full re-reads of the kernel (watch cycles with reason resync).', [], (c, s) => {
    c.inc(s.reconcile.cycles.filter((x) => x.reason === 'resync').reduce((n, x) => n + x.count, 0));
  });
  gauge('converged', '1 when the last apply converged, 0 when not; absent before the first.', [], (g, s) => {
    if (s.reconcile.converged !== undefined) g.set(s.reconcile.converged ? 1 : 0);
  });
  gauge('last_converged_timestamp_seconds', 'When the kernel was last found in the desired state (Unix time).', [], (g, s) => {
    const t = seconds(s.reconcile.lastConverged);
    if (t !== undefined) g.set(t);
  });
  if (o.membership !== false) {
    gauge('nodes', 'Nodes in the membership list (this one included).', [], (g, s) => g.set(s.membership.nodes));
    gauge('membership_skipped_records', 'Membership records skipped as invalid or unsafe.', [], (g, s) => g.set(s.membership.skipped));
    gauge('membership_connected', '1 when the membership source is reachable and in sync, else 0.', [], (g, s) => g.set(s.membership.state === 'connected' ? 1 : 0));
    gauge('membership_revision', 'Store revision of the last full membership read (etcd).', [], (g, s) => {
      if (s.membership.revision !== undefined) g.set(Number(s.membership.revision));
    });
    gauge('membership_last_read_timestamp_seconds', 'When the membership list was last known in sync with its source (Unix time).', [], (g, s) => {
      const t = seconds(s.membership.lastRead);
      if (t !== undefined) g.set(t);
    });
    gauge('membership_last_read_age_seconds', 'Seconds since the membership list was last known in sync with its source.', [], (g, s) => {
      if (s.membership.lastRead !== undefined) g.set((s.at - s.membership.lastRead) / 1000);
    });
  }
  counter('netlink_requests_total', 'Netlink requests sent, by op: read (GET, dumps) or modify (NEW, DEL, SET).', ['op'], (c, s) => {
    c.inc({ op: 'read' }, s.netlink.readRequests);
    c.inc({ op: 'modify' }, s.netlink.modifyingRequests);
  });
  counter('netlink_errors_total', 'Netlink requests that failed, by errno name (ETIMEDOUT: no answer in time).', ['errno'], (c, s) => {
    for (const [errno, n] of Object.entries(s.netlink.errors)) c.inc({ errno }, n);
  });
  counter('netlink_dumps_total', 'Netlink dumps completed.', [], (c, s) => c.inc(s.netlink.dumps));
  counter('netlink_dump_objects_total', 'Objects returned by completed netlink dumps.', [], (c, s) => c.inc(s.netlink.dumpObjects));
  gauge('ready', '1 when /readyz answers ok.', [], (g, s) => g.set(readiness(s, o).ok ? 1 : 0));
  return register;
}

/** Starts the endpoint. Rejects with MetricsAddressError (a sentence) when the address cannot be bound. */
export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const register = buildRegistry(o);
  const probe = (res: ServerResponse, r: { ok: boolean; reasons: string[] }) => {
    res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(r.ok ? 'ok\n' : `${r.reasons.join('\n')}\n`);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    const known = path === '/metrics' || path === '/healthz' || path === '/readyz';
    if (!known) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end('not found: the paths are /metrics, /healthz and /readyz\n');
    }
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain; charset=utf-8' });
      return res.end('method not allowed: only GET\n');
    }
    if (path === '/healthz') return probe(res, liveness(o.stats.snapshot(), o.watching(), o.bounds));
    if (path === '/readyz') return probe(res, readiness(o.stats.snapshot(), o));
    const body = await register.metrics();
    res.writeHead(200, { 'content-type': register.contentType });
    res.end(body);
  };
  const server: Server = createServer((req, res) => {
    // A request body is never read: drop it rather than buffer it.
    req.resume();
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${e instanceof Error ? e.message : String(e)}\n`);
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const shown = o.host.includes(':') ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`;
      reject(new MetricsAddressError(`--metrics-addr ${shown} cannot be bound: ${e.code ?? ''}${e.code ? ' ' : ''}(${e.message.replace(/^listen \w+: /, '')})`));
    };
    server.once('error', onError);
    server.listen({ host: o.host, port: o.port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.unref(); // the agent's own work keeps the process alive, not its metrics
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : o.port;
  return {
    host: o.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
