'use strict';
// The I/O threads of a socket on the real kernel (NetlinkSocketOptions.ioThreads): the send
// thread is started by a batch of more than one send, the read-ahead thread by a dump of more
// than one slice, and both end with close(); every request gets the same outcome with them and
// without, also when the kernel refuses a whole send, and when the socket is closed mid-way.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const wire = require('../../dist/wire');
const C = require('../../dist/rtnl/constants');
const raw = require('../support/raw');
const { kernelDescribe, netnsPerTest, NETNS_DIR } = require('../support/kernel');

/** Threads of this process with this name: the addon's send thread is nla-send
 * (native/sender.c), its read-ahead thread nla-recv (native/rx.c). */
const threadsNamed = (name) =>
  fs.readdirSync('/proc/self/task').filter((t) => {
    try {
      return fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === name;
    } catch {
      return false; // the thread ended while we looked
    }
  }).length;
const sendThreads = () => threadsNamed('nla-send');
const readThreads = () => threadsNamed('nla-recv');

/** The count after close(): pthread_join returns when the kernel clears the thread's tid, a moment
 * before its /proc entry goes; give that moment (up to 1 s), not more. */
async function settledCount(count, want) {
  for (let wait = 0; wait < 200 && count() !== want; wait++) await new Promise((r) => setTimeout(r, 5));
  return count();
}

async function links(sock) {
  return sock.dump(raw.getLinkDump, raw.linkOf);
}

const dst = (i) => `10.${(i >> 8) & 255}.${i & 255}.0`;

kernelDescribe('wire: the I/O threads of a socket on the real kernel', function () {
  this.timeout(60000);
  const ns = netnsPerTest('send');
  const open = (opts) => wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}`, ...opts });
  let socks = [];
  afterEach(function () {
    for (const s of socks) s.close();
    socks = [];
  });

  /** eth0 up (a veth) and lo up; returns eth0's index. */
  async function setup() {
    const sock = open();
    socks.push(sock);
    await sock.request((w) => raw.newVeth(w, 'eth0', 'eth0p'));
    const [l] = await sock.request((w) => raw.getLinkByName(w, 'eth0'));
    const oif = raw.linkOf(l).index;
    await sock.request((w) => raw.setLinkUp(w, oif));
    await sock.request((w) => raw.setLinkUp(w, 1));
    return oif;
  }

  async function routeCount(sock) {
    const rows = await sock.dump(raw.getRouteDump, (m) => (m.buf[m.payload + 4] === C.RT_TABLE_MAIN && m.buf[m.payload + 5] === C.RTPROT_STATIC ? 1 : undefined));
    return rows.length;
  }

  it('a batch of more than one send starts one thread for its socket (none when ioThreads is off); close() ends it', async function () {
    const oif = await setup();
    const before = sendThreads();
    const off = open({ ioThreads: false });
    socks.push(off);
    const r0 = await off.batch(3000, (i, w) => raw.newRoute(w, { dst: dst(i), plen: 24, gw: '10.255.0.1', oif }));
    assert.equal(r0.failed, 0, String(r0.errors.find(Boolean)));
    assert.equal(sendThreads(), before, 'ioThreads: false sends on the calling thread');
    const on = open({ ioThreads: true });
    const small = await on.batch(10, (i, w) => raw.newRoute(w, { dst: dst(5000 + i), plen: 24, gw: '10.255.0.1', oif }));
    assert.equal(small.failed, 0);
    assert.equal(sendThreads(), before, 'a batch that fits in one send needs no thread');
    const r1 = await on.batch(3000, (i, w) => raw.newRoute(w, { dst: dst(i), plen: 24, gw: '10.255.0.1', oif, flags: wire.NLM_F_CREATE | wire.NLM_F_REPLACE }));
    assert.equal(r1.failed, 0, String(r1.errors.find(Boolean)));
    assert.equal(sendThreads(), before + 1);
    const r2 = await on.batch(3000, (i, w) => raw.newRoute(w, { dst: dst(i), plen: 24, gw: '10.255.0.1', oif, flags: wire.NLM_F_CREATE | wire.NLM_F_REPLACE }));
    assert.equal(r2.failed, 0);
    assert.equal(sendThreads(), before + 1, 'the same thread serves the next batch');
    on.close();
    assert.equal(await settledCount(sendThreads, before), before, 'close() ends the thread');
    assert.equal(await routeCount(socks[0]), 3010);
  });

  it('10,000 requests mixing successes and failures: the same outcome for each with and without the thread', async function () {
    const oif = await setup();
    // Every 7th request repeats the previous route (EEXIST); every 13th names a missing device (ENODEV).
    const kind = (i) => (i % 13 === 12 ? 'nodev' : i % 7 === 6 ? 'dup' : 'ok');
    const N = 10000;
    const outcomes = {};
    for (const ioThreads of [true, false]) {
      const sock = open({ ioThreads });
      socks.push(sock);
      const table = ioThreads ? 100 : 101; // each run in a table of its own
      const r = await sock.batch(N, (i, w) => {
        const j = kind(i) === 'dup' ? i - 1 : i;
        raw.newRoute(w, { dst: dst(j), plen: 24, gw: '10.255.0.1', oif: kind(i) === 'nodev' ? 99999 : oif, table });
      });
      outcomes[ioThreads] = Array.from({ length: N }, (_, i) => (r.ok(i) ? 'ok' : r.errors[i].code));
    }
    assert.deepEqual(outcomes.true, outcomes.false);
    const count = (code) => outcomes.true.filter((o) => o === code).length;
    assert.equal(count('ENODEV'), Math.floor(N / 13));
    assert.ok(count('EEXIST') > 1000 && count('ok') > 7000, JSON.stringify({ EEXIST: count('EEXIST'), ok: count('ok') }));
  });

  it('a send the kernel refuses whole (EMSGSIZE) fails exactly the requests in it, with and without the thread; later acks do not answer them', async function () {
    const oif = await setup();
    const N = 3000;
    const big = (i) => i % 97 === 50;
    const outcomes = {};
    for (const ioThreads of [true, false]) {
      // The kernel doubles the 4 KiB asked: a send over 8 KiB - 32 is refused (EMSGSIZE).
      const sock = open({ ioThreads, sendBufferBytes: 4096 });
      socks.push(sock);
      const table = ioThreads ? 102 : 103;
      const r = await sock.batch(
        N,
        (i, w) => {
          if (!big(i)) return raw.newRoute(w, { dst: dst(i), plen: 24, gw: '10.255.0.1', oif, table });
          w.begin(C.RTM_NEWROUTE, wire.NLM_F_CREATE);
          w.reserve(C.RTMSG_LEN);
          w.binary(C.RTA_UNSPEC, Buffer.alloc(9000)); // never parsed: the send is refused first
          w.end();
        },
        { chunkBytes: 1024 },
      );
      outcomes[ioThreads] = Array.from({ length: N }, (_, i) => (r.ok(i) ? 'ok' : r.errors[i].code));
      const failed = outcomes[ioThreads].flatMap((o, i) => (o === 'ok' ? [] : [i]));
      for (const i of failed) {
        assert.equal(r.errors[i].code, 'EMSGSIZE', `request ${i}: ${r.errors[i]}`);
        assert.equal(r.errors[i].syscall, 'sendto');
        // In the same send as a big request: one at or after it, before the next big one.
        let k = i;
        while (!big(k)) k++;
        assert.ok(k - i < 20, `request ${i} failed, the next big request is ${k}`);
      }
      for (let i = 0; i < N; i++) if (big(i)) assert.equal(outcomes[ioThreads][i], 'EMSGSIZE');
      assert.ok(failed.length > Math.ceil(N / 97), 'the small requests sent with a big one failed with it');
      const present = (
        await socks[0].dump(raw.getRouteDump, (m) => {
          let table = m.buf[m.payload + 4];
          wire.forEachAttr(m.buf, m.payload + C.RTMSG_LEN, m.end, (type, off) => {
            if (type === C.RTA_TABLE) table = m.buf.readUInt32LE(off);
          });
          return table === (ioThreads ? 102 : 103) ? 1 : undefined;
        })
      ).length;
      assert.equal(present, r.succeeded, 'every request reported done is in the kernel, no other');
    }
    assert.deepEqual(outcomes.true, outcomes.false);
  });

  it('a dump of more than one slice is read ahead on one thread: the same messages in the same order as without; close() ends it', async function () {
    const oif = await setup();
    const N = 30000; // about 2 MB of route messages: several 256 KiB slices
    const add = await socks[0].batch(N, (i, w) => raw.newRoute(w, { dst: `11.${(i >> 8) & 255}.${i & 255}.0`, plen: 24, gw: '10.255.0.1', oif }));
    assert.equal(add.failed, 0);
    const before = readThreads();
    const dumps = {};
    for (const ioThreads of [true, false]) {
      const sock = open({ ioThreads });
      // Every message as bytes (sequence number and port id aside): order and content must agree.
      const all = await sock.dump(raw.getRouteDump, (m) => {
        const b = Buffer.from(m.buf.subarray(m.start, m.end));
        b.writeUInt32LE(0, 8);
        b.writeUInt32LE(0, 12);
        return b.toString('hex');
      });
      dumps[ioThreads] = all;
      assert.equal(readThreads(), before + (ioThreads ? 1 : 0), `read threads with ioThreads ${ioThreads}`);
      sock.close();
      assert.equal(await settledCount(readThreads, before), before, 'close() ends the read thread');
    }
    assert.ok(dumps.true.length >= N, `${dumps.true.length} routes dumped`);
    assert.deepEqual(dumps.true, dumps.false);
    const small = open({ ioThreads: true });
    socks.push(small);
    assert.ok((await links(small)).length >= 3);
    assert.equal(readThreads(), before, 'a dump of one slice needs no thread');
  });

  it('close() in the middle of a read-ahead dump rejects it and everything queued behind it; the socket ends its threads', async function () {
    const oif = await setup();
    await socks[0].batch(30000, (i, w) => raw.newRoute(w, { dst: `11.${(i >> 8) & 255}.${i & 255}.0`, plen: 24, gw: '10.255.0.1', oif }));
    const before = readThreads();
    const sock = open({ ioThreads: true });
    let seen = 0;
    const first = sock.dump(raw.getRouteDump, () => {
      if (++seen === 10000) sock.close();
      return 1;
    });
    const queued = sock.dump(raw.getRouteDump, () => 1);
    await assert.rejects(first, wire.NetlinkClosedError);
    await assert.rejects(queued, wire.NetlinkClosedError);
    assert.ok(seen >= 10000 && seen < 30000, `${seen} parsed`);
    assert.equal(readThreads(), before);
  });

  it('1,000 sockets opened, used with both threads and closed leave no file descriptor and no thread behind', async function () {
    const oif = await setup();
    // About 420 KB of route messages: a dump of them takes two 256 KiB slices, so it reads ahead.
    const add = await socks[0].batch(6000, (i, w) => raw.newRoute(w, { dst: `13.${(i >> 8) & 255}.${i & 255}.0`, plen: 24, gw: '10.255.0.1', oif }));
    assert.equal(add.failed, 0);
    const fds = () => fs.readdirSync('/proc/self/fd').length;
    const tasks = () => fs.readdirSync('/proc/self/task').length;
    // By thread id, not by count: a socket another test left open may be finalized (its threads
    // ended) meanwhile, which must not hide a thread of ours that started or stayed.
    const tids = (name) =>
      new Set(
        fs.readdirSync('/proc/self/task').filter((t) => {
          try {
            return fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim() === name;
          } catch {
            return false;
          }
        }),
      );
    const started = { send: 0, recv: 0 };
    const outlived = [];
    const cycle = async (k) => {
      const before = { send: tids('nla-send'), recv: tids('nla-recv') };
      const mine = [];
      const sock = open({ ioThreads: true });
      try {
        // 1 KiB sends: 40 replaces take several sends, so they go through the send thread.
        const r = await sock.batch(40, (i, w) => raw.newRoute(w, { dst: dst(i), plen: 24, gw: '10.255.0.1', oif, flags: wire.NLM_F_CREATE | wire.NLM_F_REPLACE }), { chunkBytes: 1024 });
        assert.equal(r.failed, 0, String(r.errors.find(Boolean)));
        for (const name of ['send', 'recv']) {
          if (name === 'recv') {
            if (k % 50 !== 0) continue;
            assert.ok((await sock.dump(raw.getRouteDump, () => 1)).length >= 6000);
          }
          const fresh = [...tids(`nla-${name}`)].filter((t) => !before[name].has(t));
          if (fresh.length === 1) started[name]++;
          mine.push(...fresh);
        }
      } finally {
        sock.close();
      }
      // pthread_join returns when the kernel clears the thread's tid, a moment before its
      // /proc entry goes: give that moment, not more.
      for (const t of mine) {
        for (let wait = 0; wait < 200 && fs.existsSync(`/proc/self/task/${t}`); wait++) await new Promise((r) => setTimeout(r, 5));
        if (fs.existsSync(`/proc/self/task/${t}`)) outlived.push(t);
      }
    };
    await cycle(0); // warm-up: whatever the process opens once (libuv's pool) is opened now
    const fd0 = fds();
    const task0 = tasks();
    started.send = started.recv = 0;
    for (let k = 0; k < 1000; k++) await cycle(k);
    assert.equal(started.send, 1000, 'every socket had its own send thread');
    assert.equal(started.recv, 20, 'every 50th socket read a dump ahead on its own thread');
    assert.deepEqual(outlived, [], 'threads that outlived their socket');
    // Other sockets finalized meanwhile may only lower these.
    assert.ok(fds() <= fd0, `${fds() - fd0} more file descriptors than before`);
    // Other threads of the process (libuv's pool of 4) may start meanwhile, but not one per socket.
    assert.ok(tasks() - task0 <= 4, `${tasks() - task0} more threads than before`);
  });

  for (const ioThreads of [true, false]) {
    it(`close() in the middle of a 20,000-route batch (ioThreads ${ioThreads}): every request has an outcome, the unanswered carry NetlinkClosedError`, async function () {
      const oif = await setup();
      const sock = open({ ioThreads });
      const r = await sock.batch(20000, (i, w) => {
        if (i === 10000) sock.close();
        raw.newRoute(w, { dst: `12.${(i >> 8) & 255}.${i & 255}.0`, plen: 24, gw: '10.255.0.1', oif });
      });
      assert.equal(r.errors.length, 20000);
      assert.ok(r.succeeded > 0 && r.succeeded <= 10000, `${r.succeeded} succeeded`);
      for (let i = 0; i < 20000; i++) if (!r.ok(i)) assert.ok(r.errors[i] instanceof wire.NetlinkClosedError, `request ${i}: ${r.errors[i]}`);
      for (let i = 10000; i < 20000; i++) assert.ok(!r.ok(i), `request ${i} after the close succeeded`);
      // Whatever was acknowledged is there; more may be (sent and applied, answer unread).
      const present = await routeCount(socks[0]);
      assert.ok(present >= r.succeeded && present <= 10000, `${present} routes, ${r.succeeded} acknowledged`);
    });
  }
});
