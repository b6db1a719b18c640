'use strict';
// Privilege: a process without CAP_NET_ADMIN (a child that opened its socket as root, then
// became nobody, which clears every capability) can still read everything, and every modifying
// call fails with NetlinkError EPERM whose message says which privilege is missing. Nothing
// changes in the namespace.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const wire = require('../../dist/wire');
const { FakeNative, message } = require('../support/fake-native');
const { kernelDescribe, netnsPerTest, ip } = require('../support/kernel');
const { underlay, runChildSync } = require('./helpers');

/** An NLMSG_ERROR that echoes a request header of the given type (as the kernel does, capped). */
function ackFor(seq, pid, errno, requestType) {
  const body = Buffer.alloc(20);
  body.writeInt32LE(errno, 0);
  body.writeUInt32LE(16, 4);
  body.writeUInt16LE(requestType, 8);
  return message(wire.NLMSG_ERROR, wire.NLM_F_CAPPED, seq, pid, body);
}

function snapshot(ns) {
  return {
    links: ip(ns, '-d', 'link', 'show'),
    // A link-local address may still be in duplicate address detection when the first snapshot
    // is taken: its "tentative" mark is the kernel's own progress, not a change made by the test.
    addr: ip(ns, 'addr', 'show').replace(/ tentative/g, ''),
    // Likewise the local route of a link-local address appears when its DAD completes, which a
    // loaded machine may reach only after the first snapshot.
    routes: ip(ns, 'route', 'show', 'table', 'all')
      .split('\n')
      .filter((l) => !/^local fe80::/.test(l))
      .join('\n'),
    neigh: ip(ns, 'neigh', 'show', 'nud', 'permanent'),
    fdb: execFileSync('ip', ['netns', 'exec', ns, 'bridge', 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' }),
  };
}

describe('reliability: privilege', function () {
  it('EPERM on a request that changes state names the missing privilege; on a read it does not claim so', async function () {
    const fake = new FakeNative();
    const sock = wire.NetlinkSocket.fromNative(fake);
    try {
      const RTM_NEWROUTE = 24;
      const RTM_GETLINK = 18;
      fake.onSend = (msgs, f) => f.reply(msgs.map((m) => ackFor(m.seq, m.pid, -1, m.type)));
      const req = (type) => (w) => {
        w.begin(type, 0);
        w.reserve(12);
        w.end();
      };
      await assert.rejects(sock.request(req(RTM_NEWROUTE), { what: 'routes.add 10.0.0.0/24' }), (e) => {
        assert.ok(e instanceof wire.NetlinkError);
        assert.equal(e.code, 'EPERM');
        assert.match(e.message, /^routes\.add 10\.0\.0\.0\/24: EPERM: operation not permitted; /i);
        assert.ok(e.message.includes(wire.NEEDS_CAP_NET_ADMIN), e.message);
        return true;
      });
      await assert.rejects(sock.request(req(RTM_GETLINK)), (e) => e.code === 'EPERM' && !e.message.includes('CAP_NET_ADMIN'));
      const batch = await sock.batch(3, (i, w) => req(RTM_NEWROUTE)(w));
      assert.equal(batch.failed, 3);
      for (const e of batch.errors) assert.ok(e.code === 'EPERM' && e.message.includes(wire.NEEDS_CAP_NET_ADMIN), String(e));
    } finally {
      sock.close();
    }
  });

  kernelDescribe('on the real kernel, in a process that dropped its capabilities', function () {
    this.timeout(60000);
    const ns = netnsPerTest('priv');

    it('every modifying call fails with EPERM and a sentence saying CAP_NET_ADMIN is needed; every read works; nothing changes', function () {
      underlay(ns());
      ip(ns(), 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'dev', 'eth0', 'nolearning');
      ip(ns(), 'route', 'add', '10.98.0.0/24', 'via', '10.57.4.1', 'dev', 'eth0');
      ip(ns(), 'neigh', 'add', '10.57.4.40', 'lladdr', '02:00:00:00:00:40', 'dev', 'eth0', 'nud', 'permanent');
      execFileSync('ip', ['netns', 'exec', ns(), 'bridge', 'fdb', 'append', '02:00:00:00:00:40', 'dev', 'vxlan0', 'dst', '10.57.4.40']);
      const before = snapshot(ns());

      const run = runChildSync('unprivileged.js', [ns()]);
      assert.equal(run.code, 0, run.stderr);
      const out = JSON.parse(run.stdout);
      assert.equal(out.uid, 65534);
      assert.equal(BigInt(`0x${out.capEff}`), 0n, 'the child has no effective capability left');

      for (const [name, r] of Object.entries(out.reads)) assert.ok(r.ok, `${name}: ${r.message}`);
      assert.ok(out.reads['routes.list'].count >= 2 && out.reads['neighbors.list'].count >= 1 && out.reads['fdb.list'].count >= 1);

      const writes = Object.entries(out.writes);
      assert.equal(writes.length, 26); // every modifying method of links, addresses, routes, neighbours, FDB
      const check = (name, e) => {
        assert.equal(e.name, 'NetlinkError', `${name}: ${JSON.stringify(e)}`);
        assert.equal(e.code, 'EPERM', `${name}: ${e.message}`);
        assert.equal(e.errno, 1);
        assert.ok(e.message.includes(wire.NEEDS_CAP_NET_ADMIN), `${name}: ${e.message}`);
      };
      for (const [name, w] of writes) {
        assert.ok(!w.ok, `${name} succeeded without CAP_NET_ADMIN`);
        if (w.batch) {
          assert.ok(w.count >= 1);
          w.errors.forEach((e, i) => check(`${name}[${i}]`, e));
        } else check(name, w);
      }
      // The message names the object too, so that a log line is enough to act on.
      assert.match(out.writes['routes.add'].message, /^routes\.add 10\.99\.0\.0\/24/);

      assert.ok(out.reconciler.planned >= 3);
      assert.equal(out.reconciler.converged, false);
      assert.equal(out.reconciler.failed.length, out.reconciler.planned);
      for (const f of out.reconciler.failed) check(f.key, f);

      assert.deepEqual(snapshot(ns()), before, 'the namespace changed');
    });
  });
});
