'use strict';
// Convergence as a property: for random valid desired states (every object kind, fields in
// every notation the validator accepts: upper-case or dashed MACs, IPv6 written with zeros,
// table and scope names or numbers, bare host addresses), one apply converges and then the
// kernel IS the desired state as the reconciler sees it: the next plan is empty and another
// apply sends no modifying request. Drift here would be a watch that writes forever.
// CONVERGE_RUNS widens a run; FC_SEED / FC_PATH replay a failure.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { kernelDescribe, makeNetns, removeNetns, ip } = require('../support/kernel');

const PROTO = 77;
const RUNS = Number(process.env.CONVERGE_RUNS || 25);

// ------------------------------------------------------------------ notations

const hex2 = (n) => n.toString(16).padStart(2, '0');
/** A unicast MAC (first octet even, locally administered) in one of three notations. */
const macArb = fc
  .tuple(fc.array(fc.nat(255), { minLength: 5, maxLength: 5 }), fc.constantFrom('lower', 'upper', 'dash'))
  .map(([b, style]) => {
    const text = ['0a', ...b.map(hex2)].join(':');
    return style === 'upper' ? text.toUpperCase() : style === 'dash' ? text.replace(/:/g, '-') : text;
  });
/** fd00::<n> written short, with zeros spelled out, or in upper case. */
const v6 = (n, style) => {
  const tail = n.toString(16);
  if (style === 'zeros') return `fd00:0:0:0:0:0:0:${tail}`;
  if (style === 'upper') return `FD00::${tail.toUpperCase()}`;
  return `fd00::${tail}`;
};
const v6Style = fc.constantFrom('short', 'zeros', 'upper');

// ------------------------------------------------------------------ objects

const vxlanArb = fc.record(
  {
    vni: fc.integer({ min: 1, max: 0xffffff }),
    port: fc.constantFrom(4789, 8472),
    v6local: fc.boolean(),
    style: v6Style,
    learning: fc.boolean(),
    ttl: fc.integer({ min: 0, max: 255 }),
    ageing: fc.integer({ min: 10, max: 1000 }),
    address: macArb,
    mtu: fc.integer({ min: 1280, max: 1400 }),
    up: fc.boolean(),
  },
  { requiredKeys: ['vni', 'port', 'v6local', 'style'] },
);

const bridgeArb = fc.record({ stp: fc.boolean(), address: macArb, mtu: fc.integer({ min: 1280, max: 1500 }), up: fc.boolean() }, { requiredKeys: [] });

const routeArb = (i) =>
  fc.oneof(
    // the common shape, and bare host addresses
    fc.record({ bare: fc.boolean(), onlink: fc.boolean(), gw: fc.integer({ min: 1, max: 9 }) }).map(({ bare, onlink, gw }) => ({
      dst: bare ? `10.70.${i}.1` : `10.70.${i}.0/24`,
      via: `10.57.4.${gw}`,
      dev: 'eth0',
      ...(onlink ? { onlink: true } : {}),
    })),
    // other tables, metrics, names for numbers, metrics attributes
    fc
      .record({
        table: fc.constantFrom('main', 254, 100, 1000),
        metric: fc.integer({ min: 0, max: 5000 }),
        mtu: fc.integer({ min: 1280, max: 9000 }),
        advmss: fc.integer({ min: 500, max: 1400 }),
        prefsrc: fc.constant('10.57.4.20'),
        protocol: fc.constant(PROTO),
      }, { requiredKeys: ['table'] })
      .map((r) => ({ dst: `10.71.${i}.0/24`, via: '10.57.4.1', dev: 'eth0', ...r })),
    // reject types, with table names and scope given explicitly
    fc.record({ type: fc.constantFrom('blackhole', 'unreachable', 'prohibit'), table: fc.constantFrom('main', 200) }).map((r) => ({ dst: `10.72.${i}.0/24`, ...r })),
    // device routes with a scope by name or number
    fc.constantFrom('link', 253).map((scope) => ({ dst: `10.73.${i}.0/24`, dev: 'eth1', scope })),
    // multipath
    fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 })).map(([w1, w2]) => ({
      dst: `10.74.${i}.0/24`,
      nexthops: [
        { via: '10.57.4.1', dev: 'eth0', weight: w1 },
        { via: '10.57.4.2', dev: 'eth0', weight: w2 },
      ],
    })),
    // a gateway only (the kernel picks the device), a default route in another table,
    // nexthops marked onlink
    fc.constantFrom(
      { dst: `10.75.${i}.0/24`, via: '10.57.4.3' },
      { dst: 'default', via: '10.57.4.1', table: 300 + i },
      { dst: `10.76.${i}.0/24`, nexthops: [{ via: '10.99.0.1', dev: 'eth0', onlink: true }, { via: '10.99.0.2', dev: 'eth0', onlink: true, weight: 3 }] },
    ),
    // IPv6, gateway in any notation
    fc.tuple(v6Style, fc.boolean()).map(([style, metric]) => ({ dst: `fd7${i % 10}:${i}::/64`, via: v6(1, style), dev: 'eth0', ...(metric ? { metric: 300 } : {}) })),
  );

const stateArb = fc
  .record({
    vxlan: fc.option(vxlanArb, { nil: undefined }),
    bridge: fc.option(bridgeArb, { nil: undefined }),
    routes: fc.array(fc.nat(), { maxLength: 12 }).chain((ks) => fc.tuple(...ks.map((_, i) => routeArb(i)))),
    addr4: fc.option(fc.tuple(fc.integer({ min: 1, max: 250 }), fc.constantFrom(24, 32)), { nil: undefined }),
    addr6: fc.option(fc.tuple(v6Style, fc.boolean()), { nil: undefined }),
    fdb: fc.array(fc.tuple(macArb, fc.integer({ min: 30, max: 90 })), { maxLength: 4 }),
    neigh: fc.array(fc.tuple(macArb, fc.boolean(), v6Style), { maxLength: 4 }),
  })
  .map((g) => {
    const s = { links: [], addresses: [], routes: g.routes, fdb: [], neighbors: [] };
    if (g.vxlan) {
      const { v6local, style, ...rest } = g.vxlan;
      s.links.push({ kind: 'vxlan', name: 'vx0', dev: 'eth0', local: v6local ? v6(0x20, style) : '10.57.4.20', ...rest });
      // FDB entries and neighbours sit on the vxlan device (unique MACs: one remote per MAC).
      const macs = new Set();
      for (const [mac, host] of g.fdb) {
        const key = mac.toLowerCase().replace(/-/g, ':');
        if (macs.has(key)) continue;
        macs.add(key);
        s.fdb.push({ dev: 'vx0', mac, dst: v6local ? v6(host, style) : `10.57.4.${host}` });
      }
      g.neigh.forEach(([lladdr, six, nstyle], k) => s.neighbors.push({ dev: 'vx0', ip: six ? v6(0x100 + k, nstyle) : `192.168.${k}.1`, lladdr }));
    }
    if (g.bridge) {
      s.links.push({ kind: 'bridge', name: 'br0', ...g.bridge });
      // A port of it, named by master; the bridge is created in the same apply.
      s.links.push({ kind: 'veth', name: 'vb0', peer: { name: 'vb0p' }, master: 'br0', txqueuelen: 500, ...(g.bridge.address ? { address: g.bridge.address.replace(/^0a/i, '0e') } : {}) });
    }
    if (g.addr4) s.addresses.push({ dev: 'eth1', address: `10.80.0.${g.addr4[0]}/${g.addr4[1]}` });
    if (g.addr6) s.addresses.push({ dev: 'eth1', address: `${v6(0x30, g.addr6[0])}/128`, nodad: true, ...(g.addr6[1] ? { peer: v6(0x31, g.addr6[0]) } : {}) });
    return s;
  });

function underlay(ns) {
  ip(ns, 'link', 'set', 'lo', 'up');
  ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  ip(ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p');
  ip(ns, 'addr', 'add', '10.57.4.20/24', 'dev', 'eth0');
  ip(ns, '-6', 'addr', 'add', 'fd00::20/64', 'dev', 'eth0', 'nodad');
  for (const d of ['eth0', 'eth0p', 'eth1', 'eth1p']) ip(ns, 'link', 'set', d, 'up');
}

kernelDescribe('reconcile: convergence property (random desired states)', function () {
  this.timeout(300000);

  it(`${RUNS} random states in every notation: one apply converges, then the plan is empty and another apply writes nothing`, async function () {
    await fc.assert(
      fc.asyncProperty(stateArb, async (desired) => {
        const ns = makeNetns('conv');
        let nl;
        try {
          underlay(ns);
          nl = await Rtnl.open({ netns: ns });
          const r = new Reconciler(nl, { protocol: PROTO });
          const first = await r.apply(desired);
          assert.deepEqual(first.failed.map((f) => `${f.op.kind} ${f.op.key}: ${f.error.message}`), [], 'the first apply');
          assert.ok(first.converged);
          const plan = await r.plan(desired);
          assert.equal(plan.ops.length, 0, `drift after converging:\n${plan.text()}`);
          const again = await r.apply(desired);
          assert.equal(again.requests, 0);
        } finally {
          if (nl) nl.close();
          removeNetns(ns);
        }
      }),
      { numRuns: RUNS, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {}) },
    );
  });
});
