'use strict';
// The quick validation of the usual node record (issue 24: a cold start screens 10,000 of them)
// against the full one: whenever quickRecord answers, the full validation must accept the same
// record and give the same normalized record (fields, their order, values) and the same parsed
// stack; anything it is not sure of it must leave to the full validation. Field values are drawn
// from pools of near-misses (address ranges a node may not use, prefix lengths at the limits, host
// bits, leading zeros, MAC forms, other families, inherited fields), so both answers occur often.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { quickRecord, fullyValidatedRecord, validateNodeRecord } = require('../../dist/membership/types');

// Each field: [values the quick path may take, near-misses], drawn 4:1.
const NAMES = [['h2', 's9999', 'a.b-c_d'], ['bad name', '-x', 'x-', '', 7, undefined]];
const IPS = [['10.0.0.2', '1.0.0.1', '223.255.255.254', '126.1.1.1', '128.0.0.1'], ['0.1.2.3', '127.0.0.5', '224.0.0.1', '239.1.1.1', '240.0.0.1', '255.255.255.255', '01.2.3.4', '10.0.0.256', '10.0.0', 'fd00::2', '::ffff:10.0.0.2', ' 10.0.0.2', 167772162, undefined]];
const NETS = [['10.244.2.0/24', '10.0.0.0/8', '10.244.2.0/30', '10.244.2.4/30', '10.244.0.0/16'], ['10.244.2.0/31', '10.0.0.0/7', '10.244.2.1/24', '10.244.2.0/024', '10.244.2.0/08', '10.244.2.0', '10.244.2.0/', '10.244.2.0/24/1', '0.0.0.0/8', 'fd10::/64', '10.244.2.0/33', 10, undefined]];
const MACS = [[undefined, '0e:6e:0a:00:00:02', '0E:6E:0A:00:00:02', '0e-6e-0a-00-00-02'], ['01:00:5e:00:00:01', '00:00:00:00:00:00', '0e:6e:0a:00:00', 'zz:6e:0a:00:00:02', 5]];
const MODES = [[undefined, 'vxlan', 'host-gw', 'ipip', 'hybrid', 'wireguard'], ['warp', 1]];
const VERSIONS = [[undefined, '1.2.3', 'x'.repeat(64)], ['x'.repeat(65), 3]];
const KEY = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const WIREGUARDS = [[undefined, { publicKey: KEY }, { publicKey: KEY, port: 51820 }], [{ publicKey: KEY, port: 0 }, { publicKey: 'short' }, { publicKey: KEY, extra: 1 }, 'key']];
const EXTRAS = [[{}, { extra: 1 }, { nodeIPs: undefined }], [{ nodeIPs: ['10.0.0.2', 'fd00::2'] }, { podCIDRs: ['10.244.2.0/24'] }, { vtepMac6: '0e:6f:00:00:00:02' }, { linkLocal6: 'fe80::1' }]];

const choose = (xs) => fc.constantFrom(...xs.map((x, i) => i)).map((i) => xs[i]);
const pick = ([good, bad]) => fc.oneof({ arbitrary: choose(good), weight: 4 }, { arbitrary: choose(bad), weight: 1 });

function full(raw) {
  try {
    return fullyValidatedRecord(raw, 'node');
  } catch (e) {
    return e;
  }
}

describe('membership: the quick validation of the usual node record', function () {
  it('answers only for records the full validation accepts, with the same record and stack', function () {
    let quick = 0;
    let refused = 0;
    fc.assert(
      fc.property(pick(NAMES), pick(IPS), pick(NETS), pick(MACS), pick(MODES), pick(VERSIONS), pick(WIREGUARDS), pick(EXTRAS), fc.boolean(), (name, nodeIP, podCIDR, vtepMac, mode, version, wireguard, extra, inherited) => {
        const fields = { name, nodeIP, podCIDR, vtepMac, mode, version, wireguard, ...extra };
        for (const k of Object.keys(fields)) if (fields[k] === undefined && !(k in extra)) delete fields[k];
        // Inherited fields are never read: the record then has only what it owns.
        const raw = inherited ? Object.assign(Object.create({ vtepMac: '0e:6e:0a:00:00:09', nodeIPs: ['x'] }), fields) : JSON.parse(JSON.stringify(fields));
        const q = quickRecord(raw);
        const f = full(raw);
        if (q === undefined) {
          if (f instanceof Error) refused++;
          return;
        }
        quick++;
        assert.ok(!(f instanceof Error), `quickRecord accepted ${JSON.stringify(fields)}, the full validation says ${f && f.message}`);
        assert.deepStrictEqual(q, f);
        assert.equal(JSON.stringify(q.rec), JSON.stringify(f.rec), 'same fields in the same order');
      }),
      { seed: 24, numRuns: 20000 },
    );
    console.log(`      quick ${quick}, refused by both ${refused}`);
    // Both answers occurred often (the property is not vacuous).
    assert.ok(quick > 500, `quick answers: ${quick}`);
    assert.ok(refused > 2000, `refused by both: ${refused}`);
  });

  it('takes the record agents publish, and validateNodeRecord gives the same for it', function () {
    const raw = { name: 's1', nodeIP: '10.200.0.2', podCIDR: '10.100.1.0/24', vtepMac: '0E:6E:0A:C8:00:02', mode: 'vxlan', version: '0.9.0' };
    const q = quickRecord(raw);
    assert.ok(q, 'the usual record takes the quick path');
    assert.deepStrictEqual(q, fullyValidatedRecord(raw, 'node'));
    assert.deepEqual(validateNodeRecord(raw), { name: 's1', nodeIP: '10.200.0.2', podCIDR: '10.100.1.0/24', vtepMac: '0e:6e:0a:c8:00:02', mode: 'vxlan', version: '0.9.0' });
  });
});
