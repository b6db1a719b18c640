'use strict';
// Generic netlink without a kernel: genlmsghdr and controller codecs on crafted bytes, and the
// family cache (stale ids, controller announcements, overflow) against a stand-in kernel.
const assert = require('node:assert/strict');
const wire = require('../../dist/wire');
const { FakeNative, ack } = require('../support/fake-native');

const { CTRL_ATTRS, GENL_ID_CTRL, CTRL_CMD_NEWFAMILY, CTRL_CMD_DELFAMILY, CTRL_CMD_GETFAMILY, NLA_F_NESTED } = wire;

/** A controller message describing a family (reply when seq/pid are given, else an announcement). */
function familyMsg({ cmd = CTRL_CMD_NEWFAMILY, id, name, groups = [], ops = [], seq = 0, pid = 0, extra }) {
  const w = new wire.MessageWriter();
  wire.beginGenl(w, GENL_ID_CTRL, 0, cmd, 2);
  CTRL_ATTRS.encode(w, { id, name, version: 1, hdrSize: 0, maxAttr: 8, ops, groups });
  if (extra) extra(w);
  w.end();
  const b = Buffer.from(w.bytes());
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(pid, 12);
  return b;
}

/** Reads the family name a CTRL_CMD_GETFAMILY request asks for. */
function askedName(m) {
  const h = wire.readGenlHeader(m);
  assert.equal(h.cmd, CTRL_CMD_GETFAMILY);
  return CTRL_ATTRS.decode(m.buf, h.attrStart, m.end).values.name;
}

describe('wire: generic netlink codecs', function () {
  it('writes genlmsghdr after nlmsghdr and reads it back, skipping a family header', function () {
    const w = new wire.MessageWriter();
    wire.beginGenl(w, 0x1a, wire.NLM_F_DUMP, 7, 3);
    w.reserve(8); // a family with an 8-byte fixed header
    w.u32(1, 0xdeadbeef);
    w.end();
    const [m] = wire.parseMessages(Buffer.from(w.bytes()));
    assert.equal(m.type, 0x1a);
    assert.equal(m.flags, wire.NLM_F_DUMP);
    assert.deepEqual(wire.readGenlHeader(m), { cmd: 7, version: 3, attrStart: m.payload + 4 });
    const h = wire.readGenlHeader(m, 8);
    assert.equal(h.attrStart, m.payload + 12);
    assert.equal(wire.readU32(m.buf, h.attrStart + 4, 4), 0xdeadbeef);
    // the reserved u16 is zero
    assert.equal(m.buf.readUInt16LE(m.payload + 2), 0);
  });

  it('refuses a message too short for its genlmsghdr (an error value, not a crash)', function () {
    const w = new wire.MessageWriter();
    w.begin(0x1a, 0);
    w.reserve(2);
    w.end();
    const b = Buffer.from(w.bytes());
    b.writeUInt32LE(18, 0); // nlmsg_len: header + 2 bytes
    const [m] = wire.parseMessages(b.subarray(0, 20), 0, 18);
    assert.throws(() => wire.readGenlHeader(m), wire.NetlinkParseError);
    const w2 = new wire.MessageWriter();
    wire.beginGenl(w2, 0x1a, 0, 1, 1);
    w2.end();
    const [m2] = wire.parseMessages(Buffer.from(w2.bytes()));
    assert.throws(() => wire.readGenlHeader(m2, 4), /header needs 8/);
  });

  it('encodes CTRL_CMD_GETFAMILY by name (NUL-terminated) and, without a name, a dump', function () {
    const w = new wire.MessageWriter();
    wire.encodeGetFamily(w, 'wireguard');
    const [m] = wire.parseMessages(Buffer.from(w.bytes()));
    assert.equal(m.type, GENL_ID_CTRL);
    assert.equal(m.flags, 0);
    assert.equal(askedName(m), 'wireguard');
    // payload: genlmsghdr (cmd 3, version 2), then CTRL_ATTR_FAMILY_NAME = "wireguard\0" (len 14)
    assert.deepEqual([...m.buf.subarray(m.payload, m.payload + 8)], [3, 2, 0, 0, 14, 0, 2, 0]);
    const d = new wire.MessageWriter();
    wire.encodeGetFamily(d);
    const [dm] = wire.parseMessages(Buffer.from(d.bytes()));
    assert.equal(dm.flags, wire.NLM_F_DUMP);
    assert.equal(dm.end - dm.payload, 4, 'a dump carries no attributes');
  });

  it('decodes a family with ops and groups (nested arrays), keeping attributes it does not know', function () {
    const b = familyMsg({
      id: 0x22,
      name: 'wireguard',
      ops: [{ cmd: 0, flags: 0x1c }, { cmd: 1, flags: 0x1a }],
      groups: [{ name: 'peers', id: 9 }],
      extra: (w) => w.binary(wire.CTRL_ATTR_POLICY, Buffer.from([1, 2, 3, 4])),
    });
    const [m] = wire.parseMessages(b);
    const f = wire.parseFamilyMessage(m);
    assert.deepEqual(
      { id: f.id, name: f.name, version: f.version, maxAttr: f.maxAttr, ops: f.ops, groups: f.groups },
      { id: 0x22, name: 'wireguard', version: 1, maxAttr: 8, ops: [{ cmd: 0, flags: 0x1c }, { cmd: 1, flags: 0x1a }], groups: [{ name: 'peers', id: 9 }] },
    );
    assert.deepEqual(f.unknown, [{ type: wire.CTRL_ATTR_POLICY, data: Buffer.from([1, 2, 3, 4]) }]);
    // The lists are written as the kernel does: NLA_F_NESTED, elements numbered from 1.
    let sawOps = false;
    wire.forEachAttr(m.buf, m.payload + 4, m.end, (type, off, len, rawType) => {
      if (type !== wire.CTRL_ATTR_OPS) return;
      sawOps = true;
      assert.ok(rawType & NLA_F_NESTED);
      const idx = [];
      wire.forEachAttr(m.buf, off, off + len, (t) => idx.push(t));
      assert.deepEqual(idx, [1, 2]);
    });
    assert.ok(sawOps);
  });

  it('nestedArray reads elements whatever their type and writes them from firstIndex', function () {
    const list = wire.nestedArray(wire.u32, 0, NLA_F_NESTED);
    const w = new wire.MessageWriter();
    list.encode(w, 5, [10, 20, 30]);
    const b = Buffer.from(w.bytes());
    const types = [];
    wire.forEachAttr(b, 4, b.length, (t) => types.push(t));
    assert.deepEqual(types, [0, 1, 2]);
    assert.equal(b.readUInt16LE(2), 5 | NLA_F_NESTED);
    assert.deepEqual(list.decode(b, 4, b.length - 4), [10, 20, 30]);
  });

  it('refuses controller messages that are malformed or name no family', function () {
    const b = familyMsg({ id: 0x22, name: 'x' });
    const bad = Buffer.from(b);
    bad.writeUInt16LE(200, 20); // first attribute's nla_len runs past the end
    assert.throws(() => wire.parseFamilyMessage(wire.parseMessages(bad)[0]), wire.NetlinkParseError);
    const w = new wire.MessageWriter();
    wire.beginGenl(w, GENL_ID_CTRL, 0, CTRL_CMD_NEWFAMILY, 2);
    CTRL_ATTRS.encode(w, { name: 'noid' });
    w.end();
    assert.throws(() => wire.parseFamilyMessage(wire.parseMessages(Buffer.from(w.bytes()))[0]), /FAMILY_ID/);
    const other = familyMsg({ id: 1, name: 'y' });
    other.writeUInt16LE(0x30, 4);
    assert.throws(() => wire.parseFamilyMessage(wire.parseMessages(other)[0]), /not from the generic netlink controller/);
  });
});

describe('wire: GenlSocket family cache (stand-in kernel)', function () {
  let fake;
  let genl;
  /** name -> id the stand-in controller knows; requests to other types get `answer`. */
  let registry;
  let answer;
  beforeEach(function () {
    fake = new FakeNative();
    registry = new Map([['wireguard', 0x20]]);
    answer = (m) => ack(m.seq, m.pid, registry.has([...registry].find(([, id]) => id === m.type)?.[0]) ? 0 : -2);
    fake.onSend = (msgs, f) => {
      for (const m of msgs) {
        if (m.type === GENL_ID_CTRL) {
          const name = askedName(m);
          if (!registry.has(name)) f.reply([ack(m.seq, m.pid, -2)]);
          else f.reply([familyMsg({ id: registry.get(name), name, seq: m.seq, pid: m.pid }), ack(m.seq, m.pid)]);
        } else {
          f.reply([answer(m)]);
        }
      }
    };
    genl = wire.GenlSocket.fromNative(fake);
  });
  afterEach(function () {
    genl.close();
  });

  const setDevice = (w, fam) => {
    wire.beginGenl(w, fam.id, 0, 1, 1);
    w.end();
  };
  const sentTypes = () => fake.sent.map((m) => m.type);

  it('resolves a family once per socket, also for concurrent callers', async function () {
    const [a, b] = await Promise.all([genl.family('wireguard'), genl.family('wireguard')]);
    assert.equal(a.id, 0x20);
    assert.equal(a, b);
    await genl.request('wireguard', setDevice);
    await genl.request('wireguard', setDevice);
    assert.deepEqual(sentTypes(), [GENL_ID_CTRL, 0x20, 0x20]);
    assert.equal(genl.requestsSent('wireguard'), 2);
  });

  it('an unknown family is GenlFamilyNotFoundError naming it; the failure is not cached', async function () {
    await assert.rejects(genl.family('nope'), (e) => e instanceof wire.GenlFamilyNotFoundError && e.code === 'ENOENT' && e.family === 'nope' && /"nope"/.test(e.message));
    registry.set('nope', 0x21);
    assert.equal((await genl.family('nope')).id, 0x21);
  });

  it('a request that fails with ENOENT after a module reload resolves the family again and is sent once more', async function () {
    await genl.request('wireguard', setDevice);
    registry.set('wireguard', 0x25); // unloaded and loaded: a new id; 0x20 is gone
    await genl.request('wireguard', setDevice);
    assert.deepEqual(sentTypes(), [GENL_ID_CTRL, 0x20, 0x20, GENL_ID_CTRL, 0x25]);
    assert.equal((await genl.family('wireguard')).id, 0x25);
  });

  it('the family\'s own ENOENT (same id after resolving again) is returned as is, not retried', async function () {
    answer = (m) => ack(m.seq, m.pid, -2);
    await assert.rejects(genl.request('wireguard', setDevice, { what: 'wg set' }), (e) => e.code === 'ENOENT' && /wg set/.test(e.message));
    assert.deepEqual(sentTypes(), [GENL_ID_CTRL, 0x20, GENL_ID_CTRL]);
  });

  it('when the family is gone altogether, the request fails with GenlFamilyNotFoundError', async function () {
    await genl.family('wireguard');
    registry.delete('wireguard');
    await assert.rejects(genl.request('wireguard', setDevice), wire.GenlFamilyNotFoundError);
  });

  it('a controller announcement (DELFAMILY/NEWFAMILY) drops the cached id before any request fails', async function () {
    await genl.family('wireguard');
    const events = [];
    genl.on('family', (e) => events.push([e.action, e.family.name, e.family.id]));
    registry.set('wireguard', 0x26);
    fake.deliver([familyMsg({ cmd: CTRL_CMD_DELFAMILY, id: 0x20, name: 'wireguard' })]);
    fake.deliver([familyMsg({ cmd: CTRL_CMD_NEWFAMILY, id: 0x26, name: 'wireguard' })]);
    assert.deepEqual(events, [['del', 'wireguard', 0x20], ['new', 'wireguard', 0x26]]);
    fake.sent.length = 0;
    await genl.request('wireguard', setDevice);
    assert.deepEqual(sentTypes(), [GENL_ID_CTRL, 0x26], 'resolved anew, no failed request first');
  });

  it('an overflow drops every cached family (an announcement may have been lost)', async function () {
    await genl.family('wireguard');
    let overflowed = 0;
    genl.on('overflow', () => overflowed++);
    fake.deliver([], { errno: require('node:os').constants.errno.ENOBUFS });
    assert.equal(overflowed, 1);
    fake.sent.length = 0;
    await genl.family('wireguard');
    assert.deepEqual(sentTypes(), [GENL_ID_CTRL]);
  });

  it('joins the controller\'s notify group by default, and not when asked not to', function () {
    const joined = [];
    const f2 = new FakeNative();
    f2.setOption = (level, name, value) => name === wire.NETLINK_ADD_MEMBERSHIP && joined.push(value);
    wire.GenlSocket.fromNative(f2).close();
    assert.deepEqual(joined, [GENL_ID_CTRL]);
    joined.length = 0;
    const f3 = new FakeNative();
    f3.setOption = f2.setOption;
    wire.GenlSocket.fromNative(f3, { followFamilies: false }).close();
    assert.deepEqual(joined, []);
  });

  it('says which privilege an EPERM lacks', async function () {
    answer = (m) => ack(m.seq, m.pid, -1);
    await assert.rejects(genl.request('wireguard', setDevice), (e) => e.code === 'EPERM' && e.message.includes('CAP_NET_ADMIN'));
  });

  it('times out a request the kernel never answers', async function () {
    answer = () => Buffer.alloc(0);
    fake.onSend = ((orig) => (msgs, f) => {
      if (msgs[0].type === GENL_ID_CTRL) orig(msgs, f);
    })(fake.onSend);
    await assert.rejects(genl.request('wireguard', setDevice, { timeoutMs: 30, what: 'wg get' }), (e) => e instanceof wire.NetlinkTimeoutError && /wg get/.test(e.message));
  });

  it('a batch sends again only the requests that failed because of a stale id', async function () {
    await genl.family('wireguard');
    registry.set('wireguard', 0x27);
    // The old id fails everything; the new one accepts all but request 2 (its own EINVAL).
    answer = (m) => {
      if (m.type === 0x20) return ack(m.seq, m.pid, -2);
      const idx = wire.readU32(m.buf, m.payload + 8, 4);
      return ack(m.seq, m.pid, idx === 2 ? -22 : 0);
    };
    const r = await genl.batch('wireguard', 4, (i, w, fam) => {
      wire.beginGenl(w, fam.id, 0, 1, 1);
      w.u32(1, i);
      w.end();
    });
    // The stand-in answers every message of a send, so all four failed on the old id.
    assert.equal(r.count, 4);
    assert.deepEqual(r.errors.map((e) => e && e.code), [undefined, undefined, 'EINVAL', undefined]);
    assert.equal(r.failed, 1);
    assert.equal(fake.sent.filter((m) => m.type === 0x27).length, 4);
  });
});
