'use strict';
// The modes for IPv6-only and dual-stack node lists, as pure functions (no kernel needed).
const assert = require('node:assert/strict');
const { overlay } = require('../../dist/overlay');
const { ValidationError } = require('../../dist/rtnl');

const dual = [
  { name: 'host1', nodeIP: '10.57.4.20', podCIDR: '192.168.10.0/24', nodeIPs: ['10.57.4.20', 'fd57:4::20'], podCIDRs: ['192.168.10.0/24', 'fd10:0:0:a::/64'] },
  { name: 'host2', nodeIP: '10.57.4.21', podCIDR: '192.168.11.0/24', nodeIPs: ['10.57.4.21', 'fd57:4::21'], podCIDRs: ['192.168.11.0/24', 'fd10:0:0:b::/64'] },
];
const v6 = [
  { name: 'host1', nodeIP: 'fd57:4::20', podCIDR: 'fd10:0:0:a::/64' },
  { name: 'host2', nodeIP: 'fd57:4::21', podCIDR: 'fd10:0:0:b::/64' },
  { name: 'host3', nodeIP: 'fd57:5::22', podCIDR: 'fd10:0:0:c::/64', vtepMac6: '02:00:00:00:00:03' },
];
const base = { self: 'host1', underlayDev: 'eth0', underlayMtu: 1500 };
const routes = (s) => s.routes.map((r) => `${r.dst} via ${r.via} dev ${r.dev}`);

function problems(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${e}`);
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('expected a ValidationError');
}

describe('overlay: IPv6-only and dual-stack modes as pure functions', function () {
  it('host-gw: IPv6 pods of a node without a global IPv6 address go via its link-local one with the device (no onlink); a global one wins', function () {
    const v4underlay = dual.map((n) => ({ ...n, nodeIPs: undefined, linkLocal6: n.name === 'host2' ? 'FE80::1C:2' : 'fe80::1c:1' }));
    const s = overlay.desiredState({ ...base, mode: 'host-gw', nodes: v4underlay });
    assert.deepEqual(s.routes, [
      { dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'eth0', onlink: true },
      { dst: 'fd10:0:0:b::/64', via: 'fe80::1c:2', dev: 'eth0' },
    ]);
    // On nexthop objects: the same gateway, on the node's v6 nexthop.
    const nh = overlay.desiredState({ ...base, mode: 'host-gw', nodes: v4underlay, nexthops: true });
    assert.deepEqual(nh.nexthops.find((n) => n.name === 'node/host2/v6'), { name: 'node/host2/v6', via: 'fe80::1c:2', dev: 'eth0' });
    // A peer with a global IPv6 address is routed via it even when it publishes its link-local one.
    const both = dual.map((n) => ({ ...n, linkLocal6: 'fe80::1c:9' }));
    assert.deepEqual(routes(overlay.desiredState({ ...base, mode: 'host-gw', nodes: both })), ['192.168.11.0/24 via 10.57.4.21 dev eth0', 'fd10:0:0:b::/64 via fd57:4::21 dev eth0']);
    // Not a link-local address: refused, naming the field.
    const bad = v4underlay.map((n, j) => (j === 1 ? { ...n, linkLocal6: 'fd57:4::21' } : n));
    assert.match(problems(() => overlay.desiredState({ ...base, mode: 'host-gw', nodes: bad })).join('\n'), /nodes\[1\]\.linkLocal6: fd57:4::21 is not an IPv6 link-local address \(fe80::\/10\)/);
  });

  it('host-gw: per family, the podCIDR via the node IP of that family', function () {
    assert.deepEqual(routes(overlay.desiredState({ ...base, mode: 'host-gw', nodes: dual })), [
      '192.168.11.0/24 via 10.57.4.21 dev eth0',
      'fd10:0:0:b::/64 via fd57:4::21 dev eth0',
    ]);
    assert.deepEqual(routes(overlay.desiredState({ ...base, mode: 'host-gw', nodes: v6 })), [
      'fd10:0:0:b::/64 via fd57:4::21 dev eth0',
      'fd10:0:0:c::/64 via fd57:5::22 dev eth0',
    ]);
  });

  it('vxlan, dual underlay: one device per underlay family (MTU - 50 and - 70), permanent neighbours for the IPv6 VTEPs', function () {
    const s = overlay.desiredState({ ...base, mode: 'vxlan', nodes: dual });
    assert.deepEqual(s.links.map((l) => `${l.name} local ${l.local} mtu ${l.mtu} mac ${l.address}`), [
      `vxlan0 local 10.57.4.20 mtu 1450 mac ${overlay.vtepMacFor('10.57.4.20')}`,
      `vxlan6 local fd57:4::20 mtu 1430 mac ${overlay.vtepMacFor('fd57:4::20')}`,
    ]);
    assert.deepEqual(s.addresses, [
      { dev: 'vxlan0', address: '192.168.10.1/32' },
      { dev: 'vxlan6', address: 'fd10:0:0:a::1/128', nodad: true },
    ]);
    assert.deepEqual(s.fdb, [
      { dev: 'vxlan0', mac: '0e:6e:0a:39:04:15', dst: '10.57.4.21' },
      { dev: 'vxlan6', mac: '0e:6f:00:00:00:21', dst: 'fd57:4::21' },
    ]);
    assert.deepEqual(s.neighbors, [
      { dev: 'vxlan0', ip: '192.168.11.1', lladdr: '0e:6e:0a:39:04:15' },
      { dev: 'vxlan6', ip: 'fd10:0:0:b::1', lladdr: '0e:6f:00:00:00:21' },
    ]);
    assert.equal(s.neighbors[1].state, undefined, 'the default state of a NeighborSpec is permanent');
    assert.deepEqual(routes(s), ['192.168.11.0/24 via 192.168.11.1 dev vxlan0', 'fd10:0:0:b::/64 via fd10:0:0:b::1 dev vxlan6']);
  });

  it('vxlan, IPv6-only underlay: one vxlan6 device carries both pod families (the --underlay6 variant)', function () {
    const nodes = dual.map((n) => ({ ...n, nodeIP: n.nodeIPs[1], nodeIPs: undefined }));
    const s = overlay.desiredState({ ...base, mode: 'vxlan', nodes });
    assert.deepEqual(s.links.map((l) => `${l.name} ${l.local} ${l.mtu}`), ['vxlan6 fd57:4::20 1430']);
    assert.deepEqual(s.addresses.map((a) => `${a.dev} ${a.address}`), ['vxlan6 192.168.10.1/32', 'vxlan6 fd10:0:0:a::1/128']);
    assert.deepEqual(s.fdb.map((f) => `${f.dev} ${f.mac} ${f.dst}`), ['vxlan6 0e:6f:00:00:00:21 fd57:4::21'], 'one FDB entry per peer and device');
    assert.deepEqual(routes(s), ['192.168.11.0/24 via 192.168.11.1 dev vxlan6', 'fd10:0:0:b::/64 via fd10:0:0:b::1 dev vxlan6']);
  });

  it('vxlan, IPv4-only underlay carrying IPv6 pods too (flannel: one device may carry both pod families)', function () {
    const nodes = dual.map((n) => ({ ...n, nodeIPs: undefined }));
    const s = overlay.desiredState({ ...base, mode: 'vxlan', nodes });
    assert.deepEqual(s.links.map((l) => l.name), ['vxlan0']);
    assert.deepEqual(routes(s), ['192.168.11.0/24 via 192.168.11.1 dev vxlan0', 'fd10:0:0:b::/64 via fd10:0:0:b::1 dev vxlan0']);
    assert.deepEqual(s.neighbors.map((n) => `${n.ip} ${n.lladdr}`), ['192.168.11.1 0e:6e:0a:39:04:15', 'fd10:0:0:b::1 0e:6e:0a:39:04:15']);
  });

  it('vxlan, IPv6 only: a given vtepMac6 is used, the learning variant floods per peer', function () {
    const s = overlay.desiredState({ ...base, mode: 'vxlan', nodes: v6 });
    assert.deepEqual(s.fdb.map((f) => `${f.mac} ${f.dst}`), ['0e:6f:00:00:00:21 fd57:4::21', '02:00:00:00:00:03 fd57:5::22']);
    const l = overlay.desiredState({ ...base, mode: 'vxlan', nodes: v6, vxlanLearning: true });
    assert.deepEqual(l.fdb.map((f) => `${f.mac} ${f.dst}`), ['00:00:00:00:00:00 fd57:4::21', '00:00:00:00:00:00 fd57:5::22']);
    assert.deepEqual(l.neighbors, []);
  });

  it('hybrid decides per family: host-gw where the family shares a subnet, vxlan elsewhere', function () {
    const far = { name: 'host3', nodeIP: '10.57.5.22', podCIDR: '192.168.12.0/24', nodeIPs: ['10.57.5.22', 'fd57:4::22'], podCIDRs: ['192.168.12.0/24', 'fd10:0:0:c::/64'] };
    const s = overlay.desiredState({ ...base, mode: 'hybrid', nodes: [...dual, far], underlaySubnets: ['10.57.4.20/24', 'fd57:4::20/64'] });
    assert.deepEqual(routes(s), [
      '192.168.11.0/24 via 10.57.4.21 dev eth0',
      'fd10:0:0:b::/64 via fd57:4::21 dev eth0',
      'fd10:0:0:c::/64 via fd57:4::22 dev eth0',
      '192.168.12.0/24 via 192.168.12.1 dev vxlan0',
    ]);
    // Only an IPv4 subnet known: IPv6 goes through the tunnel (over the IPv6 underlay).
    const t = overlay.desiredState({ ...base, mode: 'hybrid', nodes: dual, underlaySubnet: '10.57.4.0/24' });
    assert.deepEqual(routes(t), ['192.168.11.0/24 via 10.57.4.21 dev eth0', 'fd10:0:0:b::/64 via fd10:0:0:b::1 dev vxlan6']);
  });

  it('derives VTEP MACs for IPv6 node addresses: stable, locally administered unicast, never one of an IPv4 node', function () {
    const mac = overlay.vtepMacFor('fd57:4::21');
    assert.equal(mac, '0e:6f:00:00:00:21');
    assert.equal(overlay.vtepMacFor('FD57:0004:0000:0000:0000:0000:0000:0021'), mac, 'any notation, the same MAC');
    assert.equal(parseInt(mac.slice(0, 2), 16) & 3, 2);
    assert.notEqual(overlay.vtepMacFor('0.0.0.33'), mac);
    assert.throws(() => overlay.vtepMacFor('nope'), TypeError);
    assert.equal(overlay.gatewayAddress('fd10:0:0:b::/64'), 'fd10:0:0:b::1');
  });

  it('ipip stays IPv4: IPv6 pods or an IPv6-only node are typed errors naming the field', function () {
    assert.match(problems(() => overlay.desiredState({ ...base, mode: 'ipip', nodes: dual })).join('\n'), /nodes\[0\]\.podCIDRs: ipip carries IPv4 pods only/);
    assert.match(problems(() => overlay.desiredState({ ...base, mode: 'ipip', nodes: v6 })).join('\n'), /nodes\[0\]\.nodeIP: ipip runs over an IPv4 underlay/);
    const v4pods = dual.map((n) => ({ ...n, podCIDRs: undefined }));
    assert.deepEqual(routes(overlay.desiredState({ ...base, mode: 'ipip', nodes: v4pods })), ['192.168.11.0/24 via 10.57.4.21 dev ipip0']);
  });

  it('bad dual-stack input: typed errors naming the field, nothing computed', function () {
    const bad = (patch, i = 1) => problems(() => overlay.desiredState({ ...base, mode: 'vxlan', nodes: dual.map((n, j) => (j === i ? { ...n, ...patch } : n)) })).join('\n');
    assert.match(bad({ podCIDRs: ['192.168.11.0/24', 'fd10::/44'] }), /nodes\[1\]\.podCIDRs\[1\]: fd10::\/44: an IPv6 pod subnet must be \/48..\/120/);
    assert.match(bad({ podCIDRs: ['192.168.11.0/24', 'fd10:0:0:b::/124'] }), /podCIDRs\[1\].*\/48..\/120/);
    assert.match(bad({ podCIDRs: ['192.168.11.0/24', '192.168.13.0/24'] }), /nodes\[1\]\.podCIDRs\[1\]: two IPv4 entries.*at most one per family/);
    assert.match(bad({ nodeIPs: ['10.57.4.21', '10.57.4.99'] }), /nodes\[1\]\.nodeIPs\[1\]: two IPv4 entries/);
    assert.match(bad({ nodeIPs: ['10.57.4.22', 'fd57:4::21'] }), /nodes\[1\]\.nodeIP: 10\.57\.4\.21 and nodeIPs entry 10\.57\.4\.22/);
    assert.match(bad({ podCIDRs: ['192.168.11.0/24', 'fd10:0:0:a::/64'] }), /nodes\[1\]\.podCIDR: fd10:0:0:a::\/64 overlaps the podCIDR of nodes\[0\]/);
    assert.match(bad({ nodeIPs: ['10.57.4.21', 'FD57:4::20'] }), /fd57:4::20 is the address of another node too/);
    assert.match(bad({ vtepMac6: 'zz' }), /nodes\[1\]\.vtepMac6/);
    // host-gw cannot route IPv6 pods to a node without an IPv6 address.
    const noV6 = dual.map((n, j) => (j === 1 ? { ...n, nodeIPs: undefined } : n));
    assert.match(problems(() => overlay.desiredState({ ...base, mode: 'host-gw', nodes: noV6 })).join('\n'), /nodes\[1\]\.nodeIPs: host-gw routes IPv6 pods.*family mismatch/);
    // A v6 underlay subnet on a host without a v6 node IP: a family mismatch.
    const v4only = dual.map((n) => ({ ...n, nodeIPs: undefined }));
    assert.match(problems(() => overlay.desiredState({ ...base, mode: 'hybrid', nodes: v4only, underlaySubnets: ['fd57:4::/64'] })).join('\n'), /underlaySubnets: fd57:4::\/64 is IPv6 and this node has no IPv6 node IP \(family mismatch/);
    // No common underlay family.
    const split = [dual[0] && { ...dual[0], nodeIPs: undefined }, { ...v6[1], podCIDRs: undefined }];
    assert.match(problems(() => overlay.desiredState({ ...base, mode: 'vxlan', nodes: [split[0], { ...split[1], podCIDR: '192.168.11.0/24' }] })).join('\n'), /shares no underlay family/);
  });
});
