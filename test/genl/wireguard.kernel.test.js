'use strict';
// WireGuard on a real kernel (the VM lane's Debian 6.1; this host has no wireguard and skips
// with one line). `wg show DEV dump` is the independent oracle for every round trip.
const assert = require('node:assert/strict');
const { pollUntil } = require('../support/poll');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { Rtnl, Netns, ValidationError, Problems } = require('../../dist');
const WG = require('../../dist/genl/wireguard');
const wire = require('../../dist/wire');
const { kernelDescribe, netnsPerTest, makeNetns, removeNetns, ipJson } = require('../support/kernel');
const { HAS_WIREGUARD, NO_WIREGUARD, wgShowDump } = require('../support/wg');

const TRAFFIC = path.join(__dirname, '../../examples/lib/traffic-worker.js');

/** Distinct, valid public keys by number (any 32 bytes are a public key to the kernel). */
const peerKey = (i) => {
  const b = Buffer.alloc(32, 0x5a);
  b.writeUInt32LE(i + 1, 0);
  return WG.PublicKey.fromBytes(b);
};

/** Our read-back in the oracle's terms, to compare with wgShowDump(). */
function asDump(d) {
  return {
    privateKey: d.privateKey && d.privateKey.revealBase64(),
    publicKey: d.publicKey && d.publicKey.toBase64(),
    listenPort: d.listenPort,
    fwmark: d.fwmark,
    peers: d.peers.map((p) => ({
      publicKey: p.publicKey.toBase64(),
      presharedKey: p.presharedKey && p.presharedKey.revealBase64(),
      endpoint: p.endpoint,
      allowedIps: p.allowedIps,
      latestHandshake: p.lastHandshake ? p.lastHandshake.seconds : 0,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      persistentKeepalive: p.persistentKeepalive,
    })),
  };
}

/** Worker messages until `match`. */
function once(worker, match) {
  return new Promise((resolve, reject) => {
    worker.on('message', (m) => match(m) && resolve(m));
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });
}

const title = HAS_WIREGUARD ? 'wireguard on the real kernel' : `wireguard on the real kernel (${NO_WIREGUARD})`;

kernelDescribe(title, function () {
  before(function () {
    if (!HAS_WIREGUARD) this.skip();
  });

  describe('one namespace', function () {
    const ns = netnsPerTest('wg');
    let nl;
    let wg;
    beforeEach(async function () {
      nl = await Rtnl.open({ netns: ns() });
      wg = await WG.WireGuard.open({ netns: ns() });
    });
    afterEach(function () {
      if (wg) wg.close();
      if (nl) nl.close();
      wg = nl = undefined;
    });

    it('link kind wireguard: add, get, list by kind, delete, as iproute2 sees it', async function () {
      const l = await nl.links.add({ kind: 'wireguard', name: 'wg0', mtu: 1380, up: true });
      assert.equal(l.kind, 'wireguard');
      assert.equal(l.mtu, 1380);
      assert.equal(l.address, undefined, 'no link-layer address');
      const [j] = ipJson(ns(), '-d', 'link', 'show', 'wg0');
      assert.equal(j.linkinfo.info_kind, 'wireguard');
      assert.equal(j.mtu, 1380);
      await nl.links.add({ kind: 'wireguard', name: 'wg1' });
      await nl.links.add({ kind: 'bridge', name: 'br0' });
      assert.deepEqual((await nl.links.list({ kind: 'wireguard' })).map((x) => x.name).sort(), ['wg0', 'wg1']);
      assert.equal((await nl.links.get('wg1')).kind, 'wireguard');
      await nl.links.del('wg1');
      assert.deepEqual(ipJson(ns(), 'link', 'show', 'type', 'wireguard').map((x) => x.ifname), ['wg0']);
      await assert.rejects(nl.links.add({ kind: 'wireguard', name: 'wg2', address: '02:00:00:00:00:01' }), ValidationError);
    });

    it('a new device reads back empty; device settings round-trip against `wg show dump`', async function () {
      await nl.links.add({ kind: 'wireguard', name: 'wg0' });
      const empty = await wg.get('wg0');
      assert.equal(empty.name, 'wg0');
      assert.equal(empty.privateKey, undefined);
      assert.deepEqual(empty.peers, []);
      assert.deepEqual(asDump(empty), wgShowDump(ns(), 'wg0'));
      const key = WG.PrivateKey.generate();
      const r = await wg.set('wg0', { privateKey: key, listenPort: 51820, fwmark: 0x42 });
      assert.equal(r.messages, 1);
      const d = await wg.get('wg0');
      assert.ok(d.privateKey.equals(key));
      assert.ok(d.publicKey.equals(key.publicKey()), 'the kernel derives the same public key as node:crypto');
      assert.deepEqual(asDump(d), wgShowDump(ns(), 'wg0'));
      assert.equal(wgShowDump(ns(), 'wg0').listenPort, 51820);
      assert.equal(d.ifindex, (await nl.links.get('wg0')).index);
      assert.deepEqual(asDump(await wg.get(d.ifindex)), asDump(d), 'by index too');
    });

    it('one peer with everything: preshared key, IPv6 endpoint, keepalive, v4 and v6 allowed IPs', async function () {
      await nl.links.add({ kind: 'wireguard', name: 'wg0', up: true });
      const psk = WG.PresharedKey.generate();
      const peer = WG.PrivateKey.generate().publicKey();
      await wg.set('wg0', {
        privateKey: WG.PrivateKey.generate(),
        peers: [{ publicKey: peer, presharedKey: psk, endpoint: '[2001:db8::1]:51820', persistentKeepalive: 25, allowedIps: ['10.20.0.0/16', '192.168.7.7/32', 'fd00:1::/64', '::/0'] }],
      });
      const d = await wg.get('wg0');
      const o = wgShowDump(ns(), 'wg0');
      assert.deepEqual(asDump(d), o);
      const [p] = d.peers;
      assert.ok(p.presharedKey.equals(psk));
      assert.equal(p.endpoint, '[2001:db8::1]:51820');
      assert.equal(p.persistentKeepalive, 25);
      assert.deepEqual([...p.allowedIps].sort(), ['10.20.0.0/16', '192.168.7.7/32', '::/0', 'fd00:1::/64'].sort());
      assert.equal(p.protocolVersion, 1);
      // The preshared key removed again with null.
      await wg.set('wg0', { peers: [{ publicKey: peer, presharedKey: null, endpoint: '192.0.2.1:1' }] });
      const o2 = wgShowDump(ns(), 'wg0');
      assert.equal(o2.peers[0].presharedKey, undefined);
      assert.equal(o2.peers[0].endpoint, '192.0.2.1:1');
      assert.deepEqual(asDump(await wg.get('wg0')), o2);
    });

    it('500 peers in several SET messages; the multi-part GET dump merges back to what `wg` shows', async function () {
      await nl.links.add({ kind: 'wireguard', name: 'wg0' });
      const peers = Array.from({ length: 500 }, (_, i) => ({
        publicKey: peerKey(i),
        endpoint: i % 2 ? `[fd00::${(i + 1).toString(16)}]:${10000 + i}` : `10.77.${i >> 8}.${i & 0xff}:${10000 + i}`,
        allowedIps: [`10.${100 + (i >> 8)}.${i & 0xff}.0/24`, `fd10:${i.toString(16)}::/64`],
        persistentKeepalive: i % 7,
      }));
      const r = await wg.configure('wg0', { privateKey: WG.PrivateKey.generate(), listenPort: 51000, peers });
      assert.ok(r.messages > 1, `${r.messages} messages`);
      const o = wgShowDump(ns(), 'wg0');
      assert.equal(o.peers.length, 500);
      const d = await wg.get('wg0');
      assert.deepEqual(asDump(d), o);
      // The read really came in parts (the merge was needed).
      const parts = await wg.genl.dump('wireguard', (w, fam) => WG.encodeWgGetDevice(w, fam.id, 'wg0'), WG.parseWgDeviceMessage);
      assert.ok(parts.length > 1, `${parts.length} GET messages`);
      // what we asked for is what the kernel holds
      const byKey = new Map(d.peers.map((p) => [p.publicKey.toBase64(), p]));
      const canonical = WG.validateWgDeviceConfig(new Problems(), '', { peers }).peers;
      for (const [i, want] of peers.entries()) {
        const got = byKey.get(want.publicKey.toBase64());
        assert.equal(got.endpoint, want.endpoint);
        assert.deepEqual([...got.allowedIps].sort(), canonical[i].allowedIps.map((a) => a.text).sort());
        assert.equal(got.persistentKeepalive, want.persistentKeepalive);
      }
    });

    it('a peer with 3,000 allowed IPs: split inside the peer on SET, merged across GET messages', async function () {
      await nl.links.add({ kind: 'wireguard', name: 'wg0' });
      const ips = Array.from({ length: 3000 }, (_, i) => `fd20:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}::/64`);
      const pk = peerKey(1);
      const r = await wg.set('wg0', { peers: [{ publicKey: pk, replaceAllowedIps: true, allowedIps: ips }, { publicKey: peerKey(2), allowedIps: ['10.0.0.0/8'] }] });
      assert.ok(r.messages >= 8, `${r.messages} messages`);
      const o = wgShowDump(ns(), 'wg0');
      const d = await wg.get('wg0');
      assert.deepEqual(asDump(d), o);
      const canonical = new Set(WG.validateWgDeviceConfig(new Problems(), '', { peers: [{ publicKey: pk, allowedIps: ips }] }).peers[0].allowedIps.map((a) => a.text));
      assert.equal(d.peers[0].allowedIps.length, 3000);
      assert.deepEqual(new Set(d.peers[0].allowedIps), canonical);
      assert.deepEqual(d.peers[1].allowedIps, ['10.0.0.0/8']);
    });

    it('the largest SET message (65,535 bytes: WGDEVICE_A_PEERS\'s u16 length) is accepted', async function () {
      await nl.links.add({ kind: 'wireguard', name: 'wg0' });
      const peers = Array.from({ length: 1000 }, (_, i) => ({ publicKey: peerKey(i), allowedIps: [`10.${i >> 8}.${i & 0xff}.0/24`] }));
      const r = await wg.set('wg0', { peers }, { maxMessageBytes: WG.WG_MAX_SET_MESSAGE_BYTES });
      assert.equal(r.messages, 2);
      assert.ok(Math.max(...r.bytes) > 60000, `largest ${Math.max(...r.bytes)} bytes`);
      assert.equal(wgShowDump(ns(), 'wg0').peers.length, 1000);
    });

    it('removing one peer leaves the other\'s settings as they were', async function () {
      await nl.links.add({ kind: 'wireguard', name: 'wg0' });
      const a = peerKey(10);
      const b = peerKey(11);
      const psk = WG.PresharedKey.generate();
      await wg.set('wg0', {
        peers: [
          { publicKey: a, allowedIps: ['10.1.0.0/16'] },
          { publicKey: b, presharedKey: psk, endpoint: '[fd00::b]:51820', persistentKeepalive: 15, allowedIps: ['10.2.0.0/16', 'fd02::/64'] },
        ],
      });
      const before = wgShowDump(ns(), 'wg0').peers.find((p) => p.publicKey === b.toBase64());
      const r = await wg.removePeer('wg0', a);
      assert.equal(r.messages, 1);
      const o = wgShowDump(ns(), 'wg0');
      assert.deepEqual(o.peers, [before]);
      assert.deepEqual(asDump(await wg.get('wg0')), o);
      await wg.removePeer('wg0', a); // already gone: not an error
    });

    it('sync on a device of 500 peers: one peer\'s allowed IPs change in one message, nobody else is touched', async function () {
      await nl.links.add({ kind: 'wireguard', name: 'wg0' });
      const config = { listenPort: 51820, peers: Array.from({ length: 500 }, (_, i) => ({ publicKey: peerKey(i), allowedIps: [`10.${i >> 8}.${i & 0xff}.0/24`] })) };
      const first = await wg.sync('wg0', config);
      assert.equal(first.plan.peers.length, 500);
      assert.equal((await wg.sync('wg0', config)).messages, 0, 'converged: nothing sent');
      const before = wgShowDump(ns(), 'wg0');
      config.peers[250].allowedIps = ['10.0.250.0/24', '10.250.0.0/16'];
      const r = await wg.sync('wg0', config);
      assert.equal(r.messages, 1);
      assert.deepEqual(r.plan.peers.map((p) => p.action + ' ' + p.fields), ['update allowedIps']);
      const after = wgShowDump(ns(), 'wg0');
      after.peers.forEach((p, i) => {
        if (p.publicKey === peerKey(250).toBase64()) assert.deepEqual(p.allowedIps.sort(), ['10.0.250.0/24', '10.250.0.0/16']);
        else assert.deepEqual(p, before.peers[i]);
      });
    });

    it('errors name the device: ENODEV, "not a WireGuard device"; bad input changes nothing', async function () {
      await assert.rejects(wg.get('nosuch0'), (e) => e.code === 'ENODEV' && /wireguard\.get "nosuch0"/.test(e.message));
      await nl.links.add({ kind: 'bridge', name: 'br0' });
      await assert.rejects(wg.get('br0'), (e) => e.code === 'EOPNOTSUPP' && /"br0" is not a WireGuard device/.test(e.message));
      await nl.links.add({ kind: 'wireguard', name: 'wg0' });
      await wg.set('wg0', { listenPort: 1234 });
      const key = WG.PrivateKey.generate();
      await assert.rejects(wg.set('wg0', { privateKey: key, listenPort: 99999, peers: [{ publicKey: key.publicKey() }] }), (e) => e instanceof ValidationError && !e.message.includes(key.revealBase64().slice(0, 10)));
      assert.equal(wgShowDump(ns(), 'wg0').listenPort, 1234);
    });
  });

  it('a second peer\'s handshake survives a change of the first (sync); replacing all peers does not keep it', async function () {
    this.timeout(240000);
    const a = makeNetns('wga');
    const b = makeNetns('wgb');
    const opened = [];
    let server;
    try {
      const nla = await Rtnl.open({ netns: a });
      const nlb = await Rtnl.open({ netns: b });
      const wga = await WG.WireGuard.open({ netns: a });
      const wgb = await WG.WireGuard.open({ netns: b });
      opened.push(nla, nlb, wga, wgb);
      // underlay: a veth between the namespaces
      await nla.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth0', netns: b }, up: true });
      await nlb.links.set('eth0', { up: true });
      await nla.addresses.add({ dev: 'eth0', address: '10.99.0.1/24' });
      await nlb.addresses.add({ dev: 'eth0', address: '10.99.0.2/24' });
      const ka = WG.PrivateKey.generate();
      const kb = WG.PrivateKey.generate();
      for (const [nl, addr] of [[nla, '10.9.0.1/24'], [nlb, '10.9.0.2/24']]) {
        await nl.links.add({ kind: 'wireguard', name: 'wg0' });
        await nl.addresses.add({ dev: 'wg0', address: addr });
        await nl.links.set('wg0', { up: true });
      }
      const other = peerKey(77); // "peer A": a peer that never answers
      const configA = {
        privateKey: ka,
        listenPort: 51820,
        peers: [
          { publicKey: other, endpoint: '10.99.0.77:51820', allowedIps: ['10.8.0.0/24'] },
          { publicKey: kb.publicKey(), endpoint: '10.99.0.2:51820', allowedIps: ['10.9.0.2/32'] },
        ],
      };
      await wga.sync('wg0', configA);
      await wgb.sync('wg0', { privateKey: kb, listenPort: 51820, peers: [{ publicKey: ka.publicKey(), endpoint: '10.99.0.1:51820', allowedIps: ['10.9.0.1/32'] }] });
      // Real traffic through the tunnel makes the handshake.
      server = Netns.worker(b, TRAFFIC, { workerData: { role: 'server', port: 7777 } });
      await once(server, (m) => m.ready);
      const client = Netns.worker(a, TRAFFIC, { workerData: { role: 'client', host: '10.9.0.2', port: 7777, timeoutMs: 20000, payload: 'through the tunnel' } });
      const { result } = await once(client, (m) => m.result);
      await client.terminate();
      assert.ok(result.udp.ok && result.tcp.ok, JSON.stringify(result));
      const peerB = (d) => d.peers.find((p) => p.publicKey.equals(kb.publicKey()));
      const before = peerB(await wga.get('wg0'));
      assert.ok(before.lastHandshake, 'a handshake happened');
      assert.ok(before.rxBytes > 0n && before.txBytes > 0n);
      assert.equal(wgShowDump(a, 'wg0').peers.find((p) => p.publicKey === kb.publicKey().toBase64()).latestHandshake, before.lastHandshake.seconds);
      // Change peer A (its allowed IPs and endpoint): peer B is not in the change.
      configA.peers[0] = { ...configA.peers[0], endpoint: '10.99.0.78:51820', allowedIps: ['10.8.0.0/24', '10.8.1.0/24'] };
      const r = await wga.sync('wg0', configA);
      assert.equal(r.messages, 1);
      assert.deepEqual(r.plan.peers.map((p) => [p.publicKey.toBase64(), p.fields]), [[other.toBase64(), ['endpoint', 'allowedIps']]]);
      const after = peerB(await wga.get('wg0'));
      assert.deepEqual(after.lastHandshake, before.lastHandshake, 'peer B kept its session');
      assert.ok(after.rxBytes >= before.rxBytes);
      // The test can fail: re-setting the whole device (wg setconf) recreates peer B.
      await wga.configure('wg0', configA);
      const replaced = peerB(await wga.get('wg0'));
      assert.equal(replaced.lastHandshake, null, 'WGDEVICE_F_REPLACE_PEERS drops every session');
      assert.equal(replaced.rxBytes, 0n);
    } finally {
      if (server) await server.terminate();
      for (const h of opened) h.close();
      removeNetns(a);
      removeNetns(b);
    }
  });

  it('a module reload changes the family id: the controller\'s announcement (or the failed request) leads to the new one', async function () {
    this.timeout(120000);
    const ns = makeNetns('wgmod');
    const genl = wire.GenlSocket.open({ netnsPath: `/run/netns/${ns}` });
    const blind = wire.GenlSocket.open({ netnsPath: `/run/netns/${ns}`, followFamilies: false });
    let nl;
    try {
      const oldId = (await genl.family('wireguard')).id;
      await blind.family('wireguard');
      const events = [];
      genl.on('family', (e) => e.family.name === 'wireguard' && events.push(e.action));
      // Devices of namespaces deleted just before may still be going away (netns cleanup is
      // asynchronous); a module still in use after that is someone else's: nothing to prove.
      const unloaded = await pollUntil(
        () => {
          try {
            execFileSync('modprobe', ['-r', 'wireguard'], { stdio: 'pipe' });
            return true;
          } catch {
            return false;
          }
        },
        { ms: 5000, every: 250, what: 'unloading wireguard' },
      ).catch(() => false);
      if (!unloaded) this.skip();
      execFileSync('modprobe', ['wireguard'], { stdio: 'pipe' });
      nl = await Rtnl.open({ netns: ns });
      await nl.links.add({ kind: 'wireguard', name: 'wg0' });
      const probe = wire.GenlSocket.open();
      const fresh = (await probe.family('wireguard')).id;
      probe.close();
      assert.notEqual(fresh, oldId, 'a reload registers the family under a new id');
      // The following socket heard del + new and resolves anew before sending.
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(events.slice(0, 2), ['del', 'new']);
      const d = await WG.WireGuard.on(genl).get('wg0');
      assert.equal(d.name, 'wg0');
      assert.equal((await genl.family('wireguard')).id, fresh);
      // The one that did not follow sends with the stale id once, gets ENOENT, resolves, resends.
      const before = blind.requestsSent('wireguard');
      const d2 = await WG.WireGuard.on(blind).get('wg0');
      assert.equal(d2.name, 'wg0');
      assert.equal(blind.requestsSent('wireguard') - before, 2, 'one failed request with the old id, one with the new');
    } finally {
      genl.close();
      blind.close();
      if (nl) nl.close();
      removeNetns(ns);
    }
  });
});

kernelDescribe('wireguard where the kernel has none', function () {
  before(function () {
    if (HAS_WIREGUARD) this.skip();
  });
  const ns = netnsPerTest('nowg');

  it('creating the link is EOPNOTSUPP "Unknown device type"; the family is GenlFamilyNotFoundError naming it', async function () {
    const nl = await Rtnl.open({ netns: ns() });
    const wg = await WG.WireGuard.open({ netns: ns() });
    try {
      await assert.rejects(nl.links.add({ kind: 'wireguard', name: 'wg0' }), (e) => e.code === 'EOPNOTSUPP' && /Unknown device type/.test(e.message));
      await assert.rejects(wg.get('lo'), (e) => e instanceof wire.GenlFamilyNotFoundError && /"wireguard"/.test(e.message));
    } finally {
      wg.close();
      nl.close();
    }
  });
});
