'use strict';
// The ownership promise for every kind (issue 16 item 1): a foreign object of every kind sits on
// every key the desired state names, on foreign links and on an underlay nobody owns. An apply
// and then 10 s of watch (resyncing every 500 ms) leave every one of them exactly as it was,
// report each as a conflict on every cycle, and write nothing but the reconciler's own objects.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { sleep } = require('../support/poll');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, ip, slow } = require('../support/kernel');

const MAC_A = '0a:58:c0:a8:0b:00';
const MAC_FOREIGN = '02:00:00:00:00:09';

/** The host: an underlay eth0, a hand-made vxlan0 (no alias) and a br0 another owner made,
 * each with foreign entries on the keys the desired state below names. */
function foreignHost(ns) {
  const bridge = (...args) => execFileSync('bridge', ['-n', ns, ...args]);
  ip(ns, 'link', 'set', 'lo', 'up');
  ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  ip(ns, 'addr', 'add', '10.57.4.20/24', 'brd', '+', 'dev', 'eth0');
  ip(ns, 'link', 'set', 'eth0', 'up');
  ip(ns, 'link', 'set', 'eth0p', 'up');
  // Links: one without an owner alias, one with another owner's.
  ip(ns, 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'local', '10.57.4.20', 'dev', 'eth0', 'nolearning');
  ip(ns, 'link', 'set', 'vxlan0', 'up');
  ip(ns, 'link', 'add', 'br0', 'type', 'bridge');
  ip(ns, 'link', 'set', 'br0', 'alias', 'someone-else');
  ip(ns, 'link', 'set', 'br0', 'up');
  // Addresses on the desired keys.
  ip(ns, 'addr', 'add', '192.168.10.0/32', 'dev', 'vxlan0');
  ip(ns, 'addr', 'add', '10.20.0.1/24', 'dev', 'br0');
  // Neighbours on the desired keys (other MACs).
  ip(ns, 'neigh', 'add', '192.168.11.0', 'lladdr', MAC_FOREIGN, 'dev', 'vxlan0', 'nud', 'permanent');
  ip(ns, 'neigh', 'add', '10.57.4.99', 'lladdr', MAC_FOREIGN, 'dev', 'eth0', 'nud', 'permanent');
  ip(ns, 'neigh', 'add', '10.20.0.9', 'lladdr', MAC_FOREIGN, 'dev', 'br0', 'nud', 'permanent');
  // FDB entries on the desired keys.
  bridge('fdb', 'append', MAC_A, 'dev', 'vxlan0', 'dst', '10.57.4.21');
  bridge('fdb', 'append', '00:00:00:00:00:00', 'dev', 'vxlan0', 'dst', '10.57.4.22');
  // Routes on the desired keys: through the foreign links and on the underlay, other protocols.
  ip(ns, 'route', 'add', '192.168.11.0/24', 'via', '192.168.11.0', 'dev', 'vxlan0', 'onlink', 'proto', 'static');
  ip(ns, 'route', 'add', '10.30.0.0/24', 'via', '10.20.0.9', 'dev', 'br0', 'proto', 'static');
  ip(ns, 'route', 'add', '10.40.0.0/24', 'via', '10.57.4.1', 'dev', 'eth0'); // proto boot
  ip(ns, 'route', 'add', '10.41.0.0/24', 'via', '10.57.4.1', 'dev', 'eth0', 'proto', '78');
}

/** A desired state whose every key the host above holds with a foreign object, plus objects of
 * the reconciler's own (own0 and what is on it) so that it has real work to do alongside. */
function desired() {
  return {
    links: [
      { kind: 'vxlan', name: 'vxlan0', vni: 200, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, up: true },
      { kind: 'bridge', name: 'br0', mtu: 1400, up: true },
      { kind: 'bridge', name: 'own0', up: true },
    ],
    addresses: [
      { dev: 'vxlan0', address: '192.168.10.0/32' },
      { dev: 'br0', address: '10.20.0.1/24' },
      { dev: 'eth0', address: '10.57.4.20/24', broadcast: '10.57.4.200' },
      { dev: 'own0', address: '10.50.0.1/24' },
    ],
    neighbors: [
      { dev: 'vxlan0', ip: '192.168.11.0', lladdr: MAC_A },
      { dev: 'eth0', ip: '10.57.4.99', lladdr: MAC_A },
      { dev: 'br0', ip: '10.20.0.9', lladdr: MAC_A },
      { dev: 'own0', ip: '10.50.0.9', lladdr: MAC_A },
    ],
    fdb: [
      { dev: 'vxlan0', mac: MAC_A, dst: '10.57.4.21' },
      { dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: '10.57.4.22' },
    ],
    routes: [
      { dst: '192.168.11.0/24', via: '192.168.11.0', dev: 'vxlan0', onlink: true },
      { dst: '10.30.0.0/24', via: '10.20.0.1', dev: 'br0' },
      { dst: '10.40.0.0/24', via: '10.57.4.2', dev: 'eth0' },
      { dst: '10.41.0.0/24', via: '10.57.4.2', dev: 'eth0' },
      { dst: '10.51.0.0/24', via: '10.50.0.9', dev: 'own0' },
    ],
  };
}

/** The desired keys held by foreign objects, as the conflicts name them. */
const FOREIGN_KEYS = [
  'link vxlan0',
  'link br0',
  'address vxlan0 192.168.10.0/32',
  'address br0 10.20.0.1/24',
  'address eth0 10.57.4.20/24',
  'neighbor vxlan0 192.168.11.0',
  'neighbor eth0 10.57.4.99',
  'neighbor br0 10.20.0.9',
  `fdb vxlan0 ${MAC_A} dst 10.57.4.21`,
  'fdb vxlan0 00:00:00:00:00:00 dst 10.57.4.22',
  'route 192.168.11.0/24 table 254',
  'route 10.30.0.0/24 table 254',
  'route 10.40.0.0/24 table 254',
  'route 10.41.0.0/24 table 254',
].sort();

/** Everything but the reconciler's own objects (own0, what is on it, its routes), as iproute2
 * sees it; without what the kernel changes by itself (IPv6 DAD, timers, statistics). */
function foreignState(ns) {
  const notOwn = (text) =>
    text
      .split('\n')
      .filter((l) => l && !/own0|10\.50\.0\.|10\.51\.0\.0|fe80::|ff0[0-9a-f]:/.test(l))
      .join('\n');
  const links = JSON.parse(ip(ns, '-j', '-d', 'link', 'show'))
    .filter((l) => l.ifname !== 'own0')
    .map((l) => ({ index: l.ifindex, name: l.ifname, mtu: l.mtu, alias: l.ifalias, flags: l.flags, master: l.master, info: l.linkinfo && l.linkinfo.info_data && JSON.stringify({ ...l.linkinfo.info_data, ...{ hello_timer: 0, tcn_timer: 0, topology_change_timer: 0, gc_timer: 0 } }) }));
  return {
    links,
    addr: notOwn(ip(ns, '-4', 'addr', 'show').replace(/\n\s+valid_lft.*/g, '')),
    routes: notOwn(ip(ns, 'route', 'show', 'table', 'all')),
    neigh: notOwn(ip(ns, '-4', 'neigh', 'show', 'nud', 'permanent')),
    fdb: notOwn(execFileSync('bridge', ['-n', ns, 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' })),
  };
}

function conflictKeys(conflicts) {
  return [...new Set(conflicts.map((c) => `${c.kind} ${c.key}`))].sort();
}

kernelDescribe('reliability: a foreign object of every kind on every desired key', function () {
  this.timeout(60000 * slow);
  const ns = netnsPerTest('foreign');
  let nl;
  let r;
  afterEach(async function () {
    if (r) await r.stop();
    if (nl) nl.close();
    r = nl = undefined;
  });

  it('each is untouched after apply and after 10 s of watch; each is a conflict on every cycle; only own objects are written', async function () {
    foreignHost(ns());
    const before = foreignState(ns());
    nl = await Rtnl.open({ netns: ns() });
    r = new Reconciler(nl);

    const res = await r.apply(desired());
    assert.deepEqual(conflictKeys(res.plan.conflicts), FOREIGN_KEYS, res.plan.text());
    assert.equal(res.converged, false);
    assert.deepEqual(res.failed.map((f) => `${f.op.key}: ${f.error.message}`), []);
    // Only own0 and what is on it was written.
    assert.deepEqual(res.applied.map((o) => `${o.action} ${o.kind} ${o.key}`).sort(), [
      'create address own0 10.50.0.1/24',
      'create link own0',
      'create neighbor own0 10.50.0.9',
      'create route 10.51.0.0/24 table 254',
    ]);
    assert.match(res.plan.text(), /^! +link vxlan0: conflict, held by a link without an owner alias/m);
    assert.match(res.plan.text(), /^! +link br0: conflict, held by a link with alias "someone-else"/m);
    assert.deepEqual(foreignState(ns()), before);
    assert.match(ip(ns(), 'route', 'show', '10.51.0.0/24'), /via 10\.50\.0\.9 dev own0 proto 77/);

    // 10 s of watch, resyncing every 500 ms: every cycle finds the same conflicts and writes nothing.
    const cycles = [];
    const drift = [];
    r.on('plan', (p) => cycles.push(conflictKeys(p.conflicts)));
    r.on('drift', (ops) => drift.push(...ops.map((o) => `${o.action} ${o.kind} ${o.key}`)));
    const writes = nl.modifyingRequests();
    r.watch(desired(), { debounceMs: 20, resyncIntervalMs: 500, minBackoffMs: 100, maxBackoffMs: 500 });
    await sleep(10000);
    await r.stop();
    assert.deepEqual(drift, []);
    assert.equal(nl.modifyingRequests() - writes, 0);
    assert.ok(cycles.length >= 10, `${cycles.length} cycles in 10 s`);
    for (const c of cycles) assert.deepEqual(c, FOREIGN_KEYS);
    assert.deepEqual(foreignState(ns()), before);
    // The reconciler's own objects are there and stay its own.
    assert.equal(JSON.parse(ip(ns(), '-j', 'link', 'show', 'own0'))[0].ifalias, 'netlink-agent');
    assert.match(ip(ns(), 'neigh', 'show', 'dev', 'own0'), new RegExp(`10\\.50\\.0\\.9 lladdr ${MAC_A} PERMANENT`));
  });
});
