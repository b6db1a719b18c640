'use strict';
// A Reconciler per test on a namespace of the test's own: the namespace (netnsPerTest), made to
// look like a host (hostLike, or `setup`), an Rtnl handle in it and a Reconciler on that, all
// made before each test and stopped, closed and deleted after it (also when the test fails).
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { netnsPerTest, hostLike } = require('./kernel');

/**
 * Call inside a describe. Returns `t` with `t.ns()` (the namespace's name) and, during a test,
 * `t.nl` and `t.rec`; a test may replace them (a restart): the new ones are closed after it.
 */
function reconcilerPerTest(tag, { setup = (ns) => hostLike(ns), options } = {}) {
  const t = { ns: netnsPerTest(tag), nl: undefined, rec: undefined };
  beforeEach(async function () {
    setup(t.ns());
    t.nl = await Rtnl.open({ netns: t.ns() });
    t.rec = new Reconciler(t.nl, options);
  });
  afterEach(async function () {
    if (t.rec) await t.rec.stop();
    if (t.nl) t.nl.close();
    t.rec = t.nl = undefined;
  });
  return t;
}

module.exports = { reconcilerPerTest };
