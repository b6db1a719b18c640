'use strict';
// Key hygiene in the wire layer (issue 22, part 2 item 4): a request marked secret (every
// WireGuard SET, which carries the private and preshared keys) leaves no copy of its bytes in
// the socket's reused send buffer, nor in a buffer the writer outgrew. Any kernel, no root
// (a GETLINK the kernel answers with ENODEV carries the marker).
const assert = require('node:assert/strict');
const wire = require('../../dist/wire');

const RTM_GETLINK = 18;
const IFLA_IFALIAS = 20;
const MARKER = Buffer.from('MARKER-0123456789abcdef-secret-bytes');

/** A GETLINK for a device that does not exist, carrying the marker as an attribute. */
const encode = (w) => {
  w.begin(RTM_GETLINK, 0);
  w.reserve(16); // struct ifinfomsg
  w.binary(IFLA_IFALIAS, MARKER);
  w.end();
};

describe('wire: requests marked secret leave no copy in the send buffer', function () {
  let sock;
  beforeEach(function () {
    sock = wire.NetlinkSocket.open();
  });
  afterEach(function () {
    sock.close();
  });

  it('without secret the bytes stay in the reused buffer (so the check can fail); with secret they are zeroed', async function () {
    await sock.request(encode).catch(() => undefined);
    assert.ok(sock.writer.buf.includes(MARKER), 'an unmarked request stays in the buffer');
    await sock.request(encode, { secret: true }).catch(() => undefined);
    assert.ok(!sock.writer.buf.includes(MARKER), 'a secret request was left in the buffer');
  });

  it('a writer that grows zeroes the buffer it leaves', function () {
    const w = new wire.MessageWriter(64);
    const first = w.buf;
    w.begin(RTM_GETLINK, 0);
    w.binary(IFLA_IFALIAS, MARKER);
    w.binary(IFLA_IFALIAS, Buffer.alloc(200, 1)); // outgrows 64 bytes
    w.end();
    assert.notEqual(w.buf, first);
    assert.ok(w.buf.includes(MARKER));
    assert.ok(!first.includes(MARKER), 'the old buffer still holds the bytes');
  });
});
