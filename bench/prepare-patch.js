#!/usr/bin/env node
'use strict';
// Preparing an overlay's desired state after a membership change (issue 24; a benchmark, no
// kernel, no root): 5,000 frozen neighbour, FDB and route specs, of which a few nodes' are new
// at each change (replaced, joined, left), as an agent hands them to its reconciler. Prints the
// median and p90 of prepareDesired() per list, whole (no previous state) and patched from the
// last list (KindModule.patch), and the patched time of each kind.
//   node bench/prepare-patch.js [--nodes 5000] [--changed 5] [--rounds 1000]
const os = require('node:os');
const { prepareDesired } = require('../dist/reconcile/engine/prepare');
const { ON_LINKS } = require('../dist/reconcile/engine/registry');
const { checkReconcilerOptions } = require('../dist/reconcile/engine/owner');

const argv = process.argv.slice(2);
const flag = (n, d) => (argv.indexOf(`--${n}`) >= 0 ? Number(argv[argv.indexOf(`--${n}`) + 1]) : d);
const N = flag('nodes', 5000);
const CHANGED = flag('changed', 5);
const ROUNDS = flag('rounds', 1000);
const { owner } = checkReconcilerOptions({ protocol: 77 });
const hex = (x) => (x & 255).toString(16).padStart(2, '0');
// Node i in variant v (a new MAC and remote): an overlay's three specs for it.
const neighbor = (i, v) => Object.freeze({ dev: 'vxlan0', ip: `10.80.${i >> 8}.${i & 255}`, lladdr: `0e:6e:${hex(v)}:00:${hex(i >> 8)}:${hex(i)}` });
const fdb = (i, v) => Object.freeze({ dev: 'vxlan0', mac: `0e:6e:${hex(v)}:00:${hex(i >> 8)}:${hex(i)}`, dst: `10.57.${(i >> 8) + v}.${i & 255}` });
const route = (i) => Object.freeze({ dst: `10.90.${i >> 8}.${i & 255}/32`, via: `10.80.${i >> 8}.${i & 255}`, dev: 'vxlan0', onlink: true });

// Per kind, the time of its patch.
const perKind = {};
for (const k of ON_LINKS) {
  if (!k.patches) continue;
  const f = k.patch;
  k.patch = function (...args) {
    const t = process.hrtime.bigint();
    const out = f.apply(this, args);
    (perKind[`${k.kind}${out ? '' : ' (went whole)'}`] ??= []).push(Number(process.hrtime.bigint() - t) / 1e6);
    return out;
  };
}

const nodes = [];
for (let i = 0; i < N; i++) nodes.push({ i, v: 0 });
const specsOf = (n) => n.specs ?? (n.specs = { neighbor: neighbor(n.i, n.v), fdb: fdb(n.i, n.v), route: route(n.i) });
const stateOf = (list) => ({ links: [], neighbors: list.map((n) => specsOf(n).neighbor), fdb: list.map((n) => specsOf(n).fdb), routes: list.map((n) => specsOf(n).route) });

let list = nodes;
let serial = N;
let prev = prepareDesired(stateOf(list), owner);
const whole = [];
const patched = [];
for (let k = 0; k < ROUNDS; k++) {
  list = list.slice();
  for (let c = 0; c < CHANGED; c++) {
    const at = 1 + ((k * CHANGED + c) * 997) % (list.length - 1);
    const r = (k + c) % 3;
    if (r === 0) list[at] = { i: list[at].i, v: 1 + ((k + c) % 200) }; // a new node IP
    else if (r === 1) list.splice(at, 0, { i: serial++ % 60000, v: 0 }); // a node joins
    else list.splice(at, 1); // one leaves
  }
  const state = stateOf(list);
  let t = process.hrtime.bigint();
  const next = prepareDesired(state, owner, prev);
  patched.push(Number(process.hrtime.bigint() - t) / 1e6);
  if (k % 10 === 0) {
    t = process.hrtime.bigint();
    prepareDesired(state, owner);
    whole.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  prev = next;
}
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)].toFixed(3);
console.log(`prepareDesired of 3 x ${N} frozen specs (neighbours, FDB entries, routes), ${CHANGED} nodes changed per list (node ${process.version}, load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs)`);
console.log(`  whole:   median ${q(whole, 0.5)} ms, p90 ${q(whole, 0.9)} ms (${whole.length} lists)`);
console.log(`  patched: median ${q(patched, 0.5)} ms, p90 ${q(patched, 0.9)} ms (${patched.length} lists)`);
for (const [kind, xs] of Object.entries(perKind)) console.log(`    ${kind}: median ${q(xs, 0.5)} ms (${xs.length})`);
