'use strict';
// Nexthop objects against captured iproute2 bytes (test/fixtures/iproute2/nexthop-*.json,
// dump-nexthop*.json, route-add-nhid, dump-route-nhid, fdb-add-nhid; the commands that made
// them are in each fixture and in capture.sh): requests byte for byte, the kernel's replies
// decoded to what `ip nexthop` showed, and bad specs refused with nothing sent.
const assert = require('node:assert/strict');
const wire = require('../../../dist/wire');
const rtnl = require('../../../dist/rtnl');
const C = rtnl.constants;
const { fixture, masked, bytesOf, fakeContext, replayDump } = require('../../support/golden');

/** The bytes an encoder writes, with the nlmsg flags the fixture's request had (the socket adds REQUEST|ACK when it sends). */
function encoded(fx, k, encode) {
  const want = Buffer.from(fx.sent[k], 'hex');
  const w = new wire.MessageWriter();
  encode(w, want.readUInt16LE(6));
  return [masked(w.bytes()), masked(want)];
}

describe('rtnl: nexthop requests are byte for byte what `ip nexthop` sends', function () {
  // Single nexthops go through nexthops.add/replace/del on a stand-in socket (devices by index).
  const viaClass = [
    ['nexthop-add-onlink', (n, i) => n.add({ id: 1, via: '10.57.4.21', dev: i.veth0, onlink: true })],
    ['nexthop-add-proto', (n, i) => n.add({ id: 2, via: '10.57.4.22', dev: i.veth0, protocol: 77 })],
    ['nexthop-add-v6', (n, i) => n.add({ id: 4, via: 'fd00::2', dev: i.veth0 })],
    ['nexthop-add-blackhole', (n) => n.add({ id: 3, blackhole: true })],
    ['nexthop-add-dev', (n, i) => n.add({ id: 5, dev: i.veth0 })],
    ['nexthop-add-fdb', (n) => n.add({ id: 20, via: '10.57.4.21', fdb: true })],
    ['nexthop-replace', (n, i) => n.replace({ id: 1, via: '10.57.4.23', dev: i.veth0 })],
    ['nexthop-del', (n) => n.del(2)],
  ];
  for (const [name, run] of viaClass) {
    it(`${name}: ${fixture(name).command}`, async function () {
      const fx = fixture(name);
      const { fake, socket, ctx } = fakeContext();
      try {
        await run(new rtnl.Nexthops(ctx), fx.ifindex);
        assert.equal(fake.sent.length, fx.sent.length);
        fake.sent.forEach((m, k) => assert.equal(masked(bytesOf(m)), masked(Buffer.from(fx.sent[k], 'hex'))));
      } finally {
        socket.close();
      }
    });
  }

  // Groups are checked against the kernel before they are sent (their members are looked up),
  // so their bytes are compared at the encoder.
  const groups = [
    ['nexthop-add-group', { id: 10, group: [{ id: 1 }, { id: 2, weight: 5 }] }],
    ['nexthop-add-resilient', { id: 11, group: [{ id: 1 }, { id: 2 }], type: 'resilient', buckets: 8, idleTimer: 60, unbalancedTimer: 120 }],
    ['nexthop-add-fdb-group', { id: 21, group: [{ id: 20 }], fdb: true }],
  ];
  for (const [name, spec] of groups) {
    it(`${name}: ${fixture(name).command}`, function () {
      const [got, want] = encoded(fixture(name), 0, (w, flags) => rtnl.encodeNexthop(w, C.RTM_NEWNEXTHOP, flags, spec, 0));
      assert.equal(got, want);
    });
  }

  it('route-add-nhid and fdb-add-nhid: a route and a vxlan FDB entry on a nexthop object', function () {
    let fx = fixture('route-add-nhid');
    let [got, want] = encoded(fx, 0, (w, flags) => rtnl.encodeRoute(w, C.RTM_NEWROUTE, flags, { dst: '10.9.0.0/16', nhid: 10 }, () => 0));
    assert.equal(got, want);
    fx = fixture('fdb-add-nhid');
    [got, want] = encoded(fx, 0, (w, flags) => rtnl.encodeFdb(w, C.RTM_NEWNEIGH, flags, { dev: fx.ifindex.vxlan0, mac: '00:00:00:00:00:00', nhid: 21 }, fx.ifindex.vxlan0));
    assert.equal(got, want);
  });

  it('dump-nexthop*: list() sends the same filtered dump requests and decodes what the kernel sent', async function () {
    const cases = [
      ['dump-nexthop', {}],
      ['dump-nexthop-groups', { groups: true }],
      ['dump-nexthop-dev', { dev: 3 }],
      ['dump-nexthop-fdb', { fdb: true }],
    ];
    const lists = {};
    for (const [name, filter] of cases) {
      const fx = fixture(name);
      const { fake, socket, ctx } = fakeContext();
      try {
        replayDump(fake, fx, 0);
        lists[name] = await new rtnl.Nexthops(ctx).list(filter);
        assert.equal(masked(bytesOf(fake.sent[0])), masked(Buffer.from(fx.sent[0], 'hex')), name);
      } finally {
        socket.close();
      }
    }
    const byId = new Map(lists['dump-nexthop'].map((n) => [n.id, n]));
    assert.deepEqual([...byId.keys()].sort((a, b) => a - b), [1, 2, 3, 4, 10, 11, 20, 21]);
    const pick = (n, keys) => Object.fromEntries(keys.map((k) => [k, n[k]]));
    assert.deepEqual(pick(byId.get(1), ['kind', 'family', 'via', 'dev', 'onlink', 'protocol', 'fdb', 'blackhole']), { kind: 'single', family: 4, via: '10.57.4.21', dev: 3, onlink: true, protocol: 0, fdb: false, blackhole: false });
    assert.equal(byId.get(2).protocol, 77);
    assert.deepEqual(pick(byId.get(4), ['family', 'via', 'dev']), { family: 6, via: 'fd00::2', dev: 3 });
    assert.equal(byId.get(3).blackhole, true);
    assert.deepEqual(pick(byId.get(10), ['kind', 'group', 'type']), { kind: 'group', group: [{ id: 1, weight: 1 }, { id: 2, weight: 5 }], type: 'mpath' });
    assert.deepEqual(pick(byId.get(11), ['type', 'buckets', 'idleTimer', 'unbalancedTimer']), { type: 'resilient', buckets: 8, idleTimer: 60, unbalancedTimer: 120 });
    assert.deepEqual(pick(byId.get(20), ['fdb', 'via']), { fdb: true, via: '10.57.4.21' });
    assert.deepEqual(pick(byId.get(21), ['kind', 'fdb', 'group']), { kind: 'group', fdb: true, group: [{ id: 20, weight: 1 }] });
    assert.deepEqual(lists['dump-nexthop-groups'].map((n) => n.id).sort((a, b) => a - b), [10, 11, 21]);
    assert.deepEqual(lists['dump-nexthop-dev'].map((n) => n.id).sort((a, b) => a - b), [1, 2, 4]);
    assert.deepEqual(lists['dump-nexthop-fdb'].map((n) => n.id).sort((a, b) => a - b), [20, 21]);
  });

  it('dump-nexthop-bucket: buckets() sends the same request and reads every bucket of the resilient group', async function () {
    const fx = fixture('dump-nexthop-bucket');
    const { fake, socket, ctx } = fakeContext();
    try {
      replayDump(fake, fx, 0);
      const b = await new rtnl.Nexthops(ctx).buckets(11);
      assert.equal(masked(bytesOf(fake.sent[0])), masked(Buffer.from(fx.sent[0], 'hex')));
      assert.deepEqual(b.map((x) => x.index), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.ok(b.every((x) => x.group === 11 && (x.nexthop === 1 || x.nexthop === 2) && x.idleTime >= 0));
      assert.equal(b.filter((x) => x.nexthop === 1).length, 4, 'equal weights: half the buckets each');
    } finally {
      socket.close();
    }
  });

  it('dump-route-nhid: a route on a nexthop object reads back with nhid and the paths it resolves to', async function () {
    const fx = fixture('dump-route-nhid');
    const routes = [];
    for (const hex of fx.received) for (const m of wire.parseMessages(Buffer.from(hex, 'hex'))) if (m.type === C.RTM_NEWROUTE) routes.push(rtnl.parseRouteMessage(m));
    const group = routes.find((r) => r.dst === '10.9.0.0/16');
    assert.equal(group.nhid, 10);
    assert.deepEqual(group.nexthops.map((n) => [n.via, n.weight]), [['10.57.4.21', 1], ['10.57.4.22', 5]]);
    assert.equal(group.unknown, undefined, 'RTA_NH_ID is decoded, not left unknown');
    const single = routes.find((r) => r.dst === '10.8.0.0/16');
    assert.deepEqual([single.nhid, single.via, single.dev], [1, '10.57.4.21', 3]);
    // Deleting it as read back names only the nexthop object (the kernel refuses paths next to RTA_NH_ID).
    const w = new wire.MessageWriter();
    rtnl.encodeRoute(w, C.RTM_DELROUTE, 0, single, (x) => x);
    const { values } = require('../../../dist/rtnl/route/table').ROUTE_ATTRS.decode(w.bytes(), 16 + 12, w.bytes().length);
    assert.deepEqual([values.nhid, values.gateway, values.oif], [1, undefined, undefined]);
  });

  it('nexthop-get: the kernel reply to `ip nexthop get id 1` decodes', function () {
    const fx = fixture('nexthop-get');
    const msgs = wire.parseMessages(Buffer.from(fx.received[0], 'hex')).filter((m) => m.type === C.RTM_NEWNEXTHOP);
    assert.equal(msgs.length, 1);
    const n = rtnl.parseNexthopMessage(msgs[0]);
    assert.deepEqual([n.kind, n.id, n.via, n.onlink], ['single', 1, '10.57.4.21', true]);
  });

  it('bad specs are refused with a ValidationError naming the field, and nothing is sent', async function () {
    const { fake, socket, ctx } = fakeContext();
    try {
      const n = new rtnl.Nexthops(ctx);
      const r = new rtnl.Routes(ctx);
      const bad = [
        [() => n.add({ id: 0, via: '10.0.0.1', dev: 3 }), 'id', /^0 must be an integer in 1\.\.4294967295/],
        [() => n.add({ id: 2 ** 32, blackhole: true }), 'id', /^4294967296 must be/],
        [() => n.add({ id: 1, via: '10.0.0.1' }), 'dev', /^required unless blackhole or fdb/],
        [() => n.add({ id: 1, blackhole: true, via: '10.0.0.1' }), 'blackhole', /takes no via/],
        [() => n.add({ id: 1, fdb: true, via: '10.0.0.1', dev: 3 }), 'dev', /FDB nexthop takes no dev/],
        [() => n.add({ id: 1, via: '10.0.0.1', dev: 3, family: 6 }), 'family', /does not match via/],
        [() => n.add({ id: 1, via: '10.0.0.256', dev: 3 }), 'via', /not/],
        [() => n.add({ id: 1, gateway: '10.0.0.1', dev: 3 }), 'gateway', /did you mean `via`/],
        [() => n.add({ id: 10, group: [] }), 'group', /non-empty array/],
        [() => n.add({ id: 10, group: [{ id: 1 }, { id: 1 }] }), 'group[1].id', /a member twice/],
        [() => n.add({ id: 10, group: [{ id: 10 }] }), 'group[0].id', /the group itself/],
        [() => n.add({ id: 10, group: [{ id: 1, weight: 257 }] }), 'group[0].weight', /1\.\.256/],
        [() => n.add({ id: 10, group: [{ id: 1 }], buckets: 8 }), 'buckets', /only a resilient group/],
        [() => n.addMany([{ id: 1, dev: 3 }, { id: 0, dev: 3 }]), '[1].id', /must be an integer/],
        [() => n.del(0), 'id', /not a nexthop id/],
        [() => n.list({ proto: 77 }), 'filter.proto', /did you mean `protocol`/],
        [() => r.add({ dst: '10.9.0.0/16', nhid: 10, via: '10.0.0.1' }), 'route.nhid', /exclusive/],
        [() => r.add({ dst: '10.9.0.0/16', nhid: 10, dev: 3 }), 'route.nhid', /exclusive/],
        [() => r.add({ dst: '10.9.0.0/16', nhid: 0 }), 'route.nhid', /must be/],
        [() => r.add({ dst: '10.9.0.0/16', nhid: 1, type: 'blackhole' }), 'route.type', /takes no via, dev, onlink, nexthops or nhid/],
        [() => new rtnl.Fdb(ctx).add({ dev: 4, mac: '00:00:00:00:00:00', nhid: 21, dst: '10.0.0.1' }), 'nhid', /exclusive/],
      ];
      for (const [run, field, re] of bad) {
        await assert.rejects(run(), (e) => {
          assert.ok(e instanceof rtnl.ValidationError, String(e));
          assert.ok(e.problems.some((p) => p.path === field && re.test(p.message)), `${field}: ${e.message}`);
          return true;
        });
      }
      assert.equal(fake.sent.length, 0, 'no request reached the (stand-in) kernel');
    } finally {
      socket.close();
    }
  });

  it('parseNexthopMessage refuses malformed messages with NetlinkParseError', function () {
    const build = (fn) => {
      const w = new wire.MessageWriter();
      w.begin(C.RTM_NEWNEXTHOP, 0);
      fn(w);
      w.end();
      return wire.parseMessages(Buffer.from(w.bytes()))[0];
    };
    const cases = [
      build((w) => w.reserve(4)), // shorter than struct nhmsg
      build((w) => w.reserve(8)), // no NHA_ID
      build((w) => {
        w.reserve(8);
        w.u32(C.NHA_ID, 1);
        w.binary(C.NHA_GROUP, Buffer.alloc(6)); // not a whole nexthop_grp
      }),
      build((w) => {
        w.buf[w.reserve(8)] = C.AF_INET;
        w.u32(C.NHA_ID, 1);
        w.ip(C.NHA_GATEWAY, 'fd00::1'); // IPv6 gateway in an IPv4 nexthop
      }),
    ];
    for (const m of cases) assert.throws(() => rtnl.parseNexthopMessage(m), wire.NetlinkParseError);
  });
});
