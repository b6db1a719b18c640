'use strict';
// Small helpers for membership tests.

const { pollUntil } = require('../support/poll');

/** Polls `cond` (sync or async) until it is truthy (test/support/poll); resolves with the ms it took. */
async function waitFor(cond, ms = 5000, what = 'condition') {
  const t0 = Date.now();
  await pollUntil(cond, { ms, what });
  return Date.now() - t0;
}

/** Records every emission of `event` (first argument) into the returned array. */
function collect(emitter, event) {
  const seen = [];
  emitter.on(event, (x) => seen.push(x));
  return seen;
}

module.exports = { waitFor, collect };
