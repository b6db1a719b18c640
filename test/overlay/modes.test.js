'use strict';
const assert = require('node:assert/strict');
const { overlay } = require('../../dist/overlay');
const { ValidationError } = require('../../dist/rtnl');

const nodes = [
  { name: 'host1', nodeIP: '10.57.4.20', podCIDR: '192.168.10.0/24' },
  { name: 'host2', nodeIP: '10.57.4.21', podCIDR: '192.168.11.0/24' },
  { name: 'host3', nodeIP: '10.57.5.22', podCIDR: '192.168.12.0/24', vtepMac: '02:00:00:00:00:03' },
];
const base = { self: 'host1', nodes, underlayDev: 'eth0', underlayMtu: 1500 };

describe('overlay: modes as pure functions', function () {
  it('host-gw: one onlink route per remote node via its node IP on the underlay', function () {
    const s = overlay.desiredState({ ...base, mode: 'host-gw' });
    assert.deepEqual(s.links, []);
    assert.deepEqual(s.routes, [
      { dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'eth0', onlink: true },
      { dst: '192.168.12.0/24', via: '10.57.5.22', dev: 'eth0', onlink: true },
    ]);
  });

  it('ipip: a one-to-many tunnel (no remote), MTU - 20, gateway /32, routes via node IPs over it', function () {
    const s = overlay.desiredState({ ...base, mode: 'ipip', tunnelName: 'mustang.tun0' });
    assert.deepEqual(s.links, [{ kind: 'ipip', name: 'mustang.tun0', local: '10.57.4.20', ttl: 64, mtu: 1480, up: true }]);
    assert.equal(s.links[0].remote, undefined);
    assert.deepEqual(s.addresses, [{ dev: 'mustang.tun0', address: '192.168.10.1/32' }]);
    assert.deepEqual(s.routes.map((r) => `${r.dst} via ${r.via} dev ${r.dev}${r.onlink ? ' onlink' : ''}`), [
      '192.168.11.0/24 via 10.57.4.21 dev mustang.tun0 onlink',
      '192.168.12.0/24 via 10.57.5.22 dev mustang.tun0 onlink',
    ]);
  });

  it('vxlan (flannel style): learning off, MTU - 50, and per node an FDB entry, a neighbour and a route', function () {
    const s = overlay.desiredState({ ...base, mode: 'vxlan', vni: 100, port: 4789 });
    assert.deepEqual(s.links, [
      { kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, mtu: 1450, address: overlay.vtepMacFor('10.57.4.20'), up: true },
    ]);
    assert.deepEqual(s.addresses, [{ dev: 'vxlan0', address: '192.168.10.1/32' }]);
    assert.deepEqual(s.fdb, [
      { dev: 'vxlan0', mac: overlay.vtepMacFor('10.57.4.21'), dst: '10.57.4.21' },
      { dev: 'vxlan0', mac: '02:00:00:00:00:03', dst: '10.57.5.22' },
    ]);
    assert.deepEqual(s.neighbors, [
      { dev: 'vxlan0', ip: '192.168.11.1', lladdr: overlay.vtepMacFor('10.57.4.21') },
      { dev: 'vxlan0', ip: '192.168.12.1', lladdr: '02:00:00:00:00:03' },
    ]);
    assert.deepEqual(s.routes, [
      { dst: '192.168.11.0/24', via: '192.168.11.1', dev: 'vxlan0', onlink: true },
      { dst: '192.168.12.0/24', via: '192.168.12.1', dev: 'vxlan0', onlink: true },
    ]);
  });

  it('vxlan learning variant: learning on, all-zero flood entries, no neighbours', function () {
    const s = overlay.desiredState({ ...base, mode: 'vxlan', vxlanLearning: true });
    assert.equal(s.links[0].learning, true);
    assert.deepEqual(s.fdb.map((f) => `${f.mac} ${f.dst}`), ['00:00:00:00:00:00 10.57.4.21', '00:00:00:00:00:00 10.57.5.22']);
    assert.deepEqual(s.neighbors, []);
  });

  it('hybrid: host-gw to the same subnet, the fallback encapsulation to the others', function () {
    const s = overlay.desiredState({ ...base, mode: 'hybrid', underlaySubnet: '10.57.4.20/24' });
    assert.deepEqual(s.routes.map((r) => `${r.dst} ${r.dev}`), ['192.168.11.0/24 eth0', '192.168.12.0/24 vxlan0']);
    assert.deepEqual(s.fdb.map((f) => f.dst), ['10.57.5.22']);
    const ipip = overlay.desiredState({ ...base, mode: 'hybrid', underlaySubnet: '10.57.4.0/24', hybridFallback: 'ipip' });
    assert.deepEqual(ipip.links.map((l) => l.kind), ['ipip']);
    assert.deepEqual(ipip.routes.map((r) => `${r.dst} ${r.dev}`), ['192.168.11.0/24 eth0', '192.168.12.0/24 ipip0']);
  });

  it('derives the same VTEP MAC from a node IP everywhere, locally administered and unicast', function () {
    const mac = overlay.vtepMacFor('10.57.4.21');
    assert.equal(mac, '0e:6e:0a:39:04:15');
    assert.equal(parseInt(mac.slice(0, 2), 16) & 3, 2);
  });

  it('rejects bad node lists with one ValidationError listing every problem', function () {
    const bad = [
      { name: 'host1', nodeIP: '10.57.4.20', podCIDR: '192.168.10.0/24' },
      { name: 'host1', nodeIP: '10.57.4.20', podCIDR: '192.168.10.128/25' },
      { name: 'x', nodeIP: 'nope', podCIDR: '192.168.300.0/24' },
    ];
    assert.throws(() => overlay.desiredState({ ...base, mode: 'vxlan', nodes: bad, vni: 0 }), (e) => {
      assert.ok(e instanceof ValidationError);
      const text = e.message;
      for (const want of [/appears twice/, /address of another node/, /overlaps/, /nodeIP/, /podCIDR/, /vni/]) assert.match(text, want);
      return true;
    });
    assert.throws(() => overlay.desiredState({ ...base, mode: 'vxlan', self: 'ghost' }), /not in nodes/);
    assert.throws(() => overlay.desiredState({ ...base, mode: 'hybrid' }), /underlaySubnet/);
  });
});
