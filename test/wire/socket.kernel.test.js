'use strict';
const assert = require('node:assert/strict');
const wire = require('../../dist/wire');
const C = require('../../dist/rtnl/constants');
const raw = require('../support/raw');
const { kernelDescribe, netnsPerTest, threadNetns, ipJson, NETNS_DIR } = require('../support/kernel');

async function links(sock) {
  return sock.dump(raw.getLinkDump, raw.linkOf, { what: 'link dump' });
}

kernelDescribe('wire: NetlinkSocket on the real kernel', function () {
  const ns = netnsPerTest('wire');
  let sock;
  afterEach(function () {
    if (sock) sock.close();
    sock = undefined;
  });

  it('opens a socket inside a named namespace: it sees only that namespace; this thread stays home', async function () {
    const before = threadNetns();
    sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}` });
    assert.equal(threadNetns(), before, 'the calling thread never left its namespace');
    assert.ok(sock.portId > 0);
    await sock.request((w) => raw.newVeth(w, 'nla0', 'nla1'));
    const inside = (await links(sock)).map((l) => l.name).sort();
    assert.deepEqual(inside, ['lo', 'nla0', 'nla1']);
    // The oracle agrees, and the host namespace does not have these links.
    assert.deepEqual(ipJson(ns(), 'link').map((l) => l.ifname).sort(), inside);
    const host = wire.NetlinkSocket.open();
    try {
      const hostNames = (await links(host)).map((l) => l.name);
      assert.ok(!hostNames.includes('nla0'));
    } finally {
      host.close();
    }
    assert.equal(threadNetns(), before);
  });

  it('fails clearly for a namespace that does not exist', function () {
    assert.throws(() => wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/nla-no-such-ns` }), (e) => {
      assert.equal(e.code, 'ENOENT');
      assert.match(e.message, /nla-no-such-ns/);
      return true;
    });
  });

  it('turns on extended acks, strict checking and a large receive buffer: read back with getsockopt', function () {
    // What the kernel holds for the socket, read with getsockopt on its native handle (private
    // in TypeScript): each option as set by open()'s defaults, then each turned the other way.
    const options = (s) => {
      const get = (name) => s.sock.getOption(wire.SOL_NETLINK, name);
      return {
        extendedAck: get(wire.NETLINK_EXT_ACK),
        strictCheck: get(wire.NETLINK_GET_STRICT_CHK),
        capAck: get(wire.NETLINK_CAP_ACK),
        noEnobufs: get(wire.NETLINK_NO_ENOBUFS),
      };
    };
    sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}`, receiveBufferBytes: 8 << 20 });
    assert.deepEqual(options(sock), { extendedAck: 1, strictCheck: 1, capAck: 1, noEnobufs: 0 });
    assert.ok(sock.receiveBufferBytes() >= 8 << 20, `rcvbuf ${sock.receiveBufferBytes()}`);
    const other = wire.NetlinkSocket.open({
      netnsPath: `${NETNS_DIR}/${ns()}`,
      extendedAck: false,
      strictCheck: false,
      capAck: false,
      noEnobufs: true,
      receiveBufferBytes: 64 << 10,
    });
    try {
      assert.deepEqual(options(other), { extendedAck: 0, strictCheck: 0, capAck: 0, noEnobufs: 1 });
      assert.ok(other.receiveBufferBytes() < 8 << 20, `rcvbuf ${other.receiveBufferBytes()}`);
    } finally {
      other.close();
    }
  });

  it('a request the kernel refuses rejects with errno code and the kernel\'s own text', async function () {
    sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}` });
    await assert.rejects(sock.request((w) => raw.newLinkOfKind(w, 'x0', 'nosuchkind'), { what: 'links.add x0' }), (e) => {
      assert.ok(e instanceof wire.NetlinkError, String(e));
      assert.equal(e.code, 'EOPNOTSUPP');
      assert.equal(e.errno, 95);
      assert.match(e.kernelMessage, /Unknown device type/i);
      assert.match(e.message, /^links\.add x0: EOPNOTSUPP/);
      return true;
    });
    await sock.request((w) => raw.newVeth(w, 'a0', 'a1'));
    await assert.rejects(sock.request((w) => raw.newVeth(w, 'a0', 'a2')), { code: 'EEXIST' });
    await assert.rejects(sock.request((w) => raw.getLinkByName(w, 'nope0')), { code: 'ENODEV' });
    const [reply] = await sock.request((w) => raw.getLinkByName(w, 'a0'));
    assert.equal(raw.linkOf(reply).name, 'a0');
  });

  it('a batch of 10,000 requests mixing successes and failures reports exactly the right outcome for each', async function () {
    sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}` });
    await sock.request((w) => raw.newVeth(w, 'u0', 'u1'));
    const [l] = await sock.request((w) => raw.getLinkByName(w, 'u0'));
    const oif = raw.linkOf(l).index;
    await sock.request((w) => raw.setLinkUp(w, oif));
    await sock.request((w) => raw.setLinkUp(w, 1)); // with lo down the kernel calls every gateway invalid
    const N = 10000;
    // Every 7th request repeats the previous route (EEXIST); every 13th names a missing device (ENODEV).
    const kind = (i) => (i % 13 === 12 ? 'nodev' : i % 7 === 6 ? 'dup' : 'ok');
    const dstOf = (i) => {
      const j = kind(i) === 'dup' ? i - 1 : i;
      return `10.${(j >> 8) & 255}.${j & 255}.0`;
    };
    const limitBefore = Error.stackTraceLimit;
    const r = await sock.batch(N, (i, w) =>
      raw.newRoute(w, { dst: dstOf(i), plen: 24, gw: '10.255.0.1', oif: kind(i) === 'nodev' ? 99999 : oif }),
    { what: 'routes.add', describe: (i) => dstOf(i) });
    let expectedFail = 0;
    for (let i = 0; i < N; i++) {
      const k = kind(i);
      // A duplicate of a request that itself failed (nodev) is not a duplicate.
      const dupOfFailed = k === 'dup' && kind(i - 1) === 'nodev';
      const shouldFail = k === 'nodev' || (k === 'dup' && !dupOfFailed);
      if (shouldFail) expectedFail++;
      assert.equal(r.ok(i), !shouldFail, `request ${i} (${k}): ${r.errors[i] && r.errors[i].message}`);
      if (k === 'nodev') assert.equal(r.errors[i].code, 'ENODEV');
      else if (shouldFail) {
        assert.equal(r.errors[i].code, 'EEXIST');
        assert.match(r.errors[i].message, new RegExp(`routes\\.add: ${dstOf(i).replace(/\./g, '\\.')}`));
      }
    }
    assert.equal(r.failed, expectedFail);
    // Batch errors are values: NetlinkErrors without a stack trace (see BatchResult), and the
    // process's own stack trace limit is left as it was.
    const e = r.errors.find(Boolean);
    assert.ok(e instanceof wire.NetlinkError);
    assert.equal(e.stack.split('\n').length, 1, e.stack);
    assert.equal(Error.stackTraceLimit, limitBefore);
    assert.ok(new Error('x').stack.split('\n').length > 1);
    const routes = await sock.dump(raw.getRouteDump, (m) => (m.buf[m.payload + 4] === C.RT_TABLE_MAIN && m.buf[m.payload + 5] === C.RTPROT_STATIC ? 1 : undefined));
    assert.equal(routes.length, N - expectedFail);
  });

  it('drainInto() copies a read into the caller\'s buffers as drain() hands it out; a table too small gets drain()\'s own result', async function () {
    sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}` });
    await sock.request((w) => raw.newVeth(w, 'd0', 'd1'));
    sock.close();
    sock = undefined;
    const { nativeKernel } = require('../../dist/addon');
    const s = nativeKernel().openSocket(0, `${NETNS_DIR}/${ns()}`, -1);
    try {
      // RTM_GETLINK dump: nlmsghdr + ifinfomsg, seq 7. A quiet namespace answers the same bytes each time.
      const req = Buffer.alloc(32);
      req.writeUInt32LE(32, 0);
      req.writeUInt16LE(C.RTM_GETLINK, 4);
      req.writeUInt16LE(0x301, 6); // NLM_F_REQUEST | NLM_F_DUMP
      req.writeUInt32LE(7, 8);
      // The messages of a read, in order (the kernel may split them into datagrams differently each time).
      const datagrams = (data, meta, metaBytes) => {
        const out = [];
        for (let k = 0; k < metaBytes; k += 16) out.push(data.subarray(meta.readUInt32LE(k), meta.readUInt32LE(k) + meta.readUInt32LE(k + 4)));
        return Buffer.concat(out);
      };
      s.send(req, 0, 32);
      const [d0, m0, e0] = s.drain(256 * 1024);
      assert.equal(e0, 0);
      const expected = datagrams(d0, m0, m0.length);
      assert.ok(m0.length >= 32, 'the links and NLMSG_DONE: two datagrams at least');
      const data = Buffer.alloc(256 * 1024);
      const meta = Buffer.alloc(1024 * 16);
      s.send(req, 0, 32);
      const r = s.drainInto(data, meta, 256 * 1024, false);
      assert.equal(typeof r, 'number');
      assert.equal(r >>> 16, 0, 'no errno');
      assert.deepEqual(datagrams(data, meta, (r & 0xffff) * 16), expected);
      assert.equal(s.drainInto(data, meta, 256 * 1024, false), null, 'nothing left');
      // A table of one datagram cannot hold them: the read is not lost, it comes back as drain()'s.
      s.send(req, 0, 32);
      const small = s.drainInto(data, Buffer.alloc(16), 256 * 1024, false);
      assert.ok(Array.isArray(small));
      assert.deepEqual(datagrams(small[0], small[1], small[1].length), expected);
      assert.throws(() => s.drainInto('x', meta), TypeError);
    } finally {
      s.close();
    }
  });

  it('a datagram from another netlink port is ignored', async function () {
    const path = `${NETNS_DIR}/${ns()}`;
    sock = wire.NetlinkSocket.open({ netnsPath: path });
    const other = wire.NetlinkSocket.open({ netnsPath: path });
    try {
      let seen = 0;
      sock.on('message', () => seen++);
      const forged = Buffer.alloc(32);
      forged.writeUInt32LE(32, 0);
      forged.writeUInt16LE(C.RTM_NEWLINK, 4);
      other.sendToPort(forged, sock.portId);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(sock.droppedForeign, 1);
      assert.equal(seen, 0);
      // The socket still works afterwards.
      assert.ok((await links(sock)).length >= 1);
    } finally {
      other.close();
    }
  });
  describe('the in-flight window of batch()', function () {
    /** A namespace with eth0 up (a veth), and the socket. Returns eth0's index. */
    async function setup() {
      sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}` });
      await sock.request((w) => raw.newVeth(w, 'eth0', 'eth0p'));
      const [l] = await sock.request((w) => raw.getLinkByName(w, 'eth0'));
      const oif = raw.linkOf(l).index;
      await sock.request((w) => raw.setLinkUp(w, oif));
      await sock.request((w) => raw.setLinkUp(w, 1));
      return oif;
    }
    const dst = (i) => `10.${(i >> 8) & 255}.${i & 255}.0`;

    it('never has more than the window (default 512) un-acknowledged, even when one send could hold them all', async function () {
      const oif = await setup();
      assert.equal(sock.peakUnackedRequests, 0);
      // 4 MiB per send would fit all 5,000 routes: only the window splits them.
      const r = await sock.batch(5000, (i, w) => raw.newRoute(w, { dst: dst(i), plen: 24, gw: '10.255.0.1', oif }), { chunkBytes: 4 << 20 });
      assert.equal(r.failed, 0, String(r.errors.find(Boolean)));
      assert.equal(sock.peakUnackedRequests, 512, 'the high-water mark of un-acked requests is the default window');
      // A smaller window is held too (the mark only rises, so use a fresh socket).
      sock.close();
      sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}` });
      const r2 = await sock.batch(5000, (i, w) => raw.newRoute(w, { dst: dst(i), plen: 24, gw: '10.255.0.1', oif, flags: wire.NLM_F_CREATE | wire.NLM_F_REPLACE }), {
        chunkBytes: 4 << 20,
        window: 64,
      });
      assert.equal(r2.failed, 0, String(r2.errors.find(Boolean)));
      assert.equal(sock.peakUnackedRequests, 64);
    });

    it('with the smallest receive buffer, a bounded window gets every answer; an unbounded one overflows and loses answers', async function () {
      // Every request fails (no such device), so every request gets an answer of its own: the
      // window bounds how many answers the kernel queues for us before we read them.
      await setup();
      const N = 2000;
      const failing = (i, w) => raw.newRoute(w, { dst: dst(i), plen: 24, gw: '10.255.0.1', oif: 99999 });
      const run = async (window) => {
        sock.setReceiveBuffer(1); // the kernel's minimum (SOCK_MIN_RCVBUF)
        let overflows = 0;
        sock.on('overflow', () => overflows++);
        const r = await sock.batch(N, failing, { chunkBytes: 1 << 20, window });
        const codes = {};
        for (const e of r.errors) codes[e.code] = (codes[e.code] || 0) + 1;
        sock.removeAllListeners('overflow');
        return { overflows, codes, peak: sock.peakUnackedRequests };
      };
      const bounded = await run(2);
      assert.deepEqual(bounded, { overflows: 0, codes: { ENODEV: N }, peak: 2 });
      const unbounded = await run(N);
      assert.equal(unbounded.peak, N);
      assert.ok(unbounded.overflows >= 1, JSON.stringify(unbounded));
      assert.ok(unbounded.codes.ENOBUFS >= 1, `answers lost to the overflow: ${JSON.stringify(unbounded)}`);
    });
  });
});
