'use strict';
// host-gw with IPv6 pods over an IPv4 underlay on one L2 segment (issue 21: "v6 via the node's
// global address, or link-local with the device"): hosts without a global IPv6 address publish
// their underlay's link-local one (linkLocal6), and the peers route their IPv6 pods
// `via fe80::x dev eth0`. A sandbox cluster in namespaces, one OverlayAgent per host, real
// pod-to-pod UDP and TCP over both families, and the no-op property for such routes (inline and
// on nexthop objects).
const assert = require('node:assert/strict');
const { OverlayAgent } = require('../../dist');
const { Sandbox, SEED_HOSTS, withIPv6 } = require('../../examples/lib/sandbox');
const { kernelDescribe, ipJson, slow } = require('../support/kernel');
const { pollUntil } = require('../support/poll');

let counter = 0;

/** eth0's link-local address once DAD is done (a tentative address cannot be a next hop's source). */
async function linkLocalOf(ns) {
  let found;
  await pollUntil(() => {
    const a = ipJson(ns, '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link')[0]?.addr_info?.find((x) => x.family === 'inet6');
    if (a && !a.tentative) found = a.local;
    return found !== undefined;
  }, { ms: 10000 * slow, what: `a settled link-local address on eth0 in ${ns}` });
  return found;
}

kernelDescribe('overlay: host-gw via IPv6 link-local next hops (IPv4 underlay, dual-stack pods)', function () {
  this.timeout(120000);
  let sandbox;
  let agents;
  beforeEach(function () {
    agents = [];
  });
  afterEach(async function () {
    for (const a of agents) await a.stop();
    if (sandbox) await sandbox.destroy();
    sandbox = undefined;
  });

  for (const nexthops of [false, true]) {
    it(`routes IPv6 pods via the peer's link-local address with the device${nexthops ? ', on nexthop objects' : ''}; pods reach each other over both families; a second agent plans nothing`, async function () {
      const hosts = withIPv6(SEED_HOSTS, { dual: true }).map(({ nodeIP6, ...h }) => h); // eslint-disable-line no-unused-vars
      sandbox = new Sandbox({ prefix: `nla-ll${process.pid}x${++counter}`, hosts });
      await sandbox.build();
      const nodes = [];
      for (const n of sandbox.nodes()) nodes.push({ ...n, linkLocal6: await linkLocalOf(sandbox.hostNs(n.name)) });
      for (const h of hosts) {
        const nl = await sandbox.rtnl(sandbox.hostNs(h.name));
        const agent = new OverlayAgent({ nl, mode: 'host-gw', self: h.name, nexthops, watch: { debounceMs: 20 } });
        agents.push(agent);
        const res = await agent.setNodes(nodes);
        assert.deepEqual(res.failed.map((f) => f.error.message), [], `${h.name}: ${res.plan.text()}`);
      }
      const ns1 = sandbox.hostNs('host1');
      const r6 = ipJson(ns1, '-6', 'route', 'show', 'fd10:0:0:b::/64');
      const peerLL = nodes[1].linkLocal6;
      if (nexthops) {
        assert.equal(r6.length, 1);
        const nh = ipJson(ns1, 'nexthop', 'show', 'id', String(r6[0].nhid))[0];
        assert.deepEqual([nh.gateway, nh.dev, nh.flags], [peerLL, 'eth0', []]);
      } else {
        assert.deepEqual(r6.map((r) => [r.gateway, r.dev, r.flags]), [[peerLL, 'eth0', []]], 'no onlink: a link-local next hop is on the link');
      }
      for (const family of [4, 6]) {
        for (const [a, b] of [['host1', 'host2'], ['host2', 'host1']]) {
          const r = await sandbox.traffic(a, b, { family, timeoutMs: 3000 * slow });
          assert.ok(r.udp.ok && r.tcp.ok, `IPv${family} ${a}->${b}: ${JSON.stringify(r)}`);
        }
      }
      // The no-op property: a fresh agent on a converged host plans nothing and sends nothing.
      await agents[0].stop();
      const nl = await sandbox.rtnl(ns1);
      const before = nl.modifyingRequests();
      const fresh = new OverlayAgent({ nl, mode: 'host-gw', self: 'host1', nexthops });
      agents[0] = fresh;
      const res = await fresh.setNodes(nodes);
      assert.equal(res.plan.ops.length, 0, res.plan.text());
      assert.equal(nl.modifyingRequests() - before, 0);
    });
  }
});
