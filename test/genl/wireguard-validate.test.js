'use strict';
// Validation of WireGuard configurations and changes (runs everywhere): every problem with its
// path, nothing about a key's value in any message.
const assert = require('node:assert/strict');
const util = require('node:util');
const { PrivateKey, PresharedKey, PublicKey, validateWgDeviceConfig, validateWgDeviceChange, parseEndpoint, WG_MAX_PEERS } = require('../../dist/genl/wireguard');
const { Problems } = require('../../dist/rtnl');

const priv = PrivateKey.generate();
const pubA = PrivateKey.generate().publicKey();
const pubB = PrivateKey.generate().publicKey();

function problems(fn, input, opts) {
  const p = new Problems();
  const out = fn(p, '', input, opts);
  return { out, list: p.list, text: p.list.map((x) => `${x.path}: ${x.message}`).join('\n') };
}
const config = (input, opts) => problems(validateWgDeviceConfig, input, opts);
const change = (input, opts) => problems(validateWgDeviceChange, input, opts);
const paths = (r) => r.list.map((x) => x.path);

describe('wireguard validation', function () {
  it('normalizes a good configuration: key objects, canonical endpoints and prefixes', function () {
    const r = config({
      privateKey: priv.revealBase64(),
      listenPort: 51820,
      fwmark: 0x51820,
      peers: [
        { publicKey: pubA.toBase64(), endpoint: '[2001:DB8:0:0::1]:51820', allowedIps: ['10.1.0.0/16', 'fd00:0::/64', '10.9.9.9'], persistentKeepalive: 25 },
        { publicKey: pubB, endpoint: '192.0.2.7:1', presharedKey: PresharedKey.generate().revealBase64() },
      ],
    });
    assert.deepEqual(r.list, []);
    const out = r.out;
    assert.ok(out.privateKey.equals(priv));
    assert.equal(out.listenPort, 51820);
    assert.equal(out.peers[0].endpoint.text, '[2001:db8::1]:51820');
    assert.equal(out.peers[0].endpoint.family, 6);
    assert.deepEqual(out.peers[0].allowedIps.map((a) => a.text), ['10.1.0.0/16', 'fd00::/64', '10.9.9.9/32']);
    assert.ok(out.peers[1].publicKey.equals(pubB));
    assert.ok(out.peers[1].presharedKey instanceof PresharedKey);
    assert.equal(out.peers[1].endpoint.text, '192.0.2.7:1');
  });

  it('refuses bad keys naming the field, and never echoes one', function () {
    const secret = priv.revealBase64();
    const r = config({
      privateKey: secret.slice(0, 43), // wrong length
      peers: [
        { publicKey: 'not base64 at all!' },
        { publicKey: pubA.toBase64(), presharedKey: secret.slice(0, 30) + '@' + secret.slice(31) },
        { publicKey: priv }, // a private key object where a public key belongs
      ],
    });
    assert.deepEqual(paths(r), ['privateKey', 'peers[0].publicKey', 'peers[1].presharedKey', 'peers[2].publicKey']);
    assert.match(r.text, /privateKey: is 43 characters/);
    assert.match(r.text, /peers\[1\]\.presharedKey: is not base64/);
    assert.match(r.text, /peers\[2\]\.publicKey: is a PrivateKey; a public key is needed/);
    for (let i = 0; i + 10 <= secret.length; i += 5) assert.ok(!r.text.includes(secret.slice(i, i + 10)), r.text);
    assert.ok(!util.inspect(r.list).includes(secret.slice(0, 10)));
    assert.equal(r.out, undefined);
  });

  it('refuses a public key given as the private key: one of its peers\', or one the caller knows', function () {
    // Peer A's public key pasted into privateKey.
    const r = config({ privateKey: pubA.toBase64(), peers: [{ publicKey: pubB }, { publicKey: pubA }] });
    assert.deepEqual(paths(r), ['privateKey']);
    assert.match(r.text, /equals the public key of peers\[1\]: a public key was given as the private key/);
    assert.ok(!r.text.includes(pubA.toBase64().slice(0, 10)));
    // This node's own published public key pasted into privateKey (the node record knows it).
    const own = PrivateKey.generate();
    const r2 = config({ privateKey: own.publicKey().toBase64() }, { knownPublicKeys: [{ key: own.publicKey(), label: "this node's published key" }] });
    assert.match(r2.text, /privateKey: equals the public key of this node's published key/);
    const r3 = config({ privateKey: PublicKey.fromBase64(pubA.toBase64()) });
    assert.match(r3.text, /privateKey: is a PublicKey; a private key is needed/);
  });

  it('refuses a peer that is the device itself (the kernel would ignore it silently)', function () {
    const r = config({ privateKey: priv, peers: [{ publicKey: priv.publicKey() }] });
    assert.deepEqual(paths(r), ['peers[0].publicKey']);
    assert.match(r.text, /own public key/);
  });

  it('refuses bad endpoints, host bits, ports and values out of range, all at once', function () {
    const r = config({
      listenPort: 65536,
      fwmark: -1,
      peers: [
        {
          publicKey: pubA,
          endpoint: 'example.com:51820',
          allowedIps: ['10.0.0.1/24', 'fd00::1/64', '10.0.0.0/33', 'nope'],
          persistentKeepalive: 70000,
        },
        { publicKey: pubB, endpoint: '192.0.2.1:0' },
      ],
    });
    assert.deepEqual(paths(r), [
      'listenPort',
      'fwmark',
      'peers[0].endpoint',
      'peers[0].persistentKeepalive',
      'peers[0].allowedIps[0]',
      'peers[0].allowedIps[1]',
      'peers[0].allowedIps[2]',
      'peers[0].allowedIps[3]',
      'peers[1].endpoint',
    ]);
    assert.match(r.text, /allowedIps\[0\]: "10\.0\.0\.1\/24" has bits set past \/24 \(did you mean 10\.0\.0\.0\/24\?\)/);
    assert.match(r.text, /endpoint: "example\.com:51820" is not an endpoint.*host names are not resolved/);
    assert.match(r.text, /peers\[1\]\.endpoint: "192\.0\.2\.1:0": port 0 is outside 1\.\.65535/);
  });

  it('endpoints: IPv4 and bracketed IPv6 literals with a port, nothing else', function () {
    const p = new Problems();
    assert.equal(parseEndpoint(p, 'e', '[::ffff:10.0.0.1]:5').text, '[::ffff:10.0.0.1]:5');
    assert.equal(parseEndpoint(p, 'e', '[fe80::1]:51820').address.length, 16);
    assert.deepEqual(p.list, []);
    for (const bad of ['10.0.0.1', '10.0.0.1:', 'fd00::1:51820', '[10.0.0.1]:5', '[fe80::1%eth0]:5', '10.0.0.256:5', ':5', 5]) {
      const q = new Problems();
      assert.equal(parseEndpoint(q, 'e', bad), undefined, String(bad));
      assert.equal(q.list.length, 1, String(bad));
    }
  });

  it('refuses a peer given twice and a prefix given to two peers (the kernel keeps it on one)', function () {
    const r = config({
      peers: [
        { publicKey: pubA, allowedIps: ['10.0.0.0/24'] },
        { publicKey: pubB, allowedIps: ['10.0.1.0/24', '10.0.0.0/24'] },
        { publicKey: pubA.toBase64() },
      ],
    });
    assert.deepEqual(paths(r), ['peers[1].allowedIps[1]', 'peers[2].publicKey']);
    assert.match(r.text, /10\.0\.0\.0\/24 is also an allowed IP of peers\[0\]/);
    assert.match(r.text, /the same peer as peers\[0\]/);
  });

  it('a configuration has no flags; a change does, and a removal takes nothing else', function () {
    const r = config({ replacePeers: true, peers: [{ publicKey: pubA, remove: true }] });
    assert.deepEqual(paths(r), ['replacePeers', 'peers[0].remove']);
    const ok = change({ replacePeers: true, peers: [{ publicKey: pubA, remove: true }, { publicKey: pubB, updateOnly: true, replaceAllowedIps: true, allowedIps: [] }] });
    assert.deepEqual(ok.list, []);
    assert.equal(ok.out.replacePeers, true);
    assert.deepEqual(ok.out.peers.map((x) => [x.remove, x.updateOnly, x.replaceAllowedIps]), [[true, false, false], [false, true, true]]);
    const bad = change({ peers: [{ publicKey: pubA, remove: true, allowedIps: ['10.0.0.0/8'], endpoint: '1.2.3.4:5' }, { publicKey: pubB, remove: 'yes' }] });
    assert.deepEqual(paths(bad), ['peers[0].allowedIps', 'peers[0].endpoint', 'peers[1].remove']);
  });

  it('refuses unknown fields, missing public keys and wrong shapes', function () {
    const r = config({ privatekey: 'x', peers: [{ allowedIPs: ['10.0.0.0/8'] }, null, { publicKey: pubA, allowedIps: '10.0.0.0/8' }] });
    assert.deepEqual(paths(r), ['privatekey', 'peers[0].allowedIPs', 'peers[0].publicKey', 'peers[1]', 'peers[2].allowedIps']);
    assert.deepEqual(config(null).list.length, 1);
    assert.deepEqual(paths(config({ peers: {} })), ['peers']);
  });

  it('knows the kernel\'s limit of 2^20 peers per device', function () {
    assert.equal(WG_MAX_PEERS, 1048576);
    assert.match(config({ peers: new Array(WG_MAX_PEERS + 1) }).text, /1048577 peers; a device holds at most 1048576/);
  });

  it('link kind wireguard: the common settings only, no MAC address', function () {
    const { validateLinkSpec } = require('../../dist/rtnl');
    const ok = new Problems();
    assert.equal(validateLinkSpec(ok, '', { kind: 'wireguard', name: 'wg0', mtu: 1420, up: true }), true);
    const bad = new Problems();
    validateLinkSpec(bad, 'links[0]', { kind: 'wireguard', name: 'wg0', address: '02:00:00:00:00:01', vni: 1 });
    assert.deepEqual(bad.list.map((x) => x.path), ['links[0].vni', 'links[0].address']);
  });
});
