'use strict';
// The operable agent: `netlink-agent overlay` run as people run it (a child process working in a
// host-like namespace the test made) with --metrics-addr on 127.0.0.1, --iface / --iface-can-reach
// autodetection, --log-level, and the bad inputs that must exit 2 before anything changes.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { pollUntil } = require('../support/poll');
const { kernelDescribe, netnsPerTest, ip, ipJson, slow, hostLike } = require('../support/kernel');
const { startCli, runCli, killAll, request, sample } = require('./helpers');

// Waits are bounds, scaled for the VM lane (slow); nothing asserts a timing.
const until = (cond, ms = 15000, what = 'condition') => pollUntil(cond, { ms: ms * slow, what, every: 25 });
const WAIT = 15000 * slow;
const routes = (ns) => ipJson(ns, 'route', 'show', 'proto', '78').map((r) => r.dst).sort();

kernelDescribe('cli ops: the overlay agent\'s metrics, probes, underlay detection and log level', function () {
  this.timeout(60000);
  const ns = netnsPerTest('opsag');
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-ops-agent-'));
  });
  afterEach(async function () {
    await killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const nodeFile = (nodes) => {
    const file = path.join(dir, 'nodes.json');
    fs.writeFileSync(`${file}.new`, JSON.stringify({ nodes }));
    fs.renameSync(`${file}.new`, file);
    return file;
  };
  const ME = { name: 'n1', nodeIP: '10.61.0.1', podCIDR: '10.202.1.0/24' };
  const PEERS = [
    { name: 'n2', nodeIP: '10.61.0.2', podCIDR: '10.202.2.0/24' },
    { name: 'n3', nodeIP: '10.61.0.3', podCIDR: '10.202.3.0/24' },
  ];

  it('--metrics-addr: /metrics counts what the agent did, /readyz follows converge and membership, /healthz answers, only GET of the three paths', async function () {
    hostLike(ns(), '10.61.0.1/24', '10.61.0.254');
    const file = nodeFile([ME, ...PEERS]);
    const a = startCli(['overlay', '--mode', 'host-gw', '--self', 'n1', '--nodes', file, '--netns', ns(), '--metrics-addr', '127.0.0.1:0', '--json']);
    const port = JSON.parse(await a.waitFor(/"event":"metrics"/, WAIT)).port;
    await until(() => routes(ns()).length === 2, 15000, 'routes to both peers');
    await until(async () => (await request(port, '/readyz')).status === 200, 10000, 'ready');
    const m = await request(port, '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    // What the logs say was changed is what the counters say was applied.
    const changes = a.lines().map((l) => JSON.parse(l)).filter((e) => e.event === 'change');
    assert.equal(changes.length, 2, a.out.stderr);
    assert.equal(sample(m.body, 'netlink_agent_reconcile_ops_applied_total{kind="route",action="create"}'), 2);
    assert.equal(sample(m.body, 'netlink_agent_reconcile_ops_failed_total{kind="route",action="create"}'), 0);
    assert.equal(sample(m.body, 'netlink_agent_nodes'), 3);
    assert.equal(sample(m.body, 'netlink_agent_membership_connected'), 1);
    assert.equal(sample(m.body, 'netlink_agent_converged'), 1);
    assert.equal(sample(m.body, 'netlink_agent_ready'), 1);
    assert.equal(sample(m.body, 'netlink_agent_info{node="n1",mode="host-gw",version="0.1.0"}'), 1);
    assert.ok(sample(m.body, 'netlink_agent_netlink_requests_total{op="modify"}') >= 2);
    assert.ok(sample(m.body, 'netlink_agent_netlink_dumps_total') > 0);
    assert.ok(sample(m.body, 'netlink_agent_reconcile_cycle_duration_seconds_count') >= 1);
    assert.ok(sample(m.body, 'process_resident_memory_bytes') > 1e6, 'the standard process metrics');
    const lastConverged = sample(m.body, 'netlink_agent_last_converged_timestamp_seconds');
    assert.ok(Math.abs(lastConverged - Date.now() / 1000) < 60, `${lastConverged}`);
    // Drift: someone deletes a route; the agent repairs it and counts the repair.
    ip(ns(), 'route', 'del', '10.202.3.0/24');
    await until(async () => sample((await request(port, '/metrics')).body, 'netlink_agent_reconcile_drift_repairs_total') === 1, 10000, 'drift repair counted');
    assert.deepEqual(routes(ns()), ['10.202.2.0/24', '10.202.3.0/24']);
    // The events of the agent's own writes (the repair's among them) show their keys as desired.
    await until(async () => sample((await request(port, '/metrics')).body, 'netlink_agent_reconcile_settled_events_total') >= 1, 10000, 'settled events counted');
    const h = await request(port, '/healthz');
    assert.deepEqual([h.status, h.body], [200, 'ok\n']);
    // Only GET of /metrics, /healthz, /readyz.
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) {
      const r = await request(port, '/metrics', method);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET');
    }
    assert.equal((await request(port, '/')).status, 404);
    assert.equal((await request(port, '/metrics/../etc/passwd')).status, 404);
    // The node file becomes unreadable: membership is not in sync, so not ready (still live).
    fs.writeFileSync(file, '{broken');
    await until(async () => (await request(port, '/readyz')).status === 503, 10000, 'not ready');
    assert.match((await request(port, '/readyz')).body, /membership source unreachable/);
    assert.equal((await request(port, '/healthz')).status, 200);
    assert.deepEqual(routes(ns()), ['10.202.2.0/24', '10.202.3.0/24'], 'the last known nodes stay in force');
    nodeFile([ME, ...PEERS]);
    await until(async () => (await request(port, '/readyz')).status === 200, 10000, 'ready again');
    a.child.kill('SIGTERM');
    assert.equal((await a.exited).code, 0, a.out.stderr);
    await assert.rejects(request(port, '/metrics'), /ECONNREFUSED/, 'the endpoint closes with the agent');
  });

  it('--iface REGEX and --iface-can-reach choose the underlay and node IP; the default is the default route\'s device', async function () {
    hostLike(ns(), '10.61.0.1/24', '10.61.0.254');
    // A second NIC on another subnet: the agent must pick it when told to.
    ip(ns(), 'link', 'add', 'ens5', 'type', 'veth', 'peer', 'name', 'ens5p');
    ip(ns(), 'addr', 'add', '10.62.0.7/24', 'dev', 'ens5');
    ip(ns(), 'link', 'set', 'ens5', 'mtu', '1400', 'up');
    ip(ns(), 'link', 'set', 'ens5p', 'up');
    ip(ns(), 'route', 'add', '10.99.0.0/16', 'via', '10.62.0.1', 'dev', 'ens5');
    const me = { name: 'n1', nodeIP: '10.62.0.7', podCIDR: '10.202.1.0/24' };
    const peer = { name: 'n2', nodeIP: '10.62.0.8', podCIDR: '10.202.2.0/24' };
    const file = nodeFile([me, peer]);
    const run = async (extra, expectLine) => {
      const a = startCli(['overlay', '--mode', 'vxlan', '--self', 'n1', '--nodes', file, '--netns', ns(), ...extra]);
      const line = await a.waitFor(/underlay: /, WAIT);
      assert.match(line, expectLine);
      await a.waitFor(/converged: kernel is in the desired state/, WAIT);
      const vx = ipJson(ns(), '-d', 'link', 'show', 'vxlan0')[0];
      a.child.kill('SIGTERM');
      assert.equal((await a.exited).code, 0, a.out.stderr);
      return vx;
    };
    let vx = await run(['--iface', 'nomatch[0-9]', '--iface', 'ens[0-9]+'], /underlay: ens5 \(10\.62\.0\.7, mtu 1400\), chosen by --iface ens\[0-9\]\+/);
    assert.equal(vx.mtu, 1350, 'the tunnel MTU is the chosen device\'s minus vxlan\'s 50');
    assert.equal(vx.linkinfo.info_data.local, '10.62.0.7');
    ip(ns(), 'link', 'del', 'vxlan0');
    vx = await run(['--iface-can-reach', '10.99.1.1'], /underlay: ens5 \(10\.62\.0\.7, mtu 1400\), chosen by route to 10\.99\.1\.1/);
    assert.equal(vx.linkinfo.info_data.local, '10.62.0.7');
    ip(ns(), 'link', 'del', 'vxlan0');
    // By address: the device that holds it.
    await run(['--iface', '10.62.0.7'], /underlay: ens5 \(10\.62\.0\.7, mtu 1400\), chosen by --iface 10\.62\.0\.7/);
    ip(ns(), 'link', 'del', 'vxlan0');
    // No flag: the default route's device, eth0, whose address is not n1's record: refused.
    const r = runCli(['overlay', '--mode', 'vxlan', '--self', 'n1', '--nodes', file, '--netns', ns()], { timeout: 30000 * slow });
    assert.match(r.stderr, /underlay: eth0 \(10\.61\.0\.1, mtu 1500\), chosen by default route/);
    assert.match(r.stderr, /nodeIP 10\.62\.0\.7, not 10\.61\.0\.1/);
    assert.equal(r.code, 1);
  });

  it('--log-level: warn hides info lines, debug adds one line per watch cycle', async function () {
    hostLike(ns(), '10.61.0.1/24', '10.61.0.254');
    const file = nodeFile([ME, PEERS[0]]);
    const args = ['overlay', '--mode', 'host-gw', '--self', 'n1', '--nodes', file, '--netns', ns()];
    let a = startCli([...args, '--log-level', 'debug']);
    await a.waitFor(/debug cycle: start cycle done in [0-9.]+ ms/, WAIT);
    a.child.kill('SIGTERM');
    assert.equal((await a.exited).code, 0);
    a = startCli([...args, '--log-level', 'warn']);
    await a.waitFor(/warn  start: no --cluster-cidr/, WAIT);
    await until(() => routes(ns()).length === 1, 10000, 'route');
    a.child.kill('SIGTERM');
    assert.equal((await a.exited).code, 0);
    assert.deepEqual(a.lines().filter((l) => !/ warn | error /.test(l)), [], 'only warn and error lines');
    const bad = runCli([...args, '--log-level', 'chatty']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--log-level <level>' argument 'chatty' is invalid\. Allowed choices are debug, info, warn, error/);
  });

  describe('bad input: one sentence, exit 2, nothing changed', function () {
    const expectRefused = (r, re) => {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /nothing was registered or changed/);
      assert.equal(r.stderr.trim().split('\n').filter((l) => / error /.test(l)).length, 1, r.stderr);
      assert.deepEqual(routes(ns()), []);
      assert.deepEqual(ipJson(ns(), 'link', 'show').map((l) => l.ifname).sort(), ['eth0', 'eth0p', 'lo']);
    };
    let file;
    beforeEach(function () {
      hostLike(ns(), '10.61.0.1/24');
      file = nodeFile([ME, ...PEERS]);
    });

    it('a metrics address that cannot be bound (in use), or is not HOST:PORT', async function () {
      const busy = net.createServer();
      await new Promise((r) => busy.listen(0, '127.0.0.1', r));
      try {
        const port = busy.address().port;
        expectRefused(runCli(['overlay', '--mode', 'host-gw', '--self', 'n1', '--node-ip', '10.61.0.1', '--nodes', file, '--netns', ns(), '--metrics-addr', `127.0.0.1:${port}`]), new RegExp(`--metrics-addr 127\\.0\\.0\\.1:${port} cannot be bound: EADDRINUSE`));
      } finally {
        busy.close();
      }
      expectRefused(runCli(['overlay', '--mode', 'host-gw', '--self', 'n1', '--node-ip', '10.61.0.1', '--nodes', file, '--netns', ns(), '--metrics-addr', '127.0.0.1']), /--metrics-addr "127\.0\.0\.1" is not HOST:PORT/);
      expectRefused(runCli(['overlay', '--mode', 'host-gw', '--self', 'n1', '--node-ip', '10.61.0.1', '--nodes', file, '--netns', ns(), '--metrics-addr', '192.0.2.1:9464']), /--metrics-addr 192\.0\.2\.1:9464 cannot be bound: EADDRNOTAVAIL/);
    });

    it('an --iface that matches nothing, an invalid regex, an --iface-can-reach without a route, no default route', function () {
      const base = ['overlay', '--mode', 'host-gw', '--self', 'n1', '--nodes', file, '--netns', ns()];
      expectRefused(runCli([...base, '--iface', 'wlan[0-9]', '--iface', 'bond.*']), new RegExp(`no device in netns ${ns()} matches --iface wlan\\[0-9\\], bond\\.\\*`));
      expectRefused(runCli([...base, '--iface', 'eth(']), /--iface "eth\(" is neither a device name nor a valid regular expression/);
      expectRefused(runCli([...base, '--iface-can-reach', '203.0.113.9']), new RegExp(`--iface-can-reach 203\\.0\\.113\\.9: there is no route to it in netns ${ns()}`));
      expectRefused(runCli([...base, '--iface-can-reach', 'host1']), /--iface-can-reach "host1" is not an IP address/);
      expectRefused(runCli(base), new RegExp(`there is no IPv4 or IPv6 default route in netns ${ns()} to find the underlay by; give --iface or --iface-can-reach`));
      expectRefused(runCli([...base, '--iface', 'eth0', '--underlay-dev', 'eth0']), /give --underlay-dev or --iface\/--iface-can-reach, not both/);
    });
  });
});
