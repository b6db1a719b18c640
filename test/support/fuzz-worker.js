'use strict';
/**
 * Runs fuzz cases in a worker thread, so that the parent can stop a case that hangs (a
 * synchronous endless loop cannot be interrupted from inside its own thread). The worker
 * writes the seed of the case it is on into a shared Int32Array; runFuzzInWorker() reads it
 * when the deadline passes and names that case.
 *
 * workerData.fuzzJob: { job: 'mutation', first, count, slowMs, injectHang? } | { job: 'property', name, seed, numRuns }
 */
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

if (!isMainThread && workerData && workerData.fuzzJob) {
  const fuzz = require('./fuzz');
  const progress = new Int32Array(workerData.progress);
  const corpus = fuzz.loadCorpus();
  const job = workerData.fuzzJob;
  if (job.injectHang) {
    // For the watchdog's own test: the link decoder never returns.
    fuzz.DECODERS.link = () => {
      for (;;);
    };
  }
  if (job.job === 'mutation') {
    // Most cases end in a NetlinkParseError, and capturing its stack is most of the time a case
    // takes: capture none while fuzzing, then re-run the failing cases (deterministic) with stacks.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    const r = fuzz.runCases(corpus, { first: job.first, count: job.count, slowMs: job.slowMs, progress });
    Error.stackTraceLimit = limit;
    r.failures = r.failures.map((f) => (f.stack !== undefined ? fuzz.runCase(corpus, f.seed) || f : f));
    parentPort.postMessage({ ...r, clean: fuzz.checkCorpusClean(corpus), messages: corpus.messages.length, datagrams: corpus.datagrams.length });
  } else {
    const fc = require('fast-check');
    const t0 = Date.now();
    const details = fc.check(fuzz.properties(fc, corpus)[job.name], { seed: job.seed, numRuns: job.numRuns });
    parentPort.postMessage({
      count: job.numRuns,
      seconds: (Date.now() - t0) / 1000,
      failures: details.failed
        ? [{ seed: details.seed, path: details.counterexamplePath, problem: String(details.errorInstance && details.errorInstance.message), counterexample: fc.stringify(details.counterexample) }]
        : [],
    });
  }
}

/**
 * Runs one fuzz job in a worker under a watchdog. Resolves with the job's report. A mutation
 * job whose current case does not change for stallMs (or any job still running after
 * deadlineMs) is terminated and reported as a hang, naming the seed it was on.
 * onProgress(seed), when given, is called about once a second with the current seed.
 */
function runFuzzInWorker(job, { stallMs = 10000, deadlineMs = 600000, onProgress } = {}) {
  const progress = new SharedArrayBuffer(4);
  const seen = new Int32Array(progress);
  const worker = new Worker(__filename, { workerData: { fuzzJob: job, progress } });
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let last = -1;
    let lastChange = Date.now();
    const stop = (why) => {
      clearInterval(timer);
      const seed = Atomics.load(seen, 0);
      void worker.terminate();
      resolve({ count: job.count ?? job.numRuns, seconds: (Date.now() - started) / 1000, failures: [{ seed, problem: `hang: ${why}` }], hung: true });
    };
    const timer = setInterval(() => {
      const seed = Atomics.load(seen, 0);
      if (seed !== last) {
        last = seed;
        lastChange = Date.now();
        if (onProgress && seed) onProgress(seed);
      } else if (job.job === 'mutation' && seed !== 0 && Date.now() - lastChange > stallMs) {
        stop(`case ${seed} still running after ${stallMs} ms`);
      }
      if (Date.now() - started > deadlineMs) stop(`the job is still running after ${deadlineMs} ms`);
    }, Math.min(250, stallMs / 4));
    worker.once('message', (r) => {
      clearInterval(timer);
      void worker.terminate();
      resolve(r);
    });
    worker.once('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
  });
}

module.exports = { runFuzzInWorker };
