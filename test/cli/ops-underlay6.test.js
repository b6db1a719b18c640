'use strict';
// Underlay autodetection per family (issue 25): `netlink-agent overlay` (a child process working
// in a host-like namespace the test made) finds an IPv6-only or dual-stack node's addresses and
// device as flannel does: the IPv6 default route's device on a node without IPv4, the v4 and v6
// addresses of one device when the cluster has IPv6 pods, --iface-can-reach once per family; never
// a link-local, deprecated or tentative-only address; the tunnel MTU is the chosen device's minus
// the overhead of the underlay family (vxlan: 50 over IPv4, 70 over IPv6). Bad per-family input is
// one sentence and exit 2 before anything changes.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pollUntil } = require('../support/poll');
const { kernelDescribe, netnsPerTest, ip, ipJson, slow } = require('../support/kernel');
const { startCli, runCli, killAll } = require('./helpers');

const WAIT = 15000 * slow;
const routes = (ns, family) => ipJson(ns, `-${family}`, 'route', 'show', 'proto', '78').map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`).sort();

/** A veth `dev` in ns, up, with `mtu` and the given addresses (IPv6 ones without DAD unless given as [addr, ...flags]). */
function nic(ns, dev, mtu, addresses) {
  ip(ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`);
  ip(ns, 'link', 'set', dev, 'mtu', String(mtu), 'up');
  ip(ns, 'link', 'set', `${dev}p`, 'up');
  for (const a of addresses) {
    const [addr, ...flags] = Array.isArray(a) ? a : [a];
    ip(ns, 'addr', 'add', addr, 'dev', dev, ...(addr.includes(':') && flags.length === 0 ? ['nodad'] : flags));
  }
}

kernelDescribe('cli ops: IPv6 and dual-stack underlay autodetection', function () {
  this.timeout(90000);
  const ns = netnsPerTest('opsu6');
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-ops-u6-'));
    ip(ns(), 'link', 'set', 'lo', 'up');
  });
  afterEach(async function () {
    await killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const nodeFile = (nodes) => {
    const file = path.join(dir, 'nodes.json');
    fs.writeFileSync(file, JSON.stringify({ nodes }));
    return file;
  };
  /** Runs the agent until it converged; returns its underlay log line and what `extract` reads then. */
  const converge = async (args, extract) => {
    const a = startCli(['overlay', '--self', 'n1', '--netns', ns(), ...args]);
    const line = await a.waitFor(/underlay: /, WAIT);
    await a.waitFor(/converged: kernel is in the desired state/, WAIT);
    const seen = extract();
    a.child.kill('SIGTERM');
    assert.equal((await a.exited).code, 0, a.out.stderr);
    return { line, seen };
  };

  it('an IPv6-only node: the IPv6 default route\'s device, its global address (not the deprecated or link-local one), vxlan6 at the device\'s MTU - 70', async function () {
    // fd61::9 is added last, so the kernel lists it first: deprecated (preferred_lft 0), it must be passed over.
    nic(ns(), 'eth0', 1400, ['fd61::1/64', ['fd61::9/64', 'nodad', 'preferred_lft', '0']]);
    ip(ns(), '-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0');
    assert.match(ip(ns(), '-6', 'addr', 'show', 'dev', 'eth0'), /inet6 fd61::9\/64 scope global nodad deprecated/);
    const file = nodeFile([
      { name: 'n1', nodeIP: 'fd61::1', podCIDR: 'fd20:1::/64' },
      { name: 'n2', nodeIP: 'fd61::2', podCIDR: 'fd20:2::/64' },
    ]);
    const { line, seen } = await converge(['--mode', 'vxlan', '--nodes', file], () => ({ vx: ipJson(ns(), '-d', 'link', 'show', 'vxlan6')[0], r6: routes(ns(), 6) }));
    assert.match(line, /underlay: eth0 \(fd61::1, mtu 1400\), chosen by IPv6 default route/);
    assert.equal(seen.vx.mtu, 1330, 'the device\'s 1400 minus vxlan over IPv6\'s 70');
    assert.equal(seen.vx.linkinfo.info_data.local6, 'fd61::1');
    assert.deepEqual(seen.r6, ['fd20:2::/64 via fd20:2::1 dev vxlan6']);
    assert.deepEqual(ipJson(ns(), 'link', 'show').map((l) => l.ifname).filter((n) => n.startsWith('vxlan')), ['vxlan6'], 'no IPv4 device on an IPv6-only underlay');
  });

  it('a dual-stack node with IPv6 pods: both addresses of the default routes\' device (host-gw routes per family); without IPv6 pods the IPv4 address alone; default routes through two devices are refused', async function () {
    nic(ns(), 'eth0', 1500, ['10.61.0.1/24', 'fd61::1/64']);
    ip(ns(), 'route', 'add', 'default', 'via', '10.61.0.254', 'dev', 'eth0');
    ip(ns(), '-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0');
    const file = nodeFile([{ name: 'n2', nodeIPs: ['10.61.0.2', 'fd61::2'], nodeIP: '10.61.0.2', podCIDR: '10.202.2.0/24', podCIDRs: ['10.202.2.0/24', 'fd20:0:2::/64'] }]);
    const pods = ['--pod-cidr', '10.202.1.0/24', '--pod-cidr6', 'fd20:0:1::/64', '--cluster-cidr', '10.202.0.0/16', '--cluster-cidr6', 'fd20::/32'];
    const { line, seen } = await converge(['--mode', 'host-gw', '--nodes', file, ...pods], () => [routes(ns(), 4), routes(ns(), 6)]);
    assert.match(line, /underlay: eth0 \(10\.61\.0\.1 fd61::1, mtu 1500\), chosen by default route/);
    assert.deepEqual(seen, [['10.202.2.0/24 via 10.61.0.2 dev eth0'], ['fd20:0:2::/64 via fd61::2 dev eth0']]);
    // IPv4 pods only: the node stays IPv4 on its underlay (its v6 address is not published).
    const v4 = startCli(['overlay', '--self', 'n1', '--netns', ns(), '--mode', 'host-gw', '--nodes', file, '--pod-cidr', '10.202.1.0/24']);
    assert.match(await v4.waitFor(/underlay: /, WAIT), /underlay: eth0 \(10\.61\.0\.1, mtu 1500\), chosen by default route/);
    v4.child.kill('SIGTERM');
    await v4.exited;
    // The IPv6 default route leaves through another device: one underlay device, as flannel requires.
    nic(ns(), 'ens5', 1500, ['fd62::7/64']);
    ip(ns(), '-6', 'route', 'del', 'default');
    ip(ns(), '-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'ens5');
    const r = runCli(['overlay', '--self', 'n1', '--netns', ns(), '--mode', 'host-gw', '--nodes', file, ...pods], { timeout: 30000 * slow });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`the IPv4 default route in netns ${ns()} leaves through eth0 and the IPv6 one through ens5: the overlay runs over one underlay device; give --iface or --iface-can-reach; nothing was registered or changed`));
  });

  it('--iface-can-reach once per family chooses one device and both source addresses; --iface NAME takes the device\'s addresses of both families', async function () {
    nic(ns(), 'eth0', 1500, ['10.61.0.1/24']);
    ip(ns(), 'route', 'add', 'default', 'via', '10.61.0.254', 'dev', 'eth0');
    nic(ns(), 'ens5', 1400, ['10.62.0.7/24', 'fd62::7/64']);
    ip(ns(), 'route', 'add', '10.99.0.0/16', 'via', '10.62.0.1', 'dev', 'ens5');
    ip(ns(), '-6', 'route', 'add', 'fd99::/32', 'via', 'fd62::1', 'dev', 'ens5');
    const file = nodeFile([{ name: 'n2', nodeIPs: ['10.62.0.8', 'fd62::8'], nodeIP: '10.62.0.8', podCIDR: '10.202.2.0/24', podCIDRs: ['10.202.2.0/24', 'fd20:2::/64'] }]);
    const pods = ['--pod-cidr', '10.202.1.0/24', '--pod-cidr6', 'fd20:1::/64'];
    const devices = () => ['vxlan0', 'vxlan6'].map((d) => ipJson(ns(), '-d', 'link', 'show', d)[0]).map((l) => [l.mtu, l.linkinfo.info_data.local ?? l.linkinfo.info_data.local6, l.linkinfo.info_data.link]);
    let run = await converge(['--mode', 'vxlan', '--nodes', file, ...pods, '--iface-can-reach', 'fd99::1', '--iface-can-reach', '10.99.1.1'], devices);
    assert.match(run.line, /underlay: ens5 \(10\.62\.0\.7 fd62::7, mtu 1400\), chosen by route to 10\.99\.1\.1 and fd99::1/);
    assert.deepEqual(run.seen, [[1350, '10.62.0.7', 'ens5'], [1330, 'fd62::7', 'ens5']], 'per underlay family: 1400 - 50 and 1400 - 70');
    ip(ns(), 'link', 'del', 'vxlan0');
    ip(ns(), 'link', 'del', 'vxlan6');
    run = await converge(['--mode', 'vxlan', '--nodes', file, ...pods, '--iface', 'ens5'], devices);
    assert.match(run.line, /underlay: ens5 \(10\.62\.0\.7 fd62::7, mtu 1400\), chosen by --iface ens5/);
    assert.deepEqual(run.seen, [[1350, '10.62.0.7', 'ens5'], [1330, 'fd62::7', 'ens5']]);
  });

  describe('bad per-family input: one sentence, exit 2, nothing changed', function () {
    const refused = (r, re) => {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /nothing was registered or changed/);
      assert.deepEqual(ipJson(ns(), 'route', 'show', 'proto', '78'), []);
      assert.ok(ipJson(ns(), 'link', 'show').every((l) => !/^vxlan/.test(l.ifname)), 'no tunnel device');
    };
    it('two --iface-can-reach of one family, one without a route, routes of two families through two devices, a device with only a link-local IPv6 address', function () {
      nic(ns(), 'eth0', 1500, ['10.61.0.1/24']);
      nic(ns(), 'ens5', 1500, ['fd62::7/64']);
      nic(ns(), 'ens6', 1500, []);
      ip(ns(), '-6', 'route', 'add', 'fd99::/32', 'via', 'fd62::1', 'dev', 'ens5');
      const file = nodeFile([]);
      const base = ['overlay', '--self', 'n1', '--netns', ns(), '--mode', 'vxlan', '--nodes', file, '--pod-cidr6', 'fd20:1::/64'];
      refused(runCli([...base, '--iface-can-reach', 'fd99::1', '--iface-can-reach', 'fd99::2']), /--iface-can-reach fd99::1 and fd99::2 are both IPv6: give at most one per family/);
      refused(runCli([...base, '--iface-can-reach', 'fdee::1']), new RegExp(`--iface-can-reach fdee::1: there is no route to it in netns ${ns()}`));
      refused(runCli([...base, '--iface-can-reach', '10.61.0.9', '--iface-can-reach', 'fd99::1']), new RegExp(`--iface-can-reach 10\\.61\\.0\\.9 leaves through eth0 and --iface-can-reach fd99::1 through ens5 in netns ${ns()}: the overlay runs over one underlay device`));
      // ens6 has its automatic link-local address only (once DAD is done): not a node address.
      refused(runCli([...base, '--iface', 'ens6']), new RegExp(`the underlay device ens6 in netns ${ns()} \\(--iface ens6\\) has no usable IPv4 or IPv6 address`));
      refused(runCli([...base]), new RegExp(`there is no IPv4 or IPv6 default route in netns ${ns()} to find the underlay by`));
    });
  });
});
