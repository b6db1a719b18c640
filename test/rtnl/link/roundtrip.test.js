'use strict';
// Links on the real kernel: what links.add() creates reads back field by field as asked, and
// iproute2 (an independent oracle, run inside the test's namespace) sees the same device.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { Rtnl, ValidationError } = require('../../../dist/rtnl');
const { NetlinkError } = require('../../../dist/wire');
const { kernelDescribe, netnsPerTest, makeNetns, removeNetns, ip, ipJson } = require('../../support/kernel');
const S = require('./support');
const { IFF_RUNNING, IFF_LOWER_UP } = require('../../../dist/rtnl/constants');

const RUNS = 40;

kernelDescribe('rtnl links on the real kernel: round trip and the iproute2 oracle', function () {
  const ns = netnsPerTest('link');
  let nl;
  beforeEach(async function () {
    nl = await Rtnl.open({ netns: ns() });
  });
  afterEach(function () {
    nl?.close();
    nl = undefined;
  });

  /** The index -> name map of the namespace, by iproute2. */
  const names = () => {
    const m = new Map(ipJson(ns(), 'link').map((l) => [l.ifindex, l.ifname]));
    return (i) => m.get(i);
  };

  async function underlay() {
    await nl.links.add({ kind: 'veth', name: 'eth0', up: true, peer: { name: 'eth1' } });
    await nl.links.set('eth1', { up: true });
    await nl.links.add({ kind: 'bridge', name: 'br0' });
    return { eth0: (await nl.links.get('eth0')).index, br0: (await nl.links.get('br0')).index };
  }

  async function roundTrip(spec, ix, extra) {
    const before = nl.modifyingRequests();
    const link = await nl.links.add(spec);
    try {
      // One request creates the device (a veth with its peer); an alias takes one more.
      assert.equal(nl.modifyingRequests() - before, spec.alias ? 2 : 1, 'requests');
      S.assertFields(link, S.expectedFrom(spec, ix), JSON.stringify(spec));
      // flags (IFF_RUNNING...) and operstate of an up device move on asynchronously.
      const settled = (l) => ({ ...l, flags: l.flags & ~(IFF_RUNNING | IFF_LOWER_UP), operstate: undefined });
      assert.deepEqual(settled(await nl.links.get(spec.name)), settled(link), 'get() reads the same as add() returned');
      S.assertAgreesWithIp(ns(), link, names());
      await S.assertOperstateAgrees(ns(), nl, spec.name);
      if (extra) await extra(link);
    } finally {
      // Also after a failure, so that fast-check's shrinking starts from a clean namespace.
      await nl.links.del(spec.name);
    }
    await assert.rejects(nl.links.get(spec.name), { code: 'ENODEV' });
  }

  it(`vxlan: ${RUNS} random valid specs (v4/v6, remote/group/none, every option) read back as asked and as ip sees them`, async function () {
    const ix = await underlay();
    await fc.assert(fc.asyncProperty(S.vxlanSpec, (spec) => roundTrip(spec, ix)), { numRuns: RUNS });
  });

  it(`veth: ${RUNS} random valid pairs, the peer sometimes in another namespace, in one request`, async function () {
    const ix = await underlay();
    const other = makeNetns('linkpeer');
    try {
      await fc.assert(
        fc.asyncProperty(S.vethSpec(other), (spec) =>
          roundTrip(spec, ix, async (link) => {
            const peerNs = spec.peer.netns ?? ns();
            const [peer] = ipJson(peerNs, '-d', 'link', 'show', 'dev', spec.peer.name);
            assert.ok(peer, `peer ${spec.peer.name} is in ${peerNs}`);
            if (spec.peer.mtu !== undefined) assert.equal(peer.mtu, spec.peer.mtu);
            if (spec.peer.address !== undefined) assert.equal(peer.address, spec.peer.address.toLowerCase());
            assert.equal(link.link, peer.ifindex, 'IFLA_LINK is the peer');
            assert.equal(link.linkNetnsId !== undefined, spec.peer.netns !== undefined, 'a link-netnsid exactly when the peer is elsewhere');
          }),
        ),
        { numRuns: RUNS },
      );
      assert.deepEqual(ipJson(other, 'link').map((l) => l.ifname), ['lo'], 'deleting a veth takes its peer along');
    } finally {
      removeNetns(other);
    }
  });

  it(`bridge: ${RUNS} random valid specs`, async function () {
    const ix = await underlay();
    await fc.assert(fc.asyncProperty(S.bridgeSpec, (spec) => roundTrip(spec, ix)), { numRuns: RUNS });
  });

  it(`macvlan: ${RUNS} random valid specs (every mode, its flag, queue length) read back as asked and as ip -d sees them`, async function () {
    const ix = await underlay();
    await fc.assert(fc.asyncProperty(S.macvlanSpec, (spec) => roundTrip(spec, ix)), { numRuns: RUNS });
  });

  it('bridge VLAN filtering: this kernel refuses it (no CONFIG_BRIDGE_VLAN_FILTERING); where it exists it reads back', async function () {
    let link;
    try {
      link = await nl.links.add({ kind: 'bridge', name: 'brv', vlanFiltering: true });
    } catch (e) {
      assert.ok(e instanceof NetlinkError, String(e));
      assert.equal(e.code, 'EOPNOTSUPP');
      assert.deepEqual(ipJson(ns(), 'link', 'show', 'type', 'bridge'), [], 'nothing was created');
      return;
    }
    assert.equal(link.vlanFiltering, true);
    assert.equal(S.ipLink(ns(), 'brv').linkinfo.info_data.vlan_filtering, 1);
  });

  it('devices made by `ip link add` read back, through list() and parseLinkMessage, as iproute2 shows them', async function () {
    const n = ns();
    ip(n, 'link', 'add', 'veth0', 'address', '02:00:00:00:00:01', 'mtu', '9000', 'txqueuelen', '500', 'type', 'veth', 'peer', 'name', 'veth1', 'address', '02:00:00:00:00:02');
    ip(n, 'link', 'set', 'veth0', 'up');
    ip(n, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '1');
    ip(n, 'link', 'set', 'veth1', 'master', 'br0');
    ip(n, 'link', 'add', 'vxlan1', 'type', 'vxlan', 'id', '200', 'dstport', '4789', 'local', '10.57.4.20', 'remote', '10.57.4.21', 'dev', 'veth0', 'ttl', '64', 'tos', '0x10', 'srcport', '1000', '2000', 'noudpcsum', 'ageing', '77', 'proxy', 'l2miss', 'l3miss', 'nolearning');
    ip(n, 'link', 'add', 'vx6', 'type', 'vxlan', 'id', '300', 'dstport', '0', 'local', 'fd00::1', 'group', 'ff05::7', 'dev', 'veth0');
    ip(n, 'link', 'add', 'mv0', 'link', 'veth0', 'type', 'macvlan', 'mode', 'bridge');
    ip(n, 'link', 'add', 'mvt0', 'link', 'veth0', 'type', 'macvtap', 'mode', 'private');
    const links = await nl.links.list();
    const byName = Object.fromEntries(links.map((l) => [l.name, l]));
    assert.deepEqual(links.map((l) => l.name).sort(), ipJson(n, 'link').map((l) => l.ifname).sort());
    const nameOf = names();
    for (const l of links) {
      S.assertAgreesWithIp(n, l, nameOf);
      await S.assertOperstateAgrees(n, nl, l.name);
    }
    S.assertFields(byName.vxlan1, {
      kind: 'vxlan', vni: 200, port: 4789, local: '10.57.4.20', remote: '10.57.4.21', dev: byName.veth0.index, ttl: 64, tos: 0x10,
      srcPortRange: [1000, 2000], udpChecksum: false, ageing: 77, proxy: true, l2miss: true, l3miss: true, learning: false,
    }, 'vxlan1');
    S.assertFields(byName.vx6, { vni: 300, port: 8472, local: 'fd00::1', group: 'ff05::7', remote: undefined }, 'vx6');
    S.assertFields(byName.veth0, { kind: 'veth', mtu: 9000, txqueuelen: 500, address: '02:00:00:00:00:01', up: true, link: byName.veth1.index }, 'veth0');
    S.assertFields(byName.br0, { kind: 'bridge', stp: true }, 'br0');
    assert.equal(byName.veth1.master, byName.br0.index);
    S.assertFields(byName.mv0, { kind: 'macvlan', mode: 'bridge', dev: byName.veth0.index, nopromisc: false }, 'mv0');
    assert.equal(byName.mvt0.kind, 'macvtap', 'an unknown kind keeps its name');
    assert.ok(byName.mvt0.raw.length > 0, 'and its IFLA_INFO_DATA, raw');
    assert.equal(byName.lo.kind, null);
  });

  it('the seed\'s vxlan device (id 100 dstport 4789 local 10.57.4.20 dev eth0 nolearning) made with the library, as `ip -d` shows it', async function () {
    await nl.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth1' } });
    const link = await nl.links.add({ kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false });
    const text = ip(ns(), '-d', 'link', 'show', 'vxlan0');
    assert.match(text, /vxlan id 100 local 10\.57\.4\.20 dev eth0 srcport 0 0 dstport 4789 nolearning ttl auto ageing 300/);
    S.assertAgreesWithIp(ns(), link, names());
  });

  it('creates a device in another namespace (IFLA_NET_NS_FD) and reads it back there; the master is looked up there', async function () {
    const other = makeNetns('linkdst');
    const there = await Rtnl.open({ netns: other });
    try {
      await there.links.add({ kind: 'bridge', name: 'brx' });
      const brx = await there.links.get('brx');
      await nl.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth1' } });
      const before = nl.modifyingRequests();
      const vx = await nl.links.add({ kind: 'vxlan', name: 'vxo', vni: 9, dev: 'eth0', local: '10.0.0.1', netns: other, master: 'brx', up: true, alias: 'there' });
      assert.equal(nl.modifyingRequests() - before, 1, 'one request here (the alias is set over there)');
      assert.equal(vx.master, brx.index, 'master resolved in the target namespace');
      assert.equal(vx.alias, 'there');
      assert.equal((await there.links.get('vxo')).index, vx.index, 'read back over there');
      assert.equal(ipJson(ns(), 'link', 'show', 'type', 'vxlan').length, 0, 'not here');
      assert.equal(S.ipLink(other, 'vxo').master, 'brx');
      // A veth with only spec.netns: the device goes there, the peer stays where the request is made.
      await nl.links.add({ kind: 'veth', name: 'a0', netns: other, peer: { name: 'a1' } });
      assert.ok(S.ipLink(other, 'a0'));
      assert.ok(S.ipLink(ns(), 'a1'));
    } finally {
      there.close();
      removeNetns(other);
    }
  });

  it('an invalid spec is a ValidationError listing every problem, and nothing reaches the kernel', async function () {
    const sent = () => nl.socket.sentByType.reduce((a, b) => a + b, 0);
    const before = sent();
    const bad = [
      [{ kind: 'vxlan', name: 'vx0', vni: 0, port: 0, remote: '10.0.0.1', group: '239.0.0.1', ttl: 300 }, ['vni', 'port', 'remote', 'dev', 'ttl']],
      [{ kind: 'veth', name: 'toolongname_x_y_z', peer: { name: '' } }, ['name', 'peer.name']],
      [{ kind: 'bridge', name: 'br0', mtu: 10, stp: 'on', colour: 'red' }, ['mtu', 'stp', 'colour']],
      [{ kind: 'ipip', name: 't0', local: 'fd00::1', ttl: 64, pmtudisc: false }, ['local', 'pmtudisc']],
      [{ kind: 'gre', name: 'g0' }, ['kind']],
      [{ kind: 'veth', name: 'v0', netns: 'nla-no-such-namespace', peer: { name: 'v1' } }, null],
      [{ kind: 'veth', name: 'v0', peer: { name: 'v1', netns: 'nla-no-such-namespace' } }, null],
    ];
    for (const [spec, fields] of bad) {
      await assert.rejects(nl.links.add(spec), (e) => {
        if (fields === null) {
          // Well formed but the namespace does not exist: refused while opening it.
          assert.equal(e.code, 'ENOENT', String(e));
          assert.match(e.message, /^links\.add veth "v0": namespace "nla-no-such-namespace": .*\/run\/netns\/nla-no-such-namespace/);
          return true;
        }
        assert.ok(e instanceof ValidationError, String(e));
        assert.deepEqual(e.problems.map((x) => x.path).sort(), fields.sort(), e.message);
        assert.match(e.message, new RegExp(`^links\\.add ${spec.kind} "${spec.name}"`));
        return true;
      });
    }
    assert.equal(sent(), before, 'no request of any kind was sent');
    assert.equal(nl.modifyingRequests(), 0);
    assert.deepEqual(ipJson(ns(), 'link').map((l) => l.ifname), ['lo']);
  });
});
