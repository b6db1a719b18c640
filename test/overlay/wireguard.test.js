'use strict';
// The wireguard overlay mode without a kernel (any machine): the desired state it computes
// (flannel's wireguard backend: one device, MTU underlay - 60, a peer per remote node with its
// pod subnet as allowed IPs, a route per pod subnet via the device), the node records that carry
// a public key (validated, screened), the key file's rotation, and that the private key never
// shows in a desired state's printouts or an error.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { inspect } = require('node:util');
const { overlay } = require('../../dist/overlay');
const { ValidationError, PrivateKey, rotatePrivateKey, loadOrCreatePrivateKey, readPrivateKeyFile } = require('../../dist');
const { validateNodeRecord, screenNodes, toOverlayNodes } = require('../../dist/membership');

const keys = [0, 1, 2].map(() => PrivateKey.generate());
const pubs = keys.map((k) => k.publicKey().toBase64());
const NODES = [
  { name: 'host1', nodeIP: '10.57.4.20', podCIDR: '192.168.10.0/24', wireguard: { publicKey: pubs[0] } },
  { name: 'host2', nodeIP: '10.57.4.21', podCIDR: '192.168.11.0/24', wireguard: { publicKey: pubs[1] } },
  { name: 'host3', nodeIP: '10.57.4.22', podCIDR: '192.168.12.0/24', wireguard: { publicKey: pubs[2], port: 51999 } },
];
const cfg = (extra = {}) => ({ mode: 'wireguard', self: 'host1', underlayDev: 'eth0', nodes: NODES, wireguardKey: keys[0], ...extra });

describe('overlay: the wireguard mode (desired state, records, keys; any kernel)', function () {
  it('one device at MTU underlay - 60 with the gateway /32, a peer per remote node, its pod subnet routed via the device', function () {
    const d = overlay.desiredState(cfg());
    assert.deepEqual(d.links, [{ kind: 'wireguard', name: 'wg-overlay', mtu: 1440, up: true }]);
    assert.deepEqual(d.addresses, [{ dev: 'wg-overlay', address: '192.168.10.1/32' }]);
    assert.deepEqual(d.routes, [
      { dst: '192.168.11.0/24', dev: 'wg-overlay' },
      { dst: '192.168.12.0/24', dev: 'wg-overlay' },
    ]);
    assert.deepEqual(d.fdb, []);
    assert.deepEqual(d.neighbors, []);
    assert.equal(d.wireguard.length, 1);
    const [w] = d.wireguard;
    assert.equal(w.dev, 'wg-overlay');
    assert.equal(w.privateKey, keys[0]);
    assert.equal(w.listenPort, 51820);
    assert.deepEqual(w.peers, [
      { publicKey: pubs[1], endpoint: '10.57.4.21:51820', allowedIps: ['192.168.11.0/24'] },
      { publicKey: pubs[2], endpoint: '10.57.4.22:51999', allowedIps: ['192.168.12.0/24'] },
    ]);
    for (const s of [JSON.stringify(d), inspect(d, { depth: Infinity })]) assert.ok(!s.includes(keys[0].revealBase64()), 'the private key is printed');
  });

  it('dual stack: allowed IPs and routes of both pod families; the endpoint in the underlay\'s family (whichever order a node lists its IPs); MTU - 60 / - 80', function () {
    const DS = [
      { name: 'host1', nodeIP: '10.57.4.20', nodeIPs: ['10.57.4.20', 'fd57:4::20'], podCIDR: '192.168.10.0/24', podCIDRs: ['192.168.10.0/24', 'fd10:0:0:a::/64'], wireguard: { publicKey: pubs[0] } },
      // IPv6 listed first: over an IPv4 underlay its endpoint is still its IPv4 address.
      { name: 'host2', nodeIP: 'fd57:4::21', nodeIPs: ['fd57:4::21', '10.57.4.21'], podCIDR: 'fd10:0:0:b::/64', podCIDRs: ['fd10:0:0:b::/64', '192.168.11.0/24'], wireguard: { publicKey: pubs[1] } },
      { name: 'host3', nodeIP: '10.57.4.22', nodeIPs: ['10.57.4.22', 'fd57:4::22'], podCIDR: '192.168.12.0/24', podCIDRs: ['192.168.12.0/24', 'fd10:0:0:c::/64'], wireguard: { publicKey: pubs[2] } },
    ];
    const d = overlay.desiredState(cfg({ nodes: DS }));
    assert.equal(d.links[0].mtu, 1440, 'IPv4 underlay: - 60');
    assert.deepEqual(d.addresses, [{ dev: 'wg-overlay', address: '192.168.10.1/32' }]);
    assert.deepEqual(d.wireguard[0].peers.map((p) => [p.endpoint, p.allowedIps.join(',')]), [
      ['10.57.4.21:51820', 'fd10:0:0:b::/64,192.168.11.0/24'],
      ['10.57.4.22:51820', '192.168.12.0/24,fd10:0:0:c::/64'],
    ]);
    assert.deepEqual(d.routes.map((r) => `${r.dst} ${r.dev}`).sort(), ['192.168.11.0/24 wg-overlay', '192.168.12.0/24 wg-overlay', 'fd10:0:0:b::/64 wg-overlay', 'fd10:0:0:c::/64 wg-overlay'].sort());
    // The same nodes over an IPv6 underlay (host1 lists its IPv6 address first): IPv6 endpoints, - 80.
    const v6 = DS.map((n, i) => (i === 0 ? { ...n, nodeIP: 'fd57:4::20', nodeIPs: ['fd57:4::20', '10.57.4.20'], podCIDR: 'fd10:0:0:a::/64', podCIDRs: ['fd10:0:0:a::/64', '192.168.10.0/24'] } : n));
    const d6 = overlay.desiredState(cfg({ nodes: v6 }));
    assert.equal(d6.links[0].mtu, 1420, 'IPv6 underlay: - 80');
    assert.deepEqual(d6.wireguard[0].peers.map((p) => p.endpoint), ['[fd57:4::21]:51820', '[fd57:4::22]:51820']);
    // A node without an address of the underlay's family keeps its only one.
    const mixed = [DS[0], { ...DS[1], nodeIP: 'fd57:4::21', nodeIPs: undefined, podCIDR: 'fd10:0:0:b::/64', podCIDRs: undefined }];
    assert.deepEqual(overlay.desiredState(cfg({ nodes: mixed })).wireguard[0].peers.map((p) => p.endpoint), ['[fd57:4::21]:51820']);
  });

  it('port, device name, MTU, keepalive; a node without a key, or with ours or a taken one, gets no peer and no route', function () {
    const nodes = [
      ...NODES,
      { name: 'host4', nodeIP: '10.57.4.23', podCIDR: '192.168.13.0/24' },
      { name: 'host5', nodeIP: '10.57.4.24', podCIDR: '192.168.14.0/24', wireguard: { publicKey: pubs[0] } },
      { name: 'host6', nodeIP: '10.57.4.25', podCIDR: '192.168.15.0/24', wireguard: { publicKey: pubs[1] } },
    ];
    const d = overlay.desiredState(cfg({ nodes, port: 51821, tunnelName: 'flannel-wg', underlayMtu: 9000, persistentKeepalive: 25 }));
    assert.deepEqual(d.links[0], { kind: 'wireguard', name: 'flannel-wg', mtu: 8940, up: true });
    assert.deepEqual(d.wireguard[0].peers.map((p) => [p.endpoint, p.persistentKeepalive]), [['10.57.4.21:51821', 25], ['10.57.4.22:51999', 25]]);
    assert.deepEqual(d.routes.map((r) => r.dst), ['192.168.11.0/24', '192.168.12.0/24']);
    assert.equal(overlay.desiredState(cfg({ mtu: 1300 })).links[0].mtu, 1300);
  });

  it('the key must be a PrivateKey; records\' public keys are checked and named by field, never echoing a private key', function () {
    const secret = keys[0].revealBase64();
    for (const [extra, path, re] of [
      [{ wireguardKey: undefined }, 'wireguardKey', /needs this host's private key/],
      [{ wireguardKey: secret }, 'wireguardKey', /must be a PrivateKey/],
      [{ persistentKeepalive: -1 }, 'persistentKeepalive', /./],
      [{ nodes: [NODES[0], { ...NODES[1], wireguard: { publicKey: 'short' } }] }, 'nodes[1].wireguard.publicKey', /44 characters/],
      [{ nodes: [NODES[0], { ...NODES[1], wireguard: { publicKey: pubs[1], port: 0 } }] }, 'nodes[1].wireguard.port', /./],
      [{ nodes: [NODES[0], { ...NODES[1], wireguard: { publicKey: pubs[1], privateKey: secret } }] }, 'nodes[1].wireguard.privateKey', /unknown field/],
    ]) {
      const e = (() => {
        try {
          overlay.desiredState(cfg(extra));
        } catch (err) {
          return err;
        }
        return assert.fail(`accepted ${path}`);
      })();
      assert.ok(e instanceof ValidationError);
      const p = e.problems.find((x) => x.path === path);
      assert.ok(p, `${path}: ${JSON.stringify(e.problems)}`);
      assert.match(p.message, re);
      assert.ok(!e.message.includes(secret) && !JSON.stringify(e.problems).includes(secret), 'the private key is echoed');
    }
  });

  it('a node record carries { publicKey, port? }: validated, kept, compared, screened for a key taken by this host or an earlier node', function () {
    const rec = validateNodeRecord({ name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', mode: 'wireguard', wireguard: { publicKey: pubs[1], port: 51820 } });
    assert.deepEqual(rec.wireguard, { publicKey: pubs[1], port: 51820 });
    assert.deepEqual(toOverlayNodes([rec])[0].wireguard, { publicKey: pubs[1], port: 51820 });
    assert.throws(
      () => validateNodeRecord({ name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', wireguard: { publicKey: `${pubs[1].slice(0, 43)}*` } }),
      (e) => e instanceof ValidationError && e.problems[0].path === 'node.wireguard.publicKey',
    );
    const self = { name: 'h1', nodeIP: '10.0.0.1', podCIDR: '10.244.1.0/24', mode: 'wireguard', wireguard: { publicKey: pubs[0] } };
    const cand = (v) => ({ source: `/k/${v.name}`, value: v });
    const res = screenNodes(self, [
      cand({ name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', wireguard: { publicKey: pubs[1] } }),
      cand({ name: 'h3', nodeIP: '10.0.0.3', podCIDR: '10.244.3.0/24', wireguard: { publicKey: pubs[0] } }),
      cand({ name: 'h4', nodeIP: '10.0.0.4', podCIDR: '10.244.4.0/24', wireguard: { publicKey: pubs[1] } }),
      cand({ name: 'h5', nodeIP: '10.0.0.5', podCIDR: '10.244.5.0/24', wireguard: { publicKey: pubs[2] } }),
    ]);
    assert.deepEqual(res.nodes.map((n) => n.name), ['h1', 'h2', 'h5']);
    assert.deepEqual(res.skipped.map((s) => [s.name, s.reason]), [
      ['h3', 'its WireGuard public key is this host\'s'],
      ['h4', 'its WireGuard public key is node "h2"\'s (registered earlier)'],
    ]);
  });

  it('--rotate-key\'s file rotation: a new key replaces the old one atomically, still 0600, the old public key returned', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wgrot-'));
    try {
      const file = path.join(dir, 'wg.key');
      const first = await loadOrCreatePrivateKey(file);
      assert.equal(first.created, true);
      const rotated = await rotatePrivateKey(file);
      assert.ok(rotated.previous.equals(first.key.publicKey()));
      assert.ok(!rotated.key.equals(first.key));
      assert.ok((await readPrivateKeyFile(file)).equals(rotated.key));
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.deepEqual(fs.readdirSync(dir), ['wg.key'], 'no temporary file left');
      fs.chmodSync(file, 0o644);
      await assert.rejects(rotatePrivateKey(file), { code: 'ERR_WG_KEYFILE_MODE' }, 'a file others may read is not silently replaced');
      const fresh = await rotatePrivateKey(path.join(dir, 'new.key'));
      assert.equal(fresh.previous, undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
