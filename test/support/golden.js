'use strict';
// Golden-fixture helpers shared by the rtnl object tests: captured iproute2 requests and
// replies (test/fixtures/iproute2) replayed through a stand-in socket.
const fs = require('node:fs');
const path = require('node:path');
const wire = require('../../dist/wire');
const rtnl = require('../../dist/rtnl');
const { FakeNative, ack } = require('./fake-native');

const FIXTURES = path.join(__dirname, '../fixtures/iproute2');
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));
/** Message bytes as hex with nlmsg_seq and nlmsg_pid (bytes 8..15) zeroed. */
const masked = (buf) => {
  const b = Buffer.from(buf);
  b.fill(0, 8, 16);
  return b.toString('hex');
};
const bytesOf = (m) => m.buf.subarray(m.start, m.end);

/** An rtnl context over a stand-in socket that acknowledges every request and records it. */
function fakeContext() {
  const fake = new FakeNative();
  fake.onSend = (msgs, f) => {
    for (const m of msgs) if (m.flags & wire.NLM_F_ACK) f.reply([ack(m.seq, m.pid)]);
  };
  const socket = wire.NetlinkSocket.fromNative(fake);
  return { fake, socket, ctx: { socket, devices: new rtnl.DeviceResolver(socket) } };
}

/** Answers the next dump with the kernel replies captured for the fixture's request number k. */
function replayDump(fake, fx, k) {
  const seq = Buffer.from(fx.sent[k], 'hex').readUInt32LE(8);
  fake.onSend = ([m], f) => {
    const out = [];
    for (const hex of fx.received) {
      for (const r of wire.parseMessages(Buffer.from(hex, 'hex'))) {
        if (r.seq !== seq) continue;
        const b = Buffer.from(bytesOf(r));
        b.writeUInt32LE(m.seq, 8);
        b.writeUInt32LE(m.pid, 12);
        out.push(b);
      }
    }
    f.reply(out);
  };
}

module.exports = { FIXTURES, fixture, masked, bytesOf, fakeContext, replayDump };
