'use strict';
// The FDB kind on FDB nexthop groups (issue 20, vxlan with nexthops): an entry names a desired
// FDB nexthop group by name ({ dev, mac, nexthop }) or by nhid; NDA_NH_ID is compared, so a
// no-op sends nothing and a changed nhid is repaired; a unicast MAC moving between a dst and an
// nhid is one recreate (the vxlan driver replaces neither with the other), converged in one
// apply. `bridge -j fdb` and `ip -j nexthop` are the oracle.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { namedNexthopCandidate } = require('../../dist/reconcile/kinds/nexthop/ids');
const { ValidationError } = require('../../dist/values/problems');
const { kernelDescribe, ip, ipJson } = require('../support/kernel');
const { reconcilerPerTest } = require('../support/reconciler');

const MAC = '0e:6e:0a:39:04:15';
const idOf = (name) => namedNexthopCandidate(77, 'netlink-agent', name, 0);
const fdb = (ns) => JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' })).filter((e) => e.mac === MAC);

const VXLAN = { kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, up: true };

/** host2's VTEP MAC on an FDB nexthop group via its node IP (as the vxlan mode makes it). */
function onGroup(via = '10.57.4.21', extra = {}) {
  return {
    links: [VXLAN],
    nexthops: [
      { name: 'vtep/host2', via, fdb: true },
      { name: 'vtep/host2/group', group: [{ nexthop: 'vtep/host2' }], fdb: true },
      ...(extra.nexthops ?? []),
    ],
    fdb: [{ dev: 'vxlan0', mac: MAC, nexthop: extra.entryOn ?? 'vtep/host2/group' }],
  };
}

const onDst = (dst = '10.57.4.21') => ({ links: [VXLAN], fdb: [{ dev: 'vxlan0', mac: MAC, dst }] });

kernelDescribe('reconcile: FDB entries on FDB nexthop groups', function () {
  const t = reconcilerPerTest('fdbnh');
  const ns = t.ns;

  it('converges: the entry carries the group\'s id (NDA_NH_ID, no dst); a second apply sends nothing', async function () {
    const res = await t.rec.apply(onGroup());
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    const [e] = fdb(ns());
    assert.equal(e.nhid, idOf('vtep/host2/group'), JSON.stringify(e));
    assert.equal(e.dst, undefined);
    assert.equal(e.state, 'permanent');
    // Nexthops go before the FDB entry that names them.
    const order = res.plan.ops.map((o) => `${o.action} ${o.kind}`).filter((x) => x !== 'create link');
    assert.deepEqual(order, ['create nexthop', 'create nexthop', 'create fdb']);
    const again = await t.rec.apply(onGroup());
    assert.ok(again.plan.empty, again.plan.text());
    assert.equal(again.requests, 0);
  });

  it('a node\'s new IP is one FDB nexthop replace; the entry keeps its nhid', async function () {
    await t.rec.apply(onGroup());
    const res = await t.rec.apply(onGroup('10.57.4.31'));
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}`), [`update nexthop vtep/host2 (id ${idOf('vtep/host2')})`]);
    assert.equal(res.requests, 1);
    assert.equal(ipJson(ns(), 'nexthop', 'show', 'id', String(idOf('vtep/host2')))[0].gateway, '10.57.4.31');
    assert.equal(fdb(ns())[0].nhid, idOf('vtep/host2/group'));
  });

  it('an nhid changed behind its back is repaired (replace), and an entry turned into a dst one is recreated: each in one apply', async function () {
    const other = { nexthops: [{ name: 'other', via: '10.57.4.99', fdb: true }, { name: 'other/group', group: [{ nexthop: 'other' }], fdb: true }] };
    await t.rec.apply(onGroup('10.57.4.21', other));
    execFileSync('bridge', ['-n', ns(), 'fdb', 'replace', MAC, 'dev', 'vxlan0', 'self', 'permanent', 'nhid', String(idOf('other/group'))]);
    let res = await t.rec.apply(onGroup('10.57.4.21', other));
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind}: ${o.reason}`), [`update fdb: nhid ${idOf('other/group')} -> ${idOf('vtep/host2/group')}`]);
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    assert.equal(fdb(ns())[0].nhid, idOf('vtep/host2/group'));

    execFileSync('bridge', ['-n', ns(), 'fdb', 'del', MAC, 'dev', 'vxlan0', 'self']);
    execFileSync('bridge', ['-n', ns(), 'fdb', 'add', MAC, 'dev', 'vxlan0', 'self', 'permanent', 'dst', '10.57.4.77']);
    res = await t.rec.apply(onGroup('10.57.4.21', other));
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind}: ${o.reason}`), [`recreate fdb: dst 10.57.4.77 -> nhid ${idOf('vtep/host2/group')}`]);
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    assert.deepEqual(fdb(ns()).map((e) => [e.nhid, e.dst]), [[idOf('vtep/host2/group'), undefined]]);
    assert.ok((await t.rec.plan(onGroup('10.57.4.21', other))).empty);
  });

  it('turning nexthops on and off for a unicast MAC: dst -> nhid -> dst, each converged in one apply, no churn after', async function () {
    await t.rec.apply(onDst());
    let res = await t.rec.apply(onGroup());
    assert.ok(res.converged, `${res.plan.text()} ${res.failed.map((f) => f.error.message)}`);
    assert.deepEqual(fdb(ns()).map((e) => [e.nhid, e.dst]), [[idOf('vtep/host2/group'), undefined]]);
    assert.ok((await t.rec.plan(onGroup())).empty);
    res = await t.rec.apply(onDst('10.57.4.21'));
    assert.ok(res.converged, `${res.plan.text()} ${res.failed.map((f) => f.error.message)}`);
    assert.deepEqual(fdb(ns()).map((e) => [e.nhid, e.dst]), [[undefined, '10.57.4.21']]);
    assert.deepEqual(ipJson(ns(), 'nexthop', 'show'), [], 'the FDB nexthops go when nothing names them');
    assert.ok((await t.rec.plan(onDst('10.57.4.21'))).empty);
    // A unicast MAC's dst moving (no nhid on either side) stays the kind's create-as-replace and delete.
    res = await t.rec.apply(onDst('10.57.4.41'));
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind}`), ['create fdb', 'delete fdb']);
    assert.ok(res.converged);
    assert.deepEqual(fdb(ns()).map((e) => e.dst), ['10.57.4.41']);
    assert.ok((await t.rec.plan(onDst('10.57.4.41'))).empty);
  });

  it('watch repairs the entry someone deleted, and the FDB group someone deleted (the kernel drops the entry with it)', async function () {
    const desired = onGroup();
    await t.rec.apply(desired);
    const converged = new Promise((resolve) => t.rec.once('converged', resolve));
    t.rec.watch(desired, { debounceMs: 20, resyncIntervalMs: 60_000 });
    await converged;
    const repaired = () =>
      new Promise((resolve) => {
        const on = (res) => {
          if (res.plan.ops.length && res.converged) {
            t.rec.off('applied', on);
            resolve(res);
          }
        };
        t.rec.on('applied', on);
      });
    let done = repaired();
    execFileSync('bridge', ['-n', ns(), 'fdb', 'del', MAC, 'dev', 'vxlan0', 'self']);
    let res = await done;
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind}`), ['create fdb']);
    assert.equal(fdb(ns())[0].nhid, idOf('vtep/host2/group'));
    done = repaired();
    ip(ns(), 'nexthop', 'del', 'id', String(idOf('vtep/host2/group')));
    res = await done;
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind}`), ['create nexthop', 'create fdb'], 'one cycle');
    assert.equal(fdb(ns())[0].nhid, idOf('vtep/host2/group'));
  });

  describe('bad input is one ValidationError naming the field, nothing sent', function () {
    const cases = [
      ['an unknown nexthop name', { links: [VXLAN], fdb: [{ dev: 'vxlan0', mac: MAC, nexthop: 'nope' }] }, 'fdb[0].nexthop'],
      ['a single FDB nexthop (not a group)', onGroup('10.57.4.21', { entryOn: 'vtep/host2' }), 'fdb[0].nexthop'],
      ['a group that is not fdb', { ...onGroup('10.57.4.21', { entryOn: 'g', nexthops: [{ name: 'n', via: '10.57.4.8', dev: 'eth0' }, { name: 'g', group: [{ nexthop: 'n' }] }] }) }, 'fdb[0].nexthop'],
      ['nexthop with dst', { ...onGroup(), fdb: [{ dev: 'vxlan0', mac: MAC, nexthop: 'vtep/host2/group', dst: '10.57.4.21' }] }, 'fdb[0].nexthop'],
      ['nexthop with master', { ...onGroup(), fdb: [{ dev: 'vxlan0', mac: MAC, nexthop: 'vtep/host2/group', master: true }] }, 'fdb[0].nexthop'],
    ];
    for (const [title, state, path] of cases) {
      it(title, async function () {
        const before = t.nl.modifyingRequests();
        await assert.rejects(t.rec.apply(state), (e) => e instanceof ValidationError && e.problems.some((p) => p.path === path) || assert.fail(`${e.name}: ${JSON.stringify(e.problems ?? e.message)}`));
        assert.equal(t.nl.modifyingRequests(), before);
      });
    }
  });
});

kernelDescribe('reconcile: a group member the kernel cannot replace (recreated) takes its group along in the same apply', function () {
  const t = reconcilerPerTest('nhmem');
  const ns = t.ns;

  it('members and their group becoming FDB nexthops (a recreate each: the kernel refuses to replace the flag): converged in one apply, groups deleted first', async function () {
    const plain = {
      nexthops: [
        { name: 'm', via: '10.57.4.8', dev: 'eth0' },
        { name: 'o', via: '10.57.4.9', dev: 'eth0' },
        { name: 'g', group: [{ nexthop: 'm' }, { nexthop: 'o' }] },
      ],
      routes: [{ dst: '10.244.0.0/16', nexthop: 'g' }],
    };
    assert.ok((await t.rec.apply(plain)).converged);
    const fdbState = {
      links: [VXLAN],
      nexthops: [
        { name: 'm', via: '10.57.4.8', fdb: true },
        { name: 'o', via: '10.57.4.9', fdb: true },
        { name: 'g', group: [{ nexthop: 'm' }, { nexthop: 'o' }], fdb: true },
      ],
      fdb: [{ dev: 'vxlan0', mac: MAC, nexthop: 'g' }],
    };
    const res = await t.rec.apply(fdbState);
    assert.ok(res.converged, `${res.plan.text()}\n${res.failed.map((f) => `${f.op.key}: ${f.error.message}`).join('\n')}`);
    assert.deepEqual(res.plan.ops.filter((o) => o.kind === 'nexthop').map((o) => o.action), ['recreate', 'recreate', 'recreate']);
    // The route on g went with it (the kernel removes it): no delete of it is sent.
    assert.ok(!res.plan.ops.some((o) => o.kind === 'route'), res.plan.text());
    assert.deepEqual(ipJson(ns(), 'route', 'show', 'proto', '77'), []);
    assert.deepEqual(fdb(ns()).map((e) => e.nhid), [idOf('g')]);
    assert.ok((await t.rec.plan(fdbState)).empty);
  });

  it('a member someone turned into an FDB nexthop is recreated, then its group (which the kernel shrank) replaced: the route on the group stays', async function () {
    // m's id is held by someone's FDB nexthop with our protocol: it must become a plain one again (recreate).
    const s = {
      nexthops: [
        { name: 'm', via: '10.57.4.8', dev: 'eth0' },
        { name: 'o', via: '10.57.4.9', dev: 'eth0' },
        { name: 'g', group: [{ nexthop: 'm' }, { nexthop: 'o' }] },
      ],
      routes: [{ dst: '10.244.0.0/16', nexthop: 'g' }],
    };
    assert.ok((await t.rec.apply(s)).converged);
    // Put an FDB nexthop on m's id (our protocol) and the group back as it was: only m differs now.
    ip(ns(), 'nexthop', 'del', 'id', String(idOf('m'))); // the kernel shrinks g to o
    ip(ns(), 'nexthop', 'add', 'id', String(idOf('m')), 'via', '10.57.4.8', 'fdb', 'proto', '77');
    const res = await t.rec.apply(s);
    assert.ok(res.converged, `${res.plan.text()}\n${res.failed.map((f) => `${f.op.key}: ${f.error.message}`).join('\n')}`);
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key.split(' ')[0]}`), ['recreate nexthop m', 'update nexthop g']);
    assert.deepEqual(ipJson(ns(), 'nexthop', 'show', 'id', String(idOf('g')))[0].group.map((m) => m.id).sort(), [idOf('m'), idOf('o')].sort());
    assert.equal(ipJson(ns(), 'route', 'show', '10.244.0.0/16')[0].nhid, idOf('g'));
    assert.ok((await t.rec.plan(s)).empty);
  });

  it('a member that becomes a blackhole waits for its group to shrink to it (the kernel allows a blackhole only alone): one apply', async function () {
    const two = { nexthops: [{ name: 'm', via: '10.57.4.8', dev: 'eth0' }, { name: 'o', via: '10.57.4.9', dev: 'eth0' }, { name: 'g', group: [{ nexthop: 'm' }, { nexthop: 'o' }] }] };
    assert.ok((await t.rec.apply(two)).converged);
    const alone = { nexthops: [{ name: 'm', blackhole: true }, { name: 'g', group: [{ nexthop: 'm' }] }] };
    const res = await t.rec.apply(alone);
    assert.ok(res.converged, `${res.plan.text()}\n${res.failed.map((f) => `${f.op.key}: ${f.error.message}`).join('\n')}`);
    assert.equal(ipJson(ns(), 'nexthop', 'show', 'id', String(idOf('m')))[0].blackhole, null);
    assert.deepEqual(ipJson(ns(), 'nexthop', 'show', 'id', String(idOf('g')))[0].group.map((m) => m.id), [idOf('m')]);
    assert.ok((await t.rec.plan(alone)).empty);
  });

  it('the only member of a group recreated: the group is recreated with it and the route on it re-added, all in one apply', async function () {
    const s = {
      nexthops: [
        { name: 'm', via: '10.57.4.8', dev: 'eth0' },
        { name: 'g', group: [{ nexthop: 'm' }] },
      ],
      routes: [{ dst: '10.244.0.0/16', nexthop: 'g' }],
    };
    assert.ok((await t.rec.apply(s)).converged);
    // Someone turns m into an FDB nexthop with our protocol and puts g back on it (the kernel allows an FDB group without routes).
    ip(ns(), 'nexthop', 'del', 'id', String(idOf('m'))); // g and its route go with its last member
    ip(ns(), 'nexthop', 'add', 'id', String(idOf('m')), 'via', '10.57.4.8', 'fdb', 'proto', '77');
    ip(ns(), 'nexthop', 'add', 'id', String(idOf('g')), 'group', String(idOf('m')), 'fdb', 'proto', '77');
    const res = await t.rec.apply(s);
    assert.ok(res.converged, `${res.plan.text()}\n${res.failed.map((f) => `${f.op.key}: ${f.error.message}`).join('\n')}`);
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key.split(' ')[0]}`), ['recreate nexthop m', 'recreate nexthop g', 'create route 10.244.0.0/16']);
    assert.equal(ipJson(ns(), 'route', 'show', '10.244.0.0/16')[0].nhid, idOf('g'));
    assert.ok((await t.rec.plan(s)).empty);
  });
});

kernelDescribe('reconcile: routes on blackhole nexthops', function () {
  const t = reconcilerPerTest('nhbh');
  const ns = t.ns;

  it('the kernel reports them as type blackhole: no churn (by id, by name, on a group of one); a blackhole route on a plain nexthop is still repaired', async function () {
    const s = {
      nexthops: [{ id: 42, blackhole: true }, { name: 'bh', blackhole: true }, { name: 'g', group: [{ nexthop: 'bh' }] }, { name: 'n', via: '10.57.4.8', dev: 'eth0' }],
      routes: [{ dst: '10.245.0.0/16', nhid: 42 }, { dst: '10.246.0.0/16', nexthop: 'bh' }, { dst: '10.247.0.0/16', nexthop: 'g' }, { dst: '10.248.0.0/16', nexthop: 'n' }],
    };
    assert.ok((await t.rec.apply(s)).converged);
    assert.deepEqual(ipJson(ns(), 'route', 'show', 'proto', '77').map((r) => [r.dst, r.type ?? 'unicast']), [
      ['10.245.0.0/16', 'blackhole'], ['10.246.0.0/16', 'blackhole'], ['10.247.0.0/16', 'blackhole'], ['10.248.0.0/16', 'unicast'],
    ]);
    const again = await t.rec.apply(s);
    assert.ok(again.plan.empty, again.plan.text());
    assert.equal(again.requests, 0);
    ip(ns(), 'route', 'replace', 'blackhole', '10.248.0.0/16', 'nhid', String(idOf('n')), 'proto', '77');
    const res = await t.rec.apply(s);
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}: ${o.reason}`), ['update route 10.248.0.0/16 table 254: type blackhole -> unicast']);
    assert.equal(ipJson(ns(), 'route', 'show', '10.248.0.0/16')[0].type ?? 'unicast', 'unicast');
  });
});
