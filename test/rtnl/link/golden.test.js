'use strict';
// Link requests byte for byte against what iproute2 sends (test/fixtures/iproute2, captured
// with strace), and the decoder against real kernel replies captured the same way.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const fc = require('fast-check');
const wire = require('../../../dist/wire');
const C = require('../../../dist/rtnl/constants');
const L = require('../../support/codec-modules').link;
const { Links, DeviceResolver, Problems } = require('../../../dist/rtnl');
const { FakeNative, ack, done } = require('../../support/fake-native');

const FIXTURES = path.join(__dirname, '../../fixtures/iproute2');
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));

/** A message with its seq and pid zeroed (the only bytes that differ between runs). */
function masked(buf) {
  const b = Buffer.from(buf);
  for (const m of wire.parseMessages(b)) b.fill(0, m.start + 8, m.start + 16);
  return b;
}

/** What the socket sends for an encoder: the flags it adds to every request. */
function encoded(encode) {
  const w = new wire.MessageWriter(64);
  encode(w);
  const b = Buffer.from(w.bytes());
  b.writeUInt16LE(b.readUInt16LE(6) | wire.NLM_F_REQUEST | wire.NLM_F_ACK, 6);
  return b;
}

function assertSameBytes(actual, fx) {
  assert.equal(fx.sent.length, 1, `${fx.command}: one request captured`);
  const want = masked(Buffer.from(fx.sent[0], 'hex'));
  const got = masked(actual);
  assert.equal(got.toString('hex'), want.toString('hex'), `bytes of: ${fx.command}`);
}

/** The kernel's replies in a fixture, as message views. */
function received(fx) {
  const out = [];
  for (const hex of fx.received) out.push(...wire.parseMessages(Buffer.from(hex, 'hex')));
  return out;
}

/** A Links on a fake socket that acknowledges every request; returns what was sent. */
function fakeLinks(answer) {
  const fake = new FakeNative();
  fake.onSend = (msgs, f) => {
    for (const m of msgs) f.reply(answer ? answer(m) : [ack(m.seq, m.pid)]);
  };
  const socket = wire.NetlinkSocket.fromNative(fake);
  const links = new Links({ socket, devices: new DeviceResolver(socket) });
  return { fake, socket, links };
}

describe('rtnl links: golden bytes (iproute2 fixtures)', function () {
  const adds = [
    ['link-add-vxlan-nolearning', (ix) => ({ kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, local: '10.57.4.20', dev: ix.veth0, learning: false })],
    [
      'link-add-vxlan-full',
      (ix) => ({
        kind: 'vxlan',
        name: 'vxlan1',
        vni: 200,
        port: 4789,
        local: '10.57.4.20',
        remote: '10.57.4.21',
        dev: 'veth0',
        ttl: 64,
        tos: 1, // "tos inherit"
        srcPortRange: [1000, 2000],
        udpChecksum: false,
        ageing: 300,
        proxy: true,
        l2miss: true,
        l3miss: true,
        learning: true,
      }),
    ],
    // Learning is not in the command: iproute2 writes its default (1), and so do we.
    ['link-add-vxlan-v6', () => ({ kind: 'vxlan', name: 'vxlan6', vni: 300, port: 4789, local: 'fd00::1', remote: 'FD00::2', dev: 'veth0' })],
    ['link-add-veth', () => ({ kind: 'veth', name: 'veth0', peer: { name: 'veth1' } })],
    [
      'link-add-veth-peer-address',
      () => ({ kind: 'veth', name: 'veth0', address: '02:00:00:00:00:01', peer: { name: 'veth1', address: '02:00:00:00:00:02' } }),
    ],
    ['link-add-bridge-stp', () => ({ kind: 'bridge', name: 'br0', stp: true })],
    ['link-add-bridge', () => ({ kind: 'bridge', name: 'br0', stp: true, vlanFiltering: true })],
    // ipip cannot be created on the test kernel: these bytes are the proof of its encoding.
    ['link-add-ipip', () => ({ kind: 'ipip', name: 'tun0', local: '10.57.4.20', ttl: 64 })],
    ['link-add-ipip-full', () => ({ kind: 'ipip', name: 't1', local: '10.57.4.20', remote: '10.57.4.21', dev: 'veth0', tos: 0x10, pmtudisc: true })],
  ];
  for (const [name, make] of adds) {
    it(`encodeLinkAdd = ${name}`, function () {
      const fx = fixture(name);
      const spec = make(fx.ifindex);
      const p = new Problems();
      assert.ok(L.validateLinkSpec(p, '', spec), JSON.stringify(p.list));
      const refs = typeof spec.dev === 'string' ? { dev: fx.ifindex[spec.dev] } : {};
      assertSameBytes(encoded((w) => L.encodeLinkAdd(w, spec, refs)), fx);
    });
  }

  const sets = [
    ['link-set-mtu', { mtu: 1400 }],
    ['link-set-up', { up: true }],
    ['link-set-down', { up: false }],
    ['link-set-address', { address: 'AA:BB:CC:DD:EE:FF' }],
    ['link-set-txqueuelen', { txqueuelen: 500 }],
    ['link-set-master', { master: 'br0' }],
    ['link-set-nomaster', { master: null }],
  ];
  for (const [name, changes] of sets) {
    it(`links.set sends exactly ${name}`, async function () {
      const fx = fixture(name);
      const { fake, socket, links } = fakeLinks();
      try {
        // The master is given by index so that this request is the only one sent.
        const c = typeof changes.master === 'string' ? { ...changes, master: fx.ifindex[changes.master] } : changes;
        await links.set(fx.ifindex.veth0, c);
        assert.equal(fake.sent.length, 1);
        const m = fake.sent[0];
        assertSameBytes(m.buf.subarray(m.start, m.end), fx);
      } finally {
        socket.close();
      }
    });
  }

  it('links.del sends exactly link-del', async function () {
    const fx = fixture('link-del');
    const { fake, socket, links } = fakeLinks();
    try {
      await links.del(fx.ifindex.veth0);
      const m = fake.sent[0];
      assertSameBytes(m.buf.subarray(m.start, m.end), fx);
    } finally {
      socket.close();
    }
  });

  it('links.add sends the fixture request, then reads the device back (a real kernel reply)', async function () {
    const fx = fixture('link-add-vxlan-nolearning');
    const dump = fixture('dump-link-detailed');
    const vxlanReply = received(dump).find((m) => m.type === C.RTM_NEWLINK && L.parseLinkMessage(m).name === 'vxlan0');
    const { fake, socket, links } = fakeLinks((m) => {
      if (m.type !== C.RTM_GETLINK) return [ack(m.seq, m.pid)];
      const reply = Buffer.from(vxlanReply.buf.subarray(vxlanReply.start, vxlanReply.end));
      reply.writeUInt32LE(m.seq, 8);
      reply.writeUInt32LE(m.pid, 12);
      return [reply, ack(m.seq, m.pid)];
    });
    try {
      const link = await links.add({ kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, local: '10.57.4.20', dev: fx.ifindex.veth0, learning: false });
      assert.equal(fake.sent.length, 2);
      const m = fake.sent[0];
      assertSameBytes(m.buf.subarray(m.start, m.end), fx);
      assert.equal(fake.sent[1].type, C.RTM_GETLINK);
      assert.equal(link.kind, 'vxlan');
      assert.equal(link.vni, 100);
      assert.equal(link.dev, 3);
    } finally {
      socket.close();
    }
  });

  it('list() asks the kernel to filter by master and kind (strict-check dump attributes)', async function () {
    const { fake, socket, links } = fakeLinks((m) => [done(m.seq, m.pid)]);
    try {
      assert.deepEqual(await links.list({ master: 4, kind: 'vxlan' }), []);
      const m = fake.sent[0];
      assert.equal(m.type, C.RTM_GETLINK);
      assert.equal(m.flags & wire.NLM_F_DUMP, wire.NLM_F_DUMP);
      const attrs = {};
      wire.forEachAttr(m.buf, m.payload + C.IFINFOMSG_LEN, m.end, (t, off, len) => (attrs[t] = { off, len }));
      assert.equal(wire.readU32(m.buf, attrs[C.IFLA_MASTER].off, 4), 4);
      assert.equal(wire.readU32(m.buf, attrs[C.IFLA_EXT_MASK].off, 4), C.RTEXT_FILTER_SKIP_STATS);
      let kind;
      wire.forEachAttr(m.buf, attrs[C.IFLA_LINKINFO].off, attrs[C.IFLA_LINKINFO].off + attrs[C.IFLA_LINKINFO].len, (t, off, len) => {
        if (t === C.IFLA_INFO_KIND) kind = wire.readString(m.buf, off, len);
      });
      assert.equal(kind, 'vxlan');
    } finally {
      socket.close();
    }
  });
});

describe('rtnl links: decoding real kernel replies', function () {
  const fx = fixture('dump-link-detailed');
  const links = received(fx)
    .filter((m) => m.type === C.RTM_NEWLINK)
    .map(L.parseLinkMessage);
  const byName = Object.fromEntries(links.map((l) => [l.name, l]));

  it('finds every device of the capture with its index', function () {
    assert.deepEqual(Object.fromEntries(links.map((l) => [l.name, l.index])), fx.ifindex);
  });

  it('decodes the vxlan device of the seed command field by field', function () {
    const v = byName.vxlan0;
    assert.equal(v.kind, 'vxlan');
    assert.equal(v.vni, 100);
    assert.equal(v.port, 4789);
    assert.equal(v.local, '10.57.4.20');
    assert.equal(v.dev, fx.ifindex.veth0);
    assert.equal(v.learning, false);
    assert.equal(v.address, '02:00:00:00:00:20');
    assert.equal(v.remote, undefined);
    assert.equal(v.srcPortRange, undefined, 'srcport 0 0 is "not set"');
    assert.equal(v.ageing, 300);
    assert.equal(v.udpChecksum, true);
    assert.equal(v.mtu, 1450);
  });

  it('decodes veths (peer index), the bridge and its port, and lo as a link without a kind', function () {
    assert.equal(byName.veth0.kind, 'veth');
    assert.equal(byName.veth0.address, '02:00:00:00:00:01');
    assert.equal(byName.veth0.link, fx.ifindex.veth1);
    assert.equal(byName.veth0.up, true);
    assert.equal(byName.veth0.operstate, 'up');
    assert.equal(byName.br0.kind, 'bridge');
    assert.equal(byName.br0.stp, false);
    assert.equal(byName.br0.address, '02:00:00:00:00:10');
    assert.equal(byName.veth2.master, fx.ifindex.br0);
    assert.equal(byName.lo.kind, null);
    assert.deepEqual(byName.lo.raw, []);
    assert.equal(byName.lo.mtu, 65536);
  });
});

describe('rtnl links: decoding malformed or unknown input', function () {
  function linkMessage(build) {
    const w = new wire.MessageWriter(64);
    w.begin(C.RTM_NEWLINK, 0);
    const off = w.reserve(C.IFINFOMSG_LEN);
    w.buf.writeInt32LE(9, off + 4);
    w.string(C.IFLA_IFNAME, 'x0');
    build(w);
    w.end();
    return wire.parseMessages(Buffer.from(w.bytes()))[0];
  }

  it('keeps an unknown kind as OtherLink with its IFLA_INFO_DATA attributes raw', function () {
    const m = linkMessage((w) => {
      const li = w.nestStart(C.IFLA_LINKINFO);
      w.string(C.IFLA_INFO_KIND, 'macvtap');
      const d = w.nestStart(C.IFLA_INFO_DATA);
      w.u32(1, 4);
      w.nestEnd(d);
      w.nestEnd(li);
    });
    const l = L.parseLinkMessage(m);
    assert.equal(l.kind, 'macvtap');
    assert.equal(l.index, 9);
    assert.deepEqual(l.raw, [{ type: 1, data: Buffer.from([4, 0, 0, 0]) }]);
  });

  it('a vxlan attribute too short for its type is a NetlinkParseError naming it', function () {
    const m = linkMessage((w) => {
      const li = w.nestStart(C.IFLA_LINKINFO);
      w.string(C.IFLA_INFO_KIND, 'vxlan');
      const d = w.nestStart(C.IFLA_INFO_DATA);
      w.u16(C.IFLA_VXLAN_ID, 1);
      w.nestEnd(d);
      w.nestEnd(li);
    });
    assert.throws(() => L.parseLinkMessage(m), (e) => e instanceof wire.NetlinkParseError && /IFLA_VXLAN\.vni/.test(e.message));
  });

  it('a message shorter than ifinfomsg, or not a link message, is a NetlinkParseError', function () {
    const w = new wire.MessageWriter(64);
    w.begin(C.RTM_NEWLINK, 0);
    w.reserve(8);
    w.end();
    assert.throws(() => L.parseLinkMessage(wire.parseMessages(Buffer.from(w.bytes()))[0]), wire.NetlinkParseError);
    const w2 = new wire.MessageWriter(64);
    w2.begin(C.RTM_NEWADDR, 0);
    w2.reserve(16);
    w2.end();
    assert.throws(() => L.parseLinkMessage(wire.parseMessages(Buffer.from(w2.bytes()))[0]), wire.NetlinkParseError);
  });

  it('fuzz: a corrupted real reply either decodes or is a NetlinkParseError, never anything else', function () {
    const msgs = received(fixture('dump-link-detailed')).filter((m) => m.type === C.RTM_NEWLINK);
    const originals = msgs.map((m) => Buffer.from(m.buf.subarray(m.start, m.end)));
    fc.assert(
      fc.property(
        fc.nat({ max: originals.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }),
        (which, edits) => {
          const b = Buffer.from(originals[which]);
          for (const [pos, val] of edits) b[16 + (pos % (b.length - 16))] = val; // keep the nlmsghdr
          const m = { type: C.RTM_NEWLINK, flags: 0, seq: 0, pid: 0, buf: b, start: 0, payload: 16, end: b.length };
          try {
            const l = L.parseLinkMessage(m);
            assert.equal(typeof l.index, 'number');
          } catch (e) {
            if (!(e instanceof wire.NetlinkParseError)) throw e;
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
