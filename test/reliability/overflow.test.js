'use strict';
// Event loss: a monitor whose receive buffer is tiny, under a 100,000-route storm, must say
// 'overflow' (and keep working); a watching reconciler must then re-read everything and
// converge, because nothing it learnt from events can be trusted after a loss.
//
// The storm runs in a child process while this process is blocked in spawnSync: nothing reads
// the monitors' sockets, so their buffers fill with the storm's first events and every later
// event (the owned routes deleted and changed at the storm's tail) is dropped by the kernel.
const assert = require('node:assert/strict');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, ip } = require('../support/kernel');
const { PROTO, underlay, overlay, runChildSync, eventually, quiet, routeText } = require('./helpers');

const STORM = 100000;
const TINY = 4096; // bytes asked for; the kernel doubles it: a handful of route events fit

kernelDescribe('reliability: event overflow', function () {
  this.timeout(120000);
  const ns = netnsPerTest('ovf');
  let nl;
  let r;
  beforeEach(async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns(), receiveBufferBytes: 32 << 20 });
  });
  afterEach(async function () {
    if (r) await r.stop();
    r = undefined;
    if (nl) nl.close();
  });

  it(`a monitor with a ${TINY}-byte receive buffer emits overflow under a ${STORM}-route storm, and delivers events again afterwards`, async function () {
    const mon = nl.monitor({ groups: ['route'], receiveBufferBytes: TINY });
    let events = 0;
    let overflows = 0;
    const seen = [];
    mon.on('route', (e) => {
      events++;
      seen.push(e.object.dst);
    });
    mon.on('overflow', () => overflows++);
    const storm = runChildSync('storm.js', [ns(), String(STORM), String(PROTO), '0', '0']);
    assert.equal(storm.code, 0, storm.stderr);
    assert.equal(JSON.parse(storm.stdout).added, STORM);
    await eventually(() => overflows > 0, 5000, 'no overflow reported');
    assert.ok(events < STORM / 10, `${events} of ${STORM} events delivered: the buffer was not tiny`);
    // The monitor is still subscribed (on a fresh socket if the kernel flagged the old one).
    await nl.routes.add({ dst: '10.250.0.0/24', via: '10.57.4.1', dev: 'eth0' });
    await eventually(() => seen.includes('10.250.0.0/24'), 15000, 'no event after the overflow');
    // The storm itself is all there: the kernel lost events, not routes.
    assert.equal((await nl.routes.list({ protocol: 'static' })).length, STORM);
  });

  it(`a watching reconciler re-reads after overflow and converges: owned routes deleted and changed during a ${STORM}-route storm are restored, the storm's routes are untouched`, async function () {
    const nodes = Array.from({ length: 200 }, (_, i) => i + 1);
    const desired = overlay(nodes);
    r = new Reconciler(nl, { protocol: PROTO });
    const drift = [];
    const errors = [];
    r.on('drift', (ops) => drift.push(...ops));
    r.on('error', (e) => errors.push(e));
    const first = new Promise((resolve) => r.once('converged', resolve));
    // No periodic resync within the test: only events, or an overflow, can start a cycle.
    r.watch(desired, { monitorReceiveBufferBytes: TINY, resyncIntervalMs: 3_600_000, debounceMs: 20 });
    await first;
    await quiet(r); // the cycles its own changes' events cause are over: nothing is pending
    drift.length = 0;
    // A probe in the same conditions (same buffer, same blocked process): what got through?
    const probe = nl.monitor({ groups: ['route'], receiveBufferBytes: TINY });
    let probeOverflow = 0;
    const probeOwned = [];
    probe.on('overflow', () => probeOverflow++);
    probe.on('route', (e) => e.object.protocol === PROTO && probeOwned.push(e.object.dst));

    const storm = JSON.parse(runChildSync('storm.js', [ns(), String(STORM), String(PROTO), '50', '20']).stdout);
    assert.equal(storm.added, STORM);
    assert.equal(storm.deletedOk, 50);
    assert.equal(storm.changed.length, 20);

    const names = new Map((await nl.links.list()).map((l) => [l.index, l.name]));
    const want = desired.routes.map((x) => `254 ${x.dst} via ${x.via} dev ${x.dev} proto ${PROTO} metric 0 onlink`).sort();
    const owned = async () => (await nl.routes.list({ protocol: PROTO })).map((x) => routeText(x, names)).sort();
    await eventually(async () => JSON.stringify(await owned()) === JSON.stringify(want), 20000, 'owned routes never converged');
    assert.deepEqual(await owned(), want);

    // (The probe may hear of its overflow only after the reconciler's re-read, which holds the loop.)
    await eventually(() => probeOverflow > 0, 5000, 'the probe monitor never overflowed');
    assert.deepEqual(probeOwned, [], 'no event about the owned routes got through the full buffer');
    // So the repair came from the re-read after the overflow: exactly the 50 creates and 20 updates.
    const repairs = drift.filter((o) => o.kind === 'route');
    assert.deepEqual(repairs.filter((o) => o.action === 'create').map((o) => o.key.split(' ')[0]).sort(), [...storm.deleted].sort());
    assert.deepEqual(repairs.filter((o) => o.action === 'update').map((o) => o.key.split(' ')[0]).sort(), [...storm.changed].sort());
    assert.equal(repairs.length, 70);
    assert.deepEqual(errors.map(String), []);
    // Foreign: all 100,000 storm routes are still there, as the storm left them.
    const foreign = await nl.routes.list({ protocol: 'static' });
    assert.equal(foreign.length, STORM);
    assert.ok(foreign.every((x) => x.via === '10.57.4.1' && names.get(x.dev) === 'eth0'));
    // The rest of the overlay was never lost: FDB and neighbours as desired (independent oracle).
    assert.equal(ip(ns(), 'neigh', 'show', 'dev', 'vxlan0', 'nud', 'permanent').trim().split('\n').length, 200);
  });
});
