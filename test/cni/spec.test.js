'use strict';
// The CNI layer without a kernel: configuration and environment parsing (every problem named,
// the spec's codes), results in each version's shape, VERSION, and the names DEL finds again.
const assert = require('node:assert/strict');
const { parseNetConf, parseEnv, runPlugin, toVersion, parseResult, hostVethName, CNI_ERR, SUPPORTED_VERSIONS } = require('../../dist/cni');

const base = { cniVersion: '1.0.0', name: 'podnet', type: 'netlink-agent', ipam: { ranges: [[{ subnet: '10.88.0.0/24' }]] } };
const code = (fn) => {
  try {
    fn();
  } catch (e) {
    return { code: e.code, msg: e.msg, details: e.details };
  }
  return undefined;
};

describe('cni: configuration, environment, results', function () {
  it('fills in the defaults: bridge mode on cni0 as gateway, host-local\'s dataDir, the agent\'s runtime file', function () {
    const c = parseNetConf(base);
    assert.equal(c.mode, 'bridge');
    assert.equal(c.bridge, 'cni0');
    assert.equal(c.isGateway, true);
    assert.equal(c.hairpinMode, false);
    assert.equal(c.ipam.dataDir, '/var/lib/cni/networks');
    assert.equal(c.runtimeFile, '/run/netlink-agent/network.json');
    assert.equal(c.ipam.ranges[0][0].subnet, '10.88.0.0/24');
    assert.equal(c.ipam.routes, undefined);
  });

  it('reads host-local\'s legacy single range (subnet, rangeStart, rangeEnd, gateway) too', function () {
    const c = parseNetConf({ ...base, ipam: { type: 'host-local', subnet: '10.1.2.0/24', rangeStart: '10.1.2.100', gateway: '10.1.2.254' } });
    const r = c.ipam.ranges[0][0];
    assert.equal(r.start, 0x0a010264n);
    assert.equal(r.gateway, 0x0a0102fen);
  });

  it('codes: 1 for a version it does not speak, 2 for an unknown field (key and value), 7 naming every bad field, 6 for a bad prevResult', function () {
    assert.deepEqual(code(() => parseNetConf({ ...base, cniVersion: '0.2.0' })).code, CNI_ERR.INCOMPATIBLE_VERSION);
    assert.deepEqual(code(() => parseNetConf({ ...base, bridgee: 'x' })), { code: 2, msg: 'unsupported field in the network configuration', details: 'bridgee: "x"' });
    assert.equal(code(() => parseNetConf({ ...base, ipMasq: true })).code, 2);
    const bad = code(() =>
      parseNetConf({
        ...base,
        name: 'bad name',
        mode: 'l3',
        bridge: 'a-bridge-name-too-long',
        mtu: 10,
        sysctl: { 'kernel.pid_max': 1 },
        ipam: { ranges: [[{ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' }], [{ subnet: '10.0.0.128/25' }]], routes: [{ dst: '0.0.0.0/0', gw: 'fd00::1' }], dataDir: 'rel', wat: 1 },
      }),
    );
    assert.equal(bad.code, 7);
    for (const field of ['name:', 'mode:', 'bridge:', 'mtu:', 'sysctl.kernel.pid_max:', 'ipam.wat:', 'ipam.dataDir:', 'ipam.ranges[0][1].subnet: IPv6 in a range set of IPv4', 'ipam.ranges[1][0]: overlaps the range of 10.0.0.0/24', 'ipam.routes[0].gw:']) {
      assert.ok(bad.details.includes(field), `${field} in ${bad.details}`);
    }
    assert.equal(code(() => parseNetConf({ ...base, prevResult: { ips: 'nope' } })).code, 6);
  });

  it('environment: every missing or bad CNI_* variable named at once (code 4); DEL needs no CNI_NETNS', function () {
    const e = code(() => parseEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: '-x', CNI_IFNAME: 'a/b', CNI_ARGS: 'FOO=1' }));
    assert.equal(e.code, 4);
    for (const v of ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_NETNS: missing', 'CNI_ARGS: unknown argument FOO']) assert.ok(e.details.includes(v), `${v} in ${e.details}`);
    assert.equal(code(() => parseEnv({ CNI_COMMAND: 'REMOVE' })).code, 4);
    const d = parseEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.88.0.9' });
    assert.equal(d.netns, '');
    assert.deepEqual(d.requestedIps, ['10.88.0.9']);
  });

  it('writes results in the shape of the configuration\'s version and reads any of them back', function () {
    const r = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'nla1', mac: '0a:00:00:00:00:01', mtu: 1450 }, { name: 'eth0', mac: '0a:00:00:00:00:02', mtu: 1450, sandbox: '/run/netns/p' }],
      ips: [{ address: '10.88.0.2/24', gateway: '10.88.0.1', interface: 1 }, { address: 'fd00::2/64', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.88.0.1', priority: 5 }],
    };
    const v031 = toVersion(r, '0.3.1');
    assert.deepEqual(v031.ips.map((x) => x.version), ['4', '6']);
    assert.equal(v031.interfaces[0].mtu, undefined);
    assert.equal(v031.routes[0].priority, undefined);
    const v100 = toVersion(r, '1.0.0');
    assert.equal(v100.ips[0].version, undefined);
    assert.equal(v100.interfaces[1].mtu, undefined);
    const v110 = toVersion(r, '1.1.0');
    assert.equal(v110.interfaces[1].mtu, 1450);
    assert.equal(v110.routes[0].priority, 5);
    assert.deepEqual(parseResult(v031).ips, r.ips);
    assert.deepEqual(parseResult(JSON.parse(JSON.stringify(v110))).interfaces, r.interfaces);
  });

  it('VERSION answers in the version asked (or the newest) with every version spoken; errors are the spec\'s JSON on stdout with exit 1', async function () {
    const v = await runPlugin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    assert.equal(v.exitCode, 0);
    assert.deepEqual(JSON.parse(v.stdout), { cniVersion: '0.4.0', supportedVersions: [...SUPPORTED_VERSIONS] });
    assert.equal(JSON.parse((await runPlugin({ CNI_COMMAND: 'VERSION' }, '')).stdout).cniVersion, '1.1.0');
    const e = await runPlugin({ CNI_COMMAND: 'CHECK', CNI_CONTAINERID: 'c', CNI_NETNS: '/x', CNI_IFNAME: 'eth0' }, JSON.stringify({ ...base, cniVersion: '0.3.1' }));
    assert.equal(e.exitCode, 1);
    assert.deepEqual(JSON.parse(e.stdout), { cniVersion: '0.3.1', code: 1, msg: 'incompatible CNI version', details: 'CHECK needs cniVersion 0.4.0 or later, the configuration says 0.3.1' });
    const none = await runPlugin({}, '{}');
    assert.equal(JSON.parse(none.stdout).code, 4);
  });

  it('the host end\'s name: "nla" and 12 hex digits (15 bytes), the same for the same attachment, different per interface', function () {
    const a = hostVethName('3f6940ab5ab43bc522569d15b23f8c1bbde1d7678b080398506924fc01d72755', 'eth0');
    assert.match(a, /^nla[0-9a-f]{12}$/);
    assert.equal(a, hostVethName('3f6940ab5ab43bc522569d15b23f8c1bbde1d7678b080398506924fc01d72755', 'eth0'));
    assert.notEqual(a, hostVethName('3f6940ab5ab43bc522569d15b23f8c1bbde1d7678b080398506924fc01d72755', 'net1'));
    // Pinned: a plugin upgrade must find host ends an older version made.
    assert.equal(hostVethName('c1', 'eth0'), 'nlaf53f02b3bfe9');
  });
});
