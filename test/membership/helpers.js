'use strict';
// Small helpers for membership tests.

/** Polls `cond` (sync or async) every 20 ms until it is truthy; throws after `ms`. */
async function waitFor(cond, ms = 5000, what = 'condition') {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what} not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Records every emission of `event` (first argument) into the returned array. */
function collect(emitter, event) {
  const seen = [];
  emitter.on(event, (x) => seen.push(x));
  return seen;
}

module.exports = { waitFor, collect };
