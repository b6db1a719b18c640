#!/usr/bin/env node
'use strict';
/**
 * WireGuard configuration cost: a device configured with N peers from empty, then one peer's
 * allowed IPs changed. Reports every WG_CMD_SET_DEVICE message (bytes, peers, time) and shows
 * that the single change is one message whatever N is. Needs a kernel with WireGuard (the VM
 * lane: timings there are relative only, TCG/KVM); elsewhere it says so and exits 2.
 *
 *   node bench/wireguard.js                              N = 100, 1000, 5000; 3 rounds
 *   node bench/wireguard.js --sizes 1000 --rounds 1 --json out.json
 *
 * Runs in namespaces it creates and deletes. May run `wg` (the reference, as a process); the
 * library never does.
 */
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { Netns, Rtnl, WireGuard, PrivateKey, PublicKey, Problems, validateWgDeviceConfig, encodeWgSetMessages, writeWgSetMessage, planWgDevice, WG_DEFAULT_SET_MESSAGE_BYTES, WG_MAX_SET_MESSAGE_BYTES } = require('..');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const SIZES = opt('sizes', '100,1000,5000').split(',').map(Number);
const ROUNDS = Number(opt('rounds', 3));
const JSON_OUT = opt('json', '');
const BUDGETS = [4096, WG_DEFAULT_SET_MESSAGE_BYTES, WG_MAX_SET_MESSAGE_BYTES];

const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => `${x.toFixed(2)} ms`;
let nsCounter = 0;

const peerKey = (i) => {
  const b = Buffer.alloc(32, 0x33);
  b.writeUInt32LE(i + 1, 0);
  return PublicKey.fromBytes(b);
};
/** N peers as a desired configuration: one /24 each, an endpoint each. */
function config(n) {
  return {
    privateKey: PrivateKey.generate(),
    listenPort: 51820,
    peers: Array.from({ length: n }, (_, i) => ({ publicKey: peerKey(i), endpoint: `10.77.${(i >> 8) & 0xff}.${i & 0xff}:51820`, allowedIps: [`10.${100 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}/32`] })),
  };
}
function normalized(cfg) {
  const p = new Problems();
  const r = validateWgDeviceConfig(p, '', cfg);
  p.throwIfAny('bench config');
  return r;
}

async function withDevice(fn) {
  const ns = `nla-bench-wg-${process.pid}-${++nsCounter}`;
  Netns.create(ns);
  const nl = await Rtnl.open({ netns: ns });
  const wg = await WireGuard.open({ netns: ns });
  try {
    await nl.links.add({ kind: 'wireguard', name: 'wg0', up: true });
    return await fn(wg, ns);
  } finally {
    wg.close();
    nl.close();
    Netns.delete(ns);
  }
}

/** Sends a normalized request message by message (what WireGuard.set does), timing each. */
async function sendTimed(wg, req, budget) {
  const msgs = encodeWgSetMessages(0, 'wg0', req, budget);
  const out = [];
  for (const m of msgs) {
    const t0 = process.hrtime.bigint();
    await wg.genl.request('wireguard', (w, fam) => writeWgSetMessage(w, fam.id, m), { what: 'bench set' });
    out.push({ bytes: m.bytes.length, peers: m.firstPeer < 0 ? 0 : m.lastPeer - m.firstPeer + 1, ms: msSince(t0) });
  }
  return out;
}

async function measure(n, budget) {
  return withDevice(async (wg, ns) => {
    const cfg = config(n);
    const initial = await sendTimed(wg, normalized(cfg), budget);
    const device = await wg.get('wg0');
    if (device.peers.length !== n) throw new Error(`${n} peers configured, ${device.peers.length} read back`);
    // The change: one peer's allowed IPs. Read, plan, send: the steps of WireGuard.sync().
    cfg.peers[n >> 1].allowedIps = [...cfg.peers[n >> 1].allowedIps, '10.250.0.0/24'];
    let t0 = process.hrtime.bigint();
    const current = await wg.get('wg0');
    const readMs = msSince(t0);
    t0 = process.hrtime.bigint();
    const plan = planWgDevice(current, normalized(cfg));
    const planMs = msSince(t0);
    const change = await sendTimed(wg, plan.request, budget);
    // The same through the public call, counting its requests (1 GET dump + the SETs).
    cfg.peers[n >> 1].allowedIps = cfg.peers[n >> 1].allowedIps.slice(0, 1);
    const before = wg.genl.requestsSent('wireguard');
    t0 = process.hrtime.bigint();
    const synced = await wg.sync('wg0', cfg);
    const syncMs = msSince(t0);
    const syncRequests = wg.genl.requestsSent('wireguard') - before;
    // Without reading first: setPeer() is one message.
    t0 = process.hrtime.bigint();
    const sp = await wg.setPeer('wg0', { ...cfg.peers[n >> 1], allowedIps: ['10.251.0.0/24'] });
    const setPeerMs = msSince(t0);
    // The reference: the same single change with the wg program (a process per change).
    let wgSetMs;
    try {
      t0 = process.hrtime.bigint();
      execFileSync('ip', ['netns', 'exec', ns, 'wg', 'set', 'wg0', 'peer', peerKey(n >> 1).toBase64(), 'allowed-ips', '10.252.0.0/24'], { stdio: 'ignore' });
      wgSetMs = msSince(t0);
    } catch {
      wgSetMs = undefined; // no wg installed
    }
    return { n, budget, initial, readMs, planMs, change, planPeers: plan.peers.length, sync: { ms: syncMs, requests: syncRequests, setMessages: synced.messages }, setPeer: { ms: setPeerMs, messages: sp.messages }, wgSetMs };
  });
}

async function main() {
  // Is there WireGuard? Ask the kernel for the link kind once (the library's own error).
  try {
    await withDevice(async () => undefined);
  } catch (e) {
    if (e.code === 'EOPNOTSUPP') {
      console.log('This kernel has no WireGuard (CONFIG_WIREGUARD): run the benchmark in the VM lane (test/vm/run node bench/wireguard.js).');
      return 2;
    }
    throw e;
  }
  const results = [];
  console.log(`WireGuard configuration, ${ROUNDS} round(s) each, medians (kernel ${require('node:os').release()})\n`);
  for (const n of SIZES) {
    for (const budget of n === SIZES[SIZES.length - 1] || n === 1000 ? BUDGETS : [WG_DEFAULT_SET_MESSAGE_BYTES]) {
      const rounds = [];
      for (let r = 0; r < ROUNDS; r++) rounds.push(await measure(n, budget));
      const pick = (f) => median(rounds.map(f));
      const first = rounds[0];
      const row = {
        n,
        budget,
        initialMessages: first.initial.length,
        initialBytes: first.initial.map((m) => m.bytes),
        initialPeersPerMessage: first.initial.map((m) => m.peers),
        initialMsPerMessage: first.initial.map((_, i) => median(rounds.map((x) => x.initial[i].ms))),
        initialTotalMs: pick((x) => x.initial.reduce((a, m) => a + m.ms, 0)),
        changeMessages: first.change.length,
        changeBytes: first.change.map((m) => m.bytes),
        changeMs: pick((x) => x.change.reduce((a, m) => a + m.ms, 0)),
        changeReadMs: pick((x) => x.readMs),
        changePlanMs: pick((x) => x.planMs),
        changePlannedPeers: first.planPeers,
        syncMs: pick((x) => x.sync.ms),
        syncRequests: first.sync.requests,
        syncSetMessages: first.sync.setMessages,
        setPeerMs: pick((x) => x.setPeer.ms),
        setPeerMessages: first.setPeer.messages,
        wgSetProcessMs: first.wgSetMs === undefined ? undefined : pick((x) => x.wgSetMs),
      };
      results.push(row);
      const per = row.initialMsPerMessage.map((m, i) => `${fmt(m)} (${row.initialPeersPerMessage[i]} peers, ${row.initialBytes[i]} B)`);
      console.log(`${n} peers, messages of at most ${budget} B`);
      console.log(`  configure from empty: ${row.initialMessages} message(s), ${fmt(row.initialTotalMs)} in all`);
      if (per.length <= 12) for (const [i, p] of per.entries()) console.log(`    message ${i + 1}: ${p}`);
      else console.log(`    per message: min ${fmt(Math.min(...row.initialMsPerMessage))}, median ${fmt(median(row.initialMsPerMessage))}, max ${fmt(Math.max(...row.initialMsPerMessage))}`);
      console.log(`  change one peer's allowed IPs: ${row.changeMessages} message (${row.changeBytes.join(', ')} B) ${fmt(row.changeMs)}; read ${fmt(row.changeReadMs)}, plan ${fmt(row.changePlanMs)} (${row.changePlannedPeers} peer planned)`);
      console.log(`  wg.sync() for it: ${fmt(row.syncMs)}, ${row.syncRequests} requests (1 GET dump + ${row.syncSetMessages} SET); wg.setPeer(): ${fmt(row.setPeerMs)}, ${row.setPeerMessages} message`);
      if (row.wgSetProcessMs !== undefined) console.log(`  reference: \`wg set ... allowed-ips\` as a process: ${fmt(row.wgSetProcessMs)}`);
      console.log('');
      if (row.changeMessages !== 1 || row.syncSetMessages !== 1 || row.setPeerMessages !== 1) throw new Error(`a single change took more than one message: ${JSON.stringify(row)}`);
    }
  }
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ kernel: require('node:os').release(), rounds: ROUNDS, results }, null, 2));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`error: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  },
);
