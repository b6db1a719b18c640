'use strict';
// Dual-stack and IPv6-only node records: validation, the compatible record shape, and screening
// per family. Pure functions, no kernel, no store.
const assert = require('node:assert/strict');
const { ValidationError } = require('../../dist');
const { validateNodeRecord, screenNodes, toOverlayNodes } = require('../../dist/membership');

const SELF = { name: 'h1', nodeIP: '10.0.0.1', podCIDR: '10.244.1.0/24', nodeIPs: ['10.0.0.1', 'fd00::1'], podCIDRs: ['10.244.1.0/24', 'fd44:0:0:1::/64'] };
const cand = (value) => ({ source: `k/${value && value.name}`, value });
const dual = (i, extra = {}) => ({ name: `h${i}`, nodeIP: `10.0.0.${i}`, podCIDR: `10.244.${i}.0/24`, nodeIPs: [`10.0.0.${i}`, `fd00::${i}`], podCIDRs: [`10.244.${i}.0/24`, `fd44:0:0:${i}::/64`], ...extra });

function problemsOf(raw) {
  try {
    validateNodeRecord(raw);
  } catch (e) {
    assert.ok(e instanceof ValidationError);
    return e.problems.map((p) => `${p.path}: ${p.message}`).join('\n');
  }
  assert.fail(`accepted ${JSON.stringify(raw)}`);
}

describe('membership: dual-stack and IPv6 node records', function () {
  it('a v4-only record of the current version reads unchanged; a dual one keeps both families in canonical text, primary first', function () {
    assert.deepEqual(validateNodeRecord({ name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', vtepMac: '0e:6e:0a:00:00:02' }), {
      name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', vtepMac: '0e:6e:0a:00:00:02',
    });
    const r = validateNodeRecord({ name: 'h2', nodeIP: 'FD00:0:0:0:0:0:0:2', podCIDR: 'fd44:0000:0:2::/64', nodeIPs: ['fd00::2', '10.0.0.2'], podCIDRs: ['10.244.2.0/24', 'FD44:0:0:2::/64'], vtepMac6: '0E:6F:00:00:00:02' });
    assert.deepEqual(r, {
      name: 'h2', nodeIP: 'fd00::2', podCIDR: 'fd44:0:0:2::/64', nodeIPs: ['fd00::2', '10.0.0.2'], podCIDRs: ['fd44:0:0:2::/64', '10.244.2.0/24'], vtepMac6: '0e:6f:00:00:00:02',
    });
    assert.deepEqual(validateNodeRecord({ name: 'h6', nodeIP: 'fd00::6', podCIDR: 'fd44:0:0:6::/64' }), { name: 'h6', nodeIP: 'fd00::6', podCIDR: 'fd44:0:0:6::/64' });
    assert.deepEqual(toOverlayNodes([r])[0].podCIDRs, ['fd44:0:0:2::/64', '10.244.2.0/24']);
  });

  it('linkLocal6 (host-gw over a shared segment without a global IPv6 address): kept canonical; anything but fe80::/10 refused', function () {
    const r = validateNodeRecord({ name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24', 'fd44:0:0:2::/64'], linkLocal6: 'FE80:0:0:0:1C:2FF:FE00:2' });
    assert.equal(r.linkLocal6, 'fe80::1c:2ff:fe00:2');
    assert.equal(toOverlayNodes([r])[0].linkLocal6, 'fe80::1c:2ff:fe00:2', 'it reaches the overlay');
    for (const bad of ['fd00::2', '10.0.0.2', 'ff02::1', 42]) {
      assert.match(problemsOf({ name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', linkLocal6: bad }), /^node\.linkLocal6: /, String(bad));
    }
  });

  it('refuses unusable IPv6 node addresses, one per kind, naming the field', function () {
    const base = { name: 'h', podCIDR: 'fd44::/64' };
    assert.match(problemsOf({ ...base, nodeIP: 'fe80::1' }), /node\.nodeIP: fe80::1 is link-local/);
    assert.match(problemsOf({ ...base, nodeIP: '::ffff:10.0.0.1' }), /node\.nodeIP: ::ffff:10\.0\.0\.1 is an IPv4-mapped address/);
    assert.match(problemsOf({ ...base, nodeIP: 'ff02::1' }), /node\.nodeIP: .*not a unicast host address/);
    assert.match(problemsOf({ ...base, nodeIP: '::1' }), /node\.nodeIP: .*not a unicast host address/);
    assert.match(problemsOf({ ...base, nodeIP: '::' }), /node\.nodeIP: .*not a unicast host address/);
    assert.match(problemsOf({ name: 'h', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', nodeIPs: ['10.0.0.2', 'fe80::2'] }), /node\.nodeIPs\[1\]: fe80::2 is link-local/);
  });

  it('refuses IPv6 pod subnets shorter than /48 or longer than /120, two of one family, a MAC without its family', function () {
    assert.match(problemsOf({ name: 'h', nodeIP: 'fd00::2', podCIDR: 'fd44::/40' }), /node\.podCIDR: fd44::\/40: an IPv6 pod subnet must be \/48\.\.\/120/);
    assert.match(problemsOf({ name: 'h', nodeIP: 'fd00::2', podCIDR: 'fd44::/124' }), /\/48\.\.\/120/);
    assert.match(problemsOf({ name: 'h', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24', '10.244.3.0/24'] }), /node\.podCIDRs\[1\]: two IPv4 entries/);
    assert.match(problemsOf({ name: 'h', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', podCIDRs: ['fd44::/64'] }), /node\.podCIDRs: must include podCIDR 10\.244\.2\.0\/24/);
    assert.match(problemsOf({ name: 'h', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', podCIDRs: ['10.244.2.0/24', 'fd44::/64', 'fd45::/64'] }), /node\.podCIDRs: expected one or two entries/);
    assert.match(problemsOf({ name: 'h', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24', vtepMac6: '02:00:00:00:00:01' }), /node\.vtepMac6: .*no IPv6 node IP/);
  });

  it('screens per family: IPv6 overlaps, shared IPv6 node IPs and foreign cluster ranges are skipped, IPv4 rules hold as before', function () {
    const res = screenNodes(
      SELF,
      [
        cand(dual(2)),
        cand(dual(3, { podCIDRs: ['10.244.3.0/24', 'fd44:0:0:1::/64'] })), // IPv6 pods overlap ours
        cand(dual(4, { nodeIPs: ['10.0.0.4', 'fd00::2'] })), // h2's IPv6 address
        cand(dual(5, { podCIDRs: ['10.244.5.0/24', 'fd99::/64'] })), // outside the IPv6 cluster range
        cand(dual(6, { podCIDRs: ['10.244.6.0/24', 'fd00::/64'] })), // covers node addresses
        cand(dual(7, { vtepMac6: '0e:6f:00:00:00:02' })), // h2's derived IPv6 VTEP MAC
        cand({ name: 'h8', nodeIP: 'fd00::8', podCIDR: 'fd44:0:0:8::/64' }), // IPv6 only: fine
      ],
      { clusterCIDRs: ['10.244.0.0/16', 'fd44::/48'] },
    );
    assert.deepEqual(res.nodes.map((n) => n.name), ['h1', 'h2', 'h8']);
    const why = Object.fromEntries(res.skipped.map((s) => [s.name, s.reason]));
    assert.match(why.h3, /podCIDR fd44:0:0:1::\/64 overlaps this host's podCIDR fd44:0:0:1::\/64/);
    assert.match(why.h4, /nodeIP fd00::2 collides with node "h2"/);
    assert.match(why.h5, /podCIDR fd99::\/64 is outside the cluster CIDR fd44::\/48/);
    assert.match(why.h6, /podCIDR fd00::\/64 covers the node address fd00::1 \(this host's\)/);
    assert.match(why.h7, /vtepMac 0e:6f:00:00:00:02 belongs to node "h2"/);
  });

  it('a record claiming our name with another IPv6 stack is skipped; the same stack in another notation is ours', function () {
    const res = screenNodes(SELF, [
      cand({ ...SELF, nodeIPs: ['10.0.0.1', 'FD00:0::1'], podCIDRs: ['10.244.1.0/24', 'fd44:0:0:1:0::/64'] }),
    ]);
    assert.deepEqual(res.skipped, []);
    const other = screenNodes(SELF, [cand({ ...SELF, nodeIPs: ['10.0.0.1', 'fd00::99'] })]);
    assert.match(other.skipped[0].reason, /claims this host's name/);
  });
});
