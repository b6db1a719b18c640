'use strict';
// A stand-in for the addon's socket: records what is sent and answers with crafted datagrams,
// so socket logic (retries, timeouts, foreign senders, overflow) is tested without a kernel.
const wire = require('../../dist/wire');

class FakeNative {
  constructor(portId = 4242) {
    this.port = portId;
    this.sent = [];
    this.queue = [];
    this.onSend = null; // (messageViews, fake) => void
    this.closed = false;
  }
  portId() { return this.port; }
  fd() { return -1; }
  setOption() {}
  getOption() { return 0; }
  setBuffer() { return 0; }
  ref() {}
  start(cb) { this.cb = cb; }
  stop() {}
  close() {
    this.closed = true;
    this.sendQueue = [];
  }
  /** Throws EBADF once closed, as the addon does. */
  assertOpen() {
    if (this.closed) throw Object.assign(new Error('netlink EBADF: socket is closed'), { code: 'EBADF', errno: 9 });
  }
  send(buf, off, len) {
    this.assertOpen();
    const copy = Buffer.from(buf.subarray(off, off + len));
    const msgs = wire.parseMessages(copy);
    this.sent.push(...msgs);
    if (this.onSend) this.onSend(msgs, this);
    return len;
  }
  /** The addon's send thread (native/sender.c), played in order: up to two chunks wait; the
   * oldest is "sent" (recorded, answered by onSend) when a third is queued or on flushSend().
   * failSend(msgs, fake) may return an errno for a chunk instead, as a failed sendto would:
   * sendFailures() then reports it under its tag. close() drops the chunks not sent yet. */
  queueSend(buf, off, len, tag) {
    this.assertOpen();
    this.sendQueue = this.sendQueue || [];
    this.failures = this.failures || [];
    if (this.sendQueue.length === 2) this.completeQueued();
    this.sendQueue.push({ chunk: Buffer.from(buf.subarray(off, off + len)), tag });
    this.queuedSends = (this.queuedSends || 0) + 1;
  }
  flushSend(max = 0) {
    while (this.sendQueue && this.sendQueue.length > max) this.completeQueued();
    return this.sendQueue ? this.sendQueue.length : 0;
  }
  sendFailures() {
    if (!this.failures || !this.failures.length) return null;
    const f = this.failures;
    this.failures = [];
    return f;
  }
  completeQueued() {
    const { chunk, tag } = this.sendQueue.shift();
    if (this.closed) return;
    const msgs = wire.parseMessages(chunk);
    const errno = this.failSend ? this.failSend(msgs, this) : 0;
    if (errno) {
      this.failures.push(tag, errno);
      return;
    }
    this.sent.push(...msgs);
    if (this.onSend) this.onSend(msgs, this);
  }
  drain() {
    return this.queue.length ? this.queue.shift() : null;
  }
  /** Queues one datagram made of the given message buffers, as sent by `sender`. */
  reply(buffers, { sender = 0, errno = 0 } = {}) {
    const data = Buffer.concat(buffers);
    const meta = Buffer.alloc(16);
    meta.writeUInt32LE(0, 0);
    meta.writeUInt32LE(data.length, 4);
    meta.writeUInt32LE(sender, 8);
    this.queue.push([data, meta, errno]);
  }
  /** Delivers a datagram through the async path (as the libuv poll would). */
  deliver(buffers, opts) {
    this.reply(buffers, opts);
    const [d, m, e] = this.queue.shift();
    this.cb(d, m, e);
  }
}

function message(type, flags, seq, pid, body = Buffer.alloc(0)) {
  const w = new wire.MessageWriter();
  w.begin(type, flags);
  const off = w.reserve(body.length);
  body.copy(w.buf, off);
  w.end();
  const b = Buffer.from(w.bytes());
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(pid, 12);
  return b;
}

function ack(seq, pid, errno = 0) {
  const body = Buffer.alloc(20);
  body.writeInt32LE(errno, 0);
  body.writeUInt32LE(16, 4);
  return message(wire.NLMSG_ERROR, wire.NLM_F_CAPPED, seq, pid, body);
}

function done(seq, pid, flags = wire.NLM_F_MULTI) {
  return message(wire.NLMSG_DONE, flags, seq, pid, Buffer.alloc(4));
}

module.exports = { FakeNative, message, ack, done };
