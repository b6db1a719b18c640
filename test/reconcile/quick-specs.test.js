'use strict';
// The neighbour and FDB kinds accept the common spec shape without the field table's generic
// checks (quickNeighborSpec, quickFdbSpec): only ever a spec the full validation accepts too.
// Random objects over the fields (and others), with values valid and not, both ways.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { Problems, validateNeighborSpec, validateFdbSpec } = require('../../dist/rtnl');
const { quickNeighborSpec } = require('../../dist/rtnl/neighbor/quick');
const { QuickFdb, quickFdbSpec } = require('../../dist/reconcile/kinds/fdb/fast');
const { canonicalMac, formatMac, parseMacInto } = require('../../dist/values/mac');
const { parseIPv4 } = require('../../dist/values/ip');
// About one random spec in 170 takes the quick path: 5,000 cases give 22-43 (seen over runs), so
// the property is tried on the quick path; at least 5 is asked (a bound of 20 failed now and then).
const RUNS = 5000;

const OK_DEVS = new Set(['vxlan0', 'eth0']); // names the full check accepted
const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer({ min: -2, max: 70000 }), fc.boolean(), fc.string({ maxLength: 20 }));
const mix = (...good) => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: junk });
const dev = mix('vxlan0', 'eth0', 'nope0', '', 'a'.repeat(16), 'a b', 3);
const ip = mix('10.0.0.1', '10.128.3.0', '10.0.0.256', '010.0.0.1', '1.2.3', 'fd00::1', '::ffff:10.0.0.1', ' 10.0.0.1');
const mac = mix('02:42:0a:c8:00:01', '02-42-0A-C8-00-01', '02:42:0a:c8:00', '00:00:00:00:00:00', '02:42:0a:c8:00:0g', '02:42:0a:c8:00:01:02');
const state = mix('permanent', 'noarp', 'none', 'reachable', 'bogus', 'toString', 'PERMANENT');
/** Records over the fields, each optional, values mostly plausible, some junk. */
const objectOf = (fields, required) =>
  fc.oneof(fc.record(fields, { requiredKeys: [] }), fc.record(fields, { requiredKeys: required }), fc.record(Object.fromEntries(required.map((k) => [k, fields[k]]))))
    .map((d) => Object.assign({}, d)); // a plain object, as specs are

function valid(validate, x) {
  const p = new Problems();
  return validate(p, 'x', x) && p.list.length === 0;
}

describe('reconcile: the quick spec checks accept only what the full validation accepts', function () {
  this.timeout(20000); // JavaScript alone, but 5,000 cases take a while under TCG (scaled there)
  it('neighbours: quickNeighborSpec true => validateNeighborSpec true; the common shape is quick', function () {
    let quick = 0;
    fc.assert(
      fc.property(objectOf({ dev, ip, lladdr: mac, state, proxy: fc.oneof(fc.boolean(), junk), mac }, ['dev', 'ip', 'lladdr']), (x) => {
        if (quickNeighborSpec(x, OK_DEVS)) {
          quick++;
          assert.ok(valid(validateNeighborSpec, x), JSON.stringify(x));
        }
      }),
      { numRuns: RUNS },
    );
    assert.ok(quick >= 5, `only ${quick} of ${RUNS} random specs took the quick path`);
    assert.equal(quickNeighborSpec({ dev: 'vxlan0', ip: '10.128.0.0', lladdr: '0a:58:00:00:00:02' }, OK_DEVS), true);
    assert.equal(quickNeighborSpec({ dev: 'vxlan1', ip: '10.128.0.0', lladdr: '0a:58:00:00:00:02' }, OK_DEVS), false); // device not checked yet
    assert.equal(quickNeighborSpec(Object.assign(Object.create({ dev: 'vxlan0' }), { ip: '10.0.0.1' }), OK_DEVS), false); // inherited field
  });

  it('FDB entries: quickFdbSpec true => validateFdbSpec true; the common shape is quick', function () {
    let quick = 0;
    fc.assert(
      fc.property(objectOf({ dev, mac, dst: ip, vni: fc.oneof(fc.integer({ min: -1, max: 1 << 25 }), junk), nhid: fc.oneof(fc.integer({ min: 0, max: 9 }), junk), self: fc.oneof(fc.boolean(), junk), lladdr: mac }, ['dev', 'mac', 'dst']), (x) => {
        if (quickFdbSpec(x, OK_DEVS)) {
          quick++;
          assert.ok(valid(validateFdbSpec, x), JSON.stringify(x));
        }
      }),
      { numRuns: RUNS },
    );
    assert.ok(quick >= 5, `only ${quick} of ${RUNS} random specs took the quick path`);
    assert.equal(quickFdbSpec({ dev: 'vxlan0', mac: '0a:58:00:00:00:02', dst: '10.57.0.2' }, OK_DEVS), true);
    assert.equal(quickFdbSpec({ dev: 'vxlan0', mac: '0a:58:00:00:00:02', dst: '10.57.0.2', vni: 5 }, OK_DEVS), false); // full check
  });

  it('FDB entries: what QuickFdb read is what the full path computes (canonical MAC, unicast, key words, dst)', function () {
    const q = new QuickFdb();
    const bytes = new Uint8Array(6);
    let quick = 0;
    const macs = fc.oneof(mac, fc.uint8Array({ minLength: 6, maxLength: 6 }).chain((b) => fc.constantFrom(formatMac(b, 0, 6), formatMac(b, 0, 6).toUpperCase(), formatMac(b, 0, 6).replace(/:/g, '-'))));
    fc.assert(
      fc.property(objectOf({ dev, mac: macs, dst: ip }, ['dev', 'mac']), (x) => {
        if (!q.read(x, OK_DEVS)) return;
        quick++;
        const canonical = canonicalMac(x.mac);
        assert.equal(q.mac, canonical, JSON.stringify(x));
        assert.ok(parseMacInto(x.mac, bytes, 0));
        assert.equal(q.macHi, (bytes[0] << 8) | bytes[1]);
        assert.equal(q.macLo, (bytes[2] << 24) | (bytes[3] << 16) | (bytes[4] << 8) | bytes[5]);
        assert.equal(q.unicast, canonical !== '00:00:00:00:00:00' && (bytes[0] & 1) === 0, JSON.stringify(x));
        assert.equal(q.v4, x.dst === undefined ? -1 : parseIPv4(x.dst));
      }),
      { numRuns: RUNS },
    );
    assert.ok(quick >= 50, `only ${quick} of ${RUNS} random specs took the quick path`);
    assert.ok(q.read({ dev: 'vxlan0', mac: '0A-58-00-00-00-02' }, OK_DEVS));
    assert.deepEqual([q.mac, q.unicast, q.v4], ['0a:58:00:00:00:02', true, -1]);
    assert.ok(q.read({ dev: 'vxlan0', mac: '01:00:5e:00:00:01', dst: '10.0.0.1' }, OK_DEVS));
    assert.deepEqual([q.unicast, q.v4], [false, parseIPv4('10.0.0.1')]);
  });
});
