#!/usr/bin/env node
'use strict';
/**
 * Fuzzes every decoder with a million cases (see test/support/fuzz.js for what a case is and
 * what counts as a failure), in worker threads with a watchdog, then runs the fast-check
 * properties.
 *
 *   node bench/fuzz.js                          1,000,000 mutation cases + 2 x 100,000 property runs
 *   node bench/fuzz.js --cases 200000 --first 5000000 --property-runs 0
 *   node bench/fuzz.js --seed 123456            re-run one case and print its bytes (reproduce)
 *
 * Prints cases/s and, for every failure, the seed, the decoder, the problem and the bytes.
 * Exits 1 on any failure. Needs the compiled package (npx tsc -p .).
 */
const os = require('node:os');
const fuzz = require('../test/support/fuzz');
const { runFuzzInWorker } = require('../test/support/fuzz-worker');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const CASES = opt('cases', 1_000_000);
const FIRST = opt('first', 1);
const PROPERTY_RUNS = opt('property-runs', 100_000);
const WORKERS = opt('workers', Math.max(1, Math.min(8, (os.availableParallelism?.() ?? os.cpus().length))));
const CHUNK = opt('chunk', 0); // cases per worker job; default: one job per thread
const SEED = opt('seed', 0);

function printFailure(f) {
  console.log(`FAIL seed ${f.seed}${f.source ? ` source ${f.source}` : ''}${f.decoder ? ` decoder ${f.decoder}` : ''}: ${f.problem}`);
  if (f.hex) console.log(`  hex ${f.hex}`);
  if (f.exact) console.log(`  exact:   ${JSON.stringify(f.exact, (k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  if (f.guarded) console.log(`  guarded: ${JSON.stringify(f.guarded, (k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  if (f.stack) console.log(`  ${f.stack.split('\n').slice(0, 6).join('\n  ')}`);
  if (f.counterexample) console.log(`  counterexample ${f.counterexample}\n  reproduce: fc.assert(prop, { seed: ${f.seed}, path: "${f.path}" })`);
  else console.log(`  reproduce: node bench/fuzz.js --seed ${f.seed}`);
}

async function main() {
  const corpus = fuzz.loadCorpus();
  if (SEED) {
    const input = fuzz.caseInput(corpus, SEED);
    console.log(`case ${SEED}: ${input.datagram ? 'datagram' : `message for ${input.decoder}`} from ${input.source}\n  hex ${input.bytes.toString('hex')}`);
    const f = fuzz.runCase(corpus, SEED);
    if (f) printFailure(f);
    else console.log('  passes');
    process.exitCode = f ? 1 : 0;
    return;
  }
  const clean = fuzz.checkCorpusClean(corpus);
  console.log(`corpus: ${corpus.messages.length} captured messages, ${corpus.datagrams.length} datagrams; clean decode: ${clean.length ? clean.join('; ') : 'all'}`);
  const chunk = CHUNK || Math.ceil(CASES / WORKERS);
  console.log(`mutation fuzzing: ${CASES} cases from seed ${FIRST}, ${WORKERS} worker threads, ${chunk} cases per job`);
  const failures = [...clean.map((problem) => ({ seed: 0, problem }))];
  let next = FIRST;
  const end = FIRST + CASES;
  let done = 0;
  const t0 = process.hrtime.bigint();
  const lanes = new Array(WORKERS).fill(0); // cases done in each lane's current job
  let lastPrint = Date.now();
  const report = () => {
    if (Date.now() - lastPrint < 10000) return;
    lastPrint = Date.now();
    const n = done + lanes.reduce((a, b) => a + b, 0);
    console.log(`  ${n} cases, ${Math.round(n / (Number(process.hrtime.bigint() - t0) / 1e9))} cases/s`);
  };
  async function lane(k) {
    while (next < end) {
      const first = next;
      const count = Math.min(chunk, end - first);
      next += count;
      // A case that runs for 10 s is a hang: the watchdog stops the worker and names the seed.
      // The job as a whole has no deadline: a million cases on one loaded thread take longer than
      // the worker's default 600 s, and that is not a hang (the stall check is what finds one).
      const r = await runFuzzInWorker(
        { job: 'mutation', first, count, slowMs: 2000 },
        { stallMs: 10_000, deadlineMs: Infinity, onProgress: (seed) => ((lanes[k] = seed - first), report()) },
      );
      lanes[k] = 0;
      done += count;
      for (const f of r.failures) {
        if (r.hung) {
          // The worker is gone: the case's bytes come from its seed.
          const input = fuzz.caseInput(corpus, f.seed);
          Object.assign(f, { source: input.source, hex: input.bytes.toString('hex') });
        }
        failures.push(f);
        printFailure(f);
      }
    }
  }
  await Promise.all(Array.from({ length: WORKERS }, (_, k) => lane(k)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`mutation fuzzing: ${done} cases in ${seconds.toFixed(1)} s = ${Math.round(done / seconds)} cases/s (${WORKERS} threads, ${Math.round(done / seconds / WORKERS)} per thread), ${failures.length} failures`);

  if (PROPERTY_RUNS > 0) {
    for (const name of ['generated', 'mutated']) {
      const seed = FIRST * 7919 + name.length;
      const r = await runFuzzInWorker({ job: 'property', name, seed, numRuns: PROPERTY_RUNS }, { deadlineMs: 1_800_000 });
      console.log(`property ${name} (fast-check seed ${seed}): ${PROPERTY_RUNS} runs in ${r.seconds.toFixed(1)} s = ${Math.round(PROPERTY_RUNS / r.seconds)} runs/s, ${r.failures.length} failures`);
      for (const f of r.failures) {
        failures.push(f);
        printFailure(f);
      }
    }
  }
  console.log(failures.length ? `FAILED: ${failures.length} failures` : 'no failures');
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
