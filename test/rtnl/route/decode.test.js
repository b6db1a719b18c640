'use strict';
// RouteDecoder (route/decode.ts), list()'s and get()'s decoder: its fast path must give exactly
// the Route the full decoder (RouteFacts.read().route()) gives, keys in the same order, for
// every message it takes, and hand every other message (rare attributes, malformed bytes) to
// the full decoder, errors included. The fuzz suite checks parseRouteMessage against RouteFacts
// on mutated kernel output; these cases pin the shapes and the string caches.
const assert = require('node:assert/strict');
const wire = require('../../../dist/wire');
const C = require('../../../dist/rtnl/constants');
const route = require('../../support/codec-modules').route;
const { routeView: view, fixtureRoutes: kernelRoutes } = require('../../support/route-replies');

/** The message the kernel would send for a read-back Route (encodeRoute writes a Route with its own values). */
function message(r) {
  const w = new wire.MessageWriter(128);
  route.encodeRoute(w, C.RTM_NEWROUTE, 0, { table: 254, protocol: 77, scope: 0, type: 'unicast', tos: 0, onlink: false, flags: 0, ...r }, (x) => x);
  return Buffer.from(w.bytes());
}

/** The full decoder's answer: a Route, or the error it throws. */
function full(b) {
  try {
    return { route: new route.RouteFacts().read(view(b)).route() };
  } catch (e) {
    return { error: e };
  }
}

/** Checks the decoder against the full decoder on b: same Route (same key order) or same error. */
function agree(decoder, b) {
  const want = full(b);
  let got;
  try {
    got = { route: decoder.decode(view(b)) };
  } catch (e) {
    got = { error: e };
  }
  if (want.error) {
    assert.ok(got.error, `the full decoder refused (${want.error.message}) but the fast one returned ${JSON.stringify(got.route)}`);
    assert.equal(got.error.constructor, want.error.constructor);
    assert.equal(got.error.message, want.error.message);
    return undefined;
  }
  assert.ok(!got.error, `the fast decoder refused: ${got.error && got.error.message}`);
  assert.deepEqual(got.route, want.route);
  assert.equal(JSON.stringify(got.route), JSON.stringify(want.route), 'keys in the same order');
  assert.equal(Object.getPrototypeOf(got.route), Object.prototype, 'a plain object');
  return got.route;
}

describe('rtnl routes: RouteDecoder, the decoder of list() and get()', function () {
  it('equals the full decoder, keys in order, on every route the kernel sent in the fixtures', function () {
    const msgs = kernelRoutes();
    assert.ok(msgs.length > 20, `only ${msgs.length} captured routes`);
    const d = new route.RouteDecoder();
    for (const b of msgs) agree(d, b);
    // and parseRouteMessage, which list()'s callers and the monitor use, is the same decoder
    for (const b of msgs) assert.deepEqual(route.parseRouteMessage(view(b)), full(b).route);
  });

  it('every shape of gateway, device and metric, both families, default routes, numeric types', function () {
    const d = new route.RouteDecoder();
    const seen = new Set();
    for (const family of [4, 6]) {
      for (const dst of family === 4 ? ['default', '10.1.0.0/16', '10.1.2.3/32', '0.0.0.0/1'] : ['default', 'fd00:1::/64', '2001:db8::1/128', '::/1']) {
        for (const via of [undefined, family === 4 ? '10.0.0.1' : 'fe80::1']) {
          for (const dev of [undefined, 3]) {
            for (const metric of [undefined, 0, 1024, 0xffffffff]) {
              for (const extra of [{}, { table: 1000 }, { type: 'blackhole' }, { type: 11 }, { tos: 8, onlink: true, scope: 253, flags: 0x14 }]) {
                const r = { family, dst, ...extra };
                if (via !== undefined) r.via = via;
                if (dev !== undefined) r.dev = dev;
                if (metric !== undefined) r.metric = metric;
                const got = agree(d, message(r));
                seen.add(Object.keys(got).join(','));
              }
            }
          }
        }
      }
    }
    assert.ok(seen.size >= 8, `only ${seen.size} shapes: ${[...seen].join(' | ')}`);
  });

  it('the string caches never return the previous route\'s text: alternating gateways and prefixes', function () {
    const d = new route.RouteDecoder();
    const gws6 = ['fd00::1', 'fd00::2', '::', 'fd00::1', 'fe80::1:0:0:1', '::ffff:10.0.0.1'];
    const gws4 = ['10.0.0.1', '0.0.0.0', '10.0.0.2', '10.0.0.1'];
    for (let i = 0; i < 40; i++) {
      // agree() compares with a fresh full decoder, whose caches are empty
      agree(d, message({ family: 6, dst: `fd00:${i}::/64`, via: gws6[i % gws6.length], dev: 2, metric: 1024 }));
      const v4 = agree(d, message({ family: 4, dst: `10.${i & 3}.${i}.0/${16 + (i % 9)}`, via: gws4[i % gws4.length], dev: 2 }));
      assert.equal(v4.via, gws4[i % gws4.length]);
    }
  });

  it('hands everything else to the full decoder: preferred source, metrics, RTA_VIA, multipath, nhid, unknown attributes', function () {
    const d = new route.RouteDecoder();
    const rare = [
      { family: 4, dst: '10.1.0.0/16', via: '10.0.0.1', dev: 3, prefsrc: '10.0.0.9' },
      { family: 4, dst: '10.1.0.0/16', via: '10.0.0.1', dev: 3, mtu: 1400, advmss: 1360 },
      { family: 4, dst: '10.1.0.0/16', via: 'fe80::1', dev: 3 },
      { family: 4, dst: '10.1.0.0/16', nexthops: [{ via: '10.0.0.1', dev: 3, weight: 1, onlink: false, flags: 0 }, { via: '10.0.0.2', dev: 4, weight: 2, onlink: true, flags: 4 }] },
      { family: 6, dst: 'fd00::/64', nhid: 7 },
    ];
    for (const r of rare) {
      const got = agree(d, message(r));
      for (const k of Object.keys(r)) if (k !== 'nexthops') assert.notEqual(got[k], undefined, `${k} of ${JSON.stringify(r)}`);
    }
    // an attribute the table does not name (RTA_MARK, 16) appended: kept on unknown
    const b = message({ family: 4, dst: '10.1.0.0/16', via: '10.0.0.1', dev: 3 });
    const withMark = Buffer.concat([b, Buffer.from([8, 0, 16, 0, 1, 0, 0, 0])]);
    withMark.writeUInt32LE(withMark.length, 0);
    assert.equal(agree(d, withMark).unknown.length, 1);
  });

  it('malformed messages fail as in the full decoder (the fast path never throws its own errors)', function () {
    const d = new route.RouteDecoder();
    const b = message({ family: 6, dst: 'fd00:1::/64', via: 'fd00::1', dev: 3, metric: 1024 });
    let failures = 0;
    // every truncation, and every byte of the message set to a few telling values
    for (let end = 16; end < b.length; end++) {
      const t = Buffer.from(b.subarray(0, end));
      t.writeUInt32LE(end, 0);
      if (agree(d, t) === undefined) failures++;
    }
    for (let i = 16; i < b.length; i++) {
      for (const v of [0, 1, 3, 4, 0x7f, 0xff]) {
        const t = Buffer.from(b);
        t[i] = v;
        if (agree(d, t) === undefined) failures++;
      }
    }
    assert.ok(failures > 20, `only ${failures} malformed cases refused`);
  });
});
