'use strict';
// Specs under misuse and hostile input (issues 16 and 17): only own properties are fields, the
// words users bring from iproute2 and pyroute2 get "did you mean", families are accepted as
// users write them, and no value (BigInt, NaN, Infinity, cycles) escapes as anything but a
// ValidationError naming the field and the value. Every case runs on a stand-in socket:
// nothing may be sent for a refused spec.
const assert = require('node:assert/strict');
const rtnl = require('../../dist/rtnl');
const { fakeContext } = require('../support/golden');

/** Runs fn against a kind on a stand-in socket; returns the ValidationError it threw (and that nothing was sent). */
async function refused(make, fn) {
  const { fake, socket, ctx } = fakeContext();
  try {
    await assert.rejects(() => fn(make(ctx)), (e) => e instanceof rtnl.ValidationError && e.code === 'ERR_NETLINK_INVALID');
    let err;
    try {
      await fn(make(ctx));
    } catch (e) {
      err = e;
    }
    assert.equal(fake.sent.length, 0, 'nothing is sent for a refused spec');
    return err;
  } finally {
    socket.close();
  }
}
const kinds = {
  routes: (ctx) => new rtnl.Routes(ctx),
  links: (ctx) => new rtnl.Links(ctx),
  addresses: (ctx) => new rtnl.Addresses(ctx),
  neighbors: (ctx) => new rtnl.Neighbors(ctx),
  fdb: (ctx) => new rtnl.Fdb(ctx),
};
const problem = (e, path) => e.problems.find((p) => p.path === path);

describe('rtnl hardening: specs are plain data, read as given', function () {
  it('inherited fields are never read: a __proto__ from JSON through Object.assign is refused, not applied', async function () {
    const spec = Object.assign({}, JSON.parse('{"__proto__":{"dev":"veth0","ip":"10.0.0.1","lladdr":"02:00:00:00:00:01"}}'));
    const e = await refused(kinds.neighbors, (n) => n.add(spec));
    assert.match(problem(e, 'dev').message, /inherited|required/);
    const fdb = Object.assign({}, JSON.parse('{"__proto__":{"permanent":false}}'), { dev: 'vxlan0', mac: '00:00:00:00:00:00' });
    const e2 = await refused(kinds.fdb, (f) => f.add(fdb));
    assert.match(problem(e2, 'permanent').message, /inherited/);
  });

  it('BigInt, NaN, Infinity and cyclic values are ValidationErrors naming the field and the value as given', async function () {
    const cyc = { a: 1 };
    cyc.self = cyc;
    let e = await refused(kinds.fdb, (f) => f.add({ dev: 'vxlan0', mac: '00:00:00:00:00:00', vni: 100n, port: NaN, vlan: Infinity }));
    assert.match(problem(e, 'vni').message, /100n/);
    assert.match(problem(e, 'port').message, /NaN/);
    assert.match(problem(e, 'vlan').message, /Infinity/);
    e = await refused(kinds.neighbors, (n) => n.add({ dev: 7n, ip: cyc, lladdr: 1n }));
    assert.match(problem(e, 'dev').message, /7n/);
    assert.match(problem(e, 'ip').message, /cycle/);
    assert.match(problem(e, 'lladdr').message, /1n/);
    e = await refused(kinds.addresses, (a) => a.add({ dev: 'eth0', address: '10.0.0.1/24', scope: 5n, label: cyc }));
    assert.match(problem(e, 'scope').message, /5n/);
    assert.ok(problem(e, 'label'));
    // Monitor options too (validated before any socket is opened).
    const cycGroups = ['link'];
    cycGroups.push(cycGroups);
    assert.throws(() => new rtnl.Monitor({}, { groups: [1n], receiveBufferBytes: 4096n }), (e) => e instanceof rtnl.ValidationError && /1n/.test(e.message) && /4096n/.test(e.message));
    assert.throws(() => new rtnl.Monitor({}, { groups: cycGroups }), (e) => e instanceof rtnl.ValidationError && /groups\[1\]/.test(e.message));
    assert.throws(() => new rtnl.Monitor({}, Object.assign({}, JSON.parse('{"__proto__":{"groups":["link"]}}'))), rtnl.ValidationError);
    for (const [kind, filter] of [['addresses', { dev: 1n }], ['neighbors', { family: 4n }], ['fdb', { master: cyc }]]) {
      const err = await refused(kinds[kind], (k) => k.list(filter));
      assert.ok(err.problems.length > 0, kind);
    }
  });

  it('words from iproute2 and pyroute2 get "did you mean", from each kind\'s table', async function () {
    let e = await refused(kinds.neighbors, (n) => n.add({ dev: 'eth0', ip: '10.0.0.1', mac: '02:00:00:00:00:01' }));
    assert.match(problem(e, 'mac').message, /did you mean `lladdr`/);
    e = await refused(kinds.neighbors, (n) => n.add({ device: 'eth0', ip: '10.0.0.1', nud: 'permanent' }));
    assert.match(problem(e, 'device').message, /did you mean `dev`/);
    assert.match(problem(e, 'nud').message, /did you mean `state`/);
    e = await refused(kinds.fdb, (f) => f.add({ dev: 'vxlan0', lladdr: '00:00:00:00:00:00' }));
    assert.match(problem(e, 'lladdr').message, /did you mean `mac`/);
    e = await refused(kinds.addresses, (a) => a.add({ dev: 'eth0', local: '10.0.0.1/24', brd: '10.0.0.255' }));
    assert.match(problem(e, 'local').message, /did you mean `address`/);
    assert.match(problem(e, 'brd').message, /did you mean `broadcast`/);
  });

  it("list filters take the family as users write it: 'inet', 'inet6', AF_INET 2, AF_INET6 10, 4, 6", async function () {
    for (const [make, call] of [
      [kinds.addresses, (k, family) => k.list({ family })],
      [kinds.neighbors, (k, family) => k.list({ family })],
    ]) {
      for (const [family, af] of [['inet', 2], [2, 2], [4, 2], ['inet6', 10], [10, 10], [6, 10]]) {
        const { fake, socket, ctx } = fakeContext();
        fake.onSend = ([m], f) => f.reply([doneOf(m)]);
        try {
          await call(make(ctx), family);
          assert.equal(fake.sent[0].buf[fake.sent[0].payload], af, `family ${family}`);
        } finally {
          socket.close();
        }
      }
      const e = await refused(make, (k) => call(k, 'ipx'));
      assert.match(problem(e, 'filter.family').message, /not an address family/);
    }
  });
});

describe('rtnl hardening: links', function () {
  it('an inherited up/mtu (JSON __proto__ through Object.assign) is never read: the bridge spec is refused, nothing sent', async function () {
    const spec = Object.assign({}, JSON.parse('{"__proto__":{"up":true,"mtu":1000}}'), { kind: 'bridge', name: 'br0' });
    assert.equal(spec.up, true, 'the polluted spec does answer up (that is the attack)');
    const e = await refused(kinds.links, (l) => l.add(spec));
    assert.match(problem(e, 'up').message, /inherited/);
    assert.match(problem(e, 'mtu').message, /inherited/);
    const changes = Object.assign({}, JSON.parse('{"__proto__":{"mtu":1000}}'));
    const e2 = await refused(kinds.links, (l) => l.set('veth0', changes));
    assert.match(problem(e2, 'mtu').message, /inherited/);
  });

  it("names the kernel would store otherwise are refused before sending: 'br%d' (a template), 'ab\\0cd' (cut at NUL), in every place a name is taken", async function () {
    for (const bad of ['br%d', 'ab\0cd', 'a/b', 'a:b', 'a b', '.', '..', '', 'x'.repeat(16)]) {
      const cases = [
        [(l) => l.add({ kind: 'bridge', name: bad }), 'name'],
        [(l) => l.add({ kind: 'veth', name: 'v0', peer: { name: bad } }), 'peer.name'],
        [(l) => l.add({ kind: 'bridge', name: 'br0', master: bad }), 'master'],
        [(l) => l.add({ kind: 'vxlan', name: 'vx0', vni: 1, dev: bad }), 'dev'],
        [(l) => l.add({ kind: 'macvlan', name: 'mv0', dev: bad }), 'dev'],
        [(l) => l.set('veth0', { name: bad }), 'name'],
        [(l) => l.set('veth0', { master: bad }), 'master'],
        [(l) => l.set(bad, { up: true }), 'device'],
        [(l) => l.del(bad), 'device'],
        [(l) => l.list({ name: bad }), 'name'],
      ];
      for (const [call, path] of cases) {
        const e = await refused(kinds.links, call);
        assert.ok(problem(e, path), `${JSON.stringify(bad)} at ${path}: ${e.message}`);
      }
    }
    const e = await refused(kinds.links, (l) => l.add({ kind: 'bridge', name: 'br%d' }));
    assert.match(problem(e, 'name').message, /template/);
    const e2 = await refused(kinds.links, (l) => l.add({ kind: 'bridge', name: 'ab\0cd' }));
    assert.match(problem(e2, 'name').message, /NUL/);
  });

  it('BigInt, NaN, Infinity and cycles in a link spec are ValidationErrors naming the field and the value', async function () {
    const cyc = {};
    cyc.me = cyc;
    const e = await refused(kinds.links, (l) => l.add({ kind: 'vxlan', name: 'vx0', vni: 100n, mtu: NaN, port: Infinity, local: cyc, srcPortRange: [1n, 2] }));
    assert.match(problem(e, 'vni').message, /100n/);
    assert.match(problem(e, 'mtu').message, /NaN/);
    assert.match(problem(e, 'port').message, /Infinity/);
    assert.match(problem(e, 'local').message, /cycle/);
    assert.match(problem(e, 'srcPortRange[0]').message, /1n/);
    const e2 = await refused(kinds.links, (l) => l.set('veth0', { mtu: 1500n, txqueuelen: -Infinity }));
    assert.match(problem(e2, 'mtu').message, /1500n/);
    const e3 = await refused(kinds.links, (l) => l.add({ kind: 7n, name: cyc }));
    assert.match(problem(e3, 'kind').message, /7n/);
  });

  it('link words from iproute2 and pyroute2 get "did you mean", common and per kind', async function () {
    const e = await refused(kinds.links, (l) => l.add({ kind: 'vxlan', name: 'vx0', id: 100, dstport: 4789, mac: '02:00:00:00:00:01', txqlen: 5 }));
    assert.match(problem(e, 'id').message, /did you mean `vni`/);
    assert.match(problem(e, 'dstport').message, /did you mean `port`/);
    assert.match(problem(e, 'mac').message, /did you mean `address`/);
    assert.match(problem(e, 'txqlen').message, /did you mean `txqueuelen`/);
    const e2 = await refused(kinds.links, (l) => l.add({ kind: 'macvlan', name: 'mv0', link: 'eth0' }));
    assert.match(problem(e2, 'link').message, /did you mean `dev`/);
    const e3 = await refused(kinds.links, (l) => l.add({ kind: 'bridge', name: 'br0', stp_state: true }));
    assert.match(problem(e3, 'stp_state').message, /did you mean `stp`/);
  });
});

describe('rtnl hardening: routes', function () {
  it('inherited fields are never read: a JSON __proto__ through Object.assign, Object.create, a polluted Object.prototype', async function () {
    const polluted = Object.assign({}, JSON.parse('{"__proto__":{"dev":"eth9","metric":7}}'), { dst: '10.0.0.0/24', via: '10.57.0.2' });
    let e = await refused(kinds.routes, (r) => r.add(polluted));
    assert.match(problem(e, 'route.dev').message, /inherited/);
    assert.match(problem(e, 'route.metric').message, /inherited/);
    e = await refused(kinds.routes, (r) => r.addMany([{ dst: '10.0.1.0/24', dev: 'eth0' }, Object.create({ dst: '10.0.2.0/24', dev: 'eth0' })]));
    assert.match(problem(e, 'routes[1].dst').message, /inherited/);
    assert.equal(problem(e, 'routes[0].dst'), undefined, 'a plain spec in the same batch is fine');
    e = await refused(kinds.routes, (r) => r.add({ dst: '10.0.0.0/24', nexthops: [Object.create({ via: '10.57.0.2' })] }));
    assert.match(problem(e, 'route.nexthops[0].via').message, /inherited/);
    // A polluted Object.prototype reaches every object's for-in: it must not reach a route.
    Object.prototype.metric = 99; // eslint-disable-line no-extend-native
    try {
      e = await refused(kinds.routes, (r) => r.addMany([{ dst: '10.0.3.0/24', dev: 'eth0' }]));
      assert.match(problem(e, 'routes[0].metric').message, /inherited/);
    } finally {
      delete Object.prototype.metric;
    }
  });

  it('BigInt, NaN, Infinity and cycles in a route spec are ValidationErrors naming the field and the value', async function () {
    const cyc = [];
    cyc.push(cyc);
    const e = await refused(kinds.routes, (r) => r.add({ dst: '10.0.0.0/24', dev: 'eth0', metric: 5n, table: NaN, tos: Infinity, mtu: -Infinity, prefsrc: cyc }));
    assert.match(problem(e, 'route.metric').message, /5n/);
    assert.match(problem(e, 'route.table').message, /NaN/);
    assert.match(problem(e, 'route.tos').message, /Infinity/);
    assert.match(problem(e, 'route.mtu').message, /-Infinity/);
    assert.ok(problem(e, 'route.prefsrc'));
    const e2 = await refused(kinds.routes, (r) => r.addMany([{ dst: 10n, via: '10.0.0.1' }, { dst: '10.1.0.0/16', nexthops: [{ via: '10.0.0.1', weight: 2n }, { dev: cyc }] }]));
    assert.match(problem(e2, 'routes[0].dst').message, /10n/);
    assert.match(problem(e2, 'routes[1].nexthops[0].weight').message, /2n/);
    assert.ok(problem(e2, 'routes[1].nexthops[1].dev'));
    const e3 = await refused(kinds.routes, (r) => r.addMany([{ dst: '10.0.0.0/24', dev: 'eth0' }], { protocol: 77n }));
    assert.match(problem(e3, 'protocol').message, /77n/);
    const e4 = await refused(kinds.routes, (r) => r.list({ family: 4n, protocol: NaN }));
    assert.match(problem(e4, 'filter.family').message, /4n/);
  });

  it('words from iproute2 and pyroute2 on a route get "did you mean", from the route table', async function () {
    const e = await refused(kinds.routes, (r) =>
      r.add({ dst: '10.0.0.0/24', gateway: '10.57.0.2', oif: 'eth0', priority: 10, proto: 'static', src: '10.57.0.1', multipath: [] }),
    );
    for (const [word, meant] of [['gateway', 'via'], ['oif', 'dev'], ['priority', 'metric'], ['proto', 'protocol'], ['src', 'prefsrc'], ['multipath', 'nexthops']]) {
      assert.match(problem(e, `route.${word}`).message, new RegExp(`did you mean \`${meant}\``), word);
    }
    const e2 = await refused(kinds.routes, (r) => r.add({ to: '10.0.0.0/24', gw: '10.57.0.2', device: 'eth0', nexthops: undefined }));
    assert.match(problem(e2, 'route.to').message, /did you mean `dst`/);
    assert.match(problem(e2, 'route.gw').message, /did you mean `via`/);
    assert.match(problem(e2, 'route.device').message, /did you mean `dev`/);
    const e3 = await refused(kinds.routes, (r) => r.add({ dst: '10.0.0.0/24', nexthops: [{ via: '10.57.0.2', hops: 2 }] }));
    assert.match(problem(e3, 'route.nexthops[0].hops').message, /did you mean `weight`/);
  });

  it("a route's family and every route filter take 'inet'/'inet6', AF_INET 2 / AF_INET6 10 as well as 4/6", async function () {
    for (const [family, af] of [['inet', 2], [2, 2], [4, 2], ['inet6', 10], [10, 10], [6, 10]]) {
      const { fake, socket, ctx } = fakeContext();
      try {
        const routes = new rtnl.Routes(ctx);
        await routes.add({ dst: 'default', family, type: 'blackhole' });
        assert.equal(fake.sent[0].buf[fake.sent[0].payload], af, `spec family ${family}`);
        fake.onSend = ([m], f) => f.reply([doneOf(m)]);
        await routes.list({ family, table: 'all' });
        assert.equal(fake.sent[1].buf[fake.sent[1].payload], af, `filter family ${family}`);
      } finally {
        socket.close();
      }
    }
    const e = await refused(kinds.routes, (r) => r.add({ dst: 'default', family: 'ipx', type: 'blackhole' }));
    assert.match(problem(e, 'route.family').message, /not an address family/);
  });
});

/** An NLMSG_DONE answering request m. */
function doneOf(m) {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20, 0);
  b.writeUInt16LE(3, 4);
  b.writeUInt16LE(2, 6);
  b.writeUInt32LE(m.seq, 8);
  b.writeUInt32LE(m.pid, 12);
  return b;
}
