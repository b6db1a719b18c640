'use strict';
// Dual-stack membership against a real etcd: one subnet per family allocated in the same guarded
// transaction (both or neither), a restart gets both back, dual-stack and IPv6-only records are
// published and read, and a v4-only record of the current version still reads beside them.
const assert = require('node:assert/strict');
const { Etcd3 } = require('etcd3');
const { ValidationError } = require('../../dist');
const { EtcdMembership, AllocationError } = require('../../dist/membership');
const { etcdDescribe } = require('../support/etcd');
const { waitFor, publishRecord } = require('./helpers');

let seq = 0;

etcdDescribe('membership: dual stack in a real etcd', function (etcd) {
  this.timeout(30000);
  let running;
  let raw;
  let prefix;

  beforeEach(function () {
    running = [];
    prefix = `/nla-dual-${process.pid}-${++seq}/`;
    raw = new Etcd3({ hosts: etcd().url });
  });
  afterEach(async function () {
    for (const m of running) await m.stop();
    raw.close();
  });

  function member(self, extra = {}) {
    const m = new EtcdMembership({ endpoints: etcd().url, prefix, self: { mode: 'vxlan', ...self }, ttlSeconds: 2, debounceMs: 20, minBackoffMs: 50, maxBackoffMs: 500, callTimeoutMs: 1000, ...extra });
    running.push(m);
    return m;
  }
  const allocation = { clusterCIDR: '10.244.0.0/16', subnetLength: 24, clusterCIDR6: 'fd44:0:0::/48', subnetLength6: 64 };
  const dualIPs = (i) => ({ nodeIP: `10.70.0.${i}`, nodeIPs: [`10.70.0.${i}`, `fd70::${i}`] });

  it('allocates one subnet per family in one transaction; the record carries both families and a VTEP MAC per underlay', async function () {
    const a = member({ name: 'host-a', ...dualIPs(1) }, { allocation });
    const self = await a.start();
    assert.equal(self.podCIDRs.length, 2);
    const [v4, v6] = self.podCIDRs;
    assert.equal(self.podCIDR, v4);
    assert.match(v4, /^10\.244\.\d+\.0\/24$/);
    assert.match(v6, /^fd44:0:0:[0-9a-f]+::\/64$/);
    assert.deepEqual(self.nodeIPs, ['10.70.0.1', 'fd70::1']);
    assert.equal(self.vtepMac, '0e:6e:0a:46:00:01');
    assert.equal(self.vtepMac6, '0e:6f:00:00:00:01');
    assert.equal(await raw.get(`${prefix}alloc/owner/host-a`).string(), `${v4},${v6}`);
    const res6 = JSON.parse(await raw.get(`${prefix}alloc/subnet/${v6.replace('/', '-')}`).string());
    assert.deepEqual(res6, { name: 'host-a', podCIDR: v6 });
    // A peer sees it with both families, and is seen likewise.
    const b = member({ name: 'host-b', ...dualIPs(2) }, { allocation });
    const other = await b.start();
    assert.notEqual(other.podCIDRs[1], v6);
    await waitFor(() => a.nodes().length === 2);
    assert.deepEqual(a.nodes()[1].podCIDRs, other.podCIDRs);
  });

  it('a restarted node gets both subnets back', async function () {
    const a = member({ name: 'host-a', ...dualIPs(1) }, { allocation });
    const first = await a.start();
    await a.stop();
    running = running.filter((m) => m !== a);
    const again = await member({ name: 'host-a', ...dualIPs(1) }, { allocation }).start();
    assert.deepEqual(again.podCIDRs, first.podCIDRs);
  });

  it('both or neither: when the IPv6 range is full the IPv4 subnet is not reserved either', async function () {
    // A /126 range holds one /126: host-a takes it, host-b must fail without keeping an IPv4 subnet.
    const tiny = { clusterCIDR: '10.244.0.0/16', subnetLength: 24, clusterCIDR6: 'fd44::/120', subnetLength6: 120 };
    await member({ name: 'host-a', ...dualIPs(1) }, { allocation: tiny }).start();
    const b = member({ name: 'host-b', ...dualIPs(2) }, { allocation: tiny });
    await assert.rejects(b.start(), (e) => e instanceof AllocationError && /no free \/120 left in the cluster CIDR fd44::\/120/.test(e.message));
    assert.equal(await raw.get(`${prefix}alloc/owner/host-b`).string(), null);
    const subnets = await raw.getAll().prefix(`${prefix}alloc/subnet/`).keys();
    assert.equal(subnets.length, 2, `only host-a's two reservations: ${subnets}`);
  });

  it('IPv6-only nodes register with a v6 podCIDR; v4-only records of the current version read beside them', async function () {
    const six = member({ name: 'host-6', nodeIP: 'fd70::6' }, { allocation: { clusterCIDR: 'fd44::/48' } });
    const me = await six.start();
    assert.match(me.podCIDR, /^fd44:0:0:[0-9a-f]+::\/64$/);
    assert.equal(me.podCIDRs, undefined);
    assert.equal(me.vtepMac, undefined);
    assert.equal(me.vtepMac6, '0e:6f:00:00:00:06');
    // A dual-stack peer and an old-style v4-only record (as this version's agents write it).
    const dual = member({ name: 'host-d', ...dualIPs(4) }, { allocation });
    const d = await dual.start();
    // host-d's IPv4 subnet is drawn at random from 10.244.0.0/16; one run in 256 it was the old
    // record's, which then overlapped this host's and was rightly skipped: take another then.
    const oldCIDR = ['10.244.99.0/24', '10.244.98.0/24'].find((c) => !d.podCIDRs.includes(c));
    await publishRecord(raw, prefix, { name: 'host-old', nodeIP: '10.70.0.9', podCIDR: oldCIDR, vtepMac: '0e:6e:0a:46:00:09', mode: 'vxlan' });
    await waitFor(() => dual.nodes().length === 3, 5000, () => `3 nodes (host-d sees ${JSON.stringify(dual.nodes().map((n) => n.name))})`);
    const old = dual.nodes().find((n) => n.name === 'host-old');
    assert.deepEqual([old.nodeIP, old.podCIDR, old.nodeIPs, old.podCIDRs], ['10.70.0.9', oldCIDR, undefined, undefined]);
  });

  it('bad dual-stack options: typed errors naming the field, nothing written', async function () {
    const bad = (self, extra) => assert.throws(() => member({ name: 'x', ...self }, extra), ValidationError);
    const msg = (self, extra) => {
      try {
        member({ name: 'x', ...self }, extra);
      } catch (e) {
        return e.message;
      }
      return '';
    };
    bad({ nodeIP: '::ffff:10.0.0.1', podCIDR: '10.244.1.0/24' });
    assert.match(msg({ nodeIP: '10.0.0.1', nodeIPs: ['10.0.0.1', '10.0.0.2'], podCIDR: '10.244.1.0/24' }), /self\.nodeIPs\[1\]: a second IPv4 entry/);
    assert.match(msg({ nodeIP: '10.0.0.1', podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd44::/40'] }), /self\.podCIDRs\[1\].*\/48\.\.\/120/);
    assert.match(msg({ nodeIP: '10.0.0.1' }, { allocation: { clusterCIDR: '10.244.0.0/16', clusterCIDR6: '10.245.0.0/16' } }), /allocation\.clusterCIDR6/);
    assert.match(msg({ nodeIP: '10.0.0.1' }, { allocation: { clusterCIDR6: 'fd44::/48', subnetLength6: 40 } }), /allocation\.subnetLength/);
    assert.equal((await raw.getAll().prefix(prefix).keys()).length, 0);
  });
});
