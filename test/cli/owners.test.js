'use strict';
// `overlay` and `watch --config` in one namespace (issue 17 item 14): each owns what it makes
// (routes by protocol, links by an alias of its owner name and protocol), their defaults
// differ, and neither touches the other's objects: no link recreated, no route deleted.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { kernelDescribe, netnsPerTest, ip, ipJson, hostLike } = require('../support/kernel');
const { runCli, startCli, killAll } = require('./helpers');

const ROUTES = 2000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

kernelDescribe('cli: overlay and watch --config in one namespace (owners)', function () {
  this.timeout(60000);
  const ns = netnsPerTest('cliown');
  let dir;
  afterEach(async function () {
    await killAll();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('with their default identities neither touches the other\'s links or routes', async function () {
    hostLike(ns(), '10.62.0.1/24');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-cli-owners-'));
    const nodes = path.join(dir, 'nodes.json');
    fs.writeFileSync(nodes, JSON.stringify([
      { name: 'n1', nodeIP: '10.62.0.1', podCIDR: '10.203.1.0/24' },
      { name: 'n2', nodeIP: '10.62.0.2', podCIDR: '10.203.2.0/24' },
    ]));
    const config = path.join(dir, 'desired.json');
    const routes = Array.from({ length: ROUTES }, (_, i) => ({ dst: `10.90.${i >> 8}.${i & 255}/32`, via: '10.62.0.254', dev: 'eth0' }));
    fs.writeFileSync(config, JSON.stringify({ links: [{ kind: 'veth', name: 'cfg0', peer: { name: 'cfg1' }, up: true }], routes }));

    const overlay = startCli(['overlay', '--mode', 'vxlan', '--self', 'n1', '--node-ip', '10.62.0.1', '--nodes', nodes, '--netns', ns(), '--json']);
    await overlay.waitFor(/"event":"converged"/);
    const watch = startCli(['watch', '--config', config, '--netns', ns(), '--json']);
    await watch.waitFor(/"event":"converged"/);
    const index = (name) => ipJson(ns(), 'link', 'show').find((l) => l.ifname === name)?.ifindex;
    const count = (proto) => ipJson(ns(), 'route', 'show', 'proto', String(proto)).length;
    const before = { vxlan0: index('vxlan0'), cfg0: index('cfg0'), p77: count(77), p78: count(78) };
    assert.deepEqual(before.p77, ROUTES);
    assert.deepEqual(before.p78, 1, 'the overlay\'s route to n2');
    const changes = (a) => a.count(/"event":"change"/);
    const settled = { overlay: changes(overlay), watch: changes(watch) };
    await sleep(3000); // several debounce cycles of both watches
    assert.deepEqual({ vxlan0: index('vxlan0'), cfg0: index('cfg0'), p77: count(77), p78: count(78) }, before, 'no link recreated, no route lost');
    assert.deepEqual({ overlay: changes(overlay), watch: changes(watch) }, settled, 'no change after both converged');
    assert.match(ip(ns(), '-d', 'link', 'show', 'vxlan0'), /alias netlink-agent-overlay\/78/);
    assert.match(ip(ns(), '-d', 'link', 'show', 'cfg0'), /alias netlink-agent\b/);
    // A plan of the config owner, beside the running overlay, plans nothing for the overlay's objects.
    const plan = runCli(['plan', '--config', config, '--netns', ns()]);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.doesNotMatch(plan.stdout, /vxlan0|10\.203\./);
    // The identities are settable: as the overlay's owner, the plan owns vxlan0 (not in this
    // config, so it would go) and still never deletes the config owner's link.
    const asOverlay = runCli(['plan', '--config', config, '--netns', ns(), '--owner', 'netlink-agent-overlay', '--protocol', '78', '--json']);
    const ops = JSON.parse(asOverlay.stdout).ops;
    assert.ok(!ops.some((o) => o.action === 'delete' && o.key === 'cfg0'));
    assert.ok(ops.some((o) => o.action === 'delete' && o.kind === 'link' && o.key === 'vxlan0'), 'the overlay\'s identity owns vxlan0');
    for (const a of [overlay, watch]) a.child.kill('SIGTERM');
    assert.deepEqual((await Promise.all([overlay.exited, watch.exited])).map((e) => e.code), [0, 0]);
  });
});
