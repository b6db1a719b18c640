'use strict';
// End to end: a sandbox cluster in namespaces, one OverlayAgent per host, real pod-to-pod
// traffic from sockets inside the pod namespaces.
const assert = require('node:assert/strict');
const { pollUntil } = require('../support/poll');
const { OverlayAgent, Rtnl, Netns } = require('../../dist');
const { Sandbox, SEED_HOSTS, FAR_HOST } = require('../../examples/lib/sandbox');
const { kernelDescribe, ip, ipJson } = require('../support/kernel');

const NEAR_HOST3 = { name: 'host3', nodeIP: '10.57.4.22', podCIDR: '192.168.12.0/24', podIP: '192.168.12.10' };
let counter = 0;

async function allPairs(sandbox, hosts = sandbox.hosts.map((h) => h.name)) {
  const bad = [];
  for (const a of hosts) {
    for (const b of hosts) {
      if (a === b) continue;
      const r = await sandbox.traffic(a, b);
      if (!r.udp.ok || !r.tcp.ok) bad.push(`${a}->${b}: udp ${JSON.stringify(r.udp)} tcp ${JSON.stringify(r.tcp)}`);
    }
  }
  return bad;
}

/** Does this kernel create ipip devices? (probed in a namespace of our own) */
async function kernelHasIpip() {
  const name = `nla-probe-${process.pid}-${++counter}`;
  Netns.create(name);
  try {
    const nl = await Rtnl.open({ netns: name });
    try {
      await nl.links.add({ kind: 'ipip', name: 'probe0', local: '10.0.0.1' });
      return true;
    } catch (e) {
      if (e.code === 'EOPNOTSUPP') return false;
      throw e;
    } finally {
      nl.close();
    }
  } finally {
    Netns.delete(name);
  }
}

kernelDescribe('overlay: end to end in a sandbox cluster', function () {
  this.timeout(120000);
  let sandbox;
  let agents;

  async function start(mode, hosts, agentOpts = {}, nodes) {
    sandbox = new Sandbox({ prefix: `nla-e2e${process.pid}x${++counter}`, hosts });
    await sandbox.build();
    for (const h of sandbox.hosts) {
      const nl = await sandbox.rtnl(sandbox.hostNs(h.name));
      const agent = new OverlayAgent({ nl, mode, self: h.name, watch: { debounceMs: 20 }, ...agentOpts });
      agents.set(h.name, agent);
      const res = await agent.setNodes(nodes || sandbox.nodes());
      assert.deepEqual(res.failed.map((f) => f.error.message), [], `${h.name}: ${res.plan.text()}`);
    }
  }

  beforeEach(function () {
    agents = new Map();
  });
  afterEach(async function () {
    for (const a of agents.values()) await a.stop();
    if (sandbox) await sandbox.destroy();
    sandbox = undefined;
  });

  it('host-gw: pods reach each other both ways (UDP and TCP)', async function () {
    await start('host-gw', SEED_HOSTS);
    assert.match(ip(sandbox.hostNs('host1'), 'route', 'show', '192.168.11.0/24'), /via 10\.57\.4\.21 dev eth0 proto 77 onlink/);
    assert.deepEqual(await allPairs(sandbox), []);
  });

  it('vxlan (flannel style): traffic both ways; a node added later is reached, a removed one leaves nothing', async function () {
    const two = [SEED_HOSTS[0], SEED_HOSTS[1]].map(({ name, nodeIP, podCIDR }) => ({ name, nodeIP, podCIDR }));
    await start('vxlan', [...SEED_HOSTS, NEAR_HOST3], { vni: 100, port: 4789 });
    const h1 = sandbox.hostNs('host1');
    const link = ipJson(h1, '-d', 'link', 'show', 'vxlan0')[0];
    assert.equal(link.linkinfo.info_data.id, 100);
    assert.equal(link.linkinfo.info_data.port, 4789);
    assert.equal(link.linkinfo.info_data.learning, false);
    assert.equal(link.mtu, 1450);
    assert.deepEqual(await allPairs(sandbox), []);

    // host3 leaves: nothing of it remains on host1.
    for (const name of ['host1', 'host2']) await agents.get(name).setNodes(two);
    await waitFor(() => !ip(h1, 'route').includes('192.168.12.0'));
    await waitFor(() => !ip(h1, 'neigh', 'show', 'dev', 'vxlan0').includes('192.168.12.1'));
    assert.doesNotMatch(execBridge(h1), /10\.57\.4\.22/);
    // ... and comes back.
    const all = sandbox.nodes();
    for (const name of ['host1', 'host2']) await agents.get(name).setNodes(all);
    await waitFor(() => ip(h1, 'route').includes('192.168.12.0'));
    assert.deepEqual(await allPairs(sandbox, ['host1', 'host3']), []);
  });

  it('vxlan learning variant: flood entries per node, no neighbour entries, traffic both ways', async function () {
    await start('vxlan', SEED_HOSTS, { vxlanLearning: true });
    const h1 = sandbox.hostNs('host1');
    assert.match(execBridge(h1), /00:00:00:00:00:00 dst 10\.57\.4\.21 self permanent/);
    assert.equal(ipJson(h1, 'neigh', 'show', 'dev', 'vxlan0', 'nud', 'permanent').length, 0);
    assert.deepEqual(await allPairs(sandbox), []);
  });

  it('hybrid: host-gw on the same subnet, vxlan across the router, all pods reach each other', async function () {
    await start('hybrid', [...SEED_HOSTS, FAR_HOST]);
    const h1 = sandbox.hostNs('host1');
    assert.match(ip(h1, 'route', 'show', '192.168.11.0/24'), /via 10\.57\.4\.21 dev eth0/);
    assert.match(ip(h1, 'route', 'show', '192.168.12.0/24'), /via 192\.168\.12\.1 dev vxlan0/);
    assert.deepEqual(await allPairs(sandbox), []);
  });

  it('mode switch vxlan -> host-gw converges with no leftovers; a fresh agent on a converged host sends nothing', async function () {
    await start('vxlan', SEED_HOSTS);
    for (const h of sandbox.hosts) {
      await agents.get(h.name).stop();
      const nl = await sandbox.rtnl(sandbox.hostNs(h.name));
      const agent = new OverlayAgent({ nl, mode: 'host-gw', self: h.name });
      agents.set(h.name, agent);
      const res = await agent.setNodes(sandbox.nodes());
      assert.ok(res.converged, res.plan.text());
    }
    const h1 = sandbox.hostNs('host1');
    assert.equal(ipJson(h1, 'link', 'show', 'type', 'vxlan').length, 0, 'no vxlan device left');
    assert.deepEqual(ipJson(h1, 'route', 'show', 'proto', '77').map((r) => `${r.dst} ${r.dev}`), ['192.168.11.0/24 eth0']);
    assert.deepEqual(await allPairs(sandbox), []);

    // A restart: the running agent stops first (two with one identity would be refused).
    await agents.get('host1').stop();
    const nl = await sandbox.rtnl(h1);
    const before = nl.modifyingRequests();
    const fresh = new OverlayAgent({ nl, mode: 'host-gw', self: 'host1' });
    try {
      const res = await fresh.setNodes(sandbox.nodes());
      assert.equal(res.plan.ops.length, 0, res.plan.text());
      assert.equal(nl.modifyingRequests() - before, 0);
    } finally {
      await fresh.stop();
    }
  });

  it('ipip: traffic both ways over one-to-many tunnels (needs a kernel with CONFIG_NET_IPIP)', async function () {
    if (!(await kernelHasIpip())) {
      console.log('      (skipped: this kernel has no ipip, CONFIG_NET_IPIP; the VM lane runs this test)');
      this.skip();
    }
    await start('ipip', SEED_HOSTS);
    const h1 = sandbox.hostNs('host1');
    const tun = ipJson(h1, '-d', 'link', 'show', 'ipip0')[0];
    assert.equal(tun.mtu, 1480);
    assert.equal(tun.linkinfo.info_kind, 'ipip');
    assert.match(ip(h1, 'route', 'show', '192.168.11.0/24'), /via 10\.57\.4\.21 dev ipip0 proto 77 onlink/);
    assert.deepEqual(await allPairs(sandbox), []);
  });
});

function execBridge(ns) {
  return require('node:child_process').execFileSync('ip', ['netns', 'exec', ns, 'bridge', 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' });
}

const waitFor = (cond, ms = 3000) => pollUntil(cond, { ms });
