'use strict';
// The reconciler settles routes of the common shape on the numbers of the dump (RouteFacts)
// without decoding them. Every way a kernel route can differ from a desired one while sharing
// its key must still come out as the right op, and an untouched route as none.
const assert = require('node:assert/strict');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, ip } = require('../support/kernel');
const { PROTO, underlay, net24 } = require('../reliability/helpers');

kernelDescribe('reconcile: the steady-state read settles only equal routes', function () {
  const ns = netnsPerTest('steady');
  let nl;
  afterEach(() => nl && nl.close());

  it('a changed gateway, onlink, device, type, metric attribute, a duplicate, a missing and an extra route are each found; the rest is untouched', async function () {
    underlay(ns());
    ip(ns(), 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p');
    ip(ns(), 'link', 'set', 'eth1', 'up');
    nl = await Rtnl.open({ netns: ns() });
    const r = new Reconciler(nl, { protocol: PROTO });
    const routes = [];
    for (let i = 0; i < 300; i++) routes.push({ dst: net24(i), via: i % 2 ? '10.57.4.1' : '10.57.4.2', dev: 'eth0', onlink: true });
    // One route of another shape among them: it is never settled by the read, only by the diff.
    routes.push({ dst: '10.99.0.0/16', via: '10.57.4.1', dev: 'eth0', onlink: true, mtu: 1400 });
    const desired = { routes };
    const first = await r.apply(desired);
    assert.ok(first.converged);
    assert.equal((await r.plan(desired)).ops.length, 0);

    const p = String(PROTO);
    const on = (...a) => ip(ns(), 'route', ...a);
    on('replace', net24(10), 'via', '10.57.4.9', 'dev', 'eth0', 'onlink', 'proto', p); // gateway
    on('replace', net24(11), 'via', '10.57.4.1', 'dev', 'eth0', 'proto', p); // onlink lost (10.57.4.0/24 is connected)
    on('replace', net24(12), 'via', '10.57.4.2', 'dev', 'eth1', 'onlink', 'proto', p); // device
    on('replace', net24(13), 'via', '10.57.4.1', 'dev', 'eth0', 'onlink', 'mtu', '1300', 'proto', p); // a metric
    on('replace', net24(14), 'via', '10.57.4.2', 'dev', 'eth0', 'onlink', 'src', '10.57.4.20', 'proto', p); // prefsrc
    on('replace', 'blackhole', net24(15), 'proto', p); // type
    on('append', net24(16), 'via', '10.57.4.7', 'dev', 'eth0', 'onlink', 'proto', p); // a second route on the key
    // A second route equal in every Route field (a hoplimit is not one): the read must not
    // settle the key twice.
    on('append', net24(18), 'via', '10.57.4.2', 'dev', 'eth0', 'onlink', 'hoplimit', '5', 'proto', p);
    on('del', net24(17)); // missing
    on('add', net24(400), 'via', '10.57.4.1', 'dev', 'eth0', 'onlink', 'proto', p); // not desired
    on('replace', '10.99.0.0/16', 'via', '10.57.4.1', 'dev', 'eth0', 'onlink', 'mtu', '1300', 'proto', p); // the other shape

    const plan = await r.plan(desired);
    const got = plan.ops.map((o) => `${o.action} ${o.key.split(' ')[0]}`).sort();
    const want = [
      `update ${net24(10)}`,
      `update ${net24(11)}`,
      `update ${net24(12)}`,
      `update ${net24(13)}`,
      `update ${net24(14)}`,
      `update ${net24(15)}`,
      `delete ${net24(16)}`,
      `create ${net24(17)}`,
      `delete ${net24(18)}`,
      `delete ${net24(400)}`,
      'update 10.99.0.0/16',
    ].sort();
    assert.deepEqual(got, want, plan.text());
    const reasons = Object.fromEntries(plan.ops.map((o) => [o.key.split(' ')[0] + ' ' + o.action, o.reason]));
    assert.match(reasons[`${net24(10)} update`], /via 10\.57\.4\.9 -> 10\.57\.4\.2/);
    assert.match(reasons[`${net24(12)} update`], /dev eth1 -> eth0/);
    assert.match(reasons[`${net24(13)} update`], /mtu 1300 -> \(none\)/);

    const res = await r.apply(desired);
    assert.deepEqual(res.failed.map((f) => f.error.message), []);
    assert.ok(res.converged);
    assert.equal((await r.plan(desired)).ops.length, 0);
    // The oracle: exactly the desired routes, as desired.
    const lines = ip(ns(), 'route', 'show', 'proto', p).trim().split('\n');
    assert.equal(lines.length, routes.length);
    assert.ok(lines.includes(`${net24(16)} via 10.57.4.2 dev eth0 onlink `.trim()) || lines.some((l) => l.startsWith(`${net24(16)} via 10.57.4.2 dev eth0`)), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes('10.57.4.7') || l.includes('10.57.4.9') || l.includes('eth1') || l.includes('blackhole')), lines.join('\n'));
  });

  it('a route settled by the read on a device that is recreated is re-added, not left behind', async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns() });
    const r = new Reconciler(nl, { protocol: PROTO });
    const state = (vni) => ({
      links: [{ kind: 'vxlan', name: 'vx0', vni, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, up: true }],
      routes: [{ dst: '10.80.0.0/24', via: '10.80.1.1', dev: 'vx0', onlink: true }],
    });
    assert.ok((await r.apply(state(10))).converged);
    const plan = await r.plan(state(11));
    assert.deepEqual(plan.ops.map((o) => `${o.action} ${o.kind}`), ['recreate link', 'update route'], plan.text());
    assert.ok((await r.apply(state(11))).converged);
    assert.match(ip(ns(), 'route', 'show', 'proto', String(PROTO)), /10\.80\.0\.0\/24 via 10\.80\.1\.1 dev vx0 onlink/);
    assert.equal((await r.plan(state(11))).ops.length, 0);
  });

  it('apply() reads the desired state each time: the same object changed in place is applied as changed', async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns() });
    const r = new Reconciler(nl, { protocol: PROTO });
    const desired = { routes: [{ dst: net24(1), via: '10.57.4.1', dev: 'eth0', onlink: true }] };
    assert.ok((await r.apply(desired)).converged);
    desired.routes.push({ dst: net24(2), via: '10.57.4.1', dev: 'eth0', onlink: true });
    desired.routes[0].via = '10.57.4.3';
    const res = await r.apply(desired);
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.key.split(' ')[0]}`).sort(), [`create ${net24(2)}`, `update ${net24(1)}`].sort());
    assert.ok(res.converged);
    const text = ip(ns(), 'route', 'show', 'proto', String(PROTO));
    assert.match(text, new RegExp(`${net24(1).replace(/\./g, '\\.')} via 10\\.57\\.4\\.3`));
    assert.equal((await r.plan(desired)).ops.length, 0);
  });

  it('IPv6: a changed gateway, device, mtu, a missing and an extra route are each found; the rest is untouched', async function () {
    underlay(ns());
    ip(ns(), '-6', 'addr', 'add', 'fd00::20/64', 'dev', 'eth0', 'nodad');
    ip(ns(), 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p');
    ip(ns(), '-6', 'addr', 'add', 'fd01::20/64', 'dev', 'eth1', 'nodad');
    ip(ns(), 'link', 'set', 'eth1', 'up');
    ip(ns(), 'link', 'set', 'eth1p', 'up');
    nl = await Rtnl.open({ netns: ns() });
    const r = new Reconciler(nl, { protocol: PROTO });
    const dst = (i) => `fd10:${i.toString(16)}::/64`;
    const routes = [];
    // Gateways written in other notations: the kernel reports them canonical.
    for (let i = 0; i < 200; i++) routes.push({ dst: dst(i), via: i % 2 ? 'fd00::1' : 'FD00:0:0::2', dev: 'eth0', ...(i % 3 ? {} : { onlink: true }) });
    const desired = { routes };
    assert.ok((await r.apply(desired)).converged);
    assert.equal((await r.plan(desired)).ops.length, 0);
    const p = String(PROTO);
    const on = (...a) => ip(ns(), '-6', 'route', ...a);
    on('replace', dst(1), 'via', 'fd00::9', 'dev', 'eth0', 'proto', p); // gateway
    on('replace', dst(5), 'via', 'fd01::1', 'dev', 'eth1', 'proto', p); // device (and gateway)
    on('replace', dst(7), 'via', 'fd00::1', 'dev', 'eth0', 'mtu', '1300', 'proto', p); // a metric
    on('del', dst(11)); // missing
    on('add', dst(400), 'via', 'fd00::1', 'dev', 'eth0', 'proto', p); // not desired
    const plan = await r.plan(desired);
    const got = plan.ops.map((o) => `${o.action} ${o.key.split(' ')[0]}`).sort();
    assert.deepEqual(got, [`update ${dst(1)}`, `update ${dst(5)}`, `update ${dst(7)}`, `create ${dst(11)}`, `delete ${dst(400)}`].sort(), plan.text());
    const res = await r.apply(desired);
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    assert.equal((await r.plan(desired)).ops.length, 0);
    const lines = ip(ns(), '-6', 'route', 'show', 'proto', p).trim().split('\n');
    assert.equal(lines.length, routes.length);
    assert.ok(!lines.some((l) => l.includes('fd00::9') || l.includes('eth1') || l.includes('mtu')), lines.join('\n'));
  });
});
