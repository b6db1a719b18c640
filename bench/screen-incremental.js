#!/usr/bin/env node
'use strict';
// IncrementalScreener at 10,000 records (issue 24; a benchmark, no etcd, no root): a full
// screening (cold: every record validated, the first of them also the first call in the process;
// warm: validation cached), then single changes, each the median of many: a put of a new record,
// a delete, a node IP modified, a colliding record.
//   node bench/screen-incremental.js [--nodes 10000] [--runs 200]
const os = require('node:os');
const { ScreenCache } = require('../dist/membership/types');
const { IncrementalScreener } = require('../dist/membership/incremental-screen');
const argv = process.argv.slice(2);
const flag = (n, d) => (argv.indexOf(`--${n}`) >= 0 ? argv[argv.indexOf(`--${n}`) + 1] : d);
const N = Number(flag('nodes', 10000));
const RUNS = Number(flag('runs', 200));
const rec = (i, ip = `10.200.${Math.floor(i / 250)}.${(i % 250) + 1}`) => ({ name: `s${i}`, nodeIP: ip, podCIDR: `10.${100 + (i >> 8)}.${i & 255}.0/24`, mode: 'vxlan' });
const item = (i, value, rank = BigInt(i + 10)) => ({ key: `s${i}`, rank, candidate: { source: `/r/nodes/s${i}`, value, expectedName: `s${i}` } });
const self = { name: 'self', nodeIP: '10.57.4.20', podCIDR: '10.99.0.0/24', mode: 'vxlan' };
const ms = (f) => {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const items = [];
for (let i = 0; i < N; i++) items.push(item(i, rec(i)));
const cache = new ScreenCache();
const cold = [];
const warm = [];
for (let k = 0; k < 3; k++) {
  const fresh = items.map((it) => ({ ...it, candidate: { ...it.candidate } }));
  cold.push(ms(() => new IncrementalScreener(self, {}).reset(fresh)));
  new IncrementalScreener(self, { cache }).reset(items);
  warm.push(ms(() => { const s = new IncrementalScreener(self, { cache }); s.reset(items); s.result(); }));
}
const s = new IncrementalScreener(self, { cache });
s.reset(items);
s.result();
const times = { put: [], delete: [], modifyIP: [], colliding: [] };
for (let k = 0; k < RUNS; k++) {
  const j = N + k;
  times.put.push(ms(() => { s.put(item(j, rec(j), BigInt(1e9 + k))); s.result(); }));
  times.delete.push(ms(() => { s.delete(`s${j}`); s.result(); }));
  const i = (k * 37) % N;
  times.modifyIP.push(ms(() => { s.put(item(i, rec(i, `10.201.${k >> 8}.${(k & 255) + 1}`))); s.result(); }));
  // An older record with the node IP of s(i+1): s(i+1) loses, then comes back when it goes.
  const victim = rec((i + 1) % N);
  times.colliding.push(ms(() => { s.put({ key: 'x', rank: 1n, candidate: { source: '/r/nodes/x', value: { name: 'x', nodeIP: victim.nodeIP, podCIDR: '10.98.0.0/24' }, expectedName: 'x' } }); const r = s.result(); if (r.delta.removed[0] !== victim.name) throw new Error('no collision'); }));
  s.delete('x');
  s.result();
}
const f = (x) => x.toFixed(3);
console.log(`IncrementalScreener, ${N} records (node ${process.version}, load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs)`);
console.log(`  full screening: cold (validating every record) ${med(cold).toFixed(0)} ms, warm (validation cached) ${med(warm).toFixed(0)} ms (median of 3); the first cold one in this process (as at an agent's start, before the JIT has seen the code) ${cold[0].toFixed(0)} ms`);
for (const [k, v] of Object.entries(times)) console.log(`  one change, ${k}: median ${f(med(v))} ms, p90 ${f([...v].sort((a, b) => a - b)[Math.floor(v.length * 0.9)])} ms (${v.length} runs; includes result(): copies of the 10k list)`);
