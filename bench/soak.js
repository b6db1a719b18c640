#!/usr/bin/env node
'use strict';
/**
 * The soak: 10,000 reconcile cycles with churn in a throwaway namespace, in a child
 * `node --expose-gc` (test/support/soak.js), printing RSS, heap and external memory after a full
 * GC, and open file descriptors, every 10% of the run, then the growth after warm-up.
 *
 *   node bench/soak.js                        10,000 cycles, with lifecycle churn (handles,
 *                                             monitors and watches opened and closed)
 *   node bench/soak.js --cycles 2000 --steady without lifecycle churn
 *
 * Needs root and the compiled package (npx tsc -p .). Exits 1 when fds or memory grew.
 */
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Netns, Rtnl } = require('..');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const CYCLES = Number(opt('cycles', 10000));
const LIFECYCLE = !args.includes('--steady');

async function main() {
  const ns = `nla-soak-${process.pid}`;
  Netns.create(ns);
  try {
    const nl = await Rtnl.open({ netns: ns });
    await nl.links.set('lo', { up: true });
    await nl.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth0p' }, up: true });
    await nl.links.set('eth0p', { up: true });
    await nl.addresses.add({ dev: 'eth0', address: '10.57.4.20/24' });
    nl.close();
    console.log(`soak: ${CYCLES} cycles${LIFECYCLE ? ', with lifecycle churn' : ''}, namespace ${ns}`);
    console.log('   cycle   RSS MB  heap MB  ext MB   fds');
    const child = spawn(process.execPath, ['--expose-gc', path.join(__dirname, '..', 'test', 'support', 'soak.js'), ns, String(CYCLES), LIFECYCLE ? 'lifecycle' : 'steady'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let summary;
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, i));
        buf = buf.slice(i + 1);
        if (line.sample) {
          const s = line.sample;
          console.log(`${String(s.cycle).padStart(8)} ${s.rssMB.toFixed(1).padStart(8)} ${s.heapMB.toFixed(1).padStart(8)} ${s.externalMB.toFixed(1).padStart(7)} ${String(s.fds).padStart(5)}`);
        }
        if (line.summary) summary = line.summary;
      }
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    if (code !== 0 || !summary) throw new Error(`the soak child failed (exit ${code})`);
    const { first, last } = summary;
    const grew = {
      fds: last.fds - first.fds,
      heapMB: +(last.heapMB - first.heapMB).toFixed(1),
      externalMB: +(last.externalMB - first.externalMB).toFixed(1),
      rssMB: +(last.rssMB - first.rssMB).toFixed(1),
    };
    console.log(
      `${summary.cycles} cycles in ${summary.seconds} s (${Math.round(summary.cycles / summary.seconds)} cycles/s), ${summary.ops} ops, ` +
        `${summary.notConverged} not converged, final plan ${summary.finalPlanOps} ops`,
    );
    console.log(`after warm-up (cycle ${first.cycle} -> ${last.cycle}): RSS ${first.rssMB} -> ${last.rssMB} MB, heap ${first.heapMB} -> ${last.heapMB} MB, external ${first.externalMB} -> ${last.externalMB} MB, fds ${first.fds} -> ${last.fds}`);
    const leak = grew.fds !== 0 || grew.heapMB > 5 || grew.externalMB > 5 || summary.notConverged > 0;
    console.log(leak ? `LEAK or failure: ${JSON.stringify(grew)}` : 'stable: no fd or memory growth');
    process.exitCode = leak ? 1 : 0;
  } finally {
    Netns.delete(ns);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
