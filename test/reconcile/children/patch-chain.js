'use strict';
// Prepares a desired state patched from the last one, many times in one synchronous job (as a
// caller calling setDesired() in a loop would), and prints the heap after a full GC at two
// points, as one JSON line. A patched list must not keep the lists before it alive.
//   node --expose-gc patch-chain.js
const { prepareDesired } = require('../../../dist/reconcile/engine/prepare');
const { checkReconcilerOptions } = require('../../../dist/reconcile/engine/owner');
const { ON_LINKS } = require('../../../dist/reconcile/engine/registry');

const { owner } = checkReconcilerOptions({ protocol: 77 });
const hex = (x) => (x & 255).toString(16).padStart(2, '0');
const neighbor = (i, v) => Object.freeze({ dev: 'vx0', ip: `10.80.${i >> 8}.${i & 255}`, lladdr: `0a:58:00:${hex(v)}:${hex(i >> 8)}:${hex(i)}` });
const fdb = (i, v) => Object.freeze({ dev: 'vx0', mac: `0a:58:00:${hex(v)}:${hex(i >> 8)}:${hex(i)}`, dst: `10.57.${i >> 8}.${i & 255}` });
const route = (i, v) => Object.freeze({ dst: `10.90.${i >> 8}.${i & 255}/32`, via: `10.80.${(i >> 8) + v}.${i & 255}`, dev: 'vx0', onlink: true });
const N = 500;
let neighbors = [];
let fdbs = [];
let routes = [];
for (let i = 0; i < N; i++) {
  neighbors.push(neighbor(i, 0));
  fdbs.push(fdb(i, 0));
  routes.push(route(i, 0));
}
let prev = prepareDesired({ links: [], neighbors, fdb: fdbs, routes }, owner);
const heapMB = () => {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed / 1048576;
};
const out = { patched: 0 };
// Counts the lists patched (all three kinds of a state).
for (const kind of ON_LINKS) {
  if (!kind.patches) continue;
  const patch = kind.patch;
  kind.patch = function (...args) {
    const made = patch.apply(this, args);
    if (made !== undefined) out.patched++;
    return made;
  };
}
for (let k = 1; k <= 3000; k++) {
  neighbors = neighbors.slice();
  fdbs = fdbs.slice();
  routes = routes.slice();
  const i = 1 + ((k * 997) % (N - 1));
  const v = 1 + (k % 200);
  neighbors[i] = neighbor(i, v);
  fdbs[i] = fdb(i, v);
  routes[i] = route(i, v);
  const next = prepareDesired({ links: [], neighbors, fdb: fdbs, routes }, owner, prev);
  prev = next;
  if (k === 500) out.after500 = heapMB();
  if (k === 3000) out.after3000 = heapMB();
}
console.log(JSON.stringify(out));
