'use strict';
// The spec reporter, plus the closing lines CI reads: one "failed: <file>: <title>" line per
// failure (CI shows only the end of a long run's output, where the spec reporter's own failure
// list has scrolled away; test/vm/lane.sh and .ci/run gather these lines into their summaries),
// then "tests: N passed, N failed, N skipped".
const path = require('node:path');
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;

/** "failed: test/x.test.js: suite test: first line of the error", one line, at most 400 chars */
function failureLine(test, err) {
  const file = test.file ? path.relative(process.cwd(), test.file) : '?';
  const why = String((err && err.message) || err || '').split('\n')[0];
  return `failed: ${file}: ${test.fullTitle()}: ${why}`.replace(/\s+/g, ' ').slice(0, 400);
}

class CountingReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    runner.on(EVENT_TEST_FAIL, (test, err) => failures.push(failureLine(test, err)));
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      for (const line of failures) process.stdout.write(`${line}\n`);
      process.stdout.write(`tests: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
    });
  }
}
module.exports = CountingReporter;
