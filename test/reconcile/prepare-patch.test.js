'use strict';
// A list of frozen specs handed again with a few entries inserted, removed or replaced is
// patched (KindModule.patch, engine/edits.ts): the neighbour and FDB kinds make the new
// prepared list from the last one and the changed entries. What must hold: a patched list is
// exactly the list a whole prepare makes (every entry, key index, compared field and reference),
// a state a whole prepare refuses is refused with the same message, and the keys a patched list
// reports as changed are exactly those whose desired entry differs. A property test under random
// edits (inserts, removals, replacements, equal copies, duplicates, invalid specs, a new device,
// edits at the first entry), against a whole prepare of the same state. No kernel.
const assert = require('node:assert/strict');
const { prepareDesired } = require('../../dist/reconcile/engine/prepare');
const { ON_LINKS } = require('../../dist/reconcile/engine/registry');
const { checkReconcilerOptions } = require('../../dist/reconcile/engine/owner');
const { editsBetween, insertedAt, movedTo, removedBy } = require('../../dist/reconcile/engine/edits');
const { sameFrozen } = require('../../dist/values/plain');
const { routeKey } = require('../../dist/reconcile/kinds/route/desired-index');
const { seeded } = require('../support/random');

const { owner } = checkReconcilerOptions({ protocol: 77 });
const hex = (x) => (x & 255).toString(16).padStart(2, '0');
const PATCHED = ['neighbor', 'fdb', 'route'];
const kindOf = (prepared, name) => prepared.kinds.find((k) => k.kind.kind === name);
const inner = (prepared, name) => {
  const k = kindOf(prepared, name);
  return k.kind.inner(k);
};
/** Interface indexes for the devices the specs name (changedKeys needs only index()). */
const VIEW = { index: (ref) => ({ vx0: 5, vx1: 6, vx2: 7 })[ref] };

/** The typed arrays and counts a prepared list's keys are made of, for deepEqual. */
function keyParts(keys, count) {
  const parts = {};
  for (const [name, v] of Object.entries(keys)) {
    if (name === 'mac') continue; // a scratch buffer
    if (ArrayBuffer.isView(v)) parts[name] = Array.from(v.subarray(0, name === 'isUnicast' ? count : v.length));
    else if (v && v.constructor && v.constructor.name === 'WordKeyIndex') {
      // The table's layout may differ (a patch takes keys out and adds others): what it finds is compared (sameLookups).
      parts[name] = name === 'unicast' ? { count: v.count } : { words: Array.from(v.words.subarray(0, count * v.width)), count: v.count };
    } else if (name === 'devs') parts[name] = v.refs.slice();
    else if (name === 'slotFamilies') parts[name] = v.slice();
  }
  // Per-position fields are compared up to count (the arrays are sized by the given list).
  for (const name of ['mode', 'macHi', 'macLo', 'stateBit', 'fast', 'permanent', 'vni', 'port']) if (parts[name]) parts[name] = parts[name].slice(0, count);
  return parts;
}

/** Whether two key indexes find the same position for every key b holds (and -1 for a key it
 * does not: the keys of positions past b's list). */
function sameLookups(a, b, count, kind, name, only) {
  const w = b.width;
  for (let pos = 0; pos < count; pos++) {
    if (only !== undefined && only[pos] === 0) continue;
    for (let j = 0; j < w; j++) b.key[j] = a.key[j] = b.words[pos * w + j];
    assert.equal(a.find(), b.find(), `${kind} ${name}: the key of position ${pos}`);
    assert.equal(b.find(), pos);
  }
}

/** Node i's specs in variant v; `dev` for the few on another device. */
const neighbor = (i, v, dev = 'vx0') => Object.freeze({ dev, ip: `10.80.${i >> 8}.${i & 255}`, lladdr: `0a:58:00:${hex(v)}:${hex(i >> 8)}:${hex(i)}` });
const fdb = (i, v, dev = 'vx0') =>
  Object.freeze({ dev, mac: `0a:58:00:${hex(v)}:${hex(i >> 8)}:${hex(i)}`, dst: `10.57.${((i + v) >> 8) & 255}.${(i + v) & 255}`, ...(i % 5 === 1 ? { vni: 100 + (i % 3), port: 4789 + (i % 2) } : {}), ...(i % 7 === 2 ? { permanent: false } : {}) });
/** Node i's pod route: IPv4 mostly, some IPv6, some with a metric (keyed by text, not numbers). */
const route = (i, v, dev = 'vx0') =>
  Object.freeze(
    i % 11 === 4
      ? { dst: `fd00:${(i >> 8).toString(16)}:${(i & 255).toString(16)}::/64`, via: `fe80::${v + 1}`, dev }
      : i % 13 === 5
        ? { dst: `10.91.${i >> 8}.${i & 255}/32`, via: `10.80.${i >> 8}.${i & 255}`, dev, onlink: true, metric: 100 + v }
        : { dst: `10.90.${i >> 8}.${i & 255}/32`, via: `10.80.${(i >> 8) + v}.${i & 255}`, dev, onlink: true },
  );
/** All-zero MAC entries: one per remote, several on one MAC (the flood list). */
const flood = (i, dev = 'vx0') => Object.freeze({ dev, mac: '00:00:00:00:00:00', dst: `10.58.${i >> 8}.${i & 255}` });

/** A random edit of a list of frozen specs; make(i, v, dev) makes a new spec of node i. */
function edit(rnd, list, make, next) {
  const out = list.slice();
  const edits = 1 + Math.floor(rnd() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rnd() * (out.length + 1));
    const r = rnd();
    if (r < 0.25) out.splice(at, 0, make(next(), 0)); // a node joins
    else if (r < 0.45 && out.length) out.splice(Math.min(at, out.length - 1), 1); // one leaves
    else if (r < 0.65 && out.length) out.splice(Math.min(at, out.length - 1), 1, make(next(), 1)); // replaced by another
    else if (r < 0.72 && out.length) out[Math.min(at, out.length - 1)] = Object.freeze({ ...out[Math.min(at, out.length - 1)] }); // an equal copy
    else if (r < 0.78 && out.length) out.splice(at, 0, Object.freeze({ ...out[Math.floor(rnd() * out.length)] })); // a duplicate key
    else if (r < 0.82) out.splice(at, 0, Object.freeze({ dev: 'vx0', ip: 'not-an-ip', mac: 'zz' })); // invalid
    else if (r < 0.86) out.splice(at, 0, make(next(), 2, 'vx2')); // on a device no entry names
    else if (r < 0.9 && out.length) out[0] = make(next(), 3); // the first entry
    else if (r < 0.905) out.splice(at, 0, { ...make(next(), 0) }); // not frozen (then nothing is kept)
    else if (out.length > 2) out.splice(at, Math.min(3, out.length - at)); // a run leaves
  }
  return out;
}

/** Counts the patch calls of the patched kinds, and those that patched; restore() puts them back. */
function spyPatches() {
  const calls = { neighbor: 0, fdb: 0, route: 0 };
  const patched = { neighbor: 0, fdb: 0, route: 0 };
  const originals = new Map();
  for (const k of ON_LINKS) {
    if (!PATCHED.includes(k.kind)) continue;
    const f = k.patch;
    originals.set(k, f);
    k.patch = function (...args) {
      calls[k.kind]++;
      const out = f.apply(this, args);
      if (out !== undefined) patched[k.kind]++;
      return out;
    };
  }
  return { calls, patched, restore: () => originals.forEach((f, k) => (k.patch = f)) };
}

/** Whole prepare and patched prepare of `state` after `before`: both results, or both errors. */
function both(state, before) {
  const run = (prev) => {
    try {
      return { ok: prepareDesired(state, owner, prev) };
    } catch (e) {
      return { error: e.message };
    }
  };
  return { patched: run(before), whole: run(undefined) };
}

/** The keys whose desired entry differs between two whole prepares; keyOf: an entry's key as the scoped cycles make it. */
function exactChanges(a, b, keyOf = (e) => `${VIEW.index(e.dev)} ${e.id}`) {
  const byKey = (list) => new Map(list.map((e) => [keyOf(e), e.spec]));
  const x = byKey(a.list);
  const y = byKey(b.list);
  const out = new Set();
  for (const [k, s] of x) if (!y.has(k) || !sameFrozen(s, y.get(k))) out.add(k);
  for (const k of y.keys()) if (!x.has(k)) out.add(k);
  return out;
}
const routeKeyOf = (r) => routeKey(r.table, r.family, r.dst, r.tos, r.metric);

describe('reconcile: a few edits to a list of frozen specs are patched, not prepared whole', function () {
  it('finds the runs that differ by identity, and gives up on a list that is not an edit of the other', function () {
    const o = [{}, {}, {}, {}, {}, {}];
    const [a, b, c, d, e, f] = o;
    const x = {};
    const y = {};
    assert.deepEqual(editsBetween([a, b, c, d], [a, x, b, c, d], 10), [{ oldStart: 1, oldEnd: 1, newStart: 1, newEnd: 2 }]);
    assert.deepEqual(editsBetween([a, b, c, d], [a, c, d], 10), [{ oldStart: 1, oldEnd: 2, newStart: 1, newEnd: 1 }]);
    assert.deepEqual(editsBetween([a, b, c, d, e, f], [a, x, c, d, e, y], 10), [
      { oldStart: 1, oldEnd: 2, newStart: 1, newEnd: 2 },
      { oldStart: 5, oldEnd: 6, newStart: 5, newEnd: 6 },
    ]);
    assert.deepEqual(editsBetween([a, b], [a, b, x, y], 10), [{ oldStart: 2, oldEnd: 2, newStart: 2, newEnd: 4 }]);
    assert.equal(editsBetween([a, b, c, d], [a, x, y, c, d], 2), undefined); // more than `most` differ
    // Where the positions go: b replaced by x, y appended.
    const edits = editsBetween([a, b, c, d], [a, x, c, d, y], 10);
    assert.deepEqual(edits, [
      { oldStart: 1, oldEnd: 2, newStart: 1, newEnd: 2 },
      { oldStart: 4, oldEnd: 4, newStart: 4, newEnd: 5 },
    ]);
    assert.deepEqual([...movedTo(edits, 4)], [0, -1, 2, 3]);
    assert.deepEqual(insertedAt(edits), [1, 4]);
    assert.deepEqual(removedBy(edits), [1]);
    assert.deepEqual([...movedTo(editsBetween([a, b, c, d, e], [a, c, x, y, d, e], 10), 5)], [0, -1, 1, 4, 5]);
    const many = Array.from({ length: 40 }, () => ({}));
    assert.equal(editsBetween(many, many.slice().reverse(), 100), undefined); // no meeting point near
  });

  it('patches exactly what a whole prepare makes, refuses what it refuses, and names exactly the changed keys (random edits)', function () {
    const rnd = seeded(0x5eed24);
    let serial = 1000;
    const next = () => serial++;
    const spy = spyPatches();
    try {
      let checked = 0;
      let refusals = 0;
      for (let run = 0; run < 30; run++) {
        const n = 40 + Math.floor(rnd() * 200);
        let neighbors = Array.from({ length: n }, (_, i) => neighbor(i, 0, i === 7 ? 'vx1' : 'vx0'));
        let fdbs = Array.from({ length: n }, (_, i) => (i % 17 === 3 ? flood(i) : fdb(i, 0, i === 7 ? 'vx1' : 'vx0')));
        let routes = Array.from({ length: n }, (_, i) => route(i, 0, i === 7 ? 'vx1' : 'vx0'));
        let last = prepareDesired({ links: [], neighbors, fdb: fdbs, routes }, owner);
        for (let step = 0; step < 25; step++) {
          neighbors = edit(rnd, neighbors, neighbor, next);
          fdbs = edit(rnd, fdbs, (i, v, dev) => (rnd() < 0.1 ? flood(i, dev) : fdb(i, v, dev)), next);
          routes = edit(rnd, routes, route, next);
          const state = { links: [], neighbors, fdb: fdbs, routes };
          const patchedBefore = { ...spy.patched };
          const { patched, whole } = both(state, last);
          if (whole.error !== undefined) {
            assert.equal(patched.error, whole.error);
            refusals++;
            // Back to the last accepted lists, to go on editing a valid state.
            neighbors = inner(last, 'neighbor').list.map((e) => e.spec);
            fdbs = inner(last, 'fdb').list.map((e) => e.spec);
            routes = inner(last, 'route').list.map((r) => r.spec);
            continue;
          }
          assert.equal(patched.error, undefined, patched.error);
          const p = patched.ok;
          const w = whole.ok;
          assert.deepEqual(p.references, w.references);
          for (const kind of PATCHED) {
            const a = inner(p, kind);
            const b = inner(w, kind);
            assert.equal(a.list.length, b.list.length);
            if (kind === 'route') {
              for (let i = 0; i < a.list.length; i++) {
                // Routes of the simple shapes are remembered (one object per spec); the others are made each time.
                if (a.list[i] !== b.list[i]) assert.deepEqual(a.list[i], b.list[i]);
                const r = b.list[i];
                assert.equal(a.index.find(r.table, r.family, r.dst, r.tos, r.metric), i, `route ${r.dst} metric ${r.metric}`);
              }
              // Keys the last list had and this one has not: in neither index.
              for (const r of inner(last, 'route').list) if (b.index.find(r.table, r.family, r.dst, r.tos, r.metric) < 0) assert.equal(a.index.find(r.table, r.family, r.dst, r.tos, r.metric), -1, `route ${r.dst} taken out`);
              assert.deepEqual([...a.devs], [...b.devs]);
              assert.equal(a.lastNewDevice, b.lastNewDevice);
              const exact = exactChanges(inner(last, kind), b, routeKeyOf);
              const keys = kindOf(p, kind).changedKeys(kindOf(last, kind), VIEW);
              if (keys === undefined) assert.ok(patchedBefore[kind] === spy.patched[kind] && b.list.some((r) => !Object.isFrozen(r.spec)), 'route: no changed keys');
              else if (spy.patched[kind] > patchedBefore[kind]) assert.deepEqual(new Set(keys), exact, 'route changed keys');
              else for (const key of exact) assert.ok(new Set(keys).has(key), `route: the walk names ${key}`);
              checked++;
              continue;
            }
            for (let i = 0; i < a.list.length; i++) {
              // A frozen spec's entry is remembered (one object); an unfrozen one's is made each
              // time; a list handed back for equal copies of its specs (handBack) has the entries
              // of the specs it was prepared from.
              if (a.list[i].spec === b.list[i].spec && Object.isFrozen(b.list[i].spec)) assert.equal(a.list[i], b.list[i], `${kind} entry ${i} is the whole prepare's entry`);
              else assert.deepEqual(a.list[i], b.list[i]);
            }
            assert.deepEqual([...a.devs], [...b.devs]);
            assert.equal(a.lastNewDevice, b.lastNewDevice);
            {
              const x = keyParts(a.keys, a.list.length);
              const y = keyParts(b.keys, b.list.length);
              for (const part of Object.keys(y)) assert.deepEqual(x[part], y[part], `${kind} keys: ${part}`);
              sameLookups(a.keys.index, b.keys.index, b.list.length, kind, 'index');
              if (kind === 'fdb') sameLookups(a.keys.unicast, b.keys.unicast, b.list.length, kind, 'unicast', b.keys.isUnicast);
            }
            // Changed keys: exactly those whose desired entry differs from the last state's.
            const exact = exactChanges(inner(last, kind), b);
            const fromPatch = kindOf(p, kind).changedKeys(kindOf(last, kind), VIEW);
            // Undefined ("cannot say": a full cycle follows) only for a list with a spec that is
            // not frozen, which is never patched.
            if (fromPatch === undefined) assert.ok(patchedBefore[kind] === spy.patched[kind] && b.list.some((e) => !Object.isFrozen(e.spec)), `${kind}: no changed keys`);
            else if (spy.patched[kind] > patchedBefore[kind]) assert.deepEqual(new Set(fromPatch), exact, `${kind} changed keys`);
            // A list prepared whole is compared with the last by the walk, which may name an unchanged key too.
            else for (const key of exact) assert.ok(new Set(fromPatch).has(key), `${kind}: the walk names ${key}`);
            const walked = kindOf(w, kind).changedKeys(kindOf(last, kind), VIEW);
            if (walked !== undefined) for (const key of exact) assert.ok(new Set(walked).has(key), `the walk names ${key} too`);
            checked++;
          }
          last = p;
        }
      }
      assert.ok(checked > 600, `${checked} lists compared`);
      assert.ok(refusals > 20, `${refusals} refused states compared`);
      // Most edits are patched; the rest (a first entry, a new device, a duplicate...) go whole.
      for (const kind of PATCHED) assert.ok(spy.patched[kind] > spy.calls[kind] / 3 && spy.patched[kind] > 100, `${kind}: ${spy.patched[kind]} of ${spy.calls[kind]} patched`);
    } finally {
      spy.restore();
    }
  });

  it('prepares whole a list whose edit takes away the entry that first names a device (its reference goes)', function () {
    const neighbors = Array.from({ length: 40 }, (_, i) => neighbor(i, 0, i === 7 ? 'vx1' : 'vx0'));
    const first = prepareDesired({ links: [], neighbors }, owner);
    const next = neighbors.slice();
    next[7] = neighbor(7, 1); // on vx0 now: nothing names vx1
    const spy = spyPatches();
    let second;
    try {
      second = prepareDesired({ links: [], neighbors: next }, owner, first);
    } finally {
      spy.restore();
    }
    assert.deepEqual(spy, { calls: { neighbor: 1, fdb: 0, route: 0 }, patched: { neighbor: 0, fdb: 0, route: 0 }, restore: spy.restore });
    assert.deepEqual(second.references, [{ path: 'neighbors[0].dev', dev: 'vx0' }]);
    assert.deepEqual([...inner(second, 'neighbor').devs], ['vx0']);
  });

  it('patches a 5,000-entry list in the edits, not the list: the entries before and after are the same objects', function () {
    const n = 5000;
    const neighbors = Array.from({ length: n }, (_, i) => neighbor(i, 0));
    const fdbs = Array.from({ length: n }, (_, i) => fdb(i, 0));
    const first = prepareDesired({ links: [], neighbors, fdb: fdbs }, owner);
    const spy = spyPatches();
    const n2 = neighbors.slice();
    n2.splice(2500, 1, neighbor(2500, 1));
    n2.splice(4000, 0, neighbor(9000, 0));
    const f2 = fdbs.slice();
    f2.splice(100, 1);
    let second;
    try {
      second = prepareDesired({ links: [], neighbors: n2, fdb: f2 }, owner, first);
    } finally {
      spy.restore();
    }
    assert.deepEqual(spy.patched, { neighbor: 1, fdb: 1, route: 0 });
    const a = inner(second, 'neighbor');
    assert.equal(a.list.length, n + 1);
    assert.equal(a.list[0], inner(first, 'neighbor').list[0]);
    assert.equal(a.list[n], inner(first, 'neighbor').list[n - 1]);
    assert.deepEqual(new Set(kindOf(second, 'neighbor').changedKeys(kindOf(first, 'neighbor'), VIEW)), new Set([`5 10.80.9.196`, `5 10.80.35.40`]));
    assert.deepEqual([...kindOf(second, 'fdb').changedKeys(kindOf(first, 'fdb'), VIEW)], [`5 0a:58:00:00:00:64 10.57.0.100`]);
  });
});

describe('reconcile: patched lists do not keep the lists they were patched from', function () {
  this.timeout(60000);

  it('3,000 patches in one synchronous job (setDesired in a loop): the heap after a full GC stays flat', function () {
    const { execFileSync } = require('node:child_process');
    const path = require('node:path');
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', path.join(__dirname, 'children', 'patch-chain.js')], { encoding: 'utf8', timeout: 50000 }));
    assert.equal(out.patched, 9000, 'every list of every state was patched');
    // Each state holds ~0.2 MB (3 x 500 specs indexed): kept alive, 2,500 states would be ~500 MB.
    assert.ok(out.after3000 - out.after500 < 10, `heap ${out.after500.toFixed(1)} -> ${out.after3000.toFixed(1)} MB`);
  });
});
