'use strict';
// Ownership of links (issue 16 item 1) and owner identity (issue 17 item 14): a desired link
// whose name a device the reconciler does not own holds is a conflict, never changed, deleted or
// recreated, and nothing on it is touched; adoption is explicit and visible; two reconcilers
// with different owners never touch each other's objects.
const assert = require('node:assert/strict');
const { sleep } = require('../support/poll');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, ip, ipJson, hostLike } = require('../support/kernel');

/** A hand-made vxlan0 (no owner alias) with a foreign address, neighbour, FDB entry and route on it. */
function foreignVxlan(ns, vni = 100) {
  ip(ns, 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', String(vni), 'dstport', '4789', 'local', '10.57.4.20', 'dev', 'eth0', 'nolearning');
  ip(ns, 'link', 'set', 'vxlan0', 'up');
  ip(ns, 'addr', 'add', '172.16.0.1/24', 'dev', 'vxlan0');
  ip(ns, 'neigh', 'add', '172.16.0.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'vxlan0', 'nud', 'permanent');
  require('node:child_process').execFileSync('bridge', ['-n', ns, 'fdb', 'append', '02:00:00:00:00:09', 'dev', 'vxlan0', 'dst', '10.57.4.99']);
  ip(ns, 'route', 'add', '172.17.0.0/24', 'via', '172.16.0.9', 'dev', 'vxlan0', 'proto', 'static');
}

/** vxlan0 and everything on it, as iproute2 sees it (the oracle). */
function onVxlan(ns) {
  const link = ipJson(ns, '-d', 'link', 'show', 'vxlan0')[0];
  return {
    index: link.ifindex,
    vni: link.linkinfo.info_data.id,
    alias: link.ifalias,
    addr: ip(ns, '-4', 'addr', 'show', 'dev', 'vxlan0').replace(/valid_lft.*\n/g, ''),
    neigh: ip(ns, '-4', 'neigh', 'show', 'dev', 'vxlan0', 'nud', 'permanent'),
    fdb: require('node:child_process').execFileSync('bridge', ['-n', ns, 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' }),
    routes: ip(ns, 'route', 'show', 'dev', 'vxlan0'),
  };
}

function desiredOnVxlan(vni) {
  return {
    links: [{ kind: 'vxlan', name: 'vxlan0', vni, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, up: true }],
    addresses: [{ dev: 'vxlan0', address: '192.168.10.0/32' }],
    neighbors: [{ dev: 'vxlan0', ip: '192.168.11.0', lladdr: '0a:58:c0:a8:0b:00' }],
    fdb: [{ dev: 'vxlan0', mac: '0a:58:c0:a8:0b:00', dst: '10.57.4.21' }],
    routes: [{ dst: '192.168.11.0/24', via: '192.168.11.0', dev: 'vxlan0', onlink: true }],
  };
}

kernelDescribe('reconcile: ownership of links (foreign devices are conflicts)', function () {
  const ns = netnsPerTest('own');
  let nl;
  const recs = [];
  const make = (opts) => {
    const r = new Reconciler(nl, opts);
    recs.push(r);
    return r;
  };
  beforeEach(async function () {
    hostLike(ns());
    nl = await Rtnl.open({ netns: ns() });
  });
  afterEach(async function () {
    for (const r of recs.splice(0)) await r.stop();
    if (nl) nl.close();
  });

  for (const [title, vni] of [
    ['at another VNI (which would need a recreate)', 200],
    ['at the same VNI (which would be silently adopted)', 100],
  ]) {
    it(`a foreign vxlan0 ${title} is a conflict: plan "!", a conflict event, nothing on it touched`, async function () {
      foreignVxlan(ns());
      const before = onVxlan(ns());
      const r = make({});
      const conflicts = [];
      r.on('conflict', (c) => conflicts.push(c));
      const plan = await r.plan(desiredOnVxlan(vni));
      assert.match(plan.text(), /^! +link vxlan0: conflict, held by a link without an owner alias/m);
      assert.ok(!plan.ops.some((o) => o.kind === 'link'), plan.text());
      // Nothing on the foreign link is planned either: every desired entry there is a conflict.
      assert.deepEqual(plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}`), [], plan.text());
      assert.deepEqual(plan.conflicts.map((c) => c.kind).sort(), ['address', 'fdb', 'link', 'neighbor', 'route']);
      conflicts.length = 0;
      const res = await r.apply(desiredOnVxlan(vni));
      assert.equal(res.converged, false);
      assert.equal(res.requests, 0);
      assert.equal(conflicts.length, 5);
      assert.equal(conflicts.find((c) => c.kind === 'link').actual.name, 'vxlan0');
      assert.deepEqual(onVxlan(ns()), before);
      // Leaving the desired state does not delete it either (it was never ours).
      const gone = await r.apply({});
      assert.equal(gone.requests, 0, gone.plan.text());
      assert.deepEqual(onVxlan(ns()), before);
    });
  }

  it('adoptConflicts adopts the foreign vxlan0: the plan says "adopt", the link gets the owner alias, then it is owned', async function () {
    foreignVxlan(ns(), 100);
    const r = make({ adoptConflicts: true });
    const plan = await r.plan(desiredOnVxlan(200));
    const link = plan.ops.find((o) => o.kind === 'link');
    assert.equal(link.action, 'recreate');
    assert.equal(link.adopt, true);
    assert.match(plan.text(), /^-\/\+ +link vxlan0: adopt, alias \(none\) -> netlink-agent, vni 100 -> 200/m);
    assert.match(plan.text(), /1 to adopt\.$/);
    const res = await r.apply(desiredOnVxlan(200));
    assert.ok(res.converged, res.failed.map((f) => `${f.op.key}: ${f.error.message}`).join('; '));
    const after = onVxlan(ns());
    assert.equal(after.vni, 200);
    assert.equal(after.alias, 'netlink-agent');
    assert.match(after.routes, /192\.168\.11\.0\/24 via 192\.168\.11\.0 .*onlink/);
    // Adopted in place (same VNI) keeps the device and takes what is on it.
    ip(ns(), 'link', 'del', 'vxlan0');
    foreignVxlan(ns(), 200);
    const index = onVxlan(ns()).index;
    const inPlace = await r.plan(desiredOnVxlan(200));
    const op = inPlace.ops.find((o) => o.kind === 'link');
    assert.equal(op.action, 'update');
    assert.match(inPlace.text(), /^~ +link vxlan0: adopt, alias \(none\) -> netlink-agent/m);
    assert.ok((await r.apply(desiredOnVxlan(200))).converged);
    assert.equal(onVxlan(ns()).index, index);
    assert.equal(onVxlan(ns()).alias, 'netlink-agent');
    assert.doesNotMatch(onVxlan(ns()).addr, /172\.16\.0\.1/); // not desired on a link it now owns
  });

  it('an owned link whose alias someone changed is foreign from then on', async function () {
    const r = make({});
    assert.ok((await r.apply(desiredOnVxlan(100))).converged);
    ip(ns(), 'link', 'set', 'vxlan0', 'alias', 'someone-else');
    ip(ns(), 'addr', 'add', '172.16.0.1/24', 'dev', 'vxlan0');
    const before = onVxlan(ns());
    const plan = await r.plan(desiredOnVxlan(200));
    assert.match(plan.text(), /^! +link vxlan0: conflict, held by a link with alias "someone-else"/m);
    assert.equal(plan.ops.length, 0, plan.text());
    const res = await r.apply(desiredOnVxlan(200));
    assert.equal(res.requests, 0, res.plan.text());
    assert.equal(res.converged, false);
    assert.deepEqual(onVxlan(ns()), before);
    // Not desired any more: still not deleted, it is not ours. Only the route carrying this
    // reconciler's protocol is (routes are owned by their protocol wherever they are).
    const gone = await r.apply({});
    assert.deepEqual(gone.plan.ops.map((o) => `${o.action} ${o.kind}`), ['delete route'], gone.plan.text());
    const left = onVxlan(ns());
    assert.equal(left.index, before.index);
    assert.equal(left.alias, 'someone-else');
    assert.equal(left.addr, before.addr);
    assert.equal(left.neigh, before.neigh);
    assert.equal(left.fdb, before.fdb);
  });

  it('two reconcilers with different owners (and protocols) on one namespace never touch each other\'s objects', async function () {
    const a = make({ owner: 'team-a', protocol: 90 });
    const b = make({ owner: 'team-b', protocol: 91 });
    assert.equal(a.owner.alias, 'team-a/90');
    assert.equal(b.owner.alias, 'team-b/91');
    const stateA = {
      links: [{ kind: 'bridge', name: 'bra', up: true }],
      addresses: [{ dev: 'bra', address: '10.1.0.1/24' }],
      routes: [{ dst: '10.2.0.0/24', via: '10.57.4.1', dev: 'eth0' }],
    };
    const stateB = {
      links: [{ kind: 'bridge', name: 'brb', up: true }],
      addresses: [{ dev: 'brb', address: '10.3.0.1/24' }],
      routes: [{ dst: '10.4.0.0/24', via: '10.57.4.1', dev: 'eth0' }],
    };
    assert.ok((await a.apply(stateA)).converged);
    assert.ok((await b.apply(stateB)).converged);
    // Each one's "everything else I own is not desired" leaves the other's objects alone.
    assert.equal((await a.plan(stateA)).ops.length, 0);
    assert.equal((await b.plan(stateB)).ops.length, 0);
    const drift = { a: 0, b: 0 };
    a.on('drift', () => drift.a++);
    b.on('drift', () => drift.b++);
    a.watch(stateA, { debounceMs: 10, resyncIntervalMs: 200 });
    b.watch(stateB, { debounceMs: 10, resyncIntervalMs: 200 });
    const w0 = nl.modifyingRequests();
    await sleep(2000);
    assert.deepEqual(drift, { a: 0, b: 0 });
    assert.equal(nl.modifyingRequests() - w0, 0);
    assert.equal(ipJson(ns(), 'link', 'show', 'bra')[0].ifalias, 'team-a/90');
    assert.equal(ipJson(ns(), 'link', 'show', 'brb')[0].ifalias, 'team-b/91');
    assert.match(ip(ns(), 'route', 'show', '10.2.0.0/24'), /proto 90/);
    assert.match(ip(ns(), 'route', 'show', '10.4.0.0/24'), /proto 91/);
    // One of them wants nothing: only its own objects go.
    await a.stop();
    const res = await a.apply({});
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}`).sort(), ['delete link bra', 'delete route 10.2.0.0/24 table 254']);
    assert.equal(ipJson(ns(), 'link', 'show', 'brb').length, 1);
    assert.match(ip(ns(), 'route', 'show', '10.4.0.0/24'), /proto 91/);
    assert.match(ip(ns(), 'addr', 'show', 'dev', 'brb'), /10\.3\.0\.1\/24/);
  });

  it('the default identity is owner "netlink-agent", protocol 77, alias "netlink-agent" (links of earlier releases stay owned)', async function () {
    const r = make({});
    assert.deepEqual({ ...r.owner }, { protocol: 77, name: 'netlink-agent', alias: 'netlink-agent' });
    ip(ns(), 'link', 'add', 'br9', 'type', 'bridge');
    ip(ns(), 'link', 'set', 'br9', 'alias', 'netlink-agent');
    const res = await r.apply({});
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}`), ['delete link br9']);
    // Another owner name with the default protocol has its own alias.
    assert.equal(make({ owner: 'edge' }).owner.alias, 'edge');
  });
});
