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

  it('property: whatever the records, the accepted ones never overlap, never share an address, and never cover a node address', function () {
    const octet = fc.integer({ min: 0, max: 255 });
    const record = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'h1', 'x-1'),
      nodeIP: fc.tuple(fc.constantFrom(10, 127, 224), octet, octet, octet).map((t) => t.join('.')),
      podCIDR: fc.tuple(fc.constantFrom(10, 192), octet, octet, fc.integer({ min: 6, max: 32 })).map(([a, b, c, l]) => `${a}.${b}.${c}.0/${l}`),
      vtepMac: fc.option(fc.constantFrom('0e:6e:0a:00:00:09', '01:00:5e:00:00:01', 'nope'), { nil: undefined }),
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
      }),
      { numRuns: 300 },
    );
  });
});
