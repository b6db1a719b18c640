'use strict';
// The wireguard kind on a real kernel (the VM lane's Debian 6.1; this host has no wireguard and
// skips with one line). Three hosts in namespaces, each reconciled to the wireguard overlay's
// desired state; `wg show DEV dump` is the oracle. A change to one peer is one op and leaves
// the other peer's session (its handshake) alone; peers nobody desires go from owned devices
// only; a foreign device is a conflict; a removed peer comes back at the next resync.
const assert = require('node:assert/strict');
const { Reconciler, PrivateKey, WireGuard, AgentStats } = require('../../dist');
const { overlay } = require('../../dist/overlay');
const { Sandbox, SEED_HOSTS } = require('../../examples/lib/sandbox');
const { kernelDescribe } = require('../support/kernel');
const { pollUntil } = require('../support/poll');
const { HAS_WIREGUARD, NO_WIREGUARD, wgShowDump } = require('../support/wg');

const HOST3 = { name: 'host3', nodeIP: '10.57.4.22', podCIDR: '192.168.12.0/24', podIP: '192.168.12.10' };
const HOSTS = [...SEED_HOSTS, HOST3];
const DEV = 'wg-overlay';
let counter = 0;

const title = HAS_WIREGUARD ? 'reconcile: the wireguard kind on the real kernel' : `reconcile: the wireguard kind on the real kernel (${NO_WIREGUARD})`;

kernelDescribe(title, function () {
  this.timeout(120000);
  let sandbox;
  let keys;
  let recs;
  let nls;

  before(function () {
    if (!HAS_WIREGUARD) this.skip();
  });

  const nodes = () => HOSTS.map((h, i) => ({ name: h.name, nodeIP: h.nodeIP, podCIDR: h.podCIDR, wireguard: { publicKey: keys[i].publicKey().toBase64() } }));
  const desiredOf = (name, list = nodes()) => overlay.desiredState({ mode: 'wireguard', self: name, nodes: list, underlayDev: 'eth0', wireguardKey: keys[HOSTS.findIndex((h) => h.name === name)] });
  const pub = (name) => keys[HOSTS.findIndex((h) => h.name === name)].publicKey().toBase64();

  beforeEach(async function () {
    keys = HOSTS.map(() => PrivateKey.generate());
    sandbox = new Sandbox({ prefix: `nla-wgk${process.pid}x${++counter}`, hosts: HOSTS });
    recs = new Map();
    nls = new Map();
    await sandbox.build();
    for (const h of HOSTS) {
      nls.set(h.name, await sandbox.rtnl(sandbox.hostNs(h.name)));
      recs.set(h.name, new Reconciler(nls.get(h.name), { owner: 'wg-test' }));
    }
  });
  afterEach(async function () {
    for (const r of recs?.values() ?? []) await r.stop();
    if (sandbox) await sandbox.destroy();
    sandbox = undefined;
  });

  it('three hosts converge to the overlay: `wg show` has every peer with its pod subnet and endpoint; pods talk over the tunnel', async function () {
    for (const h of HOSTS) {
      const res = await recs.get(h.name).apply(desiredOf(h.name));
      assert.equal(res.converged, true, JSON.stringify(res.failed.map((f) => `${f.op.key}: ${f.error.message}`)));
      assert.deepEqual(res.plan.ops.filter((o) => o.kind === 'wireguard').map((o) => `${o.target} ${o.action}`), ['device create', 'peer create', 'peer create']);
      // The device's settings and both peers went as one WG_CMD_SET_DEVICE, counted in requests.
      assert.equal(nls.get(h.name).genlIfOpen().modifyingRequests, 1);
      assert.ok(res.requests >= 2, `requests ${res.requests}: the links and routes, and the SET`);
    }
    for (const [i, h] of HOSTS.entries()) {
      const dump = wgShowDump(sandbox.hostNs(h.name), DEV);
      assert.equal(dump.publicKey, keys[i].publicKey().toBase64());
      assert.equal(dump.privateKey, keys[i].revealBase64());
      assert.equal(dump.listenPort, 51820);
      const want = HOSTS.filter((o) => o !== h).map((o) => [pub(o.name), `${o.nodeIP}:51820`, o.podCIDR].join(' ')).sort();
      assert.deepEqual(dump.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps.join(',')].join(' ')).sort(), want);
      // A second apply is a no-op: nothing read differs.
      const again = await recs.get(h.name).plan(desiredOf(h.name));
      assert.equal(again.ops.length, 0, again.text());
    }
    const r = await sandbox.traffic('host1', 'host2');
    assert.ok(r.udp.ok && r.tcp.ok, JSON.stringify(r));
    const back = await sandbox.traffic('host3', 'host1');
    assert.ok(back.udp.ok && back.tcp.ok, JSON.stringify(back));
  });

  it('a change to one peer is one op; the other peer\'s session (its handshake) survives it', async function () {
    for (const h of HOSTS) assert.equal((await recs.get(h.name).apply(desiredOf(h.name))).converged, true);
    for (const to of ['host2', 'host3']) {
      const r = await sandbox.traffic('host1', to);
      assert.ok(r.udp.ok && r.tcp.ok, `${to}: ${JSON.stringify(r)}`);
    }
    const h1 = sandbox.hostNs('host1');
    const before = wgShowDump(h1, DEV).peers.find((p) => p.publicKey === pub('host3'));
    assert.ok(before.latestHandshake > 0, 'host1 has a session with host3');
    // host2's peer gets one more allowed prefix.
    const state = desiredOf('host1');
    state.wireguard[0].peers.find((p) => p.publicKey === pub('host2')).allowedIps.push('10.99.2.0/24');
    const stats = new AgentStats();
    stats.observeNetlink(nls.get('host1'));
    const before0 = stats.snapshot().netlink;
    const res = await recs.get('host1').apply(state);
    assert.equal(res.converged, true);
    assert.deepEqual(res.plan.ops.map((o) => [o.kind, o.action, o.key, o.reason]), [['wireguard', 'update', `${DEV} peer ${pub('host2')}`, 'allowedIps 192.168.11.0/24 -> 192.168.11.0/24,10.99.2.0/24']]);
    // Counted like an rtnetlink request: one SET in ApplyResult.requests and in the agent's
    // metrics (modifying); the GET_DEVICE dump that observed the device as a read.
    assert.equal(res.requests, 1, 'the change is one WG_CMD_SET_DEVICE, counted in requests');
    const after0 = stats.snapshot().netlink;
    assert.equal(after0.modifyingRequests - before0.modifyingRequests, 1, 'AgentStats counts the SET as modifying');
    assert.ok(after0.readRequests - before0.readRequests >= 2, 'the link dump and the GET_DEVICE dump are reads');
    const noop = await recs.get('host1').apply(state);
    assert.equal(noop.requests, 0, 'a no-op apply sends nothing');
    const after = wgShowDump(h1, DEV).peers;
    assert.deepEqual(after.find((p) => p.publicKey === pub('host2')).allowedIps.sort(), ['10.99.2.0/24', '192.168.11.0/24']);
    const kept = after.find((p) => p.publicKey === pub('host3'));
    assert.equal(kept.latestHandshake, before.latestHandshake, 'host3\'s handshake is untouched');
    assert.ok(kept.rxBytes >= before.rxBytes && kept.txBytes >= before.txBytes, 'host3\'s counters did not restart');
    const r = await sandbox.traffic('host1', 'host3');
    assert.ok(r.udp.ok && r.tcp.ok);
  });

  it('a node leaving: its peer is removed (owned device); a peer someone adds is removed, one someone removes comes back at the resync', async function () {
    const rec = recs.get('host1');
    assert.equal((await rec.apply(desiredOf('host1'))).converged, true);
    const h1 = sandbox.hostNs('host1');
    const without3 = nodes().filter((n) => n.name !== 'host3');
    const res = await rec.apply(desiredOf('host1', without3));
    assert.ok(res.plan.ops.some((o) => o.kind === 'wireguard' && o.action === 'delete' && o.key === `${DEV} peer ${pub('host3')}`));
    assert.ok(res.plan.ops.some((o) => o.kind === 'route' && o.action === 'delete'));
    assert.deepEqual(wgShowDump(h1, DEV).peers.map((p) => p.publicKey), [pub('host2')]);

    // Someone else adds a peer and removes host2's: the watch puts it right (no event exists for this: the resync finds it).
    const wg = await WireGuard.open({ netns: h1 });
    try {
      const stranger = PrivateKey.generate().publicKey();
      await wg.set(DEV, { peers: [{ publicKey: stranger, allowedIps: ['10.77.0.0/24'] }, { publicKey: pub('host2'), remove: true }] });
      const drifted = [];
      rec.on('drift', (ops) => drifted.push(...ops));
      rec.watch(desiredOf('host1', without3), { resyncIntervalMs: 500, debounceMs: 20 });
      await pollUntil(() => {
        const peers = wgShowDump(h1, DEV).peers.map((p) => p.publicKey);
        return peers.length === 1 && peers[0] === pub('host2');
      }, { ms: 30000, what: 'the peers repaired' });
      await rec.stop();
      assert.ok(drifted.some((o) => o.kind === 'wireguard' && o.action === 'delete' && o.publicKey.equals(stranger)));
      assert.ok(drifted.some((o) => o.kind === 'wireguard' && o.action === 'create' && o.key.endsWith(pub('host2'))));
    } finally {
      wg.close();
    }
  });

  it('a device the reconciler does not own: a conflict, left alone; adopted, its desired peers are set and its own kept', async function () {
    const h2 = sandbox.hostNs('host2');
    const nl = await sandbox.rtnl(h2);
    await nl.links.add({ kind: 'wireguard', name: 'wg-other', up: true });
    const wg = await WireGuard.open({ netns: h2 });
    const theirs = PrivateKey.generate().publicKey();
    try {
      await wg.set('wg-other', { privateKey: keys[1], listenPort: 40000, peers: [{ publicKey: theirs, allowedIps: ['10.88.0.0/24'] }] });
      const desired = { wireguard: [{ dev: 'wg-other', listenPort: 40000, peers: [{ publicKey: pub('host1'), allowedIps: ['192.168.10.0/24'] }] }] };
      const plain = recs.get('host2');
      const res = await plain.apply(desired);
      assert.equal(res.converged, false);
      assert.deepEqual(res.plan.ops, []);
      assert.equal(res.plan.conflicts.length, 1);
      assert.match(res.plan.conflicts[0].reason, /not this reconciler's/);
      assert.deepEqual(wgShowDump(h2, 'wg-other').peers.map((p) => p.publicKey), [theirs.toBase64()]);

      const adopter = new Reconciler(nl, { owner: 'wg-adopter', adoptConflicts: true });
      const res2 = await adopter.apply(desired);
      assert.equal(res2.converged, true);
      assert.deepEqual(res2.plan.ops.map((o) => [o.action, o.adopt]), [['create', true]]);
      assert.deepEqual(wgShowDump(h2, 'wg-other').peers.map((p) => p.publicKey).sort(), [theirs.toBase64(), pub('host1')].sort());
      // A foreign kind under the name: a conflict too.
      const res3 = await plain.apply({ wireguard: [{ dev: 'eth0', peers: [] }] });
      assert.match(res3.plan.conflicts[0].reason, /not a WireGuard device/);
    } finally {
      wg.close();
    }
  });
});
