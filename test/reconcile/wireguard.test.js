'use strict';
// The wireguard kind of the reconciler, everywhere (no WireGuard module and no root needed):
// validation through Reconciler.plan(), the per-peer diff on devices as read back, ownership
// (owned / not owned / adopted / foreign / not WireGuard), and that no private or preshared key
// ever reaches a plan, its text, an op, a conflict, an error or an inspect() of any of them.
// The kernel half (apply, handshakes surviving, `wg show`) is test/reconcile/wireguard.kernel.test.js (VM lane).
const assert = require('node:assert/strict');
const { inspect } = require('node:util');
const { Rtnl, Reconciler, MemoryKernel, ValidationError, PrivateKey, PresharedKey, PublicKey } = require('../../dist');
const { wireguardKind } = require('../../dist/reconcile/kinds/wireguard');

const KEY = PrivateKey.generate();
const SECRET = KEY.revealBase64();
const PSK = PresharedKey.generate();
const PSK_TEXT = PSK.revealBase64();
const pub = (i) => {
  const b = Buffer.alloc(32, 0x33);
  b.writeUInt32LE(i + 1, 0);
  return PublicKey.fromBytes(b);
};
const CTX = { owner: { protocol: 77, owner: 'netlink-agent', linkAlias: 'netlink-agent' }, adoptConflicts: false };

/** Every printable form of a value: none may hold a secret. */
function printouts(v) {
  return [JSON.stringify(v), inspect(v, { depth: Infinity, showHidden: true }), String(v && v.message !== undefined ? v.message : ''), v && typeof v.text === 'function' ? v.text() : ''];
}
function assertNoSecret(v, ...secrets) {
  for (const s of printouts(v)) {
    for (const secret of [SECRET, PSK_TEXT, ...secrets]) assert.ok(!s.includes(secret), `a secret is in: ${s.slice(0, 300)}`);
    assert.ok(!s.includes(KEY.toBytes().toString('hex')), 'the private key in hex');
  }
}

/** A device as WireGuard.get() reads it back. */
function device(peers, extra = {}) {
  return {
    ifindex: 5,
    name: 'wg0',
    privateKey: KEY,
    publicKey: KEY.publicKey(),
    listenPort: 51820,
    fwmark: 0,
    peers: peers.map((p) => ({
      publicKey: p.publicKey,
      endpoint: p.endpoint,
      persistentKeepalive: p.persistentKeepalive ?? 0,
      allowedIps: p.allowedIps ?? [],
      lastHandshake: null,
      rxBytes: 0n,
      txBytes: 0n,
      protocolVersion: 1,
      unknown: [],
    })),
    unknown: [],
    ...extra,
  };
}

/** prepare + diff of the kind on a device found in a given state. */
function diff(specs, observed) {
  const p = { list: [], add(path, message) { this.list.push({ path, message }); } };
  const prepared = wireguardKind.prepare(p, specs, { owner: CTX.owner, references: [], links: { get: () => undefined } });
  assert.deepEqual(p.list, []);
  return wireguardKind.diff(prepared, observed, undefined, CTX);
}

const threePeers = [0, 1, 2].map((i) => ({ publicKey: pub(i), endpoint: `10.57.4.${21 + i}:51820`, allowedIps: [`192.168.${11 + i}.0/24`] }));
const spec = (peers = threePeers, extra = {}) => ({ dev: 'wg0', privateKey: KEY, listenPort: 51820, peers: peers.map((p) => ({ ...p, publicKey: p.publicKey.toBase64() })), ...extra });

describe('reconcile: the wireguard kind (plan and diff, any kernel)', function () {
  it('a device that matches needs nothing; one peer\'s new allowed IPs are one op on that peer alone', function () {
    const owned = [{ state: 'device', device: device(threePeers), owned: true, adopt: false }];
    assert.deepEqual(diff([spec()], owned), { ops: [], conflicts: [] });
    const changed = threePeers.map((p, i) => (i === 1 ? { ...p, allowedIps: ['192.168.12.0/24', '192.168.99.0/24'] } : p));
    const { ops, conflicts } = diff([spec(changed)], owned);
    assert.equal(conflicts.length, 0);
    assert.equal(ops.length, 1);
    const [op] = ops;
    assert.equal(op.target, 'peer');
    assert.equal(op.action, 'update');
    assert.equal(op.key, `wg0 peer ${pub(1).toBase64()}`);
    assert.deepEqual(op.fields, ['allowedIps']);
    assert.equal(op.change.replaceAllowedIps, true);
    assert.deepEqual(op.change.allowedIps.map((a) => a.text), ['192.168.12.0/24', '192.168.99.0/24']);
    assert.equal(op.reason, 'allowedIps 192.168.12.0/24 -> 192.168.12.0/24,192.168.99.0/24');
    assert.equal(op.change.endpoint, undefined, 'the endpoint did not change, so it is not sent');
  });

  it('an endpoint, a keepalive, a preshared key: each only when it differs; a new peer is a create', function () {
    const owned = [{ state: 'device', device: device(threePeers), owned: true, adopt: false }];
    const want = [
      { ...threePeers[0], endpoint: '10.57.4.99:51820' },
      { ...threePeers[1], persistentKeepalive: 25 },
      { ...threePeers[2], presharedKey: PSK },
      { publicKey: pub(3), allowedIps: ['192.168.14.0/24'] },
    ];
    const { ops } = diff([spec(want)], owned);
    assert.deepEqual(
      ops.map((o) => [o.action, o.publicKey.toBase64(), o.fields.join()]),
      [
        ['update', pub(0).toBase64(), 'endpoint'],
        ['update', pub(1).toBase64(), 'persistentKeepalive'],
        ['update', pub(2).toBase64(), 'presharedKey'],
        ['create', pub(3).toBase64(), 'allowedIps'],
      ],
    );
    assert.equal(ops[0].reason, 'endpoint 10.57.4.21:51820 -> 10.57.4.99:51820');
    assert.equal(ops[2].reason, 'presharedKey changes');
    assertNoSecret(ops);
  });

  it('peers not desired are removed from an owned device only; an unowned device that differs is a conflict unless adopted', function () {
    const two = threePeers.slice(0, 2);
    const owned = diff([spec(two)], [{ state: 'device', device: device(threePeers), owned: true, adopt: false }]);
    assert.deepEqual(owned.ops.map((o) => [o.action, o.key]), [['delete', `wg0 peer ${pub(2).toBase64()}`]]);
    assert.equal(owned.ops[0].reason, 'not desired');

    // Not ours, configuration equal but for an extra peer: nothing to do, since extras stay on a device not ours.
    const same = diff([spec(two)], [{ state: 'device', device: device(threePeers), owned: false, adopt: false }]);
    assert.deepEqual(same, { ops: [], conflicts: [] });

    const newPeer = [...two, { publicKey: pub(5), allowedIps: ['192.168.20.0/24'] }];
    const unowned = diff([spec(newPeer)], [{ state: 'device', device: device(threePeers), owned: false, adopt: false }]);
    assert.equal(unowned.ops.length, 0);
    assert.equal(unowned.conflicts.length, 1);
    assert.equal(unowned.conflicts[0].key, 'wg0');
    assert.match(unowned.conflicts[0].reason, /not this reconciler's .*adoptConflicts/);

    const adopted = diff([spec(newPeer)], [{ state: 'device', device: device(threePeers), owned: false, adopt: true }]);
    assert.deepEqual(adopted.ops.map((o) => [o.action, o.adopt]), [['create', true]], 'adopting adds the desired peer and removes no other');
  });

  it('a device held by another owner, or of another kind, is a conflict and nothing is planned', function () {
    const { ops, conflicts } = diff([spec()], [{ state: 'conflict', reason: 'wg0 is held by another owner' }]);
    assert.deepEqual(ops, []);
    assert.deepEqual(conflicts, [{ kind: 'wireguard', key: 'wg0', reason: 'wg0 is held by another owner', dev: 'wg0', peers: 3 }]);
  });

  it('a new device gets its settings and every peer; a new private key is one device op that never shows the key', function () {
    const fresh = diff([spec()], [{ state: 'new' }]);
    assert.deepEqual(fresh.ops.map((o) => [o.target, o.action]), [['device', 'create'], ['peer', 'create'], ['peer', 'create'], ['peer', 'create']]);
    assert.deepEqual(fresh.ops[0].fields, ['privateKey', 'listenPort']);
    assert.equal(fresh.ops[0].reason, 'privateKey set, listenPort (new) -> 51820');
    const next = PrivateKey.generate();
    const rotated = diff([spec(threePeers, { privateKey: next })], [{ state: 'device', device: device(threePeers), owned: true, adopt: false }]);
    assert.equal(rotated.ops.length, 1);
    assert.equal(rotated.ops[0].reason, 'privateKey changes');
    assert.ok(rotated.ops[0].change.privateKey.equals(next));
    assertNoSecret([fresh, rotated], next.revealBase64());
  });
});

describe('reconcile: the wireguard kind through Reconciler.plan() (MemoryKernel, no root)', function () {
  let kernel;
  let nl;
  beforeEach(async function () {
    kernel = new MemoryKernel();
    kernel.createNamespace('host1');
    nl = await Rtnl.open({ kernel, netns: 'host1' });
  });
  afterEach(function () {
    nl.close();
  });

  it('plans the device, its settings and its peers in stage order; the plan, its text and its events hold no secret', async function () {
    const rec = new Reconciler(nl);
    const seen = [];
    rec.on('plan', (p) => seen.push(p));
    const desired = {
      links: [{ kind: 'wireguard', name: 'wg0', mtu: 1420, up: true }],
      addresses: [{ dev: 'wg0', address: '192.168.10.1/32' }],
      routes: [{ dst: '192.168.11.0/24', dev: 'wg0' }],
      wireguard: [{ dev: 'wg0', privateKey: SECRET, listenPort: 51820, peers: [{ publicKey: pub(0).toBase64(), presharedKey: PSK_TEXT, endpoint: '10.57.4.21:51820', allowedIps: ['192.168.11.0/24'] }] }],
    };
    const plan = await rec.plan(desired);
    assert.deepEqual(
      plan.ops.map((o) => `${o.kind} ${o.action}`),
      ['link create', 'wireguard create', 'wireguard create', 'address create', 'route create'],
    );
    assert.match(plan.text(), /\+\s+wireguard wg0: privateKey set, listenPort \(new\) -> 51820/);
    assert.match(plan.text(), new RegExp(`\\+\\s+wireguard wg0 peer ${pub(0).toBase64().replace(/[+/]/g, '\\$&')}: missing \\(presharedKey, endpoint, allowedIps\\)`));
    assertNoSecret(plan);
    assertNoSecret(seen);
  });

  it('bad input is a ValidationError naming the field, before anything is read, and never echoes a key', async function () {
    const rec = new Reconciler(nl);
    const cases = [
      [{ dev: 'wg0', privateKey: SECRET.slice(0, 40) }, 'wireguard[0].privateKey', /44 characters/],
      [{ dev: 'wg0', privateKey: `${SECRET.slice(0, 43)}!` }, 'wireguard[0].privateKey', /base64/],
      [{ dev: 'wg0', privateKey: pub(0).toBase64(), peers: [{ publicKey: pub(0).toBase64() }] }, 'wireguard[0].privateKey', /public key was given as the private key/],
      [{ dev: 'wg0', peers: [{ publicKey: SECRET, presharedKey: 'x' }] }, 'wireguard[0].peers[0].presharedKey', /./],
      [{ dev: 'wg0', privateKey: SECRET, peers: [{ publicKey: KEY.publicKey().toBase64() }] }, 'wireguard[0].peers[0].publicKey', /own public key/],
      [{ dev: 'wg0', peers: [{ publicKey: pub(0).toBase64(), allowedIps: ['10.0.0.1/24'] }] }, 'wireguard[0].peers[0].allowedIps[0]', /./],
      [{ dev: 'wg0', peers: [{ publicKey: pub(0).toBase64(), endpoint: 'host:1' }] }, 'wireguard[0].peers[0].endpoint', /not an endpoint/],
      [{ dev: 'wg0', listenPort: 70000 }, 'wireguard[0].listenPort', /./],
      [{ dev: 'this-name-is-too-long' }, 'wireguard[0].dev', /./],
      [{ privateKey: SECRET }, 'wireguard[0].dev', /./],
      [{ dev: 'wg0', privateKey: SECRET, secret: SECRET }, 'wireguard[0].secret', /./],
    ];
    for (const [w, path, re] of cases) {
      const err = await rec.plan({ links: [{ kind: 'wireguard', name: 'wg0' }], wireguard: [w] }).then(
        () => assert.fail(`accepted ${path}`),
        (e) => e,
      );
      assert.ok(err instanceof ValidationError, String(err));
      const problem = err.problems.find((p) => p.path === path);
      assert.ok(problem, `${path} not named: ${JSON.stringify(err.problems)}`);
      assert.match(problem.message, re);
      assertNoSecret(err);
      assertNoSecret(err.problems);
    }
    const twice = await rec.plan({ links: [{ kind: 'wireguard', name: 'wg0' }], wireguard: [{ dev: 'wg0' }, { dev: 'wg0' }] }).catch((e) => e);
    assert.equal(twice.problems[0].path, 'wireguard[1].dev');
    const missing = await rec.plan({ wireguard: [{ dev: 'nowhere' }] }).catch((e) => e);
    assert.ok(missing instanceof ValidationError);
    assert.match(missing.message, /wireguard\[0\]\.dev.*neither desired nor present/);
  });
});
