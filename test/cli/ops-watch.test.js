'use strict';
// `netlink-agent watch --metrics-addr`: the desired-state watcher serves the same endpoint as the
// overlay agent (the CLI as a child process, working in a namespace the test made): /metrics
// counts what it applied and repaired, /readyz follows the first converge (it has no membership
// source, so no membership series and no membership condition), /healthz answers, and a metrics
// address that is not HOST:PORT or cannot be bound exits 2 before anything is changed.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { pollUntil } = require('../support/poll');
const { kernelDescribe, netnsPerTest, ip, ipJson, slow, hostLike } = require('../support/kernel');
const { startCli, runCli, killAll, request, sample } = require('./helpers');

const until = (cond, ms, what) => pollUntil(cond, { ms: ms * slow, what, every: 25 });
const WAIT = 15000 * slow;

kernelDescribe('cli ops: watch --metrics-addr', function () {
  this.timeout(60000);
  const ns = netnsPerTest('opswt');
  let dir;
  let config;
  const DESIRED = {
    links: [{ kind: 'veth', name: 'v0', peer: { name: 'v1' }, mtu: 1400, up: true }],
    addresses: [{ dev: 'eth0', address: '10.57.4.21/24' }],
    routes: [{ dst: '10.98.0.0/24', via: '10.57.4.1', dev: 'eth0' }],
  };
  beforeEach(function () {
    hostLike(ns());
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-ops-watch-'));
    config = path.join(dir, 'desired.json');
    fs.writeFileSync(config, JSON.stringify(DESIRED));
  });
  afterEach(async function () {
    await killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('/metrics counts the ops applied and the drift repaired, /readyz turns ready at the first converge, /healthz answers; the endpoint closes with the command', async function () {
    const w = startCli(['watch', '--config', config, '--netns', ns(), '--metrics-addr', '127.0.0.1:0', '--json']);
    const port = JSON.parse(await w.waitFor(/"event":"metrics"/, WAIT)).port;
    await w.waitFor(/"event":"converged"/, WAIT);
    const ready = await request(port, '/readyz');
    assert.deepEqual([ready.status, ready.body], [200, 'ok\n'], 'ready once converged: no membership to wait for');
    let m = (await request(port, '/metrics')).body;
    // What the log says was changed is what the counters say was applied.
    const changes = w.lines().map((l) => JSON.parse(l)).filter((e) => e.event === 'change').map((e) => e.msg.split(' ').slice(0, 2).join(' '));
    assert.deepEqual(changes.sort(), ['create address', 'create link', 'create route']);
    for (const kind of ['link', 'address', 'route']) assert.equal(sample(m, `netlink_agent_reconcile_ops_applied_total{kind="${kind}",action="create"}`), 1, kind);
    assert.equal(sample(m, 'netlink_agent_converged'), 1);
    assert.equal(sample(m, 'netlink_agent_ready'), 1);
    assert.equal(sample(m, `netlink_agent_info{node="${os.hostname()}",mode="watch",version="${require('../../package.json').version}"}`), 1);
    assert.ok(sample(m, 'netlink_agent_netlink_requests_total{op="modify"}') >= 3);
    assert.ok(sample(m, 'netlink_agent_reconcile_cycle_duration_seconds_count') >= 1);
    assert.doesNotMatch(m, /^netlink_agent_(nodes|membership_\w+) /m, 'no membership series without a membership source');
    // Drift: someone deletes the route; watch repairs it and counts the repair.
    ip(ns(), 'route', 'del', '10.98.0.0/24');
    await until(async () => sample((await request(port, '/metrics')).body, 'netlink_agent_reconcile_drift_repairs_total') === 1, 10000, 'drift repair counted');
    assert.match(ip(ns(), 'route', 'show', '10.98.0.0/24'), /via 10\.57\.4\.1 dev eth0 proto 77/);
    m = (await request(port, '/metrics')).body;
    assert.equal(sample(m, 'netlink_agent_reconcile_ops_applied_total{kind="route",action="create"}'), 2);
    assert.deepEqual([(await request(port, '/healthz')).status], [200]);
    assert.equal((await request(port, '/metrics', 'POST')).status, 405);
    assert.equal((await request(port, '/')).status, 404);
    w.child.kill('SIGTERM');
    assert.equal((await w.exited).code, 0, w.out.stderr);
    await assert.rejects(request(port, '/metrics'), /ECONNREFUSED/, 'the endpoint closes with the command');
  });

  it('a metrics address that cannot be bound or is not HOST:PORT: one sentence, exit 2, nothing changed', async function () {
    const busy = net.createServer();
    await new Promise((r) => busy.listen(0, '127.0.0.1', r));
    const refused = (r, re) => {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /nothing was changed/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.deepEqual(ipJson(ns(), 'link', 'show').map((l) => l.ifname).sort(), ['eth0', 'eth0p', 'lo']);
      assert.doesNotMatch(ip(ns(), 'route', 'show'), /10\.98\.0\.0/);
    };
    try {
      const port = busy.address().port;
      refused(runCli(['watch', '--config', config, '--netns', ns(), '--metrics-addr', `127.0.0.1:${port}`]), new RegExp(`--metrics-addr 127\\.0\\.0\\.1:${port} cannot be bound: EADDRINUSE`));
    } finally {
      busy.close();
    }
    refused(runCli(['watch', '--config', config, '--netns', ns(), '--metrics-addr', 'localhost']), /--metrics-addr "localhost" is not HOST:PORT/);
  });
});
