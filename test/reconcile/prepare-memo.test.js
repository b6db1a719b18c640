'use strict';
// The FDB kind's prepare remembers what it made of a frozen spec (an overlay hands the same
// frozen specs for its unchanged nodes at every change): handed again, the spec is not checked,
// parsed or labelled again. Property: whatever the list (duplicates, one MAC to two remotes,
// flood entries, IPv6 remotes, invalid specs), preparing frozen specs a second time gives what
// preparing fresh unfrozen copies gives: the same problems, entries and key index.
const assert = require('node:assert/strict');
const { Problems } = require('../../dist/values/problems');
const { fdbKind } = require('../../dist/reconcile/kinds/fdb');
const { NexthopIds } = require('../../dist/reconcile/kinds/nexthop/ids');
const { seeded } = require('../support/random');

function prepare(given) {
  const p = new Problems();
  const ctx = { owner: { protocol: 77, name: 'netlink-agent', alias: 'netlink-agent' }, references: [], links: { get: () => undefined }, nexthopIds: new NexthopIds() };
  const prepared = fdbKind.prepare(p, given, ctx);
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
