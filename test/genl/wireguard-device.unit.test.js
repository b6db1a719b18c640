'use strict';
// The WireGuard handle against a stand-in kernel (runs everywhere): what it sends, in how many
// messages, what it reports when a message fails, and that bad input sends nothing.
const assert = require('node:assert/strict');
const wire = require('../../dist/wire');
const WG = require('../../dist/genl/wireguard');
const { ValidationError } = require('../../dist/rtnl');
const { FakeNative, ack, done } = require('../support/fake-native');

const C = WG.wgConstants;
const WG_ID = 0x24;
const keys = Array.from({ length: 3 }, () => WG.PrivateKey.generate());
/** Distinct public keys by number (any 32 bytes are a valid key on the wire). */
const peerKey = (i) => {
  const b = Buffer.alloc(32, 1);
  b.writeUInt16LE(i, 0);
  return WG.PublicKey.fromBytes(b);
};

/** A GET dump reply for a device with `peers` (each { key, ips }), written with the library's tables. */
function deviceDump(seq, pid, peers) {
  const w = new wire.MessageWriter();
  wire.beginGenl(w, WG_ID, wire.NLM_F_MULTI, C.WG_CMD_GET_DEVICE, 1);
  WG.WG_DEVICE_ATTRS.encode(w, {
    ifindex: 7,
    ifname: 'wg0',
    listenPort: 51820,
    fwmark: 0,
    peers: peers.map((p) => ({ values: { publicKey: p.key, persistentKeepalive: 0, allowedIps: p.ips.map((t) => ({ family: 4, address: wire.parseIP(t.split('/')[0]), cidr: Number(t.split('/')[1]), text: t })) }, unknown: [] })),
  });
  w.end();
  const b = Buffer.from(w.bytes());
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(pid, 12);
  return b;
}

function familyReply(seq, pid) {
  const w = new wire.MessageWriter();
  wire.beginGenl(w, wire.GENL_ID_CTRL, 0, wire.CTRL_CMD_NEWFAMILY, 2);
  wire.CTRL_ATTRS.encode(w, { id: WG_ID, name: 'wireguard', version: 1 });
  w.end();
  const b = Buffer.from(w.bytes());
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(pid, 12);
  return b;
}

describe('wireguard: the WireGuard handle (stand-in kernel)', function () {
  let fake;
  let wg;
  let onSet; // (message, index) => errno
  let current; // peers the stand-in device has
  beforeEach(function () {
    fake = new FakeNative();
    onSet = () => 0;
    current = [];
    let sets = 0;
    fake.onSend = (msgs, f) => {
      for (const m of msgs) {
        if (m.type === wire.GENL_ID_CTRL) f.reply([familyReply(m.seq, m.pid), ack(m.seq, m.pid)]);
        else if (m.buf[m.payload] === C.WG_CMD_GET_DEVICE) f.reply([deviceDump(m.seq, m.pid, current), done(m.seq, m.pid)]);
        else f.reply([ack(m.seq, m.pid, -onSet(m, sets++))]);
      }
    };
    wg = WG.WireGuard.on(wire.GenlSocket.fromNative(fake));
  });
  afterEach(function () {
    wg.genl.close();
  });
  const sets = () => fake.sent.filter((m) => m.type === WG_ID && m.buf[m.payload] === C.WG_CMD_SET_DEVICE);

  it('bad input is a ValidationError and nothing is sent, not even the family lookup', async function () {
    await assert.rejects(wg.set('wg0', { privateKey: 'short', peers: [{ publicKey: 'x' }] }), (e) => e instanceof ValidationError && e.problems.map((p) => p.path).join() === 'privateKey,peers[0].publicKey');
    await assert.rejects(wg.get('bad/name'), ValidationError);
    await assert.rejects(wg.removePeer('wg0', keys[0]), (e) => e instanceof ValidationError && /is a PrivateKey/.test(e.message));
    assert.equal(fake.sent.length, 0);
  });

  it('a big change goes out in as many messages as encodeWgSetMessages says, in order, to the resolved family', async function () {
    const peers = Array.from({ length: 1000 }, (_, i) => ({ publicKey: peerKey(i), allowedIps: [`10.${i >> 8}.${i & 0xff}.0/24`] }));
    const r = await wg.configure('wg0', { privateKey: keys[0], listenPort: 51820, peers });
    assert.ok(r.messages > 1);
    assert.equal(sets().length, r.messages);
    assert.deepEqual(sets().map((m) => m.end - m.start), r.bytes);
    assert.equal(wg.genl.requestsSent('wireguard'), r.messages);
    for (const b of r.bytes) assert.ok(b <= WG.WG_DEFAULT_SET_MESSAGE_BYTES);
  });

  it('when message 2 fails, the error names it, says the first was applied, and message 3 is not sent', async function () {
    onSet = (m, i) => (i === 1 ? 12 /* ENOMEM */ : 0);
    const peers = Array.from({ length: 600 }, (_, i) => ({ publicKey: peerKey(i) }));
    const err = await wg.set('wg0', { peers }, { maxMessageBytes: 8192 }).catch((e) => e);
    assert.equal(err.code, 'ENOMEM');
    assert.match(err.message, /wireguard\.set "wg0" \(message 2 of \d+: peers \d+\.\.\d+; the earlier ones were applied\)/);
    assert.equal(sets().length, 2);
  });

  it('get merges the dump; EOPNOTSUPP says the device is not a WireGuard device', async function () {
    current = [{ key: keys[1].publicKey(), ips: ['10.1.0.0/16'] }];
    const d = await wg.get('wg0');
    assert.equal(d.name, 'wg0');
    assert.deepEqual(d.peers.map((p) => p.allowedIps), [['10.1.0.0/16']]);
    fake.onSend = (msgs, f) => msgs.forEach((m) => f.reply(m.type === wire.GENL_ID_CTRL ? [familyReply(m.seq, m.pid), ack(m.seq, m.pid)] : [ack(m.seq, m.pid, -95)]));
    await assert.rejects(wg.get('eth0'), (e) => e.code === 'EOPNOTSUPP' && /"eth0" is not a WireGuard device/.test(e.message));
  });

  it('sync sends one message carrying only the peer that changed; nothing when nothing differs', async function () {
    current = [
      { key: keys[1].publicKey(), ips: ['10.1.0.0/16'] },
      { key: keys[2].publicKey(), ips: ['10.2.0.0/16'] },
    ];
    const desired = { listenPort: 51820, peers: current.map((p) => ({ publicKey: p.key, allowedIps: p.ips })) };
    const none = await wg.sync('wg0', desired);
    assert.equal(none.messages, 0);
    assert.equal(sets().length, 0);
    desired.peers[0].allowedIps = ['10.1.0.0/16', '10.11.0.0/16'];
    const r = await wg.sync('wg0', desired);
    assert.equal(r.messages, 1);
    assert.deepEqual(r.plan.peers.map((p) => [p.action, p.publicKey.toBase64(), p.fields]), [['update', keys[1].publicKey().toBase64(), ['allowedIps']]]);
    const [m] = sets();
    const h = wire.readGenlHeader(m);
    const peers = WG.WG_DEVICE_ATTRS.decode(m.buf, h.attrStart, m.end).values.peers;
    assert.equal(peers.length, 1, 'the other peer is not in the message');
    assert.equal(peers[0].values.flags, C.WGPEER_F_REPLACE_ALLOWEDIPS);
  });
});
