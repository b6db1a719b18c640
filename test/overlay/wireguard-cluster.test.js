'use strict';
// The wireguard mode end to end (VM lane: Debian 6.1 has WireGuard; this host skips with one
// line): three host namespaces with a pod each, one agent per host (EtcdMembership +
// OverlayAgent, --mode wireguard), one real etcd on loopback started by the suite. Each record
// carries the node's public key; `wg show` is the oracle for every host's peers. Pods talk over
// the tunnel; a node leaving is removed from every device; a node's new key (rotation) reaches
// every peer through membership and its pods are reachable again.
const assert = require('node:assert/strict');
const { OverlayAgent, PrivateKey } = require('../../dist');
const { EtcdMembership, MembershipFeed } = require('../../dist/membership');
const { Sandbox, SEED_HOSTS } = require('../../examples/lib/sandbox');
const { EtcdServer, etcdInstalled } = require('../support/etcd');
const { ipJson, kernelDescribe } = require('../support/kernel');
const { pollUntil } = require('../support/poll');
const { HAS_WIREGUARD, NO_WIREGUARD, wgShowDump } = require('../support/wg');

const HOST3 = { name: 'host3', nodeIP: '10.57.4.22', podCIDR: '192.168.12.0/24', podIP: '192.168.12.10' };
const HOSTS = [...SEED_HOSTS, HOST3];
const DEV = 'wg-overlay';
let counter = 0;

const routes = (ns) => ipJson(ns, 'route', 'show', 'proto', '77').map((r) => `${r.dst} dev ${r.dev}`).sort();
/** A host's peers as `wg show` has them: "publicKey endpoint allowedIps", sorted. */
const peersOf = (ns) => {
  let dump;
  try {
    dump = wgShowDump(ns, DEV);
  } catch {
    return ['(no device yet)'];
  }
  return dump.peers.map((p) => `${p.publicKey} ${p.endpoint} ${p.allowedIps.join(',')}`).sort();
};

const title = HAS_WIREGUARD ? 'overlay: wireguard mode, three agents and one etcd (end to end)' : `overlay: wireguard mode, three agents and one etcd (end to end) (${NO_WIREGUARD})`;

// Like etcdDescribe, with the time etcd needs to start under TCG (the VM lane) allowed.
kernelDescribe(
  title,
  function () {
    this.timeout(240000);
    let sandbox;
    let agents;
    let keys;
    let prefix;
    let server;
    const etcd = () => server;

    before(async function () {
      if (!HAS_WIREGUARD) this.skip();
      if (!etcdInstalled()) {
        console.log('      (skipped: /usr/bin/etcd is missing; apt-get install etcd-server)');
        this.skip();
      }
      server = await EtcdServer.start({ startTimeoutMs: process.env.NETLINK_AGENT_VM ? 180000 : 15000 });
    });
    after(async function () {
      if (server) await server.stop();
      server = undefined;
    });

    const want = (name) =>
      HOSTS.filter((h) => h.name !== name && agents.has(h.name))
        .map((h) => `${keys.get(h.name).publicKey().toBase64()} ${h.nodeIP}:51820 ${h.podCIDR}`)
        .sort();

    async function startAgent(h) {
      const nl = await sandbox.rtnl(sandbox.hostNs(h.name));
      const key = keys.get(h.name);
      const membership = new EtcdMembership({
        endpoints: etcd().url,
        prefix,
        self: { name: h.name, nodeIP: h.nodeIP, podCIDR: h.podCIDR, mode: 'wireguard', wireguard: { publicKey: key.publicKey().toBase64() } },
        // Under TCG (the VM lane) a 2 s lease can lapse between keepalives.
        ttlSeconds: process.env.NETLINK_AGENT_VM ? 10 : 2,
        debounceMs: 20,
        minBackoffMs: 50,
        maxBackoffMs: 500,
        callTimeoutMs: 2000,
      });
      const agent = new OverlayAgent({ nl, mode: 'wireguard', self: h.name, underlayDev: 'eth0', wireguardKey: key, watch: { debounceMs: 20 } });
      const entry = { membership, agent, feed: undefined, events: [] };
      const note = (what) => entry.events.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
      membership.on('nodes', (list) => note(`nodes ${list.map((n) => `${n.name}:${n.wireguard?.publicKey.slice(0, 6)}`).join(',')}`));
      membership.on('status', (st) => note(`status ${st.state}`));
      membership.on('skipped', (sk) => sk.length && note(`skipped ${JSON.stringify(sk)}`));
      agent.on('error', (e) => note(`error ${e.message}`));
      agent.on('applied', (r) => r.plan.ops.length && note(`applied ${r.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key.slice(0, 30)}`).join('; ')}${r.failed.length ? ` FAILED ${r.failed.map((f) => f.error.message).join('; ')}` : ''}`));
      agents.set(h.name, entry);
      await membership.start();
      entry.feed = new MembershipFeed(membership, agent);
      return entry;
    }
    async function stopAgent(name, opts) {
      const e = agents.get(name);
      agents.delete(name);
      if (!e) return;
      await e.feed?.stop();
      await e.agent.stop();
      await e.membership.stop(opts);
    }
    async function converged(hosts = [...agents.keys()], ms = 60000) {
      for (const name of hosts) {
        const ns = sandbox.hostNs(name);
        await pollUntil(() => peersOf(ns).join('|') === want(name).join('|'), {
          ms,
          what: () => `${name}'s peers: ${peersOf(ns).join('|')} (want ${want(name).join('|')}); its agent saw:\n${(agents.get(name)?.events ?? []).join('\n')}`,
        });
      }
    }
    async function allPairs(names) {
      const bad = [];
      for (const a of names) {
        for (const b of names) {
          if (a === b) continue;
          // A pair's first packet starts the handshake; under TCG its UDP echo can miss the
          // timeout while WireGuard holds it, so a pair that fails gets one more try.
          let r = await sandbox.traffic(a, b, { timeoutMs: 10000 });
          if (!r.udp.ok || !r.tcp.ok) r = await sandbox.traffic(a, b, { timeoutMs: 10000 });
          if (!r.udp.ok || !r.tcp.ok) bad.push(`${a}->${b}: ${JSON.stringify(r)}`);
        }
      }
      return bad;
    }

    beforeEach(async function () {
      agents = new Map();
      keys = new Map(HOSTS.map((h) => [h.name, PrivateKey.generate()]));
      prefix = `/nla-wgcl-${process.pid}-${++counter}/`;
      sandbox = new Sandbox({ prefix: `nla-wc${process.pid}x${counter}`, hosts: HOSTS });
      try {
        await sandbox.build();
        await Promise.all(HOSTS.map((h) => startAgent(h)));
        await converged();
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

    it('every host has the others as peers (key from membership, pod subnet, endpoint), routes via the device; pods talk both ways', async function () {
      for (const h of HOSTS) {
        const ns = sandbox.hostNs(h.name);
        const dump = wgShowDump(ns, DEV);
        assert.equal(dump.publicKey, keys.get(h.name).publicKey().toBase64());
        assert.equal(dump.listenPort, 51820);
        assert.deepEqual(routes(ns), HOSTS.filter((o) => o !== h).map((o) => `${o.podCIDR} dev ${DEV}`).sort());
        const [link] = ipJson(ns, 'link', 'show', DEV);
        assert.equal(link.mtu, 1440, 'underlay 1500 - 60');
      }
      assert.deepEqual(await allPairs(['host1', 'host2', 'host3']), []);
      // The traffic went through the tunnels: every peer of host1 has had a handshake.
      assert.ok(wgShowDump(sandbox.hostNs('host1'), DEV).peers.every((p) => p.latestHandshake > 0));
    });

    it('a node leaving is removed from every device; a node\'s new key reaches every peer through membership', async function () {
      await stopAgent('host3', { leave: true });
      await converged(['host1', 'host2']);
      for (const name of ['host1', 'host2']) assert.ok(!routes(sandbox.hostNs(name)).some((r) => r.startsWith('192.168.12.0/24')));

      // host2 restarts with a new key (what --rotate-key does before registering).
      const old = keys.get('host2').publicKey().toBase64();
      await stopAgent('host2');
      keys.set('host2', PrivateKey.generate());
      await startAgent(SEED_HOSTS[1]);
      await converged(['host1', 'host2']);
      // host2's peers were right before its new agent applied anything: wait for its own key.
      await pollUntil(() => wgShowDump(sandbox.hostNs('host2'), DEV).publicKey === keys.get('host2').publicKey().toBase64(), {
        ms: 60000,
        what: () => `host2's device to take its new key; its agent saw:\n${(agents.get('host2')?.events ?? []).join('\n')}`,
      });
      assert.ok(!peersOf(sandbox.hostNs('host1')).some((p) => p.startsWith(old)), 'the old key is gone from host1');
      assert.deepEqual(await allPairs(['host1', 'host2']), []);
    });

    it('a running node\'s key rotation: its device takes the new key, its record publishes it, every peer swaps it (old out, new in); nobody restarts', async function () {
      assert.deepEqual(await allPairs(['host1', 'host3']), []);
      const e = agents.get('host3');
      const old = keys.get('host3').publicKey().toBase64();
      const next = PrivateKey.generate();
      const before = { host1: wgShowDump(sandbox.hostNs('host1'), DEV).peers.find((p) => p.publicKey === keys.get('host2').publicKey().toBase64()) };
      // What the CLI does on SIGHUP when the key file holds a new key (rekeyOnHangup).
      keys.set('host3', next);
      await e.agent.setWireGuardKey(next);
      const rec = await e.membership.setWireGuard({ publicKey: next.publicKey().toBase64() });
      assert.equal(rec.wireguard.publicKey, next.publicKey().toBase64());
      await converged();
      // The agent's watch applies the new key (setWireGuardKey re-targets it): wait for it.
      await pollUntil(() => wgShowDump(sandbox.hostNs('host3'), DEV).publicKey === next.publicKey().toBase64(), { ms: 60000, what: 'host3\'s device to take the new key' });
      for (const name of ['host1', 'host2']) assert.ok(!peersOf(sandbox.hostNs(name)).some((p) => p.startsWith(old)), `the old key is gone from ${name}`);
      // Only host3's peer changed on host1: host2's session there is untouched.
      const host2OnHost1 = wgShowDump(sandbox.hostNs('host1'), DEV).peers.find((p) => p.publicKey === keys.get('host2').publicKey().toBase64());
      assert.equal(host2OnHost1.latestHandshake, before.host1.latestHandshake, 'host2\'s handshake on host1 survives host3\'s rotation');
      assert.deepEqual(await allPairs(['host1', 'host3', 'host2']), []);
      await assert.rejects(async () => e.agent.setWireGuardKey('not a key object'), /wireguardKey: must be a PrivateKey/);
      assert.throws(() => e.membership.setWireGuard({ publicKey: 'nope' }), /wireguard\.publicKey/);
    });
  },
);
