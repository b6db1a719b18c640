'use strict';
// End to end: three host namespaces with a pod each, one agent per host (EtcdMembership +
// OverlayAgent), one real etcd. Pods reach each other; a dead host's routes, FDB and neighbour
// entries go when its lease expires and come back with it; an etcd restart flushes nothing.
const assert = require('node:assert/strict');
const { OverlayAgent } = require('../../dist');
const { EtcdMembership, MembershipFeed } = require('../../dist/membership');
const { Sandbox, SEED_HOSTS } = require('../../examples/lib/sandbox');
const { etcdDescribe } = require('../support/etcd');
const { ip, ipJson } = require('../support/kernel');
const { waitFor } = require('./helpers');
const { execFileSync } = require('node:child_process');

const HOST3 = { name: 'host3', nodeIP: '10.57.4.22', podCIDR: '192.168.12.0/24', podIP: '192.168.12.10' };
const HOSTS = [...SEED_HOSTS, HOST3];
let counter = 0;

/** Our routes (protocol 77) in a host namespace, as "dst" strings. */
const routes = (ns) => ipJson(ns, 'route', 'show', 'proto', '77').map((r) => r.dst).sort();
const fdb = (ns) => execFileSync('ip', ['netns', 'exec', ns, 'bridge', 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' });
const neigh = (ns) => ip(ns, 'neigh', 'show', 'dev', 'vxlan0');
const others = (name) => HOSTS.filter((h) => h.name !== name).map((h) => h.podCIDR).sort();

async function allPairs(sandbox, hosts) {
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

etcdDescribe(
  'membership: three hosts, three agents, one etcd (end to end)',
  function (etcd) {
    this.timeout(120000);
    let sandbox;
    let agents;
    let prefix;

    async function startAgent(h) {
      const nl = await sandbox.rtnl(sandbox.hostNs(h.name));
      const membership = new EtcdMembership({
        endpoints: etcd().url,
        prefix,
        self: { name: h.name, nodeIP: h.nodeIP, podCIDR: h.podCIDR, mode: 'vxlan' },
        ttlSeconds: 2,
        debounceMs: 20,
        minBackoffMs: 50,
        maxBackoffMs: 500,
        callTimeoutMs: 1000,
      });
      const agent = new OverlayAgent({ nl, mode: 'vxlan', self: h.name, underlayDev: 'eth0', watch: { debounceMs: 20 } });
      const entry = { membership, agent, feed: undefined };
      agents.set(h.name, entry);
      await membership.start();
      entry.feed = new MembershipFeed(membership, agent);
      return entry;
    }
    async function stopAgent(name) {
      const e = agents.get(name);
      agents.delete(name);
      if (!e) return;
      await e.feed?.stop();
      await e.agent.stop();
      await e.membership.stop();
    }

    beforeEach(async function () {
      agents = new Map();
      prefix = `/nla-cluster-${process.pid}-${++counter}/`;
      sandbox = new Sandbox({ prefix: `nla-cl${process.pid}x${counter}`, hosts: HOSTS });
      try {
        await sandbox.build();
        await Promise.all(HOSTS.map((h) => startAgent(h)));
        for (const h of HOSTS) await waitFor(() => routes(sandbox.hostNs(h.name)).join() === others(h.name).join(), 10000, `${h.name} routes`);
      } catch (e) {
        for (const name of [...agents.keys()]) await stopAgent(name).catch(() => undefined);
        await sandbox.destroy();
        sandbox = undefined;
        throw e;
      }
    });
    afterEach(async function () {
      try {
        for (const name of [...agents.keys()]) await stopAgent(name);
      } finally {
        if (sandbox) await sandbox.destroy();
        sandbox = undefined;
      }
    });

    it('pods reach each other; a stopped host vanishes from the others when its lease expires, and comes back when restarted', async function () {
      assert.deepEqual(await allPairs(sandbox, ['host1', 'host2', 'host3']), []);
      const h1 = sandbox.hostNs('host1');
      const h2 = sandbox.hostNs('host2');
      assert.match(fdb(h1), /dst 10\.57\.4\.22/);
      assert.match(neigh(h1), /192\.168\.12\.1 lladdr 0e:6e:0a:39:04:16 PERMANENT/);

      const t0 = Date.now();
      await stopAgent('host3'); // no revoke: the lease runs out (TTL 2 s)
      await waitFor(() => !routes(h1).includes('192.168.12.0/24') && !routes(h2).includes('192.168.12.0/24'), 10000, 'host3 routes removed');
      const gone = Date.now() - t0;
      await waitFor(() => !/10\.57\.4\.22/.test(fdb(h1)) && !/192\.168\.12\.1 /.test(neigh(h1)), 3000, 'host3 fdb/neigh removed');
      assert.deepEqual(routes(h1), ['192.168.11.0/24']);
      assert.ok(gone >= 1000, `removed after ${gone} ms, before the lease could expire`);
      console.log(`      (host3 removed from the others ${gone} ms after its agent stopped, TTL 2 s)`);

      await startAgent(HOST3);
      await waitFor(() => routes(h1).includes('192.168.12.0/24') && routes(h2).includes('192.168.12.0/24'), 10000, 'host3 back');
      assert.deepEqual(await allPairs(sandbox, ['host1', 'host3']), []);
    });

    it('etcd restarting mid-watch flushes no route; membership converges afterwards', async function () {
      const nss = HOSTS.map((h) => sandbox.hostNs(h.name));
      const before = nss.map(routes);
      let sampling = true;
      const shrunk = [];
      const sampler = (async () => {
        while (sampling) {
          nss.forEach((ns, i) => {
            const now = routes(ns);
            if (now.length < before[i].length) shrunk.push(`${ns}: ${now.join(',')}`);
          });
          await new Promise((r) => setTimeout(r, 25));
        }
      })();
      try {
        await etcd().restart({ downMs: 3000 }); // longer than the 2 s TTL
        await new Promise((r) => setTimeout(r, 1500)); // agents reconnect, re-read, re-register
      } finally {
        sampling = false;
        await sampler;
      }
      assert.deepEqual(shrunk, [], 'no route was removed while etcd was away or coming back');
      assert.deepEqual(nss.map(routes), before);
      assert.deepEqual(await allPairs(sandbox, ['host1', 'host2']), []);
      // The watch works again: a host that stops now is removed from the others.
      await stopAgent('host2');
      await waitFor(() => !routes(nss[0]).includes('192.168.11.0/24') && !routes(nss[2]).includes('192.168.11.0/24'), 10000, 'host2 removed after the restart');
    });
  },
  { root: true },
);
