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
  close() { this.closed = true; }
  send(buf, off, len) {
    const copy = Buffer.from(buf.subarray(off, off + len));
    const msgs = wire.parseMessages(copy);
    this.sent.push(...msgs);
    if (this.onSend) this.onSend(msgs, this);
    return len;
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
