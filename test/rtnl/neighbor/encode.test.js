'use strict';
// encodeNeighbor and writeNdmsg write their bytes by hand (a batch encodes 10k of them), and
// MessageWriter.claim() does not zero what it hands out. The oracle here is the generic path
// they replaced: struct ndmsg through NDMSG.write() and the attributes through NEIGHBOR_ATTRS.
// Each message is written into a writer whose buffer is full of old 0xff bytes, several back to
// back as a batch writes them, so a pad or field left unwritten shows.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const wire = require('../../../dist/wire');
const rtnl = require('../../../dist/rtnl');
const { encodeNeighbor } = require('../../../dist/rtnl/neighbor');
const { NEIGHBOR_ATTRS } = require('../../../dist/rtnl/neighbor/table');
const { NDMSG, writeNdmsg } = require('../../../dist/rtnl/ndmsg');
const { NUD_STATES } = require('../../../dist/rtnl/names');
const { parseIPv4 } = require('../../../dist/values/ip');

const C = rtnl.constants;
const hex2 = (n) => n.toString(16).padStart(2, '0');
const macArb = fc
  .tuple(fc.array(fc.nat(255), { minLength: 6, maxLength: 6 }), fc.constantFrom(':', '-'), fc.boolean())
  .map(([b, sep, upper]) => {
    const s = b.map(hex2).join(sep);
    return upper ? s.toUpperCase() : s;
  });
const v4Arb = fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }).map((b) => b.join('.'));
const v6Arb = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((w) => w.map((x) => x.toString(16)).join(':'));
const specArb = fc.record(
  {
    ip: fc.oneof(v4Arb, v6Arb),
    lladdr: macArb,
    state: fc.constantFrom(...Object.keys(NUD_STATES)),
    proxy: fc.boolean(),
    router: fc.boolean(),
  },
  { requiredKeys: ['ip'] },
);
const TYPES = [
  [C.RTM_NEWNEIGH, C.NLM_F_CREATE | C.NLM_F_REPLACE],
  [C.RTM_NEWNEIGH, C.NLM_F_CREATE | C.NLM_F_EXCL],
  [C.RTM_DELNEIGH, 0],
];

/** The encoder as it was: NDMSG.write() and NEIGHBOR_ATTRS.encode(). */
function reference(w, type, flags, n, devIndex) {
  const family = parseIPv4(n.ip) >= 0 ? C.AF_INET : C.AF_INET6;
  const state = n.state === undefined ? C.NUD_PERMANENT : NUD_STATES[n.state];
  const ntf = (n.proxy ? C.NTF_PROXY : 0) | (n.router ? C.NTF_ROUTER : 0);
  w.begin(type, flags);
  NDMSG.write(w, { family, ifindex: devIndex, state, flags: ntf });
  NEIGHBOR_ATTRS.encode(w, { ip: n.ip, lladdr: n.lladdr });
  w.end();
}

/** A writer whose buffer holds old bytes (0xff) where the next messages go. */
function dirtyWriter() {
  const w = new wire.MessageWriter(256);
  w.begin(C.RTM_NEWNEIGH, 0);
  w.binary(1, Buffer.alloc(4000, 0xff));
  w.end();
  w.reset();
  return w;
}

describe('rtnl: encodeNeighbor writes what the generic encoder wrote', function () {
  it('every spec shape, byte for byte, into a writer full of old bytes (property)', function () {
    fc.assert(
      fc.property(fc.array(fc.tuple(specArb, fc.integer({ min: 1, max: 0x7fffffff }), fc.constantFrom(...TYPES)), { minLength: 1, maxLength: 8 }), (batch) => {
        const got = dirtyWriter();
        const want = new wire.MessageWriter(64);
        for (const [spec, index, [type, flags]] of batch) {
          const n = { dev: index, ...spec };
          encodeNeighbor(got, type, flags, n, index);
          reference(want, type, flags, n, index);
        }
        assert.equal(got.bytes().toString('hex'), want.bytes().toString('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('a MAC that does not parse throws TypeError, as the generic encoder did', function () {
    for (const ip of ['10.0.0.1', 'fd00::1']) {
      assert.throws(() => encodeNeighbor(new wire.MessageWriter(), C.RTM_NEWNEIGH, 0, { dev: 1, ip, lladdr: '02:00:00:00:00' }, 1), { name: 'TypeError', message: /not a MAC address: "02:00:00:00:00"/ });
    }
  });

  it('writeNdmsg writes every byte NDMSG.write() wrote (property)', function () {
    fc.assert(
      fc.property(fc.nat(255), fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.nat(0xffff), fc.nat(255), (family, ifindex, state, flags) => {
        const got = dirtyWriter();
        const want = new wire.MessageWriter(64);
        got.begin(C.RTM_NEWNEIGH, 0);
        writeNdmsg(got, family, ifindex, state, flags);
        got.end();
        want.begin(C.RTM_NEWNEIGH, 0);
        NDMSG.write(want, { family, ifindex, state, flags });
        want.end();
        assert.equal(got.bytes().toString('hex'), want.bytes().toString('hex'));
      }),
      { numRuns: 300 },
    );
  });
});
