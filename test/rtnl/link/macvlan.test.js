'use strict';
// macvlan, the kind added as one module plus one registration line: its requests byte for
// byte what `ip link add/set ... type macvlan` sends, and what the kernel changes in place
// (MACVLAN_CHANGEABLE) or refuses (into/out of passthru, another parent), proved each run.
const assert = require('node:assert/strict');
const wire = require('../../../dist/wire');
const C = require('../../../dist/rtnl/constants');
const L = require('../../support/codec-modules').link;
const { Rtnl, ValidationError } = require('../../../dist/rtnl');
const { fixture, masked, bytesOf } = require('../../support/golden');
const { kernelDescribe, netnsPerTest, ip, ipJson } = require('../../support/kernel');

describe('rtnl links: macvlan requests are byte for byte what iproute2 sends', function () {
  const adds = [
    ['link-add-macvlan-bridge', (ix) => ({ kind: 'macvlan', name: 'mv0', dev: 'veth0', mode: 'bridge' })],
    ['link-add-macvlan-passthru-nopromisc', (ix) => ({ kind: 'macvlan', name: 'mv0', dev: ix.veth0, mode: 'passthru', nopromisc: true })],
    ['link-add-macvlan-full', () => ({ kind: 'macvlan', name: 'mv0', dev: 'veth0', address: '02:00:00:00:00:0a', mtu: 1400, mode: 'private', bcqueuelen: 500 })],
  ];
  for (const [name, make] of adds) {
    it(`${name}: ${fixture(name).command}`, function () {
      const fx = fixture(name);
      const w = new wire.MessageWriter();
      L.encodeLinkAdd(w, make(fx.ifindex), { dev: fx.ifindex.veth0 });
      const [m] = wire.parseMessages(Buffer.from(w.bytes()));
      const b = Buffer.from(bytesOf(m));
      b.writeUInt16LE(b.readUInt16LE(6) | wire.NLM_F_REQUEST | wire.NLM_F_ACK, 6);
      assert.equal(masked(b), masked(Buffer.from(fx.sent[0], 'hex')));
    });
  }

  it('link-set-macvlan-mode: a mode change is IFLA_INFO_DATA with the mode alone, as `ip link set mv0 type macvlan mode vepa`', function () {
    const fx = fixture('link-set-macvlan-mode');
    const current = { index: fx.ifindex.mv0, name: 'mv0', kind: 'macvlan', mode: 'bridge', nopromisc: false, nodst: false, dev: fx.ifindex.veth0, flags: 0, up: false, operstate: 'down', mtu: 1500, txqueuelen: 1000 };
    const spec = { kind: 'macvlan', name: 'mv0', dev: fx.ifindex.veth0, mode: 'vepa' };
    const plan = L.planLinkChange(current, spec);
    assert.deepEqual(plan, { changed: ['mode'], recreate: [] });
    const w = new wire.MessageWriter();
    L.encodeLinkChange(w, current.index, current, spec, plan.changed);
    const b = Buffer.from(w.bytes());
    b.writeUInt16LE(b.readUInt16LE(6) | wire.NLM_F_REQUEST | wire.NLM_F_ACK, 6);
    assert.equal(masked(b), masked(Buffer.from(fx.sent[0], 'hex')));
  });

  it('refuses what the kernel would: a missing parent, an unknown mode, a flag outside its mode', function () {
    const p = new (require('../../../dist/values').Problems)();
    L.validateLinkSpec(p, '', { kind: 'macvlan', name: 'mv0', mode: 'hub', nopromisc: true, nodst: true });
    assert.deepEqual(p.list.map((x) => x.path).sort(), ['dev', 'mode', 'nodst', 'nopromisc']);
    assert.match(p.list.find((x) => x.path === 'mode').message, /unknown macvlan mode "hub"/);
    assert.match(p.list.find((x) => x.path === 'nopromisc').message, /passthru only/);
  });
});

kernelDescribe('rtnl links: macvlan on the real kernel', function () {
  const ns = netnsPerTest('macvlan');
  let nl;
  beforeEach(async function () {
    nl = await Rtnl.open({ netns: ns() });
    await nl.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth1' } });
    await nl.links.add({ kind: 'veth', name: 'eth2', peer: { name: 'eth3' } });
  });
  afterEach(function () {
    nl?.close();
    nl = undefined;
  });
  const modeOf = (name) => ipJson(ns(), '-d', 'link', 'show', name)[0].linkinfo.info_data.mode;

  it('MACVLAN_CHANGEABLE: the mode between private, vepa, bridge and source, the flag and the queue length change in place, one request each', async function () {
    await nl.links.add({ kind: 'macvlan', name: 'mv0', dev: 'eth0', mode: 'bridge' });
    const index = (await nl.links.get('mv0')).index;
    for (const mode of ['private', 'vepa', 'source', 'bridge']) {
      const before = nl.modifyingRequests();
      await nl.links.change('mv0', { kind: 'macvlan', name: 'mv0', dev: 'eth0', mode });
      assert.equal(nl.modifyingRequests() - before, 1, mode);
      assert.equal(modeOf('mv0'), mode);
      assert.equal((await nl.links.get('mv0')).index, index, 'the same device: changed in place');
    }
    await nl.links.change('mv0', { kind: 'macvlan', name: 'mv0', dev: 'eth0', mode: 'bridge', bcqueuelen: 321 });
    assert.equal(ipJson(ns(), '-d', 'link', 'show', 'mv0')[0].linkinfo.info_data.bcqueuelen, 321);
    await nl.links.add({ kind: 'macvlan', name: 'mv1', dev: 'eth2', mode: 'passthru' });
    await nl.links.change('mv1', { kind: 'macvlan', name: 'mv1', dev: 'eth2', mode: 'passthru', nopromisc: true });
    assert.equal((await nl.links.get('mv1')).nopromisc, true);
    assert.equal(ipJson(ns(), '-d', 'link', 'show', 'mv1')[0].linkinfo.info_data.nopromisc, true);
    for (const f of ['mode', 'nopromisc', 'nodst', 'bcqueuelen']) assert.ok(L.MACVLAN_CHANGEABLE.includes(f), f);
  });

  it('into or out of passthru the kernel refuses in place (EINVAL): planLinkChange says recreate, change() refuses before sending', async function () {
    await nl.links.add({ kind: 'macvlan', name: 'mv0', dev: 'eth0', mode: 'bridge' });
    await nl.links.add({ kind: 'macvlan', name: 'mv1', dev: 'eth2', mode: 'passthru' });
    for (const [name, from, to, parent] of [['mv0', 'bridge', 'passthru', 'eth0'], ['mv1', 'passthru', 'vepa', 'eth2']]) {
      const cur = await nl.links.get(name);
      const spec = { kind: 'macvlan', name, dev: parent, mode: to };
      // The experiment: sent anyway, the kernel refuses and nothing changes.
      await assert.rejects(nl.socket.request((w) => L.encodeLinkChange(w, cur.index, cur, spec, ['mode'])), { code: 'EINVAL' });
      assert.equal(modeOf(name), from);
      assert.deepEqual(L.planLinkChange(cur, spec).recreate, ['mode']);
      const before = nl.modifyingRequests();
      await assert.rejects(nl.links.change(name, spec), (e) => e instanceof ValidationError && /mode: cannot be changed in place/.test(e.message));
      assert.equal(nl.modifyingRequests(), before);
    }
  });

  it('MACVLAN_IMMUTABLE: the parent is read on creation only; another one needs delete and add', async function () {
    await nl.links.add({ kind: 'macvlan', name: 'mv0', dev: 'eth0', mode: 'bridge' });
    const cur = await nl.links.get('mv0');
    const eth2 = (await nl.links.get('eth2')).index;
    assert.deepEqual(L.planLinkChange(cur, { kind: 'macvlan', name: 'mv0', dev: 'eth2', mode: 'bridge' }, { dev: eth2 }), { changed: ['dev'], recreate: ['dev'] });
    assert.deepEqual(L.planLinkChange(cur, { kind: 'macvlan', name: 'mv0', dev: cur.dev, mode: 'bridge' }), { changed: [], recreate: [] });
    // IFLA_LINK on an existing macvlan is not applied: the device stays on eth0.
    await nl.socket.request((w) => {
      w.begin(C.RTM_NEWLINK, 0);
      const off = w.reserve(16);
      w.buf.writeInt32LE(cur.index, off + 4);
      w.u32(C.IFLA_LINK, eth2);
      w.end();
    }).catch(() => {});
    assert.equal(ipJson(ns(), 'link', 'show', 'mv0')[0].link, 'eth0');
    assert.deepEqual(L.MACVLAN_IMMUTABLE, ['dev']);
  });

  it('an MTU above the parent\'s is the kernel\'s EINVAL on add (unlike vxlan, not silently capped)', async function () {
    await assert.rejects(nl.links.add({ kind: 'macvlan', name: 'mv0', dev: 'eth0', mtu: 9000 }), { code: 'EINVAL' });
    assert.deepEqual(ipJson(ns(), 'link').map((l) => l.ifname).filter((n) => n === 'mv0'), []);
    ip(ns(), 'link', 'set', 'eth0', 'mtu', '9000');
    const l = await nl.links.add({ kind: 'macvlan', name: 'mv0', dev: 'eth0', mtu: 9000 });
    assert.equal(l.mtu, 9000);
  });
});
