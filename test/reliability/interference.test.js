'use strict';
// Interference: while a reconciler watches, another process keeps deleting, changing and adding
// both the reconciler's objects and foreign ones (routes, FDB entries, neighbours). When it
// stops, owned state must be exactly the desired state, and foreign state exactly what the
// other process left (it reports what it left; nobody else touches foreign objects).
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { Rtnl } = require('../../dist/rtnl');
const { NetlinkError } = require('../../dist/wire');
const { Reconciler } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, ip, ipJson } = require('../support/kernel');
const { PROTO, underlay, overlay, startChild, eventually, quiet } = require('./helpers');

const NODES = 60;
const DURATION_MS = 8000;
const SEED = Number(process.env.INTERFERE_SEED || 1 + Math.floor(Math.random() * 1e9));

/** FDB entries of a device, as `bridge -j fdb show dev X` reports them (permanent, with a dst). */
function fdbOf(ns, dev) {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'bridge', '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' });
  return (out.trim() ? JSON.parse(out) : [])
    .filter((e) => e.dst && e.state === 'permanent')
    .map((e) => `${e.mac} ${e.dst}`)
    .sort();
}

kernelDescribe('reliability: interference', function () {
  this.timeout(120000);
  const ns = netnsPerTest('intf');
  let nl;
  let r;
  afterEach(async function () {
    if (r) await r.stop();
    r = undefined;
    if (nl) nl.close();
    nl = undefined;
  });

  it(`another process fights over owned and foreign routes, FDB and neighbours for ${DURATION_MS / 1000} s; afterwards owned state is exactly desired, foreign state exactly what it left`, async function () {
    await fight(ns(), 'bursts');
  });

  it('under continuous interference (no pause longer than debounceMs) repairs keep happening: the debounce does not starve the watch', async function () {
    await fight(ns(), 'continuous');
  });

  async function fight(ns_, mode) {
    const ns = () => ns_;
    underlay(ns());
    const desired = overlay(Array.from({ length: NODES }, (_, i) => i + 1));
    nl = await Rtnl.open({ netns: ns() });
    r = new Reconciler(nl, { protocol: PROTO });
    const errors = [];
    r.on('error', (e) => errors.push(e));
    let cycles = 0;
    r.on('applied', () => cycles++);
    const first = new Promise((resolve) => r.once('converged', resolve));
    // Events drive the repairs (the periodic resync is far away), retries come quickly.
    r.watch(desired, { debounceMs: 10, resyncIntervalMs: 600_000, minBackoffMs: 20, maxBackoffMs: 200 });
    await first;
    await quiet(r);
    const cyclesBefore = cycles;

    const child = startChild('interferer.js', [ns(), String(DURATION_MS), String(SEED), String(NODES), mode]);
    const exit = await child.exited;
    assert.equal(exit.code, 0, `interferer failed (INTERFERE_SEED=${SEED}): ${child.stderr}`);
    const left = JSON.parse(child.lines[child.lines.length - 1]);
    const ownedOps = Object.entries(left.counts).filter(([k]) => k.startsWith('owned')).reduce((a, [, c]) => a + c.ok, 0);
    assert.ok(ownedOps > 100, `only ${ownedOps} successful changes to owned objects: ${JSON.stringify(left.counts)}`);
    assert.ok(cycles - cyclesBefore > 10, `the reconciler ran only ${cycles - cyclesBefore} cycles during the fight`);

    // Converged by watching alone: the plan is empty (nothing to do, no conflict) and stays so.
    await eventually(async () => {
      const p = await r.plan(desired);
      return p.ops.length === 0 && p.conflicts.length === 0;
    }, 15000, 'the watch did not converge after the interference stopped');
    await quiet(r);
    const final = await r.plan(desired);
    assert.equal(final.ops.length, 0, final.text());

    // Owned state, read with the independent oracle: exactly the desired objects.
    const link = ipJson(ns(), '-d', 'link', 'show', 'vxlan0')[0];
    assert.ok(link.flags.includes('UP'), 'vxlan0 is up again');
    assert.equal(link.linkinfo.info_data.id, 100);
    const routes = ipJson(ns(), 'route', 'show', 'table', 'all', 'proto', String(PROTO))
      .map((x) => `${x.dst} via ${x.gateway} dev ${x.dev}`)
      .sort();
    assert.deepEqual(routes, desired.routes.map((x) => `${x.dst} via ${x.via} dev vxlan0`).sort());
    const neigh = ipJson(ns(), 'neigh', 'show', 'dev', 'vxlan0', 'nud', 'permanent')
      .map((n) => `${n.dst} ${n.lladdr}`)
      .sort();
    assert.deepEqual(neigh, desired.neighbors.map((n) => `${n.ip} ${n.lladdr}`).sort());
    assert.deepEqual(fdbOf(ns(), 'vxlan0'), desired.fdb.map((f) => `${f.mac} ${f.dst}`).sort());
    assert.match(ip(ns(), '-4', 'addr', 'show', 'dev', 'vxlan0'), /inet 192\.168\.100\.0\/32/);

    // Foreign state: exactly what the other process left.
    const staticRoutes = ipJson(ns(), 'route', 'show', 'proto', 'static')
      .map((x) => `${x.dst}/32 via ${x.gateway}`)
      .sort();
    assert.deepEqual(staticRoutes, left.routes.map((x) => `${x.dst} via ${x.via}`).sort(), `INTERFERE_SEED=${SEED}`);
    const eth0Neigh = ipJson(ns(), 'neigh', 'show', 'dev', 'eth0', 'nud', 'permanent')
      .map((n) => `${n.dst} ${n.lladdr}`)
      .sort();
    assert.deepEqual(eth0Neigh, left.neighbors.map((n) => `${n.ip} ${n.lladdr}`).sort(), `INTERFERE_SEED=${SEED}`);
    assert.deepEqual(fdbOf(ns(), 'vxlan9'), left.fdb.map((f) => `${f.mac} ${f.dst}`).sort(), `INTERFERE_SEED=${SEED}`);
    assert.ok(ipJson(ns(), 'link', 'show', 'vxlan9').length === 1, 'the foreign vxlan9 is still there');
    // Whatever went wrong during the fight was the kernel refusing a change that raced with the
    // other process (reported, retried), never a crash or a decoding failure.
    for (const e of errors) assert.ok(e instanceof NetlinkError, e.stack);
    if (process.env.RELIABILITY_VERBOSE) console.log(`      ${left.ops} interfering operations, ${cycles - cyclesBefore} cycles, ${errors.length} errors; ${JSON.stringify(left.counts)}`);
  }
});
