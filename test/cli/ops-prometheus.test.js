'use strict';
// The agent's metrics as an operator sees them: a real Prometheus (Debian's `prometheus`,
// started here on 127.0.0.1 with a config this test writes) scrapes three `netlink-agent overlay`
// processes, one per host namespace of a small cluster with a real etcd, and queries through
// Prometheus' HTTP API return the series with the values the agents' own logs account for.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { pollUntil } = require('../support/poll');
const { Sandbox, SEED_HOSTS } = require('../../examples/lib/sandbox');
const { etcdDescribe, freePort } = require('../support/etcd');
const { startCli, killAll } = require('./helpers');

const PROMETHEUS = process.env.NETLINK_AGENT_PROMETHEUS || '/usr/bin/prometheus';
const HOST3 = { name: 'host3', nodeIP: '10.57.4.22', podCIDR: '192.168.12.0/24', podIP: '192.168.12.10' };
const HOSTS = [...SEED_HOSTS, HOST3];

function getJson(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, body: res.statusCode === 200 && body.startsWith('{') ? JSON.parse(body) : body });
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Prometheus on 127.0.0.1:port with its config and data in a temporary directory. */
async function startPrometheus(targets) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nla-prom-${process.pid}-`));
  const port = await freePort();
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 900ms',
    'scrape_configs:',
    '  - job_name: netlink-agent',
    '    static_configs:',
    `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const log = [];
  const proc = spawn(
    PROMETHEUS,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH || '/usr/bin:/bin', HOME: dir } },
  );
  proc.stderr.on('data', (d) => log.push(String(d)));
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  const server = {
    url,
    log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
    /** An instant query: the result vector as [{ metric, value: number }]. */
    async query(q) {
      const r = await getJson(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
      assert.equal(r.status, 200, `query ${q}: ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body)}`);
      assert.equal(r.body.status, 'success');
      return r.body.data.result.map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
    },
  };
  try {
    await pollUntil(
      async () => {
        if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}): ${log.join('')}`);
        return (await getJson(`${url}/-/ready`).catch(() => ({ status: 0 }))).status === 200;
      },
      { ms: 60000, every: 200, what: () => `prometheus ready: ${log.join('').slice(-2000)}` },
    );
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

etcdDescribe(
  'cli ops: a real Prometheus scrapes the agents of a small cluster',
  function (etcd) {
    this.timeout(180000);
    let sandbox;
    let prom;
    before(function () {
      try {
        fs.accessSync(PROMETHEUS, fs.constants.X_OK);
      } catch {
        console.log(`prometheus tests skipped: ${PROMETHEUS} is missing (apt-get install prometheus)`);
        this.skip();
      }
    });
    afterEach(async function () {
      await prom?.stop();
      prom = undefined;
      await killAll();
      if (sandbox) await sandbox.destroy();
      sandbox = undefined;
    });

    it('three agents with --metrics-addr: up, ops applied equal the changes each logged, nodes, membership, readiness, cycle histogram', async function () {
      sandbox = new Sandbox({ prefix: `nla-opsprom-${process.pid}`, hosts: HOSTS });
      await sandbox.build();
      const prefix = `/nla-opsprom-${process.pid}/`;
      const agents = HOSTS.map((h) =>
        startCli([
          'overlay', '--mode', 'vxlan', '--self', h.name, '--node-ip', h.nodeIP, '--pod-cidr', h.podCIDR,
          '--etcd', etcd().url, '--prefix', prefix, '--ttl', '5', '--netns', sandbox.hostNs(h.name),
          '--metrics-addr', '127.0.0.1:0', '--json',
        ]),
      );
      const ports = [];
      for (const a of agents) ports.push(JSON.parse(await a.waitFor(/"event":"metrics"/, 30000)).port);
      const instance = (i) => `127.0.0.1:${ports[i]}`;
      prom = await startPrometheus(ports.map((_, i) => instance(i)));
      // Every agent knows all three nodes and is ready, as Prometheus sees it.
      await pollUntil(async () => (await prom.query('netlink_agent_ready == 1 and netlink_agent_nodes == 3')).length === 3, {
        ms: 90000,
        every: 500,
        what: () => `three ready agents with three nodes in Prometheus: ${agents.map((a) => a.out.stderr.slice(-600)).join('\n')}`,
      });
      const up = await prom.query('up{job="netlink-agent"}');
      assert.deepEqual(up.map((s) => s.value), [1, 1, 1]);
      // Ops applied per agent, summed over kind and action, equal the "change" lines that agent
      // logged (once Prometheus has scraped the latest value).
      const logged = (i) => agents[i].lines().map((l) => JSON.parse(l)).filter((e) => e.event === 'change').length;
      await pollUntil(
        async () => {
          const applied = await prom.query('sum by (instance) (netlink_agent_reconcile_ops_applied_total)');
          const want = HOSTS.map((_, i) => `${instance(i)}=${logged(i)}`).sort();
          const got = applied.map((s) => `${s.metric.instance}=${s.value}`).sort();
          return got.join() === want.join() ? got : undefined;
        },
        { ms: 30000, every: 500, what: 'ops applied in Prometheus = changes logged by each agent' },
      );
      // Plausible: each agent created at least its VTEP link and one route per peer.
      for (let i = 0; i < 3; i++) assert.ok(logged(i) >= 3, `agent ${i} logged ${logged(i)} changes`);
      const routes = await prom.query('netlink_agent_reconcile_ops_applied_total{kind="route",action="create"}');
      assert.equal(routes.length, 3);
      for (const s of routes) assert.ok(s.value >= 2, `${s.metric.instance} created ${s.value} routes`);
      const failed = await prom.query('sum(netlink_agent_reconcile_ops_failed_total)');
      assert.equal(failed[0].value, 0);
      // Membership from etcd: connected, at a revision, read recently.
      for (const s of await prom.query('netlink_agent_membership_connected')) assert.equal(s.value, 1);
      for (const s of await prom.query('netlink_agent_membership_revision')) assert.ok(s.value > 0);
      for (const s of await prom.query('netlink_agent_membership_last_read_age_seconds')) assert.ok(s.value >= 0 && s.value < 60, `${s.value}`);
      // Netlink counters and the cycle histogram, and the standard process metrics.
      for (const s of await prom.query('netlink_agent_netlink_requests_total{op="modify"}')) assert.ok(s.value >= 3);
      for (const s of await prom.query('netlink_agent_reconcile_cycle_duration_seconds_count')) assert.ok(s.value >= 1);
      const info = await prom.query('netlink_agent_info');
      assert.deepEqual(info.map((s) => s.metric.node).sort(), ['host1', 'host2', 'host3']);
      assert.equal((await prom.query('process_resident_memory_bytes{job="netlink-agent"}')).length, 3);
      for (const a of agents) a.child.kill('SIGTERM');
      const exits = await Promise.all(agents.map((a) => a.exited));
      assert.deepEqual(exits.map((e) => e.code), [0, 0, 0]);
    });
  },
  { root: true },
);
