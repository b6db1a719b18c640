'use strict';
// Link spec validation: every problem reported with its path, before anything is sent.
const assert = require('node:assert/strict');
const { Problems } = require('../../../dist/rtnl');
const L = require('../../support/codec-modules').link;

function problems(spec, fn = L.validateLinkSpec) {
  const p = new Problems();
  const ok = fn(p, 'links[0]', spec);
  assert.equal(ok, p.list.length === 0, 'the return value says whether there were problems');
  return p.list;
}
const paths = (list) => list.map((x) => x.path).sort();

describe('rtnl links: spec validation', function () {
  it('accepts valid specs of every kind', function () {
    const good = [
      { kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false },
      { kind: 'vxlan', name: 'vx6', vni: 16777215, local: 'fd00::1', remote: 'FD00::2', srcPortRange: [1, 65535], ttl: 255, tos: 1, ageing: 1 },
      { kind: 'vxlan', name: 'vxg', vni: 1, group: '239.1.1.1', dev: 3, proxy: true, l2miss: true, l3miss: false, udpChecksum: false },
      { kind: 'ipip', name: 'tun0', local: '10.0.0.1', remote: '10.0.0.2', ttl: 64, tos: 0, pmtudisc: true, dev: 'eth0' },
      { kind: 'ipip', name: 'tun1', pmtudisc: false },
      { kind: 'veth', name: 'veth0', mtu: 9000, address: '02:00:00:00:00:01', up: true, master: 'br0', txqueuelen: 0, peer: { name: 'veth1', netns: 'pod1', mtu: 68, address: '02:00:00:00:00:02' } },
      { kind: 'veth', name: 'v0', netns: 'a', peer: { name: 'v0', netns: 'b' } },
      { kind: 'bridge', name: 'br0', stp: false, vlanFiltering: true, master: null, netns: '/proc/1/ns/net' },
    ];
    for (const spec of good) assert.deepEqual(problems(spec), [], JSON.stringify(spec));
  });

  it('reports every problem of a bad vxlan spec at once, each with its path', function () {
    const list = problems({
      kind: 'vxlan',
      name: 'a-name-longer-than-15',
      vni: 0,
      port: 70000,
      local: '10.0.0.1',
      remote: 'fd00::1',
      group: '239.1.1.1',
      ttl: 256,
      tos: -1,
      srcPortRange: [2000, 1000],
      mtu: 67,
      address: '01:00:5e:00:00:01',
      learnin: true,
    });
    assert.deepEqual(paths(list), [
      'links[0].address',
      'links[0].dev', // a group needs dev
      'links[0].learnin',
      'links[0].local',
      'links[0].mtu',
      'links[0].name',
      'links[0].port',
      'links[0].remote',
      'links[0].srcPortRange',
      'links[0].tos',
      'links[0].ttl',
      'links[0].vni',
    ]);
    const msg = (path) => list.find((x) => x.path === path).message;
    assert.match(msg('links[0].remote'), /exclusive/);
    assert.match(msg('links[0].local'), /IPv4 but remote is IPv6/);
    assert.match(msg('links[0].learnin'), /unknown field/);
    assert.match(msg('links[0].name'), /15 bytes/);
    assert.match(msg('links[0].address'), /multicast MAC/);
    assert.match(msg('links[0].srcPortRange'), /low must not be above high/);
  });

  it('checks each vxlan rule on its own', function () {
    const base = { kind: 'vxlan', name: 'vx0', vni: 5 };
    const cases = [
      [{ vni: undefined }, 'links[0].vni', /required/],
      [{ vni: 16777216 }, 'links[0].vni', /1\.\.16777215/],
      [{ vni: 1.5 }, 'links[0].vni', /integer/],
      [{ port: 0 }, 'links[0].port', /1\.\.65535/],
      [{ remote: '239.1.1.1' }, 'links[0].remote', /use group/],
      [{ remote: '0.0.0.0' }, 'links[0].remote', /unspecified/],
      [{ group: '10.0.0.1', dev: 'eth0' }, 'links[0].group', /not a multicast/],
      [{ group: 'ff02::1' }, 'links[0].dev', /needs dev/],
      [{ local: '224.0.0.1' }, 'links[0].local', /multicast/],
      [{ local: 'fd00::1', remote: '10.0.0.2' }, 'links[0].local', /one family/],
      [{ local: '10.0.0.300' }, 'links[0].local', /not an IPv4 or IPv6/],
      [{ dev: '' }, 'links[0].dev', /interface name/],
      [{ dev: -1 }, 'links[0].dev', /interface index/],
      [{ learning: 'yes' }, 'links[0].learning', /true or false/],
      [{ ageing: -1 }, 'links[0].ageing', /integer/],
      [{ ageing: 0 }, 'links[0].ageing', /default \(300 s\)/],
      [{ alias: 5 }, 'links[0].alias', /string/],
      [{ alias: 'é'.repeat(128) }, 'links[0].alias', /256 bytes; at most 255/],
      [{ srcPortRange: [1] }, 'links[0].srcPortRange', /\[low, high\]/],
      [{ srcPortRange: [0, 10] }, 'links[0].srcPortRange[0]', /1\.\.65535/],
      [{ mtu: 65536 }, 'links[0].mtu', /68\.\.65535/],
      [{ txqueuelen: -1 }, 'links[0].txqueuelen', /integer/],
      [{ address: '00:00:00:00:00:00' }, 'links[0].address', /all-zeros/],
      [{ address: 'zz:00:00:00:00:00' }, 'links[0].address', /not a MAC/],
      [{ up: 1 }, 'links[0].up', /true or false/],
      [{ master: 'a/b' }, 'links[0].master', /not a valid interface name/],
      [{ netns: '' }, 'links[0].netns', /namespace/],
      [{ name: 'a b' }, 'links[0].name', /not a valid interface name/],
      [{ name: undefined }, 'links[0].name', /expected an interface name/],
    ];
    for (const [patch, path, re] of cases) {
      const list = problems({ ...base, ...patch });
      assert.equal(list.length, 1, `${JSON.stringify(patch)}: ${JSON.stringify(list)}`);
      assert.equal(list[0].path, path, JSON.stringify(patch));
      assert.match(list[0].message, re, JSON.stringify(patch));
    }
  });

  it('checks ipip, veth and bridge rules', function () {
    const cases = [
      [{ kind: 'ipip', name: 't', local: 'fd00::1' }, ['links[0].local'], /IPv6, expected IPv4/],
      [{ kind: 'ipip', name: 't', remote: 'fd00::1' }, ['links[0].remote'], /expected IPv4/],
      [{ kind: 'ipip', name: 't', ttl: 64, pmtudisc: false }, ['links[0].pmtudisc'], /ttl 0/],
      [{ kind: 'ipip', name: 't', address: '02:00:00:00:00:01' }, ['links[0].address'], /no MAC/],
      [{ kind: 'ipip', name: 't', mtu: 65516 }, ['links[0].mtu'], /68\.\.65515/],
      [{ kind: 'ipip', name: 't', vni: 5 }, ['links[0].vni'], /unknown field/],
      [{ kind: 'veth', name: 'v0' }, ['links[0].peer'], /required/],
      [{ kind: 'veth', name: 'v0', peer: { name: 'v0' } }, ['links[0].peer.name'], /itself/],
      [{ kind: 'veth', name: 'v0', peer: { name: 'v1', mtu: 10, nets: 'x' } }, ['links[0].peer.mtu', 'links[0].peer.nets'], /68\.\.65535|unknown/],
      [{ kind: 'bridge', name: 'br0', stp: 1 }, ['links[0].stp'], /true or false/],
      [{ kind: 'bridge', name: 'br0', peer: { name: 'x' } }, ['links[0].peer'], /unknown field/],
      [{ kind: 'dummy', name: 'd0' }, ['links[0].kind'], /one of vxlan, ipip, veth, bridge/],
      [{ name: 'd0' }, ['links[0].kind'], /not a link kind/],
    ];
    for (const [spec, want, re] of cases) {
      const list = problems(spec);
      assert.deepEqual(paths(list), want, JSON.stringify(spec));
      for (const x of list) assert.match(x.message, re, JSON.stringify(spec));
    }
    assert.deepEqual(paths(problems(null)), ['links[0]']);
    assert.deepEqual(paths(problems([])), ['links[0]']);
  });

  it('validates link changes: known fields, master null allowed', function () {
    assert.deepEqual(problems({ mtu: 1400, up: false, master: null, name: 'x', address: '02:00:00:00:00:09', txqueuelen: 5, netns: 'ns1', alias: '' }, L.validateLinkChanges), []);
    assert.deepEqual(problems({}, L.validateLinkChanges), []);
    // The MTU is checked as a u32 here: the device's own bounds are links.set()'s to check.
    const list = problems({ mtu: -1, up: 'no', master: '', nme: 'x', address: 'ff:ff:ff:ff:ff:ff', netns: 5 }, L.validateLinkChanges);
    assert.deepEqual(paths(list), ['links[0].address', 'links[0].master', 'links[0].mtu', 'links[0].netns', 'links[0].nme', 'links[0].up']);
    assert.deepEqual(paths(problems('mtu 1400', L.validateLinkChanges)), ['links[0]']);
  });
});
