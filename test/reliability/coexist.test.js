'use strict';
// Two reconcilers with different owner protocols (and link owner aliases) watch one namespace
// for 60 s, re-reading it every second. Their desired states overlap: ten route keys both want,
// with different gateways. Neither may fight the other: after the first convergence, no
// modifying request at all except the one repair of an external deletion, and the kernel
// announces no change to either's routes but that deletion and that repair.
const assert = require('node:assert/strict');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, ip } = require('../support/kernel');
const { underlay, overlay, sleep } = require('./helpers');

const WATCH_MS = Number(process.env.COEXIST_MS || 60000);
const SHARED = 10;

function shared(via) {
  return Array.from({ length: SHARED }, (_, i) => ({ dst: `10.250.${i}.0/24`, via, dev: 'eth0' }));
}

/** Resolves on the reconciler's next cycle that sent nothing. */
function idleCycle(r) {
  return new Promise((resolve) => {
    const on = (res) => {
      if (res.requests === 0) {
        r.off('applied', on);
        resolve(res);
      }
    };
    r.on('applied', on);
  });
}

kernelDescribe('reliability: two reconcilers in one namespace', function () {
  this.timeout(WATCH_MS + 60000);
  const ns = netnsPerTest('two');
  const open = [];
  afterEach(async function () {
    for (const x of open.splice(0)) {
      if (x.stop) await x.stop();
      else x.close();
    }
  });

  it(`protocols 77 and 78, overlapping desired routes: no flapping over ${WATCH_MS / 1000} s of watch (modifying requests and kernel route events counted)`, async function () {
    underlay(ns());
    const nlA = await Rtnl.open({ netns: ns() });
    const nlB = await Rtnl.open({ netns: ns() });
    const probe = await Rtnl.open({ netns: ns() });
    open.push(nlA, nlB, probe);
    const a = new Reconciler(nlA, { protocol: 77 });
    const b = new Reconciler(nlB, { protocol: 78, linkOwnerAlias: 'agent-b' });
    open.unshift(a, b); // stopped before their sockets close
    const desiredA = overlay(Array.from({ length: 50 }, (_, i) => i + 1), { extraRoutes: shared('10.57.4.1') });
    const desiredB = overlay(Array.from({ length: 50 }, (_, i) => i + 101), { name: 'vxlan1', vni: 200, extraRoutes: shared('10.57.4.2') });
    const stats = { a: { cycles: 0, conflicts: new Set(), errors: [] }, b: { cycles: 0, conflicts: new Set(), errors: [] } };
    for (const [k, r] of [['a', a], ['b', b]]) {
      r.on('applied', () => stats[k].cycles++);
      r.on('conflict', (c) => stats[k].conflicts.add(c.key));
      r.on('error', (e) => stats[k].errors.push(e));
    }
    const opts = { resyncIntervalMs: 1000, debounceMs: 20 };
    a.watch(desiredA, opts);
    b.watch(desiredB, opts);
    // Both settled: a cycle of each that had nothing to send.
    await Promise.all([idleCycle(a), idleCycle(b)]);
    await Promise.all([idleCycle(a), idleCycle(b)]);

    // Who holds the shared keys: one of the two, each key whole, and the other reports conflicts.
    const holder = async () => (await probe.routes.list()).filter((r) => r.dst.startsWith('10.250.')).map((r) => `${r.dst} ${r.protocol} ${r.via}`).sort();
    const heldBefore = await holder();
    assert.equal(heldBefore.length, SHARED, heldBefore.join('\n'));
    for (const line of heldBefore) assert.match(line, / (77 10\.57\.4\.1|78 10\.57\.4\.2)$/);
    const conflictsBefore = stats.a.conflicts.size + stats.b.conflicts.size;
    assert.equal(conflictsBefore, SHARED, 'every shared key is a conflict for exactly the reconciler that does not hold it');

    // From here on: count.
    const sentA = nlA.modifyingRequests();
    const sentB = nlB.modifyingRequests();
    const cyclesA = stats.a.cycles;
    const cyclesB = stats.b.cycles;
    const routeEvents = [];
    const mon = probe.monitor({ groups: ['route', 'link', 'addr', 'neigh'] });
    mon.on('route', (e) => (e.object.protocol === 77 || e.object.protocol === 78) && routeEvents.push(`${e.action} ${e.object.dst} ${e.object.protocol}`));
    const linkEvents = [];
    mon.on('link', (e) => linkEvents.push(`${e.action} ${e.object.name}`));
    mon.on('fdb', (e) => e.object.dst && linkEvents.push(`fdb ${e.action} ${e.object.mac}`));

    await sleep(WATCH_MS / 2);
    // Halfway: someone deletes one of A's own routes (not a shared key: B would rightly take a
    // free one). A repairs it, B does nothing.
    const victim = desiredA.routes[SHARED].dst;
    ip(ns(), 'route', 'del', victim);
    await sleep(WATCH_MS / 2);

    assert.equal(nlB.modifyingRequests() - sentB, 0, 'B sent modifying requests');
    assert.equal(nlA.modifyingRequests() - sentA, 1, 'A sent more than the one repair');
    assert.deepEqual(routeEvents, [`del ${victim} 77`, `new ${victim} 77`]);
    assert.deepEqual(linkEvents, []);
    assert.deepEqual(await holder(), heldBefore, 'the shared keys changed hands');
    assert.equal(stats.a.conflicts.size + stats.b.conflicts.size, conflictsBefore);
    // Both kept re-reading all along (a resync a second), so "no requests" means "nothing to fix".
    const minCycles = Math.floor(WATCH_MS / 1000 / 2);
    assert.ok(stats.a.cycles - cyclesA >= minCycles, `A ran ${stats.a.cycles - cyclesA} cycles`);
    assert.ok(stats.b.cycles - cyclesB >= minCycles, `B ran ${stats.b.cycles - cyclesB} cycles`);
    assert.deepEqual([...stats.a.errors, ...stats.b.errors].map(String), []);
    if (process.env.RELIABILITY_VERBOSE) {
      console.log(`      cycles A ${stats.a.cycles - cyclesA}, B ${stats.b.cycles - cyclesB}; requests A ${nlA.modifyingRequests() - sentA}, B ${nlB.modifyingRequests() - sentB}; route events ${routeEvents.length}`);
    }
  });
});
