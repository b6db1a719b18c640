'use strict';
// The periodic resync: drift that produced no event the watch saw (events lost while a monitor
// was paused or overflowed, or never sent) is still repaired, by the full re-read every
// resyncIntervalMs. The reconciler's monitor is made deaf here (the Rtnl's monitor() is wrapped
// so the monitor it returns emits nothing), then an owned route is deleted behind its back.
// Only the public API is used: Rtnl, Rtnl.monitor(), Reconciler.watch() and its events.
const assert = require('node:assert/strict');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, ip, slow } = require('../support/kernel');
const { PROTO, underlay, overlay, net24, eventually, sleep } = require('./helpers');

/** Scaled in the VM lane, where everything runs 12-20x slower (TCG). */
const RESYNC_MS = 300 * slow;
/** How long a repair may take with the short interval, and how long the control waits. */
const WAIT_MS = 5 * RESYNC_MS;

kernelDescribe('reliability: the periodic resync repairs drift the watch never saw', function () {
  this.timeout(30000); // scaled in the VM lane (test/vm/slow.js)
  const ns = netnsPerTest('rsy');
  let nl;
  let r;
  let deafMonitors;
  beforeEach(async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns() });
    // Every monitor made from this handle from now on hears nothing: no event, no overflow.
    deafMonitors = 0;
    const monitor = nl.monitor.bind(nl);
    nl.monitor = (opts) => {
      const m = monitor(opts);
      m.emit = () => false;
      deafMonitors++;
      return m;
    };
    r = new Reconciler(nl, { protocol: PROTO });
  });
  afterEach(async function () {
    if (r) await r.stop();
    r = undefined;
    if (nl) nl.close();
    nl = undefined;
  });

  /** Watches an overlay of two nodes until converged, then deletes node 2's owned route with
   * iproute2. Returns the route's destination and the ops of every 'drift' from then on. */
  async function deleteOwnedRouteUnheard(resyncIntervalMs) {
    const converged = new Promise((resolve) => r.once('converged', resolve));
    r.watch(overlay([1, 2]), { debounceMs: 20, resyncIntervalMs });
    await converged;
    assert.equal(deafMonitors, 1, "the reconciler's monitor is the deaf one");
    const dst = net24(2);
    assert.match(ip(ns(), 'route', 'show', dst), new RegExp(`dev vxlan0 proto ${PROTO}`));
    const drifts = [];
    r.on('drift', (ops) => drifts.push(ops.map((o) => `${o.action} ${o.kind}`)));
    ip(ns(), 'route', 'del', dst);
    return { dst, drifts };
  }

  it(`with resyncIntervalMs ${RESYNC_MS}, an owned route deleted behind a deaf watch is recreated by the resync alone`, async function () {
    const { dst, drifts } = await deleteOwnedRouteUnheard(RESYNC_MS);
    await eventually(() => ip(ns(), 'route', 'show', dst).includes('vxlan0'), WAIT_MS, `${dst} was not recreated`);
    assert.deepEqual(drifts, [['create route']]);
    assert.match(ip(ns(), 'route', 'show', dst), new RegExp(`via .* dev vxlan0 proto ${PROTO} onlink`));
  });

  it(`the control: with resyncIntervalMs of an hour the same deletion is still there after ${WAIT_MS} ms (nothing else repairs it)`, async function () {
    const { dst, drifts } = await deleteOwnedRouteUnheard(3_600_000);
    await sleep(WAIT_MS);
    assert.equal(ip(ns(), 'route', 'show', dst), '', `${dst} came back without a resync: the watch heard the deletion`);
    assert.deepEqual(drifts, []);
    // It is real drift: the next full reconcile sees and repairs it.
    const res = await r.apply(overlay([1, 2]));
    assert.deepEqual(
      res.plan.ops.map((o) => `${o.action} ${o.kind}`),
      ['create route'],
    );
  });
});
