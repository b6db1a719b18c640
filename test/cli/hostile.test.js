'use strict';
// `netlink-agent overlay` tried as an attacker and a careless operator would (issue 17, items
// 13 and 15-19, 21): real agents (the CLI, one per host namespace the test made) on a real
// etcd (Debian's etcd-server on 127.0.0.1, a free port), with records written by hand or by
// library agents that play the misbehaving peer.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { Etcd3 } = require('etcd3');
const { ValidationError } = require('../../dist');
const { EtcdMembership } = require('../../dist/membership');
const { Sandbox, SEED_HOSTS } = require('../../examples/lib/sandbox');
const { etcdDescribe } = require('../support/etcd');
const { ipJson } = require('../support/kernel');
const { startCli, killAll } = require('./helpers');

const HOST3 = { name: 'host3', nodeIP: '10.57.4.22', podCIDR: '192.168.12.0/24', podIP: '192.168.12.10' };
const HOSTS = [...SEED_HOSTS, HOST3];
const CLUSTER = '192.168.0.0/16';
/** The overlay's routes (protocol 78) in a host namespace. */
const routes = (ns) => ipJson(ns, 'route', 'show', 'proto', '78').map((r) => r.dst).sort();
/** The FDB of vxlan0 in a namespace, by the bridge tool (the independent oracle). */
const fdb = (ns) => execFileSync('ip', ['netns', 'exec', ns, 'bridge', 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let counter = 0;

async function until(cond, ms, what) {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what} not reached in ${ms} ms`);
    await sleep(50);
  }
}

/** Resolves as `p` does, or rejects after `ms` saying what did not happen. */
function within(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`${what} did not happen in ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

etcdDescribe(
  'cli: overlay agents against hostile records and careless operators (real etcd, namespaces)',
  function (etcd) {
    this.timeout(120000);
    let sandbox;
    let prefix;
    let raw;
    let members;
    const agents = new Map();

    /** Starts `netlink-agent overlay` for a sandbox host (vxlan, TTL 2 s, JSON logs). */
    function agent(h, extra = [], as = h.name) {
      const a = startCli([
        'overlay', '--mode', 'vxlan', '--self', as, '--node-ip', h.nodeIP, '--pod-cidr', h.podCIDR,
        '--etcd', etcd().url, '--prefix', prefix, '--ttl', '2', '--netns', sandbox.hostNs(h.name), '--json', ...extra,
      ]);
      if (!agents.has(h.name)) agents.set(h.name, a);
      return a;
    }
    /** A peer that is only a record (a library agent without a kernel side). */
    async function peer(self, extra = {}) {
      const m = new EtcdMembership({ endpoints: etcd().url, prefix, self: { mode: 'vxlan', ...self }, ttlSeconds: 2, debounceMs: 20, ...extra });
      members.push(m);
      await within(m.start(), 15000, `registration of ${self.name}`);
      return m;
    }
    const events = (a) => a.lines().map((l) => JSON.parse(l));
    const skippedLines = (a) => events(a).filter((e) => e.event === 'skipped').map((e) => e.msg);
    /** Waits until an agent has logged a skip matching `re`: its log comes through a pipe, so a
     * line written before the kernel changed may reach this process after the change is seen. */
    const skippedWith = (a, re, ms = 5000) =>
      until(() => skippedLines(a).some((l) => re.test(l)), ms, `a skip matching ${re}`).catch((e) => {
        throw new Error(`${e.message}; skipped lines:\n${skippedLines(a).join('\n')}`);
      });
    const others = (name, extra = []) => [...HOSTS.filter((h) => h.name !== name).map((h) => h.podCIDR), ...extra].sort().join();

    async function cluster(extra = () => []) {
      sandbox = new Sandbox({ prefix: `nla-ho-${process.pid}-${counter}`, hosts: HOSTS });
      await sandbox.build();
      for (const h of HOSTS) agent(h, extra(h));
      for (const h of HOSTS) await until(() => routes(sandbox.hostNs(h.name)).join() === others(h.name), 20000, `${h.name} routes`);
    }

    beforeEach(function () {
      prefix = `/nla-hostile-${process.pid}-${++counter}/`;
      raw = new Etcd3({ hosts: etcd().url });
      members = [];
      agents.clear();
    });
    afterEach(async function () {
      for (const m of members) await m.stop().catch(() => undefined);
      await killAll();
      raw.close();
      if (sandbox) await sandbox.destroy();
      sandbox = undefined;
    });

    it('item 13: a record with a copied VTEP MAC is skipped, never ours points at it, and a valid new node still arrives', async function () {
      await cluster();
      const h1 = sandbox.hostNs('host1');
      const host1Mac = '0e:6e:0a:39:04:14'; // derived from 10.57.4.20
      await peer({ name: 'impostor', nodeIP: '10.57.4.99', podCIDR: '192.168.99.0/24', vtepMac: host1Mac });
      await peer({ name: 'host4', nodeIP: '10.57.4.23', podCIDR: '192.168.13.0/24' });
      for (const h of HOSTS) {
        await until(() => routes(sandbox.hostNs(h.name)).join() === others(h.name, ['192.168.13.0/24']), 10000, `${h.name} routes to host4`);
      }
      for (const h of HOSTS) assert.ok(!routes(sandbox.hostNs(h.name)).includes('192.168.99.0/24'), `${h.name} routes to the impostor`);
      assert.doesNotMatch(fdb(h1), new RegExp(host1Mac), 'host1 points its own MAC somewhere');
      assert.doesNotMatch(fdb(sandbox.hostNs('host2')), /dst 10\.57\.4\.99/);
      assert.match(fdb(sandbox.hostNs('host2')), /0e:6e:0a:39:04:14 dst 10\.57\.4\.20/);
      await skippedWith(agents.get('host1'), /impostor.*vtepMac 0e:6e:0a:39:04:14 is this host's VTEP MAC/);
      await skippedWith(agents.get('host2'), /impostor.*belongs to node "host1"/);
    });

    it('item 15: a record without a reservation cannot take a dead node\'s subnet; the returning owner gets it back', async function () {
      await cluster();
      const h1 = sandbox.hostNs('host1');
      agents.get('host3').child.kill('SIGKILL');
      await until(() => !routes(h1).includes(HOST3.podCIDR), 10000, 'host3 expired');
      // A hand-written record (with a lease, as if from an agent) claiming host3's reserved subnet.
      const lease = raw.lease(60);
      await lease.put(`${prefix}nodes/evil`).value(JSON.stringify({ name: 'evil', nodeIP: '10.57.4.66', podCIDR: HOST3.podCIDR }));
      await until(() => skippedLines(agents.get('host1')).some((l) => /\(evil\) skipped: podCIDR 192\.168\.12\.0\/24 has no reservation for "evil"/.test(l)), 5000, 'evil skipped');
      assert.ok(!routes(h1).includes(HOST3.podCIDR), 'evil got host3\'s subnet');
      const again = startCli([
        'overlay', '--mode', 'vxlan', '--self', 'host3', '--node-ip', HOST3.nodeIP, '--pod-cidr', HOST3.podCIDR,
        '--etcd', etcd().url, '--prefix', prefix, '--ttl', '2', '--netns', sandbox.hostNs('host3'), '--json',
      ]);
      await again.waitFor(/"event":"registered"/, 15000);
      for (const name of ['host1', 'host2']) await until(() => routes(sandbox.hostNs(name)).includes(HOST3.podCIDR), 10000, `${name} routes to host3 again`);
      assert.match(fdb(h1), /0e:6e:0a:39:04:16 dst 10\.57\.4\.22/);
      assert.doesNotMatch(fdb(h1), /10\.57\.4\.66/);
      const stillEvil = await raw.get(`${prefix}nodes/evil`).string();
      assert.ok(stillEvil, 'the hand-written record is still there (and still skipped)');
    });

    it('item 16: with --cluster-cidr beside --pod-cidr, peers\' subnets outside it are refused; none may overlap the underlay', async function () {
      // host1 and host2 bound by the cluster range; host3 is not, and still refuses the underlay.
      await cluster((h) => (h.name === 'host3' ? [] : ['--cluster-cidr', CLUSTER]));
      await peer({ name: 'wide', nodeIP: '10.57.4.70', podCIDR: '8.0.0.0/8' });
      await peer({ name: 'half', nodeIP: '10.57.4.71', podCIDR: '10.57.4.128/25' });
      await peer({ name: 'good', nodeIP: '10.57.4.72', podCIDR: '192.168.14.0/24' });
      for (const h of HOSTS) {
        const want = h.name === 'host3' ? ['192.168.14.0/24', '8.0.0.0/8'] : ['192.168.14.0/24'];
        await until(() => routes(sandbox.hostNs(h.name)).join() === others(h.name, want), 10000, `${h.name} routes`);
      }
      for (const h of HOSTS) assert.ok(!routes(sandbox.hostNs(h.name)).includes('10.57.4.128/25'));
      await skippedWith(agents.get('host1'), /\(wide\) skipped: podCIDR 8\.0\.0\.0\/8 is outside the cluster CIDR 192\.168\.0\.0\/16/);
      await skippedWith(agents.get('host1'), /\(half\) skipped: podCIDR 10\.57\.4\.128\/25 is outside the cluster CIDR/);
      await skippedWith(agents.get('host3'), /\(half\) skipped: podCIDR 10\.57\.4\.128\/25 overlaps the underlay subnet 10\.57\.4\.0\/24 of this host/);
      // The underlay still works: host1 reaches host2's pod.
      const r = await sandbox.traffic('host1', 'host2');
      assert.ok(r.udp.ok && r.tcp.ok, JSON.stringify(r));
    });

    it('item 17: five 1 MB records do not stop membership; the writer refuses an oversized record', async function () {
      await cluster();
      const big = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < 5; i++) await raw.put(`${prefix}nodes/junk${i}`).value(JSON.stringify({ name: `junk${i}`, pad: big }));
      await peer({ name: 'host4', nodeIP: '10.57.4.23', podCIDR: '192.168.13.0/24' });
      for (const h of HOSTS) await until(() => routes(sandbox.hostNs(h.name)).includes('192.168.13.0/24'), 15000, `${h.name} routes to host4`);
      for (const a of agents.values()) {
        assert.doesNotMatch(a.out.stderr, /unreachable|RESOURCE_EXHAUSTED/, a.out.stderr.slice(-2000));
        await skippedWith(a, /junk0.*(more than 4096|too big)/); // the big records are skipped with a reason
      }
      // The writer side: a record that no reader would accept is refused before it is written.
      assert.throws(
        () => new EtcdMembership({ endpoints: etcd().url, prefix, self: { name: 'fat', nodeIP: '10.57.4.80', podCIDR: '192.168.80.0/24', mode: 'vxlan', version: big } }),
        (e) => e instanceof ValidationError && e.problems.some((p) => p.path === 'self.version'),
      );
      assert.equal(await raw.get(`${prefix}nodes/fat`).string(), null);
    });

    it('item 18: a second agent with the same --self refuses to start (exit 1); the name is free again at once after SIGTERM', async function () {
      await cluster();
      const first = agents.get('host1');
      const t0 = Date.now();
      // The same name from host2's namespace (another address): a copy-paste of the unit file.
      const second = startCli([
        'overlay', '--mode', 'vxlan', '--self', 'host1', '--node-ip', '10.57.4.21', '--pod-cidr', '192.168.21.0/24',
        '--etcd', etcd().url, '--prefix', prefix, '--ttl', '2', '--netns', sandbox.hostNs('host2'),
      ]);
      const { code } = await within(second.exited, 20000, 'the exit of the second agent named host1');
      assert.equal(code, 1, second.out.stderr);
      assert.match(second.out.stderr, /another agent runs as "host1" \(pid \d+ on .*\): stop it first, or give this host another name \(--self\)/);
      console.log(`      (refused after ${Date.now() - t0} ms)`);
      assert.equal(first.child.exitCode, null, 'the first agent runs on');
      const rec = JSON.parse(await raw.get(`${prefix}nodes/host1`).string());
      assert.equal(rec.nodeIP, '10.57.4.20', 'the record is the first agent\'s');
      assert.equal(await raw.get(`${prefix}alloc/owner/host1`).string(), '192.168.10.0/24');
      // An orderly stop gives the name back: a restart registers without waiting for a TTL.
      first.child.kill('SIGTERM');
      assert.equal((await first.exited).code, 0);
      assert.equal(await raw.get(`${prefix}lock/host1`).string(), null, 'the name is released on SIGTERM, not left to expire');
      const restarted = agent(HOSTS[0]);
      await restarted.waitFor(/"event":"registered"/, 10000);
      assert.doesNotMatch(restarted.out.stderr, /is held/, 'the restart did not wait for the name');
    });

    it('item 19: etcd restored empty: the agents notice, re-register and re-claim at once, and see new nodes without waiting for the resync', async function () {
      await cluster();
      const server = etcd();
      await server.kill();
      fs.rmSync(server.dataDir, { recursive: true, force: true });
      fs.mkdirSync(server.dataDir, { recursive: true });
      await server.spawn();
      const t0 = Date.now();
      const fresh = new Etcd3({ hosts: server.url });
      try {
        const held = async () => {
          const names = await fresh.getAll().prefix(`${prefix}nodes/`).keys();
          const owners = await fresh.getAll().prefix(`${prefix}alloc/owner/`).strings();
          const locks = await fresh.getAll().prefix(`${prefix}lock/`).keys();
          return names.length === 3 && Object.keys(owners).length === 3 && locks.length === 3;
        };
        await until(held, 8000, 'records, reservations and names back in etcd');
        console.log(`      (all three agents registered again ${Date.now() - t0} ms after etcd came back empty)`);
        const owners = await fresh.getAll().prefix(`${prefix}alloc/owner/`).strings();
        assert.deepEqual(Object.values(owners).sort(), HOSTS.map((h) => h.podCIDR).sort());
        // A node that joins now is seen by the others well before their 30 s resync.
        await peer({ name: 'host4', nodeIP: '10.57.4.23', podCIDR: '192.168.13.0/24' });
        for (const h of HOSTS) await until(() => routes(sandbox.hostNs(h.name)).includes('192.168.13.0/24'), 8000, `${h.name} routes to host4`);
        for (const a of agents.values()) assert.match(a.out.stderr, /revision went back from \d+ to \d+: etcd lost or replaced its data; registering again/);
      } finally {
        fresh.close();
      }
    });

    it('item 21: a missing underlay device or a node IP no device has is refused before registering (exit 1, nothing in etcd)', async function () {
      sandbox = new Sandbox({ prefix: `nla-ho-${process.pid}-${counter}`, hosts: SEED_HOSTS });
      await sandbox.build();
      const bad = startCli([
        'overlay', '--mode', 'vxlan', '--self', 'host1', '--node-ip', '10.57.4.20', '--pod-cidr', '192.168.10.0/24',
        '--etcd', etcd().url, '--prefix', prefix, '--netns', sandbox.hostNs('host1'), '--underlay-dev', 'nosuchdev',
      ]);
      const exit = await Promise.race([bad.exited, sleep(10000).then(() => 'still running')]);
      assert.deepEqual(exit, { code: 1, signal: null }, bad.out.stderr);
      assert.match(bad.out.stderr, /the underlay device nosuchdev does not exist in netns nla-ho-\d+-\d+-host1; check --underlay-dev; nothing was registered or changed/);
      assert.deepEqual(await raw.getAll().prefix(prefix).keys(), [], 'nothing was written to etcd');
      // A node IP that no device of this host has, likewise (no --underlay-dev to fall back on).
      const stranger = startCli([
        'overlay', '--mode', 'vxlan', '--self', 'host1', '--node-ip', '10.57.4.99', '--pod-cidr', '192.168.10.0/24',
        '--etcd', etcd().url, '--prefix', prefix, '--netns', sandbox.hostNs('host1'),
      ]);
      assert.equal((await stranger.exited).code, 1, stranger.out.stderr);
      assert.match(stranger.out.stderr, /no device has the node IP 10\.57\.4\.99 in netns .*; give --underlay-dev; nothing was registered or changed/);
      assert.deepEqual(await raw.getAll().prefix(prefix).keys(), []);
    });

    it('item 21: SIGHUP makes overlay reload (the underlay\'s new MTU reaches vxlan0) instead of killing it', async function () {
      sandbox = new Sandbox({ prefix: `nla-ho-${process.pid}-${counter}`, hosts: SEED_HOSTS });
      await sandbox.build();
      const h1 = sandbox.hostNs('host1');
      const a = agent(SEED_HOSTS[0]);
      agent(SEED_HOSTS[1]);
      await a.waitFor(/"event":"converged"/, 15000);
      const mtu = (dev) => ipJson(h1, 'link', 'show', 'dev', dev)[0].mtu;
      assert.equal(mtu('vxlan0'), mtu('eth0') - 50);
      execFileSync('ip', ['-n', h1, 'link', 'set', 'dev', 'eth0', 'mtu', '1400']);
      a.child.kill('SIGHUP');
      await a.waitFor(/"event":"reload"/, 5000);
      await until(() => mtu('vxlan0') === 1350, 5000, 'vxlan0 at the underlay\'s new MTU minus 50');
      assert.equal(a.child.exitCode, null, 'SIGHUP did not end the agent');
      assert.equal(a.child.signalCode, null);
      // vxlan0's MTU change is applied before the routes on it are back: wait for them too.
      await until(() => routes(h1).join() === '192.168.11.0/24', 5000, 'routes after the reload');
      a.child.kill('SIGTERM');
      assert.equal((await a.exited).code, 0, a.out.stderr);
    });
  },
  { root: true },
);
