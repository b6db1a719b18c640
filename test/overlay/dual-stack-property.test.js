'use strict';
// Property: for IPv6-only and dual-stack overlays (random clusters, random modes), the
// Reconciler's no-op and single-change properties hold whatever notation the IPv6 addresses of
// the desired state are written in (compressed, expanded, upper case, embedded IPv4): after a
// converging apply, the same state in another notation plans nothing and sends nothing, and one
// changed IPv6 route is one op and one request. On the real kernel, in a namespace of its own.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { Rtnl, Reconciler, overlay } = require('../../dist');
const { kernelDescribe, makeNetns, removeNetns } = require('../support/kernel');

const NOTATIONS = ['compressed', 'expanded', 'upper', 'embedded-v4'];

/** The 16 bytes of a canonical IPv6 text. */
function bytesOf(text) {
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => parseInt(g, 16));
}

/** One IPv6 address (canonical text) in a notation. */
function write6(text, notation) {
  const g = bytesOf(text);
  switch (notation) {
    case 'expanded':
      return g.map((x) => x.toString(16).padStart(4, '0')).join(':');
    case 'upper':
      return text.toUpperCase();
    case 'embedded-v4':
      return `${g.slice(0, 6).map((x) => x.toString(16)).join(':')}:${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`;
    default:
      return text;
  }
}

/** An address or prefix string in a notation (IPv4 ones as they are). */
function rewrite(v, notation) {
  if (typeof v !== 'string' || !v.includes(':') || /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v)) return v; // not IPv6 (or a MAC)
  const [a, len] = v.split('/');
  return len !== undefined ? `${write6(a, notation)}/${len}` : write6(a, notation);
}

/** A DesiredState with every IPv6 address and prefix written in a notation (picked per field). */
function inNotation(state, pick) {
  const fields = ['address', 'local', 'dst', 'via', 'ip', 'prefsrc'];
  const out = {};
  for (const [kind, list] of Object.entries(state)) {
    out[kind] = list.map((o) => {
      const c = { ...o };
      for (const f of fields) if (f in c) c[f] = rewrite(c[f], pick());
      return c;
    });
  }
  return out;
}

/** A random cluster: this host (dual stack) and 1..5 peers, each IPv6-only or dual stack. */
const clusterArb = fc.record({
  mode: fc.constantFrom('host-gw', 'vxlan', 'hybrid'),
  peers: fc.array(fc.constantFrom('v6', 'dual'), { minLength: 1, maxLength: 5 }),
  selfStack: fc.constantFrom('v6', 'dual'),
  notations: fc.array(fc.constantFrom(...NOTATIONS), { minLength: 8, maxLength: 8 }),
  changed: fc.nat(),
});

function nodesOf(c) {
  const node = (i, stack) => {
    const v4 = { ip: `10.57.4.${20 + i}`, cidr: `192.168.${10 + i}.0/24` };
    const v6 = { ip: `fd57:4::${(0x20 + i).toString(16)}`, cidr: `fd10:0:0:${(10 + i).toString(16)}::/64` };
    return stack === 'v6'
      ? { name: `host${i}`, nodeIP: v6.ip, podCIDR: v6.cidr }
      : { name: `host${i}`, nodeIP: v4.ip, podCIDR: v4.cidr, nodeIPs: [v4.ip, v6.ip], podCIDRs: [v4.cidr, v6.cidr] };
  };
  return [node(0, c.selfStack), ...c.peers.map((s, i) => node(i + 1, s))];
}

kernelDescribe('overlay: the reconciler\'s no-op and single-change properties for IPv6 and dual-stack state in every notation', function () {
  this.timeout(240000);
  let ns;
  let nl;

  before(async function () {
    ns = makeNetns('dsprop');
    nl = await Rtnl.open({ netns: ns });
    await nl.links.set('lo', { up: true });
    await nl.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth0p' }, up: true });
    await nl.links.set('eth0p', { up: true });
    await nl.addresses.add({ dev: 'eth0', address: '10.57.4.20/24' });
    await nl.addresses.add({ dev: 'eth0', address: 'fd57:4::20/64', nodad: true });
  });
  after(function () {
    nl?.close();
    if (ns) removeNetns(ns);
  });

  it('holds for random clusters, modes and notations', async function () {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(clusterArb, async (c) => {
        runs++;
        const r = new Reconciler(nl, { protocol: 77 });
        try {
          const nodes = nodesOf(c);
          const desired = overlay.desiredState({ mode: c.mode, self: 'host0', nodes, underlayDev: 'eth0', underlayMtu: 1500, underlaySubnets: c.selfStack === 'v6' ? ['fd57:4::/64'] : ['10.57.4.0/24', 'fd57:4::/64'] });
          const first = await r.apply(desired);
          assert.deepEqual(first.failed.map((f) => `${f.op.key}: ${f.error.message}`), []);
          assert.ok(first.converged, first.plan.text());
          let k = 0;
          const pick = () => c.notations[k++ % c.notations.length];
          const rewritten = inNotation(desired, pick);
          // No-op: the same state in other notations changes nothing and sends nothing.
          const before = nl.modifyingRequests();
          const again = await r.apply(rewritten);
          assert.equal(again.plan.ops.length, 0, `${JSON.stringify(rewritten.routes)}\n${again.plan.text()}`);
          assert.equal(nl.modifyingRequests() - before, 0);
          // Single change: one IPv6 route gets an MTU -> one update op, one request.
          const v6routes = rewritten.routes.map((x, i) => [x, i]).filter(([x]) => x.dst.includes(':'));
          if (v6routes.length) {
            const [, at] = v6routes[c.changed % v6routes.length];
            const changed = { ...rewritten, routes: rewritten.routes.map((x, i) => (i === at ? { ...x, mtu: 1400 } : x)) };
            const res = await r.apply(changed);
            assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind}`), ['update route'], res.plan.text());
            assert.equal(res.requests, 1);
          }
        } finally {
          // Leave nothing for the next run: an empty desired state removes what we own.
          await r.apply({ links: [], addresses: [], routes: [], fdb: [], neighbors: [] });
          await r.stop();
        }
      }),
      { numRuns: 12, seed: Number(process.env.FC_SEED) || undefined },
    );
    assert.equal(runs >= 12, true);
  });
});
