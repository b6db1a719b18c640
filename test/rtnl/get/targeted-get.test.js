'use strict';
const assert = require('node:assert/strict');
const { Rtnl } = require('../../../dist/rtnl');
const { NetlinkError } = require('../../../dist/wire/errors');
const { kernelDescribe, netnsPerTest, ip } = require('../../support/kernel');

/** A vxlan device with one neighbour, one unicast FDB entry, two flood remotes and one route. */
function setup(ns) {
  ip(ns, 'link', 'set', 'lo', 'up');
  ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  ip(ns, 'addr', 'add', '10.57.4.20/24', 'dev', 'eth0');
  ip(ns, 'link', 'set', 'eth0', 'up');
  ip(ns, 'link', 'set', 'eth0p', 'up');
  ip(ns, 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'local', '10.57.4.20', 'dev', 'eth0', 'nolearning');
  ip(ns, 'link', 'set', 'vxlan0', 'up');
  ip(ns, 'route', 'add', '192.168.11.0/24', 'via', '192.168.11.0', 'dev', 'vxlan0', 'onlink', 'proto', '77');
}

kernelDescribe('rtnl: targeted gets (one neighbour, one FDB MAC, FIB-match lookups)', function () {
  const ns = netnsPerTest('tget');
  let nl;
  beforeEach(async function () {
    setup(ns());
    nl = await Rtnl.open({ netns: ns() });
    await nl.neighbors.replace({ dev: 'vxlan0', ip: '192.168.11.0', lladdr: '0a:58:c0:a8:0b:00' });
    await nl.fdb.replace({ dev: 'vxlan0', mac: '0a:58:c0:a8:0b:00', dst: '10.57.4.21' });
  });
  afterEach(function () {
    if (nl) nl.close();
  });

  it('neighbors.get/getMany: the entry, undefined when absent, ENODEV per key; one GET request each, no dump', async function () {
    const before = nl.socket.sentByType.slice();
    const index = (await nl.links.get('vxlan0')).index;
    const got = await nl.neighbors.getMany([
      { dev: index, ip: '192.168.11.0' },
      { dev: index, ip: '192.168.12.0' },
    ]);
    assert.equal(got[0].ip, '192.168.11.0');
    assert.equal(got[0].lladdr, '0a:58:c0:a8:0b:00');
    assert.equal(got[0].index, index);
    assert.deepEqual(got[0].states, ['permanent']);
    assert.equal(got[1], undefined);
    // RTM_GETNEIGH is 30: two requests for two keys (the links.get above is RTM_GETLINK).
    assert.equal(nl.socket.sentByType[30] - before[30], 2);
    assert.equal(await nl.neighbors.get({ dev: 'vxlan0', ip: '192.168.13.0' }), undefined);
    const [missing] = await nl.neighbors.getMany([{ dev: 'nosuch0', ip: '192.168.11.0' }]);
    assert.ok(missing instanceof NetlinkError && missing.code === 'ENODEV', String(missing));
  });

  it('fdb.get: a unicast MAC with its dst; undefined when absent; the all-zero MAC answers with its first remote only', async function () {
    const e = await nl.fdb.get({ dev: 'vxlan0', mac: '0a:58:c0:a8:0b:00' });
    assert.equal(e.mac, '0a:58:c0:a8:0b:00');
    assert.equal(e.dst, '10.57.4.21');
    assert.equal(e.self, true);
    assert.equal(e.permanent, true);
    assert.equal(await nl.fdb.get({ dev: 'vxlan0', mac: '0a:58:c0:a8:0b:01' }), undefined);
    await nl.fdb.append({ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: '10.57.4.21' });
    await nl.fdb.append({ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: '10.57.4.22' });
    const flood = await nl.fdb.getMany([{ dev: 'vxlan0', mac: '00:00:00:00:00:00' }]);
    assert.equal(flood.length, 1);
    const all = (await nl.fdb.list({ dev: 'vxlan0' })).filter((x) => x.mac === '00:00:00:00:00:00');
    assert.equal(all.length, 2); // why a reader must fall back to list() for such MACs
  });

  it('routes.getMany: the exact prefix, ENETUNREACH without any route, a shorter prefix behind a default, EHOSTUNREACH for unreachable', async function () {
    let [r, none] = await nl.routes.getMany(['192.168.11.0', '192.168.12.0']);
    assert.equal(r.dst, '192.168.11.0/24');
    assert.equal(r.protocol, 77);
    assert.equal(r.table, 254);
    assert.equal(r.via, '192.168.11.0');
    assert.equal(r.onlink, true);
    assert.ok(none instanceof NetlinkError && none.code === 'ENETUNREACH', String(none));
    ip(ns(), 'route', 'add', 'default', 'via', '10.57.4.1', 'dev', 'eth0');
    ip(ns(), 'route', 'add', 'unreachable', '192.168.13.0/24');
    const [shorter, unreach] = await nl.routes.getMany(['192.168.12.0', '192.168.13.0']);
    assert.equal(shorter.dst, 'default');
    assert.equal(shorter.table, 254);
    assert.ok(unreach instanceof NetlinkError && unreach.code === 'EHOSTUNREACH', String(unreach));
  });
});
