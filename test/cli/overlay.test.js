'use strict';
// `netlink-agent overlay` as people run it: one process per host (here: per host namespace,
// via --netns), membership from a real etcd on 127.0.0.1 or from a node file.
const assert = require('node:assert/strict');
const { pollUntil } = require('../support/poll');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Sandbox, SEED_HOSTS } = require('../../examples/lib/sandbox');
const { etcdDescribe, freePort } = require('../support/etcd');
const { netnsPerTest, ip, ipJson, hostLike } = require('../support/kernel');
const { startCli, killAll } = require('./helpers');

const HOST3 = { name: 'host3', nodeIP: '10.57.4.22', podCIDR: '192.168.12.0/24', podIP: '192.168.12.10' };
const HOSTS = [...SEED_HOSTS, HOST3];
// The overlay's routes carry its protocol, 78 (plan/apply/watch use 77).
const routes = (ns) => ipJson(ns, 'route', 'show', 'proto', '78').map((r) => r.dst).sort();
let counter = 0;

const until = (cond, ms = 15000, what = 'condition') => pollUntil(cond, { ms, what, every: 25 });

etcdDescribe(
  'cli: netlink-agent overlay with etcd',
  function (etcd) {
    this.timeout(120000);
    let sandbox;
    let prefix;
    beforeEach(function () {
      prefix = `/nla-cli-${process.pid}-${++counter}/`;
    });
    afterEach(async function () {
      await killAll();
      if (sandbox) await sandbox.destroy();
      sandbox = undefined;
    });

    it('three agents, one per host namespace: pods reach each other; SIGTERM exits 0 and leaves every route in place', async function () {
      sandbox = new Sandbox({ prefix: `nla-co${process.pid}x${counter}`, hosts: HOSTS });
      await sandbox.build();
      const agents = HOSTS.map((h) =>
        startCli([
          'overlay', '--mode', 'vxlan', '--self', h.name, '--node-ip', h.nodeIP, '--pod-cidr', h.podCIDR,
          '--etcd', etcd().url, '--prefix', prefix, '--ttl', '2', '--netns', sandbox.hostNs(h.name), '--json',
        ]),
      );
      for (const h of HOSTS) {
        const others = HOSTS.filter((o) => o !== h).map((o) => o.podCIDR).sort().join();
        await until(() => routes(sandbox.hostNs(h.name)).join() === others, 20000, `${h.name} routes`);
      }
      for (const a of ['host1', 'host2', 'host3']) {
        for (const b of ['host1', 'host2', 'host3']) {
          if (a === b) continue;
          const r = await sandbox.traffic(a, b);
          assert.ok(r.udp.ok && r.tcp.ok, `${a} -> ${b}: ${JSON.stringify(r)}`);
        }
      }
      const before = HOSTS.map((h) => routes(sandbox.hostNs(h.name)));
      for (const a of agents) a.child.kill('SIGTERM');
      const exits = await Promise.all(agents.map((a) => a.exited));
      assert.deepEqual(exits.map((e) => e.code), [0, 0, 0], agents.map((a) => a.out.stderr).join('\n'));
      assert.deepEqual(HOSTS.map((h) => routes(sandbox.hostNs(h.name))), before, 'the kernel is left as it is');
      // Logs: one JSON object per line, with the events a person needs.
      const events = agents[0].lines().map((l) => JSON.parse(l));
      const kinds = new Set(events.map((e) => e.event));
      for (const k of ['start', 'registered', 'membership', 'nodes', 'change', 'converged', 'stop']) assert.ok(kinds.has(k), `${k} in ${[...kinds]}`);
      const lastNodes = events.filter((e) => e.event === 'nodes').pop();
      assert.match(lastNodes.msg, /^3 nodes: host1 10\.57\.4\.20 192\.168\.10\.0\/24, host2/);
    });

    describe('in a namespace of its own', function () {
      const ns = netnsPerTest('cliov');

      it('--cluster-cidr: the podCIDR is allocated in etcd, the VTEP gets its gateway address, a restart gets the same subnet', async function () {
        hostLike(ns(), '10.60.0.5/24');
        const args = ['overlay', '--mode', 'vxlan', '--self', 'solo', '--node-ip', '10.60.0.5', '--cluster-cidr', '10.200.0.0/16', '--subnet-length', '26', '--etcd', etcd().url, '--prefix', prefix, '--ttl', '2', '--netns', ns()];
        let a = startCli(args);
        const line = await a.waitFor(/registered: solo podCIDR /);
        const cidr = line.match(/podCIDR (10\.200\.\d+\.\d+\/26)/)[1];
        const gw = cidr.replace(/\d+\/26$/, (m) => `${Number(m.split('/')[0]) + 1}/32`);
        await until(() => ipJson(ns(), '-4', 'addr', 'show').some((l) => l.ifname === 'vxlan0' && l.addr_info.some((a) => `${a.local}/${a.prefixlen}` === gw)), 10000, 'VTEP address');
        a.child.kill('SIGTERM');
        assert.equal((await a.exited).code, 0);
        a = startCli(args);
        assert.match(await a.waitFor(/registered: solo podCIDR /), new RegExp(`podCIDR ${cidr.replace(/\./g, '\\.')}`));
        a.child.kill('SIGTERM');
        assert.equal((await a.exited).code, 0);
      });

      it('etcd unreachable at start: it says so and retries; SIGTERM before registration exits 0 and changes nothing', async function () {
        hostLike(ns(), '10.60.0.6/24');
        const dead = `http://127.0.0.1:${await freePort()}`;
        const a = startCli(['overlay', '--mode', 'vxlan', '--self', 'lonely', '--node-ip', '10.60.0.6', '--pod-cidr', '10.201.0.0/24', '--etcd', dead, '--netns', ns()]);
        await a.waitFor(/membership: etcd .* unreachable: .*keeping the last known nodes, retrying/);
        a.child.kill('SIGTERM');
        assert.equal((await a.exited).code, 0, a.out.stderr);
        assert.match(a.out.stderr, /SIGTERM before registration; nothing was changed/);
        assert.equal(ipJson(ns(), 'link', 'show').filter((l) => l.ifname === 'vxlan0').length, 0);
      });

      it('--nodes FILE: host-gw from a node file, re-read when it changes', async function () {
        hostLike(ns(), '10.61.0.1/24');
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-cli-nodes-'));
        try {
          const file = path.join(dir, 'nodes.json');
          const me = { name: 'n1', nodeIP: '10.61.0.1', podCIDR: '10.202.1.0/24' };
          const peer = { name: 'n2', nodeIP: '10.61.0.2', podCIDR: '10.202.2.0/24' };
          fs.writeFileSync(file, JSON.stringify({ nodes: [me, peer] }));
          const a = startCli(['overlay', '--mode', 'host-gw', '--self', 'n1', '--node-ip', '10.61.0.1', '--nodes', file, '--netns', ns()]);
          await until(() => routes(ns()).join() === '10.202.2.0/24', 10000, 'route to n2');
          assert.match(ip(ns(), 'route', 'show', '10.202.2.0/24'), /via 10\.61\.0\.2 dev eth0 proto 78 onlink/);
          fs.writeFileSync(`${file}.new`, JSON.stringify({ nodes: [me] }));
          fs.renameSync(`${file}.new`, file);
          await until(() => routes(ns()).length === 0, 10000, 'route to n2 removed');
          a.child.kill('SIGTERM');
          assert.equal((await a.exited).code, 0);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  },
  { root: true },
);
