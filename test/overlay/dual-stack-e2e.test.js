'use strict';
// End to end, IPv6-only and dual stack: a sandbox cluster in namespaces (IPv6 underlay
// addresses, pods with an IPv6 address and, for dual stack, an IPv4 one too), one OverlayAgent
// per host, real pod-to-pod UDP and TCP over each family from sockets inside the pods.
// (The IPv4-only cases of every mode are test/overlay/e2e.test.js.)
const assert = require('node:assert/strict');
const { OverlayAgent, ValidationError, PrivateKey } = require('../../dist');
const { Sandbox, SEED_HOSTS, FAR_HOST, withIPv6 } = require('../../examples/lib/sandbox');
const { kernelDescribe, ip, ipJson } = require('../support/kernel');
const { HAS_WIREGUARD, NO_WIREGUARD, wgShowDump } = require('../support/wg');

let counter = 0;

async function allPairs(sandbox, families) {
  const bad = [];
  const names = sandbox.hosts.map((h) => h.name);
  for (const family of families) {
    for (const a of names) {
      for (const b of names) {
        if (a === b) continue;
        const r = await sandbox.traffic(a, b, { family });
        if (!r.udp.ok || !r.tcp.ok) bad.push(`IPv${family} ${a}->${b}: udp ${JSON.stringify(r.udp)} tcp ${JSON.stringify(r.tcp)}`);
      }
    }
  }
  return bad;
}

kernelDescribe('overlay: IPv6-only and dual-stack pod networks end to end', function () {
  this.timeout(180000);
  let sandbox;
  let agents;

  async function start(mode, hosts, agentOpts = {}) {
    sandbox = new Sandbox({ prefix: `nla-ds${process.pid}x${++counter}`, hosts });
    await sandbox.build();
    for (const h of sandbox.hosts) {
      const nl = await sandbox.rtnl(sandbox.hostNs(h.name));
      const agent = new OverlayAgent({ nl, mode, self: h.name, watch: { debounceMs: 20 }, ...agentOpts });
      agents.set(h.name, agent);
      const res = await agent.setNodes(sandbox.nodes());
      assert.deepEqual(res.failed.map((f) => f.error.message), [], `${h.name}: ${res.plan.text()}`);
    }
  }

  /** A second agent on a converged host plans nothing and sends nothing (the no-op property on the kernel). */
  async function assertNoOp(mode, host, agentOpts = {}) {
    await agents.get(host).stop();
    const nl = await sandbox.rtnl(sandbox.hostNs(host));
    const before = nl.modifyingRequests();
    const fresh = new OverlayAgent({ nl, mode, self: host, ...agentOpts });
    agents.set(host, fresh);
    const res = await fresh.setNodes(sandbox.nodes());
    assert.equal(res.plan.ops.length, 0, res.plan.text());
    assert.equal(nl.modifyingRequests() - before, 0);
  }

  beforeEach(function () {
    agents = new Map();
  });
  afterEach(async function () {
    for (const a of agents.values()) await a.stop();
    if (sandbox) await sandbox.destroy();
    sandbox = undefined;
  });

  for (const [label, opts, families] of [
    ['IPv6 only', { dual: false }, [6]],
    ['dual stack', { dual: true }, [4, 6]],
  ]) {
    it(`host-gw, ${label}: per family podCIDR via the node IP of that family; pods reach each other both ways`, async function () {
      await start('host-gw', withIPv6(SEED_HOSTS, opts));
      const h1 = sandbox.hostNs('host1');
      assert.match(ip(h1, '-6', 'route', 'show', 'fd10:0:0:b::/64'), /via fd57:4::21 dev eth0 proto 77 .*onlink/);
      if (families.includes(4)) assert.match(ip(h1, 'route', 'show', '192.168.11.0/24'), /via 10\.57\.4\.21 dev eth0 proto 77 onlink/);
      assert.deepEqual(await allPairs(sandbox, families), []);
      await assertNoOp('host-gw', 'host1');
    });

    it(`vxlan, ${label}: a device per underlay family (MTU 1450 / 1430), permanent IPv6 neighbours, pods reach each other`, async function () {
      await start('vxlan', withIPv6(SEED_HOSTS, opts));
      const h1 = sandbox.hostNs('host1');
      const v6 = ipJson(h1, '-d', 'link', 'show', 'vxlan6')[0];
      assert.equal(v6.mtu, 1430);
      assert.equal(v6.linkinfo.info_data.local6 ?? v6.linkinfo.info_data.local, 'fd57:4::20');
      assert.equal(v6.address, '0e:6f:00:00:00:20');
      const neigh = ipJson(h1, '-6', 'neigh', 'show', 'dev', 'vxlan6', 'nud', 'permanent');
      assert.deepEqual(neigh.map((n) => `${n.dst} ${n.lladdr}`), ['fd10:0:0:b::1 0e:6f:00:00:00:21']);
      assert.match(execBridge(h1, 'vxlan6'), /0e:6f:00:00:00:21 dst fd57:4::21 self permanent/);
      if (families.includes(4)) assert.equal(ipJson(h1, 'link', 'show', 'vxlan0')[0].mtu, 1450);
      else assert.equal(ipJson(h1, 'link', 'show', 'type', 'vxlan').length, 1, 'IPv6 only: no IPv4 VTEP');
      assert.deepEqual(await allPairs(sandbox, families), []);
      await assertNoOp('vxlan', 'host1');
    });

    it(`hybrid, ${label}: host-gw on the same subnet, vxlan to the host behind the router, per family`, async function () {
      await start('hybrid', withIPv6([...SEED_HOSTS, FAR_HOST], opts));
      const h1 = sandbox.hostNs('host1');
      assert.match(ip(h1, '-6', 'route', 'show', 'fd10:0:0:b::/64'), /via fd57:4::21 dev eth0/);
      assert.match(ip(h1, '-6', 'route', 'show', 'fd10:0:0:c::/64'), /via fd10:0:0:c::1 dev vxlan6/);
      if (families.includes(4)) {
        assert.match(ip(h1, 'route', 'show', '192.168.11.0/24'), /via 10\.57\.4\.21 dev eth0/);
        assert.match(ip(h1, 'route', 'show', '192.168.12.0/24'), /via 192\.168\.12\.1 dev vxlan0/);
      }
      assert.deepEqual(await allPairs(sandbox, families), []);
    });
  }

  it('vxlan over an IPv6-only underlay carries both pod families on one vxlan6 device (the --underlay6 variant)', async function () {
    await start('vxlan', withIPv6(SEED_HOSTS, { dual: true, underlay6: true }));
    const h1 = sandbox.hostNs('host1');
    assert.deepEqual(ipJson(h1, 'link', 'show', 'type', 'vxlan').map((l) => l.ifname), ['vxlan6']);
    assert.match(ip(h1, 'route', 'show', '192.168.11.0/24'), /via 192\.168\.11\.1 dev vxlan6/);
    assert.deepEqual(await allPairs(sandbox, [4, 6]), []);
  });

  // WireGuard (VM lane: this host has none): one device for every pod family, a peer per node
  // with allowed IPs of both families, its endpoint in the underlay's family; `wg show` is the oracle.
  for (const [label, opts, families, v6Underlay] of [
    ['dual stack', { dual: true }, [4, 6], false],
    ['dual-stack pods over an IPv6-only underlay', { dual: true, underlay6: true }, [4, 6], true],
    ['IPv6 only', { dual: false }, [6], true],
  ]) {
    it(`wireguard, ${label}: allowed IPs of each pod family, endpoint of the underlay family, MTU 1500 - ${v6Underlay ? 80 : 60}; pods reach each other${HAS_WIREGUARD ? '' : ` (${NO_WIREGUARD})`}`, async function () {
      if (!HAS_WIREGUARD) this.skip();
      const hosts = withIPv6(SEED_HOSTS, opts);
      sandbox = new Sandbox({ prefix: `nla-ds${process.pid}x${++counter}`, hosts });
      await sandbox.build();
      const keys = new Map(hosts.map((h) => [h.name, PrivateKey.generate()]));
      const nodes = sandbox.nodes().map((n) => ({ ...n, wireguard: { publicKey: keys.get(n.name).publicKey().toBase64() } }));
      for (const h of hosts) {
        const nl = await sandbox.rtnl(sandbox.hostNs(h.name));
        const agent = new OverlayAgent({ nl, mode: 'wireguard', self: h.name, wireguardKey: keys.get(h.name), watch: { debounceMs: 20 } });
        agents.set(h.name, agent);
        const res = await agent.setNodes(nodes);
        assert.deepEqual(res.failed.map((f) => f.error.message), [], `${h.name}: ${res.plan.text()}`);
      }
      const h1 = sandbox.hostNs('host1');
      const other = hosts[1];
      const dump = wgShowDump(h1, 'wg-overlay');
      assert.deepEqual(
        dump.peers.map((p) => [p.publicKey, p.endpoint, [...p.allowedIps].sort().join(',')]),
        [[keys.get(other.name).publicKey().toBase64(), v6Underlay ? `[${other.nodeIP6}]:51820` : `${other.nodeIP}:51820`, [other.podCIDR, other.podCIDR6].filter((x, i) => x && families.includes(i ? 6 : 4)).sort().join(',')]],
      );
      assert.equal(ipJson(h1, 'link', 'show', 'wg-overlay')[0].mtu, v6Underlay ? 1420 : 1440);
      for (const f of families) {
        const dst = f === 4 ? other.podCIDR : other.podCIDR6;
        assert.match(ip(h1, `-${f}`, 'route', 'show', dst), /dev wg-overlay proto 77/, `IPv${f} pod route`);
      }
      assert.deepEqual(await allPairs(sandbox, families), []);
      assert.ok(wgShowDump(h1, 'wg-overlay').peers.every((p) => p.latestHandshake > 0), 'the traffic went through the tunnel');
      // A second agent on the converged host plans and sends nothing.
      await agents.get('host1').stop();
      const nl = await sandbox.rtnl(h1);
      const before = nl.modifyingRequests();
      const fresh = new OverlayAgent({ nl, mode: 'wireguard', self: 'host1', wireguardKey: keys.get('host1') });
      agents.set('host1', fresh);
      const res = await fresh.setNodes(nodes);
      assert.equal(res.plan.ops.length, 0, res.plan.text());
      assert.equal(nl.modifyingRequests() - before, 0);
    });
  }

  it('ipip with IPv6 pods is a typed error before anything reaches the kernel', async function () {
    sandbox = new Sandbox({ prefix: `nla-ds${process.pid}x${++counter}`, hosts: withIPv6(SEED_HOSTS, { dual: true }) });
    await sandbox.build();
    const nl = await sandbox.rtnl(sandbox.hostNs('host1'));
    const agent = new OverlayAgent({ nl, mode: 'ipip', self: 'host1' });
    agents.set('host1', agent);
    const before = nl.modifyingRequests();
    await assert.rejects(agent.setNodes(sandbox.nodes()), (e) => e instanceof ValidationError && /podCIDRs: ipip carries IPv4 pods only/.test(e.message));
    assert.equal(nl.modifyingRequests() - before, 0);
  });
});

function execBridge(ns, dev) {
  return require('node:child_process').execFileSync('ip', ['netns', 'exec', ns, 'bridge', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' });
}
