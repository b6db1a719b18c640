'use strict';
const assert = require('node:assert/strict');
const wire = require('../../dist/wire');
const { FakeNative, message, ack, done } = require('../support/fake-native');

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;

function dumpRequest(w) {
  w.begin(RTM_GETLINK, wire.NLM_F_DUMP);
  w.reserve(16);
  w.end();
}
const parseIndex = (m) => m.buf.readInt32LE(m.payload + 4);
function linkMsg(seq, pid, index, flags = wire.NLM_F_MULTI) {
  const body = Buffer.alloc(16);
  body.writeInt32LE(index, 4);
  return message(RTM_NEWLINK, flags, seq, pid, body);
}

describe('wire: NetlinkSocket logic (stand-in kernel)', function () {
  let fake;
  let sock;
  beforeEach(function () {
    fake = new FakeNative();
    sock = wire.NetlinkSocket.fromNative(fake);
  });
  afterEach(function () {
    sock.close();
  });

  it('stamps sequence numbers and port id, adds REQUEST|ACK, resolves on the ack', async function () {
    fake.onSend = ([m], f) => f.reply([ack(m.seq, m.pid)]);
    await sock.request((w) => {
      w.begin(RTM_NEWLINK, wire.NLM_F_CREATE);
      w.reserve(16);
      w.end();
    });
    await sock.request((w) => {
      w.begin(RTM_NEWLINK, 0);
      w.reserve(16);
      w.end();
    });
    const [a, b] = fake.sent;
    assert.equal(a.flags, wire.NLM_F_CREATE | wire.NLM_F_REQUEST | wire.NLM_F_ACK);
    assert.equal(a.pid, 4242);
    assert.equal(b.seq, a.seq + 1);
  });

  it('reads into its own buffers when the addon offers drainInto(); a read of more datagrams than the table holds is taken as drain()\'s, and the table grows', async function () {
    /** The addon's drainInto(), played: the queued datagrams of one read copied into the
     * caller's buffers when they fit, else handed out as drain() would. */
    class IntoNative extends FakeNative {
      constructor() {
        super();
        this.returned = [];
        this.buffers = new Set();
      }
      drainInto(data, meta) {
        if (!this.queue.length) return null;
        const reads = this.queue.splice(0);
        const datagrams = reads.map((r) => r[0]);
        const table = Buffer.alloc(datagrams.length * 16);
        let off = 0;
        datagrams.forEach((d, k) => {
          table.writeUInt32LE(off, k * 16);
          table.writeUInt32LE(d.length, k * 16 + 4);
          off += d.length;
        });
        const bytes = Buffer.concat(datagrams);
        this.buffers.add(data);
        if (bytes.length > data.length || table.length > meta.length) {
          this.returned.push('array');
          return [bytes, table, 0];
        }
        bytes.copy(data);
        table.copy(meta);
        this.returned.push('number');
        return datagrams.length;
      }
    }
    const into = new IntoNative();
    const s = wire.NetlinkSocket.fromNative(into);
    try {
      const N = 1500; // more datagrams than the first table (1,024) holds
      into.onSend = ([m], f) => {
        for (let i = 1; i <= N; i++) f.reply([linkMsg(m.seq, m.pid, i)]);
        f.reply([done(m.seq, m.pid)]);
      };
      const expected = Array.from({ length: N }, (_, i) => i + 1);
      const transient = { transientView: true };
      assert.deepEqual(await s.dump(dumpRequest, parseIndex, transient), expected);
      assert.deepEqual(into.returned, ['array'], 'the first read did not fit');
      assert.deepEqual(await s.dump(dumpRequest, parseIndex, transient), expected);
      assert.deepEqual(await s.dump(dumpRequest, parseIndex, transient), expected);
      assert.deepEqual(into.returned, ['array', 'number', 'number'], 'the grown table holds the others');
      assert.equal(into.buffers.size, 1, 'one data buffer, read into again and again');
      // A request's replies are kept past their read: copied out of the buffer, which the next
      // read goes into again, and they read the same afterwards.
      into.onSend = ([m], f) => {
        f.reply([linkMsg(m.seq, m.pid, 77, 0)]);
        f.reply([ack(m.seq, m.pid)]);
      };
      const replies = await s.request((w) => {
        w.begin(RTM_GETLINK, 0);
        w.reserve(16);
        w.end();
      });
      assert.equal(parseIndex(replies[0]), 77);
      into.onSend = ([m], f) => {
        for (let i = 1; i <= N; i++) f.reply([linkMsg(m.seq, m.pid, 1000 + i)]);
        f.reply([done(m.seq, m.pid)]);
      };
      assert.equal((await s.dump(dumpRequest, parseIndex, transient)).length, N);
      assert.equal(into.buffers.size, 1, 'the same buffer');
      assert.notEqual(replies[0].buf, [...into.buffers][0], 'the reply was copied out');
      assert.equal(parseIndex(replies[0]), 77, 'the kept reply was not read over');
    } finally {
      s.close();
    }
  });

  it('restarts a dump the kernel marked NLM_F_DUMP_INTR and returns only the clean attempt', async function () {
    let attempt = 0;
    fake.onSend = ([m], f) => {
      attempt++;
      if (attempt === 1) {
        f.reply([linkMsg(m.seq, m.pid, 1), linkMsg(m.seq, m.pid, 2, wire.NLM_F_MULTI | wire.NLM_F_DUMP_INTR)]);
        f.reply([done(m.seq, m.pid, wire.NLM_F_MULTI | wire.NLM_F_DUMP_INTR)]);
      } else {
        f.reply([linkMsg(m.seq, m.pid, 1), linkMsg(m.seq, m.pid, 3)]);
        f.reply([done(m.seq, m.pid)]);
      }
    };
    const got = await sock.dump(dumpRequest, parseIndex);
    assert.deepEqual(got, [1, 3]);
    assert.equal(fake.sent.length, 2);
    assert.notEqual(fake.sent[0].seq, fake.sent[1].seq);
  });

  it('gives up on a dump interrupted every time, with EINTR', async function () {
    fake.onSend = ([m], f) => f.reply([linkMsg(m.seq, m.pid, 1, wire.NLM_F_MULTI | wire.NLM_F_DUMP_INTR), done(m.seq, m.pid)]);
    await assert.rejects(sock.dump(dumpRequest, parseIndex, { maxRetries: 3, what: 'links.list' }), (e) => {
      assert.ok(e instanceof wire.NetlinkError);
      assert.equal(e.code, 'EINTR');
      assert.match(e.message, /links\.list.*interrupted/);
      return true;
    });
    assert.equal(fake.sent.length, 4);
  });

  it('rejects a dump that ends in an error, with the errno', async function () {
    fake.onSend = ([m], f) => f.reply([ack(m.seq, m.pid, -22)]);
    await assert.rejects(sock.dump(dumpRequest, parseIndex), { code: 'EINVAL', errno: 22 });
  });

  it('ignores datagrams whose sender is not the kernel', async function () {
    const seen = [];
    sock.on('message', (m) => seen.push(m.type));
    fake.deliver([linkMsg(0, 0, 5)], { sender: 777 });
    assert.equal(seen.length, 0);
    assert.equal(sock.droppedForeign, 1);
    fake.deliver([linkMsg(0, 0, 5)], { sender: 0 });
    assert.deepEqual(seen, [RTM_NEWLINK]);
    // A forged ack from another port must not complete a pending request either.
    fake.onSend = ([m], f) => {
      f.reply([ack(m.seq, m.pid, 0)], { sender: 999 });
      f.reply([ack(m.seq, m.pid, -17)]);
    };
    await assert.rejects(sock.request(dumpRequest), { code: 'EEXIST' });
  });

  it('a dump with transientView hands every reply in one reused view; without it each reply is a view of its own', async function () {
    fake.onSend = ([m], f) => {
      f.reply([linkMsg(m.seq, m.pid, 1), linkMsg(m.seq, m.pid, 2), linkMsg(m.seq, m.pid, 3)]);
      f.reply([done(m.seq, m.pid)]);
    };
    const kept = [];
    const keep = (m) => {
      kept.push(m);
      return parseIndex(m);
    };
    assert.deepEqual(await sock.dump(dumpRequest, keep, { transientView: true }), [1, 2, 3]);
    assert.equal(new Set(kept).size, 1, 'one object for every reply');
    kept.length = 0;
    assert.deepEqual(await sock.dump(dumpRequest, keep), [1, 2, 3]);
    assert.equal(new Set(kept).size, 3);
    // Views kept by a parse that did not promise anything still describe their own message.
    assert.deepEqual(kept.map(parseIndex), [1, 2, 3]);
    assert.deepEqual(kept.map((m) => m.type), [RTM_NEWLINK, RTM_NEWLINK, RTM_NEWLINK]);
  });

  it("a request's replies and events keep their own views when one datagram carries several messages", async function () {
    const events = [];
    sock.on('message', (m) => events.push(m));
    fake.deliver([linkMsg(0, 0, 7), linkMsg(0, 0, 8)]);
    assert.deepEqual(events.map(parseIndex), [7, 8]);
    fake.onSend = ([m], f) => f.reply([linkMsg(m.seq, m.pid, 4, 0), linkMsg(m.seq, m.pid, 5, 0), ack(m.seq, m.pid)]);
    const replies = await sock.request(dumpRequest);
    assert.deepEqual(replies.map(parseIndex), [4, 5]);
    assert.deepEqual(events.map(parseIndex), [7, 8]);
  });

  it('a transient parse that reads the socket again (a nested receive) still sees its own message', async function () {
    // The nested request is answered inside the outer parse: its replies come through a
    // receive nested in the one handing the dump's messages, which must not overwrite the view.
    fake.onSend = ([m], f) => {
      if (m.flags & wire.NLM_F_DUMP) {
        f.reply([linkMsg(m.seq, m.pid, 1), linkMsg(m.seq, m.pid, 2)]);
        f.reply([done(m.seq, m.pid)]);
      } else f.reply([linkMsg(m.seq, m.pid, 99, 0), ack(m.seq, m.pid)]);
    };
    const nested = [];
    const seen = [];
    const got = await sock.dump(
      dumpRequest,
      (m) => {
        const before = { seq: m.seq, index: parseIndex(m), start: m.start };
        if (nested.length === 0) nested.push(sock.request((w) => {
          w.begin(RTM_GETLINK, 0);
          w.reserve(16);
          w.end();
        }));
        seen.push(before.seq === m.seq && before.start === m.start && parseIndex(m) === before.index);
        return parseIndex(m);
      },
      { transientView: true },
    );
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(seen, [true, true]);
    assert.deepEqual((await nested[0]).map(parseIndex), [99]);
  });

  it('times out a request the kernel never answers', async function () {
    const t0 = Date.now();
    await assert.rejects(sock.request(dumpRequest, { timeoutMs: 50, what: 'links.get x' }), (e) => {
      assert.ok(e instanceof wire.NetlinkTimeoutError);
      assert.match(e.message, /links\.get x/);
      return true;
    });
    assert.ok(Date.now() - t0 >= 45);
  });

  it('closing the socket mid-dump rejects the dump and everything pending', async function () {
    fake.onSend = ([m], f) => f.reply([linkMsg(m.seq, m.pid, 1)]); // no DONE: the dump stays open
    const d = sock.dump(dumpRequest, parseIndex);
    const r = sock.request(dumpRequest);
    setTimeout(() => sock.close(), 10);
    await assert.rejects(d, wire.NetlinkClosedError);
    await assert.rejects(r, wire.NetlinkClosedError);
  });

  it('reports overflow (ENOBUFS): pending requests fail with ENOBUFS and "overflow" is emitted', async function () {
    let overflowed = 0;
    sock.on('overflow', () => overflowed++);
    const p = sock.request(dumpRequest, { timeoutMs: 1000 });
    fake.deliver([], { errno: require('node:os').constants.errno.ENOBUFS });
    await assert.rejects(p, { code: 'ENOBUFS' });
    assert.equal(overflowed, 1);
  });

  it('batches: an ack only on the last message of each send, errors matched by sequence number', async function () {
    const failing = new Set([3, 10, 11, 99]);
    let sends = 0;
    fake.onSend = (msgs, f) => {
      sends++;
      const replies = [];
      for (const m of msgs) {
        const idx = m.buf.readUInt32LE(m.payload); // the request's index, carried in its body
        if (failing.has(idx)) replies.push(ack(m.seq, m.pid, -17));
        else if (m.flags & wire.NLM_F_ACK) replies.push(ack(m.seq, m.pid, 0));
      }
      f.reply(replies);
    };
    const r = await sock.batch(
      100,
      (i, w) => {
        w.begin(RTM_NEWLINK, wire.NLM_F_CREATE);
        const off = w.reserve(64);
        w.buf.writeUInt32LE(i, off);
        w.end();
      },
      { chunkBytes: 1024, window: 40 },
    );
    assert.equal(r.count, 100);
    assert.equal(r.failed, 4);
    for (let i = 0; i < 100; i++) assert.equal(r.ok(i), !failing.has(i), `request ${i}`);
    assert.equal(r.errors[10].code, 'EEXIST');
    const acked = fake.sent.filter((m) => m.flags & wire.NLM_F_ACK).length;
    assert.equal(acked, sends, 'exactly one ack requested per send');
    // 80-byte messages, 1 KiB per send: about 13 per send, so about 8 sends, not 100.
    assert.ok(sends >= 7 && sends <= 10, `${sends} sends`);
  });
});

describe('wire: batches through the send thread (stand-in kernel)', function () {
  const EEXIST = 17;
  const ENOBUFS = require('node:os').constants.errno.ENOBUFS;
  /** A 100-request batch of 80-byte messages, about 13 per 1 KiB chunk; request i carries i. */
  const run = (sock, opts = {}) =>
    sock.batch(
      100,
      (i, w) => {
        if (opts.closeAt === i) sock.close();
        w.begin(RTM_NEWLINK, wire.NLM_F_CREATE);
        const off = w.reserve(64);
        w.buf.writeUInt32LE(i, off);
        w.end();
      },
      { chunkBytes: 1024, window: 40, timeoutMs: 2000 },
    );
  const indexOf = (m) => m.buf.readUInt32LE(m.payload);
  /** Answers like the kernel: an error for each failing request, an ack for each flagged one. */
  const kernel = (failing) => (msgs, f) => {
    const replies = [];
    for (const m of msgs) {
      if (failing.has(indexOf(m))) replies.push(ack(m.seq, m.pid, -EEXIST));
      else if (m.flags & wire.NLM_F_ACK) replies.push(ack(m.seq, m.pid, 0));
    }
    f.reply(replies);
  };
  const outcome = (r) => Array.from({ length: r.count }, (_, i) => (r.ok(i) ? 'ok' : r.errors[i].code));

  it('gives every request the same outcome as sending directly, and uses the thread only when on', async function () {
    const failing = new Set([3, 10, 11, 57, 99]);
    const results = {};
    for (const sendThread of [true, false]) {
      const fake = new FakeNative();
      fake.onSend = kernel(failing);
      const sock = wire.NetlinkSocket.fromNative(fake, { ioThreads: sendThread });
      try {
        results[sendThread] = outcome(await run(sock));
        assert.equal(fake.queuedSends > 0, sendThread, `queued sends: ${fake.queuedSends}`);
        assert.equal(fake.sent.length, 100);
      } finally {
        sock.close();
      }
    }
    assert.deepEqual(results.true, results.false);
    assert.deepEqual(results.true.flatMap((o, i) => (o === 'ok' ? [] : [i])), [...failing]);
  });

  it('is off by default: a socket opened without ioThreads sends every chunk itself', async function () {
    const fake = new FakeNative();
    fake.onSend = kernel(new Set([7]));
    const sock = wire.NetlinkSocket.fromNative(fake);
    try {
      const r = await run(sock);
      assert.deepEqual(outcome(r).flatMap((o, i) => (o === 'ok' ? [] : [i])), [7]);
      assert.equal(fake.queuedSends, undefined);
      assert.equal(fake.sent.length, 100);
    } finally {
      sock.close();
    }
  });

  it('a batch that fits in one send is sent directly, not through the thread', async function () {
    const fake = new FakeNative();
    fake.onSend = kernel(new Set());
    const sock = wire.NetlinkSocket.fromNative(fake, { ioThreads: true });
    try {
      const r = await sock.batch(5, (i, w) => {
        w.begin(RTM_NEWLINK, 0);
        w.reserve(16);
        w.end();
      });
      assert.equal(r.failed, 0);
      assert.equal(fake.queuedSends, undefined);
    } finally {
      sock.close();
    }
  });

  for (const where of ['a middle', 'the last']) {
    it(`a chunk whose send fails on the thread (${where} one) fails exactly its requests, with the sendto error; the others are answered`, async function () {
      const fake = new FakeNative();
      fake.onSend = kernel(new Set([2]));
      const target = where === 'the last' ? 99 : 40;
      let failedChunk;
      fake.failSend = (msgs) => {
        const idx = msgs.map(indexOf);
        if (!idx.includes(target)) return 0;
        failedChunk = idx;
        return ENOBUFS;
      };
      const sock = wire.NetlinkSocket.fromNative(fake, { ioThreads: true });
      try {
        const r = await run(sock);
        assert.ok(failedChunk && failedChunk.length > 1, 'the chunk had several requests');
        for (let i = 0; i < 100; i++) {
          if (failedChunk.includes(i)) {
            assert.equal(r.errors[i].code, 'ENOBUFS', `request ${i}`);
            assert.equal(r.errors[i].syscall, 'sendto');
          } else if (i === 2) assert.equal(r.errors[i].code, 'EEXIST');
          else assert.ok(r.ok(i), `request ${i}: ${r.errors[i]}`);
        }
        assert.equal(r.failed, failedChunk.length + 1);
      } finally {
        sock.close();
      }
    });
  }

  it('close() in the middle: the batch resolves, chunks not yet sent are dropped, every request without an answer carries NetlinkClosedError', async function () {
    const fake = new FakeNative();
    fake.onSend = kernel(new Set());
    const sock = wire.NetlinkSocket.fromNative(fake, { ioThreads: true });
    const r = await run(sock, { closeAt: 50 });
    assert.equal(r.count, 100);
    const sent = new Set(fake.sent.map(indexOf));
    assert.ok(sent.size > 0 && sent.size < 50, `${sent.size} sent`);
    for (let i = 0; i < 100; i++) {
      if (r.ok(i)) assert.ok(sent.has(i), `request ${i} succeeded but was never sent`);
      else assert.ok(r.errors[i] instanceof wire.NetlinkClosedError, `request ${i}: ${r.errors[i]}`);
    }
    assert.ok(r.succeeded > 0);
  });
});
