'use strict';
// MemoryKernel itself: namespaces, sockets at the NativeSocket level (acks, errors, extended
// acks, dumps, memberships), and the test controls. What it shares with the real kernel is
// proved by the contract tests (test/rtnl/contract/); this file covers what only the fake has.
const assert = require('node:assert/strict');
const { MemoryKernel, Rtnl, NetlinkSocket, GenlSocket, MessageWriter, constants: C } = require('../../dist');
const W = require('../../dist/wire');
const { parseMessages, parseAckError } = W;

/** Sends raw bytes on a native socket of the kernel and returns every message that came back. */
function roundTrip(sock, bytes) {
  sock.send(bytes, 0, bytes.length);
  const out = [];
  for (;;) {
    const r = sock.drain();
    if (!r) return out;
    const [data, meta] = r;
    for (let k = 0; k < meta.length; k += 16) out.push(...parseMessages(Buffer.from(data.subarray(meta.readUInt32LE(k), meta.readUInt32LE(k) + meta.readUInt32LE(k + 4)))));
  }
}

/** Encodes messages back to back: [type, flags, seq, fill(w)]. */
function messages(...list) {
  const w = new MessageWriter(256);
  for (const [type, flags, seq, fill] of list) {
    const off = w.begin(type, flags);
    fill(w);
    w.end();
    w.buf.writeUInt32LE(seq, off + 8);
  }
  return Buffer.from(w.bytes());
}

const ifinfo = (w) => w.reserve(C.IFINFOMSG_LEN);
const bridgeAdd = (name) => (w) => {
  ifinfo(w);
  w.string(C.IFLA_IFNAME, name);
  const li = w.nestStart(C.IFLA_LINKINFO);
  w.string(C.IFLA_INFO_KIND, 'bridge');
  w.nestEnd(li);
};

describe('memory: MemoryKernel namespaces and sockets', function () {
  it('a namespace is reached by name or by its /run/netns path; a missing one is a Node-style ENOENT', async function () {
    const kernel = new MemoryKernel();
    kernel.createNamespace('h1');
    assert.throws(() => kernel.createNamespace('h1'), { code: 'EEXIST' });
    const a = await Rtnl.open({ kernel, netns: 'h1' });
    const b = await Rtnl.open({ kernel, netns: '/run/netns/h1' });
    await a.links.add({ kind: 'bridge', name: 'br0' });
    assert.deepEqual((await b.links.list()).map((l) => l.name), ['lo', 'br0']);
    await assert.rejects(Rtnl.open({ kernel, netns: 'nope' }), { code: 'ENOENT', syscall: 'open' });
    const home = await Rtnl.open({ kernel });
    assert.deepEqual((await home.links.list()).map((l) => l.name), ['lo'], 'the initial namespace is its own');
    for (const h of [a, b, home]) h.close();
    assert.equal(kernel.openSockets(), 0);
    assert.deepEqual(kernel.namespaces(), ['h1']);
  });

  it('deleting a namespace takes its devices, and a veth peer in another namespace with them', async function () {
    const kernel = new MemoryKernel();
    kernel.createNamespace('h1');
    kernel.createNamespace('pod');
    const nl = await Rtnl.open({ kernel, netns: 'h1' });
    await nl.links.add({ kind: 'veth', name: 'veth-h', peer: { name: 'eth0', netns: 'pod' } });
    kernel.deleteNamespace('pod');
    assert.deepEqual(kernel.namespace('h1').deviceNames(), ['lo']);
    assert.throws(() => kernel.deleteNamespace('pod'), { code: 'ENOENT' });
    await assert.rejects(Rtnl.open({ kernel, netns: 'pod' }), { code: 'ENOENT' });
    nl.close();
  });

  it('only rtnetlink: a generic netlink socket is EPROTONOSUPPORT', function () {
    const kernel = new MemoryKernel();
    assert.throws(() => NetlinkSocket.open({ kernel, protocol: 16 }), { code: 'EPROTONOSUPPORT' });
    assert.throws(() => GenlSocket.open({ kernel }), { code: 'EPROTONOSUPPORT' });
  });

  it('a kernel without a kind answers "Unknown device type" for it', async function () {
    const kernel = new MemoryKernel({ kinds: ['veth'] });
    const nl = await Rtnl.open({ kernel });
    await assert.rejects(nl.links.add({ kind: 'bridge', name: 'br0' }), (e) => e.code === 'EOPNOTSUPP' && e.kernelMessage === 'Unknown device type');
    await nl.links.add({ kind: 'veth', name: 'a', peer: { name: 'b' } });
    nl.close();
  });

  it('acks only what asks for one: a batch of three with NLM_F_ACK on the last gets one ack, and an error for a failure anywhere', function () {
    const kernel = new MemoryKernel();
    const sock = kernel.openSocket(0, null, -1);
    sock.setOption(W.SOL_NETLINK, W.NETLINK_CAP_ACK, 1);
    const REQ = W.NLM_F_REQUEST | W.NLM_F_CREATE | W.NLM_F_EXCL;
    const replies = roundTrip(
      sock,
      messages([C.RTM_NEWLINK, REQ, 1, bridgeAdd('br0')], [C.RTM_NEWLINK, REQ, 2, bridgeAdd('br0')], [C.RTM_NEWLINK, REQ | W.NLM_F_ACK, 3, bridgeAdd('br1')]),
    );
    assert.deepEqual(
      replies.map((m) => [m.type, m.seq, parseAckError(m).errno, m.flags]),
      [
        [W.NLMSG_ERROR, 2, -17, W.NLM_F_CAPPED],
        [W.NLMSG_ERROR, 3, 0, W.NLM_F_CAPPED],
      ],
    );
    assert.equal(replies[0].pid, sock.portId());
  });

  it('without NETLINK_CAP_ACK an error echoes the whole request; with NETLINK_EXT_ACK it carries the kernel text', function () {
    const kernel = new MemoryKernel();
    const sock = kernel.openSocket(0, null, -1);
    const bad = messages([C.RTM_NEWLINK, W.NLM_F_REQUEST | W.NLM_F_CREATE, 7, (w) => {
      ifinfo(w);
      w.string(C.IFLA_IFNAME, 'x0');
      const li = w.nestStart(C.IFLA_LINKINFO);
      w.string(C.IFLA_INFO_KIND, 'nosuchkind');
      w.nestEnd(li);
    }]);
    const [plain] = roundTrip(sock, bad);
    assert.equal(plain.flags, 0);
    assert.equal(plain.end - plain.payload, 4 + bad.length, 'the request is echoed whole');
    assert.equal(parseAckError(plain).ack.message, undefined);
    sock.setOption(W.SOL_NETLINK, W.NETLINK_EXT_ACK, 1);
    sock.setOption(W.SOL_NETLINK, W.NETLINK_CAP_ACK, 1);
    const [ext] = roundTrip(sock, bad);
    assert.equal(ext.flags, W.NLM_F_CAPPED | W.NLM_F_ACK_TLVS);
    assert.deepEqual(parseAckError(ext), { errno: -95, ack: { message: 'Unknown device type' } });
  });

  it('a malformed message ends the datagram silently; a malformed attribute is EINVAL', function () {
    const kernel = new MemoryKernel();
    const sock = kernel.openSocket(0, null, -1);
    const broken = Buffer.alloc(20);
    broken.writeUInt32LE(200, 0); // nlmsg_len past the end
    assert.deepEqual(roundTrip(sock, broken), []);
    const badAttr = messages([C.RTM_NEWLINK, W.NLM_F_REQUEST | W.NLM_F_ACK, 1, (w) => {
      ifinfo(w);
      const off = w.reserve(8);
      w.buf.writeUInt16LE(200, off); // nla_len past the end
      w.buf.writeUInt16LE(C.IFLA_IFNAME, off + 2);
    }]);
    const [err] = roundTrip(sock, badAttr);
    assert.equal(parseAckError(err).errno, -22);
  });

  it('a dump ends with NLMSG_DONE; NLM_F_DUMP_FILTERED when the kernel filtered', function () {
    const kernel = new MemoryKernel();
    const sock = kernel.openSocket(0, null, -1);
    sock.setOption(W.SOL_NETLINK, W.NETLINK_GET_STRICT_CHK, 1);
    roundTrip(sock, messages([C.RTM_NEWLINK, W.NLM_F_REQUEST | W.NLM_F_CREATE, 1, bridgeAdd('br0')]));
    const all = roundTrip(sock, messages([C.RTM_GETLINK, W.NLM_F_REQUEST | W.NLM_F_DUMP, 2, ifinfo]));
    assert.deepEqual(all.map((m) => [m.type, m.flags]), [
      [C.RTM_NEWLINK, W.NLM_F_MULTI],
      [C.RTM_NEWLINK, W.NLM_F_MULTI],
      [W.NLMSG_DONE, W.NLM_F_MULTI],
    ]);
    const kind = roundTrip(sock, messages([C.RTM_GETLINK, W.NLM_F_REQUEST | W.NLM_F_DUMP, 3, (w) => {
      ifinfo(w);
      const li = w.nestStart(C.IFLA_LINKINFO);
      w.string(C.IFLA_INFO_KIND, 'bridge');
      w.nestEnd(li);
    }]));
    assert.deepEqual(kind.map((m) => [m.type, m.flags]), [
      [C.RTM_NEWLINK, W.NLM_F_MULTI | W.NLM_F_DUMP_FILTERED],
      [W.NLMSG_DONE, W.NLM_F_MULTI | W.NLM_F_DUMP_FILTERED],
    ]);
  });

  it('a datagram to another port arrives from that port; NetlinkSocket drops it as foreign', async function () {
    const kernel = new MemoryKernel();
    const a = NetlinkSocket.open({ kernel });
    const b = NetlinkSocket.open({ kernel });
    a.sendToPort(messages([C.RTM_NEWLINK, 0, 0, ifinfo]), b.portId);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(b.droppedForeign, 1);
    assert.throws(() => a.sendToPort(Buffer.alloc(16), 12345), { code: 'ECONNREFUSED' });
    a.close();
    b.close();
  });

  it('a closed socket refuses every call with EBADF, as the addon does', function () {
    const kernel = new MemoryKernel();
    const sock = kernel.openSocket(0, null, -1);
    sock.close();
    assert.throws(() => sock.portId(), { code: 'EBADF' });
    assert.throws(() => sock.send(Buffer.alloc(16), 0, 16), { code: 'EBADF' });
    assert.equal(sock.drain(), null);
    assert.equal(kernel.openSockets(), 0);
  });

  it('memberships: an unknown group is EINVAL; the receive buffer is doubled as the kernel does', function () {
    const kernel = new MemoryKernel();
    const sock = kernel.openSocket(0, null, -1);
    assert.throws(() => sock.setOption(W.SOL_NETLINK, W.NETLINK_ADD_MEMBERSHIP, 999), { code: 'EINVAL' });
    assert.equal(sock.setBuffer(0, 4096, true), 8192);
    assert.equal(sock.getOption(W.SOL_SOCKET, 8), 8192);
  });
});

describe('memory: MemoryKernel test controls', function () {
  let kernel;
  let ns;
  let nl;
  beforeEach(async function () {
    kernel = new MemoryKernel();
    ns = kernel.createNamespace('h1');
    nl = await Rtnl.open({ kernel, netns: 'h1' });
  });
  afterEach(function () {
    nl.close();
  });

  it('failNext refuses the next request of a type (count times) with errno and text, then lets requests through', async function () {
    ns.failNext('EBUSY', { type: C.RTM_NEWLINK, message: 'try later', count: 2 });
    await nl.links.list(); // other types pass
    for (let i = 0; i < 2; i++) {
      await assert.rejects(nl.links.add({ kind: 'bridge', name: 'br0' }), (e) => e.code === 'EBUSY' && e.kernelMessage === 'try later');
    }
    await nl.links.add({ kind: 'bridge', name: 'br0' });
    ns.failNext(28); // any type, by number (ENOSPC)
    await assert.rejects(nl.links.list(), { code: 'ENOSPC' });
    assert.throws(() => ns.failNext('ENOSUCHTHING'), RangeError);
  });

  it('interruptNextDump marks dumps NLM_F_DUMP_INTR: NetlinkSocket restarts them, and gives up after maxRetries', async function () {
    await nl.links.add({ kind: 'bridge', name: 'br0' });
    ns.interruptNextDump(2);
    assert.deepEqual((await nl.links.list()).map((l) => l.name), ['lo', 'br0']);
    ns.interruptNextDump(10);
    const dump = nl.socket.dump((w) => {
      w.begin(C.RTM_GETLINK, W.NLM_F_DUMP);
      w.reserve(C.IFINFOMSG_LEN);
      w.end();
    }, (m) => m.type, { maxRetries: 2 });
    await assert.rejects(dump, { code: 'EINTR' });
  });

  it('overflowMonitors: every listening socket reports overflow; the others are untouched', async function () {
    const mon = nl.monitor({ groups: ['link'] });
    let overflows = 0;
    mon.on('overflow', () => overflows++);
    ns.overflowMonitors();
    for (let i = 0; i < 5 && !overflows; i++) await new Promise((r) => setImmediate(r));
    assert.equal(overflows, 1);
    await nl.links.list(); // the request socket still works
  });

  it('dropEvents loses events without a trace; dropEvents(0) lets them flow again', async function () {
    const mon = nl.monitor({ groups: ['link'] });
    const seen = [];
    let overflows = 0;
    mon.on('link', (e) => seen.push(`${e.action} ${e.object.name}`));
    mon.on('overflow', () => overflows++);
    ns.dropEvents(1_000);
    await nl.links.add({ kind: 'bridge', name: 'br0' });
    ns.dropEvents(0);
    await nl.links.add({ kind: 'bridge', name: 'br1' });
    for (let i = 0; i < 5 && !seen.length; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual([...new Set(seen)], ['new br1']);
    assert.equal(overflows, 0);
  });

  it('requests() counts what the namespace received, by type', async function () {
    await nl.links.add({ kind: 'veth', name: 'a', peer: { name: 'b' } });
    await nl.routes.list();
    assert.equal(ns.requests(C.RTM_NEWLINK), 1);
    assert.equal(ns.requests(C.RTM_GETROUTE), 1);
    assert.equal(ns.requests(), ns.requests(C.RTM_NEWLINK) + ns.requests(C.RTM_GETLINK) + ns.requests(C.RTM_GETROUTE));
    ns.resetRequests();
    assert.equal(ns.requests(), 0);
  });

  it('a monitor on a small receive buffer overflows by itself when events pile up', async function () {
    await nl.links.add({ kind: 'veth', name: 'a', peer: { name: 'b' }, up: true });
    await nl.addresses.add({ dev: 'a', address: '10.0.0.1/16' });
    const mon = nl.monitor({ groups: ['route'], receiveBufferBytes: 1024 });
    let overflows = 0;
    let routes = 0;
    mon.on('overflow', () => overflows++);
    mon.on('route', () => routes++);
    const specs = Array.from({ length: 50 }, (_, i) => ({ dst: `10.1.${i}.0/24`, via: '10.0.0.2' }));
    await nl.routes.addMany(specs);
    for (let i = 0; i < 10 && !overflows; i++) await new Promise((r) => setImmediate(r));
    assert.equal(overflows, 1);
    assert.ok(routes < 50, `${routes} events got through a 2 KiB buffer`);
  });
});
