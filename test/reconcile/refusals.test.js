'use strict';
// What a reconciler refuses, with a sentence and before anything is sent, because it could only
// end badly (issue 17): a reserved route protocol (item 3), a route on a link desired down
// (item 5), a link desired in another namespace (item 6).
const assert = require('node:assert/strict');
const { Rtnl, ValidationError } = require('../../dist/rtnl');
const { Reconciler, RESERVED_PROTOCOLS } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, makeNetns, removeNetns, ip, ipJson } = require('../support/kernel');

/** The ValidationError's problem at path (fails when there is none). */
function problemAt(err, path) {
  assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${err && err.stack}`);
  const p = err.problems.find((x) => x.path === path);
  assert.ok(p, `no problem at ${path}: ${JSON.stringify(err.problems)}`);
  return p.message;
}

kernelDescribe('reconcile: refusals (reserved protocols, routes on down links, links in other namespaces)', function () {
  const ns = netnsPerTest('refuse');
  let nl;
  beforeEach(async function () {
    ip(ns(), 'link', 'set', 'lo', 'up');
    ip(ns(), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    ip(ns(), 'addr', 'add', '10.57.4.20/24', 'dev', 'eth0');
    ip(ns(), 'link', 'set', 'eth0', 'up');
    ip(ns(), 'route', 'add', '10.99.0.0/16', 'via', '10.57.4.1'); // proto boot, as ip route add makes it
    nl = await Rtnl.open({ netns: ns() });
  });
  afterEach(function () {
    if (nl) nl.close();
  });

  it('a reserved route protocol (kernel 2, boot 3, static 4, the daemons rt_protos names) is refused with why; 0 always', async function () {
    for (const protocol of [1, 2, 3, 4, 9, 11, 12, 16, 186, 188]) {
      let err;
      try {
        new Reconciler(nl, { protocol });
      } catch (e) {
        err = e;
      }
      const msg = problemAt(err, 'protocol');
      assert.match(msg, new RegExp(`^${protocol} is RTPROT_`));
      assert.match(msg, /deletes every route of its protocol that is not desired/);
      assert.match(msg, /allowReservedProtocol/);
    }
    assert.ok(RESERVED_PROTOCOLS.has(3));
    assert.throws(() => new Reconciler(nl, { protocol: 0, allowReservedProtocol: true }), (e) => /RTPROT_UNSPEC/.test(problemAt(e, 'protocol')));
    // The kernel's connected route and the hand-made (boot) route are intact.
    const before = ip(ns(), 'route', 'show');
    assert.match(before, /10\.99\.0\.0\/16 via 10\.57\.4\.1 dev eth0/);
    assert.match(before, /10\.57\.4\.0\/24 dev eth0 proto kernel/);
    // Forced, it is what was asked for: the protocol's undesired routes go (and the plan says so).
    const forced = new Reconciler(nl, { protocol: 3, allowReservedProtocol: true });
    const plan = await forced.plan({});
    assert.deepEqual(plan.ops.map((o) => `${o.action} ${o.key}`), ['delete 10.99.0.0/16 table 254']);
    // Unreserved numbers are fine.
    assert.equal(new Reconciler(nl, { protocol: 200 }).protocol, 200);
  });

  it('a route through a link desired down (up: false) is refused before anything is sent: the kernel would flush it', async function () {
    const r = new Reconciler(nl);
    const before = nl.modifyingRequests();
    const desired = {
      links: [{ kind: 'bridge', name: 'br0', up: false }],
      addresses: [{ dev: 'br0', address: '10.8.0.1/24' }],
      routes: [{ dst: '10.9.0.0/24', via: '10.8.0.2', dev: 'br0' }],
    };
    await assert.rejects(r.apply(desired), (e) => /desired down \(links\[0\]\.up: false\).*ENETDOWN/.test(problemAt(e, 'routes[0].dev')));
    assert.equal(nl.modifyingRequests(), before);
    assert.equal(ipJson(ns(), 'link', 'show').filter((l) => l.ifname === 'br0').length, 0);
    // Neighbours on a down link are kept by the kernel: such a state converges, and stays so.
    const down = {
      links: [{ kind: 'bridge', name: 'br0', up: false }],
      addresses: [{ dev: 'br0', address: '10.8.0.1/24' }],
      neighbors: [{ dev: 'br0', ip: '10.8.0.2', lladdr: '02:00:00:00:00:02' }],
    };
    const res = await r.apply(down);
    assert.ok(res.converged, res.failed.map((f) => `${f.op.key}: ${f.error.message}`).join('; '));
    assert.equal((await r.plan(down)).ops.length, 0);
    // An up link set down by a plan: its neighbours are flushed by the kernel and re-added in the same apply.
    const up = { ...down, links: [{ kind: 'bridge', name: 'br0', up: true }] };
    assert.ok((await r.apply(up)).converged);
    const res2 = await r.apply(down);
    assert.ok(res2.converged, res2.plan.text());
    const plan = await r.plan(down);
    assert.equal(plan.ops.length, 0, plan.text());
    assert.match(ip(ns(), 'neigh', 'show', 'dev', 'br0'), /10\.8\.0\.2 lladdr 02:00:00:00:00:02 PERMANENT/);
  });

  it('a desired link with netns is refused with a sentence (it would be made over there, then EEXIST forever, never removed)', async function () {
    const other = makeNetns('refuse-other');
    try {
      const r = new Reconciler(nl);
      const before = nl.modifyingRequests();
      const desired = { links: [{ kind: 'bridge', name: 'brx', netns: other }] };
      await assert.rejects(r.apply(desired), (e) => /a reconciler keeps links in its own namespace.*Rtnl\.open/.test(problemAt(e, 'links[0].netns')));
      await assert.rejects(r.plan(desired), ValidationError);
      assert.throws(() => r.watch(desired), ValidationError);
      assert.equal(nl.modifyingRequests(), before);
      assert.equal(ipJson(other, 'link', 'show').filter((l) => l.ifname === 'brx').length, 0);
      assert.equal(ipJson(ns(), 'link', 'show').filter((l) => l.ifname === 'brx').length, 0);
      // A veth whose peer lives in another namespace is still fine: that is the peer's netns.
      const res = await r.apply({ links: [{ kind: 'veth', name: 'v0', peer: { name: 'v0p', netns: other } }] });
      assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
      assert.equal(ipJson(other, 'link', 'show', 'v0p').length, 1);
      await r.stop();
    } finally {
      removeNetns(other);
    }
  });
});
