'use strict';
// The one "poll until" of the test suite: what changes asynchronously (kernel state after an
// event, a child's log, a reconciler's repair) is polled until it holds, or the test fails
// saying what was awaited and for how long.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls cond (sync or async) until it returns a truthy value, which is returned; throws after
 * `ms` milliseconds, naming `what` (a string, or a function called then for a description of
 * what was seen). cond may throw to stop the wait early (a child that exited, say).
 *
 * @param {() => unknown | Promise<unknown>} cond
 * @param {{ ms?: number, every?: number, what?: string | (() => string) }} [opts]
 */
async function pollUntil(cond, { ms = 5000, every = 20, what = 'condition' } = {}) {
  const t0 = Date.now();
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`${typeof what === 'function' ? what() : what} not reached within ${ms} ms`);
    await sleep(every);
  }
}

module.exports = { pollUntil, sleep };
