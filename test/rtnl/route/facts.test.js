'use strict';
// RouteFacts: the numbers of a route message, read without a Route. Checked against the full
// decoder on what the kernel really sent (captured fixture), on mutated and cut messages, and
// through routes.scan() on crafted dump replies (filtering, clones, restarts).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const fc = require('fast-check');
const wire = require('../../../dist/wire');
const C = require('../../../dist/rtnl/constants');
const route = require('../../support/codec-modules').route;

const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'iproute2', 'dump-route-all.json');

/** The kernel's route messages of the fixture, each copied into a buffer of its own. */
function kernelMessages() {
  const f = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
  const out = [];
  for (const hex of f.received) {
    for (const m of wire.parseMessages(Buffer.from(hex, 'hex'))) {
      if (m.type === C.RTM_NEWROUTE) out.push(Buffer.from(m.buf.subarray(m.start, m.end)));
    }
  }
  return out;
}

const { routeView: view } = require('../../support/route-replies');

/** An IPv4 text address as the unsigned number RouteFacts uses. */
const v4num = (s) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

/** An IPv6 text address as the four signed big-endian words RouteFacts uses. */
function v6words(s) {
  const b = Buffer.alloc(16);
  assert.ok(wire.parseIPv6Into(s, b, 0), s);
  return [b.readInt32BE(0), b.readInt32BE(4), b.readInt32BE(8), b.readInt32BE(12)];
}

/** What the facts must say, derived from the full decoder's Route. */
function factsOf(r) {
  const [addr, len] = r.dst === 'default' ? ['', 0] : r.dst.split('/');
  const typeNum = typeof r.type === 'number' ? r.type : C[`RTN_${r.type.toUpperCase()}`];
  const v4gw = r.family === 4 && r.via !== undefined && r.nexthops === undefined && !r.via.includes(':');
  const v6gw = r.family === 6 && r.via !== undefined && r.nexthops === undefined;
  const d6 = r.family === 6 && addr ? v6words(addr) : [0, 0, 0, 0];
  const g6 = v6gw ? v6words(r.via) : [0, 0, 0, 0];
  return {
    family: r.family,
    dstLen: Number(len),
    dst4: r.family === 4 && addr ? v4num(addr) : 0,
    dst6: d6,
    hasGateway6: v6gw,
    gateway6: g6,
    table: r.table,
    protocol: r.protocol,
    scope: r.scope,
    type: typeNum,
    tos: r.tos,
    flags: r.flags,
    metric: r.metric ?? -1,
    oif: r.dev ?? 0,
    gateway4: v4gw ? v4num(r.via) : -1,
    complete: r.prefsrc === undefined && r.mtu === undefined && r.advmss === undefined && r.nexthops === undefined && (r.via === undefined || v4gw || v6gw),
  };
}

const FIELDS = ['family', 'dstLen', 'dst4', 'table', 'protocol', 'scope', 'type', 'tos', 'flags', 'metric', 'oif', 'gateway4', 'complete', 'hasGateway6'];
const pick = (f) => ({
  ...Object.fromEntries(FIELDS.map((k) => [k, f[k]])),
  dst6: [f.dst6a, f.dst6b, f.dst6c, f.dst6d],
  gateway6: [f.gateway6a, f.gateway6b, f.gateway6c, f.gateway6d],
});

describe('rtnl routes: RouteFacts', function () {
  before(function () {
    if (!fs.existsSync(FIXTURE)) this.skip();
  });

  it('reads every route the kernel sent (v4, v6, local, multipath, metrics, prefsrc, tables > 255) as the full decoder does', function () {
    const msgs = kernelMessages();
    const facts = new route.RouteFacts();
    let incomplete = 0;
    for (const b of msgs) {
      const r = route.parseRouteMessage(view(b));
      facts.read(view(b));
      assert.deepEqual(pick(facts), factsOf(r), JSON.stringify(r));
      assert.deepEqual(facts.route(), r);
      if (!facts.complete) incomplete++;
    }
    assert.ok(msgs.length >= 10, `${msgs.length} messages`);
    assert.ok(incomplete >= 3, 'the fixture has routes with prefsrc, metrics and nexthops');
  });

  it('mutated and cut messages: NetlinkParseError or facts that agree with the full decoder, never a crash or a wrong read', function () {
    const msgs = kernelMessages();
    const facts = new route.RouteFacts();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: msgs.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }), fc.nat(), (k, edits, cut) => {
        const b = Buffer.from(msgs[k]);
        for (const [pos, val] of edits) b[16 + (pos % (b.length - 16))] = val; // never the nlmsghdr
        const end = 16 + (cut % (b.length - 15));
        let ok = false;
        try {
          facts.read(view(b, end));
          ok = true;
        } catch (e) {
          if (!(e instanceof wire.NetlinkParseError)) throw e;
        }
        if (!ok || !facts.complete) return; // an incomplete read sends the caller to route(), which checks the rest
        // Complete facts are a promise: the full decoder accepts the message and agrees.
        const r = route.parseRouteMessage(view(b, end));
        if (typeof r.type === 'number' && r.type > C.RTN_XRESOLVE) return; // no name to compare with
        const want = factsOf(r);
        assert.deepEqual(pick(facts), want);
      }),
      { numRuns: 3000, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {}) },
    );
    assert.throws(() => facts.read(view(Buffer.alloc(24))), wire.NetlinkParseError);
  });

  it('route() outside a visit is an error, not a stale read', function () {
    assert.throws(() => new route.RouteFacts().route(), /outside of a visit/);
  });

  describe('routes.scan() on crafted dump replies', function () {
    const { sampleReplies, fakeRoutes, done } = require('../../support/route-replies');

    async function scanWith(filter, flagged, interruptFirst = false) {
      let dumps = 0;
      const { routes, socket } = fakeRoutes(([m], f) => {
        dumps++;
        const nl = wire.NLM_F_MULTI | (flagged ? wire.NLM_F_DUMP_FILTERED : 0) | (interruptFirst && dumps === 1 ? wire.NLM_F_DUMP_INTR : 0);
        f.reply([...sampleReplies(m, nl), done(m.seq, m.pid, nl)]);
      });
      const seen = [];
      let restarts = 0;
      try {
        const n = await routes.scan(
          filter,
          (f) => seen.push(`${f.dst4 >>> 24}.${(f.dst4 >>> 16) & 255}.0.0/${f.dstLen} t${f.table} p${f.protocol} s${f.scope} gw${f.gateway4}`),
          () => {
            restarts++;
            seen.length = 0;
          },
        );
        assert.equal(n, seen.length);
        return { seen, restarts, dumps };
      } finally {
        socket.close();
      }
    }

    const gw = v4num('10.0.0.1');
    it('hands over each route once, skipping clones; trusts NLM_F_DUMP_FILTERED, filters here otherwise', async function () {
      assert.deepEqual((await scanWith({ table: 1000, protocol: 200 }, true)).seen, [
        `10.1.0.0/16 t1000 p200 s0 gw${gw}`,
        `10.3.0.0/16 t2000 p200 s0 gw${gw}`,
        `10.4.0.0/16 t1000 p3 s0 gw${gw}`,
        '10.5.0.0/16 t1000 p200 s253 gw-1',
      ]);
      assert.deepEqual((await scanWith({ table: 1000, protocol: 200 }, false)).seen, [`10.1.0.0/16 t1000 p200 s0 gw${gw}`, '10.5.0.0/16 t1000 p200 s253 gw-1']);
      assert.deepEqual((await scanWith({ table: 'all', scope: 'link' }, true)).seen, ['10.5.0.0/16 t1000 p200 s253 gw-1']);
    });

    it('an interrupted dump starts over, calling onRestart, and counts only the dump that completed', async function () {
      const r = await scanWith({ table: 'all' }, true, true);
      assert.equal(r.dumps, 2);
      assert.equal(r.restarts, 1);
      assert.equal(r.seen.length, 4);
    });
  });
});
