#!/usr/bin/env node
'use strict';
/**
 * The CNI plugin against the reference bridge + host-local pair, through the same libcni runtime
 * (test/cni/runtime, Debian's libcni), in the same host namespace setup: ADD then DEL of N pods
 * one after the other, per pod latency as the runtime sees it (process start included), rounds
 * alternating which plugin goes first. VERSION shows each executable's bare start-up, and
 * "node floor" a plugin that is nothing but a Node script printing its VERSION answer: what any
 * plugin started by Node pays before doing anything.
 *
 *   node bench/cni.js                      100 pods, 3 rounds
 *   node bench/cni.js --pods 20 --rounds 1 --json out.json
 *
 * Plugins run with the environment a runtime such as containerd gives them (PATH only), so
 * variables of this shell (NODE_OPTIONS, NODE_EXTRA_CA_CERTS) do not slow one side down.
 * Needs root, golang-go, golang-github-appc-cni-dev and containernetworking-plugins.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Netns } = require('..');
const h = require('../test/cni/helpers');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const PODS = Number(opt('pods', 100));
const ROUNDS = Number(opt('rounds', 3));
const JSON_OUT = opt('json', '');

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const fmt = (x) => `${x.toFixed(1)} ms`.padStart(9);
/** A plugin that is only Node answering VERSION: the start-up floor of any Node plugin. */
const FLOOR = 'node-floor';

function writeFloorPlugin(binDir) {
  const file = path.join(binDir, FLOOR);
  fs.writeFileSync(file, `#!${process.execPath}\nprocess.stdout.write('{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}');\n`, { mode: 0o755 });
}

function plugins(dir) {
  return {
    'netlink-agent': { type: 'netlink-agent', bridge: 'br-nla', ipam: { ranges: [[{ subnet: '10.244.0.0/16' }]], dataDir: path.join(dir, 'nla') } },
    'bridge+host-local': {
      type: 'bridge',
      bridge: 'br-ref',
      isGateway: true,
      isDefaultGateway: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.245.0.0/16' }]], dataDir: path.join(dir, 'ref') },
    },
  };
}

async function round(binDir, order, n) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-bench-cni-'));
  const host = `nla-bench-cni-${process.pid}`;
  const pods = Array.from({ length: n + 1 }, (_, i) => `${host}-p${i}`);
  Netns.create(host);
  try {
    for (const p of pods) Netns.create(p);
    const out = {};
    for (const name of order) {
      const conflist = { cniVersion: '1.0.0', name: `bench-${name.replace(/[^a-z]/g, '')}`, plugins: [plugins(dir)[name]] };
      const job = (ops) => h.runJob(host, { conflist, ops, cniPath: [binDir, h.REFERENCE_DIR], cacheDir: path.join(dir, 'cache'), concurrency: 1 });
      // One warm-up pod (page cache, and our plugin's first run of each command saves its code cache).
      await job([h.op('ADD', 'warm', pods[n]), h.op('DEL', 'warm', pods[n])]);
      const version = await job(Array.from({ length: 10 }, () => ({ cmd: 'VERSION', plugin: conflist.plugins[0].type })));
      const floor = name === order[0] ? await job(Array.from({ length: 10 }, () => ({ cmd: 'VERSION', plugin: FLOOR }))) : undefined;
      if (floor) out.floor = floor.results.map((r) => r.ms);
      const rep = await job([...pods.slice(0, n).map((p, i) => h.op('ADD', `c${i}`, p)), ...pods.slice(0, n).map((p, i) => h.op('DEL', `c${i}`, p))]);
      const bad = rep.results.find((r) => !r.ok);
      if (bad) throw new Error(`${name}: ${JSON.stringify(bad.error)}`);
      const add = rep.results.slice(0, n).map((r) => r.ms);
      const del = rep.results.slice(n).map((r) => r.ms);
      out[name] = { add, del, both: add.map((a, i) => a + del[i]), version: version.results.map((r) => r.ms) };
    }
    return out;
  } finally {
    for (const p of pods) if (Netns.exists(p)) Netns.delete(p);
    Netns.delete(host);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  if (process.getuid() !== 0) {
    console.error('bench/cni: needs root (it creates network namespaces)');
    process.exit(1);
  }
  const why = h.missing();
  if (why) {
    console.error(`bench/cni: ${why}`);
    process.exit(2);
  }
  h.buildRuntime();
  const binDir = h.installPlugin();
  writeFloorPlugin(binDir);
  const names = ['netlink-agent', 'bridge+host-local'];
  const all = Object.fromEntries(names.map((n) => [n, { add: [], del: [], both: [], version: [] }]));
  const floor = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const res = await round(binDir, r % 2 ? [...names].reverse() : names, PODS);
      for (const n of names) for (const k of Object.keys(all[n])) all[n][k].push(...res[n][k]);
      floor.push(...res.floor);
    }
  } finally {
    fs.rmSync(binDir, { recursive: true, force: true });
  }
  console.log(`CNI ADD/DEL through libcni: ${PODS} pods x ${ROUNDS} rounds, one at a time; ${os.cpus().length} CPUs, kernel ${os.release()}, node ${process.version}`);
  console.log(`  ${'plugin'.padEnd(20)} ${'ADD p50'.padStart(9)} ${'ADD p90'.padStart(9)} ${'DEL p50'.padStart(9)} ${'DEL p90'.padStart(9)} ${'ADD+DEL'.padStart(9)} ${'VERSION'.padStart(9)}`);
  for (const n of names) {
    const a = all[n];
    console.log(`  ${n.padEnd(20)} ${fmt(quantile(a.add, 0.5))} ${fmt(quantile(a.add, 0.9))} ${fmt(quantile(a.del, 0.5))} ${fmt(quantile(a.del, 0.9))} ${fmt(quantile(a.both, 0.5))} ${fmt(quantile(a.version, 0.5))}`);
  }
  console.log(`  ${'node floor'.padEnd(20)} ${' '.repeat(49)} ${fmt(quantile(floor, 0.5))}`);
  const [ours, ref] = names.map((n) => all[n]);
  console.log(`  ours / reference: ADD ${(quantile(ours.add, 0.5) / quantile(ref.add, 0.5)).toFixed(2)}x, DEL ${(quantile(ours.del, 0.5) / quantile(ref.del, 0.5)).toFixed(2)}x, ADD+DEL ${(quantile(ours.both, 0.5) / quantile(ref.both, 0.5)).toFixed(2)}x (VERSION: the executables' bare start)`);
  if (JSON_OUT) {
    const summary = Object.fromEntries(names.map((n) => [n, Object.fromEntries(Object.entries(all[n]).map(([k, v]) => [k, { p50: quantile(v, 0.5), p90: quantile(v, 0.9) }]))]));
    summary.nodeFloor = { p50: quantile(floor, 0.5), p90: quantile(floor, 0.9) };
    fs.writeFileSync(JSON_OUT, JSON.stringify({ pods: PODS, rounds: ROUNDS, kernel: os.release(), node: process.version, summary }, null, 2));
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
