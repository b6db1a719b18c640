'use strict';
const assert = require('node:assert/strict');
const { pollUntil } = require('../support/poll');
const { Rtnl, ValidationError } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { kernelDescribe, netnsPerTest, ip, ipJson, hostLike } = require('../support/kernel');

const PROTO = 77;

/** The seed's flannel-style vxlan host1 state, with n remote nodes. */
function vxlanState(n = 2, vni = 100) {
  const s = {
    links: [{ kind: 'vxlan', name: 'vxlan0', vni, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, mtu: 1450, up: true }],
    addresses: [{ dev: 'vxlan0', address: '192.168.10.0/32' }],
    fdb: [],
    neighbors: [],
    routes: [],
  };
  for (let i = 1; i <= n; i++) {
    const mac = `0a:58:c0:a8:${(10 + i).toString(16).padStart(2, '0')}:00`;
    s.fdb.push({ dev: 'vxlan0', mac, dst: `10.57.4.${20 + i}` });
    s.neighbors.push({ dev: 'vxlan0', ip: `192.168.${10 + i}.0`, lladdr: mac });
    s.routes.push({ dst: `192.168.${10 + i}.0/24`, via: `192.168.${10 + i}.0`, dev: 'vxlan0', onlink: true });
  }
  return s;
}

/** Everything a desired state could change, minus what the kernel changes on its own
 * meanwhile (IPv6 duplicate address detection adds multicast neighbours and flips flags). */
function snapshot(ns) {
  return {
    links: ip(ns, '-d', 'link', 'show'),
    addr: ip(ns, '-4', 'addr', 'show'),
    // Not the link-local routes: the kernel adds `local fe80::...` when DAD ends, which under
    // the VM lane's TCG can fall in the middle of a test.
    routes: ip(ns, 'route', 'show', 'table', 'all').split('\n').filter((l) => !l.includes('fe80::')).join('\n'),
    neigh: ip(ns, '-4', 'neigh', 'show', 'nud', 'all'),
    fdb: require('node:child_process').execFileSync('ip', ['netns', 'exec', ns, 'bridge', 'fdb', 'show'], { encoding: 'utf8' }),
  };
}

kernelDescribe('reconcile: Reconciler on the real kernel', function () {
  const ns = netnsPerTest('rec');
  let nl;
  let r;
  beforeEach(async function () {
    hostLike(ns());
    nl = await Rtnl.open({ netns: ns() });
    r = new Reconciler(nl, { protocol: PROTO });
  });
  afterEach(async function () {
    if (r) await r.stop();
    if (nl) nl.close();
  });

  it('empty -> desired, then a second apply is a no-op with zero modifying requests', async function () {
    const desired = vxlanState(2);
    const first = await r.apply(desired);
    assert.deepEqual(first.failed.map((f) => f.error.message), []);
    assert.ok(first.converged);
    assert.equal(first.plan.ops.filter((o) => o.action === 'create').length, 1 + 1 + 2 + 2 + 2);
    const link = ipJson(ns(), '-d', 'link', 'show', 'vxlan0')[0];
    assert.equal(link.linkinfo.info_data.id, 100);
    assert.equal(link.linkinfo.info_data.learning, false);
    assert.equal(link.mtu, 1450);
    const routes = ipJson(ns(), 'route', 'show', 'proto', String(PROTO));
    assert.deepEqual(routes.map((x) => x.dst).sort(), ['192.168.11.0/24', '192.168.12.0/24']);
    const before = nl.modifyingRequests();
    const second = await r.apply(desired);
    assert.equal(second.plan.ops.length, 0, second.plan.text());
    assert.equal(nl.modifyingRequests() - before, 0);
    assert.equal(second.requests, 0);
    assert.ok(second.converged);
  });

  it('one changed route -> exactly one op and one request; removing from desired -> deleted', async function () {
    const desired = vxlanState(3);
    await r.apply(desired);
    const changed = vxlanState(3);
    changed.routes[1] = { ...changed.routes[1], mtu: 1400 };
    const plan = await r.plan(changed);
    assert.equal(plan.ops.length, 1, plan.text());
    assert.equal(plan.ops[0].action, 'update');
    assert.match(plan.ops[0].reason, /mtu/);
    const res = await r.apply(changed);
    assert.equal(res.requests, 1);
    assert.match(ip(ns(), 'route', 'show', '192.168.12.0/24'), /mtu 1400/);

    const smaller = vxlanState(3);
    smaller.routes.splice(2, 1);
    smaller.routes[1] = changed.routes[1];
    const del = await r.apply(smaller);
    assert.deepEqual(del.plan.ops.map((o) => `${o.action} ${o.kind}`), ['delete route']);
    assert.equal(ip(ns(), 'route', 'show', '192.168.13.0/24').trim(), '');
  });

  it('never touches foreign routes, FDB or neighbour entries', async function () {
    await r.apply(vxlanState(1));
    // Foreign: other protocol, other table, same prefix with another metric; fdb/neigh on an unmanaged link.
    ip(ns(), 'route', 'add', '10.99.0.0/16', 'via', '10.57.4.1', 'dev', 'eth0', 'proto', 'static');
    ip(ns(), 'route', 'add', '192.168.11.0/24', 'via', '10.57.4.21', 'dev', 'eth0', 'table', '100', 'proto', String(PROTO + 1));
    ip(ns(), 'route', 'add', '192.168.11.0/24', 'via', '10.57.4.21', 'dev', 'eth0', 'metric', '50', 'proto', 'static');
    ip(ns(), 'neigh', 'add', '10.57.4.99', 'lladdr', '02:00:00:00:00:99', 'dev', 'eth0', 'nud', 'permanent');
    const before = snapshot(ns());
    const res = await r.apply({ links: vxlanState(1).links, routes: [] , addresses: vxlanState(1).addresses, fdb: vxlanState(1).fdb, neighbors: vxlanState(1).neighbors });
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}`), ['delete route 192.168.11.0/24 table 254']);
    const after = snapshot(ns());
    assert.match(after.routes, /10\.99\.0\.0\/16 via 10\.57\.4\.1 dev eth0 proto static/);
    assert.match(after.routes, /192\.168\.11\.0\/24 via 10\.57\.4\.21 dev eth0 table 100/);
    assert.match(after.routes, /192\.168\.11\.0\/24 via 10\.57\.4\.21 dev eth0 proto static metric 50/);
    assert.match(after.neigh, /10\.57\.4\.99 dev eth0 lladdr 02:00:00:00:00:99 PERMANENT/);
    assert.equal(after.addr, before.addr);
  });

  it('a foreign route on a desired key is a conflict: reported, left alone', async function () {
    ip(ns(), 'route', 'add', '192.168.20.0/24', 'via', '10.57.4.30', 'dev', 'eth0', 'onlink', 'proto', 'static');
    const conflicts = [];
    r.on('conflict', (c) => conflicts.push(c));
    const res = await r.apply({ routes: [{ dst: '192.168.20.0/24', via: '10.57.4.21', dev: 'eth0', onlink: true }] });
    assert.equal(conflicts.length, 1);
    assert.match(conflicts[0].reason, /protocol 4/);
    assert.equal(res.converged, false);
    assert.equal(res.requests, 0);
    assert.match(res.plan.text(), /! +route 192\.168\.20\.0\/24 table 254: conflict/);
    assert.match(ip(ns(), 'route', 'show', '192.168.20.0/24'), /via 10\.57\.4\.30 .*proto static/);
    // Opting in adopts it.
    const adopting = new Reconciler(nl, { protocol: PROTO, adoptConflicts: true });
    const res2 = await adopting.apply({ routes: [{ dst: '192.168.20.0/24', via: '10.57.4.21', dev: 'eth0', onlink: true }] });
    assert.ok(res2.converged);
    assert.match(ip(ns(), 'route', 'show', '192.168.20.0/24'), new RegExp(`via 10\\.57\\.4\\.21 dev eth0 proto ${PROTO}`));
  });

  it('a vxlan VNI change is planned as recreate, done, and what sat on the device comes back', async function () {
    await r.apply(vxlanState(1, 100));
    const plan = await r.plan(vxlanState(1, 200));
    const link = plan.ops.find((o) => o.kind === 'link');
    assert.equal(link.action, 'recreate', plan.text());
    assert.match(link.reason, /vni 100 -> 200/);
    const res = await r.apply(vxlanState(1, 200));
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    assert.equal(ipJson(ns(), '-d', 'link', 'show', 'vxlan0')[0].linkinfo.info_data.id, 200);
    assert.match(ip(ns(), 'route', 'show', '192.168.11.0/24'), /dev vxlan0/);
    assert.match(ip(ns(), 'neigh', 'show', 'dev', 'vxlan0'), /192\.168\.11\.0 lladdr 0a:58:c0:a8:0b:00 PERMANENT/);
    assert.equal((await r.plan(vxlanState(1, 200))).ops.length, 0);
  });

  it('watch repairs an externally deleted owned route within 1 s', async function () {
    const desired = vxlanState(2);
    await r.apply(desired);
    const converged = new Promise((resolve) => r.once('converged', resolve));
    r.watch(desired, { debounceMs: 20, resyncIntervalMs: 60_000 });
    await converged;
    const drift = new Promise((resolve) => r.once('drift', resolve));
    const t0 = Date.now();
    ip(ns(), 'route', 'del', '192.168.12.0/24');
    const ops = await drift;
    assert.deepEqual(ops.map((o) => `${o.action} ${o.kind}`), ['create route']);
    await pollUntil(() => ip(ns(), 'route', 'show', '192.168.12.0/24').includes('vxlan0'), { ms: 1000 - (Date.now() - t0), every: 10, what: 'the repair of the deleted route' });
  });

  it('renders a plan like terraform', async function () {
    const plan = await r.plan(vxlanState(1));
    assert.equal(
      plan.text(),
      [
        '+   link vxlan0: missing (vxlan vni 100 port 4789)',
        '+   address vxlan0 192.168.10.0/32: missing',
        '+   neighbor vxlan0 192.168.11.0: missing',
        '+   fdb vxlan0 0a:58:c0:a8:0b:00 dst 10.57.4.21: missing',
        '+   route 192.168.11.0/24 table 254: missing',
        'Plan: 5 to create, 0 to update, 0 to recreate, 0 to delete.',
      ].join('\n'),
    );
  });

  describe('validation: every bad desired state is one ValidationError and no change', function () {
    const good = () => vxlanState(1);
    const bad = {
      'not an object': () => 42,
      'unknown top-level key': () => ({ ...good(), rutes: [] }),
      'links not an array': () => ({ links: {} }),
      'vni 0': () => ({ links: [{ ...good().links[0], vni: 0 }] }),
      'vni too large': () => ({ links: [{ ...good().links[0], vni: 1 << 24 }] }),
      'port 0': () => ({ links: [{ ...good().links[0], port: 0 }] }),
      'port 70000': () => ({ links: [{ ...good().links[0], port: 70000 }] }),
      'name too long': () => ({ links: [{ ...good().links[0], name: 'a-very-long-interface-name' }] }),
      'name with slash': () => ({ links: [{ ...good().links[0], name: 'a/b' }] }),
      'bad local': () => ({ links: [{ ...good().links[0], local: '10.57.4.300' }] }),
      'mtu too small': () => ({ links: [{ ...good().links[0], mtu: 10 }] }),
      'bad MAC on link': () => ({ links: [{ ...good().links[0], address: 'zz:00:00:00:00:00' }] }),
      'unknown link kind': () => ({ links: [{ kind: 'gtp', name: 'gtp0' }] }),
      'duplicate link': () => ({ links: [good().links[0], good().links[0]] }),
      'address without prefix validity': () => ({ addresses: [{ dev: 'eth0', address: '192.168.10.0/33' }] }),
      'address not an IP': () => ({ addresses: [{ dev: 'eth0', address: 'hello/24' }] }),
      'duplicate address': () => ({ addresses: [{ dev: 'eth0', address: '10.1.0.1/32' }, { dev: 'eth0', address: '10.1.0.1/32' }] }),
      'route host bits': () => ({ routes: [{ dst: '192.168.11.1/24', via: '10.57.4.21', dev: 'eth0' }] }),
      'route bad dst': () => ({ routes: [{ dst: 'nowhere', via: '10.57.4.21', dev: 'eth0' }] }),
      'route family mismatch (v6 dst via v4 gateway)': () => ({ routes: [{ dst: 'fd11::/64', via: '10.57.4.21', dev: 'eth0' }] }),
      'route bad metric': () => ({ routes: [{ dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'eth0', metric: -1 }] }),
      'route duplicate key': () => ({ routes: [{ dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'eth0' }, { dst: '192.168.11.0/24', via: '10.57.4.22', dev: 'eth0' }] }),
      'route foreign protocol': () => ({ routes: [{ dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'eth0', protocol: 'static' }] }),
      'route unknown table': () => ({ routes: [{ dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'eth0', table: 'nosuch' }] }),
      'route device neither desired nor present': () => ({ routes: [{ dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'nosuch0' }] }),
      'address device neither desired nor present': () => ({ addresses: [{ dev: 'nosuch0', address: '10.1.0.1/32' }] }),
      'vxlan underlay neither desired nor present': () => ({ links: [{ ...good().links[0], dev: 'nosuch0' }] }),
      'fdb bad MAC': () => ({ fdb: [{ dev: 'eth0', mac: '00:11:22:33:44', dst: '10.57.4.21' }] }),
      'fdb bad dst': () => ({ fdb: [{ dev: 'eth0', mac: '00:11:22:33:44:55', dst: '10.57' }] }),
      'fdb vni out of range': () => ({ fdb: [{ dev: 'eth0', mac: '00:11:22:33:44:55', dst: '10.57.4.21', vni: 1 << 24 }] }),
      'fdb duplicate': () => ({ fdb: [{ dev: 'eth0', mac: '00:11:22:33:44:55', dst: '10.57.4.21' }, { dev: 'eth0', mac: '00:11:22:33:44:55', dst: '10.57.4.21' }] }),
      'neighbor bad ip': () => ({ neighbors: [{ dev: 'eth0', ip: '1.2.3', lladdr: '00:11:22:33:44:55' }] }),
      'neighbor bad lladdr': () => ({ neighbors: [{ dev: 'eth0', ip: '10.57.4.21', lladdr: 'nope' }] }),
      'neighbor duplicate': () => ({ neighbors: [{ dev: 'eth0', ip: '10.57.4.21', lladdr: '00:11:22:33:44:55' }, { dev: 'eth0', ip: '10.57.4.21', lladdr: '00:11:22:33:44:56' }] }),
    };
    it(`rejects ${Object.keys(bad).length} bad states, each with a ValidationError, sending nothing`, async function () {
      const before = snapshot(ns());
      const sent = nl.modifyingRequests();
      for (const [name, make] of Object.entries(bad)) {
        await assert.rejects(r.apply(make()), (e) => {
          assert.ok(e instanceof ValidationError, `${name}: ${e && e.stack}`);
          assert.ok(e.problems.length >= 1, name);
          return true;
        }, name);
      }
      assert.equal(nl.modifyingRequests(), sent, 'no modifying request was sent');
      assert.deepEqual(snapshot(ns()), before);
    });
    it('lists every problem of a state at once', async function () {
      await assert.rejects(
        r.plan({ links: [{ ...good().links[0], vni: 0, port: 0 }], routes: [{ dst: 'x', dev: 'eth0' }] }),
        (e) => e instanceof ValidationError && e.problems.length >= 3,
      );
    });
  });
});
