'use strict';
// The library's operational counters (AgentStats) and the health checks made from them, without
// root: a Reconciler on MemoryKernel (staged refusals, overflows, drift), a StaticMembership on
// a temporary file, and the probe rules on snapshots.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Rtnl, Reconciler, MemoryKernel, StaticMembership, AgentStats, liveness, readiness, constants: C } = require('../../dist');
const { pollUntil } = require('../support/poll');

const PROTO = 77;
const until = (fn, what) => pollUntil(fn, { ms: 8000, every: 10, what });

/** Routes via eth0 to n peers' pod subnets. */
function routesState(n) {
  const routes = [];
  for (let i = 1; i <= n; i++) routes.push({ dst: `192.168.${10 + i}.0/24`, via: `10.57.4.${20 + i}`, dev: 'eth0' });
  return { routes };
}

describe('ops: AgentStats counts what a reconciler and its socket did (MemoryKernel, no root)', function () {
  let kernel;
  let nl;
  let other;
  let r;
  let stats;
  beforeEach(async function () {
    kernel = new MemoryKernel();
    kernel.createNamespace('h1');
    nl = await Rtnl.open({ kernel, netns: 'h1' });
    other = await Rtnl.open({ kernel, netns: 'h1' });
    await nl.links.set('lo', { up: true });
    await nl.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth0p' }, up: true });
    await nl.links.set('eth0p', { up: true });
    await nl.addresses.add({ dev: 'eth0', address: '10.57.4.20/24' });
    r = new Reconciler(nl, { protocol: PROTO });
    stats = new AgentStats();
    stats.observeReconciler(r);
    stats.observeNetlink(nl);
  });
  afterEach(async function () {
    await r.stop();
    nl.close();
    other.close();
  });

  it('ops applied and failed by kind and action equal the ApplyResult; refusals are counted by errno; requests by read/modify', async function () {
    const setupModifying = nl.modifyingRequests();
    kernel.namespace('h1').failNext('EBUSY', { type: C.RTM_NEWROUTE });
    const res = await r.apply(routesState(3));
    assert.equal(res.failed.length, 1);
    const s = stats.snapshot();
    assert.deepEqual(s.reconcile.ops, [{ kind: 'route', action: 'create', applied: res.applied.length, failed: 1 }]);
    assert.equal(res.applied.length, 2);
    assert.equal(s.netlink.errors.EBUSY, 1);
    assert.equal(s.netlink.modifyingRequests, nl.modifyingRequests(), 'the same count as the handle\'s own');
    assert.equal(s.netlink.modifyingRequests - setupModifying, res.requests);
    assert.ok(s.netlink.readRequests > 0 && s.netlink.dumps > 0, JSON.stringify(s.netlink));
    assert.equal(s.reconcile.converged, false);
    assert.equal(s.reconcile.firstConverged, undefined, 'not converged yet');
    const again = await r.apply(routesState(3));
    assert.ok(again.converged);
    const t = stats.snapshot();
    assert.deepEqual(t.reconcile.ops, [{ kind: 'route', action: 'create', applied: 3, failed: 1 }]);
    assert.ok(t.reconcile.firstConverged >= s.at && t.reconcile.lastConverged === t.reconcile.firstConverged);
    // A dump's objects are counted: the last plan read at least the three routes.
    assert.ok(t.netlink.dumpObjects - s.netlink.dumpObjects >= 3, `${t.netlink.dumpObjects} vs ${s.netlink.dumpObjects}`);
  });

  it('watch: cycles by reason, an overflow, the drift it repairs, and a resync; a snapshot is a copy', async function () {
    const cycles = [];
    stats.on('cycle', (c) => cycles.push(c));
    r.watch(routesState(2), { debounceMs: 5, resyncIntervalMs: 60_000 });
    await until(() => stats.snapshot().reconcile.firstConverged !== undefined, 'first converge');
    const first = stats.snapshot();
    // The start's own writes come back as events: a cycle for them may have run already (scoped: a
    // few targeted reads, quick) and finds nothing to do.
    const firstCycles = first.reconcile.cycles.length;
    assert.deepEqual(first.reconcile.cycles.filter((c) => c.reason !== 'event'), [{ reason: 'start', outcome: 'done', count: 1 }]);
    assert.ok(first.reconcile.cycles.every((c) => c.outcome === 'done'), JSON.stringify(first.reconcile.cycles));
    assert.equal(first.reconcile.driftRepairs, 0, 'the first cycle creates, it does not repair');
    // Someone deletes a route while events are lost; the overflow makes the watch re-read and repair.
    const ns = kernel.namespace('h1');
    ns.dropEvents(1_000_000);
    await other.routes.del({ dst: '192.168.12.0/24' });
    ns.dropEvents(0);
    ns.overflowMonitors();
    // The repair and the overflow's count arrive in either order (a deletion event already queued
    // may repair first): wait for both, and for the cycle the overflow started.
    await until(() => {
      const x = stats.snapshot().reconcile;
      return x.driftRepairs === 1 && x.overflows === 1 && x.cycles.some((c) => c.reason === 'overflow' && c.outcome === 'done');
    }, 'drift repaired and the overflow counted');
    const s = stats.snapshot();
    assert.equal(s.reconcile.overflows, 1);
    assert.ok(s.reconcile.cycles.some((c) => c.reason === 'overflow' && c.outcome === 'done'), JSON.stringify(s.reconcile.cycles));
    assert.deepEqual(s.reconcile.ops, [{ kind: 'route', action: 'create', applied: 3, failed: 0 }]);
    assert.equal(first.reconcile.cycles.length, firstCycles, 'the earlier snapshot did not change');
    assert.ok(cycles.length >= 2 && cycles.every((c) => c.durationMs >= 0));
    assert.equal(s.reconcile.cycleRunningSince, undefined);
    assert.ok(s.reconcile.lastCycleEnd >= first.reconcile.lastCycleEnd);
    // A new desired state is a change, not a drift repair.
    const settled = stats.snapshot().reconcile.settledEvents;
    assert.equal(settled, r.settledEvents, 'counted since observed: the reconciler was made here');
    r.setDesired(routesState(3));
    await until(() => stats.snapshot().reconcile.ops[0].applied === 4, 'the third route');
    assert.equal(stats.snapshot().reconcile.driftRepairs, 1);
    assert.ok(stats.snapshot().reconcile.cycles.some((c) => c.reason === 'desired'));
    // The new route's own event shows it as desired: counted, not read.
    await until(() => stats.snapshot().reconcile.settledEvents > settled, 'the echo of the third route settled');
  });

  it('watch: the periodic resync is a cycle of its own reason', async function () {
    r.watch(routesState(1), { debounceMs: 5, resyncIntervalMs: 60 });
    await until(() => stats.snapshot().reconcile.cycles.some((c) => c.reason === 'resync' && c.count >= 2), 'two resyncs');
  });

  it('a failing cycle is counted as an error and a cycle with outcome error', async function () {
    r.watch(routesState(1), { debounceMs: 5, minBackoffMs: 5, maxBackoffMs: 10, resyncIntervalMs: 60_000 });
    await until(() => stats.snapshot().reconcile.firstConverged !== undefined, 'first converge');
    // The next dump of routes is refused: the cycle throws, reports 'error', and is retried.
    const errors = [];
    r.on('error', (e) => errors.push(e));
    kernel.namespace('h1').failNext('ENOMEM', { type: C.RTM_GETLINK });
    r.setDesired(routesState(2));
    await until(() => stats.snapshot().reconcile.ops[0].applied === 2, 'retried and applied');
    const s = stats.snapshot();
    assert.equal(s.reconcile.errors, errors.length);
    assert.ok(errors.length >= 1);
    assert.ok(s.reconcile.cycles.some((c) => c.outcome === 'error'), JSON.stringify(s.reconcile.cycles));
    assert.equal(s.netlink.errors.ENOMEM, 1);
  });
});

describe('ops: AgentStats follows a membership source (node file)', function () {
  let dir;
  let m;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-ops-stats-'));
  });
  afterEach(async function () {
    await m?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('nodes, skipped records, connection and the time of the last read', async function () {
    const file = path.join(dir, 'nodes.json');
    const nodes = [
      { name: 'n1', nodeIP: '10.61.0.1', podCIDR: '10.202.1.0/24' },
      { name: 'n2', nodeIP: '10.61.0.2', podCIDR: '10.202.2.0/24' },
      { name: 'bad', nodeIP: 'nope', podCIDR: '10.202.3.0/24' },
    ];
    fs.writeFileSync(file, JSON.stringify(nodes));
    const stats = new AgentStats();
    m = new StaticMembership({ file, self: 'n1', debounceMs: 5, pollIntervalMs: 50 });
    stats.observeMembership(m);
    assert.equal(stats.snapshot().membership.state, 'unknown');
    const before = Date.now();
    await m.start();
    let s = stats.snapshot();
    assert.deepEqual({ ...s.membership, lastRead: undefined }, { state: 'connected', revision: undefined, lastRead: undefined, nodes: 2, skipped: 1 });
    assert.ok(s.membership.lastRead >= before);
    // An unreadable file: disconnected, and the last read stops moving.
    fs.writeFileSync(file, '{not json');
    await until(() => stats.snapshot().membership.state === 'disconnected', 'disconnected');
    const stale = stats.snapshot().membership.lastRead;
    await new Promise((res) => setTimeout(res, 150));
    assert.equal(stats.snapshot().membership.lastRead, stale);
    assert.equal(readiness({ ...stats.snapshot(), reconcile: { ...stats.snapshot().reconcile, firstConverged: 1 } }).ok, false);
    fs.writeFileSync(file, JSON.stringify(nodes.slice(0, 2)));
    await until(() => stats.snapshot().membership.state === 'connected' && stats.snapshot().membership.skipped === 0, 'reconnected');
    s = stats.snapshot();
    assert.ok(s.membership.lastRead > stale);
  });
});

describe('ops: liveness and readiness rules', function () {
  const base = (over = {}) => {
    const s = new AgentStats({ now: () => 1_000_000 }).snapshot();
    return { ...s, ...over, reconcile: { ...s.reconcile, ...(over.reconcile ?? {}) }, membership: { ...s.membership, ...(over.membership ?? {}) } };
  };

  it('live while starting, while cycles end in time; not live with a cycle stuck or none finished for too long', function () {
    assert.deepEqual(liveness(base(), false), { ok: true, reasons: [] });
    assert.equal(liveness(base({ reconcile: { lastCycleEnd: 1_000_000 - 179_000 } }), true).ok, true);
    const quiet = liveness(base({ reconcile: { lastCycleEnd: 1_000_000 - 181_000 } }), true);
    assert.equal(quiet.ok, false);
    assert.match(quiet.reasons[0], /no reconcile cycle has finished for 181 s \(bound 180 s\)/);
    const stuck = liveness(base({ reconcile: { cycleRunningSince: 1_000_000 - 5_000, lastCycleEnd: 1_000_000 - 6_000 } }), true, { maxCycleMs: 4_000 });
    assert.deepEqual(stuck.reasons, ['a reconcile cycle has been running for 5 s (bound 4 s)']);
    assert.equal(liveness(base({ reconcile: { cycleRunningSince: 1_000_000 - 3_000 } }), true, { maxCycleMs: 4_000 }).ok, true);
  });

  it('ready only after the first converge and with membership in sync', function () {
    assert.deepEqual(readiness(base()).reasons, ['the kernel has not yet been brought to the desired state', 'membership has not been read yet']);
    assert.deepEqual(readiness(base({ reconcile: { firstConverged: 5 }, membership: { state: 'disconnected' } })).reasons, ['membership source unreachable: the node list may be stale']);
    assert.deepEqual(readiness(base({ reconcile: { firstConverged: 5 }, membership: { state: 'connected' } })), { ok: true, reasons: [] });
  });
});
