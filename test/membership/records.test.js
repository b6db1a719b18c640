'use strict';
// Node records: validation (like a desired state: every problem named) and screening against
// this host and earlier records. Pure functions, no kernel, no store.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { ValidationError } = require('../../dist');
const { validateNodeRecord, screenNodes, toOverlayNodes } = require('../../dist/membership');

const SELF = { name: 'h1', nodeIP: '10.0.0.1', podCIDR: '10.244.1.0/24', mode: 'vxlan' };
const cand = (value, source = `k/${value && value.name}`) => ({ source, value });

describe('membership: node records', function () {
  it('normalizes a valid record and keeps only the known fields', function () {
    const r = validateNodeRecord({ name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', vtepMac: '0E:6E:0A:00:00:02', mode: 'vxlan', version: '1.2.3', extra: 1 });
    assert.deepEqual(r, { name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', vtepMac: '0e:6e:0a:00:00:02', mode: 'vxlan', version: '1.2.3' });
  });

  it('names every problem of a bad record in one ValidationError', function () {
    assert.throws(
      () => validateNodeRecord({ name: 'bad name', nodeIP: '224.0.0.1', podCIDR: '10.244.2.0/4', vtepMac: 'ff:ff:ff:ff:ff:ff', mode: 'warp', version: 7 }),
      (e) => {
        assert.ok(e instanceof ValidationError);
        assert.deepEqual(e.problems.map((p) => p.path), ['node.name', 'node.nodeIP', 'node.podCIDR', 'node.vtepMac', 'node.mode', 'node.version']);
        return true;
      },
    );
    for (const bad of [null, [], 'x', 5]) assert.throws(() => validateNodeRecord(bad), ValidationError);
    assert.throws(() => validateNodeRecord({ name: 'h', nodeIP: '10.0.0.2', podCIDR: '10.0.0.0/31' }), /\/8\.\.\/30/);
    assert.throws(() => validateNodeRecord({ name: 'h', nodeIP: '127.0.0.5', podCIDR: '10.9.0.0/24' }), /not a unicast host address/);
    assert.throws(() => validateNodeRecord({ name: 'h', nodeIP: '10.0.0.2', podCIDR: '10.9.0.0/24', vtepMac: '00:00:00:00:00:00' }), /all-zero/);
  });

  it('screens: own record authoritative, collisions resolved first-come, cluster CIDR enforced', function () {
    const res = screenNodes(
      SELF,
      [
        cand({ name: 'h1', nodeIP: '10.0.0.1', podCIDR: '10.244.1.0/24' }), // our own, as published
        cand({ name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', mode: 'host-gw' }),
        cand({ name: 'h3', nodeIP: '10.0.0.3', podCIDR: '10.244.2.128/25' }), // overlaps h2
        cand({ name: 'h4', nodeIP: '10.0.0.4', podCIDR: '10.99.0.0/24' }), // outside the cluster
        cand({ name: 'h2', nodeIP: '10.0.0.5', podCIDR: '10.244.5.0/24' }), // name taken
        cand({ name: 'h6', nodeIP: '10.0.0.6', podCIDR: '10.244.6.0/24' }),
      ],
      { clusterCIDR: '10.244.0.0/16' },
    );
    assert.deepEqual(res.nodes.map((n) => n.name), ['h1', 'h2', 'h6']);
    assert.equal(res.nodes[0], SELF);
    assert.deepEqual(
      res.skipped.map((s) => [s.name, s.reason]),
      [
        ['h3', 'podCIDR 10.244.2.128/25 collides with node "h2" (registered earlier)'],
        ['h4', 'podCIDR 10.99.0.0/24 is outside the cluster CIDR 10.244.0.0/16'],
        ['h2', 'its name collides with node "h2" (registered earlier)'],
      ],
    );
    assert.deepEqual(res.warnings, ['node "h2" runs mode host-gw, this host runs vxlan']);
    assert.deepEqual(toOverlayNodes([{ ...SELF, vtepMac: '0e:6e:0a:00:00:01', version: 'x' }]), [{ name: 'h1', nodeIP: '10.0.0.1', podCIDR: '10.244.1.0/24', vtepMac: '0e:6e:0a:00:00:01' }]);
  });

  it('a copied VTEP MAC is skipped per record, never ours, and never blocks the others (issue 17 item 13)', function () {
    const selfMac = '0e:6e:0a:00:00:01'; // derived from SELF's nodeIP
    const res = screenNodes(
      { ...SELF, vtepMac: selfMac },
      [
        cand({ name: 'copycat', nodeIP: '10.0.0.9', podCIDR: '10.244.9.0/24', vtepMac: '0e:6e:0a:00:00:02' }), // h2's derived MAC, registered first
        cand({ name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', vtepMac: '0E:6E:0A:00:00:02' }),
        cand({ name: 'mine', nodeIP: '10.0.0.8', podCIDR: '10.244.8.0/24', vtepMac: selfMac }),
        cand({ name: 'implicit', nodeIP: '10.0.0.7', podCIDR: '10.244.7.0/24', vtepMac: '0e:6e:0a:00:00:03' }),
        cand({ name: 'h3', nodeIP: '10.0.0.3', podCIDR: '10.244.3.0/24' }), // derives ...:03, what "implicit" copied
        cand({ name: 'a1', nodeIP: '10.0.0.10', podCIDR: '10.244.10.0/24', vtepMac: '02:00:00:00:00:aa' }),
        cand({ name: 'a2', nodeIP: '10.0.0.11', podCIDR: '10.244.11.0/24', vtepMac: '02:00:00:00:00:AA' }), // same chosen MAC: first wins
        cand({ name: 'h4', nodeIP: '10.0.0.4', podCIDR: '10.244.4.0/24' }),
      ],
    );
    assert.deepEqual(res.nodes.map((n) => n.name), ['a1', 'h1', 'h2', 'h3', 'h4']);
    assert.deepEqual(
      res.skipped.map((s) => [s.name, s.reason]),
      [
        ['copycat', 'vtepMac 0e:6e:0a:00:00:02 belongs to node "h2" (derived from its nodeIP)'],
        ['mine', "vtepMac 0e:6e:0a:00:00:01 is this host's VTEP MAC"],
        ['implicit', 'vtepMac 0e:6e:0a:00:00:03 belongs to node "h3" (derived from its nodeIP)'],
        ['a2', 'vtepMac 02:00:00:00:00:aa collides with node "a1" (registered earlier)'],
      ],
    );
    // What the overlay gets has one MAC per node, and ours nowhere else.
    const macs = toOverlayNodes(res.nodes).map((n) => n.vtepMac ?? n.nodeIP);
    assert.equal(new Set(macs).size, macs.length);
  });

  it('peers\' podCIDRs: bounded by the cluster CIDR, never overlapping an underlay subnet or covering a node address (issue 17 item 16)', function () {
    const res = screenNodes(
      SELF,
      [
        cand({ name: 'wide', nodeIP: '10.0.0.2', podCIDR: '8.0.0.0/8' }),
        cand({ name: 'half', nodeIP: '10.0.0.3', podCIDR: '10.0.0.128/25' }), // no node address in it, but half the underlay
        cand({ name: 'covers', nodeIP: '10.0.0.4', podCIDR: '10.0.0.0/24' }),
        cand({ name: 'ok', nodeIP: '10.0.0.5', podCIDR: '10.244.5.0/24' }),
      ],
      { clusterCIDR: '10.244.0.0/16', protectedPrefixes: ['10.0.0.1/24', '192.168.200.7/16'] },
    );
    assert.deepEqual(res.nodes.map((n) => n.name), ['h1', 'ok']);
    assert.deepEqual(
      res.skipped.map((s) => [s.name, s.reason]),
      [
        ['wide', 'podCIDR 8.0.0.0/8 is outside the cluster CIDR 10.244.0.0/16'],
        ['half', 'podCIDR 10.0.0.128/25 is outside the cluster CIDR 10.244.0.0/16'],
        ['covers', "podCIDR 10.0.0.0/24 covers the node address 10.0.0.1 (this host's)"],
      ],
    );
    // Without a cluster bound, the underlay subnets still are.
    const open = screenNodes(SELF, [cand({ name: 'half', nodeIP: '10.0.0.3', podCIDR: '10.0.0.128/25' }), cand({ name: 'far', nodeIP: '10.0.0.6', podCIDR: '192.168.0.0/24' })], {
      protectedPrefixes: ['10.0.0.1/24', '192.168.200.7/16'],
    });
    assert.deepEqual(open.nodes.map((n) => n.name), ['h1']);
    assert.deepEqual(open.skipped.map((s) => s.reason), [
      'podCIDR 10.0.0.128/25 overlaps the underlay subnet 10.0.0.0/24 of this host',
      'podCIDR 192.168.0.0/24 overlaps the underlay subnet 192.168.0.0/16 of this host',
    ]);
  });

  it('reads only a record\'s own fields', function () {
    const rec = Object.assign(Object.create({ vtepMac: '0e:6e:0a:00:00:01' }), { name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24' });
    assert.deepEqual(validateNodeRecord(rec), { name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24' });
    assert.deepEqual(validateNodeRecord(JSON.parse('{"name":"h2","nodeIP":"10.0.0.2","podCIDR":"10.244.2.0/24","__proto__":{"vtepMac":"0e:6e:0a:00:00:01"}}')), {
      name: 'h2',
      nodeIP: '10.0.0.2',
      podCIDR: '10.244.2.0/24',
    });
  });

  it('property: whatever the records, the accepted ones never overlap, never share an address, and never cover a node address', function () {
    const octet = fc.integer({ min: 0, max: 255 });
    const record = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'h1', 'x-1'),
      nodeIP: fc.tuple(fc.constantFrom(10, 127, 224), octet, octet, octet).map((t) => t.join('.')),
      podCIDR: fc.tuple(fc.constantFrom(10, 192), octet, octet, fc.integer({ min: 6, max: 32 })).map(([a, b, c, l]) => `${a}.${b}.${c}.0/${l}`),
      vtepMac: fc.option(fc.constantFrom('0e:6e:0a:00:00:09', '0e:6e:0a:00:00:01', '0e:6e:0a:00:00:05', '02:00:00:00:00:01', '01:00:5e:00:00:01', 'nope'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(record, fc.anything()), { maxLength: 12 }), (values) => {
        const res = screenNodes(SELF, values.map((v, i) => ({ source: `#${i}`, value: v })));
        const ownEcho = values.filter((v) => {
          try {
            const r = validateNodeRecord(v);
            return r.name === 'h1' && r.nodeIP === SELF.nodeIP && r.podCIDR === SELF.podCIDR;
          } catch {
            return false;
          }
        }).length;
        // Every candidate is accounted for: accepted, skipped with a reason, or our own echo.
        assert.equal(res.nodes.length - 1 + res.skipped.length + ownEcho, values.length);
        const nets = res.nodes.map((n) => {
          const [a, l] = n.podCIDR.split('/');
          return { base: a.split('.').reduce((x, o) => x * 256 + Number(o), 0), len: Number(l), ip: n.nodeIP.split('.').reduce((x, o) => x * 256 + Number(o), 0) };
        });
        const inNet = (n, ip) => Math.floor(ip / 2 ** (32 - n.len)) === Math.floor(n.base / 2 ** (32 - n.len));
        for (let i = 0; i < nets.length; i++) {
          for (let j = 0; j < nets.length; j++) {
            assert.ok(!inNet(nets[i], nets[j].ip), 'a podCIDR covers a node address');
            if (i === j) continue;
            assert.notEqual(nets[i].ip, nets[j].ip);
            const len = Math.min(nets[i].len, nets[j].len);
            assert.ok(!inNet({ base: nets[i].base, len }, nets[j].base), 'podCIDRs overlap');
          }
        }
        assert.equal(new Set(res.nodes.map((n) => n.name)).size, res.nodes.length);
        // One VTEP MAC per node (given or derived from the nodeIP), ours included.
        const macs = res.nodes.map((n) => n.vtepMac ?? `0e:6e:${n.nodeIP.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join(':')}`);
        assert.equal(new Set(macs).size, macs.length, `VTEP MACs repeat: ${macs}`);
      }),
      { numRuns: 300 },
    );
  });
});
