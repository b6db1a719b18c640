'use strict';
// The reconciler with the macvlan kind, through its public API only: the kind was added to the
// links layer as one module plus one registration line, and the reconciler takes it as it is.
const assert = require('node:assert/strict');
const { Rtnl, Reconciler } = require('../../dist');
const { kernelDescribe, netnsPerTest, ip, ipJson } = require('../support/kernel');

const PROTO = 77;

kernelDescribe('reconcile: a macvlan link', function () {
  const ns = netnsPerTest('rmacvlan');
  let nl;
  beforeEach(async function () {
    ip(ns(), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    ip(ns(), 'link', 'set', 'eth0', 'up');
    nl = await Rtnl.open({ netns: ns() });
  });
  afterEach(() => nl && nl.close());

  const desired = (mode, extra = {}) => ({ links: [{ kind: 'macvlan', name: 'mv0', dev: 'eth0', mode, up: true, ...extra }] });
  const shown = () => ipJson(ns(), '-d', 'link', 'show', 'mv0')[0];

  it('is created as desired, and a no-op apply writes nothing', async function () {
    const r = new Reconciler(nl, { protocol: PROTO });
    const first = await r.apply(desired('bridge', { mtu: 1400, address: '02:00:00:00:00:0a' }));
    assert.ok(first.converged, first.failed.map((f) => f.error.message).join('; '));
    assert.deepEqual(first.plan.ops.map((o) => `${o.action} ${o.key}`), ['create mv0']);
    const j = shown();
    assert.equal(j.linkinfo.info_kind, 'macvlan');
    assert.equal(j.linkinfo.info_data.mode, 'bridge');
    assert.equal(j.link, 'eth0');
    assert.equal(j.mtu, 1400);
    assert.equal(j.address, '02:00:00:00:00:0a');
    assert.ok(j.flags.includes('UP'));
    const before = nl.modifyingRequests();
    const again = await r.apply(desired('bridge', { mtu: 1400, address: '02:00:00:00:00:0a' }));
    assert.ok(again.converged);
    assert.equal(again.plan.ops.length, 0, again.plan.text());
    assert.equal(nl.modifyingRequests() - before, 0, 'a no-op apply writes nothing');
  });

  it('a mode change between bridge, private, vepa and source is an update in place (MACVLAN_CHANGEABLE)', async function () {
    const r = new Reconciler(nl, { protocol: PROTO });
    assert.ok((await r.apply(desired('bridge'))).converged);
    const index = shown().ifindex;
    for (const mode of ['private', 'vepa', 'source']) {
      const res = await r.apply(desired(mode));
      assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
      assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.key}`), ['update mv0'], res.plan.text());
      assert.equal(shown().linkinfo.info_data.mode, mode);
      assert.equal(shown().ifindex, index, 'the same device');
    }
  });

  it('into passthru (and back) is a recreate, as the kernel refuses it in place', async function () {
    const r = new Reconciler(nl, { protocol: PROTO });
    assert.ok((await r.apply(desired('bridge'))).converged);
    const index = shown().ifindex;
    const res = await r.apply(desired('passthru'));
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.key}`), ['recreate mv0'], res.plan.text());
    assert.match(res.plan.ops[0].reason, /mode cannot change in place/);
    assert.equal(shown().linkinfo.info_data.mode, 'passthru');
    assert.notEqual(shown().ifindex, index);
    const back = await r.apply(desired('vepa'));
    assert.deepEqual(back.plan.ops.map((o) => `${o.action} ${o.key}`), ['recreate mv0']);
    assert.equal(shown().linkinfo.info_data.mode, 'vepa');
    assert.equal((await r.plan(desired('vepa'))).ops.length, 0);
  });
});
