'use strict';
// prepareDesired without a kernel: which routes take the lean "simple" path (compared on the
// numbers of the dump), and that a field added to RouteSpec cannot slip past that choice.
const assert = require('node:assert/strict');
const { Problems } = require('../../dist/values/problems');
const { prepareRoutes } = require('../../dist/reconcile/kinds/route/prepare');
const { ROUTE_SPEC_KEYS } = require('../../dist/rtnl/route/validate');

/** The route kind's prepare, as the engine calls it for a state with only routes. */
function prepareDesired(state, protocol) {
  const p = new Problems();
  const ctx = { owner: { protocol, name: 'netlink-agent', alias: 'netlink-agent' }, references: [], links: { get: () => undefined } };
  const prepared = prepareRoutes(p, state.routes, ctx);
  p.throwIfAny('invalid desired state');
  return { routes: prepared.list };
}

const BASE = { dst: '10.64.1.0/24', via: '10.57.4.1', dev: 'eth0', onlink: true };
// A valid value for every RouteSpec field that makes a route something other than the simple
// shape. A new field in the validator without an entry here fails the first test.
const OTHER = {
  family: 4,
  table: 100,
  scope: 'universe',
  type: 'unicast',
  metric: 5,
  prefsrc: '10.57.4.20',
  tos: 0,
  mtu: 1400,
  advmss: 1360,
  nexthops: [{ via: '10.57.4.1', dev: 'eth0' }],
  nhid: 10,
};
const SIMPLE_FIELDS = ['dst', 'via', 'dev', 'onlink', 'protocol'];

describe('reconcile: the route kind\'s prepare', function () {
  it('every RouteSpec field is either part of the simple shape or known here to leave it', function () {
    const unknown = ROUTE_SPEC_KEYS.filter((k) => !SIMPLE_FIELDS.includes(k) && !(k in OTHER));
    assert.deepEqual(unknown, [], 'add the new field to OTHER with a valid value');
  });

  it('a route with any other field set is not simple (it is compared through its expected Route)', function () {
    for (const [k, v] of Object.entries(OTHER)) {
      // nexthops and nhid exclude via/dev: they replace them.
      const spec = k === 'nexthops' || k === 'nhid' ? { dst: BASE.dst, [k]: v } : { ...BASE, [k]: v };
      const p = prepareDesired({ routes: [spec] }, 77);
      assert.equal(p.routes.length, 1, k);
      assert.equal(p.routes[0].simple, false, k);
      assert.equal(p.routes[0].gw4, -1, k);
    }
  });

  it('the simple shape: canonical IPv4 dst, IPv4 gateway, a named device; its derived fields are the defaults', function () {
    const p = prepareDesired({ routes: [BASE, { dst: '10.64.2.0/24', via: '10.57.4.2', dev: 'eth0' }, { ...BASE, dst: '10.64.3.0/24', protocol: 77 }] }, 77);
    for (const d of p.routes) {
      assert.equal(d.simple, true, d.spec.dst);
      assert.deepEqual([d.family, d.dst, d.table, d.tos, d.metric, d.devRef, d.devs], [4, d.spec.dst, 254, 0, 0, 'eth0', ['eth0']]);
    }
    assert.equal(p.routes[0].gw4, (10 << 24) + (57 << 16) + (4 << 8) + 1);
    // Not simple: a bare IPv4 address (its canonical dst differs from the text), a device by
    // index, the default route.
    const q = prepareDesired(
      {
        routes: [
          { dst: '10.64.4.1', via: '10.57.4.1', dev: 'eth0' },
          { dst: '10.64.5.0/24', via: '10.57.4.1', dev: 2 },
          { dst: 'default', via: '10.57.4.1', dev: 'eth0' },
        ],
      },
      77,
    );
    assert.deepEqual(q.routes.map((d) => d.simple), [false, false, false]);
    assert.equal(q.routes[0].dst, '10.64.4.1/32');
  });

  it('IPv6 has the simple shape too, with canonical dst and gateway texts and the kernel\'s metric 1024', function () {
    const p = prepareDesired({ routes: [{ dst: 'FD01:0:0::/64', via: 'fd00:0::1', dev: 'eth0', onlink: true }, { dst: 'fd02::5', via: 'fd00::1', dev: 'eth0' }] }, 77);
    const [a, b] = p.routes;
    assert.deepEqual([a.simple, a.family, a.dst, a.gateway, a.table, a.tos, a.metric, a.onlink, a.gw4], [true, 6, 'fd01::/64', 'fd00::1', 254, 0, 1024, true, -1]);
    assert.deepEqual([b.simple, b.dst], [true, 'fd02::5/128']);
    // The same prefix in another notation is a duplicate.
    assert.throws(() => prepareDesired({ routes: [{ dst: 'fd01::/64', via: 'fd00::1', dev: 'eth0' }, { dst: 'fd01:0::/64', via: 'fd00::2', dev: 'eth0' }] }, 77), /already desired at routes\[0\]/);
    // IPv6 with other fields goes the general way, keyed the same.
    assert.throws(() => prepareDesired({ routes: [{ dst: 'fd01::/64', via: 'fd00::1', dev: 'eth0' }, { dst: 'fd01::/64', via: 'fd00::2', dev: 'eth0', mtu: 1400 }] }, 77), /already desired at routes\[0\]/);
  });

  it('duplicate keys are found across both shapes, with the position of the first', function () {
    assert.throws(
      () => prepareDesired({ routes: [BASE, { dst: '10.64.1.0/24', via: '10.57.4.9', dev: 'eth0', mtu: 1400 }] }, 77),
      (e) => e.name === 'ValidationError' && /routes\[1\]/.test(e.message) && /already desired at routes\[0\]/.test(e.message),
    );
    assert.throws(
      () => prepareDesired({ routes: [{ dst: '10.64.1.0/24', table: 100, via: '10.57.4.1' }, BASE, { dst: '10.64.1.0/24', table: 100, via: '10.57.4.2' }] }, 77),
      (e) => /routes\[2\]/.test(e.message) && /already desired at routes\[0\]/.test(e.message),
    );
    // Same dst in another table or with another metric is another key.
    const p = prepareDesired({ routes: [BASE, { ...BASE, table: 100 }, { ...BASE, metric: 7 }] }, 77);
    assert.equal(p.routes.length, 3);
  });
});
