'use strict';
// The declarative parts of a message: fixed headers (StructDef) and attribute tables with
// family-split addresses, skipped volatile attributes and unknown attributes kept.
const assert = require('node:assert/strict');
const wire = require('../../dist/wire');

describe('wire: struct and attribute tables', function () {
  const HDR = wire.defineStruct('demo', 12, {
    family: wire.field(0, 'u8'),
    index: wire.field(4, 's32'),
    state: wire.field(8, 'u16'),
    port: wire.field(10, 'be16'),
  });

  it('a struct writes its fields at their offsets (padding zeroed) and reads them back', function () {
    const w = new wire.MessageWriter(16);
    w.begin(16, 0);
    w.buf.fill(0xee, w.length, w.buf.length); // dirty bytes where the header goes
    const off = HDR.write(w, { family: 7, index: -2, state: 0x80, port: 4789 });
    w.end();
    assert.equal(w.length, 16 + 12);
    assert.equal(w.buf.subarray(off, off + 12).toString('hex'), '07000000feffffff8000' + '12b5');
    assert.deepEqual(HDR.read(w.buf, off, off + 12), { family: 7, index: -2, state: 0x80, port: 4789 });
    assert.equal(HDR.offsetOf('state'), 8);
    assert.equal(HDR.get(w.buf, off, 'index'), -2);
  });

  it('a struct refuses a header cut short with NetlinkParseError, naming it', function () {
    const b = Buffer.alloc(11);
    assert.throws(() => HDR.read(b, 0, 11, 'demo message'), (e) => e instanceof wire.NetlinkParseError && /demo message of 11 bytes, struct demo needs 12/.test(e.message));
    assert.throws(() => wire.defineStruct('bad', 4, { x: wire.field(2, 'u32') }), /outside/);
  });

  it('a family-split address goes in its IPv4 or IPv6 attribute and reads back from either', function () {
    const t = wire.defineAttrs('split', { local: wire.attr(4, wire.ip, { type6: 17 }), id: wire.attr(1, wire.u32) });
    for (const [addr, type] of [['10.0.0.1', 4], ['fd00::1', 17]]) {
      const w = new wire.MessageWriter();
      t.encode(w, { local: addr, id: 5 });
      assert.equal(w.buf.readUInt16LE(2), type, addr);
      assert.deepEqual(t.decode(w.buf, 0, w.length), { values: { local: addr, id: 5 }, unknown: [] });
    }
    assert.throws(() => wire.defineAttrs('dup', { a: wire.attr(4, wire.ip, { type6: 5 }), b: wire.attr(5, wire.u32) }), /attribute 5 is both a and b/);
  });

  it('skipped attributes are passed over; unknown ones are kept, and absent when there are none', function () {
    const t = wire.defineAttrs('demo', { id: wire.attr(1, wire.u32), cacheinfo: wire.skip(6) });
    assert.deepEqual(t.names, ['id']);
    assert.equal(t.fieldOf(6), undefined);
    assert.ok(t.knows(6) && !t.knows(9));
    const w = new wire.MessageWriter();
    t.encode(w, { id: 1 });
    w.binary(6, Buffer.alloc(16));
    const v = { id: undefined };
    assert.equal(t.decodeInto(w.buf, 0, w.length, v), undefined);
    assert.deepEqual(v, { id: 1 });
    w.u16(9, 7);
    const unknown = t.decodeInto(w.buf, 0, w.length, v);
    assert.deepEqual(unknown.map((u) => [u.type, [...u.data]]), [[9, [7, 0]]]);
    const w2 = new wire.MessageWriter();
    t.encode(w2, { cacheinfo: 1 });
    assert.equal(w2.length, 0, 'a skipped attribute is never written');
  });
});
