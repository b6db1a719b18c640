'use strict';
// NeighFacts reads a neighbour or FDB message as numbers for the reconciler's steady-state read
// (rtnl/neigh-facts.ts). Whatever it reads must be what the full decoders say of the same
// message (the read settles entries on it), and it must never throw: a message it cannot read
// as numbers is marked odd and decoded whole, where the decoder reports what is wrong.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const wire = require('../../../dist/wire');
const rtnl = require('../../../dist/rtnl');
const { encodeNeighbor } = require('../../../dist/rtnl/neighbor');
const { encodeFdb } = require('../../../dist/rtnl/fdb');
const { formatIP } = require('../../../dist/values/ip');

const C = rtnl.constants;
const hex2 = (n) => n.toString(16).padStart(2, '0');
const macArb = fc.array(fc.nat(255), { minLength: 6, maxLength: 6 }).map((b) => b.map(hex2).join(':'));
const v4Arb = fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }).map((b) => b.join('.'));
const v6Arb = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((w) => w.map((x) => x.toString(16)).join(':'));
const ipArb = fc.oneof(v4Arb, v6Arb);

/** The address text of NeighFacts' words, as the decoders print it. */
function dstText(f) {
  if (f.dstLen === 0) return undefined;
  const b = Buffer.alloc(f.dstLen);
  b.writeInt32BE(f.dst0, 0);
  if (f.dstLen === 16) {
    b.writeInt32BE(f.dst1, 4);
    b.writeInt32BE(f.dst2, 8);
    b.writeInt32BE(f.dst3, 12);
  }
  return formatIP(b, 0, b.length);
}

function macText(f) {
  if (f.llLen !== 6) return undefined;
  const b = Buffer.alloc(6);
  b.writeUInt16BE(f.llHi, 0);
  b.writeInt32BE(f.llLo, 2);
  return [...b].map(hex2).join(':');
}

function messageOf(write) {
  const w = new wire.MessageWriter();
  write(w);
  return wire.parseMessages(Buffer.from(w.bytes()))[0];
}

describe('rtnl: NeighFacts agrees with the full decoders', function () {
  it('neighbour messages: index, state, flags, address and MAC as parseNeighborMessage reads them', function () {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 20 }), ipArb, fc.option(macArb, { nil: undefined }), fc.constantFrom('permanent', 'noarp', 'reachable', 'stale'), fc.boolean(), (index, ip, lladdr, state, router) => {
        const m = messageOf((w) => encodeNeighbor(w, C.RTM_NEWNEIGH, 0, { dev: index, ip, lladdr, state, router }, index));
        const f = new rtnl.NeighFacts().read(m);
        const n = rtnl.parseNeighborMessage(m);
        assert.equal(f.odd, false);
        assert.equal(f.ifindex, n.index);
        assert.equal(f.state, n.state);
        assert.equal(f.flags, n.flags);
        assert.equal(f.family, n.family === 4 ? C.AF_INET : C.AF_INET6);
        assert.equal(dstText(f), n.ip);
        assert.equal(macText(f), n.lladdr);
      }),
      { numRuns: 300 },
    );
  });

  it('FDB messages: MAC, dst, vni, port and nhid as parseFdbMessage reads them', function () {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1 << 20 }),
        macArb,
        fc.option(ipArb, { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 0xffffff }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 0xffff }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 0xffffffff }), { nil: undefined }),
        fc.boolean(),
        (index, mac, dst, vni, port, nhid, permanent) => {
          const spec = nhid === undefined ? { dev: index, mac, dst, vni, port, permanent } : { dev: index, mac, nhid, permanent };
          const m = messageOf((w) => encodeFdb(w, C.RTM_NEWNEIGH, 0, spec, index));
          const f = new rtnl.NeighFacts().read(m);
          const e = rtnl.parseFdbMessage(m);
          assert.equal(f.odd, false);
          assert.equal(f.family, C.AF_BRIDGE);
          assert.equal(f.ifindex, e.index);
          assert.equal(f.state, e.state);
          assert.equal(f.flags, e.flags);
          assert.equal(macText(f), e.mac);
          assert.equal(dstText(f), e.dst);
          assert.equal(f.vni < 0 ? undefined : f.vni, e.vni);
          assert.equal(f.port < 0 ? undefined : f.port, e.port);
          assert.equal(f.nhid < 0 ? undefined : f.nhid, e.nhid);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on damaged messages; what it reads without marking odd, the decoder reads the same', function () {
    fc.assert(
      fc.property(ipArb, macArb, fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 6 }), fc.nat(200), (ip, lladdr, flips, cut) => {
        const m = messageOf((w) => encodeNeighbor(w, C.RTM_NEWNEIGH, 0, { dev: 3, ip, lladdr }, 3));
        const buf = Buffer.from(m.buf.subarray(m.start, m.end));
        for (const [at, v] of flips) if (16 + at < buf.length) buf[16 + at] = v;
        const end = Math.max(16, buf.length - (cut % 24));
        const view = { ...m, buf, start: 0, payload: 16, end };
        const f = new rtnl.NeighFacts().read(view); // must not throw
        let n;
        try {
          n = rtnl.parseNeighborMessage(view);
        } catch {
          return; // the decoder refuses it: the reconciler decodes every odd or unmatched entry, and throws there
        }
        if (f.odd) return;
        assert.equal(f.ifindex, n.index);
        assert.equal(f.state, n.state);
        assert.equal(dstText(f), n.ip);
        assert.equal(macText(f), n.lladdr !== undefined && n.lladdr.length === 17 ? n.lladdr : undefined);
      }),
      { numRuns: 1000 },
    );
  });
});
