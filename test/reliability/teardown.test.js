'use strict';
// Timeouts and teardown on the real kernel: a request the kernel never answers rejects after
// its timeout; closing a socket in the middle of a dump or a batch rejects (or fails) what was
// in flight; after a close no promise is left pending and no timer is left running.
const assert = require('node:assert/strict');
const wire = require('../../dist/wire');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const C = require('../../dist/rtnl/constants');
const { kernelDescribe, netnsPerTest, NETNS_DIR } = require('../support/kernel');
const { underlay, overlay, routeState, sleep } = require('./helpers');

/** A message whose nlmsg_len claims 64 bytes more than are sent: the kernel drops it silently
 * (netlink_rcv_skb ignores a message longer than the datagram), so no answer ever comes. */
function unanswerable(w) {
  w.begin(C.RTM_GETLINK, 0);
  w.reserve(C.IFINFOMSG_LEN);
  w.end();
  w.buf.writeUInt32LE(w.length + 64, 0);
}

/** Wraps promises to know, later, which of them are still pending. */
function tracker() {
  const all = [];
  return {
    add(name, p) {
      const t = { name, state: 'pending', value: undefined };
      all.push(t);
      p.then(
        (v) => Object.assign(t, { state: 'resolved', value: v }),
        (e) => Object.assign(t, { state: 'rejected', value: e }),
      );
      return p;
    },
    pending: () => all.filter((t) => t.state === 'pending').map((t) => t.name),
    all,
  };
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

kernelDescribe('reliability: timeouts and teardown on the real kernel', function () {
  this.timeout(60000);
  const ns = netnsPerTest('tear');
  let nl;
  afterEach(function () {
    if (nl) nl.close();
    nl = undefined;
  });

  it('a request the kernel never answers rejects with NetlinkTimeoutError after its timeout; the socket keeps working', async function () {
    const sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}` });
    try {
      const t0 = Date.now();
      await assert.rejects(sock.request(unanswerable, { what: 'links.get lost', timeoutMs: 300 }), (e) => {
        assert.ok(e instanceof wire.NetlinkTimeoutError, String(e));
        assert.equal(e.code, 'ETIMEDOUT');
        assert.match(e.message, /^links\.get lost: no answer from the kernel within 300 ms/);
        return true;
      });
      const took = Date.now() - t0;
      assert.ok(took >= 290 && took < 3000, `rejected after ${took} ms`);
      // The same for a dump, and a batch carries the timeout per request instead of rejecting.
      await assert.rejects(sock.dump(unanswerable, () => 1, { timeoutMs: 200 }), wire.NetlinkTimeoutError);
      const b = await sock.batch(3, (i, w) => unanswerable(w), { timeoutMs: 200 });
      assert.equal(b.failed, 3);
      for (const e of b.errors) assert.ok(e instanceof wire.NetlinkTimeoutError, String(e));
      // Nothing is stuck: the next request is answered.
      const [reply] = await sock.request((w) => {
        w.begin(C.RTM_GETLINK, 0);
        const off = w.reserve(C.IFINFOMSG_LEN);
        w.buf.writeInt32LE(1, off + 4);
        w.end();
      });
      assert.equal(reply.type, C.RTM_NEWLINK);
    } finally {
      sock.close();
    }
  });

  it('closing the socket in the middle of a 20,000-route dump rejects that dump, the dumps queued behind it and pending requests', async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns(), receiveBufferBytes: 32 << 20 });
    const added = await nl.routes.addMany(routeState(20000).routes.map((r, i) => ({ ...r, dst: `11.${(i >> 8) & 255}.${i & 255}.0/24` })));
    assert.equal(added.failed, 0);
    const sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}`, receiveBufferBytes: 32 << 20 });
    const timersBefore = timers();
    let seen = 0;
    const t = tracker();
    // The kernel fills the dump as we read; close after the 1000th route has been parsed.
    const first = t.add('dump', sock.dump((w) => {
      w.begin(C.RTM_GETROUTE, wire.NLM_F_DUMP);
      w.reserve(C.RTMSG_LEN);
      w.end();
    }, () => {
      if (++seen === 1000) sock.close();
      return seen;
    }));
    const queued = t.add('queued dump', sock.dump((w) => {
      w.begin(C.RTM_GETLINK, wire.NLM_F_DUMP);
      w.reserve(C.IFINFOMSG_LEN);
      w.end();
    }, () => 1));
    const lost = t.add('unanswered request', sock.request(unanswerable, { timeoutMs: 30000 }));
    await assert.rejects(first, wire.NetlinkClosedError);
    await assert.rejects(queued, wire.NetlinkClosedError);
    await assert.rejects(lost, wire.NetlinkClosedError);
    assert.equal(seen, 1000, 'nothing was parsed after the close');
    assert.deepEqual(t.pending(), []);
    assert.equal(timers(), timersBefore, 'a request timer outlived the close');
    // A closed socket refuses new work at once, as a rejection (never a throw, never a hang).
    await assert.rejects(sock.request(unanswerable), wire.NetlinkClosedError);
  });

  /** A 20,000-route batch on a raw socket that closes itself while encoding request 10,000: a
   * point in the middle of the pipeline, with earlier chunks acknowledged. */
  async function batchClosedHalfway() {
    underlay(ns());
    const sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}` });
    nl = await Rtnl.open({ netns: ns(), receiveBufferBytes: 32 << 20 });
    const eth0 = (await nl.links.get('eth0')).index;
    const r = await sock.batch(20000, (i, w) => {
      if (i === 10000) sock.close();
      w.begin(C.RTM_NEWROUTE, wire.NLM_F_CREATE | wire.NLM_F_EXCL);
      const off = w.reserve(C.RTMSG_LEN);
      w.buf[off] = C.AF_INET;
      w.buf[off + 1] = 24;
      w.buf[off + 4] = C.RT_TABLE_MAIN;
      w.buf[off + 5] = C.RTPROT_STATIC;
      w.buf[off + 7] = C.RTN_UNICAST;
      w.ip(C.RTA_DST, `12.${(i >> 8) & 255}.${i & 255}.0`);
      w.ip(C.RTA_GATEWAY, '10.57.4.1');
      w.u32(C.RTA_OIF, eth0);
      w.end();
    }, { window: 64, chunkBytes: 2048 });
    return r;
  }

  it('closing the socket in the middle of a 20,000-route batch: the batch resolves, every request has an outcome, nothing after the close succeeds', async function () {
    const r = await batchClosedHalfway();
    assert.equal(r.count, 20000);
    assert.equal(r.errors.length, 20000);
    assert.ok(r.succeeded > 0 && r.succeeded <= 10000, `${r.succeeded} succeeded`);
    assert.equal(r.failed, 20000 - r.succeeded);
    for (let i = 10000; i < 20000; i++) assert.ok(r.errors[i] instanceof Error, `request ${i} has no error`);
    // Whatever the kernel acknowledged is there (more may be: sent, applied, answer unread).
    const present = (await nl.routes.list({ protocol: 'static' })).length;
    assert.ok(present >= r.succeeded && present <= 10000, `${present} routes, ${r.succeeded} acknowledged`);
  });

  it('closing the socket in the middle of a batch: every request without an answer carries NetlinkClosedError', async function () {
    const r = await batchClosedHalfway();
    for (const e of r.errors) if (e) assert.ok(e instanceof wire.NetlinkClosedError, String(e));
  });

  it('no promise is left pending: lists, batches, a lost request, a monitor and a watching reconciler, all cut off by close()', async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns(), receiveBufferBytes: 32 << 20 });
    await nl.routes.addMany(routeState(5000).routes);
    const timersBefore = timers();
    const t = tracker();
    const r = new Reconciler(nl);
    const cycleErrors = [];
    r.on('error', (e) => cycleErrors.push(e));
    r.watch(overlay([1, 2, 3]), { debounceMs: 0, resyncIntervalMs: 50 });
    const mon = nl.monitor({ groups: ['route', 'link'] });
    let eventsAfterClose = 0;
    let closed = false;
    mon.on('route', () => closed && eventsAfterClose++);
    t.add('links.list', nl.links.list());
    t.add('routes.list', nl.routes.list({ table: 'all' }));
    t.add('neighbors.list', nl.neighbors.list());
    t.add('routes.addMany', nl.routes.addMany(routeState(5000, { first: 5000 }).routes));
    t.add('routes.delMany', nl.routes.delMany(routeState(2000).routes));
    t.add('links.get', nl.links.get('eth0'));
    t.add('lost request', nl.socket.request(unanswerable, { timeoutMs: 60000 }));
    t.add('apply', r.apply(overlay([4, 5])));
    await sleep(5);
    nl.close();
    closed = true;
    t.add('after close', nl.routes.list());
    t.add('stop', r.stop());
    await sleep(100);
    assert.deepEqual(t.pending(), [], 'still pending after close');
    for (const x of t.all) {
      if (x.state === 'rejected') assert.ok(x.value instanceof wire.NetlinkClosedError, `${x.name}: ${x.value && x.value.stack}`);
    }
    assert.equal(t.all.find((x) => x.name === 'lost request').state, 'rejected');
    assert.equal(t.all.find((x) => x.name === 'after close').state, 'rejected');
    // Batches never reject: what they could not finish carries the closed error.
    const many = t.all.find((x) => x.name === 'routes.addMany');
    if (many.state === 'resolved') for (const e of many.value.errors) if (e) assert.ok(e instanceof wire.NetlinkClosedError, String(e));
    assert.ok(mon.isClosed, 'the monitor closed with its Rtnl');
    await sleep(50);
    assert.equal(eventsAfterClose, 0);
    assert.equal(timers(), timersBefore, 'a timer outlived the close (request timeout, debounce, resync or retry)');
  });
});
