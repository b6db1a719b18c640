'use strict';
// Crash recovery: a child process applying 10,000 routes with a Reconciler is SIGKILLed at a
// random point; a new reconciler must then converge to exactly the desired state, and what
// belongs to others must be exactly as it was. Several runs, each from the state the previous
// one left, each killed at another point: half by time, half by progress (after a random number
// of the child's route changes have reached the kernel, seen through a monitor).
const assert = require('node:assert/strict');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const fuzz = require('../support/fuzz');
const { kernelDescribe, netnsPerTest, ip } = require('../support/kernel');
const { PROTO, underlay, crashDesired, startChild, sleep, routeText } = require('./helpers');

const RUNS = 4;
const SEED = Number(process.env.CRASH_SEED || 1 + Math.floor(Math.random() * 1e9));

/** Everything that is not this reconciler's: routes of other protocols (kernel-made ones aside:
 * addresses make those), neighbours and FDB entries of other devices. */
function foreignState(ns) {
  const strip = (text) =>
    text
      .split('\n')
      .filter((l) => l && !/ proto (77|kernel)\b/.test(l))
      .sort()
      .join('\n');
  return {
    routes4: strip(ip(ns, '-4', 'route', 'show', 'table', 'all')),
    routes6: strip(ip(ns, '-6', 'route', 'show', 'table', 'all')),
    neigh: ip(ns, 'neigh', 'show', 'dev', 'eth0', 'nud', 'permanent'),
  };
}

kernelDescribe('reliability: crash recovery', function () {
  this.timeout(180000);
  const ns = netnsPerTest('crash');
  let nl;
  afterEach(function () {
    if (nl) nl.close();
    nl = undefined;
  });

  it(`a child applying 10,000 routes is SIGKILLed at random points (${RUNS} runs); a new reconciler converges to exactly the desired state, foreign routes intact`, async function () {
    underlay(ns());
    // Foreign: other protocols, other tables, a desired prefix under another metric, IPv6, a
    // neighbour on the underlay.
    ip(ns(), 'route', 'add', '10.64.150.0/24', 'via', '10.57.4.3', 'dev', 'eth0', 'metric', '50', 'proto', 'static');
    ip(ns(), 'route', 'add', '10.64.151.0/24', 'via', '10.57.4.3', 'dev', 'eth0', 'table', '100', 'proto', '78');
    ip(ns(), 'route', 'add', '10.200.0.0/16', 'via', '10.57.4.3', 'dev', 'eth0', 'proto', 'boot');
    ip(ns(), 'route', 'add', 'blackhole', '10.201.0.0/16', 'proto', '78');
    ip(ns(), 'addr', 'add', 'fd00::20/64', 'dev', 'eth0', 'nodad');
    ip(ns(), '-6', 'route', 'add', 'fd01::/64', 'via', 'fd00::1', 'dev', 'eth0', 'proto', 'static');
    ip(ns(), 'neigh', 'add', '10.57.4.77', 'lladdr', '02:00:00:00:00:77', 'dev', 'eth0', 'nud', 'permanent');
    const foreign = foreignState(ns());
    nl = await Rtnl.open({ netns: ns(), receiveBufferBytes: 32 << 20 });
    const rnd = fuzz.prng(SEED);
    const report = [];
    let partial = 0;
    // How long one apply takes here, from a run nobody kills (a state none of the runs wants):
    // the kill points are drawn inside that window, or on a fast machine most of them would land
    // after the child has finished and the test would prove nothing.
    const calibration = startChild('crash-apply.js', [ns(), String(RUNS + 1)]);
    const doneLine = await calibration.waitLine(/^done /);
    await calibration.exited;
    const applyMs = Math.max(20, Number(doneLine.split(' ')[1]));

    for (let run = 0; run < RUNS; run++) {
      const desired = crashDesired(run);
      const byProgress = run % 2 === 1;
      // Progress: the child's route changes as the kernel announces them.
      const mon = nl.monitor({ groups: ['route'], receiveBufferBytes: 64 << 20 });
      let changes = 0;
      let lost = false;
      mon.on('route', (e) => e.object.protocol === PROTO && changes++);
      mon.on('overflow', () => (lost = true));
      const target = 1 + rnd.int(4000);
      const delayMs = rnd.int(Math.ceil(applyMs * 0.9));
      const child = startChild('crash-apply.js', [ns(), String(run)]);
      await child.waitLine(/^applying$/);
      const t0 = Date.now();
      let ended = false;
      child.exited.then(() => (ended = true));
      for (;;) {
        if (ended) break;
        if (byProgress ? changes >= target || lost : Date.now() - t0 >= delayMs) break;
        await sleep(byProgress ? 1 : 5);
      }
      child.kill('SIGKILL');
      const exit = await child.exited;
      mon.close();
      const killed = exit.signal === 'SIGKILL';
      assert.ok(killed || exit.code === 0, `run ${run}: child failed: ${child.stderr}`);

      const names0 = new Map((await nl.links.list()).map((l) => [l.index, l.name]));
      const want = desired.routes
        .map((x) => `254 ${x.dst} via ${x.via} dev ${x.dev} proto ${PROTO} metric 0${x.mtu ? ` mtu ${x.mtu}` : ''}${x.onlink ? ' onlink' : ''}`)
        .sort();
      const left = (await nl.routes.list({ table: 'all', protocol: PROTO })).map((x) => routeText(x, names0)).sort();
      const half = killed && JSON.stringify(left) !== JSON.stringify(want);
      if (half) partial++;
      const point = byProgress ? `after ${changes} route changes (target ${target})` : `${Date.now() - t0} ms into the apply`;
      report.push(`run ${run}: ${killed ? 'killed' : 'finished before the kill'} ${point}, ${left.length} owned routes left${half ? ', not the desired ones' : ''}`);

      // Recovery: a new reconciler on its own socket, as a restarted agent would have.
      const nl2 = await Rtnl.open({ netns: ns(), receiveBufferBytes: 32 << 20 });
      try {
        const r = new Reconciler(nl2, { protocol: PROTO });
        const res = await r.apply(desired);
        assert.deepEqual(res.failed.map((f) => `${f.op.key}: ${f.error.message}`), [], `run ${run} (CRASH_SEED=${SEED})`);
        assert.ok(res.converged, `run ${run}: not converged`);
        assert.equal((await r.plan(desired)).ops.length, 0, `run ${run}: a second plan is not empty`);
      } finally {
        nl2.close();
      }

      // Exactly the desired routes carry our protocol: none missing, none extra, none stale.
      const names = new Map((await nl.links.list()).map((l) => [l.index, l.name]));
      const have = (await nl.routes.list({ table: 'all', protocol: PROTO })).map((x) => routeText(x, names)).sort();
      assert.equal(have.length, want.length, `run ${run}: ${have.length} owned routes, want ${want.length} (CRASH_SEED=${SEED})`);
      assert.deepEqual(have, want, `run ${run} (CRASH_SEED=${SEED})`);
      // The independent oracle agrees on the count, and on the overlay's neighbours.
      assert.equal(ip(ns(), 'route', 'show', 'proto', String(PROTO)).trim().split('\n').length, want.length);
      const neigh = ip(ns(), 'neigh', 'show', 'dev', 'vxlan0', 'nud', 'permanent').trim().split('\n').length;
      assert.equal(neigh, desired.neighbors.length);
      // Foreign state: byte for byte what it was.
      assert.deepEqual(foreignState(ns()), foreign, `run ${run}: foreign state changed (CRASH_SEED=${SEED})`);
    }
    // At least one run must really have died half-way (killed, state neither old nor desired),
    // or the test proved nothing.
    assert.ok(partial >= 1, `no run was killed mid-apply:\n${report.join('\n')}`);
    if (process.env.RELIABILITY_VERBOSE) console.log(`      CRASH_SEED=${SEED}, one apply ${applyMs} ms\n      ${report.join('\n      ')}`);
  });
});
