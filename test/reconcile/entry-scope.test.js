'use strict';
// changedEntryKeys (engine/entry-scope.ts): the keys a new desired list touches, found by walking
// both lists by object identity. Property, over random edits (inserted, removed, replaced, moved
// and duplicated-elsewhere entries, long runs unchanged): every key whose desired entry changed,
// appeared or went is returned, nothing outside the two lists is, a list of only local edits
// gives exactly the changed keys, and each returned key's position in the new list is known.
const assert = require('node:assert/strict');
const { changedEntryKeys, positionOf } = require('../../dist/reconcile/engine/entry-scope');
const { preparedEntries } = require('../../dist/reconcile/engine/entries');
const { seeded } = require('../support/random');

const view = { index: (dev) => (dev === 'vx0' ? 7 : undefined) };
const entry = (spec) => ({ spec, dev: spec.dev, id: spec.ip, label: spec.ip });
const listOf = (specs) => preparedEntries(specs.map(entry));
const keyOf = (s) => `7 ${s.ip}`;

describe('reconcile: changedEntryKeys', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}: random edits of a 2,000-entry list give every changed key, and only keys of the two lists`, () => {
      const r = seeded(seed);
      const pick = (n) => Math.floor(r() * n);
      let k = 0;
      const spec = (ip) => Object.freeze({ dev: 'vx0', ip, lladdr: `0a:00:00:00:${((k >> 8) & 255).toString(16).padStart(2, '0')}:${(k++ & 255).toString(16).padStart(2, '0')}` });
      let specs = Array.from({ length: 2000 }, (_, i) => spec(`10.0.${i >> 8}.${i & 255}`));
      let prev = listOf(specs);
      let exact = 0;
      for (let step = 0; step < 60; step++) {
        const next = specs.slice();
        let moved = false;
        for (let e = 1 + pick(6); e > 0; e--) {
          const at = pick(next.length);
          const what = pick(5);
          if (what === 0) next.splice(at, 1); // removed
          else if (what === 1) next.splice(at, 0, spec(`10.1.${pick(256)}.${pick(256)}`)); // added
          else if (what === 2) next[at] = spec(next[at].ip); // changed (a new object on the key)
          else if (what === 3 && pick(3) === 0) {
            const [m] = next.splice(at, 1); // moved far
            next.splice(pick(next.length), 0, m);
            moved = true;
          }
        }
        // One key once: drop later duplicates of an address (prepare would refuse them).
        const seen = new Set();
        const clean = next.filter((s) => !seen.has(s.ip) && seen.add(s.ip));
        const nextList = listOf(clean);
        const got = changedEntryKeys(prev, nextList, view);
        assert.ok(got !== undefined, `seed ${seed} step ${step}`);
        const before = new Map(specs.map((s) => [keyOf(s), s]));
        const after = new Map(clean.map((s) => [keyOf(s), s]));
        const want = new Set();
        for (const [key, s] of after) if (before.get(key) !== s) want.add(key);
        for (const key of before.keys()) if (!after.has(key)) want.add(key);
        const gotSet = new Set(got);
        for (const key of want) assert.ok(gotSet.has(key), `seed ${seed} step ${step}: ${key} changed but is not returned`);
        for (const key of gotSet) assert.ok(before.has(key) || after.has(key), `seed ${seed} step ${step}: ${key} is in neither list`);
        if (!moved) {
          assert.deepEqual([...gotSet].sort(), [...want].sort(), `seed ${seed} step ${step}: local edits give exactly the changed keys`);
          exact++;
        }
        for (const key of gotSet) {
          const s = after.get(key);
          assert.equal(positionOf(nextList, key, view), s === undefined ? -1 : clean.indexOf(s), `seed ${seed} step ${step}: position of ${key}`);
        }
        specs = clean;
        prev = nextList;
      }
      assert.ok(exact > 20, `only ${exact} steps without a move`);
    });
  }

  it('says "cannot" for a spec that is not frozen, handed again', () => {
    const a = { dev: 'vx0', ip: '10.0.0.1' };
    const b = Object.freeze({ dev: 'vx0', ip: '10.0.0.2' });
    assert.equal(changedEntryKeys(listOf([a, b]), listOf([a, b]), view), undefined);
    assert.deepEqual(changedEntryKeys(listOf([b]), listOf([b, Object.freeze({ dev: 'vx0', ip: '10.0.0.3' })]), view), ['7 10.0.0.3']);
  });
});
