'use strict';
// The whole pod network: two sandbox hosts (namespaces on one switch), each running
// `netlink-agent overlay` (members from a node file) which writes the runtime file, and pods
// attached on each host by the plugin through libcni, taking their subnet and MTU from it.
// Pod to pod, UDP and TCP, both ways, per mode. ipip exists only in the VM lane's kernel.
const assert = require('node:assert/strict');
const { pollUntil } = require('../support/poll');
const fs = require('node:fs');
const path = require('node:path');
const { ip, ipJson, makeNetns, removeNetns } = require('../support/kernel');
const { startCli, killAll } = require('../cli/helpers');
const { cniDescribe, World, op, traffic } = require('./helpers');

const HOSTS = [
  { name: 'host1', nodeIP: '10.57.4.20', podCIDR: '10.244.1.0/24' },
  { name: 'host2', nodeIP: '10.57.4.21', podCIDR: '10.244.2.0/24' },
];
const hasIpip = fs.existsSync('/sys/module/ipip') || process.env.NETLINK_AGENT_VM === '1';

const until = (cond, ms, what) => pollUntil(cond, { ms, what, every: 50 });

cniDescribe('cni: pods on two hosts joined by `netlink-agent overlay`', function () {
  this.timeout(240000);
  let w;
  let hosts;
  let sw;
  beforeEach(function () {
    w = new World('cx');
    sw = makeNetns('cxsw');
    ip(sw, 'link', 'add', 'br0', 'type', 'bridge');
    ip(sw, 'link', 'set', 'br0', 'up');
    hosts = HOSTS.map((h, i) => {
      const ns = i === 0 ? w.host : makeNetns('cxh');
      const port = `sw${i}`;
      ip(sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip(sw, 'link', 'set', port, 'master', 'br0', 'up');
      ip(ns, 'link', 'set', 'lo', 'up');
      ip(ns, 'addr', 'add', `${h.nodeIP}/24`, 'dev', 'eth0');
      ip(ns, 'link', 'set', 'eth0', 'up');
      return { ...h, ns, runtimeFile: path.join(w.dir, `${h.name}.json`) };
    });
    fs.writeFileSync(path.join(w.dir, 'nodes.json'), JSON.stringify({ nodes: HOSTS }));
  });
  afterEach(async function () {
    await killAll();
    for (const h of hosts) if (h.ns !== w.host) removeNetns(h.ns);
    removeNetns(sw);
    w.cleanup();
  });

  /** Starts the agents, waits for their runtime files and routes, attaches one pod per host. */
  async function podNetwork(mode, hostSide) {
    const agents = hosts.map((h) =>
      startCli(['overlay', '--mode', mode, '--self', h.name, '--node-ip', h.nodeIP, '--nodes', path.join(w.dir, 'nodes.json'), '--netns', h.ns, '--runtime-file', h.runtimeFile]),
    );
    for (const h of hosts) {
      await until(() => fs.existsSync(h.runtimeFile), 30000, `${h.name}'s runtime file`);
      const other = hosts.find((o) => o !== h);
      await until(() => ipJson(h.ns, 'route', 'show', 'proto', '78').some((r) => r.dst === other.podCIDR), 30000, `${h.name}'s route to ${other.podCIDR}`);
    }
    const pods = [];
    for (const h of hosts) {
      const pod = w.pod();
      const list = w.conflist([{ type: 'netlink-agent', mode: hostSide, runtimeFile: h.runtimeFile, ipam: { dataDir: path.join(w.dir, h.name) } }]);
      const rep = await w.run(list, [op('ADD', `pod-${h.name}`, pod), op('CHECK', `pod-${h.name}`, pod)], { host: h.ns });
      for (const r of rep.results) assert.ok(r.ok, JSON.stringify(r.error));
      const address = rep.results[0].result.ips[0].address.split('/')[0];
      pods.push({ host: h, ns: pod, address, runtime: JSON.parse(fs.readFileSync(h.runtimeFile, 'utf8')) });
    }
    return { agents, pods };
  }

  async function bothWays(pods) {
    const [a, b] = pods;
    for (const [from, to] of [[a, b], [b, a]]) {
      const t = await traffic(from.ns, to.ns, to.address);
      assert.ok(t.udp.ok && t.tcp.ok, `${from.host.name} pod -> ${to.host.name} pod ${to.address}: ${JSON.stringify(t)}`);
      assert.deepEqual([...new Set(t.seen)], [from.address], 'no NAT on the way: the server sees the client pod\'s own address');
    }
  }

  it('host-gw, bridge host side: each pod gets an address of its node\'s subnet and the underlay MTU; pods talk both ways over UDP and TCP', async function () {
    const { pods } = await podNetwork('host-gw', 'bridge');
    assert.deepEqual(pods[0].runtime, { version: 1, node: 'host1', mode: 'host-gw', networks: [], subnets: ['10.244.1.0/24'], mtu: 1500 });
    assert.equal(pods[0].address, '10.244.1.2');
    assert.equal(pods[1].address, '10.244.2.2');
    await bothWays(pods);
  });

  it('vxlan, routed host side: the pods get the tunnel\'s MTU (1450) from the runtime file; pods talk both ways over UDP and TCP', async function () {
    const { pods } = await podNetwork('vxlan', 'routed');
    assert.equal(pods[0].runtime.mtu, 1450);
    assert.equal(ipJson(pods[0].ns, 'link', 'show', 'eth0')[0].mtu, 1450);
    assert.equal(pods[1].address, '10.244.2.2');
    await bothWays(pods);
  });

  it('vxlan, bridge host side: the bridge and the VTEP share the node\'s gateway address; pods talk both ways over UDP and TCP', async function () {
    const { pods } = await podNetwork('vxlan', 'bridge');
    await bothWays(pods);
  });

  it('ipip, bridge host side: pods talk both ways over UDP and TCP', async function () {
    if (!hasIpip) {
      console.log('      skipped: this kernel has no ipip (npm run test:vm runs this test on Debian\'s kernel)');
      this.skip();
    }
    const { pods } = await podNetwork('ipip', 'bridge');
    assert.equal(pods[0].runtime.mtu, 1480);
    await bothWays(pods);
  });
});
