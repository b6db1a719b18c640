#!/usr/bin/env node
'use strict';
// Quick route benchmark (root): 100k IPv4 routes "P via 10.57.0.2 dev veth0 onlink" in a fresh
// namespace each run, this library (routes.addMany / list / delMany) against iproute2
// (`ip -batch` adds and deletes, `ip route show`). Prints medians of interleaved runs.
//
//   node bench/routes-quick.js [count=100000] [runs=3]
//
// Needs dist/ built (npx tsc -p .). Uses only namespaces it creates and removes them.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Rtnl } = require('../dist/rtnl');

const COUNT = Number(process.argv[2] ?? 100000);
const RUNS = Number(process.argv[3] ?? 3);

/** Route i: distinct /28s inside 10.0.0.0/12 (never 10.57/16, the veth's subnet). */
function dst(i) {
  return `10.${(i >> 12) & 255}.${(i >> 4) & 255}.${(i & 15) << 4}/28`;
}

function sh(args, opts = {}) {
  return execFileSync(args[0], args.slice(1), { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
}

function makeNs(tag) {
  const name = `nla-bench-${tag}-${process.pid}`;
  sh(['ip', 'netns', 'add', name]);
  const ip = (...a) => sh(['ip', '-n', name, ...a]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
  ip('addr', 'add', '10.57.0.1/16', 'dev', 'veth0');
  ip('link', 'set', 'veth0', 'up');
  ip('link', 'set', 'veth1', 'up');
  return name;
}

function removeNs(name) {
  try {
    sh(['ip', 'netns', 'del', name]);
  } catch {
    /* already gone */
  }
}

function secondsSince(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Runs fn and returns [seconds, user CPU seconds, system CPU seconds] of this process. */
async function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = await fn();
  const s = secondsSince(t0);
  const c = process.cpuUsage(c0);
  return { s, user: c.user / 1e6, sys: c.system / 1e6, out };
}

async function oursRun() {
  const ns = makeNs('ours');
  let nl;
  try {
    nl = await Rtnl.open({ netns: ns });
    const specs = new Array(COUNT);
    for (let i = 0; i < COUNT; i++) specs[i] = { dst: dst(i), via: '10.57.0.2', dev: 'veth0', onlink: true };
    const add = await timed(() => nl.routes.addMany(specs));
    if (add.out.failed) throw new Error(`${add.out.failed} adds failed: ${add.out.errors.find(Boolean)}`);
    const list = await timed(() => nl.routes.list());
    if (list.out.length < COUNT) throw new Error(`list returned ${list.out.length}`);
    // The same again: a long-running agent lists with warm JIT and a grown heap.
    const warm = [];
    for (let k = 0; k < 3; k++) warm.push(await timed(() => nl.routes.list()));
    warm.sort((a, b) => a.s - b.s);
    const listWarm = warm[1];
    const listProto = await timed(() => nl.routes.list({ protocol: 'boot' }));
    // Dump and compare with the desired set without keeping the dump (what a reconciler does
    // when nothing changed): forEach hands each route over and keeps none.
    const want = new Map(specs.map((sp) => [sp.dst, sp]));
    const veth0 = await nl.devices.index('veth0');
    const diff = await timed(async () => {
      let same = 0;
      await nl.routes.forEach({ protocol: 'boot' }, (r) => {
        const sp = want.get(r.dst);
        if (sp && r.via === sp.via && r.dev === veth0 && r.onlink) same++;
      });
      if (same !== COUNT) throw new Error(`diff found ${same} unchanged routes`);
      return same;
    });
    const del = await timed(() => nl.routes.delMany(specs));
    if (del.out.failed) throw new Error(`${del.out.failed} deletes failed`);
    return { add, list, listWarm, listProto, diff, del };
  } finally {
    if (nl) nl.close();
    removeNs(ns);
  }
}

/** Runs a shell command; returns wall seconds and the command's own user+system CPU seconds
 * (bash's `time`), so a loaded machine can be compared by CPU as well as by the clock. */
function timedSh(cmd) {
  const t0 = process.hrtime.bigint();
  const out = sh(['bash', '-c', `TIMEFORMAT='%3U %3S'; { time ${cmd} > /dev/null ; } 2>&1`]);
  const s = secondsSince(t0);
  const [user, sys] = out.trim().split(/\s+/).slice(-2).map(Number);
  return { s, user, sys, cpu: user + sys };
}

function ipRun() {
  const ns = makeNs('ip');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-bench-'));
  try {
    const addFile = path.join(dir, 'add');
    const delFile = path.join(dir, 'del');
    const lines = [];
    for (let i = 0; i < COUNT; i++) lines.push(`route add ${dst(i)} via 10.57.0.2 dev veth0 onlink`);
    fs.writeFileSync(addFile, lines.join('\n') + '\n');
    fs.writeFileSync(delFile, lines.map((l) => l.replace('route add', 'route del')).join('\n') + '\n');
    const add = timedSh(`ip -n ${ns} -batch ${addFile}`);
    const list = timedSh(`ip -n ${ns} route show`);
    const del = timedSh(`ip -n ${ns} -batch ${delFile}`);
    return { add, list, del };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    removeNs(ns);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f3 = (x) => x.toFixed(3);

async function main() {
  if (process.getuid() !== 0) throw new Error('needs root (network namespaces)');
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
  const ours = [];
  const ip = [];
  for (let r = 0; r < RUNS; r++) {
    ip.push(ipRun());
    ours.push(await oursRun());
  }
  const m = (k, sub) => median(ours.map((o) => o[k][sub]));
  const mi = (k, sub) => median(ip.map((o) => o[k][sub]));
  const cpu = (k) => median(ours.map((o) => o[k].user + o[k].sys));
  const line = (label, k, ipk, ipLabel) =>
    `${label} ours ${f3(m(k, 's'))} s (cpu ${f3(cpu(k))})   ${ipLabel} ${f3(mi(ipk, 's'))} s (cpu ${f3(mi(ipk, 'cpu'))})   ` +
    `ratio by clock ${(mi(ipk, 's') / m(k, 's')).toFixed(2)}x, by cpu ${(mi(ipk, 'cpu') / cpu(k)).toFixed(2)}x`;
  console.log(`${COUNT} routes "P via 10.57.0.2 dev veth0 onlink", median of ${RUNS} interleaved runs`);
  console.log(line('add:          ', 'add', 'add', 'ip -batch'));
  console.log(line('list (first): ', 'list', 'list', 'ip route show'));
  console.log(line('list (warm):  ', 'listWarm', 'list', 'ip route show'));
  console.log(line('del:          ', 'del', 'del', 'ip -batch'));
  console.log(`list proto boot (kernel-filtered), warm: ours ${f3(m('listProto', 's'))} s (cpu ${f3(cpu('listProto'))})`);
  console.log(`dump + diff against the desired set, nothing changed (forEach): ours ${f3(m('diff', 's'))} s (cpu ${f3(cpu('diff'))})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
