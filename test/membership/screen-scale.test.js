'use strict';
// screenNodes at scale (issue 24): the accepted records are indexed, so a record is compared only
// with the ones it may collide with. A property test holds it to a plain pairwise oracle written
// here (the earliest accepted record that collides decides, as the records' order says), on
// random records crowded into small address spaces so collisions of every kind are common.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { screenNodes } = require('../../dist/membership');

const SELF = { name: 'self', nodeIP: '10.0.0.1', podCIDR: '10.250.0.0/24' };
const cand = (value) => ({ source: `k/${value.name}`, value });

const v4 = (s) => s.split('.').reduce((a, x) => a * 256 + Number(x), 0);
const net = (p) => {
  const [a, l] = p.split('/');
  const size = 2 ** (32 - Number(l));
  const start = Math.floor(v4(a) / size) * size;
  return [start, start + size - 1];
};
const meet = (x, y) => x[0] <= y[1] && y[0] <= x[1];
const inside = (ip, n) => ip >= n[0] && ip <= n[1];

/** The pairwise rule: does r collide with the earlier accepted a (the collisions screenNodes
 * checks between records, not those against this host or the cluster). */
function collides(r, a) {
  if (r.name === a.name || r.nodeIP === a.nodeIP) return true;
  const rn = net(r.podCIDR);
  const an = net(a.podCIDR);
  if (meet(rn, an) || inside(v4(a.nodeIP), rn) || inside(v4(r.nodeIP), an)) return true;
  return r.vtepMac !== undefined && r.vtepMac === a.vtepMac;
}

const record = fc.record({
  name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'),
  ip: fc.integer({ min: 2, max: 40 }),
  net: fc.integer({ min: 0, max: 63 }),
  len: fc.constantFrom(22, 23, 24, 24, 24, 25, 26),
  mac: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
});
const toRecord = (x) => {
  const len = x.len;
  const size = 2 ** (32 - len);
  const base = (v4('10.20.0.0') + Math.floor((x.net * 256) / size) * size) >>> 0;
  const text = [base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join('.');
  const r = { name: x.name, nodeIP: `10.0.1.${x.ip}`, podCIDR: `${text}/${len}` };
  if (x.mac !== undefined) r.vtepMac = `0e:00:00:00:00:0${x.mac}`;
  return r;
};

describe('membership: screening many records', function () {
  it('the indexed screening accepts and refuses exactly as comparing with every earlier record, and names the same earlier node', function () {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 60 }), (xs) => {
        const recs = xs.map(toRecord);
        const res = screenNodes(SELF, recs.map(cand));
        const accepted = [];
        const want = new Map(); // name -> reason prefix (first skipped record per name is enough)
        const skippedWant = [];
        for (const r of recs) {
          const first = accepted.find((a) => collides(r, a));
          if (first) skippedWant.push(`${r.name}: ${first.name}`);
          else accepted.push(r);
        }
        void want;
        const got = res.nodes.filter((n) => n.name !== 'self').map((n) => `${n.name} ${n.nodeIP} ${n.podCIDR}`).sort();
        assert.deepEqual(got, accepted.map((n) => `${n.name} ${n.nodeIP} ${n.podCIDR}`).sort());
        const named = res.skipped.map((s) => `${s.name}: ${/node "([^"]+)"/.exec(s.reason)?.[1]}`);
        assert.deepEqual(named, skippedWant);
      }),
      { numRuns: 400 },
    );
  });

  it('10,000 valid records are screened without comparing each with all (prints the time; no timing assert)', function () {
    const recs = [];
    for (let i = 0; i < 10000; i++) {
      recs.push(cand({ name: `n${i}`, nodeIP: `10.1.${i >> 8}.${(i & 255) + 0}`, podCIDR: `10.${100 + (i >> 8)}.${i & 255}.0/24` }));
    }
    const t0 = process.hrtime.bigint();
    const res = screenNodes({ name: 'self', nodeIP: '10.0.0.1', podCIDR: '10.99.0.0/24' }, recs);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(res.nodes.length, 10001, JSON.stringify(res.skipped.slice(0, 3)));
    const t1 = process.hrtime.bigint();
    const one = screenNodes({ name: 'self', nodeIP: '10.0.0.1', podCIDR: '10.99.0.0/24' }, [...recs, cand({ name: 'late', nodeIP: '10.1.0.5', podCIDR: '10.250.0.0/24' })]);
    const ms2 = Number(process.hrtime.bigint() - t1) / 1e6;
    assert.match(one.skipped[0].reason, /nodeIP 10\.1\.0\.5 collides with node "n5"/);
    console.log(`      screenNodes: 10,000 records in ${ms.toFixed(0)} ms; with one more colliding record ${ms2.toFixed(0)} ms`);
  });
});
