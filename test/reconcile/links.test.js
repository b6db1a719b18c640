'use strict';
// Link diffs in the reconciler follow the links layer's rules (planLinkChange): a spec in
// another notation is not drift, and what the kernel cannot change in place is recreated.
const assert = require('node:assert/strict');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, ip, ipJson } = require('../support/kernel');
const { PROTO, underlay } = require('../reliability/helpers');

kernelDescribe('reconcile: links', function () {
  const ns = netnsPerTest('links');
  let nl;
  afterEach(() => nl && nl.close());

  it('an upper-case or dashed MAC and an IPv6 address written with zeros converge: the second plan is empty', async function () {
    underlay(ns());
    ip(ns(), '-6', 'addr', 'add', 'fd00::20/64', 'dev', 'eth0', 'nodad');
    nl = await Rtnl.open({ netns: ns() });
    const r = new Reconciler(nl, { protocol: PROTO });
    const desired = {
      links: [
        { kind: 'vxlan', name: 'vx0', vni: 10, port: 4789, local: 'fd00:0:0::20', dev: 'eth0', address: '0A:58:C0:A8:0B:00', up: true },
        { kind: 'veth', name: 'v1', peer: { name: 'v1p' }, address: '0a-58-c0-a8-0c-00' },
      ],
    };
    const first = await r.apply(desired);
    assert.deepEqual(first.failed.map((f) => f.error.message), []);
    const plan = await r.plan(desired);
    assert.equal(plan.ops.length, 0, plan.text());
    const vx = ipJson(ns(), '-d', 'link', 'show', 'vx0')[0];
    assert.equal(vx.address, '0a:58:c0:a8:0b:00');
    assert.equal(vx.linkinfo.info_data.local6, 'fd00::20');
  });

  it('a vxlan moving its local address to the other family is recreated (the kernel keeps a device\'s family); an mtu change alone is one link set', async function () {
    underlay(ns());
    ip(ns(), '-6', 'addr', 'add', 'fd00::20/64', 'dev', 'eth0', 'nodad');
    nl = await Rtnl.open({ netns: ns() });
    const r = new Reconciler(nl, { protocol: PROTO });
    const vx = (over) => ({ links: [{ kind: 'vxlan', name: 'vx0', vni: 10, port: 4789, local: '10.57.4.20', dev: 'eth0', mtu: 1400, up: true, ...over }] });
    assert.ok((await r.apply(vx({}))).converged);
    const moved = await r.plan(vx({ local: 'fd00::20' }));
    assert.deepEqual(moved.ops.map((o) => `${o.action} ${o.key}`), ['recreate vx0'], moved.text());
    assert.match(moved.ops[0].reason, /local 10\.57\.4\.20 -> fd00::20 \(local cannot change in place\)/);
    const res = await r.apply(vx({ local: 'fd00::20' }));
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    assert.equal(ipJson(ns(), '-d', 'link', 'show', 'vx0')[0].linkinfo.info_data.local6, 'fd00::20');
    const before = nl.modifyingRequests();
    const mtu = await r.apply(vx({ local: 'fd00::20', mtu: 1380 }));
    assert.deepEqual(mtu.plan.ops.map((o) => `${o.action} ${o.key}: ${o.reason}`), ['update vx0: mtu 1400 -> 1380']);
    assert.equal(nl.modifyingRequests() - before, 1);
    assert.equal(ipJson(ns(), 'link', 'show', 'vx0')[0].mtu, 1380);
  });

  it('an mtu the kernel clamps on creation (vxlan over IPv6 on a 1500-byte underlay: 1430 at most) is a failed op, not converged', async function () {
    underlay(ns());
    ip(ns(), '-6', 'addr', 'add', 'fd00::20/64', 'dev', 'eth0', 'nodad');
    nl = await Rtnl.open({ netns: ns() });
    const r = new Reconciler(nl, { protocol: PROTO });
    const res = await r.apply({ links: [{ kind: 'vxlan', name: 'vx0', vni: 10, port: 4789, local: 'fd00::20', dev: 'eth0', mtu: 1450 }] });
    assert.equal(res.converged, false);
    assert.deepEqual(res.failed.map((f) => f.op.key), ['vx0']);
    assert.match(res.failed[0].error.message, /the kernel set mtu 1430, not 1450/);
  });

  it('an address whose IPv6 peer is written with zeros converges too', async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns() });
    const r = new Reconciler(nl, { protocol: PROTO });
    const desired = { addresses: [{ dev: 'eth0', address: 'fd00::20/128', peer: 'fd00:0:0::21', nodad: true }] };
    const first = await r.apply(desired);
    assert.deepEqual(first.failed.map((f) => f.error.message), []);
    const plan = await r.plan(desired);
    assert.equal(plan.ops.length, 0, plan.text());
    assert.match(ip(ns(), '-6', 'addr', 'show', 'dev', 'eth0'), /fd00::20 peer fd00::21\/128/);
  });

  it('a bridge created with an mtu keeps it when its first port joins in the same apply (the kernel would reset it): one apply converges', async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns() });
    const r = new Reconciler(nl, { protocol: PROTO });
    const desired = {
      links: [
        { kind: 'bridge', name: 'br0', mtu: 1280, up: true },
        { kind: 'veth', name: 'vb0', peer: { name: 'vb0p' }, master: 'br0' },
      ],
    };
    const res = await r.apply(desired);
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    // Created, then the bridge's mtu set again after the kernel moved it to its port's 1500.
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.key}`), ['create br0', 'create vb0', 'update br0']);
    assert.equal(ipJson(ns(), 'link', 'show', 'br0')[0].mtu, 1280);
    assert.equal((await r.plan(desired)).ops.length, 0);
  });
});
