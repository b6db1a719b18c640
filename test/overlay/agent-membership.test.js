'use strict';
// A membership change reaches the kernel as that node's changes only (issue 24): an agent fed by
// EtcdMembership (incremental reads) among 60 peers; a node joining costs this host exactly its
// route, neighbour and FDB entry (3 modifying requests), leaving removes exactly those, a new
// node IP changes only its neighbour and FDB entry; records written within the debounce window
// come as one node list and one apply. The counts are the reconciler's ApplyResults. Nothing
// else is read either: the cycles a change causes are scoped (targeted reads of its keys, no
// dump of the 61 nodes' routes, neighbours and FDB entries).
const assert = require('node:assert/strict');
const { Etcd3 } = require('etcd3');
const { OverlayAgent } = require('../../dist');
const { EtcdMembership, MembershipFeed } = require('../../dist/membership');
const { Sandbox, SEED_HOSTS } = require('../../examples/lib/sandbox');
const { etcdDescribe } = require('../support/etcd');
const { slow } = require('../support/kernel');
const { waitFor, collect, publishRecord } = require('../membership/helpers');

let counter = 0;
// The membership's debounce window: the three joins below are written within it, so it grows
// with the VM lane's slowness (under TCG, three puts took longer than 100 ms).
const DEBOUNCE_MS = 100 * slow;
const peer = (i, ip = `10.200.0.${i}`) => ({ name: `p${i}`, nodeIP: ip, podCIDR: `10.100.${i}.0/24`, mode: 'vxlan' });

etcdDescribe(
  'overlay: membership changes become only that node\'s kernel changes',
  function (etcd) {
    this.timeout(120000);
    let sandbox;
    let raw;
    let lease;
    let m;
    let feed;
    let agent;
    let nl;
    const prefix = `/nla-agent-m-${process.pid}/`;

    before(async function () {
      const h = SEED_HOSTS[0];
      sandbox = new Sandbox({ prefix: `nla-agm${process.pid}x${++counter}`, hosts: [h] });
      await sandbox.build();
      raw = new Etcd3({ hosts: etcd().url });
      lease = raw.lease(120);
      for (let i = 1; i <= 60; i++) await publishRecord(raw, prefix, peer(i), lease);
      nl = await sandbox.rtnl(sandbox.hostNs(h.name));
      agent = new OverlayAgent({ nl, mode: 'vxlan', self: h.name, vni: 100, port: 4789, watch: { debounceMs: 20 } });
      m = new EtcdMembership({ endpoints: etcd().url, prefix, self: { name: h.name, nodeIP: h.nodeIP, podCIDR: h.podCIDR, mode: 'vxlan' }, ttlSeconds: 10, debounceMs: DEBOUNCE_MS });
      await m.start();
      feed = new MembershipFeed(m, agent);
      await waitFor(() => m.nodes().length === 61, 15000, '61 nodes');
      await waitFor(async () => {
        await feed.idle();
        return (await agent.reconciler.plan(await agent.desiredFor(m.nodes()))).empty;
      }, 20000, 'the kernel converged on 61 nodes');
    });
    after(async function () {
      await feed?.stop();
      await agent?.stop();
      await m?.stop({ leave: true });
      await lease?.revoke().catch(() => undefined);
      raw?.close();
      await sandbox?.destroy();
    });

    /** Runs `change`, waits until the agent applied something and then stayed quiet; returns
     * the node lists emitted and what every apply did. */
    async function afterChange(change) {
      await feed.idle();
      const lists = collect(m, 'nodes');
      const results = collect(agent, 'applied');
      const cycles = collect(agent.reconciler, 'cycle');
      const dumped = nl.socket.dumpObjects;
      await change();
      await waitFor(() => results.some((r) => r.applied.length > 0), 10000 * slow, 'an apply with changes');
      // Quiet for a while: whatever else the change caused has happened by then.
      await new Promise((r) => setTimeout(r, Math.max(1500, 2 * DEBOUNCE_MS)));
      const lines = results.flatMap((r) => r.applied.map((op) => `${op.action ?? op.type ?? ''} ${op.kind}`));
      return { lists, results, lines, cycles, dumped: nl.socket.dumpObjects - dumped, requests: results.reduce((n, r) => n + r.requests, 0), applies: results.filter((r) => r.applied.length > 0).length, text: results.map((r) => r.plan.text()).join('\n') };
    }

    it('a node joining: exactly its route, neighbour and FDB entry (3 requests); leaving: exactly those removed', async function () {
      const j = { name: 'j1', nodeIP: '10.201.0.1', podCIDR: '10.150.1.0/24', mode: 'vxlan' };
      const join = await afterChange(() => publishRecord(raw, prefix, j, lease));
      assert.equal(join.requests, 3, join.text);
      assert.equal(join.applies, 1, join.text);
      assert.match(join.text, /\+ +route 10\.150\.1\.0\/24/);
      assert.match(join.text, /\+ +neighbor vxlan0 10\.150\.1\.1:/);
      assert.match(join.text, /\+ +fdb vxlan0 0e:6e:0a:c9:00:01 dst 10\.201\.0\.1/);
      assert.equal(join.lists.length, 1);
      // Read: only the keys of the change (a whole read of one kind alone dumps 61+ objects).
      assert.ok(join.cycles.length >= 1 && join.cycles.every((c) => c.scoped), JSON.stringify(join.cycles));
      assert.ok(join.dumped < 10, `${join.dumped} objects dumped`);
      const leave = await afterChange(() => raw.delete().key(`${prefix}nodes/j1`));
      assert.equal(leave.requests, 3, leave.text);
      assert.equal(leave.applies, 1, leave.text);
      for (const kind of ['route 10.150.1.0/24', 'neighbor vxlan0 10.150.1.1', 'fdb vxlan0 0e:6e:0a:c9:00:01']) assert.match(leave.text, new RegExp(`- +${kind.replace(/\./g, '\\.')}`));
      assert.ok(leave.cycles.length >= 1 && leave.cycles.every((c) => c.scoped), JSON.stringify(leave.cycles));
      assert.ok(leave.dumped < 10, `${leave.dumped} objects dumped`);
    });

    it('a node IP change: its neighbour and FDB entry only; three joins in one debounce window: one list, one apply, 9 requests', async function () {
      const moved = peer(7, '10.202.0.7');
      const move = await afterChange(() => lease.put(`${prefix}nodes/p7`).value(JSON.stringify(moved)));
      assert.equal(move.requests, 3, move.text); // neighbour lladdr update, new FDB entry, old one deleted
      assert.doesNotMatch(move.text, /route/);
      assert.match(move.text, /~ +neighbor vxlan0 10\.100\.7\.1: lladdr 0e:6e:0a:c8:00:07 -> 0e:6e:0a:ca:00:07/);
      assert.match(move.text, /\+ +fdb vxlan0 0e:6e:0a:ca:00:07 dst 10\.202\.0\.7/);
      assert.match(move.text, /- +fdb vxlan0 0e:6e:0a:c8:00:07 dst 10\.200\.0\.7/);
      assert.ok(move.cycles.every((c) => c.scoped) && move.dumped < 10, `${JSON.stringify(move.cycles)}; ${move.dumped} objects dumped`);

      const three = [2, 3, 4].map((i) => ({ name: `j${i}`, nodeIP: `10.201.0.${i}`, podCIDR: `10.150.${i}.0/24`, mode: 'vxlan' }));
      // Reservations first (as agents do, before publishing), then the three records back to back.
      for (const r of three) {
        await lease.put(`${prefix}alloc/subnet/${r.podCIDR.replace('/', '-')}`).value(JSON.stringify({ name: r.name, podCIDR: r.podCIDR }));
        await lease.put(`${prefix}alloc/owner/${r.name}`).value(r.podCIDR);
      }
      const batch = await afterChange(() => Promise.all(three.map((r) => lease.put(`${prefix}nodes/${r.name}`).value(JSON.stringify(r)))));
      assert.equal(batch.lists.length, 1, 'one node list for the three');
      assert.equal(batch.applies, 1, batch.text);
      assert.equal(batch.requests, 9, batch.text);
    });
  },
  { root: true },
);
