'use strict';
// The plugin as a container runtime drives it: cnirt (libcni, Debian's golang-github-appc-cni-dev)
// runs ADD / CHECK / DEL with conflists inside a "host" namespace the test made, alone and
// chained with Debian's reference plugins. `ip` is the independent oracle.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { ip, ipJson } = require('../support/kernel');
const { cniDescribe, World, op, traffic, CLI } = require('./helpers');
const { execFileSync } = require('node:child_process');

const links = (ns) => ipJson(ns, 'link', 'show').map((l) => l.ifname).sort();
const hostEnds = (ns) => links(ns).filter((n) => n.startsWith('nla'));
const addrs = (ns, dev) => ipJson(ns, 'addr', 'show', 'dev', dev).flatMap((l) => l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`));
const sysctl = (ns, key) => execFileSync('ip', ['netns', 'exec', ns, 'cat', `/proc/sys/${key.replace(/\./g, '/')}`], { encoding: 'utf8' }).trim();

function okAll(report) {
  for (const [i, r] of report.results.entries()) assert.ok(r.ok, `op ${i}: ${JSON.stringify(r.error)}`);
  return report.results;
}

cniDescribe('cni: the plugin through libcni, as containerd drives it', function () {
  this.timeout(180000);
  let w;
  beforeEach(function () {
    w = new World('cn');
  });
  afterEach(function () {
    w.cleanup();
  });

  it('bridge mode: ADD gives the pod its address and default route and the bridge the gateway; CHECK passes; DEL removes it all; DEL twice succeeds', async function () {
    const pod = w.pod();
    const list = w.conflist([w.ours()]);
    const [add, check] = okAll(await w.run(list, [op('ADD', 'c1', pod), op('CHECK', 'c1', pod)]));
    const r = add.result;
    assert.equal(r.cniVersion, '1.0.0');
    assert.deepEqual(r.interfaces.map((i) => i.name).slice(0, 1), ['cni0']);
    assert.match(r.interfaces[1].name, /^nla[0-9a-f]{12}$/);
    assert.deepEqual(r.interfaces[2], { name: 'eth0', mac: r.interfaces[2].mac, sandbox: `/run/netns/${pod}` });
    assert.deepEqual(r.ips, [{ address: '10.88.0.2/24', gateway: '10.88.0.1', interface: 2 }]);
    assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }]);
    assert.ok(check.ok);
    // The kernel, read by iproute2.
    assert.deepEqual(addrs(w.host, 'cni0'), ['10.88.0.1/24']);
    assert.deepEqual(addrs(pod, 'eth0'), ['10.88.0.2/24']);
    assert.match(ip(pod, 'route', 'show', 'default'), /^default via 10\.88\.0\.1 dev eth0/);
    const hostEnd = ipJson(w.host, 'link', 'show', r.interfaces[1].name)[0];
    assert.equal(hostEnd.master, 'cni0');
    assert.equal(hostEnd.ifalias, `netlink-agent-cni podnet c1 eth0`);
    assert.equal(ipJson(pod, 'link', 'show', 'eth0')[0].address, r.interfaces[2].mac);
    assert.equal(sysctl(w.host, 'net.ipv4.ip_forward'), '1');
    assert.equal(sysctl(pod, 'net.ipv4.conf.eth0.arp_notify'), '1');
    assert.equal(fs.readFileSync(path.join(w.dataDir, 'podnet', '10.88.0.2'), 'utf8'), 'c1\r\neth0');
    // The bridge keeps the MAC it was made with when ports come and go.
    const brMac = ipJson(w.host, 'link', 'show', 'cni0')[0].address;
    assert.equal(brMac, r.interfaces[0].mac);
    okAll(await w.run(list, [op('DEL', 'c1', pod), op('DEL', 'c1', pod)]));
    assert.deepEqual(hostEnds(w.host), []);
    assert.deepEqual(links(pod), ['lo']);
    assert.deepEqual(w.reservations(), []);
    assert.deepEqual(addrs(w.host, 'cni0'), ['10.88.0.1/24'], 'the bridge and its gateway stay for the next pod');
  });

  it('hairpinMode: the host end reflects a pod\'s own traffic back to it (bridge port hairpin on)', async function () {
    const [a, b] = w.pods(2);
    const [ra] = okAll(await w.run(w.conflist([w.ours({ hairpinMode: true, bridge: 'cni7' })]), [op('ADD', 'ca', a)]));
    const port = (name) => JSON.parse(execFileSync('bridge', ['-n', w.host, '-j', '-d', 'link', 'show', 'dev', name], { encoding: 'utf8' }))[0];
    assert.equal(port(ra.result.interfaces[1].name).hairpin, true);
    const [rb] = okAll(await w.run(w.conflist([w.ours({ bridge: 'cni7' }, { ranges: [[{ subnet: '10.88.0.0/24', rangeStart: '10.88.0.100' }]] })], { name: 'plain' }), [op('ADD', 'cb', b)]));
    assert.equal(port(rb.result.interfaces[1].name).hairpin, false, 'off unless asked');
  });

  it('CHECK fails with the plugin\'s code when the pod lost its address or the host end is gone', async function () {
    const pod = w.pod();
    const list = w.conflist([w.ours()]);
    const [add] = okAll(await w.run(list, [op('ADD', 'c1', pod)]));
    ip(pod, 'addr', 'del', '10.88.0.2/24', 'dev', 'eth0');
    let [check] = (await w.run(list, [op('CHECK', 'c1', pod)])).results;
    assert.equal(check.ok, false);
    assert.equal(check.error.code, 101);
    assert.match(check.error.details, /eth0 lacks 10\.88\.0\.2\/24/);
    ip(w.host, 'link', 'del', add.result.interfaces[1].name);
    [check] = (await w.run(list, [op('CHECK', 'c1', pod)])).results;
    assert.match(check.error.details, /the host end nla[0-9a-f]+ is missing/);
    okAll(await w.run(list, [op('DEL', 'c1', pod)]));
    assert.deepEqual(w.reservations(), []);
  });

  it('dual stack in bridge mode: an IPv4 and an IPv6 address and default route each; two pods reach each other over both, UDP and TCP', async function () {
    const [a, b] = w.pods(2);
    const list = w.conflist([w.ours({}, { ranges: [[{ subnet: '10.88.0.0/24' }], [{ subnet: 'fd00:88::/64' }]] })]);
    const [ra, rb] = okAll(await w.run(list, [op('ADD', 'ca', a), op('ADD', 'cb', b)]));
    assert.deepEqual(ra.result.ips.map((x) => x.address), ['10.88.0.2/24', 'fd00:88::2/64']);
    assert.deepEqual(ra.result.routes, [{ dst: '0.0.0.0/0', gw: '10.88.0.1' }, { dst: '::/0', gw: 'fd00:88::1' }]);
    assert.deepEqual(addrs(w.host, 'cni0').sort(), ['10.88.0.1/24', 'fd00:88::1/64']);
    assert.match(ip(a, '-6', 'route', 'show', 'default'), /default via fd00:88::1 dev eth0/);
    for (const [from, to, r] of [[a, b, rb], [b, a, ra]]) {
      for (const address of r.result.ips.map((x) => x.address.split('/')[0])) {
        const t = await traffic(from, to, address);
        assert.ok(t.udp.ok && t.tcp.ok, `${from} -> ${address}: ${JSON.stringify(t)}`);
      }
    }
    okAll(await w.run(list, [op('CHECK', 'ca', a), op('DEL', 'ca', a), op('DEL', 'cb', b)]));
    assert.deepEqual(w.reservations(), []);
  });

  it('routed mode, dual stack: /32 and /128 host routes, proxy ARP / NDP on the host end, link-local gateways; pods reach each other through the host', async function () {
    const [a, b] = w.pods(2);
    const list = w.conflist([w.ours({ mode: 'routed' }, { ranges: [[{ subnet: '10.88.0.0/24' }], [{ subnet: 'fd00:88::/64' }]] })]);
    const [ra, rb] = okAll(await w.run(list, [op('ADD', 'ca', a), op('ADD', 'cb', b), op('CHECK', 'ca', a)]));
    const hostEnd = ra.result.interfaces[0].name;
    assert.equal(ra.result.interfaces.length, 2, 'no bridge in routed mode');
    assert.deepEqual(ra.result.ips, [{ address: '10.88.0.2/32', interface: 1 }, { address: 'fd00:88::2/128', interface: 1 }]);
    assert.deepEqual(ra.result.routes, [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }, { dst: '::/0', gw: 'fe80::1' }]);
    assert.ok(!links(w.host).includes('cni0'));
    assert.match(ip(w.host, 'route', 'show', '10.88.0.2'), new RegExp(`10\\.88\\.0\\.2 dev ${hostEnd} proto static scope link`));
    assert.match(ip(w.host, '-6', 'route', 'show', 'fd00:88::2'), new RegExp(`fd00:88::2 dev ${hostEnd} proto static`));
    assert.equal(sysctl(w.host, `net.ipv4.conf.${hostEnd}.proxy_arp`), '1');
    assert.equal(sysctl(w.host, `net.ipv6.conf.${hostEnd}.proxy_ndp`), '1');
    assert.match(ip(w.host, '-6', 'addr', 'show', 'dev', hostEnd), /inet6 fe80::1\/64/);
    assert.match(ip(a, 'route', 'show'), /default via 169\.254\.1\.1 dev eth0/);
    assert.match(ip(a, 'neigh', 'show', '169.254.1.1'), /lladdr .* PERMANENT/);
    assert.match(ip(a, '-6', 'route', 'show', 'default'), /default via fe80::1 dev eth0/);
    for (const address of rb.result.ips.map((x) => x.address.split('/')[0])) {
      const t = await traffic(a, b, address);
      assert.ok(t.udp.ok && t.tcp.ok, `${address}: ${JSON.stringify(t)}`);
    }
    okAll(await w.run(list, [op('DEL', 'ca', a), op('DEL', 'cb', b)]));
    assert.equal(ip(w.host, 'route', 'show', '10.88.0.2'), '');
    assert.deepEqual(hostEnds(w.host), []);
  });

  it('speaks 0.3.1 and 0.4.0 to older runtimes (each IP carries its version) and 1.1.0 (interfaces carry their MTU)', async function () {
    for (const cniVersion of ['0.3.1', '0.4.0']) {
      const pod = w.pod();
      const list = w.conflist([w.ours({ mtu: 1400 })], { cniVersion, name: `v${cniVersion.replace(/\./g, '')}` });
      const ops = [op('ADD', 'c', pod), ...(cniVersion === '0.3.1' ? [] : [op('CHECK', 'c', pod)]), op('DEL', 'c', pod)];
      const [add] = okAll(await w.run(list, ops));
      assert.equal(add.result.cniVersion, cniVersion);
      assert.equal(add.result.ips[0].version, '4');
      assert.deepEqual(links(pod), ['lo'], 'DEL removed eth0');
    }
    // libcni 1.1.2 stops at 1.0.0: a 1.1.0 runtime is played by calling the plugin directly.
    const pod = w.pod();
    const env = { CNI_CONTAINERID: 'c11', CNI_NETNS: `/run/netns/${pod}`, CNI_IFNAME: 'eth0' };
    const conf = { ...w.ours({ mtu: 1400 }), cniVersion: '1.1.0', name: 'v110' };
    const out = await w.direct({ ...env, CNI_COMMAND: 'ADD' }, conf);
    assert.equal(out.code, 0, out.stdout);
    assert.equal(out.json.cniVersion, '1.1.0');
    assert.deepEqual(out.json.interfaces.slice(1).map((i) => i.mtu), [1400, 1400]);
    assert.equal(out.json.ips[0].version, undefined);
    assert.equal(ipJson(pod, 'link', 'show', 'eth0')[0].mtu, 1400);
    assert.equal((await w.direct({ ...env, CNI_COMMAND: 'CHECK' }, { ...conf, prevResult: out.json })).code, 0);
    assert.equal((await w.direct({ ...env, CNI_COMMAND: 'DEL' }, conf)).code, 0);
  });

  it('chained with tuning, portmap and bandwidth: prevResult passes along the chain, CHECK and DEL walk it', async function () {
    const pod = w.pod();
    const list = w.conflist([
      w.ours(),
      { type: 'tuning', sysctl: { 'net.core.somaxconn': '512' }, mtu: 1300 },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'bandwidth', ingressRate: 8000000, ingressBurst: 1000000, egressRate: 8000000, egressBurst: 1000000 },
    ]);
    const add = { ...op('ADD', 'chain1', pod), capabilityArgs: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] } };
    const [r] = okAll(await w.run(list, [add, op('CHECK', 'chain1', pod)]));
    // bandwidth adds its ifb device to the result; ours come first, unchanged.
    assert.deepEqual(r.result.interfaces.slice(0, 3).map((i) => i.name), ['cni0', r.result.interfaces[1].name, 'eth0']);
    assert.deepEqual(r.result.ips, [{ address: '10.88.0.2/24', gateway: '10.88.0.1', interface: 2 }]);
    assert.equal(sysctl(pod, 'net.core.somaxconn'), '512', 'tuning set its sysctl in the pod');
    assert.equal(ipJson(pod, 'link', 'show', 'eth0')[0].mtu, 1300, 'tuning changed the MTU after us');
    assert.match(execFileSync('ip', ['netns', 'exec', w.host, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' }), /18080/);
    assert.match(execFileSync('ip', ['netns', 'exec', w.host, 'tc', 'qdisc', 'show', 'dev', r.result.interfaces[1].name], { encoding: 'utf8' }), /tbf/);
    okAll(await w.run(list, [op('DEL', 'chain1', pod), op('DEL', 'chain1', pod)]));
    assert.deepEqual(hostEnds(w.host), []);
    assert.deepEqual(w.reservations(), []);
  });

  it('50 concurrent ADDs get 50 distinct addresses; DEL of all frees all; DEL twice succeeds', async function () {
    const pods = w.pods(50);
    const list = w.conflist([w.ours()]);
    const adds = okAll(await w.run(list, pods.map((p, i) => op('ADD', `c${i}`, p)), { concurrency: 50 }));
    const got = adds.map((r) => r.result.ips[0].address);
    assert.equal(new Set(got).size, 50, got.join());
    assert.equal(w.reservations().length, 50);
    assert.equal(hostEnds(w.host).length, 50);
    for (const [i, p] of pods.entries()) assert.deepEqual(addrs(p, 'eth0'), [got[i]]);
    okAll(await w.run(list, pods.map((p, i) => op('DEL', `c${i}`, p)), { concurrency: 50 }));
    okAll(await w.run(list, pods.map((p, i) => op('DEL', `c${i}`, p)), { concurrency: 50 }));
    assert.deepEqual(w.reservations(), []);
    assert.deepEqual(hostEnds(w.host), []);
  });

  it('a plugin killed in the middle of ADD leaves nothing that the next DEL does not clean', async function () {
    const conf = { ...w.ours({}, { ranges: [[{ subnet: '10.88.0.0/24' }], [{ subnet: 'fd00:88::/64' }]] }), cniVersion: '1.0.0', name: 'podnet' };
    const { Rtnl } = require('../../dist');
    const nl = await Rtnl.open({ netns: w.host });
    const mon = nl.monitor({ groups: ['link'] });
    const resDir = path.join(w.dataDir, 'podnet');
    fs.mkdirSync(resDir, { recursive: true });
    // Kill points: the moment the veth pair appears, the moment the first reservation file
    // appears, and that plus a few milliseconds (host and pod being configured).
    const stages = [
      { name: 'veth created', arm: (kill) => mon.on('link', (e) => e.action === 'new' && e.object.name.startsWith('nla') && kill()) },
      { name: 'first reservation', arm: (kill) => watchers.push(fs.watch(resDir, (_, f) => f && /[.:]/.test(f) && !f.startsWith('last') && kill())) },
      ...[2, 4, 8].map((ms) => ({ name: `${ms} ms after the first reservation`, arm: (kill) => watchers.push(fs.watch(resDir, (_, f) => f && /[.:]/.test(f) && !f.startsWith('last') && setTimeout(kill, ms))) })),
    ];
    const watchers = [];
    let midway = 0;
    try {
      for (const [k, stage] of stages.entries()) {
        const pod = w.pod();
        const env = { CNI_CONTAINERID: `k${k}`, CNI_NETNS: `/run/netns/${pod}`, CNI_IFNAME: 'eth0' };
        let child;
        let killed = false;
        stage.arm(() => {
          if (!killed && child) child.kill('SIGKILL');
          killed = true;
        });
        const r = await w.direct({ ...env, CNI_COMMAND: 'ADD' }, conf, (c) => (child = c));
        mon.removeAllListeners('link');
        for (const x of watchers.splice(0)) x.close();
        const left = hostEnds(w.host).length + w.reservations().length + links(pod).length - 1;
        if (r.signal === 'SIGKILL' && left > 0) midway++;
        const del = await w.direct({ ...env, CNI_COMMAND: 'DEL' }, conf);
        assert.equal(del.code, 0, del.stdout);
        assert.deepEqual(hostEnds(w.host), [], `killed at "${stage.name}" (${r.signal ?? `exit ${r.code}`}), then DEL: no host end left`);
        assert.deepEqual(w.reservations(), [], `killed at "${stage.name}", then DEL: no reservation left`);
        assert.deepEqual(links(pod), ['lo'], `killed at "${stage.name}", then DEL: nothing in the pod`);
      }
    } finally {
      for (const x of watchers) x.close();
      nl.close();
    }
    assert.ok(midway >= 3, `${midway} of ${stages.length} kills landed after the plugin had created something`);
  });
});

cniDescribe('cni: bad input gets the spec\'s error JSON and creates nothing', function () {
  this.timeout(120000);
  let w;
  let pod;
  let before;
  beforeEach(function () {
    w = new World('cb');
    pod = w.pod();
    before = { host: links(w.host), pod: links(pod) };
  });
  afterEach(function () {
    w.cleanup();
  });

  function nothingCreated() {
    assert.deepEqual(links(w.host), before.host, 'no link in the host');
    assert.deepEqual(links(pod), before.pod, 'no link in the pod');
    assert.deepEqual(w.reservations(), [], 'no reservation');
  }

  async function addDirect(conf, env = {}) {
    const r = await w.direct({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'bad1', CNI_NETNS: `/run/netns/${pod}`, CNI_IFNAME: 'eth0', ...env }, conf);
    assert.notEqual(r.code, 0);
    assert.deepEqual(Object.keys(r.json).sort(), ['cniVersion', 'code', 'details', 'msg']);
    return r.json;
  }

  it('no subnet in the configuration and no runtime file: code 11, saying what to give or run', async function () {
    const list = w.conflist([{ type: 'netlink-agent', runtimeFile: path.join(w.dir, 'network.json'), ipam: { dataDir: w.dataDir } }]);
    const [r] = (await w.run(list, [op('ADD', 'c1', pod)])).results;
    assert.equal(r.error.code, 11);
    assert.equal(r.error.msg, 'no subnet to allocate from');
    assert.match(r.error.details, /no ipam\.ranges .* no runtime file at .*network\.json: give ranges, or run `netlink-agent overlay` on this node/);
    nothingCreated();
  });

  it('a subnet that is not this node\'s (per the runtime file): code 7 naming the range', async function () {
    const file = path.join(w.dir, 'network.json');
    fs.writeFileSync(file, JSON.stringify({ version: 1, node: 'n1', mode: 'vxlan', networks: ['10.244.0.0/16'], subnets: ['10.244.1.0/24'], mtu: 1450 }));
    const list = w.conflist([w.ours({ runtimeFile: file }, { ranges: [[{ subnet: '10.244.2.0/24' }]] })]);
    const [r] = (await w.run(list, [op('ADD', 'c1', pod)])).results;
    assert.equal(r.error.code, 7);
    assert.match(r.error.details, /^ipam\.ranges\[0\]\[0\]\.subnet: 10\.244\.2\.0\/24 is not inside this node's pod subnet 10\.244\.1\.0\/24/);
    nothingCreated();
  });

  it('an interface name over 15 bytes: libcni refuses it, and so does the plugin called directly (code 4 naming CNI_IFNAME)', async function () {
    const list = w.conflist([w.ours()]);
    const [r] = (await w.run(list, [op('ADD', 'c1', pod, 'eth0-much-too-long')])).results;
    assert.equal(r.ok, false);
    assert.match(r.error.msg, /interface name is too long/);
    const e = await addDirect({ ...w.ours(), cniVersion: '1.0.0', name: 'podnet' }, { CNI_IFNAME: 'eth0-much-too-long' });
    assert.equal(e.code, 4);
    assert.match(e.details, /CNI_IFNAME: "eth0-much-too-long" is longer than 15 bytes/);
    nothingCreated();
  });

  it('an unknown cniVersion: code 1 listing the versions spoken', async function () {
    const list = w.conflist([w.ours()], { cniVersion: '9.9.9' });
    const [r] = (await w.run(list, [op('ADD', 'c1', pod)])).results;
    assert.equal(r.error.code, 1);
    assert.match(r.error.details, /cniVersion "9\.9\.9" is not one this plugin speaks \(0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0\)/);
    nothingCreated();
  });

  it('a netns path that is not a network namespace: code 4; one that does not exist: code 3', async function () {
    const conf = { ...w.ours(), cniVersion: '1.0.0', name: 'podnet' };
    let e = await addDirect(conf, { CNI_NETNS: '/proc/self/ns/mnt' });
    assert.equal(e.code, 4);
    assert.equal(e.msg, 'CNI_NETNS is not a network namespace');
    const plain = path.join(w.dir, 'not-a-namespace');
    fs.writeFileSync(plain, '');
    e = await addDirect(conf, { CNI_NETNS: plain });
    assert.equal(e.code, 4);
    e = await addDirect(conf, { CNI_NETNS: '/run/netns/nla-no-such-namespace' });
    assert.equal(e.code, 3);
    nothingCreated();
  });

  it('invalid fields are all named at once (code 7), unknown ones too (code 2), JSON that is not JSON is code 6', async function () {
    const e = await addDirect({ cniVersion: '1.0.0', name: 'podnet', type: 'netlink-agent', mode: 'tunnel', mtu: 20, ipam: { ranges: [[{ subnet: '10.1.0.0/33' }]], routes: [{ dst: 'x' }], dataDir: w.dataDir } });
    assert.equal(e.code, 7);
    for (const f of ['mode:', 'mtu:', 'ipam.ranges[0][0].subnet:', 'ipam.routes[0].dst:']) assert.ok(e.details.includes(f), `${f} in ${e.details}`);
    const u = await addDirect({ ...w.ours(), cniVersion: '1.0.0', name: 'podnet', bridgee: 'cni1' });
    assert.equal(u.code, 2);
    assert.equal(u.details, 'bridgee: "cni1"');
    const j = await w.direct({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'x', CNI_NETNS: `/run/netns/${pod}`, CNI_IFNAME: 'eth0' }, '{"cniVersion":');
    assert.equal(j.json.code, 6);
    nothingCreated();
  });

  it('an interface of that name already in the pod: an error, and the existing one is left alone', async function () {
    ip(pod, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    before.pod = links(pod);
    const e = await addDirect({ ...w.ours(), cniVersion: '1.0.0', name: 'podnet' });
    assert.match(e.details, /eth0 exists in/);
    nothingCreated();
  });
});

cniDescribe('cni: runtime file, GC, STATUS and `netlink-agent cni gc`', function () {
  this.timeout(120000);
  let w;
  beforeEach(function () {
    w = new World('cg');
  });
  afterEach(function () {
    w.cleanup();
  });

  it('takes the node\'s subnets and MTU from the runtime file when the configuration has no ranges', async function () {
    const file = path.join(w.dir, 'network.json');
    fs.writeFileSync(file, JSON.stringify({ version: 1, node: 'n1', mode: 'vxlan', networks: ['10.244.0.0/16'], subnets: ['10.244.7.0/24'], mtu: 1450 }));
    const pod = w.pod();
    const list = w.conflist([{ type: 'netlink-agent', runtimeFile: file, ipam: { dataDir: w.dataDir } }]);
    const [r] = okAll(await w.run(list, [op('ADD', 'c1', pod)]));
    assert.deepEqual(r.result.ips, [{ address: '10.244.7.2/24', gateway: '10.244.7.1', interface: 2 }]);
    assert.equal(ipJson(pod, 'link', 'show', 'eth0')[0].mtu, 1450);
    assert.equal(ipJson(w.host, 'link', 'show', r.result.interfaces[1].name)[0].mtu, 1450);
    okAll(await w.run(list, [op('DEL', 'c1', pod)]));
  });

  it('GC (spec 1.1.0) removes what belongs to attachments not in cni.dev/valid-attachments; STATUS says whether ADD can work', async function () {
    const pods = w.pods(3);
    const conf = { ...w.ours(), cniVersion: '1.1.0', name: 'podnet' };
    for (const [i, p] of pods.entries()) {
      const r = await w.direct({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: `c${i}`, CNI_NETNS: `/run/netns/${p}`, CNI_IFNAME: 'eth0' }, conf);
      assert.equal(r.code, 0, r.stdout);
    }
    // Another network's host end and reservation are not this GC's business.
    const other = w.pod();
    assert.equal((await w.direct({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'x', CNI_NETNS: `/run/netns/${other}`, CNI_IFNAME: 'eth0' }, { ...conf, name: 'othernet', bridge: 'cni1', ipam: { ...conf.ipam, ranges: [[{ subnet: '10.89.0.0/24' }]] } })).code, 0);
    const gc = await w.direct({ CNI_COMMAND: 'GC' }, { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }] });
    assert.equal(gc.code, 0, gc.stdout);
    assert.equal(gc.stdout, '');
    assert.deepEqual(w.reservations(), ['10.88.0.3']);
    assert.deepEqual(w.reservations('othernet'), ['10.89.0.2']);
    assert.equal(hostEnds(w.host).length, 2, 'c1\'s and othernet\'s host ends are left');
    assert.deepEqual(links(pods[0]), ['lo']);
    assert.deepEqual(links(pods[1]), ['eth0', 'lo']);
    // GC and STATUS belong to 1.1.0.
    const old = await w.direct({ CNI_COMMAND: 'GC' }, { ...conf, cniVersion: '1.0.0' });
    assert.equal(old.json.code, 1);
    assert.equal((await w.direct({ CNI_COMMAND: 'STATUS' }, conf)).code, 0);
    const status = await w.direct({ CNI_COMMAND: 'STATUS' }, { cniVersion: '1.1.0', name: 'podnet', type: 'netlink-agent', runtimeFile: path.join(w.dir, 'none.json') });
    assert.equal(status.json.code, 50);
    assert.match(status.json.details, /run `netlink-agent overlay`/);
  });

  it('`netlink-agent cni gc` releases the reservations of pods whose namespace went away without a DEL', async function () {
    const [a, b] = w.pods(2);
    const list = w.conflist([w.ours()]);
    okAll(await w.run(list, [op('ADD', 'ca', a), op('ADD', 'cb', b)]));
    // The pod's namespace goes; its veth pair dies with it; the reservation stays behind.
    w.made.splice(w.made.indexOf(a), 1);
    require('../support/kernel').removeNetns(a);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(w.reservations(), ['10.88.0.2', '10.88.0.3']);
    const out = execFileSync(process.execPath, [CLI, 'cni', 'gc', '--network', 'podnet', '--data-dir', w.dataDir, '--netns', w.host, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(out, '');
    assert.deepEqual(w.reservations(), ['10.88.0.3']);
    okAll(await w.run(list, [op('DEL', 'cb', b)]));
  });
});
