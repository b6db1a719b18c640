'use strict';
// Link MTUs within the kernel's bounds, not a fixed 68..65535 (issue 17 item 12): loopback's
// 65536 can be set back, and a device's IFLA_MIN_MTU/IFLA_MAX_MTU are checked before a set or
// change is sent, with the range in the error.
const assert = require('node:assert/strict');
const { Rtnl, ValidationError } = require('../../../dist/rtnl');
const { kernelDescribe, netnsPerTest, ip, ipJson } = require('../../support/kernel');

kernelDescribe('rtnl links: MTU within the device\'s own bounds', function () {
  const ns = netnsPerTest('mtu');
  let nl;
  beforeEach(async function () {
    nl = await Rtnl.open({ netns: ns() });
    await nl.links.add({ kind: 'veth', name: 'veth0', peer: { name: 'veth1' } });
  });
  afterEach(function () {
    nl?.close();
    nl = undefined;
  });

  it("loopback's MTU (65536, no IFLA_MAX_MTU) can be changed and set back", async function () {
    const lo = await nl.links.get('lo');
    assert.equal(lo.mtu, 65536);
    assert.equal(lo.maxMtu, 0, 'loopback has no upper bound');
    await nl.links.set('lo', { mtu: 1500 });
    assert.equal(ipJson(ns(), 'link', 'show', 'lo')[0].mtu, 1500);
    await nl.links.set('lo', { mtu: 65536 });
    assert.equal(ipJson(ns(), 'link', 'show', 'lo')[0].mtu, 65536);
  });

  it('a veth reads back its bounds (68..65535); set() and change() outside them are a ValidationError naming the range, nothing sent', async function () {
    const v = await nl.links.get('veth0');
    assert.deepEqual([v.minMtu, v.maxMtu], [68, 65535]);
    const before = nl.modifyingRequests();
    for (const mtu of [65536, 70000, 20]) {
      await assert.rejects(nl.links.set('veth0', { mtu }), (e) => e instanceof ValidationError && /outside the MTU range of veth0 \(68\.\.65535/.test(e.message));
      await assert.rejects(nl.links.change('veth0', { kind: 'veth', name: 'veth0', peer: { name: 'veth1' }, mtu }), (e) => e instanceof ValidationError && /68\.\.65535/.test(e.message));
    }
    assert.equal(nl.modifyingRequests(), before);
    await nl.links.set('veth0', { mtu: 65535 });
    assert.equal(ipJson(ns(), 'link', 'show', 'veth0')[0].mtu, 65535);
  });

  it('a refusal within 68..65535 (a macvlan above its parent\'s MTU) is the kernel\'s EINVAL, naming the device', async function () {
    ip(ns(), 'link', 'add', 'mv0', 'link', 'veth0', 'type', 'macvlan');
    await assert.rejects(nl.links.set('mv0', { mtu: 1600 }), (e) => e.code === 'EINVAL' && /mv0/.test(e.message));
  });
});
