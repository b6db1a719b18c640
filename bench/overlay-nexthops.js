'use strict';
/**
 * The overlay's own desired state with and without `nexthops: true` (issue 20: "make nexthops
 * the default only if it is better on both kernels"): per mode, a host with --nodes peers (one
 * pod subnet each, as the modes program), measured through the Reconciler as OverlayAgent
 * drives it:
 *
 *   converge   the first apply in an empty namespace (veth underlay, the vxlan device created)
 *   no-op      an apply that finds everything in place (a resync / a membership event)
 *   new IP     one peer's node IP changes (its VTEP MAC derived from it, as the CLI does; with
 *              --keep-mac the MAC is given and stays)
 *
 * Each column is the median wall time of --rounds rounds (on and off interleaved), with the
 * modifying requests of the apply; the on/off ratio is taken within the run (the machine may be
 * shared: compare ratios, not times across runs).
 *
 *   node bench/overlay-nexthops.js [--nodes 1000] [--rounds 3] [--modes host-gw,vxlan] [--keep-mac]
 */
const { spawnSync } = require('node:child_process');
const os = require('node:os');
const { Netns, Rtnl, Reconciler, overlay } = require('..');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const NODES = Number(opt('nodes', 1000));
const ROUNDS = Number(opt('rounds', 3));
const MODES = opt('modes', 'host-gw,vxlan').split(',');
const KEEP_MAC = args.includes('--keep-mac');
let counter = 0;

/** Peer i (1..n), k = i + 1: node IP 10.57.(k>>8).(k&255) on the underlay (the moved one
 * 10.58...), pod subnet 10.(100 + k>>8).(k&255).0/24; this host is 10.57.0.1, 10.100.0.0/24. */
function nodes(n, moved) {
  const out = [{ name: 'n0', nodeIP: '10.57.0.1', podCIDR: '10.100.0.0/24' }];
  for (let i = 1; i <= n; i++) {
    const k = i + 1;
    const home = `10.57.${k >> 8}.${k & 255}`;
    out.push({ name: `n${i}`, nodeIP: i === moved ? `10.58.${k >> 8}.${k & 255}` : home, podCIDR: `10.${100 + (k >> 8)}.${k & 255}.0/24`, ...(KEEP_MAC ? { vtepMac: overlay.vtepMacFor(home) } : {}) });
  }
  return out;
}

const state = (mode, nexthops, moved) => overlay.desiredState({ mode, self: 'n0', nodes: nodes(NODES, moved), underlayDev: 'veth0', underlayMtu: 1500, nexthops });

async function timed(rec, s) {
  const t0 = process.hrtime.bigint();
  const r = await rec.apply(s);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!r.converged) throw new Error(`not converged: ${r.failed.slice(0, 3).map((f) => `${f.op.key}: ${f.error.message}`).join('; ')}`);
  return { ms, requests: r.requests };
}

async function round(mode, nexthops) {
  const ns = `nla-bnh-${process.pid}-${++counter}`;
  Netns.create(ns);
  const nl = await Rtnl.open({ netns: ns, receiveBufferBytes: 32 << 20 });
  try {
    await nl.links.set('lo', { up: true });
    await nl.links.add({ kind: 'veth', name: 'veth0', peer: { name: 'veth1' }, up: true });
    await nl.links.set('veth1', { up: true });
    await nl.addresses.add({ dev: 'veth0', address: '10.57.0.1/15' });
    const rec = new Reconciler(nl, { protocol: 78 });
    const converge = await timed(rec, state(mode, nexthops, 0));
    const noop = await timed(rec, state(mode, nexthops, 0));
    const moved = await timed(rec, state(mode, nexthops, NODES >> 1));
    return { converge, noop, moved };
  } finally {
    nl.close();
    spawnSync('ip', ['-n', ns, 'route', 'flush', 'table', 'all'], { stdio: 'ignore' });
    Netns.delete(ns);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  console.log(`overlay with/without nexthops: ${NODES} peers, ${ROUNDS} rounds, kernel ${os.release()}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}${KEEP_MAC ? ', VTEP MACs kept' : ''}`);
  for (const mode of MODES) {
    const runs = { false: [], true: [] };
    for (let r = 0; r < ROUNDS; r++) for (const nh of [false, true]) runs[nh].push(await round(mode, nh));
    console.log(`\n${mode}`);
    console.log(`  ${'step'.padEnd(10)} ${'routes with via'.padStart(22)} ${'nexthops: true'.padStart(22)} ${'ratio'.padStart(7)}`);
    for (const step of ['converge', 'noop', 'moved']) {
      const cell = (nh) => {
        const ms = median(runs[nh].map((x) => x[step].ms));
        return { ms, text: `${ms.toFixed(1)} ms, ${runs[nh][0][step].requests} req` };
      };
      const off = cell(false);
      const on = cell(true);
      console.log(`  ${(step === 'moved' ? 'new IP' : step).padEnd(10)} ${off.text.padStart(22)} ${on.text.padStart(22)} ${(on.ms / off.ms).toFixed(2).padStart(6)}x`);
    }
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
