'use strict';
// The modes with `nexthops: true` (issue 20, modes): one nexthop object per remote node, every
// pod route of the node on it; pods reach each other in every mode, and after a node's IP
// changes (in host-gw one nexthop replace on each peer, whatever its number of routes).
const assert = require('node:assert/strict');
const { pollUntil } = require('../support/poll');
const { OverlayAgent, Rtnl, Netns, overlay } = require('../../dist');
const { Sandbox, SEED_HOSTS, FAR_HOST, withIPv6 } = require('../../examples/lib/sandbox');
const { kernelDescribe, ip, ipJson, slow } = require('../support/kernel');
const { namedNexthopCandidate } = require('../../dist/reconcile/kinds/nexthop/ids');

let counter = 0;
const nhidOf = (node) => namedNexthopCandidate(77, 'netlink-agent', `node/${node}`, 0);
const vtepIdOf = (node, group) => namedNexthopCandidate(77, 'netlink-agent', `vtep/${node}${group ? '/group' : ''}`, 0);

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

describe('overlay modes with nexthops: true (desired state)', function () {
  const nodes = [
    { name: 'host1', nodeIP: '10.57.4.20', podCIDR: '192.168.10.0/24' },
    { name: 'host2', nodeIP: '10.57.4.21', podCIDR: '192.168.11.0/24' },
  ];
  it('host-gw: a nexthop per remote node via its node IP, the pod route on it by name; the route form stays the default', function () {
    const s = overlay.desiredState({ mode: 'host-gw', self: 'host1', nodes, underlayDev: 'eth0', nexthops: true });
    assert.deepEqual(s.nexthops, [{ name: 'node/host2', via: '10.57.4.21', dev: 'eth0', onlink: true }]);
    assert.deepEqual(s.routes, [{ dst: '192.168.11.0/24', nexthop: 'node/host2' }]);
    const plain = overlay.desiredState({ mode: 'host-gw', self: 'host1', nodes, underlayDev: 'eth0' });
    assert.equal(plain.nexthops, undefined);
    assert.deepEqual(plain.routes, [{ dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'eth0', onlink: true }]);
  });
  it('vxlan: via the VTEP address onlink on the vxlan device; the VTEP MAC on an FDB nexthop group via the node IP', function () {
    const s = overlay.desiredState({ mode: 'vxlan', self: 'host1', nodes, underlayDev: 'eth0', nexthops: true });
    assert.deepEqual(s.nexthops, [
      { name: 'vtep/host2', via: '10.57.4.21', fdb: true },
      { name: 'vtep/host2/group', group: [{ nexthop: 'vtep/host2' }], fdb: true },
      { name: 'node/host2', via: '192.168.11.1', dev: 'vxlan0', onlink: true },
    ]);
    assert.deepEqual(s.routes, [{ dst: '192.168.11.0/24', nexthop: 'node/host2' }]);
    assert.deepEqual(s.fdb, [{ dev: 'vxlan0', mac: '0e:6e:0a:39:04:15', nexthop: 'vtep/host2/group' }]);
    // The learning variant keeps its flood entry: on a group, an all-zero entry would send each frame to one member.
    const learning = overlay.desiredState({ mode: 'vxlan', self: 'host1', nodes, underlayDev: 'eth0', nexthops: true, vxlanLearning: true });
    assert.deepEqual(learning.fdb, [{ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: '10.57.4.21' }]);
    assert.deepEqual(learning.nexthops.map((n) => n.name), ['node/host2']);
    // An IPv6 underlay: vtep6/<node>, via the node's IPv6 address, on vxlan6.
    const v6 = overlay.desiredState({ mode: 'vxlan', self: 'a', underlayDev: 'eth0', nexthops: true, nodes: [
      { name: 'a', nodeIP: 'fd57:4::20', podCIDR: '192.168.10.0/24' },
      { name: 'b', nodeIP: 'fd57:4::21', podCIDR: '192.168.11.0/24' },
    ] });
    assert.deepEqual(v6.nexthops.slice(0, 2), [
      { name: 'vtep6/b', via: 'fd57:4::21', fdb: true },
      { name: 'vtep6/b/group', group: [{ nexthop: 'vtep6/b' }], fdb: true },
    ]);
    assert.deepEqual(v6.fdb, [{ dev: 'vxlan6', mac: '0e:6f:00:00:00:21', nexthop: 'vtep6/b/group' }]);
  });
  it('nexthops must be a boolean', function () {
    assert.throws(() => overlay.desiredState({ mode: 'vxlan', self: 'host1', nodes, underlayDev: 'eth0', nexthops: 'yes' }), (e) => e.name === 'ValidationError' && e.problems.some((p) => p.path === 'nexthops'));
  });
});

kernelDescribe('overlay: end to end with nexthops: true', function () {
  this.timeout(120000 * slow);
  let sandbox;
  let agents;

  async function start(mode, hosts, agentOpts = {}) {
    sandbox = new Sandbox({ prefix: `nla-nho${process.pid}x${++counter}`, hosts });
    await sandbox.build();
    for (const h of sandbox.hosts) {
      const nl = await sandbox.rtnl(sandbox.hostNs(h.name));
      const agent = new OverlayAgent({ nl, mode, self: h.name, nexthops: true, watch: { debounceMs: 20 }, ...agentOpts });
      agents.set(h.name, agent);
      const res = await agent.setNodes(sandbox.nodes());
      assert.deepEqual(res.failed.map((f) => f.error.message), [], `${h.name}: ${res.plan.text()}`);
      assert.ok(res.converged, res.plan.text());
    }
  }

  /** host2 gets a new node IP on its underlay; every agent is given the new node list
   * (with `extra` merged into host2's record: a fixed vtepMac, say). */
  async function moveHost2(newIP, extra = {}) {
    const h2 = sandbox.hostNs('host2');
    const old = sandbox.host('host2').nodeIP;
    Netns.sysctl(h2, { 'net.ipv4.conf.eth0.promote_secondaries': 1 });
    ip(h2, 'addr', 'add', `${newIP}/24`, 'dev', 'eth0');
    ip(h2, 'addr', 'del', `${old}/24`, 'dev', 'eth0');
    ip(h2, 'route', 'replace', 'default', 'via', '10.57.4.1', 'dev', 'eth0', 'proto', 'static');
    sandbox.host('host2').nodeIP = newIP;
    const nodes = sandbox.nodes().map((n) => (n.name === 'host2' ? { ...n, ...extra } : n));
    for (const a of agents.values()) await a.setNodes(nodes);
  }

  beforeEach(function () {
    agents = new Map();
  });
  afterEach(async function () {
    for (const a of agents.values()) await a.stop();
    if (sandbox) await sandbox.destroy();
    sandbox = undefined;
  });

  it("host-gw: pod routes on nexthop objects; a node's new IP is one nexthop replace on each peer, and pods talk again", async function () {
    const hosts = SEED_HOSTS.map((h) => ({ ...h }));
    await start('host-gw', hosts);
    const h1 = sandbox.hostNs('host1');
    const r = ipJson(h1, 'route', 'show', '192.168.11.0/24')[0];
    assert.equal(r.nhid, nhidOf('host2'));
    assert.equal(r.gateway, '10.57.4.21');
    assert.equal(ipJson(h1, 'nexthop', 'show', 'id', String(nhidOf('host2')))[0].protocol, '77');
    assert.deepEqual(await allPairs(sandbox), []);

    const drift = [];
    const nl = await sandbox.rtnl(h1);
    const before = nl.modifyingRequests();
    agents.get('host1').on('applied', (res) => drift.push(...res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}`)));
    await moveHost2('10.57.4.31');
    // The kernel has the change before the apply that made it reports: wait for both.
    await pollUntil(() => drift.length > 0 && ipJson(h1, 'route', 'show', '192.168.11.0/24')[0]?.gateway === '10.57.4.31', { ms: 5000 * slow, what: 'host1 following host2' });
    assert.deepEqual(drift, [`update nexthop node/host2 (id ${nhidOf('host2')})`]);
    assert.equal(nl.modifyingRequests() - before, 1);
    assert.equal(ipJson(h1, 'route', 'show', '192.168.11.0/24')[0].nhid, nhidOf('host2'));
    await pollUntil(async () => (await allPairs(sandbox)).length === 0, { ms: 10000 * slow, what: 'pods talking again after the IP change' });
  });

  it('vxlan: traffic both ways on nexthop objects, the VTEP MAC on an FDB nexthop; after a node IP change', async function () {
    const hosts = SEED_HOSTS.map((h) => ({ ...h }));
    await start('vxlan', hosts);
    const h1 = sandbox.hostNs('host1');
    const r = ipJson(h1, 'route', 'show', '192.168.11.0/24')[0];
    assert.equal(r.nhid, nhidOf('host2'));
    assert.equal(r.gateway, '192.168.11.1');
    assert.equal(r.dev, 'vxlan0');
    // The FDB entry of host2's VTEP MAC names an FDB nexthop group, whose one member goes via host2's node IP.
    const mac = overlay.vtepMacFor('10.57.4.21');
    const fdbOf = () => ipJson(h1, 'link', 'show', 'vxlan0') && JSON.parse(require('node:child_process').execFileSync('bridge', ['-n', h1, '-j', 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' })).filter((e) => e.mac === mac);
    const [entry] = fdbOf();
    assert.equal(entry.nhid, vtepIdOf('host2', 'group'), JSON.stringify(entry));
    assert.equal(entry.dst, undefined);
    const member = ipJson(h1, 'nexthop', 'show', 'id', String(vtepIdOf('host2')))[0];
    assert.equal(member.gateway, '10.57.4.21');
    assert.ok('fdb' in member, JSON.stringify(member)); // ip -j prints the flag as "fdb": null
    assert.equal(member.protocol, '77');
    assert.deepEqual(ipJson(h1, 'nexthop', 'show', 'id', String(vtepIdOf('host2', 'group')))[0].group.map((m) => m.id), [vtepIdOf('host2')]);
    assert.deepEqual(await allPairs(sandbox), []);

    // host2 moves, keeping its VTEP MAC: on host1 that is one FDB nexthop replace, nothing else.
    const drift = [];
    const nl = await sandbox.rtnl(h1);
    const before = nl.modifyingRequests();
    agents.get('host1').on('applied', (res) => drift.push(...res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}`)));
    await moveHost2('10.57.4.31', { vtepMac: mac });
    await pollUntil(() => drift.length > 0, { ms: 5000 * slow, what: 'host1 following host2' });
    assert.deepEqual(drift, [`update nexthop vtep/host2 (id ${vtepIdOf('host2')})`]);
    assert.equal(nl.modifyingRequests() - before, 1);
    assert.equal(ipJson(h1, 'nexthop', 'show', 'id', String(vtepIdOf('host2')))[0].gateway, '10.57.4.31');
    assert.equal(fdbOf()[0].nhid, vtepIdOf('host2', 'group'));
    await pollUntil(async () => (await allPairs(sandbox)).length === 0, { ms: 10000 * slow, what: 'pods talking again after the IP change' });

    // And again with the MAC derived from the new IP: the entry moves to the new MAC, still on the group.
    await moveHost2('10.57.4.32');
    const moved = overlay.vtepMacFor('10.57.4.32');
    await pollUntil(() => JSON.parse(require('node:child_process').execFileSync('bridge', ['-n', h1, '-j', 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' })).some((e) => e.mac === moved && e.nhid === vtepIdOf('host2', 'group')), { ms: 5000 * slow, what: 'the FDB entry of the new MAC' });
    await pollUntil(async () => (await allPairs(sandbox)).length === 0, { ms: 10000 * slow, what: 'pods talking again after the second IP change' });
  });

  it('vxlan, dual stack: FDB nexthops on both underlays (vtep/, vtep6/), pod routes of both families on nexthops; pods reach each other; a fresh agent sends nothing', async function () {
    await start('vxlan', withIPv6(SEED_HOSTS, { dual: true }));
    const h1 = sandbox.hostNs('host1');
    const fdbOn = (dev) => JSON.parse(require('node:child_process').execFileSync('bridge', ['-n', h1, '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' })).filter((e) => e.state === 'permanent');
    assert.deepEqual(fdbOn('vxlan0').map((e) => [e.mac, e.nhid]), [[overlay.vtepMacFor('10.57.4.21'), vtepIdOf('host2', 'group')]]);
    const v6group = namedNexthopCandidate(77, 'netlink-agent', 'vtep6/host2/group', 0);
    assert.deepEqual(fdbOn('vxlan6').map((e) => [e.mac, e.nhid]), [[overlay.vtepMacFor('fd57:4::21'), v6group]]);
    assert.equal(ipJson(h1, 'nexthop', 'show', 'id', String(namedNexthopCandidate(77, 'netlink-agent', 'vtep6/host2', 0)))[0].gateway, 'fd57:4::21');
    assert.equal(ipJson(h1, '-6', 'route', 'show', 'fd10:0:0:b::/64')[0].nhid, namedNexthopCandidate(77, 'netlink-agent', 'node/host2/v6', 0));
    for (const family of [4, 6]) {
      for (const [a, b] of [['host1', 'host2'], ['host2', 'host1']]) {
        const r = await sandbox.traffic(a, b, { family });
        assert.ok(r.udp.ok && r.tcp.ok, `IPv${family} ${a}->${b}: ${JSON.stringify(r)}`);
      }
    }
    await agents.get('host1').stop();
    const nl = await sandbox.rtnl(h1);
    const before = nl.modifyingRequests();
    const fresh = new OverlayAgent({ nl, mode: 'vxlan', self: 'host1', nexthops: true });
    agents.set('host1', fresh);
    const res = await fresh.setNodes(sandbox.nodes());
    assert.equal(res.plan.ops.length, 0, res.plan.text());
    assert.equal(nl.modifyingRequests() - before, 0);
  });

  it('hybrid: host-gw nexthops on the same subnet, vxlan ones across the router; all pods reach each other', async function () {
    await start('hybrid', [...SEED_HOSTS, FAR_HOST]);
    const h1 = sandbox.hostNs('host1');
    assert.equal(ipJson(h1, 'route', 'show', '192.168.11.0/24')[0].gateway, '10.57.4.21');
    assert.equal(ipJson(h1, 'route', 'show', '192.168.12.0/24')[0].dev, 'vxlan0');
    assert.equal(ipJson(h1, 'route', 'show', '192.168.12.0/24')[0].nhid, nhidOf('host3'));
    assert.deepEqual(await allPairs(sandbox), []);
  });

  it('ipip: traffic both ways on nexthop objects (needs a kernel with CONFIG_NET_IPIP)', async function () {
    if (!(await kernelHasIpip())) {
      console.log('      (skipped: this kernel has no ipip, CONFIG_NET_IPIP; the VM lane runs this test)');
      this.skip();
    }
    await start('ipip', SEED_HOSTS.map((h) => ({ ...h })));
    const h1 = sandbox.hostNs('host1');
    const r = ipJson(h1, 'route', 'show', '192.168.11.0/24')[0];
    assert.equal(r.nhid, nhidOf('host2'));
    assert.equal(r.dev, 'ipip0');
    assert.deepEqual(await allPairs(sandbox), []);
    await moveHost2('10.57.4.31');
    await pollUntil(async () => (await allPairs(sandbox)).length === 0, { ms: 10000 * slow, what: 'pods talking again after the IP change' });
  });
});
