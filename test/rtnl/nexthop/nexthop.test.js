'use strict';
// Nexthop objects on the real kernel, in namespaces the tests create: what nexthops.* writes
// is what `ip -j nexthop` reads back (and the other way round), routes and vxlan FDB entries
// use them by id, and bad references are refused before anything is written.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const rtnl = require('../../../dist/rtnl');
const { kernelDescribe, netnsPerTest, ip, ipJson, slow } = require('../../support/kernel');

/** `ip -j nexthop ...` as the fields both sides have, by id. */
function oracle(ns, ...args) {
  const index = new Map(ipJson(ns, 'link').map((l) => [l.ifname, l.ifindex]));
  return ipJson(ns, 'nexthop', 'show', ...args)
    .map((n) => {
      const o = { id: n.id, protocol: n.protocol === undefined || n.protocol === 'unspec' ? 0 : Number(n.protocol), fdb: 'fdb' in n };
      if (n.group) {
        o.group = n.group.map((m) => ({ id: m.id, weight: m.weight ?? 1 }));
        o.type = n.type ?? 'mpath';
        if (n.resilient_args) Object.assign(o, { buckets: n.resilient_args.buckets, idleTimer: n.resilient_args.idle_timer, unbalancedTimer: n.resilient_args.unbalanced_timer });
      } else {
        if (n.gateway !== undefined) o.via = n.gateway;
        if (n.dev !== undefined) o.dev = index.get(n.dev);
        o.onlink = (n.flags || []).includes('onlink');
        o.blackhole = 'blackhole' in n;
      }
      return o;
    })
    .sort((a, b) => a.id - b.id);
}

/** The library's objects as the same fields. */
function mine(list) {
  return list
    .map((n) => {
      const o = { id: n.id, protocol: n.protocol, fdb: n.fdb };
      if (n.kind === 'group') {
        o.group = n.group;
        o.type = n.type;
        if (n.type === 'resilient') Object.assign(o, { buckets: n.buckets, idleTimer: n.idleTimer, unbalancedTimer: n.unbalancedTimer });
      } else {
        if (n.via !== undefined) o.via = n.via;
        if (n.dev !== undefined) o.dev = n.dev;
        o.onlink = n.onlink;
        o.blackhole = n.blackhole;
      }
      return o;
    })
    .sort((a, b) => a.id - b.id);
}

const SPECS = [
  { id: 1, via: '10.57.0.2', dev: 'veth0', onlink: true },
  { id: 2, via: '10.57.0.3', dev: 'veth0', protocol: 77 },
  { id: 3, blackhole: true },
  { id: 4, via: 'fd00::2', dev: 'veth0' },
  { id: 5, dev: 'veth0' },
  { id: 10, group: [{ id: 1 }, { id: 2, weight: 5 }] },
  { id: 11, group: [{ id: 1 }, { id: 2 }], type: 'resilient', buckets: 8, idleTimer: 60, unbalancedTimer: 120, protocol: 77 },
  { id: 20, via: '10.57.0.9', fdb: true },
  { id: 21, group: [{ id: 20 }], fdb: true },
];

kernelDescribe('rtnl: nexthop objects on the real kernel', function () {
  const ns = netnsPerTest('nh');
  let nl;
  beforeEach(async function () {
    for (const c of [
      'link add veth0 type veth peer name veth1',
      'link set lo up',
      'link set veth0 up',
      'link set veth1 up',
      'addr add 10.57.0.1/24 dev veth0',
      'addr add fd00::1/64 dev veth0 nodad',
    ]) {
      ip(ns(), ...c.split(' '));
    }
    nl = await rtnl.Rtnl.open({ netns: ns() });
  });
  afterEach(function () {
    if (nl) nl.close();
    nl = undefined;
  });

  it('addMany adds every kind (groups after their members, in one batch); list() and `ip -j nexthop` agree both ways', async function () {
    const r = await nl.nexthops.addMany(SPECS);
    assert.equal(r.failed, 0, String(r.errors.filter(Boolean)));
    assert.deepEqual(mine(await nl.nexthops.list()), oracle(ns()));
    // The other way: what ip made, we read.
    ip(ns(), 'nexthop', 'add', 'id', '30', 'via', '10.57.0.4', 'dev', 'veth0', 'proto', '150');
    ip(ns(), 'nexthop', 'add', 'id', '31', 'group', '30,7', 'type', 'resilient', 'buckets', '16');
    assert.deepEqual(mine(await nl.nexthops.list()), oracle(ns()));
    const g = await nl.nexthops.get(31);
    assert.deepEqual([g.kind, g.type, g.buckets, g.group], ['group', 'resilient', 16, [{ id: 30, weight: 7 }]]);
    const one = await nl.nexthops.get({ id: 1 });
    assert.deepEqual([one.kind, one.via, one.onlink, one.family], ['single', '10.57.0.2', true, 4]);
    await assert.rejects(nl.nexthops.get(999), { code: 'ENOENT' });
  });

  it('list() filters in the kernel by dev, groups, fdb and family, and by protocol here, as `ip nexthop show ...` does', async function () {
    assert.equal((await nl.nexthops.addMany(SPECS)).failed, 0);
    const ids = (l) => l.map((n) => n.id).sort((a, b) => a - b);
    assert.deepEqual(ids(await nl.nexthops.list({ dev: 'veth0' })), oracle(ns(), 'dev', 'veth0').map((n) => n.id));
    assert.deepEqual(ids(await nl.nexthops.list({ groups: true })), oracle(ns(), 'groups').map((n) => n.id));
    // `ip nexthop show fdb` on 6.18 lists every nexthop (the kernel's reply is not filtered):
    // list() applies the filter itself then, so the oracle is the full list's fdb ones.
    assert.deepEqual(ids(await nl.nexthops.list({ fdb: true })), oracle(ns()).filter((n) => n.fdb).map((n) => n.id));
    assert.deepEqual(ids(await nl.nexthops.list({ fdb: true })), [20, 21]);
    assert.deepEqual(ids(await nl.nexthops.list({ family: 6 })), ipJson(ns(), '-6', 'nexthop', 'show').map((n) => n.id));
    assert.deepEqual(ids(await nl.nexthops.list({ protocol: 77 })), oracle(ns(), 'protocol', '77').map((n) => n.id));
    assert.deepEqual(ids(await nl.nexthops.list({ dev: 'veth0' })), [1, 2, 4, 5]);
    assert.deepEqual(ids(await nl.nexthops.list({ protocol: 77 })), [2, 11]);
  });

  it("buckets() reads a resilient group's buckets as `ip -j nexthop bucket` does", async function () {
    assert.equal((await nl.nexthops.addMany(SPECS)).failed, 0);
    const b = await nl.nexthops.buckets(11);
    const o = ipJson(ns(), 'nexthop', 'bucket', 'show', 'id', '11').map((x) => [x.bucket.index, x.bucket.nhid]);
    assert.deepEqual(
      b.map((x) => [x.index, x.nexthop]),
      o.sort((a, c) => a[0] - c[0]),
    );
    assert.equal(b.length, 8);
    await assert.rejects(nl.nexthops.buckets(10), (e) => e.name === 'NetlinkError' && typeof e.errno === 'number');
  });

  it('routes on a nexthop object: add and list with nhid (checked by `ip -j route`), and one replace moves them all', async function () {
    assert.equal((await nl.nexthops.addMany(SPECS)).failed, 0);
    const routes = [];
    for (let i = 0; i < 20; i++) routes.push({ dst: `10.100.${i}.0/24`, nhid: 1, protocol: 77 });
    routes.push({ dst: '10.9.0.0/16', nhid: 10 }, { dst: 'fd09::/64', nhid: 4 });
    assert.equal((await nl.routes.addMany(routes)).failed, 0);
    const got = await nl.routes.list({ protocol: 77 });
    assert.equal(got.length, 20);
    assert.ok(got.every((r) => r.nhid === 1 && r.via === '10.57.0.2'));
    const oracleRoutes = ipJson(ns(), 'route', 'show', 'proto', '77');
    assert.ok(oracleRoutes.every((r) => r.nhid === 1 && r.gateway === '10.57.0.2'), JSON.stringify(oracleRoutes[0]));
    const grp = (await nl.routes.list()).find((r) => r.dst === '10.9.0.0/16');
    assert.deepEqual([grp.nhid, grp.nexthops.map((n) => n.via)], [10, ['10.57.0.2', '10.57.0.3']]);
    assert.equal((await nl.routes.list({ family: 6 })).find((r) => r.dst === 'fd09::/64').nhid, 4);
    // One replace of the nexthop: every route follows, none is written.
    const before = nl.modifyingRequests();
    await nl.nexthops.replace({ id: 1, via: '10.57.0.5', dev: 'veth0', onlink: true });
    assert.equal(nl.modifyingRequests() - before, 1);
    assert.ok(ipJson(ns(), 'route', 'show', 'proto', '77').every((r) => r.gateway === '10.57.0.5'));
    // A route read back is deleted by its nhid alone.
    await nl.routes.del(got[0]);
    assert.equal(ipJson(ns(), 'route', 'show', 'proto', '77').length, 19);
    // Deleting the nexthop takes its routes with it.
    await nl.nexthops.del(1);
    assert.equal(ipJson(ns(), 'route', 'show', 'proto', '77').length, 0);
    await assert.rejects(nl.nexthops.del(1), { code: 'ENOENT' });
  });

  it('replaceMany changes a group in place (its routes stay) and delMany removes in one batch', async function () {
    assert.equal((await nl.nexthops.addMany(SPECS)).failed, 0);
    await nl.routes.add({ dst: '10.9.0.0/16', nhid: 10 });
    const r = await nl.nexthops.replaceMany([{ id: 10, group: [{ id: 2 }] }]);
    assert.equal(r.failed, 0);
    assert.deepEqual((await nl.nexthops.get(10)).group, [{ id: 2, weight: 1 }]);
    assert.equal(ipJson(ns(), 'route', 'show', '10.9.0.0/16')[0].nhid, 10);
    const d = await nl.nexthops.delMany([21, { id: 20 }, 999]);
    assert.deepEqual(Array.from(d.errors, (e) => e?.code), [undefined, undefined, 'ENOENT']);
    assert.deepEqual(oracle(ns()).filter((n) => n.fdb), []);
  });

  it('vxlan FDB entries on an FDB nexthop group: fdb.add with nhid, read back by fdb.list and `bridge -j fdb`', async function () {
    assert.equal((await nl.nexthops.addMany(SPECS)).failed, 0);
    ip(ns(), 'link', 'add', 'vx1', 'type', 'vxlan', 'id', '10', 'dstport', '4789', 'local', '10.57.0.1', 'nolearning');
    await nl.fdb.add({ dev: 'vx1', mac: '00:00:00:00:00:00', nhid: 21 });
    const e = (await nl.fdb.list({ dev: 'vx1' })).find((x) => x.mac === '00:00:00:00:00:00');
    assert.equal(e.nhid, 21);
    const o = JSON.parse(execFileSync('bridge', ['-n', ns(), '-j', 'fdb', 'show', 'dev', 'vx1'], { encoding: 'utf8' }));
    assert.equal(o.find((x) => x.mac === '00:00:00:00:00:00').nhid, 21);
    await nl.fdb.del(e);
    assert.equal((await nl.fdb.list({ dev: 'vx1' })).filter((x) => x.nhid !== undefined).length, 0);
  });

  it('bad references are a ValidationError naming the field, looked up with reads only: nothing is written', async function () {
    assert.equal((await nl.nexthops.addMany(SPECS)).failed, 0);
    ip(ns(), 'link', 'add', 'vx1', 'type', 'vxlan', 'id', '10', 'dstport', '4789', 'local', '10.57.0.1', 'nolearning');
    const snapshot = () => [ip(ns(), '-j', 'nexthop'), ip(ns(), '-j', 'route'), execFileSync('bridge', ['-n', ns(), '-j', 'fdb', 'show'], { encoding: 'utf8' })];
    const before = snapshot();
    const sent = nl.modifyingRequests();
    const bad = [
      [() => nl.nexthops.add({ id: 0, via: '10.57.0.2', dev: 'veth0' }), 'id', /1\.\.4294967295/],
      [() => nl.nexthops.add({ id: 40, group: [{ id: 1 }, { id: 77 }] }), 'group[1].id', /no nexthop with id 77/],
      [() => nl.nexthops.add({ id: 40, group: [{ id: 10 }] }), 'group[0].id', /is a group: .*no group of groups/],
      [() => nl.nexthops.add({ id: 40, group: [{ id: 20 }] }), 'group[0].id', /is an FDB nexthop: its group needs fdb/],
      [() => nl.nexthops.add({ id: 40, group: [{ id: 1 }], fdb: true }), 'group[0].id', /not an FDB nexthop/],
      [() => nl.nexthops.add({ id: 40, group: [{ id: 1 }, { id: 3 }] }), 'group[1].id', /blackhole/],
      [() => nl.nexthops.addMany([{ id: 41, via: '10.57.0.7', dev: 'veth0' }, { id: 42, group: [{ id: 41 }, { id: 42 }] }]), '[1].group[1].id', /the group itself/],
      [() => nl.nexthops.addMany([{ id: 41, group: [{ id: 10 }] }]), '[0].group[0].id', /no group of groups/],
      [() => nl.routes.add({ dst: '10.9.0.0/16', nhid: 20 }), 'route.nhid', /FDB nexthop: only FDB entries/],
      [() => nl.routes.add({ dst: '10.9.0.0/16', nhid: 21 }), 'route.nhid', /FDB nexthop/],
      [() => nl.routes.addMany([{ dst: '10.9.0.0/16', nhid: 1 }, { dst: '10.8.0.0/16', nhid: 55 }]), 'routes[1].nhid', /no nexthop with id 55/],
      [() => nl.routes.add({ dst: '10.9.0.0/16', nhid: 1, dev: 'veth0' }), 'route.nhid', /exclusive/],
      [() => nl.fdb.add({ dev: 'veth0', mac: '00:00:00:00:00:00', nhid: 21 }), 'nhid', /only vxlan devices/],
      [() => nl.fdb.add({ dev: 'vx1', mac: '00:00:00:00:00:00', nhid: 20 }), 'nhid', /not an FDB nexthop group/],
      [() => nl.fdb.add({ dev: 'vx1', mac: '00:00:00:00:00:00', nhid: 10 }), 'nhid', /not an FDB nexthop group/],
    ];
    for (const [run, field, re] of bad) {
      await assert.rejects(run(), (e) => {
        assert.ok(e instanceof rtnl.ValidationError, String(e));
        assert.ok(
          e.problems.some((p) => p.path === field && re.test(p.message)),
          `${field} ${re}: ${e.message}`,
        );
        return true;
      });
    }
    assert.equal(nl.modifyingRequests() - sent, 0, 'no request that changes state was sent');
    assert.deepEqual(snapshot(), before);
  });

  it("monitor: 'nexthop' events for add, replace and del", async function () {
    const mon = nl.monitor({ groups: ['nexthop'] });
    const events = [];
    mon.on('nexthop', (e) => events.push([e.action, e.object.id, e.object.kind === 'single' ? e.object.via : undefined]));
    try {
      await nl.nexthops.add({ id: 1, via: '10.57.0.2', dev: 'veth0' });
      await nl.nexthops.replace({ id: 1, via: '10.57.0.3', dev: 'veth0' });
      await nl.nexthops.del(1);
      const deadline = Date.now() + 5000 * slow;
      while (events.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(events, [
        ['new', 1, '10.57.0.2'],
        ['new', 1, '10.57.0.3'],
        ['del', 1, '10.57.0.3'],
      ]);
    } finally {
      mon.close();
    }
  });
});
