'use strict';
// A reconciler's lifecycle under misuse (issue 17): a watch whose handle is closed (item 7), a
// watch that failed to start (item 8), listeners that throw (item 9), and two reconcilers with
// one identity on one namespace (item 10).
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { pollUntil, sleep } = require('../support/poll');
const { Rtnl, ValidationError } = require('../../dist/rtnl');
const { NetlinkClosedError } = require('../../dist/wire');
const { Reconciler, OwnerBusyError } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, ip, slow } = require('../support/kernel');

const WATCHER = path.join(__dirname, 'children', 'watcher.js');

/** Starts the watcher child; collects its stdout lines; resolves exit with { code, signal }. */
function startWatcher(ns, mode) {
  const child = spawn(process.execPath, [WATCHER, ns, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { lines: [], stderr: '', exited: undefined };
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop();
    out.lines.push(...parts);
  });
  child.stderr.on('data', (d) => (out.stderr += d));
  out.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve((out.exited = { code, signal }))));
  out.child = child;
  return out;
}

const DESIRED = { links: [{ kind: 'bridge', name: 'br0', up: true }], routes: [{ dst: '10.9.0.0/24', dev: 'br0' }] };

kernelDescribe('reconcile: lifecycle under misuse', function () {
  const ns = netnsPerTest('life');
  let nl;
  const recs = [];
  const children = [];
  const make = (opts) => {
    const r = new Reconciler(nl, opts);
    recs.push(r);
    return r;
  };
  beforeEach(async function () {
    ip(ns(), 'link', 'set', 'lo', 'up');
    nl = await Rtnl.open({ netns: ns() });
  });
  afterEach(async function () {
    for (const c of children.splice(0)) if (!c.exited) {
      c.child.kill('SIGKILL');
      await c.exit;
    }
    for (const r of recs.splice(0)) await r.stop().catch(() => undefined);
    if (nl) nl.close();
  });

  it('a watch whose Rtnl is closed stops with one NetlinkClosedError, and the process ends by itself', async function () {
    // In this process: one error, then silence.
    const r = make({});
    const errors = [];
    r.on('error', (e) => errors.push(e));
    const converged = new Promise((resolve) => r.once('converged', resolve));
    r.watch(DESIRED, { debounceMs: 10, resyncIntervalMs: 100, minBackoffMs: 10, maxBackoffMs: 50 });
    await converged;
    nl.close();
    await pollUntil(() => errors.length >= 1, { ms: 3000, what: 'an error after close' });
    await sleep(1000); // ten resync intervals, and many retry delays
    assert.equal(errors.length, 1, errors.map((e) => e.message).join('\n'));
    assert.ok(errors[0] instanceof NetlinkClosedError, errors[0].stack);
    assert.match(errors[0].message, /handle was closed, so the watch stops/);
    assert.throws(() => nl.monitor({ groups: ['link'] }), NetlinkClosedError);
    assert.throws(() => r.watch(DESIRED), NetlinkClosedError);
    await assert.rejects(r.apply(DESIRED), NetlinkClosedError);
    // In a process of its own: nothing keeps it alive afterwards.
    const w = startWatcher(ns(), 'close');
    children.push(w);
    const { code, signal } = await Promise.race([w.exit, sleep(10000 * slow).then(() => ({ code: `still running after ${10 * slow} s` }))]);
    assert.equal(code, 0, `${w.lines.join('\n')}\n${w.stderr}`);
    assert.equal(signal, null);
    assert.equal(w.lines[0], 'closed');
    assert.equal(w.lines.filter((l) => l.startsWith('error ')).length, 1, w.lines.join('\n'));
    assert.match(w.lines[1], /^error NetlinkClosedError /);
  });

  it('a watch that failed to start leaves nothing behind: the next watch repairs drift at once, not at the resync', async function () {
    const r = make({});
    await r.apply(DESIRED);
    assert.throws(() => r.watch(DESIRED, { monitorReceiveBufferBytes: 10 }), ValidationError);
    assert.throws(() => r.watch(DESIRED, { debounceMs: -1 }), ValidationError);
    assert.throws(() => r.watch({ links: 'nope' }), ValidationError);
    const converged = new Promise((resolve) => r.once('converged', resolve));
    r.watch(DESIRED, { debounceMs: 10, resyncIntervalMs: 600_000 });
    await converged;
    ip(ns(), 'route', 'del', '10.9.0.0/24');
    await pollUntil(() => /10\.9\.0\.0\/24 dev br0 proto 77/.test(ip(ns(), 'route', 'show')), { ms: 3000, what: 'the deleted route repaired by the monitor (the resync is 10 minutes away)' });
    // A watch refused because another holds the identity leaves nothing behind either.
    await r.stop();
    const holder = make({});
    holder.watch(DESIRED, { debounceMs: 10, resyncIntervalMs: 600_000 });
    assert.throws(() => r.watch(DESIRED), OwnerBusyError);
    await holder.stop();
    const again = new Promise((resolve) => r.once('converged', resolve));
    r.watch(DESIRED, { debounceMs: 10, resyncIntervalMs: 600_000 });
    await again;
    ip(ns(), 'route', 'del', '10.9.0.0/24');
    await pollUntil(() => /10\.9\.0\.0\/24 dev br0 proto 77/.test(ip(ns(), 'route', 'show')), { ms: 3000, what: 'repair after a refused start' });
  });

  it('a listener that throws: from plan()/apply() the call rejects with its exception; never an "error" event', async function () {
    const r = make({});
    const errors = [];
    r.on('error', (e) => errors.push(e));
    const bug = new Error('listener bug 7');
    r.once('plan', () => {
      throw bug;
    });
    await assert.rejects(r.plan(DESIRED), (e) => e === bug);
    r.once('applied', () => {
      throw bug;
    });
    await assert.rejects(r.apply(DESIRED), (e) => e === bug);
    assert.deepEqual(errors, []);
    // The reconciler still works.
    assert.equal((await r.apply(DESIRED)).plan.ops.length, 0);
  });

  it('a listener that throws in a watch cycle is an uncaught exception (as from any EventEmitter on the loop), not an "error" event', async function () {
    const w = startWatcher(ns(), 'throw');
    children.push(w);
    const { code } = await Promise.race([w.exit, sleep(15000 * slow).then(() => ({ code: `still running after ${15 * slow} s` }))]);
    assert.equal(code, 1, `${w.lines.join('\n')}\n${w.stderr}`);
    assert.match(w.stderr, /Error: listener bug 42/);
    assert.deepEqual(w.lines.filter((l) => l === 'error-event'), []);
  });

  it('a second reconciler with the same protocol (or alias) on the namespace is refused with OwnerBusyError, in this process and from another', async function () {
    const a = make({});
    a.watch(DESIRED, { debounceMs: 10 });
    // Same default identity, same protocol with another owner, another protocol with the same alias.
    for (const opts of [{}, { owner: 'other' }, { protocol: 90, linkOwnerAlias: 'netlink-agent' }]) {
      const b = make(opts);
      assert.throws(() => b.watch(DESIRED), (e) => e instanceof OwnerBusyError && /another reconciler already uses/.test(e.message) && /in this process/.test(e.holder));
      await assert.rejects(b.apply(DESIRED), OwnerBusyError);
    }
    // Another identity is fine.
    assert.ok((await make({ owner: 'other', protocol: 90 }).apply({ routes: [{ dst: '10.10.0.0/24', dev: 'lo' }] })).converged);
    await a.stop();
    // Free again once the holder stops.
    assert.ok((await make({}).apply(DESIRED)).converged);

    // Across processes: a child watching with the default identity holds the namespace.
    const w = startWatcher(ns(), 'hold');
    children.push(w);
    await pollUntil(() => w.lines.includes('watching') || w.exited, { ms: 10000 * slow, what: 'the child watching' });
    assert.ok(!w.exited, w.stderr);
    const c = make({});
    const writes = nl.modifyingRequests();
    await assert.rejects(c.apply({}), (e) => e instanceof OwnerBusyError && e.holder.includes(`pid ${w.child.pid} `));
    assert.throws(() => c.watch({}), OwnerBusyError);
    assert.equal(nl.modifyingRequests(), writes);
    assert.match(ip(ns(), 'route', 'show'), /10\.9\.0\.0\/24 dev brw/); // the child's state, not fought over
    // A killed holder leaves nothing held (the lock dies with the process).
    w.child.kill('SIGKILL');
    await w.exit;
    const res = await c.apply({});
    assert.ok(res.converged);
    assert.ok(res.plan.ops.some((o) => o.kind === 'link' && o.key === 'brw' && o.action === 'delete'), res.plan.text());
  });
});
