'use strict';
// The FDB, neighbour and route kinds' prepare remember what they made of a frozen spec (an
// overlay hands the same frozen specs for its unchanged nodes at every change): handed again,
// the spec is not checked, parsed or labelled again. Property: whatever the list (duplicates,
// one MAC to two remotes, flood entries, IPv6, invalid specs, another owner's protocol),
// preparing frozen specs a second time gives what preparing fresh unfrozen copies gives: the
// same problems, entries and key index.
const assert = require('node:assert/strict');
const { Problems } = require('../../dist/values/problems');
const { fdbKind } = require('../../dist/reconcile/kinds/fdb');
const { neighborKind } = require('../../dist/reconcile/kinds/neighbor');
const { routeKind } = require('../../dist/reconcile/kinds/route');
const { NexthopIds } = require('../../dist/reconcile/kinds/nexthop/ids');
const { seeded } = require('../support/random');

function prepare(given, kind = fdbKind, protocol = 77) {
  const p = new Problems();
  const ctx = { owner: { protocol, name: 'netlink-agent', alias: 'netlink-agent' }, references: [], links: { get: () => undefined }, nexthopIds: new NexthopIds() };
  const prepared = kind.prepare(p, given, ctx);
  return { prepared, problems: p.list, references: ctx.references };
}

/** What a prepared list says, for comparing: problems, entries, and the position each key finds. */
function view({ prepared, problems, references }) {
  const entries = prepared.list.map((e) => ({ id: e.id, label: e.label, dev: e.dev, spec: { ...e.spec } }));
  return { problems, references, entries, devs: [...prepared.devs] };
}

/** An FdbKeys without its scratch words (the key last written, a MAC parse buffer). */
function keyState(keys) {
  const index = (x) => Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'key'));
  return Object.fromEntries(Object.entries(keys).filter(([k]) => k !== 'mac').map(([k, v]) => [k, k === 'index' || k === 'unicast' ? index(v) : v]));
}

describe('reconcile: the FDB kind remembers frozen specs', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: frozen specs prepared again give what fresh copies give`, () => {
      const r = seeded(seed);
      const pick = (n) => Math.floor(r() * n);
      const mac = (i) => `0a:58:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`.replace('0a', pick(4) ? '0a' : '0A');
      const pool = [];
      for (let i = 0; i < 200; i++) {
        const kind = pick(10);
        let spec;
        if (kind < 5) spec = { dev: 'vx0', mac: mac(i % 150), dst: `10.57.${pick(3)}.${i % 200}` };
        else if (kind === 5) spec = { dev: 'vx0', mac: '00:00:00:00:00:00', dst: `10.57.9.${pick(20)}` };
        else if (kind === 6) spec = { dev: pick(2) ? 'vx0' : 'vx6', mac: mac(i), dst: `fd00::${pick(50).toString(16)}` };
        else if (kind === 7) spec = { dev: 'vx0', mac: mac(i), dst: '10.57.0.300' }; // invalid
        else if (kind === 8) spec = { dev: 'vx0', mac: mac(i), dst: `10.57.1.${pick(200)}`, permanent: false, vni: 1 + pick(5) };
        else spec = { dev: 'vx0', mac: mac(i) };
        pool.push(Object.freeze(spec));
      }
      let compared = 0;
      let problems = 0;
      for (let step = 0; step < 40; step++) {
        const list = Array.from({ length: 50 + pick(100) }, () => pool[pick(pool.length)]);
        const warm = view(prepare(list)); // frozen: remembered after the first sight of each spec
        const again = view(prepare(list));
        const fresh = view(prepare(list.map((s) => ({ ...s }))));
        assert.deepEqual(warm, fresh, `seed ${seed} step ${step}`);
        assert.deepEqual(again, fresh, `seed ${seed} step ${step}, again`);
        // The same key index, word for word (what the steady read and duplicates look up).
        const a = prepare(list).prepared;
        const b = prepare(list.map((s) => ({ ...s }))).prepared;
        assert.deepEqual(keyState(a.keys), keyState(b.keys), `seed ${seed} step ${step}: keys`);
        compared++;
        problems += fresh.problems.length;
      }
      assert.equal(compared, 40);
      assert.ok(problems > 20, `only ${problems} problems: the lists should clash`);
    });
  }
});

/** A NeighborKeys without its scratch (the key last written, a MAC parse buffer). */
function neighborKeyState(keys) {
  const { key: _key, ...index } = keys.index;
  const { mac: _mac, index: _index, ...rest } = keys;
  return { ...rest, index };
}

describe('reconcile: the neighbour kind remembers frozen specs', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: frozen specs prepared again give what fresh copies give`, () => {
      const r = seeded(seed);
      const pick = (n) => Math.floor(r() * n);
      const mac = (i) => `0a:58:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
      const pool = [];
      for (let i = 0; i < 200; i++) {
        const kind = pick(8);
        let spec;
        if (kind < 3) spec = { dev: 'vx0', ip: `10.244.${pick(2)}.${i % 120}`, lladdr: mac(i) }; // the overlay's shape (duplicate ips)
        else if (kind === 3) spec = { dev: pick(2) ? 'vx0' : 'vx6', ip: `fd00::${pick(60).toString(16)}`, lladdr: mac(i).toUpperCase() };
        else if (kind === 4) spec = { dev: 'vx0', ip: `10.244.3.${pick(40)}`, state: pick(2) ? 'reachable' : 'noarp' };
        else if (kind === 5) spec = { dev: 7, ip: `10.244.4.${pick(30)}`, lladdr: mac(i) }; // an ifindex, not a name
        else if (kind === 6) spec = { dev: 'vx0', ip: '10.244.0.300', lladdr: mac(i) }; // invalid
        else spec = { dev: 'vx0', ip: `10.244.5.${pick(50)}`, lladdr: 'zz:58:00:00:00:01' }; // invalid MAC
        pool.push(Object.freeze(spec));
      }
      let problems = 0;
      for (let step = 0; step < 40; step++) {
        const list = Array.from({ length: 50 + pick(100) }, () => pool[pick(pool.length)]);
        const copies = () => list.map((x) => ({ ...x }));
        const warm = prepare(list, neighborKind); // remembered after the first sight of each spec
        const again = prepare(list, neighborKind);
        const fresh = prepare(copies(), neighborKind);
        assert.deepEqual(view(warm), view(fresh), `seed ${seed} step ${step}`);
        assert.deepEqual(view(again), view(fresh), `seed ${seed} step ${step}, again`);
        assert.deepEqual(neighborKeyState(again.prepared.keys), neighborKeyState(fresh.prepared.keys), `seed ${seed} step ${step}: keys`);
        // A remembered entry is the same object: nothing made again for an unchanged spec.
        for (let k = 0; k < again.prepared.list.length; k++) assert.equal(again.prepared.list[k], warm.prepared.list[k]);
        problems += fresh.problems.length;
      }
      assert.ok(problems > 20, `only ${problems} problems: the lists should clash`);
    });
  }
});

describe('reconcile: the route kind remembers frozen specs', () => {
  /** What a prepared route list says: problems, references, each route's fields, and where each key is. */
  function routeView({ prepared, problems, references }) {
    const routes = prepared.list.map((d) => ({ spec: { ...d.spec }, family: d.family, dst: d.dst, table: d.table, tos: d.tos, metric: d.metric, devs: d.devs, simple: d.simple, gateway: d.gateway, gw4: d.gw4, onlink: d.onlink }));
    const found = prepared.list.map((d) => prepared.index.find(d.table, d.family, d.dst, d.tos, d.metric));
    return { problems, references, routes, found };
  }
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: frozen specs prepared again give what fresh copies give, for either owner`, () => {
      const r = seeded(seed);
      const pick = (n) => Math.floor(r() * n);
      const pool = [];
      for (let i = 0; i < 200; i++) {
        const kind = pick(8);
        let spec;
        if (kind < 3) spec = { dst: `10.${100 + pick(2)}.${i % 90}.0/24`, via: `10.244.${pick(3)}.1`, dev: 'vx0', onlink: true }; // the overlay's shape
        else if (kind === 3) spec = { dst: `fd10:${pick(40).toString(16)}::/64`, via: 'fe80::1', dev: pick(2) ? 'vx6' : 'vx0' };
        else if (kind === 4) spec = { dst: `10.120.${pick(30)}.0/24`, via: '10.244.0.1', dev: 'vx0', protocol: pick(2) ? 77 : 99 }; // one owner's protocol
        else if (kind === 5) spec = { dst: `10.121.${pick(30)}.0/24`, via: '10.244.0.1', dev: 'vx0', metric: 100 }; // the general path
        else if (kind === 6) spec = { dst: `10.122.${pick(30)}.1/24`, via: '10.244.0.1', dev: 'vx0' }; // host bits: invalid
        else spec = { dst: `10.123.${pick(30)}.0/24`, via: 'fe80::1', dev: 'vx0' }; // a gateway of the other family: invalid
        pool.push(Object.freeze(spec));
      }
      let problems = 0;
      for (let step = 0; step < 40; step++) {
        const list = Array.from({ length: 50 + pick(100) }, () => pool[pick(pool.length)]);
        const protocol = pick(3) ? 77 : 99; // two owners: what one remembered is not the other's
        const copies = () => list.map((x) => ({ ...x }));
        const warm = prepare(list, routeKind, protocol);
        const again = prepare(list, routeKind, protocol);
        const fresh = prepare(copies(), routeKind, protocol);
        assert.deepEqual(routeView(warm), routeView(fresh), `seed ${seed} step ${step}`);
        assert.deepEqual(routeView(again), routeView(fresh), `seed ${seed} step ${step}, again`);
        problems += fresh.problems.length;
      }
      assert.ok(problems > 20, `only ${problems} problems: the lists should clash`);
    });
  }
});
