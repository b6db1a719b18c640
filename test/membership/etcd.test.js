'use strict';
// EtcdMembership against a real etcd (Debian's etcd-server on 127.0.0.1, see test/support/etcd.js):
// registration, lease expiry, hostile records, an etcd restart, a late etcd, and validation.
const assert = require('node:assert/strict');
const { Etcd3 } = require('etcd3');
const { ValidationError } = require('../../dist');
const { EtcdMembership, AllocationError } = require('../../dist/membership');
const { etcdDescribe } = require('../support/etcd');
const { waitFor, collect, publishRecord, memberOptions } = require('./helpers');

let seq = 0;

etcdDescribe('membership: EtcdMembership with a real etcd', function (etcd) {
  this.timeout(30000);
  let running;
  let raw;
  let prefix;

  beforeEach(function () {
    running = [];
    prefix = `/nla-test-${process.pid}-${++seq}/`;
    raw = new Etcd3({ hosts: etcd().url });
  });
  afterEach(async function () {
    for (const m of running) await m.stop();
    raw.close();
  });

  function member(self, extra = {}) {
    const m = new EtcdMembership(memberOptions(etcd().url, prefix, self, extra));
    running.push(m);
    return m;
  }
  const A = { name: 'host-a', nodeIP: '10.70.0.1', podCIDR: '10.244.1.0/24' };
  const B = { name: 'host-b', nodeIP: '10.70.0.2', podCIDR: '10.244.2.0/24' };
  const C = { name: 'host-c', nodeIP: '10.70.0.3', podCIDR: '10.244.3.0/24' };
  const names = (list) => list.map((n) => n.name);

  it('agents publish full records and each sees the others (itself included, sorted by name)', async function () {
    const a = member(A);
    const b = member(B);
    const self = await a.start();
    assert.deepEqual(self, { ...A, vtepMac: '0e:6e:0a:46:00:01', mode: 'vxlan', version: require('../../package.json').version });
    await b.start();
    await waitFor(() => a.nodes().length === 2 && b.nodes().length === 2);
    assert.deepEqual(names(a.nodes()), ['host-a', 'host-b']);
    assert.deepEqual(a.nodes()[1], { ...B, vtepMac: '0e:6e:0a:46:00:02', mode: 'vxlan', version: self.version });
    // What is stored is what was published, under <prefix>nodes/<name>, with a lease.
    const stored = await raw.get(`${prefix}nodes/host-b`).exec();
    assert.equal(JSON.parse(stored.kvs[0].value.toString()).nodeIP, B.nodeIP);
    assert.notEqual(String(stored.kvs[0].lease), '0', 'the record is attached to a lease');
  });

  it('a stopped agent disappears from the others when its lease (TTL 2 s) expires; leave removes it at once', async function () {
    const a = member(A);
    const b = member(B);
    const c = member(C);
    await Promise.all([a.start(), b.start(), c.start()]);
    await waitFor(() => a.nodes().length === 3);
    const t0 = Date.now();
    await b.stop(); // heartbeats stop; the record stays until the lease expires
    assert.deepEqual(names(a.nodes()), ['host-a', 'host-b', 'host-c']);
    await waitFor(() => a.nodes().length === 2, 8000);
    const took = Date.now() - t0;
    assert.deepEqual(names(a.nodes()), ['host-a', 'host-c']);
    assert.ok(took >= 1000 && took < 7000, `expired after ${took} ms`);

    const t1 = Date.now();
    await c.stop({ leave: true });
    await waitFor(() => a.nodes().length === 1, 3000);
    assert.ok(Date.now() - t1 < 1500, 'leave is immediate');
  });

  it('malformed and hostile records are skipped with a reason and never reach the node list', async function () {
    const a = member(A, { allocation: undefined });
    await a.start();
    const skipped = collect(a, 'skipped');
    const warnings = collect(a, 'warning');
    const lease = raw.lease(60);
    // Every record below but the first breaks one rule; each has a lease and a reservation of
    // its own (as an agent's has), so that the rule it breaks is the reason it is skipped.
    const put = async (name, value) => {
      const v = typeof value === 'string' ? value : JSON.stringify(value);
      if (value && typeof value === 'object') {
        await lease.put(`${prefix}alloc/subnet/${value.podCIDR.replace('/', '-')}`).value(JSON.stringify({ name: value.name, podCIDR: value.podCIDR }));
      }
      await lease.put(`${prefix}nodes/${name}`).value(v);
    };
    await put('good', { name: 'good', nodeIP: '10.70.0.9', podCIDR: '10.244.9.0/24' });
    await put('notjson', '{"name": "notjson",');
    await put('badcidr', { name: 'badcidr', nodeIP: '10.70.0.10', podCIDR: '10.244.10.1/24' });
    await put('overlap', { name: 'overlap', nodeIP: '10.70.0.11', podCIDR: '10.244.0.0/16' });
    await put('sameip', { name: 'sameip', nodeIP: A.nodeIP, podCIDR: '10.244.12.0/24' });
    await put('mismatch', { name: 'someone-else', nodeIP: '10.70.0.13', podCIDR: '10.244.13.0/24' });
    await put('covers', { name: 'covers', nodeIP: '10.70.0.14', podCIDR: '10.70.0.0/24' });
    await put('twin', { name: 'twin', nodeIP: '10.70.0.9', podCIDR: '10.244.15.0/24' });
    await put('huge', { name: 'huge', nodeIP: '10.70.0.16', podCIDR: '10.244.16.0/24', pad: 'x'.repeat(5000) });
    await put('mcast', { name: 'mcast', nodeIP: '10.70.0.17', podCIDR: '10.244.17.0/24', vtepMac: '01:00:5e:00:00:01' });
    await put('host-a', { name: 'host-a', nodeIP: '10.70.0.66', podCIDR: '10.244.66.0/24' });
    // Records an agent would never write: no lease; a podCIDR nobody reserved; one reserved for another node.
    await raw.put(`${prefix}nodes/nolease`).value(JSON.stringify({ name: 'nolease', nodeIP: '10.70.0.18', podCIDR: '10.244.18.0/24' }));
    await lease.put(`${prefix}alloc/subnet/10.244.18.0-24`).value(JSON.stringify({ name: 'nolease', podCIDR: '10.244.18.0/24' }));
    await lease.put(`${prefix}nodes/unreserved`).value(JSON.stringify({ name: 'unreserved', nodeIP: '10.70.0.19', podCIDR: '10.244.19.0/24' }));
    await lease.put(`${prefix}nodes/squatter`).value(JSON.stringify({ name: 'squatter', nodeIP: '10.70.0.20', podCIDR: '10.244.9.0/24' }));
    await waitFor(() => a.nodes().length === 2 && skipped.length && skipped[skipped.length - 1].length === 12);
    assert.deepEqual(names(a.nodes()), ['good', 'host-a']);
    assert.equal(a.nodes().find((n) => n.name === 'host-a').nodeIP, A.nodeIP, 'this host\'s own record is authoritative');
    const why = Object.fromEntries(skipped[skipped.length - 1].map((s) => [s.source.slice(prefix.length + 'nodes/'.length), s.reason]));
    assert.match(why.notjson, /not JSON/);
    assert.match(why.badcidr, /bits set past \/24/);
    assert.match(why.overlap, /overlaps this host's podCIDR 10\.244\.1\.0\/24/);
    assert.match(why.sameip, /nodeIP 10\.70\.0\.1 is this host's address/);
    assert.match(why.mismatch, /names "someone-else" but is stored under "mismatch"/);
    assert.match(why.covers, /covers the node address/);
    assert.match(why.twin, /nodeIP 10\.70\.0\.9 collides with node "good"/);
    assert.match(why.huge, /more than 4096/);
    assert.match(why.mcast, /multicast/);
    assert.match(why.nolease, /has no lease/);
    assert.match(why.unreserved, /podCIDR 10\.244\.19\.0\/24 has no reservation for "unreserved"/);
    assert.match(why.squatter, /podCIDR 10\.244\.9\.0\/24 (is reserved for node "good"|collides with node "good")/);
    // Someone overwrote our own key: we say so and publish ours again.
    await waitFor(() => warnings.some((w) => /someone else wrote this host's record/.test(w)));
    await waitFor(async () => JSON.parse(await raw.get(`${prefix}nodes/host-a`).string()).nodeIP === A.nodeIP);
  });

  it('etcd restarting mid-watch: the list is kept while it is away, the status says so, changes after it are seen', async function () {
    const a = member(A);
    const b = member(B);
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => a.nodes().length === 2);
    const lists = collect(a, 'nodes');
    const status = collect(a, 'status');
    await etcd().restart({ downMs: 2500 });
    await waitFor(() => status.some((s) => s.state === 'connected'), 15000);
    assert.equal(status[0].state, 'disconnected');
    assert.ok(lists.every((l) => l.length >= 2), `never a shorter list: ${JSON.stringify(lists.map(names))}`);
    // Both records survive the restart (etcd keeps leases), and a new host is seen.
    await waitFor(async () => (await raw.getAll().prefix(`${prefix}nodes/`).keys()).length === 2, 8000);
    const c = member(C);
    await c.start();
    await waitFor(() => a.nodes().length === 3 && b.nodes().length === 3, 10000);
  });

  it('an outage longer than the lease: records come back with new leases; a record gone right after it is kept while etcd settles', async function () {
    const opts = { ttlSeconds: 1 }; // settling window: 1 s TTL + 500 ms max backoff
    const a = member(A, opts);
    const b = member(B, opts);
    await Promise.all([a.start(), b.start()]);
    // Two peers that are only records, with leases the test controls.
    const X = { name: 'x', nodeIP: '10.70.0.24', podCIDR: '10.244.24.0/24' };
    const Y = { name: 'y', nodeIP: '10.70.0.25', podCIDR: '10.244.25.0/24' };
    const xLease = await publishRecord(raw, prefix, X);
    const yLease = await publishRecord(raw, prefix, Y);
    await waitFor(() => [a, b].every((m) => m.nodes().length === 4));
    // Normally a record that goes is dropped at once.
    await yLease.revoke();
    const prompt = await waitFor(() => a.nodes().length === 3, 3000);
    assert.ok(prompt < 800, `dropped after ${prompt} ms`);

    const leases = async () => (await raw.getAll().prefix(`${prefix}nodes/`).exec()).kvs.map((kv) => String(kv.lease)).sort();
    const before = await leases();
    const lists = [a, b].map((m) => collect(m, 'nodes'));
    const status = collect(a, 'status');
    await etcd().restart({ downMs: 3000 }); // the client gives a lease up after 2 TTLs without renewal
    await waitFor(() => status.some((s) => s.state === 'connected'), 10000, 'reconnect');
    await xLease.revoke(); // x goes right after etcd came back: maybe it just has not re-registered yet
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(a.nodes().some((n) => n.name === 'x'), 'x is kept while etcd settles');
    await waitFor(() => !a.nodes().some((n) => n.name === 'x'), 5000, 'x dropped after the settling window');
    const held = Date.now() - t0;
    assert.ok(held >= 300 && held < 3000, `x held ${held} ms`);
    // Our own records were published again, with new leases; no list shrank but for x.
    await waitFor(async () => (await leases()).length === 2 && (await leases()).join() !== before.join(), 10000, 're-registration');
    for (const l of lists) assert.ok(l.every((x) => x.filter((n) => n.name !== 'x').length === 2), JSON.stringify(l.map(names)));
  });

  it('start() waits for an etcd that is not up yet and registers when it comes', async function () {
    await etcd().kill();
    const a = member(A);
    const status = collect(a, 'status');
    let done = false;
    const started = a.start().then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(done, false);
    assert.equal(status[0]?.state, 'disconnected');
    await etcd().spawn();
    const self = await started;
    assert.equal(self.podCIDR, A.podCIDR);
    assert.deepEqual(names(a.nodes()), ['host-a']);
  });

  describe('podCIDR allocation', function () {
    const alloc = { allocation: { clusterCIDR: '10.250.0.0/16', subnetLength: 24 } };

    it('twenty agents starting at once get twenty distinct subnets of the cluster CIDR; a restarted one gets its old subnet back', async function () {
      const t0 = Date.now();
      const ms = Array.from({ length: 20 }, (_, i) => member({ name: `n${i}`, nodeIP: `10.71.0.${i + 1}` }, alloc));
      const selves = await Promise.all(ms.map((m) => m.start()));
      const took = Date.now() - t0;
      const cidrs = selves.map((s) => s.podCIDR);
      assert.equal(new Set(cidrs).size, 20, cidrs.join(' '));
      for (const c of cidrs) assert.match(c, /^10\.250\.\d+\.0\/24$/);
      await waitFor(() => ms.every((m) => m.nodes().length === 20), 10000);
      console.log(`      (20 concurrent allocations in ${took} ms)`);

      await ms[7].stop();
      const again = member({ name: 'n7', nodeIP: '10.71.0.8' }, alloc);
      assert.equal((await again.start()).podCIDR, cidrs[7]);
    });

    it('a given podCIDR overlapping another node\'s reservation is refused; a full range is reported', async function () {
      const small = { allocation: { clusterCIDR: '10.251.0.0/23', subnetLength: 24 } };
      await member({ name: 'p1', nodeIP: '10.72.0.1' }, small).start();
      await member({ name: 'p2', nodeIP: '10.72.0.2' }, small).start();
      await assert.rejects(member({ name: 'p3', nodeIP: '10.72.0.3' }, small).start(), (e) => e instanceof AllocationError && /no free \/24 left/.test(e.message));
      const taken = (await raw.get(`${prefix}alloc/owner/p1`).string()) || '';
      await assert.rejects(
        member({ name: 'p4', nodeIP: '10.72.0.4', podCIDR: taken.replace(/\/24$/, '/25') }).start(),
        (e) => e instanceof AllocationError && e.message.includes('reserved by node "p1"'),
      );
    });
  });
});

describe('membership: EtcdMembership options', function () {
  it('bad options are one ValidationError naming every problem, before any connection', function () {
    assert.throws(
      () => new EtcdMembership({ endpoints: 'localhost', self: { name: '-x', nodeIP: '127.0.0.1', mode: 'warp' }, ttlSeconds: 0 }),
      (e) => {
        assert.ok(e instanceof ValidationError);
        const paths = e.problems.map((p) => p.path).sort();
        assert.deepEqual(paths, ['endpoints[0]', 'self.mode', 'self.name', 'self.nodeIP', 'self.podCIDR', 'ttlSeconds']);
        return true;
      },
    );
  });
});
