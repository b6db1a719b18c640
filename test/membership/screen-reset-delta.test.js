'use strict';
// IncrementalScreener.reset() and the delta of the next result: after a reset the delta is the
// difference between the last result's node list and the new one (taken by walking the two sorted
// lists, issue 24), whether or not changes were pending at the reset, and across several resets
// without a result between them.
const assert = require('node:assert/strict');
const { IncrementalScreener } = require('../../dist/membership/incremental-screen');

const SELF = { name: 'self', nodeIP: '10.0.0.1', podCIDR: '10.250.0.0/24', mode: 'vxlan' };
const rec = (i, ip = `10.1.${i >> 8}.${(i & 255) + 1}`) => ({ name: `n${i}`, nodeIP: ip, podCIDR: `10.${20 + (i >> 8)}.${i & 255}.0/24` });
const item = (i, value = rec(i)) => ({ key: `n${i}`, rank: BigInt(i), candidate: { source: `/r/nodes/n${i}`, value, expectedName: `n${i}` } });

/** The delta between two results' node lists, as the screener must report it. */
function expected(before, after) {
  const was = new Map(before.map((n) => [n.name, JSON.stringify(n)]));
  const now = new Map(after.map((n) => [n.name, JSON.stringify(n)]));
  return {
    added: [...now.keys()].filter((n) => !was.has(n)).sort(),
    removed: [...was.keys()].filter((n) => !now.has(n)).sort(),
    changed: [...now.keys()].filter((n) => was.has(n) && was.get(n) !== now.get(n)).sort(),
  };
}

describe('membership: the delta after IncrementalScreener.reset()', function () {
  // n0..n39; then without n3..n9, n12 with another node IP, n40..n44 new, n20 colliding with n1.
  const first = Array.from({ length: 40 }, (_, i) => item(i));
  const second = [
    ...first.filter((_, i) => i < 3 || i > 9).map((it) => (it.key === 'n12' ? item(12, rec(12, '10.9.0.12')) : it.key === 'n20' ? item(20, rec(20, rec(1).nodeIP)) : it)),
    ...[40, 41, 42, 43, 44].map((i) => item(i)),
  ];

  it('is the difference of the two node lists, with or without changes pending at the reset', function () {
    for (const pending of [false, true]) {
      const s = new IncrementalScreener(SELF);
      s.reset(first);
      const a = s.result();
      assert.deepEqual(a.delta, expected([SELF], a.nodes));
      if (pending) {
        // Changes noted but not reported: the delta still counts from the last result.
        s.delete('n0');
        s.put(item(50));
      }
      s.reset(second);
      const b = s.result();
      assert.ok(b.skipped.some((x) => x.source === '/r/nodes/n20'), 'n20 collides');
      assert.deepEqual(b.delta, expected(a.nodes, b.nodes), `pending ${pending}`);
      assert.ok(b.delta.added.length && b.delta.removed.length && b.delta.changed.length, JSON.stringify(b.delta));
      // and the changes after it: from the reset's result
      s.delete('n41');
      const c = s.result();
      assert.deepEqual(c.delta, { added: [], removed: ['n41'], changed: [] });
    }
  });

  it('counts from the last result across resets without a result between them', function () {
    const s = new IncrementalScreener(SELF);
    s.reset(first);
    const a = s.result();
    s.reset(second);
    s.put(item(60));
    s.reset(first.slice(0, 10));
    const b = s.result();
    assert.deepEqual(b.delta, expected(a.nodes, b.nodes));
    assert.deepEqual(b.delta.removed, first.slice(10).map((it) => it.key).sort());
  });
});
