'use strict';
const assert = require('node:assert/strict');
const wire = require('../../dist/wire');

describe('wire: codecs', function () {
  it('writes messages with aligned, zero-padded attributes and reads them back', function () {
    const w = new wire.MessageWriter(8); // tiny on purpose: forces growth
    w.buf.fill(0xee);
    w.begin(0x10, wire.NLM_F_CREATE);
    w.reserve(3);
    w.string(1, 'vxlan0');
    w.u8(2, 7);
    w.u16(3, 0xbeef);
    w.u32(4, 0xdeadbeef);
    w.u64(5, 1n << 40n);
    w.be16(6, 4789);
    w.ip(7, '10.57.4.20');
    w.ip(8, 'fd00::1');
    w.mac(9, '0a:58:C0:a8:0b:00');
    const n = w.nestStart(10, wire.NLA_F_NESTED);
    w.flag(11);
    w.u32(12, 1);
    w.nestEnd(n);
    w.end();
    const bytes = w.bytes();
    assert.equal(bytes.length % 4, 0);
    const [m] = wire.parseMessages(bytes);
    assert.equal(m.type, 0x10);
    assert.equal(m.flags, wire.NLM_F_CREATE);
    assert.equal(m.end, bytes.length);
    assert.deepEqual([...bytes.subarray(m.payload, m.payload + 4)], [0, 0, 0, 0], 'reserved header is zeroed');
    const got = {};
    wire.forEachAttr(bytes, m.payload + 4, m.end, (type, off, len, raw) => {
      got[type] = { off, len, raw };
    });
    const b = bytes;
    assert.equal(wire.readString(b, got[1].off, got[1].len), 'vxlan0');
    assert.equal(got[1].len, 7, 'strings carry their NUL');
    assert.equal(b[got[1].off + 7], 0, 'padding is zero');
    assert.equal(wire.readU8(b, got[2].off, got[2].len), 7);
    assert.equal(wire.readU16(b, got[3].off, got[3].len), 0xbeef);
    assert.equal(wire.readU32(b, got[4].off, got[4].len), 0xdeadbeef);
    assert.equal(wire.readU64(b, got[5].off, got[5].len), 1n << 40n);
    assert.equal(wire.readBe16(b, got[6].off, got[6].len), 4789);
    assert.deepEqual([...b.subarray(got[6].off, got[6].off + 2)], [0x12, 0xb5], 'big-endian on the wire');
    assert.equal(wire.readIP(b, got[7].off, got[7].len), '10.57.4.20');
    assert.equal(wire.readIP(b, got[8].off, got[8].len), 'fd00::1');
    assert.equal(wire.readMac(b, got[9].off, got[9].len), '0a:58:c0:a8:0b:00');
    assert.equal(got[10].raw & wire.NLA_F_NESTED, wire.NLA_F_NESTED);
    const inner = [];
    wire.forEachAttr(b, got[10].off, got[10].off + got[10].len, (t, off, len) => inner.push([t, len]));
    assert.deepEqual(inner, [[11, 0], [12, 4]]);
  });

  it('reuses a writer without leaking old bytes into padding', function () {
    const w = new wire.MessageWriter(64);
    w.begin(0x10, 0);
    w.binary(1, Buffer.alloc(40, 0xff));
    w.end();
    w.reset();
    w.begin(0x10, 0);
    w.string(1, 'a');
    w.end();
    const b = w.bytes();
    assert.deepEqual([...b.subarray(16)], [6, 0, 1, 0, 0x61, 0, 0, 0]);
  });

  describe('IPv4', function () {
    it('accepts exactly the dotted-quad literals', function () {
      assert.equal(wire.parseIPv4('0.0.0.0'), 0);
      assert.equal(wire.parseIPv4('255.255.255.255'), 0xffffffff);
      assert.equal(wire.parseIPv4('10.57.4.20'), 0x0a390414);
      for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-4', '01.2.3.4', '1..2.3', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1.2.3.4/24', '1.2.3.']) {
        assert.equal(wire.parseIPv4(bad), -1, bad);
      }
    });
  });

  describe('IPv6', function () {
    const cases = [
      ['::', '::'],
      ['::1', '::1'],
      ['fd00::1', 'fd00::1'],
      ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
      ['::10.1.2.3', '::10.1.2.3'],
      ['fe80::', 'fe80::'],
      ['1::', '1::'],
    ];
    for (const [input, canonical] of cases) {
      it(`parses ${input} and prints ${canonical} (as inet_ntop does)`, function () {
        const b = Buffer.alloc(16);
        assert.ok(wire.parseIPv6Into(input, b, 0));
        assert.equal(wire.formatIPv6(b, 0), canonical);
      });
    }
    it('rejects what is not an IPv6 literal', function () {
      const b = Buffer.alloc(16);
      for (const bad of ['', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '1:2:3:4:5:6:7:', ':1:2:3:4:5:6:7', '::1.2.3', '1.2.3.4', 'fe80::1%eth0', '[::1]']) {
        assert.equal(wire.parseIPv6Into(bad, b, 0), false, bad);
      }
    });
    it('accepts exactly what node\'s net.isIPv6 accepts (random strings over the literal alphabet, and fast-check addresses)', function () {
      // The route validator trusts this parser alone on its fast path.
      const fc = require('fast-check');
      const net = require('node:net');
      const b = Buffer.alloc(16);
      const ch = fc.constantFrom('0', '1', 'a', 'f', 'F', ':', ':', '.', '9', 'g', '2', '5');
      fc.assert(
        fc.property(fc.array(ch, { minLength: 2, maxLength: 40 }).map((a) => a.join('')), (s) => wire.parseIPv6Into(s, b, 0) === net.isIPv6(s)),
        { numRuns: 50000 },
      );
      fc.assert(fc.property(fc.ipV6(), (s) => wire.parseIPv6Into(s, b, 0)), { numRuns: 5000 });
      // With an end index it reads exactly what it would read of the slice.
      const c = Buffer.alloc(16);
      const chEnd = fc.constantFrom('0', '1', 'a', 'f', ':', ':', '.', '9', '2', '5', '/');
      fc.assert(
        fc.property(fc.array(chEnd, { minLength: 2, maxLength: 44 }).map((a) => a.join('')), fc.nat(50), (s, cut) => {
          const end = Math.min(s.length, cut);
          const r = wire.parseIPv6Into(s, b, 0, end);
          return r === wire.parseIPv6Into(s.slice(0, end), c, 0) && (!r || b.equals(c));
        }),
        { numRuns: 20000 },
      );
    });
    it('round-trips random addresses', function () {
      const b = Buffer.alloc(16);
      const back = Buffer.alloc(16);
      for (let i = 0; i < 2000; i++) {
        for (let k = 0; k < 16; k++) b[k] = Math.random() < 0.4 ? 0 : (Math.random() * 256) | 0;
        const s = wire.formatIPv6(b, 0);
        assert.ok(wire.parseIPv6Into(s, back, 0), s);
        assert.deepEqual(back, b, s);
      }
    });
  });

  it('parses and prints MAC addresses', function () {
    const b = Buffer.alloc(6);
    assert.ok(wire.parseMacInto('AA-bb-cc-00-11-ff', b, 0));
    assert.equal(wire.formatMac(b, 0), 'aa:bb:cc:00:11:ff');
    for (const bad of ['', 'aa:bb:cc:dd:ee', 'aa:bb:cc:dd:ee:fg', 'aa:bb:cc:dd:ee:ff:00', 'aabb.ccdd.eeff']) {
      assert.equal(wire.parseMacInto(bad, b, 0), false, bad);
    }
  });

  it('decodes attribute tables, keeping unknown attributes raw', function () {
    const t = wire.defineAttrs('demo', {
      id: wire.attr(1, wire.u32),
      name: wire.attr(2, wire.string),
      learning: wire.attr(3, wire.bool8),
      local: wire.attr(4, wire.ip),
    });
    const w = new wire.MessageWriter();
    t.encode(w, { id: 100, name: 'x', learning: false, local: '10.0.0.1' });
    w.u16(9, 5);
    const d = t.decode(w.buf, 0, w.length);
    assert.deepEqual(d.values, { id: 100, name: 'x', learning: false, local: '10.0.0.1' });
    assert.equal(d.unknown.length, 1);
    assert.equal(d.unknown[0].type, 9);
    assert.deepEqual([...d.unknown[0].data], [5, 0]);
  });

  it('decodes an NLMSG_ERROR with extended ack (message, offset)', function () {
    const w = new wire.MessageWriter();
    w.begin(wire.NLMSG_ERROR, wire.NLM_F_CAPPED | wire.NLM_F_ACK_TLVS);
    const off = w.reserve(4 + 16);
    w.buf.writeInt32LE(-95, off); // -EOPNOTSUPP
    w.buf.writeUInt32LE(60, off + 4); // echoed header: len 60 (capped, so only the header follows)
    w.string(wire.NLMSGERR_ATTR_MSG, 'Unknown device type');
    w.u32(wire.NLMSGERR_ATTR_OFFS, 36);
    w.end();
    const [m] = wire.parseMessages(w.bytes());
    const r = wire.parseAckError(m);
    assert.equal(r.errno, -95);
    assert.deepEqual(r.ack, { message: 'Unknown device type', badAttributeOffset: 36 });
    const e = new wire.NetlinkError(-r.errno, r.ack, 'links.add x');
    assert.equal(e.code, 'EOPNOTSUPP');
    assert.equal(e.errno, 95);
    assert.match(e.message, /^links\.add x: EOPNOTSUPP: .*kernel says: Unknown device type/);
  });
});
