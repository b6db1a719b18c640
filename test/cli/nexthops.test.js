'use strict';
// `netlink-agent overlay --nexthops` (issue 20, the CLI flag): one agent per host namespace with
// membership from a real etcd on 127.0.0.1, vxlan mode with pod routes on one nexthop object
// per remote node and each VTEP MAC's FDB entry on an FDB nexthop group; pods reach each other,
// and again after a node's IP changes (its agent restarted with the new --node-ip).
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { pollUntil } = require('../support/poll');
const { Sandbox, SEED_HOSTS } = require('../../examples/lib/sandbox');
const { etcdDescribe } = require('../support/etcd');
const { ip, ipJson, slow } = require('../support/kernel');
const { runCli, startCli, killAll } = require('./helpers');
const { namedNexthopCandidate } = require('../../dist/reconcile/kinds/nexthop/ids');
const { vtepMacFor } = require('../../dist/overlay/modes');
const { Netns } = require('../../dist');

const HOST3 = { name: 'host3', nodeIP: '10.57.4.22', podCIDR: '192.168.12.0/24', podIP: '192.168.12.10' };
const HOSTS = [...SEED_HOSTS, HOST3];
// The overlay's owner and protocol (78): its named nexthops' ids.
const idOf = (name) => namedNexthopCandidate(78, 'netlink-agent-overlay', name, 0);
const fdb = (ns) => JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' })).filter((e) => e.state === 'permanent');
let logs = () => '';
const until = (cond, ms, what) => pollUntil(cond, { ms: ms * slow, what: () => `${what}\n${logs()}`, every: 25 });
let counter = 0;

async function allPairs(sandbox) {
  const bad = [];
  for (const a of sandbox.hosts) {
    for (const b of sandbox.hosts) {
      if (a === b) continue;
      const r = await sandbox.traffic(a.name, b.name, { timeoutMs: 3000 * slow }); // TCG in the VM lane
      if (!r.udp.ok || !r.tcp.ok) bad.push(`${a.name}->${b.name}: ${JSON.stringify(r)}`);
    }
  }
  return bad;
}

etcdDescribe(
  'cli: netlink-agent overlay --nexthops',
  function (etcd) {
    this.timeout(180000 * slow);
    let sandbox;
    afterEach(async function () {
      await killAll();
      if (sandbox) await sandbox.destroy();
      sandbox = undefined;
    });

    it('rejects a value that is not on/off before anything starts', function () {
      const r = runCli(['overlay', '--mode', 'vxlan', '--self', 'a', '--node-ip', '10.0.0.1', '--nodes', '/nonexistent', '--nexthops=maybe']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /--nexthops.*must be on or off/);
    });

    it('vxlan --nexthops: routes and FDB entries on nexthop objects, pods reach each other, and again after host2\'s IP changes', async function () {
      const prefix = `/nla-cli-nh-${process.pid}-${++counter}/`;
      sandbox = new Sandbox({ prefix: `nla-cnh${process.pid}x${counter}`, hosts: HOSTS.map((h) => ({ ...h })) });
      await sandbox.build();
      const args = (h, nodeIP = h.nodeIP) => [
        'overlay', '--mode', 'vxlan', '--self', h.name, '--node-ip', nodeIP, '--pod-cidr', h.podCIDR, '--nexthops',
        '--etcd', etcd().url, '--prefix', prefix, '--ttl', '2', '--netns', sandbox.hostNs(h.name), '--json',
      ];
      const agents = new Map(HOSTS.map((h) => [h.name, startCli(args(h))]));
      logs = () => [...agents].map(([n, a]) => `--- ${n}\n${a.out.stderr}`).join('\n');
      const h1 = sandbox.hostNs('host1');
      for (const h of HOSTS) {
        const ns = sandbox.hostNs(h.name);
        const others = HOSTS.filter((o) => o !== h);
        await until(() => others.every((o) => ipJson(ns, 'route', 'show', o.podCIDR)[0]?.nhid === idOf(`node/${o.name}`)), 30000, `${h.name}: pod routes on nexthops`);
        await until(() => others.every((o) => fdb(ns).some((e) => e.mac === vtepMacFor(o.nodeIP) && e.nhid === idOf(`vtep/${o.name}/group`))), 30000, `${h.name}: FDB entries on FDB nexthops`);
      }
      const start = JSON.parse(agents.get('host1').lines().find((l) => JSON.parse(l).event === 'start'));
      assert.equal(start.nexthops, true);
      assert.match(start.msg, /routes on nexthop objects/);
      // The oracle: every FDB nexthop carries the overlay's protocol and the peer's node IP; no entry has a dst.
      const nh = new Map(ipJson(h1, 'nexthop', 'show').map((n) => [n.id, n]));
      for (const o of HOSTS.slice(1)) {
        assert.equal(nh.get(idOf(`vtep/${o.name}`)).gateway, o.nodeIP);
        assert.ok('fdb' in nh.get(idOf(`vtep/${o.name}`)));
        assert.equal(nh.get(idOf(`vtep/${o.name}`)).protocol, '78');
      }
      assert.deepEqual(fdb(h1).filter((e) => e.dst !== undefined), []);
      await until(async () => (await allPairs(sandbox)).length === 0, 30000, 'pods reaching each other');

      // host2 moves to 10.57.4.31: its agent restarts with the new --node-ip; the others follow through membership.
      const a2 = agents.get('host2');
      a2.child.kill('SIGTERM');
      assert.equal((await a2.exited).code, 0, a2.out.stderr);
      const h2 = sandbox.hostNs('host2');
      Netns.sysctl(h2, { 'net.ipv4.conf.eth0.promote_secondaries': 1 });
      ip(h2, 'addr', 'add', '10.57.4.31/24', 'dev', 'eth0');
      ip(h2, 'addr', 'del', '10.57.4.21/24', 'dev', 'eth0');
      ip(h2, 'route', 'replace', 'default', 'via', '10.57.4.1', 'dev', 'eth0', 'proto', 'static');
      sandbox.host('host2').nodeIP = '10.57.4.31';
      agents.set('host2', startCli(args(sandbox.host('host2'))));
      for (const h of ['host1', 'host3']) {
        // (host2's nexthops may be gone for a moment: its record lapses while its agent restarts.)
        const gateway = () => ipJson(sandbox.hostNs(h), 'nexthop', 'show').find((n) => n.id === idOf('vtep/host2'))?.gateway;
        await until(() => gateway() === '10.57.4.31', 30000, `${h}: host2's FDB nexthop via its new IP`);
        await until(() => fdb(sandbox.hostNs(h)).some((e) => e.mac === vtepMacFor('10.57.4.31') && e.nhid === idOf('vtep/host2/group')), 30000, `${h}: host2's new VTEP MAC on its group`);
      }
      await until(async () => (await allPairs(sandbox)).length === 0, 30000, 'pods talking again after the IP change');
      for (const a of agents.values()) a.child.kill('SIGTERM');
      const exits = await Promise.all([...agents.values()].map((a) => a.exited));
      assert.deepEqual(exits.map((e) => e.code), [0, 0, 0]);
    });
  },
  { root: true },
);
