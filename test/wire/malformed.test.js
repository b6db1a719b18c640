'use strict';
const assert = require('node:assert/strict');
const wire = require('../../dist/wire');

// A deterministic PRNG so a failure can be reproduced from its seed.
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

function sample() {
  const w = new wire.MessageWriter();
  w.begin(16, 2);
  w.reserve(16);
  w.string(3, 'veth0');
  const n = w.nestStart(18);
  w.string(1, 'vxlan');
  const d = w.nestStart(2);
  w.u32(1, 100);
  w.ip(4, '10.57.4.20');
  w.nestEnd(d);
  w.nestEnd(n);
  w.end();
  w.begin(wire.NLMSG_ERROR, wire.NLM_F_CAPPED | wire.NLM_F_ACK_TLVS);
  const off = w.reserve(20);
  w.buf.writeInt32LE(-17, off);
  w.buf.writeUInt32LE(40, off + 4);
  w.string(wire.NLMSGERR_ATTR_MSG, 'File exists');
  w.end();
  return Buffer.from(w.bytes());
}

/** Walks everything a decoder would: messages, nested attributes, acks. */
function decodeAll(buf) {
  wire.forEachMessage(buf, 0, buf.length, (m) => {
    if (m.type === wire.NLMSG_ERROR) return void wire.parseAckError(m);
    const walk = (s, e, depth) =>
      wire.forEachAttr(buf, s, e, (t, off, len) => {
        if (depth < 3 && len >= 4) {
          try {
            walk(off, off + len, depth + 1);
          } catch (err) {
            if (!(err instanceof wire.NetlinkParseError)) throw err;
          }
        }
        if (len === 4) wire.readIP(buf, off, len);
        wire.readString(buf, off, len);
      });
    walk(m.payload + 16 > m.end ? m.end : m.payload + 16, m.end, 0);
  });
}

describe('wire: malformed input', function () {
  it('decodes the unmodified sample', function () {
    decodeAll(sample());
  });

  it('every truncation is a NetlinkParseError or a clean decode, never another error', function () {
    const good = sample();
    for (let cut = 0; cut < good.length; cut++) {
      const b = Buffer.from(good.subarray(0, cut));
      try {
        decodeAll(b);
      } catch (e) {
        assert.ok(e instanceof wire.NetlinkParseError, `cut ${cut}: ${e && e.stack}`);
      }
    }
  });

  it('random byte mutations never throw anything but NetlinkParseError (20,000 cases)', function () {
    const good = sample();
    const rnd = prng(0x5eed);
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.from(good);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        decodeAll(b);
      } catch (e) {
        assert.ok(e instanceof wire.NetlinkParseError, `case ${i}: ${e && e.stack}`);
      }
    }
  });

  it('rejects lengths that point outside the buffer', function () {
    const b = Buffer.alloc(20);
    b.writeUInt32LE(1000, 0);
    assert.throws(() => wire.parseMessages(b), wire.NetlinkParseError);
    b.writeUInt32LE(8, 0);
    assert.throws(() => wire.parseMessages(b), wire.NetlinkParseError);
    const a = Buffer.from([200, 0, 1, 0, 0, 0, 0, 0]);
    assert.throws(() => wire.forEachAttr(a, 0, a.length, () => {}), wire.NetlinkParseError);
    assert.throws(() => wire.forEachAttr(a, 0, 100, () => {}), wire.NetlinkParseError);
    assert.throws(() => wire.readU32(Buffer.alloc(8), 0, 2), wire.NetlinkParseError);
    assert.throws(() => wire.readIP(Buffer.alloc(8), 0, 5), wire.NetlinkParseError);
  });
});
