'use strict';
// `netlink-agent overlay` for a dual-stack cluster: --node-ip twice (or --node-ip6), --pod-cidr
// and --pod-cidr6, --cluster-cidr and --cluster-cidr6, real agents (the CLI, one per host
// namespace the test made) on a real etcd; pods talk over both families. Bad dual-stack flags
// are refused, each by its flag, before anything is registered.
const assert = require('node:assert/strict');
const { Etcd3 } = require('etcd3');
const { Sandbox, SEED_HOSTS, withIPv6 } = require('../../examples/lib/sandbox');
const { etcdDescribe } = require('../support/etcd');
const { ipJson, slow } = require('../support/kernel');
const { pollUntil } = require('../support/poll');
const { startCli, killAll } = require('./helpers');

const HOSTS = withIPv6(SEED_HOSTS, { dual: true });
const routes = (ns, family) => ipJson(ns, `-${family}`, 'route', 'show', 'proto', '78').map((r) => r.dst).sort();
let counter = 0;

etcdDescribe('cli: overlay for a dual-stack cluster (real etcd, namespaces)', function (etcd) {
  this.timeout(120000);
  let sandbox;
  let prefix;
  let raw;

  beforeEach(function () {
    prefix = `/nla-cli-dual-${process.pid}-${++counter}/`;
    raw = new Etcd3({ hosts: etcd().url });
  });
  afterEach(async function () {
    await killAll();
    raw.close();
    if (sandbox) await sandbox.destroy();
    sandbox = undefined;
  });

  const flags = (h) => ['--self', h.name, '--node-ip', h.nodeIP, '--etcd', etcd().url, '--prefix', prefix, '--ttl', String(2 * slow), '--netns', sandbox.hostNs(h.name), '--json'];

  it('vxlan: both families registered in one reservation, routes per family, pods reach each other over IPv4 and IPv6', async function () {
    sandbox = new Sandbox({ prefix: `nla-clids-${process.pid}-${counter}`, hosts: HOSTS });
    await sandbox.build();
    const [h1, h2] = HOSTS;
    // host1 names its second address with --node-ip again, host2 with --node-ip6.
    const a1 = startCli(['overlay', '--mode', 'vxlan', ...flags(h1), '--node-ip', h1.nodeIP6, '--pod-cidr', h1.podCIDR, '--pod-cidr', h1.podCIDR6, '--cluster-cidr', '192.168.0.0/16', '--cluster-cidr6', 'fd10::/48']);
    const a2 = startCli(['overlay', '--mode', 'vxlan', ...flags(h2), '--node-ip6', h2.nodeIP6, '--pod-cidr', h2.podCIDR, '--pod-cidr6', h2.podCIDR6, '--cluster-cidr', '192.168.0.0/16', '--cluster-cidr6', 'fd10::/48']);
    // Bounds scaled for the VM lane's TCG (slow; 1 elsewhere).
    await a1.waitFor(/"event":"registered"/, 20000 * slow);
    await a2.waitFor(/"event":"registered"/, 20000 * slow);
    assert.equal(await raw.get(`${prefix}alloc/owner/host1`).string(), `${h1.podCIDR},${h1.podCIDR6}`);
    const rec = JSON.parse(await raw.get(`${prefix}nodes/host2`).string());
    assert.deepEqual([rec.nodeIPs, rec.podCIDRs, rec.vtepMac6], [[h2.nodeIP, h2.nodeIP6], [h2.podCIDR, h2.podCIDR6], '0e:6f:00:00:00:21']);
    const ns1 = sandbox.hostNs('host1');
    await pollUntil(() => routes(ns1, 4).join() === h2.podCIDR && routes(ns1, 6).join() === h2.podCIDR6, { ms: 20000 * slow, what: 'host1 routes of both families' });
    assert.equal(ipJson(ns1, 'link', 'show', 'vxlan6')[0].mtu, 1430);
    for (const family of [4, 6]) {
      for (const [from, to] of [['host1', 'host2'], ['host2', 'host1']]) {
        const r = await sandbox.traffic(from, to, { family, timeoutMs: 3000 * slow });
        assert.ok(r.udp.ok && r.tcp.ok, `IPv${family} ${from}->${to}: ${JSON.stringify(r)}`);
      }
    }
  });

  it('host-gw over an IPv4 underlay with IPv6 pods: each agent publishes its underlay\'s link-local address and the peers route IPv6 pods via it with the device', async function () {
    const hosts = HOSTS.map(({ nodeIP6, ...h }) => h); // eslint-disable-line no-unused-vars
    sandbox = new Sandbox({ prefix: `nla-clids-${process.pid}-${counter}`, hosts });
    await sandbox.build();
    const h2 = hosts[1];
    const lladdr = (h) => ipJson(sandbox.hostNs(h.name), '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link')[0].addr_info.find((a) => a.family === 'inet6');
    // The agents read the link-local address at start: once DAD has settled it.
    await pollUntil(() => hosts.every((h) => lladdr(h) && !lladdr(h).tentative), { ms: 10000 * slow, what: 'settled link-local addresses' });
    const agents = hosts.map((h) => startCli(['overlay', '--mode', 'host-gw', ...flags(h), '--pod-cidr', h.podCIDR, '--pod-cidr6', h.podCIDR6, '--cluster-cidr', '192.168.0.0/16', '--cluster-cidr6', 'fd10::/48']));
    for (const a of agents) await a.waitFor(/"event":"registered"/, 20000 * slow);
    let rec;
    await pollUntil(async () => (rec = JSON.parse(await raw.get(`${prefix}nodes/host2`).string())) !== null, { ms: 20000 * slow, what: 'host2\'s record' });
    assert.deepEqual([rec.nodeIP, rec.nodeIPs, rec.podCIDRs, rec.linkLocal6], [h2.nodeIP, undefined, [h2.podCIDR, h2.podCIDR6], lladdr(h2).local]);
    const ns1 = sandbox.hostNs('host1');
    const via = () => ipJson(ns1, '-6', 'route', 'show', 'proto', '78').map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`);
    let seen;
    await pollUntil(() => (seen = via()).length === 1, { ms: 20000 * slow, what: 'host1\'s IPv6 pod route' });
    assert.deepEqual(seen, [`${h2.podCIDR6} via ${lladdr(h2).local} dev eth0`]);
    for (const family of [4, 6]) {
      for (const [from, to] of [['host1', 'host2'], ['host2', 'host1']]) {
        const r = await sandbox.traffic(from, to, { family, timeoutMs: 3000 * slow });
        assert.ok(r.udp.ok && r.tcp.ok, `IPv${family} ${from}->${to}: ${JSON.stringify(r)}`);
      }
    }
  });

  it('bad dual-stack flags: a family mismatch, two values of one family, an IPv4-mapped node IP, a short IPv6 subnet length; nothing registered', async function () {
    sandbox = new Sandbox({ prefix: `nla-clids-${process.pid}-${counter}`, hosts: HOSTS });
    await sandbox.build();
    const h = HOSTS[0];
    const cases = [
      [['--node-ip6', '10.57.4.99', '--pod-cidr', h.podCIDR], /--node-ip6: 10\.57\.4\.99 is IPv4 \(family mismatch\)/],
      [['--pod-cidr', h.podCIDR, '--pod-cidr', '192.168.77.0/24'], /--pod-cidr: a second IPv4 value/],
      [['--node-ip', '::ffff:10.57.4.20', '--pod-cidr', h.podCIDR], /--node-ip: ::ffff:10\.57\.4\.20 is an IPv4-mapped address/],
      [['--pod-cidr', h.podCIDR, '--cluster-cidr6', 'fd10::/48', '--subnet-length6', '48', '--pod-cidr6', 'fd10::/44'], /--pod-cidr6: fd10::\/44: an IPv6 pod subnet must be \/48\.\.\/120/],
      [['--cluster-cidr', '192.168.0.0/16', '--cluster-cidr6', '10.1.0.0/16'], /--cluster-cidr6: 10\.1\.0\.0\/16 is IPv4 \(family mismatch\)/],
    ];
    for (const [extra, re] of cases) {
      const bad = startCli(['overlay', '--mode', 'vxlan', ...flags(h), ...extra]);
      const exit = await bad.exited;
      assert.equal(exit.code, 1, bad.out.stderr);
      assert.match(bad.out.stderr, re);
      assert.match(bad.out.stderr, /nothing was registered or changed/);
    }
    assert.deepEqual(await raw.getAll().prefix(prefix).keys(), [], 'nothing was written to etcd');
  });
});
