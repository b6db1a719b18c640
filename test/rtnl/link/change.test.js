'use strict';
// links.change(): what the kernel changes in place on an existing device and what needs
// delete + add. Each run proves every entry of VXLAN_CHANGEABLE / VXLAN_IMMUTABLE on this kernel.
const assert = require('node:assert/strict');
const wire = require('../../../dist/wire');
const C = require('../../../dist/rtnl/constants');
const { Rtnl, ValidationError } = require('../../../dist/rtnl');
const L = require('../../support/codec-modules').link;
const { kernelDescribe, netnsPerTest, ipJson } = require('../../support/kernel');
const S = require('./support');

const VXLAN_FIELDS = ['vni', 'port', 'local', 'remote', 'group', 'dev', 'learning', 'ttl', 'tos', 'srcPortRange', 'udpChecksum', 'ageing', 'proxy', 'l2miss', 'l3miss'];

const BASE = {
  kind: 'vxlan', name: 'vx0', vni: 100, port: 4789, local: '10.57.4.20', remote: '10.57.4.21', dev: 'eth0', learning: true,
  ttl: 10, tos: 0, srcPortRange: [1000, 2000], udpChecksum: true, ageing: 300, proxy: false, l2miss: false, l3miss: false,
};
/** Another value for every field (dev: the second underlay). */
const ALT = {
  vni: 101, port: 4790, local: '10.57.4.30', remote: '10.57.4.31', group: '239.1.1.2', dev: 'eth2', learning: false,
  ttl: 20, tos: 1, srcPortRange: [3000, 4000], udpChecksum: false, ageing: 600, proxy: true, l2miss: true, l3miss: true,
};
const startFor = (field) => (field === 'group' ? { ...BASE, remote: undefined, group: '239.1.1.1' } : BASE);
const volatile = (l) => ({ ...l, flags: undefined, operstate: undefined });

describe('rtnl links: change plans and encoders (no kernel)', function () {
  it('VXLAN_CHANGEABLE and VXLAN_IMMUTABLE split every vxlan field exactly once', function () {
    assert.deepEqual([...L.VXLAN_CHANGEABLE, ...L.VXLAN_IMMUTABLE].sort(), [...VXLAN_FIELDS].sort());
    assert.deepEqual([...L.IPIP_CHANGEABLE, ...L.IPIP_IMMUTABLE].sort(), ['dev', 'local', 'pmtudisc', 'remote', 'tos', 'ttl']);
    assert.deepEqual([...L.BRIDGE_CHANGEABLE, ...L.BRIDGE_IMMUTABLE].sort(), ['stp', 'vlanFiltering']);
  });

  it('an ipip change sends the whole parameter set (the kernel resets what is absent), and no proto/fwmark/encap', function () {
    const current = { kind: 'ipip', index: 7, name: 't0', flags: 0, up: false, operstate: 'down', mtu: 1480, txqueuelen: 1000, local: '10.0.0.1', remote: '10.0.0.2', ttl: 64, tos: 0, pmtudisc: true, dev: 3 };
    const spec = { kind: 'ipip', name: 't0', remote: '10.0.0.9' };
    const plan = L.planLinkChange(current, spec);
    assert.deepEqual(plan, { changed: ['remote'], recreate: [] });
    const w = new wire.MessageWriter(64);
    L.encodeLinkChange(w, 7, current, spec, plan.changed);
    const [m] = wire.parseMessages(Buffer.from(w.bytes()));
    assert.equal(m.type, C.RTM_NEWLINK);
    assert.equal(m.flags & wire.NLM_F_CREATE, 0, 'not a create');
    assert.equal(m.buf.readInt32LE(m.payload + 4), 7);
    const data = {};
    wire.forEachAttr(m.buf, m.payload + C.IFINFOMSG_LEN, m.end, (t, off, len) => {
      if (t !== C.IFLA_LINKINFO) return;
      wire.forEachAttr(m.buf, off, off + len, (t2, o2, l2) => {
        if (t2 === C.IFLA_INFO_DATA) wire.forEachAttr(m.buf, o2, o2 + l2, (t3, o3, l3) => (data[t3] = m.buf.subarray(o3, o3 + l3).toString('hex')));
      });
    });
    assert.deepEqual(data, {
      [C.IFLA_IPTUN_LOCAL]: '0a000001',
      [C.IFLA_IPTUN_REMOTE]: '0a000009',
      [C.IFLA_IPTUN_PMTUDISC]: '01',
      [C.IFLA_IPTUN_TOS]: '00',
      [C.IFLA_IPTUN_TTL]: '40',
      [C.IFLA_IPTUN_LINK]: '03000000',
    });
    // From no remote to one flips IFF_POINTOPOINT: the kernel says EINVAL, so: recreate.
    assert.deepEqual(L.planLinkChange({ ...current, remote: undefined }, spec).recreate, ['remote']);
  });

  it('a vxlan plan names the fields that differ and those that need delete + add', function () {
    const current = { kind: 'vxlan', index: 4, name: 'vx0', flags: 0, up: false, operstate: 'down', mtu: 1450, txqueuelen: 1000, vni: 100, port: 4789, local: '10.57.4.20', remote: '10.57.4.21', dev: 3, learning: true, ttl: 0, tos: 0, udpChecksum: true, ageing: 300, proxy: false, l2miss: false, l3miss: false };
    const same = { kind: 'vxlan', name: 'vx0', vni: 100, port: 4789, local: '10.57.4.20', remote: '10.57.4.21', dev: 3 };
    assert.deepEqual(L.planLinkChange(current, same), { changed: [], recreate: [] });
    assert.deepEqual(L.planLinkChange(current, { ...same, vni: 5, ttl: 3, mtu: 1400 }), { changed: ['mtu', 'vni', 'ttl'], recreate: ['vni'] });
    assert.deepEqual(L.planLinkChange(current, { ...same, local: 'fd00::1', remote: 'fd00::2' }).recreate, ['local', 'remote']);
    assert.deepEqual(L.planLinkChange(current, { ...same, dev: 'eth9' }, { dev: 9 }).changed, ['dev']);
    // A device with neither local nor remote is IPv4 to the kernel: an IPv6 local is a recreate.
    const bare = { ...current, local: undefined, remote: undefined };
    assert.deepEqual(L.planLinkChange(bare, { kind: 'vxlan', name: 'vx0', vni: 100, local: 'fd00::1' }).recreate, ['local']);
    assert.deepEqual(L.planLinkChange(bare, { kind: 'vxlan', name: 'vx0', vni: 100, local: '10.0.0.1', group: '239.0.0.1', dev: 3 }).recreate, []);
    assert.throws(() => L.planLinkChange(current, { ...same, dev: 'eth9' }), TypeError, 'a name must be resolved first');
  });
});

kernelDescribe('rtnl links on the real kernel: change in place', function () {
  const ns = netnsPerTest('linkchg');
  let nl;
  let ix;
  beforeEach(async function () {
    nl = await Rtnl.open({ netns: ns() });
    await nl.links.add({ kind: 'veth', name: 'eth0', up: true, peer: { name: 'eth1' } });
    await nl.links.add({ kind: 'veth', name: 'eth2', up: true, peer: { name: 'eth3' } });
    await nl.links.add({ kind: 'bridge', name: 'br0' });
    ix = Object.fromEntries((await nl.links.list()).map((l) => [l.name, l.index]));
  });
  afterEach(function () {
    nl?.close();
    nl = undefined;
  });

  for (const field of L.VXLAN_CHANGEABLE) {
    it(`vxlan ${field}: changed in place (one request, same index), read back, nothing else touched`, async function () {
      const start = startFor(field);
      const before = await nl.links.add(start);
      const n = nl.modifyingRequests();
      await nl.links.change('vx0', { ...start, [field]: ALT[field] });
      assert.equal(nl.modifyingRequests() - n, 1);
      const after = await nl.links.get('vx0');
      assert.equal(after.index, before.index, 'the same device');
      const want = field === 'dev' ? ix.eth2 : field === 'local' || field === 'remote' || field === 'group' ? S.canonicalIP(ALT[field]) : ALT[field];
      assert.deepEqual(after[field], want);
      assert.deepEqual(volatile({ ...after, [field]: undefined }), volatile({ ...before, [field]: undefined }), 'every other field as it was');
      S.assertAgreesWithIp(ns(), after, (i) => Object.keys(ix).find((k) => ix[k] === i));
    });
  }

  for (const field of L.VXLAN_IMMUTABLE) {
    it(`vxlan ${field}: the kernel refuses a change in place; change() says so before sending anything`, async function () {
      const before = await nl.links.add(BASE);
      const spec = { ...BASE, [field]: ALT[field] };
      // Sent alone, as a change would: the kernel's own refusal.
      await assert.rejects(
        nl.socket.request((w) => L.encodeLinkChange(w, before.index, before, spec, [field], { dev: ix.eth0 }), { what: `change ${field}` }),
        (e) => {
          assert.ok(e instanceof wire.NetlinkError, String(e));
          assert.equal(e.code, 'EOPNOTSUPP');
          assert.match(e.kernelMessage, /[Cc]annot change/);
          return true;
        },
      );
      assert.deepEqual(volatile(await nl.links.get('vx0')), volatile(before), 'the device is unchanged');
      const n = nl.modifyingRequests();
      await assert.rejects(nl.links.change('vx0', spec), (e) => {
        assert.ok(e instanceof ValidationError, String(e));
        assert.deepEqual(e.problems.map((p) => p.path), [field]);
        assert.match(e.message, /delete and add/);
        return true;
      });
      assert.equal(nl.modifyingRequests(), n, 'nothing modifying was sent');
    });
  }

  it('vxlan: the kernel keeps the address family of local and remote (planned as recreate)', async function () {
    const bare = await nl.links.add({ kind: 'vxlan', name: 'vxb', vni: 7 });
    await assert.rejects(
      nl.socket.request((w) => L.encodeLinkChange(w, bare.index, bare, { kind: 'vxlan', name: 'vxb', vni: 7, local: 'fd00::1' }, ['local'])),
      (e) => e.code === 'EOPNOTSUPP' && /address family does not match/.test(e.kernelMessage),
      'a vxlan with neither local nor remote is IPv4',
    );
    const before = await nl.links.add(BASE);
    for (const [field, v6] of [['local', 'fd00::1'], ['remote', 'fd00::2']]) {
      await assert.rejects(
        nl.socket.request((w) => L.encodeLinkChange(w, before.index, before, { ...BASE, [field]: v6 }, [field], { dev: ix.eth0 })),
        (e) => e.code === 'EOPNOTSUPP' && /address family does not match/.test(e.kernelMessage),
      );
    }
    await assert.rejects(nl.links.change('vx0', { ...BASE, local: 'fd00::1', remote: 'fd00::2' }), (e) => {
      assert.deepEqual(e.problems.map((p) => p.path), ['local', 'remote']);
      return true;
    });
  });

  it('changing a spec to itself sends nothing modifying; common and kind fields go in one request', async function () {
    await nl.links.add(BASE);
    const n = nl.modifyingRequests();
    await nl.links.change('vx0', BASE);
    await nl.links.change('vx0', { ...BASE, local: '10.57.4.20', dev: ix.eth0 });
    assert.equal(nl.modifyingRequests(), n, 'an unchanged spec costs one read and no change');
    await nl.links.change('vx0', { ...BASE, name: 'vx9', up: true, master: 'br0', address: '02:00:00:00:00:aa', txqueuelen: 9, alias: 'mine', ttl: 33, learning: false });
    assert.equal(nl.modifyingRequests() - n, 1);
    const j = S.ipLink(ns(), 'vx9');
    assert.deepEqual(
      [j.flags.includes('UP'), j.master, j.address, j.txqlen, j.ifalias, j.linkinfo.info_data.ttl, j.linkinfo.info_data.learning],
      [true, 'br0', '02:00:00:00:00:aa', 9, 'mine', 33, false],
    );
    // vxlan's changelink refuses IFLA_MTU beside IFLA_INFO_DATA ("Cannot change mtu"), so
    // change() sends the MTU in a second request.
    const cur = await nl.links.get('vx9');
    const spec = { ...BASE, name: 'vx9', mtu: 1400, ttl: 34 };
    await assert.rejects(
      nl.socket.request((w) => L.encodeLinkChange(w, cur.index, cur, spec, ['mtu', 'ttl'], { dev: ix.eth0 })),
      (e) => e.code === 'EOPNOTSUPP' && e.kernelMessage === 'Cannot change mtu',
    );
    assert.deepEqual(L.splitLinkChange('vxlan', ['mtu', 'ttl']), [['ttl'], ['mtu']]);
    const m = nl.modifyingRequests();
    await nl.links.change('vx9', spec);
    assert.equal(nl.modifyingRequests() - m, 2);
    const k = S.ipLink(ns(), 'vx9');
    assert.deepEqual([k.mtu, k.linkinfo.info_data.ttl], [1400, 34]);
    await nl.links.change('vx9', { ...BASE, name: 'vx9', master: null, up: false });
    assert.equal(S.ipLink(ns(), 'vx9').master, undefined);
  });

  it('bridge stp changes in place; a veth changes its common settings (the peer is not compared)', async function () {
    const br = await nl.links.add({ kind: 'bridge', name: 'br1', stp: false });
    await nl.links.change('br1', { kind: 'bridge', name: 'br1', stp: true });
    assert.equal((await nl.links.get('br1')).stp, true);
    assert.equal((await nl.links.get('br1')).index, br.index);
    assert.equal(S.ipLink(ns(), 'br1').linkinfo.info_data.stp_state, 1);
    await nl.links.change('eth0', { kind: 'veth', name: 'eth0', mtu: 1300, master: 'br1', peer: { name: 'whatever' } });
    const j = S.ipLink(ns(), 'eth0');
    assert.deepEqual([j.mtu, j.master], [1300, 'br1']);
    assert.ok(ipJson(ns(), 'link').some((l) => l.ifname === 'eth1'), 'the peer is untouched');
  });

  it('change() refuses another kind and netns before changing anything', async function () {
    const n = nl.modifyingRequests();
    await assert.rejects(nl.links.change('br0', { kind: 'veth', name: 'br0', peer: { name: 'x' } }), (e) => {
      assert.ok(e instanceof ValidationError);
      assert.match(e.message, /is a bridge, not a veth/);
      return true;
    });
    await assert.rejects(nl.links.change('br0', { kind: 'bridge', name: 'br0', netns: 'elsewhere' }), (e) => e instanceof ValidationError && e.problems[0].path === 'netns');
    await assert.rejects(nl.links.change('br0', { kind: 'bridge', name: 'br0', stp: 'yes' }), ValidationError);
    assert.equal(nl.modifyingRequests(), n);
  });
});
