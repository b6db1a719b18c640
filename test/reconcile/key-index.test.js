'use strict';
// WordKeyIndex (engine/key-index.ts): positions by a key of a few words, the keys kept once per
// position. Property against a Map of the same keys: whatever the width, however many more
// positions come than the index expected (its slots and its key store then grow), add() gives
// the position a key already has or takes the new one, and find() gives every key's position
// and -1 for a key never added.
const assert = require('node:assert/strict');
const { WordKeyIndex } = require('../../dist/reconcile/engine/key-index');
const { seeded } = require('../support/random');

describe('reconcile: WordKeyIndex', () => {
  for (const [seed, width, expected, adds] of [[1, 6, 100, 1000], [2, 8, 0, 3000], [3, 4, 5000, 5000], [4, 1, 10, 400]]) {
    it(`seed ${seed}: width ${width}, ${adds} adds into an index expecting ${expected}: as a Map would`, () => {
      const r = seeded(seed);
      const index = new WordKeyIndex(width, expected);
      const model = new Map();
      const pool = Array.from({ length: Math.ceil(adds * 0.7) }, () => Array.from({ length: width }, () => (r() < 0.3 ? Math.floor(r() * 4) : (r() * 2 ** 32) | 0)));
      const write = (words) => words.forEach((w, j) => (index.key[j] = w));
      let pos = 0;
      let dups = 0;
      for (let n = 0; n < adds; n++) {
        const words = pool[Math.floor(r() * pool.length)];
        const name = words.join(',');
        write(words);
        const had = index.add(pos);
        if (model.has(name)) {
          assert.equal(had, model.get(name), `add ${n}: the position the key has`);
          dups++;
        } else {
          assert.equal(had, -1, `add ${n}: a new key`);
          model.set(name, pos++); // a position is taken only by a new key (as prepare does)
        }
      }
      assert.ok(dups > adds / 10, `only ${dups} duplicates`);
      for (const words of pool) {
        write(words);
        assert.equal(index.find(), model.get(words.join(',')) ?? -1);
      }
      for (let n = 0; n < 200; n++) {
        const words = Array.from({ length: width }, () => (r() * 2 ** 32) | 0);
        if (model.has(words.join(','))) continue;
        write(words);
        assert.equal(index.find(), -1, 'a key never added');
      }
    });
  }
});
