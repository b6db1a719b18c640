'use strict';
// The reconciler's nexthop kind (issue 20, reconciler): nexthop objects owned by protocol,
// named ones with stable ids, routes on them by name or nhid, a change in place as a replace
// (routes stay), conflicts and adoption, deletions in order, watch repairs. `ip -j nexthop` and
// `ip -j route` are the oracle.
const assert = require('node:assert/strict');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler, NAMED_NEXTHOP_ID_BASE, NAMED_NEXTHOP_ID_SPAN } = require('../../dist/reconcile');
const { namedNexthopCandidate } = require('../../dist/reconcile/kinds/nexthop/ids');
const { ValidationError } = require('../../dist/values/problems');
const { kernelDescribe, ip, ipJson, slow } = require('../support/kernel');
const { reconcilerPerTest } = require('../support/reconciler');
const { pollUntil } = require('../support/poll');

const nexthops = (ns) => ipJson(ns, 'nexthop', 'show');
const routes = (ns) => ipJson(ns, 'route', 'show', 'proto', '77');
const byId = (list) => new Map(list.map((n) => [n.id, n]));
const idOf = (name) => namedNexthopCandidate(77, 'netlink-agent', name, 0);

/** Two peers by name, a group of both, routes on each and on the group, one explicit id. */
function state({ node7 = '10.57.4.7', groupWeight = 1, extra = true } = {}) {
  const s = {
    nexthops: [
      { name: 'node-7', via: node7, dev: 'eth0', onlink: true },
      { name: 'node-8', via: '10.57.4.8', dev: 'eth0' },
      { name: 'both', group: [{ nexthop: 'node-7' }, { nexthop: 'node-8', weight: groupWeight }] },
    ],
    routes: [
      { dst: '10.244.7.0/24', nexthop: 'node-7' },
      { dst: '10.244.8.0/24', nexthop: 'node-8' },
      { dst: '10.244.0.0/16', nexthop: 'both' },
    ],
  };
  if (extra) {
    s.nexthops.push({ id: 42, via: '10.57.4.9', dev: 'eth0' });
    s.routes.push({ dst: '10.244.9.0/24', nhid: 42 });
  }
  return s;
}

kernelDescribe('reconcile: nexthop objects', function () {
  const t = reconcilerPerTest('nhr');
  const ns = t.ns;

  it('converges: named nexthops get stable ids in the documented range, routes name them, protocol 77 on all; a second apply sends nothing', async function () {
    const res = await t.rec.apply(state());
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    const nh = byId(nexthops(ns()));
    for (const name of ['node-7', 'node-8', 'both']) {
      const id = idOf(name);
      assert.ok(id >= NAMED_NEXTHOP_ID_BASE && id < NAMED_NEXTHOP_ID_BASE + NAMED_NEXTHOP_ID_SPAN);
      assert.ok(nh.has(id), `${name} has id ${id}`);
      assert.equal(nh.get(id).protocol, '77');
    }
    assert.equal(nh.get(idOf('node-7')).gateway, '10.57.4.7');
    assert.deepEqual(nh.get(idOf('node-7')).flags, ['onlink']);
    assert.deepEqual(
      nh.get(idOf('both')).group.map((m) => m.id).sort(),
      [idOf('node-7'), idOf('node-8')].sort(),
    );
    assert.equal(nh.get(42).protocol, '77');
    const r = new Map(routes(ns()).map((x) => [x.dst, x.nhid]));
    assert.deepEqual(Object.fromEntries(r), { '10.244.7.0/24': idOf('node-7'), '10.244.8.0/24': idOf('node-8'), '10.244.0.0/16': idOf('both'), '10.244.9.0/24': 42 });
    // Nexthops go out before the routes that use them (stages), groups after their members.
    const order = res.plan.ops.map((o) => `${o.kind} ${o.key}`);
    assert.ok(order.indexOf(`nexthop both (id ${idOf('both')})`) < order.indexOf('route 10.244.0.0/16 table 254'));
    const again = await t.rec.apply(state());
    assert.equal(again.plan.ops.length, 0, again.plan.text());
    assert.equal(again.requests, 0);
  });

  it('a no-op cycle settles routes on nexthop objects on the numbers of the dump: none is decoded whole', async function () {
    const { RouteFacts } = require('../../dist/rtnl');
    const many = state();
    for (let i = 0; i < 200; i++) many.routes.push({ dst: `10.245.${i}.0/24`, nexthop: i % 2 ? 'node-7' : 'both' });
    assert.ok((await t.rec.apply(many)).converged);
    const decode = RouteFacts.prototype.route;
    let decoded = 0;
    RouteFacts.prototype.route = function () {
      decoded++;
      return decode.call(this);
    };
    try {
      const plan = await t.rec.plan(many);
      assert.equal(plan.ops.length, 0, plan.text());
      assert.equal(decoded, 0, 'routes decoded whole in a no-op cycle');
      // A route on the wrong nexthop is not settled by its numbers: it is decoded and updated.
      ip(ns(), 'route', 'replace', '10.245.3.0/24', 'nhid', String(idOf('node-8')), 'proto', '77');
      const drift = await t.rec.plan(many);
      assert.deepEqual(drift.ops.map((o) => `${o.action} ${o.key}`), ['update 10.245.3.0/24 table 254']);
      assert.equal(decoded, 1);
    } finally {
      RouteFacts.prototype.route = decode;
    }
  });

  it('ids are stable across restarts: a new reconciler finds nothing to do', async function () {
    await t.rec.apply(state());
    const before = nexthops(ns());
    await t.rec.stop();
    t.nl.close();
    t.nl = await Rtnl.open({ netns: ns() });
    t.rec = new Reconciler(t.nl);
    const plan = await t.rec.plan(state());
    assert.equal(plan.ops.length, 0, plan.text());
    assert.deepEqual(nexthops(ns()), before);
  });

  it("a node's new IP is one nexthop replace: its routes keep their nhid and follow", async function () {
    await t.rec.apply(state());
    const plan = await t.rec.plan(state({ node7: '10.57.4.17' }));
    assert.deepEqual(plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}: ${o.reason}`), [`update nexthop node-7 (id ${idOf('node-7')}): via 10.57.4.7 -> 10.57.4.17`]);
    const res = await t.rec.apply(state({ node7: '10.57.4.17' }));
    assert.ok(res.converged);
    assert.equal(res.requests, 1);
    assert.equal(byId(nexthops(ns())).get(idOf('node-7')).gateway, '10.57.4.17');
    const r = ipJson(ns(), 'route', 'show', '10.244.7.0/24')[0];
    assert.equal(r.nhid, idOf('node-7'));
    assert.equal(r.gateway, '10.57.4.17');
    assert.equal((await t.rec.plan(state({ node7: '10.57.4.17' }))).ops.length, 0);
  });

  it("a group's member change is a replace, never delete-then-add: the routes on it stay", async function () {
    await t.rec.apply(state());
    const res = await t.rec.apply(state({ groupWeight: 5 }));
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind}`), ['update nexthop']);
    assert.ok(res.converged);
    const g = byId(nexthops(ns())).get(idOf('both'));
    assert.deepEqual(g.group.find((m) => m.id === idOf('node-8')).weight, 5);
    assert.equal(ipJson(ns(), 'route', 'show', '10.244.0.0/16')[0].nhid, idOf('both'));
    // A member dropped from the group (and then from the state): group replaced first, member deleted after.
    const s = state({ extra: false });
    s.nexthops = s.nexthops.filter((n) => n.name !== 'node-8');
    s.nexthops.find((n) => n.name === 'both').group = [{ nexthop: 'node-7' }];
    s.routes = s.routes.filter((x) => x.nexthop !== 'node-8');
    const res2 = await t.rec.apply(s);
    assert.ok(res2.converged, res2.failed.map((f) => f.error.message).join('; '));
    const nh = byId(nexthops(ns()));
    assert.equal(nh.has(idOf('node-8')), false);
    assert.equal(nh.has(42), false);
    assert.deepEqual(nh.get(idOf('both')).group.map((m) => m.id), [idOf('node-7')]);
    assert.equal(ipJson(ns(), 'route', 'show', '10.244.0.0/16')[0].nhid, idOf('both'));
  });

  it('a change the kernel cannot replace (single -> group) is a recreate, and its routes are put back in the same apply', async function () {
    await t.rec.apply(state());
    const s = state();
    s.nexthops[3] = { id: 42, group: [{ nexthop: 'node-7' }] };
    const res = await t.rec.apply(s);
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind}`), ['recreate nexthop', 'update route']);
    assert.equal(ipJson(ns(), 'route', 'show', '10.244.9.0/24')[0].nhid, 42);
    assert.equal((await t.rec.plan(s)).ops.length, 0);
  });

  it('a foreign nexthop on a desired id is a conflict, untouched; adoptConflicts takes it over', async function () {
    ip(ns(), 'nexthop', 'add', 'id', '42', 'via', '10.57.4.99', 'dev', 'eth0', 'proto', 'static');
    ip(ns(), 'nexthop', 'add', 'id', '43', 'via', '10.57.4.98', 'dev', 'eth0'); // foreign, not desired
    const conflicts = [];
    t.rec.on('conflict', (c) => conflicts.push(c));
    const res = await t.rec.apply(state());
    assert.equal(res.converged, false);
    assert.deepEqual(conflicts.map((c) => `${c.kind} ${c.key}: ${c.reason}`), ['nexthop id 42: held by protocol 4']);
    const nh = byId(nexthops(ns()));
    assert.equal(nh.get(42).gateway, '10.57.4.99');
    assert.equal(nh.get(42).protocol, 'static');
    assert.ok(nh.has(43));
    const adopt = new Reconciler(t.nl, { adoptConflicts: true });
    try {
      const res2 = await adopt.apply(state());
      assert.ok(res2.converged, res2.failed.map((f) => f.error.message).join('; '));
      assert.match(res2.plan.text(), /~ {3}nexthop id 42: adopt from protocol 4/);
      const nh2 = byId(nexthops(ns()));
      assert.equal(nh2.get(42).protocol, '77');
      assert.equal(nh2.get(42).gateway, '10.57.4.9');
      assert.ok(nh2.has(43), 'a foreign nexthop not desired stays');
    } finally {
      await adopt.stop();
    }
  });

  it("a foreign nexthop on a name's first id moves the name to its next one, which stays after the foreign one goes", async function () {
    const first = idOf('node-7');
    ip(ns(), 'nexthop', 'add', 'id', String(first), 'via', '10.57.4.99', 'dev', 'eth0');
    const res = await t.rec.apply(state());
    assert.ok(res.converged, res.plan.text());
    const second = namedNexthopCandidate(77, 'netlink-agent', 'node-7', 1);
    assert.equal(ipJson(ns(), 'route', 'show', '10.244.7.0/24')[0].nhid, second);
    ip(ns(), 'nexthop', 'del', 'id', String(first));
    const plan = await t.rec.plan(state());
    assert.equal(plan.ops.length, 0, plan.text());
  });

  it('owned nexthops no longer desired are deleted after the routes, groups before members; nothing else', async function () {
    ip(ns(), 'nexthop', 'add', 'id', '7', 'via', '10.57.4.77', 'dev', 'eth0', 'proto', 'static');
    await t.rec.apply(state());
    const res = await t.rec.apply({});
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind}`), [...Array(4).fill('delete route'), ...Array(4).fill('delete nexthop')]);
    assert.deepEqual(nexthops(ns()).map((n) => n.id), [7]);
    assert.deepEqual(routes(ns()), []);
  });

  it('watch puts back a nexthop someone deleted, and the routes the kernel removed with it', async function () {
    const desired = state();
    await t.rec.apply(desired);
    const converged = new Promise((resolve) => t.rec.once('converged', resolve));
    t.rec.watch(desired, { debounceMs: 20, resyncIntervalMs: 60_000 });
    await converged;
    ip(ns(), 'nexthop', 'del', 'id', String(idOf('node-8'))); // the kernel drops its routes and its group member
    await pollUntil(
      () => {
        const nh = byId(nexthops(ns()));
        const r = routes(ns());
        return nh.has(idOf('node-8')) && nh.get(idOf('both')).group.length === 2 && r.length === 4;
      },
      { ms: 2000 * slow, what: 'the repair of the deleted nexthop' },
    );
    assert.equal(ipJson(ns(), 'route', 'show', '10.244.8.0/24')[0].nhid, idOf('node-8'));
  });

  it('a route given via and dev where a nexthop route was is changed back, and the other way round (no churn after)', async function () {
    const s = { nexthops: [{ name: 'n', via: '10.57.4.7', dev: 'eth0' }], routes: [{ dst: '10.244.7.0/24', nexthop: 'n' }] };
    await t.rec.apply(s);
    const inline = { nexthops: s.nexthops, routes: [{ dst: '10.244.7.0/24', via: '10.57.4.7', dev: 'eth0' }] };
    const res = await t.rec.apply(inline);
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind}: ${o.reason}`), [`update route: nhid ${idOf('n')} -> its own path`]);
    assert.equal(ipJson(ns(), 'route', 'show', '10.244.7.0/24')[0].nhid, undefined);
    assert.equal((await t.rec.plan(inline)).ops.length, 0);
    const res2 = await t.rec.apply(s);
    assert.deepEqual(res2.plan.ops.map((o) => `${o.action} ${o.kind}: ${o.reason}`), [`update route: via 10.57.4.7 -> nhid ${idOf('n')}`]);
    assert.equal((await t.rec.plan(s)).ops.length, 0);
  });

  it('IPv6 nexthops and routes on them, and a resilient group: converge, then no churn; a bucket count change is a recreate', async function () {
    const s = (buckets) => ({
      nexthops: [
        { name: 'v6a', via: 'fe80::1', dev: 'eth0' },
        { name: 'v6b', via: 'FE80:0:0::2', dev: 'eth0' },
        { name: 'res', group: [{ nexthop: 'v6a' }, { nexthop: 'v6b', weight: 3 }], type: 'resilient', buckets, idleTimer: 30 },
      ],
      routes: [
        { dst: 'fd00:7::/64', nexthop: 'v6a' },
        { dst: 'fd00:8::/64', nexthop: 'res' },
      ],
    });
    const res = await t.rec.apply(s(8));
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    const g = byId(nexthops(ns())).get(idOf('res'));
    assert.equal(g.type, 'resilient');
    assert.equal(g.resilient_args.buckets, 8);
    assert.equal(ipJson(ns(), '-6', 'route', 'show', 'fd00:7::/64')[0].nhid, idOf('v6a'));
    assert.equal((await t.rec.plan(s(8))).ops.length, 0);
    const res2 = await t.rec.apply(s(16));
    assert.deepEqual(res2.plan.ops.map((o) => `${o.action} ${o.kind}: ${o.reason}`), ['recreate nexthop: buckets 8 -> 16', 'update route: re-added: nexthop ' + idOf('res') + ' is recreated']);
    assert.ok(res2.converged, res2.failed.map((f) => f.error.message).join('; '));
    assert.equal(byId(nexthops(ns())).get(idOf('res')).resilient_args.buckets, 16);
    assert.equal(ipJson(ns(), '-6', 'route', 'show', 'fd00:8::/64')[0].nhid, idOf('res'));
    assert.equal((await t.rec.plan(s(16))).ops.length, 0);
  });

  describe('bad input is one ValidationError naming the field, nothing sent', function () {
    const cases = [
      ['id 0', { nexthops: [{ id: 0, via: '10.57.4.7', dev: 'eth0' }] }, 'nexthops[0].id'],
      ['neither id nor name', { nexthops: [{ via: '10.57.4.7', dev: 'eth0' }] }, 'nexthops[0].id'],
      ['an unknown group member', { nexthops: [{ name: 'g', group: [{ nexthop: 'nope' }] }] }, 'nexthops[0].group[0].nexthop'],
      ['a group of groups', { nexthops: [{ id: 1, via: '10.57.4.7', dev: 'eth0' }, { id: 2, group: [{ id: 1 }] }, { id: 3, group: [{ id: 2 }] }] }, 'nexthops[2].group[0].id'],
      ['an FDB member in a group that is not', { nexthops: [{ name: 'f', via: '10.57.4.7', fdb: true }, { name: 'g', group: [{ nexthop: 'f' }] }] }, 'nexthops[1].group[0].nexthop'],
      ['a route on an FDB nexthop', { nexthops: [{ name: 'f', via: '10.57.4.7', fdb: true }], routes: [{ dst: '10.1.0.0/24', nexthop: 'f' }] }, 'routes[0].nexthop'],
      ['a route on an unknown name', { routes: [{ dst: '10.1.0.0/24', nexthop: 'nope' }] }, 'routes[0].nexthop'],
      ['a route with a nexthop and via', { nexthops: [{ name: 'n', via: '10.57.4.7', dev: 'eth0' }], routes: [{ dst: '10.1.0.0/24', nexthop: 'n', via: '10.57.4.7' }] }, 'routes[0].nexthop'],
      ['a name twice', { nexthops: [{ name: 'n', via: '10.57.4.7', dev: 'eth0' }, { name: 'n', via: '10.57.4.8', dev: 'eth0' }] }, 'nexthops[1].name'],
      ['another protocol', { nexthops: [{ id: 5, via: '10.57.4.7', dev: 'eth0', protocol: 'static' }] }, 'nexthops[0].protocol'],
      ['a route on a nexthop with another protocol', { nexthops: [{ name: 'n', via: '10.57.4.7', dev: 'eth0' }], routes: [{ dst: '10.1.0.0/24', nexthop: 'n', protocol: 'boot' }] }, 'routes[0].protocol'],
      ['a route on an nhid with another protocol', { nexthops: [{ id: 5, via: '10.57.4.7', dev: 'eth0' }], routes: [{ dst: '10.1.0.0/24', nhid: 5, protocol: 5 }] }, 'routes[0].protocol'],
    ];
    for (const [title, desired, path] of cases) {
      it(title, async function () {
        await assert.rejects(t.rec.apply(desired), (e) => {
          assert.ok(e instanceof ValidationError, e.stack);
          assert.ok(e.problems.some((p) => p.path === path), `${path} in ${JSON.stringify(e.problems)}`);
          return true;
        });
        assert.deepEqual(nexthops(ns()), []);
      });
    }
  });
});
