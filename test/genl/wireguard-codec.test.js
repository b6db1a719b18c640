'use strict';
// The WireGuard wire codec and plan (runs everywhere): bytes checked against the uapi layout
// written out by hand here, the split of big changes, the merge of split dumps, the per-peer plan.
const assert = require('node:assert/strict');
const util = require('node:util');
const wire = require('../../dist/wire');
const WG = require('../../dist/genl/wireguard');
const { Problems } = require('../../dist/rtnl');

const C = WG.wgConstants;
const { NLA_F_NESTED } = wire;
const FAMILY = 0x1f;

const keys = Array.from({ length: 4 }, () => WG.PrivateKey.generate());
const pub = (i) => keys[i].publicKey();

function normalize(change) {
  const p = new Problems();
  const r = WG.validateWgDeviceChange(p, '', change);
  assert.deepEqual(p.list, []);
  return r;
}
function normalizeConfig(config) {
  const p = new Problems();
  const r = WG.validateWgDeviceConfig(p, '', config);
  assert.deepEqual(p.list, []);
  return r;
}

/** Walks attributes into [{type, nested, data, children}] (children for nests), independent of the codec. */
function tree(buf, start, end) {
  const out = [];
  wire.forEachAttr(buf, start, end, (type, off, len, rawType) => {
    const node = { type, nested: (rawType & NLA_F_NESTED) !== 0, data: buf.subarray(off, off + len) };
    if (node.nested) node.children = tree(buf, off, off + len);
    out.push(node);
  });
  return out;
}
const find = (nodes, type) => nodes.find((n) => n.type === type);
function msgTree(bytes) {
  const [m] = wire.parseMessages(bytes);
  assert.equal(m.type, FAMILY);
  assert.deepEqual([m.buf[m.payload], m.buf[m.payload + 1]], [C.WG_CMD_SET_DEVICE, 1]);
  return tree(m.buf, m.payload + 4, m.end);
}
/** Every peer in a SET message: { key, flags, ips: [text] , attrs } */
function peersOf(nodes) {
  const peers = find(nodes, C.WGDEVICE_A_PEERS);
  if (!peers) return [];
  assert.ok(peers.nested, 'WGDEVICE_A_PEERS has NLA_F_NESTED');
  return peers.children.map((p) => {
    assert.ok(p.nested && p.type === 0, 'each peer is a nest of type 0 with NLA_F_NESTED');
    const ipsNode = find(p.children, C.WGPEER_A_ALLOWEDIPS);
    const ips = (ipsNode ? ipsNode.children : []).map((a) => {
      assert.ok(a.nested);
      const fam = find(a.children, C.WGALLOWEDIP_A_FAMILY).data.readUInt16LE(0);
      const addr = find(a.children, C.WGALLOWEDIP_A_IPADDR).data;
      const cidr = find(a.children, C.WGALLOWEDIP_A_CIDR_MASK).data[0];
      assert.equal(fam, addr.length === 4 ? 2 : 10);
      return `${wire.formatIP(addr, 0, addr.length)}/${cidr}`;
    });
    const flagsNode = find(p.children, C.WGPEER_A_FLAGS);
    return { key: find(p.children, C.WGPEER_A_PUBLIC_KEY).data.toString('base64'), flags: flagsNode ? flagsNode.data.readUInt32LE(0) : 0, ips, attrs: p.children.map((c) => c.type) };
  });
}

describe('wireguard codec: WG_CMD_SET_DEVICE', function () {
  it('writes the uapi layout: ifname, private key, port (host order), fwmark, flags; peer sockaddrs; nests marked NLA_F_NESTED', function () {
    const psk = WG.PresharedKey.generate();
    const req = normalize({
      privateKey: keys[0],
      listenPort: 51820,
      fwmark: 7,
      replacePeers: true,
      peers: [
        { publicKey: pub(1), presharedKey: psk, endpoint: '192.0.2.9:51821', persistentKeepalive: 25, allowedIps: ['10.1.0.0/16'], replaceAllowedIps: true },
        { publicKey: pub(2), endpoint: '[2001:db8::7]:443', allowedIps: ['fd00::/64'] },
        { publicKey: pub(3), remove: true },
      ],
    });
    const msgs = WG.encodeWgSetMessages(FAMILY, 'wg0', req);
    assert.equal(msgs.length, 1);
    const nodes = msgTree(msgs[0].bytes);
    assert.deepEqual(find(nodes, C.WGDEVICE_A_IFNAME).data, Buffer.from('wg0\0'));
    assert.deepEqual(find(nodes, C.WGDEVICE_A_PRIVATE_KEY).data, Buffer.from(keys[0].revealBase64(), 'base64'));
    assert.deepEqual(find(nodes, C.WGDEVICE_A_LISTEN_PORT).data.subarray(0, 2), Buffer.from([0x6c, 0xca]), '51820 little-endian (NLA_U16, host order)');
    assert.equal(find(nodes, C.WGDEVICE_A_FWMARK).data.readUInt32LE(0), 7);
    assert.equal(find(nodes, C.WGDEVICE_A_FLAGS).data.readUInt32LE(0), C.WGDEVICE_F_REPLACE_PEERS);
    const peerNodes = find(nodes, C.WGDEVICE_A_PEERS).children;
    const ep4 = find(peerNodes[0].children, C.WGPEER_A_ENDPOINT).data;
    // struct sockaddr_in: family (host order), port (network order), address, 8 zero bytes
    assert.deepEqual(ep4, Buffer.from([2, 0, 0xca, 0x6d, 192, 0, 2, 9, 0, 0, 0, 0, 0, 0, 0, 0]));
    const ep6 = find(peerNodes[1].children, C.WGPEER_A_ENDPOINT).data;
    // struct sockaddr_in6: family, port, flowinfo 0, address, scope id 0
    assert.deepEqual(ep6, Buffer.concat([Buffer.from([10, 0, 0x01, 0xbb, 0, 0, 0, 0]), Buffer.from('20010db8000000000000000000000007', 'hex'), Buffer.alloc(4)]));
    assert.deepEqual(find(peerNodes[0].children, C.WGPEER_A_PRESHARED_KEY).data, Buffer.from(psk.revealBase64(), 'base64'));
    assert.equal(find(peerNodes[0].children, C.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL).data.readUInt16LE(0), 25);
    const peers = peersOf(nodes);
    assert.deepEqual(peers.map((p) => [p.key, p.flags, p.ips]), [
      [pub(1).toBase64(), C.WGPEER_F_REPLACE_ALLOWEDIPS, ['10.1.0.0/16']],
      [pub(2).toBase64(), 0, ['fd00::/64']],
      [pub(3).toBase64(), C.WGPEER_F_REMOVE_ME, []],
    ]);
    assert.deepEqual(peers[2].attrs, [C.WGPEER_A_PUBLIC_KEY, C.WGPEER_A_FLAGS], 'a removal carries only its key and flag');
    assert.deepEqual([msgs[0].firstPeer, msgs[0].lastPeer], [0, 2]);
  });

  it('addresses a device by index with WGDEVICE_A_IFINDEX; presharedKey null writes 32 zero bytes (removes it)', function () {
    const [m] = WG.encodeWgSetMessages(FAMILY, 42, normalize({ peers: [{ publicKey: pub(1), presharedKey: null }] }));
    const nodes = msgTree(m.bytes);
    assert.equal(find(nodes, C.WGDEVICE_A_IFINDEX).data.readUInt32LE(0), 42);
    assert.equal(find(nodes, C.WGDEVICE_A_IFNAME), undefined);
    const peer = find(nodes, C.WGDEVICE_A_PEERS).children[0];
    assert.deepEqual(find(peer.children, C.WGPEER_A_PRESHARED_KEY).data, Buffer.alloc(32));
  });

  it('a change without peers is one message of device settings', function () {
    const msgs = WG.encodeWgSetMessages(FAMILY, 'wg0', normalize({ listenPort: 1 }));
    assert.equal(msgs.length, 1);
    assert.deepEqual([msgs[0].firstPeer, msgs[0].lastPeer], [-1, -1]);
    assert.equal(find(msgTree(msgs[0].bytes), C.WGDEVICE_A_PEERS), undefined);
  });

  it('splits 1,000 peers between peers, every message within the budget, device settings and REPLACE_PEERS only in the first', function () {
    const many = Array.from({ length: 1000 }, (_, i) => ({ publicKey: WG.PublicKey.fromBytes(Buffer.alloc(32, 0).fill(i & 0xff, 0, 1).fill(i >> 8, 1, 2)), endpoint: `10.0.${i >> 8}.${i & 0xff}:51820`, allowedIps: [`10.${100 + (i >> 8)}.${i & 0xff}.0/24`] }));
    const req = normalize({ privateKey: keys[0], listenPort: 51820, replacePeers: true, peers: many });
    for (const budget of [4096, 16384, 65535]) {
      const msgs = WG.encodeWgSetMessages(FAMILY, 'wg0', req, budget);
      assert.ok(msgs.length > 1 || budget === 65535, `${budget}: ${msgs.length} messages`);
      const seen = [];
      msgs.forEach((m, i) => {
        assert.ok(m.bytes.length <= budget, `message ${i}: ${m.bytes.length} > ${budget}`);
        const nodes = msgTree(m.bytes);
        assert.equal(!!find(nodes, C.WGDEVICE_A_PRIVATE_KEY), i === 0);
        assert.equal(!!find(nodes, C.WGDEVICE_A_FLAGS), i === 0);
        const ps = peersOf(nodes);
        for (const p of ps) assert.equal(p.ips.length, 1, 'no peer split: one allowed IP each');
        seen.push(...ps.map((p) => p.key));
        assert.equal(ps.length, m.lastPeer - m.firstPeer + 1);
      });
      assert.deepEqual(seen, many.map((p) => p.publicKey.toBase64()), `${budget}: every peer once, in order`);
    }
    // Such a peer takes 92 bytes: 65,535 hold about 710 of them, so 1,000 take 2 messages at the limit.
    assert.equal(WG.encodeWgSetMessages(FAMILY, 'wg0', req, 65535).length, 2);
  });

  it('splits inside a peer with more allowed IPs than one message holds: the rest follows under its key, without REPLACE_ALLOWEDIPS', function () {
    const ips = Array.from({ length: 3000 }, (_, i) => `fd00:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}::/64`);
    const req = normalize({
      peers: [
        { publicKey: pub(1), allowedIps: ['10.0.0.0/8'] },
        { publicKey: pub(2), endpoint: '[fd00::1]:1', persistentKeepalive: 5, presharedKey: WG.PresharedKey.generate(), replaceAllowedIps: true, updateOnly: true, allowedIps: ips },
        { publicKey: pub(3), allowedIps: ['192.168.0.0/16'] },
      ],
    });
    const msgs = WG.encodeWgSetMessages(FAMILY, 'wg0', req, 16384);
    assert.ok(msgs.length >= 8, `${msgs.length} messages`); // 40 bytes per IPv6 allowed IP
    const parts = msgs.map((m) => peersOf(msgTree(m.bytes)));
    const p2 = parts.flat().filter((p) => p.key === pub(2).toBase64());
    assert.ok(p2.length >= 8);
    assert.deepEqual(p2.map((p) => p.ips).flat(), req.peers[1].allowedIps.map((a) => a.text), 'every allowed IP once, in order');
    assert.equal(new Set(p2.map((p) => p.ips).flat()).size, 3000);
    assert.equal(p2[0].flags, C.WGPEER_F_REPLACE_ALLOWEDIPS | C.WGPEER_F_UPDATE_ONLY);
    assert.ok(p2[0].attrs.includes(C.WGPEER_A_ENDPOINT) && p2[0].attrs.includes(C.WGPEER_A_PRESHARED_KEY));
    for (const cont of p2.slice(1)) {
      assert.equal(cont.flags, C.WGPEER_F_UPDATE_ONLY, 'a continuation must not replace (drop) the IPs already sent, nor create the peer');
      assert.deepEqual(cont.attrs, [C.WGPEER_A_PUBLIC_KEY, C.WGPEER_A_FLAGS, C.WGPEER_A_ALLOWEDIPS]);
    }
    assert.deepEqual(parts.flat().map((p) => p.key).filter((k, i, a) => a.indexOf(k) === i), [1, 2, 3].map((i) => pub(i).toBase64()));
    for (const m of msgs) assert.ok(m.bytes.length <= 16384);
  });

  it('refuses a budget outside 512..65535; a nest past 65,535 bytes cannot be written (nla_len is a u16)', function () {
    const req = normalize({ listenPort: 1 });
    assert.throws(() => WG.encodeWgSetMessages(FAMILY, 'wg0', req, 100), RangeError);
    assert.throws(() => WG.encodeWgSetMessages(FAMILY, 'wg0', req, 65536), RangeError);
    const w = new wire.MessageWriter();
    const n = w.nestStart(C.WGDEVICE_A_PEERS, NLA_F_NESTED);
    w.binary(0, Buffer.alloc(40000));
    w.binary(0, Buffer.alloc(40000));
    assert.throws(() => w.nestEnd(n), RangeError);
  });

  it('writeWgSetMessage patches in the family id a (re)resolution gave', function () {
    const [m] = WG.encodeWgSetMessages(0, 'wg0', normalize({ listenPort: 1 }));
    const w = new wire.MessageWriter();
    WG.writeWgSetMessage(w, 0x33, m);
    const [out] = wire.parseMessages(Buffer.from(w.bytes()));
    assert.equal(out.type, 0x33);
    assert.deepEqual(Buffer.from(w.bytes()).subarray(16, m.bytes.length), m.bytes.subarray(16));
  });
});

/** A GET dump message written attribute by attribute (not with the library's tables). */
function getMsg({ device, peers }) {
  const w = new wire.MessageWriter();
  wire.beginGenl(w, FAMILY, wire.NLM_F_MULTI, C.WG_CMD_GET_DEVICE, 1);
  if (device) {
    w.u16(C.WGDEVICE_A_LISTEN_PORT, device.port);
    w.u32(C.WGDEVICE_A_FWMARK, 0);
    w.u32(C.WGDEVICE_A_IFINDEX, 5);
    w.string(C.WGDEVICE_A_IFNAME, 'wg0');
    if (device.priv) {
      w.binary(C.WGDEVICE_A_PRIVATE_KEY, Buffer.from(device.priv.revealBase64(), 'base64'));
      w.binary(C.WGDEVICE_A_PUBLIC_KEY, device.priv.publicKey().toBytes());
    }
    w.u32(99, 1234); // an attribute from the future
  }
  const pn = w.nestStart(C.WGDEVICE_A_PEERS, NLA_F_NESTED);
  for (const p of peers) {
    const n = w.nestStart(0, NLA_F_NESTED);
    w.binary(C.WGPEER_A_PUBLIC_KEY, p.key.toBytes());
    if (p.full) {
      w.binary(C.WGPEER_A_PRESHARED_KEY, p.psk ? Buffer.from(p.psk.revealBase64(), 'base64') : Buffer.alloc(32));
      const ts = Buffer.alloc(16);
      ts.writeBigInt64LE(BigInt(p.hs || 0), 0);
      ts.writeBigInt64LE(p.hs ? 500n : 0n, 8);
      w.binary(C.WGPEER_A_LAST_HANDSHAKE_TIME, ts);
      w.u16(C.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p.keepalive || 0);
      w.u64(C.WGPEER_A_TX_BYTES, 10n);
      w.u64(C.WGPEER_A_RX_BYTES, 20n);
      w.u32(C.WGPEER_A_PROTOCOL_VERSION, 1);
      if (p.endpoint) w.binary(C.WGPEER_A_ENDPOINT, p.endpoint);
    }
    if (p.ips) {
      const an = w.nestStart(C.WGPEER_A_ALLOWEDIPS, NLA_F_NESTED);
      for (const [addr, cidr] of p.ips) {
        const a = w.nestStart(0, NLA_F_NESTED);
        w.u8(C.WGALLOWEDIP_A_CIDR_MASK, cidr);
        const b = wire.parseIP(addr);
        w.u16(C.WGALLOWEDIP_A_FAMILY, b.length === 4 ? 2 : 10);
        w.binary(C.WGALLOWEDIP_A_IPADDR, b);
        w.nestEnd(a);
      }
      w.nestEnd(an);
    }
    w.nestEnd(n);
  }
  w.nestEnd(pn);
  w.end();
  return wire.parseMessages(Buffer.from(w.bytes()))[0];
}

describe('wireguard codec: WG_CMD_GET_DEVICE', function () {
  it('merges a dump whose peer\'s allowed IPs continue in the next message; keeps unknown attributes', function () {
    const sin = Buffer.from([2, 0, 0xca, 0x6c, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const psk = WG.PresharedKey.generate();
    const parts = [
      getMsg({ device: { port: 51820, priv: keys[0] }, peers: [{ key: pub(1), full: true, psk, hs: 1700000000, keepalive: 25, endpoint: sin, ips: [['10.1.0.0', 16]] }, { key: pub(2), full: true, ips: [['10.2.0.0', 16], ['fd00::', 64]] }] }),
      getMsg({ peers: [{ key: pub(2), ips: [['10.3.0.0', 16]] }, { key: pub(3), full: true }] }),
      getMsg({ peers: [{ key: pub(3), ips: [['0.0.0.0', 0]] }] }),
    ].map(WG.parseWgDeviceMessage);
    const d = WG.mergeWgDevice(parts);
    assert.equal(d.name, 'wg0');
    assert.equal(d.ifindex, 5);
    assert.equal(d.listenPort, 51820);
    assert.ok(d.privateKey.equals(keys[0]));
    assert.ok(d.publicKey.equals(pub(0)));
    assert.deepEqual(d.unknown.map((u) => u.type), [99]);
    assert.deepEqual(d.peers.map((p) => [p.publicKey.toBase64(), p.allowedIps]), [
      [pub(1).toBase64(), ['10.1.0.0/16']],
      [pub(2).toBase64(), ['10.2.0.0/16', 'fd00::/64', '10.3.0.0/16']],
      [pub(3).toBase64(), ['0.0.0.0/0']],
    ]);
    const [p1, p2] = d.peers;
    assert.ok(p1.presharedKey.equals(psk));
    assert.equal(p2.presharedKey, undefined, 'all zeros: no preshared key');
    assert.deepEqual(p1.lastHandshake, { seconds: 1700000000, nanoseconds: 500 });
    assert.equal(p2.lastHandshake, null);
    assert.equal(p1.endpoint, '10.0.0.1:51820');
    assert.equal(p1.persistentKeepalive, 25);
    assert.equal(p1.rxBytes, 20n);
    assert.equal(p1.txBytes, 10n);
    assert.equal(p1.protocolVersion, 1);
    assert.ok(!util.inspect(d, { depth: Infinity }).includes(keys[0].revealBase64().slice(0, 12)), 'the read-back private key is redacted');
    assert.ok(!JSON.stringify(d, (k, v) => (typeof v === 'bigint' ? String(v) : v)).includes(psk.revealBase64().slice(0, 12)));
  });

  it('malformed replies are NetlinkParseError, never a crash', function () {
    const short = getMsg({ device: { port: 1 }, peers: [{ key: pub(1), ips: [['10.0.0.0', 8]] }] });
    // cut the public key to 31 bytes by rewriting its nla_len
    const b = Buffer.from(short.buf.subarray(short.start, short.end));
    const at = b.indexOf(pub(1).toBytes());
    b.writeUInt16LE(35, at - 4);
    assert.throws(() => WG.mergeWgDevice([WG.parseWgDeviceMessage(wire.parseMessages(b)[0])]), wire.NetlinkParseError);
    const badCidr = getMsg({ device: { port: 1 }, peers: [{ key: pub(1), ips: [['10.0.0.0', 33]] }] });
    assert.throws(() => WG.parseWgDeviceMessage(badCidr), /cidr 33/);
    assert.throws(() => WG.mergeWgDevice([]), wire.NetlinkParseError);
    assert.throws(() => WG.mergeWgDevice([WG.parseWgDeviceMessage(getMsg({ peers: [] }))]), /names no device/);
  });
});

describe('wireguard plan: the minimal per-peer change', function () {
  const psk = WG.PresharedKey.generate();
  const current = {
    ifindex: 5,
    name: 'wg0',
    privateKey: keys[0],
    publicKey: pub(0),
    listenPort: 51820,
    fwmark: 0,
    unknown: [],
    peers: [
      { publicKey: pub(1), endpoint: '10.0.0.1:51820', persistentKeepalive: 25, allowedIps: ['10.1.0.0/16', 'fd01::/64'], presharedKey: psk, lastHandshake: null, rxBytes: 0n, txBytes: 0n, protocolVersion: 1, unknown: [] },
      { publicKey: pub(2), endpoint: '10.0.0.2:51820', persistentKeepalive: 0, allowedIps: ['10.2.0.0/16'], lastHandshake: null, rxBytes: 0n, txBytes: 0n, protocolVersion: 1, unknown: [] },
    ],
  };
  const same = {
    privateKey: keys[0],
    listenPort: 51820,
    peers: [
      { publicKey: pub(1), endpoint: '10.0.0.1:51820', persistentKeepalive: 25, allowedIps: ['fd01::/64', '10.1.0.0/16'], presharedKey: psk },
      { publicKey: pub(2), allowedIps: ['10.2.0.0/16'] },
    ],
  };

  it('a device that matches plans nothing (allowed IPs compare as sets; an endpoint left out is not compared)', function () {
    const plan = WG.planWgDevice(current, normalizeConfig(same));
    assert.equal(plan.empty, true);
    assert.deepEqual(plan.request.peers, []);
  });

  it('one changed peer: only that peer, only its changed fields; its allowed IPs replaced whole', function () {
    const want = structuredClone({ ...same, privateKey: undefined, peers: same.peers.map((p) => ({ ...p, publicKey: p.publicKey.toBase64(), presharedKey: p.presharedKey && p.presharedKey.revealBase64() })) });
    want.peers[1].allowedIps = ['10.2.0.0/16', '10.22.0.0/16'];
    const plan = WG.planWgDevice(current, normalizeConfig(want));
    assert.deepEqual(plan.device, []);
    assert.deepEqual(plan.peers.map((p) => [p.action, p.publicKey.toBase64(), p.fields]), [['update', pub(2).toBase64(), ['allowedIps']]]);
    const ch = plan.request.peers[0];
    assert.equal(ch.replaceAllowedIps, true);
    assert.deepEqual(ch.allowedIps.map((a) => a.text), ['10.2.0.0/16', '10.22.0.0/16']);
    assert.equal(ch.endpoint, undefined);
    assert.equal(ch.persistentKeepalive, undefined);
    assert.equal(ch.presharedKey, undefined);
    // One message, whatever the device's size.
    assert.equal(WG.encodeWgSetMessages(FAMILY, 'wg0', plan.request).length, 1);
  });

  it('adds new peers, removes unlisted ones (unless told not to), updates endpoint, keepalive and preshared key', function () {
    const plan = WG.planWgDevice(
      current,
      normalizeConfig({
        peers: [
          { publicKey: pub(1), endpoint: '[fd00::9]:1', allowedIps: ['10.1.0.0/16', 'fd01::/64'] }, // keepalive off, psk gone, endpoint moved
          { publicKey: pub(3), allowedIps: ['10.3.0.0/16'], persistentKeepalive: 10 },
        ],
      }),
    );
    assert.deepEqual(plan.peers.map((p) => [p.action, p.fields]), [
      ['update', ['presharedKey', 'endpoint', 'persistentKeepalive']],
      ['add', ['persistentKeepalive', 'allowedIps']],
      ['remove', []],
    ]);
    const [u, a, r] = plan.request.peers;
    assert.equal(u.presharedKey, null);
    assert.equal(u.persistentKeepalive, 0);
    assert.equal(u.endpoint.text, '[fd00::9]:1');
    assert.equal(a.remove, false);
    assert.ok(r.remove && r.publicKey.equals(pub(2)));
    const keep = WG.planWgDevice(current, normalizeConfig({ peers: [] }), { removeUnlisted: false });
    assert.equal(keep.empty, true);
  });

  it('device settings: a new private key, port and fwmark; listenPort 0 means "any" and is never a difference', function () {
    const plan = WG.planWgDevice(current, normalizeConfig({ privateKey: keys[3], listenPort: 0, fwmark: 9, peers: same.peers }));
    assert.deepEqual(plan.device, ['privateKey', 'fwmark']);
    assert.ok(plan.request.privateKey.equals(keys[3]));
    const text = WG.describeWgPlan(plan).join('\n') + JSON.stringify(plan) + util.inspect(plan, { depth: Infinity });
    assert.match(text, /set privateKey/);
    assert.ok(!text.includes(keys[3].revealBase64().slice(0, 12)), 'a plan never shows the private key');
  });
});
