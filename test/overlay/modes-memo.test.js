'use strict';
// desiredState remembers each node's checks and specs by node object (an agent is given the
// whole list again at every membership change). Property: whatever happens to the list between
// calls (a node replaced, changed in place, renamed, made invalid, moved, the mode or its
// options changed), the result on the same objects is the result on fresh copies of them, and
// a bad list throws the same error. MembershipFeed's OverlayNodes: the same record gives the
// same node while it is unchanged, and a record changed in place a node as toOverlayNodes makes it.
const assert = require('node:assert/strict');
const { overlay } = require('../../dist');
const { OverlayNodes } = require('../../dist/membership/feed');
const { toOverlayNodes } = require('../../dist/membership/types');
const { seeded: rng } = require('../support/random');

function makeNode(i, k, dual) {
  const n = { name: `n${i}`, nodeIP: `10.1.${i}.${k}`, podCIDR: `10.${20 + i}.${k}.0/24` };
  if (dual) {
    n.nodeIPs = [n.nodeIP, `fd00::${i}:${k}`];
    n.podCIDRs = [n.podCIDR, `fd10:${i}:${k}::/64`];
  }
  return n;
}

/** desiredState's result, or its error's message. */
function outcome(config) {
  try {
    return { state: overlay.desiredState(config) };
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  }
}

describe('overlay: desiredState remembers nodes by object', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: 120 random steps give what fresh copies of the nodes give`, () => {
      const r = rng(seed);
      const pick = (xs) => xs[Math.floor(r() * xs.length)];
      const dual = seed % 2 === 0;
      let k = 1;
      const nodes = Array.from({ length: 24 }, (_, i) => makeNode(i, k++, dual));
      const config = { mode: 'vxlan', self: 'n0', underlayDev: 'eth0', underlaySubnets: ['10.1.0.0/20'], nexthops: seed % 3 === 0 };
      let invalid = 0;
      for (let step = 0; step < 120; step++) {
        const i = Math.floor(r() * nodes.length);
        const n = nodes[i];
        const what = pick(['replace', 'inPlaceIP', 'inPlaceIP6', 'inPlaceCIDR6', 'mac', 'rename', 'invalid', 'dupIP', 'move', 'mode', 'option', 'none']);
        switch (what) {
          case 'replace':
            nodes[i] = { ...makeNode(Number(n.name.slice(1)) || i, k++, dual), name: n.name };
            break;
          case 'inPlaceIP':
            n.nodeIP = `10.1.${i}.${k++}`;
            if (n.nodeIPs) n.nodeIPs[0] = n.nodeIP; // the same array, changed in place
            break;
          case 'inPlaceIP6':
            if (n.nodeIPs) n.nodeIPs[1] = `fd00::${i}:${k++}`;
            break;
          case 'inPlaceCIDR6':
            if (n.podCIDRs) n.podCIDRs[1] = `fd10:${i}:${k++}::/64`;
            break;
          case 'mac':
            if (n.vtepMac === undefined) n.vtepMac = `0e:aa:00:00:${(i & 255).toString(16).padStart(2, '0')}:${(k++ & 255).toString(16).padStart(2, '0')}`;
            else delete n.vtepMac;
            break;
          case 'rename':
            if (n.name !== 'n0') n.name = `m${k++}`;
            break;
          case 'invalid':
            n.nodeIP = '300.1.1.1';
            invalid++;
            break;
          case 'dupIP': {
            const other = nodes[(i + 1) % nodes.length];
            n.nodeIP = other.nodeIP;
            if (n.nodeIPs && other.nodeIPs) n.nodeIPs = [...other.nodeIPs];
            invalid++;
            break;
          }
          case 'move': {
            const j = Math.floor(r() * nodes.length);
            [nodes[i], nodes[j]] = [nodes[j], nodes[i]];
            break;
          }
          case 'mode':
            config.mode = pick(['vxlan', 'host-gw', 'hybrid']);
            break;
          case 'option':
            if (r() < 0.4) config.nexthops = !config.nexthops;
            else if (r() < 0.5) config.vxlanLearning = !config.vxlanLearning;
            else config.tunnelName = pick(['vxlan0', 'flannel.1']);
            break;
          default:
        }
        const same = outcome({ ...config, nodes: [...nodes] });
        const fresh = outcome({ ...config, nodes: structuredClone(nodes) });
        assert.deepEqual(same, fresh, `seed ${seed} step ${step} (${what})`);
        // The same list again: remembered throughout, and still the same.
        assert.deepEqual(outcome({ ...config, nodes: [...nodes] }), fresh, `seed ${seed} step ${step} (${what}), again`);
        if (same.error) {
          // Repair: fresh valid nodes for every one (the remembered ones stay remembered).
          for (let x = 0; x < nodes.length; x++) nodes[x] = { ...makeNode(x, k++, dual), name: nodes[x].name };
        }
      }
      assert.ok(invalid > 0, 'some steps made the list invalid');
    });
  }

  it('a remembered node keeps its spec objects while nothing about it changes, and gets new ones when something does', () => {
    const nodes = Array.from({ length: 4 }, (_, i) => makeNode(i, 1, false));
    const config = { mode: 'vxlan', self: 'n0', underlayDev: 'eth0', nodes };
    const a = overlay.desiredState(config);
    const b = overlay.desiredState({ ...config, nodes: [...nodes] });
    assert.equal(b.routes[0], a.routes[0]);
    assert.equal(b.fdb[2], a.fdb[2]);
    nodes[1].nodeIP = '10.1.1.9';
    const c = overlay.desiredState({ ...config, nodes: [...nodes] });
    assert.notEqual(c.fdb[0], a.fdb[0]);
    assert.equal(c.fdb[0].dst, '10.1.1.9');
    assert.equal(c.fdb[1], a.fdb[1]);
    // With nexthops, a node's name is in its specs: renamed in place, its specs are made again.
    const d = overlay.desiredState({ ...config, nodes: [...nodes], nexthops: true });
    nodes[2].name = 'renamed';
    const e = overlay.desiredState({ ...config, nodes: [...nodes], nexthops: true });
    assert.deepEqual(e, overlay.desiredState({ ...config, nodes: structuredClone(nodes), nexthops: true }));
    assert.equal(e.fdb[1].nexthop, 'vtep/renamed/group');
    assert.notEqual(e.fdb[1], d.fdb[1]);
  });

  it('dual-stack pods over one underlay: one FDB entry per remote node, also from remembered nodes', () => {
    const nodes = Array.from({ length: 3 }, (_, i) => ({ name: `n${i}`, nodeIP: `10.1.0.${i + 1}`, podCIDR: `10.2.${i}.0/24`, podCIDRs: [`10.2.${i}.0/24`, `fd10:${i}::/64`] }));
    const config = { mode: 'vxlan', self: 'n0', underlayDev: 'eth0' };
    for (let k = 0; k < 2; k++) {
      const s = overlay.desiredState({ ...config, nodes: [...nodes] });
      assert.deepEqual(s.fdb.map((f) => f.dst), ['10.1.0.2', '10.1.0.3']);
      assert.equal(s.routes.length, 4);
      assert.equal(s.neighbors.length, 4);
    }
  });
});

/** A second instance of the overlay's module, with its own memo and cross-node index: given fresh
 * copies of more nodes than the index updates (256), it checks every list in full. */
function freshModes() {
  const file = require.resolve('../../dist/overlay/modes');
  const saved = require.cache[file];
  delete require.cache[file];
  try {
    return require(file);
  } finally {
    require.cache[file] = saved;
  }
}

describe('overlay: the checks across nodes kept between lists (cross.ts)', () => {
  /** Node number k (distinct addresses and subnets for k < 16,384), single or dual stack. */
  const mk = (name, k, dual) => {
    const n = { name, nodeIP: `10.1.${(k >> 8) & 255}.${k & 255}`, podCIDR: `10.${64 + ((k >> 8) & 63)}.${k & 255}.0/24` };
    if (dual) {
      n.nodeIPs = [n.nodeIP, `fd00::${k.toString(16)}`];
      n.podCIDRs = [n.podCIDR, `fd10:${k.toString(16)}::/64`];
    }
    return n;
  };
  /** n with IPv4 node IP and pod subnet set (both fields, as a record gives them). */
  const withV4 = (n, ip, cidr) => ({ ...n, nodeIP: ip, podCIDR: cidr, ...(n.nodeIPs ? { nodeIPs: [ip, n.nodeIPs[1]], podCIDRs: [cidr, n.podCIDRs[1]] } : {}) });

  for (const seed of [11, 12, 13]) {
    it(`seed ${seed}: 150 lists with a few nodes changed each check as a full check of fresh copies does`, () => {
      const r = rng(seed);
      const oracle = freshModes();
      const dual = seed % 2 === 0;
      let k = 1;
      let nodes = Array.from({ length: 300 }, (_, i) => mk(`n${i}`, k++, dual));
      const config = { mode: 'vxlan', self: 'n0', underlayDev: 'eth0' };
      const seen = { error: 0, state: 0 };
      for (let step = 0; step < 150; step++) {
        nodes = [...nodes];
        for (let c = 1 + Math.floor(r() * 3); c > 0; c--) {
          const i = 1 + Math.floor(r() * (nodes.length - 1));
          const n = nodes[i];
          const other = nodes[Math.floor(r() * nodes.length)];
          const what = Math.floor(r() * 12);
          if (what < 2) nodes[i] = withV4(n, mk('', k++, false).nodeIP, n.podCIDR); // a new node IP (a new object, as the feed makes)
          else if (what < 4) nodes.splice(i, 1); // a node leaves
          else if (what < 6) nodes.splice(i, 0, mk(`j${k}`, k++, dual)); // a node joins, somewhere
          else if (what === 6) nodes[i] = withV4(n, other.nodeIP, n.podCIDR); // another node's IP
          else if (what === 7) nodes[i] = { ...n, name: other.name }; // another node's name
          else if (what === 8) nodes[i] = withV4(n, n.nodeIP, other.podCIDR.replace(/\.0\/24$/, '.128/25')); // inside another's subnet
          else if (what === 9) {
            // changed in place: the same object, a new subnet
            const cidr = mk('', k++, false).podCIDR;
            n.podCIDR = cidr;
            if (n.podCIDRs) n.podCIDRs[0] = cidr;
          } else if (what === 10) nodes.splice(i, 0, other); // the same node object twice
          else {
            nodes.splice(i, 1); // moved
            nodes.splice(1 + Math.floor(r() * (nodes.length - 1)), 0, n);
          }
        }
        const got = outcome({ ...config, nodes: [...nodes] });
        let want;
        try {
          want = { state: oracle.desiredState({ ...config, nodes: structuredClone(nodes) }) };
        } catch (e) {
          want = { error: `${e.name}: ${e.message}` };
        }
        assert.deepEqual(got, want, `seed ${seed} step ${step}`);
        seen[got.error ? 'error' : 'state']++;
        // Repair: drop the nodes the problems name, as an operator would, until the list passes.
        for (let e = got.error, tries = 0; e && tries < 10; tries++) {
          const bad = new Set([...e.matchAll(/nodes\[(\d+)\]/g)].map((m) => Number(m[1])).filter((x) => x > 0));
          nodes = nodes.filter((_, x) => !bad.has(x));
          e = outcome({ ...config, nodes: [...nodes] }).error;
        }
      }
      assert.ok(seen.error >= 10 && seen.state >= 40, JSON.stringify(seen));
    });
  }
});

describe('membership: OverlayNodes (the feed)', () => {
  it('gives the same node for an unchanged record, and what toOverlayNodes gives for a changed one', () => {
    const records = [
      { name: 'a', nodeIP: '10.0.0.1', podCIDR: '10.1.0.0/24', mode: 'vxlan' },
      { name: 'b', nodeIP: '10.0.0.2', podCIDR: '10.1.1.0/24', nodeIPs: ['10.0.0.2', 'fd00::2'], podCIDRs: ['10.1.1.0/24', 'fd10::/64'], vtepMac: '0e:00:00:00:00:02' },
    ];
    const on = new OverlayNodes();
    const first = on.of(records);
    assert.deepEqual(first, toOverlayNodes(records));
    const second = on.of([...records]);
    assert.equal(second[0], first[0]);
    assert.equal(second[1], first[1]);
    for (const change of [(x) => (x.nodeIP = '10.0.0.9'), (x) => (x.nodeIPs[1] = 'fd00::9'), (x) => delete x.vtepMac, (x) => (x.linkLocal6 = 'fe80::2'), (x) => (x.wireguard = { publicKey: 'x' }), (x) => (x.name = 'c')]) {
      const before = on.of(records);
      change(records[1]);
      const after = on.of(records);
      assert.notEqual(after[1], before[1]);
      assert.deepEqual(after, toOverlayNodes(records));
      assert.equal(after[0], first[0]);
    }
  });
});
