'use strict';
// The Reconciler's behaviour without root: the scenarios of reconciler.test.js (converge, no-op,
// one-op changes, foreign objects, conflicts, recreate, watch repair), set up and checked
// through the Rtnl API only, run on MemoryKernel everywhere and on the real kernel as root (so
// the fake is held to the same outcomes). Then what only the fake can stage: a failing
// request, lost events, an event overflow.
const assert = require('node:assert/strict');
const { Rtnl, Reconciler, MemoryKernel, constants: C } = require('../../dist');
const { kernelDescribe, makeNetns, removeNetns, slow } = require('../support/kernel');
const { pollUntil } = require('../support/poll');

const PROTO = 77;

/** A host like the seed's host1: lo up, eth0 (a veth, up, with carrier) with 10.57.4.20/24. */
async function openHost(kind) {
  let kernel;
  let ns;
  if (kind === 'memory') {
    kernel = new MemoryKernel();
    ns = 'host1';
    kernel.createNamespace(ns);
  } else ns = makeNetns('recmem');
  const opts = kernel ? { kernel, netns: ns } : { netns: ns };
  const nl = await Rtnl.open(opts);
  const other = await Rtnl.open(opts); // "someone else": iproute2, another agent
  await nl.links.set('lo', { up: true });
  await nl.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth0p' }, up: true });
  await nl.links.set('eth0p', { up: true });
  await nl.addresses.add({ dev: 'eth0', address: '10.57.4.20/24' });
  return {
    kernel,
    nl,
    other,
    namespace: kernel?.namespace(ns),
    close() {
      nl.close();
      other.close();
      if (!kernel) removeNetns(ns);
    },
  };
}

/** The seed's flannel-style vxlan host1 state, with n remote nodes. */
function vxlanState(n = 2, vni = 100) {
  const s = {
    links: [{ kind: 'vxlan', name: 'vxlan0', vni, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, mtu: 1450, up: true }],
    addresses: [{ dev: 'vxlan0', address: '192.168.10.0/32' }],
    fdb: [],
    neighbors: [],
    routes: [],
  };
  for (let i = 1; i <= n; i++) {
    const mac = `0a:58:c0:a8:${(10 + i).toString(16).padStart(2, '0')}:00`;
    s.fdb.push({ dev: 'vxlan0', mac, dst: `10.57.4.${20 + i}` });
    s.neighbors.push({ dev: 'vxlan0', ip: `192.168.${10 + i}.0`, lladdr: mac });
    s.routes.push({ dst: `192.168.${10 + i}.0/24`, via: `192.168.${10 + i}.0`, dev: 'vxlan0', onlink: true });
  }
  return s;
}

async function ownRoutes(nl) {
  return (await nl.routes.list({ protocol: PROTO })).map((r) => `${r.dst} via ${r.via}${r.mtu ? ` mtu ${r.mtu}` : ''}`).sort();
}

const until = (fn, what) => pollUntil(fn, { ms: 8000 * slow, every: 10, what });

function scenarios(kind) {
  let h;
  let r;
  beforeEach(async function () {
    h = await openHost(kind);
    r = new Reconciler(h.nl, { protocol: PROTO });
  });
  afterEach(async function () {
    if (r) await r.stop();
    h?.close();
  });

  it('empty -> desired in one apply, then a second apply is a no-op with zero modifying requests', async function () {
    const desired = vxlanState(2);
    const first = await r.apply(desired);
    assert.deepEqual(first.failed.map((f) => f.error.message), []);
    assert.ok(first.converged);
    assert.equal(first.plan.ops.filter((o) => o.action === 'create').length, 1 + 1 + 2 + 2 + 2);
    const link = await h.nl.links.get('vxlan0');
    assert.deepEqual([link.vni, link.learning, link.mtu, link.up], [100, false, 1450, true]);
    assert.deepEqual(await ownRoutes(h.nl), ['192.168.11.0/24 via 192.168.11.0', '192.168.12.0/24 via 192.168.12.0']);
    const before = h.nl.modifyingRequests();
    const second = await r.apply(desired);
    assert.equal(second.plan.ops.length, 0, second.plan.text());
    assert.equal(h.nl.modifyingRequests() - before, 0);
    assert.ok(second.converged);
  });

  it('one changed route -> one op and one request; a route taken out of desired -> deleted', async function () {
    await r.apply(vxlanState(3));
    const changed = vxlanState(3);
    changed.routes[1] = { ...changed.routes[1], mtu: 1400 };
    const plan = await r.plan(changed);
    assert.deepEqual(plan.ops.map((o) => `${o.action} ${o.kind}`), ['update route']);
    const res = await r.apply(changed);
    assert.equal(res.requests, 1);
    const smaller = vxlanState(3);
    smaller.routes.splice(2, 1);
    smaller.routes[1] = changed.routes[1];
    const del = await r.apply(smaller);
    assert.deepEqual(del.plan.ops.map((o) => `${o.action} ${o.kind}`), ['delete route']);
    assert.deepEqual(await ownRoutes(h.nl), ['192.168.11.0/24 via 192.168.11.0', '192.168.12.0/24 via 192.168.12.0 mtu 1400']);
  });

  it('never touches foreign routes, FDB or neighbour entries', async function () {
    await r.apply(vxlanState(1));
    await h.other.routes.add({ dst: '10.99.0.0/16', via: '10.57.4.1', protocol: 'static' });
    await h.other.routes.add({ dst: '192.168.11.0/24', via: '10.57.4.21', table: 100, protocol: PROTO + 1 });
    await h.other.routes.add({ dst: '192.168.11.0/24', via: '10.57.4.21', metric: 50, protocol: 'static' });
    await h.other.neighbors.add({ dev: 'eth0', ip: '10.57.4.99', lladdr: '02:00:00:00:00:99' });
    const s = vxlanState(1);
    const res = await r.apply({ ...s, routes: [] });
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}`), ['delete route 192.168.11.0/24 table 254']);
    const all = (await h.nl.routes.list({ table: 'all', family: 4 })).filter((x) => x.protocol !== 2).map((x) => `${x.dst} ${x.table} ${x.protocol} ${x.metric ?? 0}`).sort();
    assert.deepEqual(all, ['10.99.0.0/16 254 4 0', '192.168.11.0/24 100 78 0', '192.168.11.0/24 254 4 50']);
    assert.deepEqual((await h.nl.neighbors.list({ dev: 'eth0' })).filter((n) => n.family === 4).map((n) => n.ip), ['10.57.4.99']);
  });

  it('a foreign route on a desired key is a conflict: reported, left alone; adopted when asked', async function () {
    await h.other.routes.add({ dst: '192.168.20.0/24', via: '10.57.4.30', dev: 'eth0', onlink: true, protocol: 'static' });
    const conflicts = [];
    r.on('conflict', (c) => conflicts.push(c));
    const want = { routes: [{ dst: '192.168.20.0/24', via: '10.57.4.21', dev: 'eth0', onlink: true }] };
    const res = await r.apply(want);
    assert.equal(conflicts.length, 1);
    assert.match(conflicts[0].reason, /protocol 4/);
    assert.equal(res.converged, false);
    assert.equal(res.requests, 0);
    const adopting = new Reconciler(h.nl, { protocol: PROTO, adoptConflicts: true });
    assert.ok((await adopting.apply(want)).converged);
    assert.deepEqual(await ownRoutes(h.nl), ['192.168.20.0/24 via 10.57.4.21']);
  });

  it('a vxlan VNI change is a recreate, and what sat on the device comes back', async function () {
    await r.apply(vxlanState(1, 100));
    const plan = await r.plan(vxlanState(1, 200));
    assert.equal(plan.ops.find((o) => o.kind === 'link').action, 'recreate', plan.text());
    const res = await r.apply(vxlanState(1, 200));
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    assert.equal((await h.nl.links.get('vxlan0')).vni, 200);
    assert.deepEqual(await ownRoutes(h.nl), ['192.168.11.0/24 via 192.168.11.0']);
    assert.deepEqual((await h.nl.neighbors.list({ dev: 'vxlan0', family: 4 })).map((n) => `${n.ip} ${n.lladdr}`), ['192.168.11.0 0a:58:c0:a8:0b:00']);
    assert.equal((await r.plan(vxlanState(1, 200))).ops.length, 0);
  });

  it('watch repairs an owned route someone deleted', async function () {
    const desired = vxlanState(2);
    await r.apply(desired);
    const converged = new Promise((resolve) => r.once('converged', resolve));
    r.watch(desired, { debounceMs: 20, resyncIntervalMs: 60_000 });
    await converged;
    const drift = new Promise((resolve) => r.once('drift', resolve));
    await h.other.routes.del({ dst: '192.168.12.0/24' });
    const ops = await drift;
    assert.deepEqual(ops.map((o) => `${o.action} ${o.kind}`), ['create route']);
    await until(async () => (await ownRoutes(h.nl)).length === 2, 'route repaired');
  });

  it('a link someone brought down is brought up again by watch, with its routes', async function () {
    const desired = vxlanState(1);
    await r.apply(desired);
    const converged = new Promise((resolve) => r.once('converged', resolve));
    r.watch(desired, { debounceMs: 20, resyncIntervalMs: 60_000 });
    await converged;
    await h.other.links.set('vxlan0', { up: false }); // takes the routes through it with it
    await until(async () => (await h.nl.links.get('vxlan0')).up && (await ownRoutes(h.nl)).length === 1, 'link and route back');
  });
}

describe('reconcile on MemoryKernel (no root): the Reconciler scenarios', function () {
  scenarios('memory');
});

kernelDescribe('reconcile on the real kernel, set up and read through Rtnl only (the same scenarios)', function () {
  scenarios('linux');
});

describe('reconcile on MemoryKernel: what only a fake kernel can stage', function () {
  let h;
  let r;
  beforeEach(async function () {
    h = await openHost('memory');
    r = new Reconciler(h.nl, { protocol: PROTO });
  });
  afterEach(async function () {
    if (r) await r.stop();
    h?.close();
  });

  it('a kernel refusal fails that op alone; the next apply converges', async function () {
    h.namespace.failNext('EBUSY', { type: C.RTM_NEWNEIGH, message: 'staged by the test' });
    const first = await r.apply(vxlanState(2));
    assert.equal(first.converged, false);
    assert.deepEqual(first.failed.map((f) => `${f.op.kind} ${f.error.code} ${f.error.kernelMessage}`), ['neighbor EBUSY staged by the test']);
    assert.equal((await ownRoutes(h.nl)).length, 2, 'the rest was applied');
    const second = await r.apply(vxlanState(2));
    assert.ok(second.converged);
    assert.deepEqual(second.plan.ops.map((o) => `${o.action} ${o.kind}`), ['create neighbor']);
  });

  it('watch retries a failed op until it succeeds', async function () {
    h.namespace.failNext('EAGAIN', { type: C.RTM_NEWROUTE, count: 2 });
    const converged = new Promise((resolve) => r.once('converged', resolve));
    r.watch(vxlanState(1), { debounceMs: 5, minBackoffMs: 5, maxBackoffMs: 20, resyncIntervalMs: 60_000 });
    await converged;
    assert.deepEqual(await ownRoutes(h.nl), ['192.168.11.0/24 via 192.168.11.0']);
  });

  it('events lost without a trace are covered by the periodic resync', async function () {
    const desired = vxlanState(2);
    const converged = new Promise((resolve) => r.once('converged', resolve));
    r.watch(desired, { debounceMs: 5, resyncIntervalMs: 100 });
    await converged;
    h.namespace.dropEvents(1_000_000);
    await h.other.routes.del({ dst: '192.168.11.0/24' });
    await until(async () => (await ownRoutes(h.nl)).length === 2, 'resync repaired the route');
  });

  it('an event overflow makes watch re-read and repair at once', async function () {
    const desired = vxlanState(2);
    const converged = new Promise((resolve) => r.once('converged', resolve));
    r.watch(desired, { debounceMs: 5, resyncIntervalMs: 60_000 });
    await converged;
    h.namespace.dropEvents(1_000_000);
    await h.other.routes.del({ dst: '192.168.12.0/24' });
    h.namespace.dropEvents(0); // events flow again; the deletion's is lost
    h.namespace.overflowMonitors();
    await until(async () => (await ownRoutes(h.nl)).length === 2, 'overflow resync repaired the route');
  });

  it('a dump interrupted by concurrent changes is restarted: the plan is still right', async function () {
    await r.apply(vxlanState(2));
    h.namespace.interruptNextDump(2);
    const plan = await r.plan(vxlanState(2));
    assert.equal(plan.ops.length, 0, plan.text());
  });

  it('counts requests by type: a converged host costs no modifying request', async function () {
    await r.apply(vxlanState(2));
    h.namespace.resetRequests();
    await r.apply(vxlanState(2));
    assert.equal(h.namespace.requests(C.RTM_NEWROUTE) + h.namespace.requests(C.RTM_DELROUTE) + h.namespace.requests(C.RTM_NEWLINK), 0);
    assert.ok(h.namespace.requests(C.RTM_GETLINK) >= 1);
  });
});
