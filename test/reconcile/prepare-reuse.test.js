'use strict';
// A kind's prepared list is handed back when a later desired state gives the very same frozen
// specs (engine/prepare.ts): a controller applying the same frozen state again, or an overlay
// change that leaves a kind alone, skips validating and indexing 10k unchanged specs. What must
// hold: handing back changes nothing a plan or an apply does. Proven three ways: the prepared
// objects themselves (what is handed back and what never is), a property test on MemoryKernel
// (no root: two reconcilers, one given frozen states, one unfrozen copies of the same states, with
// the same interference between steps, plan and apply the same ops, conflicts and kernel state),
// and the real kernel (a frozen state applied again repairs what someone deleted).
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { Rtnl, Reconciler, MemoryKernel, ValidationError } = require('../../dist');
const { prepareDesired, keepsSome } = require('../../dist/reconcile/engine/prepare');
const { checkReconcilerOptions } = require('../../dist/reconcile/engine/owner');
const { deepFreeze } = require('../../dist/values/plain');
const { seeded } = require('../support/random');
const { kernelDescribe, netnsPerTest } = require('../support/kernel');

const PROTO = 77;
const VX = { kind: 'vxlan', name: 'vx0', vni: 7, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, up: true };
const hex = (x) => (x & 255).toString(16).padStart(2, '0');
const mac = (i) => `0a:58:00:00:${hex(i >> 8)}:${hex(i)}`;
/** Node i's three specs, in variant v (v changes the MAC and the remote). */
const nodeSpecs = (i, v = 0) => ({
  route: { dst: `10.90.${i}.0/24`, via: `10.80.${i}.0`, dev: 'vx0', onlink: true },
  neighbor: { dev: 'vx0', ip: `10.80.${i}.0`, lladdr: mac(i + 256 * v) },
  fdb: { dev: 'vx0', mac: mac(i + 256 * v), dst: `10.57.4.${100 + ((i + v) % 100)}` },
});
const ADDRESS = Object.freeze({ dev: 'vx0', address: '10.90.0.0/32' });
const state = (links, nodes, extra = {}) => ({
  links,
  addresses: [ADDRESS],
  routes: nodes.map((n) => n.route),
  neighbors: nodes.map((n) => n.neighbor),
  fdb: nodes.map((n) => n.fdb),
  ...extra,
});
const kindOf = (prepared, name) => prepared.kinds.find((k) => k.kind.kind === name);

describe('reconcile: a prepared kind is handed back for the same frozen specs', function () {
  const { owner } = checkReconcilerOptions({ protocol: PROTO });
  const links = deepFreeze([{ ...VX }]);
  const nodes = Array.from({ length: 20 }, (_, i) => deepFreeze(nodeSpecs(i + 1)));

  it('the same frozen specs in new arrays: every kind handed back, with its references; one changed spec: that kind alone prepared again', function () {
    const a = prepareDesired(state(links, nodes), owner);
    assert.equal(keepsSome(a), true);
    const b = prepareDesired(state([...links], nodes.slice()), owner, a);
    for (const k of ['address', 'neighbor', 'fdb', 'route']) assert.equal(kindOf(b, k), kindOf(a, k), k);
    assert.deepEqual(b.references, a.references);
    // New frozen objects equal to the old (an overlay makes its device's spec anew each time):
    // links always, and a few specs of a list, compare by value.
    const renewed = nodes.map((n, i) => (i < 10 ? deepFreeze(structuredClone(n)) : n));
    const b2 = prepareDesired(state(deepFreeze([{ ...VX }]), renewed), owner, b);
    for (const k of ['address', 'neighbor', 'fdb', 'route']) assert.equal(kindOf(b2, k), kindOf(a, k), k);
    const many = Array.from({ length: 100 }, (_, i) => deepFreeze(nodeSpecs(i + 1)));
    const m1 = prepareDesired(state(links, many), owner);
    const m2 = prepareDesired(state(links, many.map((n) => deepFreeze(structuredClone(n)))), owner, m1);
    assert.notEqual(kindOf(m2, 'route'), kindOf(m1, 'route'), '100 new objects: prepared again rather than compared');
    const changed = nodes.slice();
    changed[5] = deepFreeze({ ...nodes[5], neighbor: { ...nodes[5].neighbor, lladdr: mac(999) } });
    const c = prepareDesired(state(links, changed), owner, b);
    assert.notEqual(kindOf(c, 'neighbor'), kindOf(b, 'neighbor'));
    for (const k of ['address', 'fdb', 'route']) assert.equal(kindOf(c, k), kindOf(b, k), k);
    // Order counts (positions are the prepared list's): two specs swapped are prepared again.
    const swapped = nodes.slice();
    [swapped[2], swapped[3]] = [swapped[3], swapped[2]];
    const d = prepareDesired(state(links, swapped), owner, b);
    for (const k of ['neighbor', 'fdb', 'route']) assert.notEqual(kindOf(d, k), kindOf(b, k), k);
    assert.equal(d.kinds.find((k) => k.kind.kind === 'route').count, 20);
  });

  it('never handed back: unfrozen specs (even frozen later), other links, links not frozen, another owner, nexthops desired, holes', function () {
    const loose = nodes.map((n) => ({ route: { ...n.route }, neighbor: { ...n.neighbor }, fdb: { ...n.fdb } }));
    const a = prepareDesired(state(links, loose), owner);
    assert.equal(keepsSome(a), true, 'the frozen address is kept');
    assert.equal(kindOf(prepareDesired(state(links, loose), owner, a), 'address'), kindOf(a, 'address'));
    // A spec not frozen when prepared, changed in place and then frozen, is prepared again.
    loose[0].neighbor.lladdr = mac(777);
    for (const n of loose) deepFreeze(n);
    const b = prepareDesired(state(links, loose), owner, a);
    assert.notEqual(kindOf(b, 'neighbor'), kindOf(a, 'neighbor'));
    const frozen = prepareDesired(state(links, nodes), owner);
    const k = (prev, s) => ['neighbor', 'fdb', 'route'].filter((x) => kindOf(prepareDesired(s, owner, prev), x) === kindOf(prev, x));
    assert.deepEqual(k(frozen, state(deepFreeze([{ ...VX, vni: 8 }]), nodes)), [], 'other links');
    assert.deepEqual(k(frozen, state([{ ...VX }], nodes)), [], 'links not frozen');
    const other = checkReconcilerOptions({ protocol: PROTO + 1 }).owner;
    assert.deepEqual(['neighbor', 'fdb', 'route'].filter((x) => kindOf(prepareDesired(state(links, nodes), other, frozen), x) === kindOf(frozen, x)), [], 'another owner');
    const nh = deepFreeze([{ name: 'gw', via: '10.57.4.1', dev: 'eth0' }]);
    assert.deepEqual(k(frozen, state(links, nodes, { nexthops: nh })), [], 'nexthops desired');
    const withNh = prepareDesired(state(links, nodes, { nexthops: nh }), owner);
    assert.equal(keepsSome(withNh), false, 'nothing is kept from a state with nexthops');
    const holes = state(links, nodes);
    holes.neighbors = holes.neighbors.slice();
    delete holes.neighbors[3];
    const h = prepareDesired(holes, owner);
    const h2 = prepareDesired(holes, owner, h);
    assert.notEqual(kindOf(h2, 'neighbor'), kindOf(h, 'neighbor'), 'a list with a hole');
  });

  it('a bad spec is reported every time: a state that failed is never a previous one', function () {
    const bad = state(links, [...nodes, nodes[0]]); // node 1's specs twice
    const good = prepareDesired(state(links, nodes), owner);
    for (let i = 0; i < 2; i++) {
      assert.throws(() => prepareDesired(bad, owner, good), (e) => e instanceof ValidationError && /already desired/.test(e.message));
    }
  });
});

describe('reconcile: handing back changes no plan and no apply (MemoryKernel, property)', function () {
  /** A MemoryKernel namespace with an underlay on eth0, and a reconciler on it. */
  async function host(kernel, name) {
    kernel.createNamespace(name);
    const nl = await Rtnl.open({ kernel, netns: name });
    await nl.links.set('lo', { up: true });
    await nl.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth0p' }, up: true });
    await nl.links.set('eth0p', { up: true });
    await nl.addresses.add({ dev: 'eth0', address: '10.57.4.20/24' });
    return { nl, rec: new Reconciler(nl, { protocol: PROTO }) };
  }
  /** The kernel state the reconciler manages, as text (entries and routes on vx0). */
  async function kernelText(nl) {
    const out = [];
    for (const n of await nl.neighbors.list({ dev: 'vx0' })) out.push(`neigh ${n.ip} ${n.lladdr} ${n.states.join('|')}`);
    for (const f of await nl.fdb.list({ dev: 'vx0' })) out.push(`fdb ${f.mac} ${f.dst ?? ''}`);
    for (const r of await nl.routes.list()) if (r.protocol === PROTO) out.push(`route ${r.dst} ${r.via ?? ''} ${r.dev}`);
    // (the kernel's IPv6 link-local address comes from a random MAC: not compared)
    for (const a of await nl.addresses.list({ dev: 'vx0' })) if (!a.address.startsWith('fe80:')) out.push(`addr ${a.address}`);
    return out.sort();
  }
  const opText = (o) => `${o.kind} ${o.action} ${o.key} ${o.reason}`;
  const conflictText = (c) => `${c.kind} ${c.key} ${c.reason}`;

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: frozen states and unfrozen copies of them, with the same interference, give the same plans, results and kernel`, async function () {
      const r = seeded(seed);
      const pick = (n) => Math.floor(r() * n);
      const kernel = new MemoryKernel();
      const frozenHost = await host(kernel, `nla-reuse-${process.pid}-f${seed}`);
      const looseHost = await host(kernel, `nla-reuse-${process.pid}-l${seed}`);
      const links = deepFreeze([{ ...VX }]);
      const pool = new Map(); // (node, variant) -> frozen specs: the same objects when drawn again
      const specsOf = (i, v) => {
        const k = `${i}/${v}`;
        if (!pool.has(k)) pool.set(k, deepFreeze(nodeSpecs(i, v)));
        return pool.get(k);
      };
      let nodes = Array.from({ length: 30 }, (_, i) => specsOf(i + 1, 0));
      let handedBack = 0;
      let ops = 0;
      try {
        for (let step = 0; step < 40; step++) {
          const what = pick(8);
          if (what === 0) nodes = nodes.filter((_, j) => j !== pick(nodes.length)); // a node leaves
          else if (what === 1) nodes = [...nodes, specsOf(31 + pick(20), pick(2))].filter((n, j, a) => a.findIndex((m) => m.route.dst === n.route.dst) === j); // one joins
          else if (what === 2) nodes = nodes.map((n, j) => (j === pick(nodes.length) ? specsOf(Number(n.route.dst.split('.')[2]), 1 + pick(2)) : n)); // one changes
          else if (what === 3) nodes = nodes.map((n) => (pick(10) === 0 ? deepFreeze(structuredClone(n)) : n)); // equal new objects
          // what >= 4: the same state again (new arrays, the same specs)
          const desired = state(links, nodes);
          // Someone else changes the kernel, in both namespaces alike.
          if (step > 0 && pick(3) === 0) {
            const victim = nodes[pick(nodes.length)];
            for (const h of [frozenHost, looseHost]) await h.nl.neighbors.del({ dev: 'vx0', ip: victim.neighbor.ip }).catch(() => undefined);
          }
          if (step > 0 && pick(4) === 0) {
            const victim = nodes[pick(nodes.length)];
            for (const h of [frozenHost, looseHost]) await h.nl.routes.del({ dst: victim.route.dst, protocol: PROTO }).catch(() => undefined);
          }
          const before = kindOf(frozenHost.rec.lastPrepared ?? { kinds: [] }, 'neighbor');
          const [fp, lp] = [await frozenHost.rec.plan(desired), await looseHost.rec.plan(structuredClone(desired))];
          assert.deepEqual(fp.ops.map(opText), lp.ops.map(opText), `step ${step}: plan ops`);
          assert.deepEqual(fp.conflicts.map(conflictText), lp.conflicts.map(conflictText), `step ${step}: plan conflicts`);
          const [fa, la] = [await frozenHost.rec.apply(desired), await looseHost.rec.apply(structuredClone(desired))];
          assert.deepEqual(fa.applied.map(opText), la.applied.map(opText), `step ${step}: applied`);
          assert.deepEqual(fa.failed.map((f) => opText(f.op)), la.failed.map((f) => opText(f.op)), `step ${step}: failed`);
          assert.deepEqual(await kernelText(frozenHost.nl), await kernelText(looseHost.nl), `step ${step}: kernel`);
          if (before !== undefined && kindOf(frozenHost.rec.lastPrepared, 'neighbor') === before) handedBack++;
          ops += fa.applied.length;
        }
      } finally {
        frozenHost.nl.close();
        looseHost.nl.close();
      }
      assert.ok(handedBack >= 10, `only ${handedBack} steps handed a prepared kind back`);
      assert.ok(ops >= 20, `only ${ops} ops applied: the steps should change things`);
    });
  }
});

kernelDescribe('reconcile: a frozen state applied again (real kernel)', function () {
  const ns = netnsPerTest('reuse');
  let nl;
  beforeEach(async function () {
    const ip = (...a) => execFileSync('ip', ['-n', ns(), ...a]);
    ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    ip('link', 'set', 'eth0', 'up');
    ip('link', 'set', 'eth0p', 'up');
    ip('addr', 'add', '10.57.4.20/24', 'dev', 'eth0');
    nl = await Rtnl.open({ netns: ns() });
  });
  afterEach(function () {
    nl?.close();
  });

  it('sends nothing when nothing changed, and puts back what someone deleted, with the prepared kinds handed back', async function () {
    const rec = new Reconciler(nl, { protocol: PROTO });
    const desired = deepFreeze(state([{ ...VX }], Array.from({ length: 50 }, (_, i) => nodeSpecs(i + 1))));
    const first = await rec.apply(desired);
    assert.deepEqual(first.failed, []);
    assert.ok(first.applied.length >= 151, `${first.applied.length} ops`);
    const kept = rec.lastPrepared;
    const again = await rec.apply(desired);
    assert.equal(again.requests, 0);
    assert.ok(again.plan.empty);
    assert.equal(kindOf(rec.lastPrepared, 'route'), kindOf(kept, 'route'), 'the routes were handed back');
    execFileSync('ip', ['-n', ns(), 'neigh', 'del', '10.80.7.0', 'dev', 'vx0']);
    execFileSync('ip', ['-n', ns(), 'route', 'del', '10.90.9.0/24']);
    execFileSync('bridge', ['-n', ns(), 'fdb', 'del', mac(11), 'dev', 'vx0', 'dst', '10.57.4.111']);
    const repair = await rec.apply(desired);
    assert.deepEqual(repair.applied.map((o) => `${o.kind} ${o.action} ${o.key}`).sort().map((t) => t.split(' ').slice(0, 2).join(' ')), ['fdb create', 'neighbor create', 'route create']);
    assert.equal(kindOf(rec.lastPrepared, 'neighbor'), kindOf(kept, 'neighbor'));
    const neigh = execFileSync('ip', ['-n', ns(), 'neigh', 'show', 'dev', 'vx0', 'to', '10.80.7.0'], { encoding: 'utf8' });
    assert.match(neigh, new RegExp(mac(7)));
    assert.match(execFileSync('ip', ['-n', ns(), 'route', 'show', '10.90.9.0/24'], { encoding: 'utf8' }), /via 10\.80\.9\.0/);
    assert.equal((await rec.apply(desired)).requests, 0);
  });
});
