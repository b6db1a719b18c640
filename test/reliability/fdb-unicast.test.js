'use strict';
// A kernel fact the reconciler's FDB handling depends on, and the gap it leaves in "validates
// before writing": a vxlan device keeps ONE remote per unicast MAC. `append` adds remotes only
// to the all-zero and multicast MACs; for a unicast MAC that exists it is acknowledged and
// ignored (drivers/net/vxlan: vxlan_fdb_update_existing).
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { ValidationError } = require('../../dist/rtnl');
const { kernelDescribe, netnsPerTest } = require('../support/kernel');
const { underlay, overlay } = require('./helpers');

kernelDescribe('reliability: FDB remotes of a unicast MAC', function () {
  const ns = netnsPerTest('fdbu');
  let nl;
  afterEach(function () {
    if (nl) nl.close();
    nl = undefined;
  });

  it('the kernel acknowledges a second remote for a unicast MAC and keeps only the first; the all-zero MAC keeps both', async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns() });
    await nl.links.add({ kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, dev: 'eth0', learning: false });
    const mac = '02:00:00:00:00:01';
    await nl.fdb.append({ dev: 'vxlan0', mac, dst: '10.57.4.21' });
    await nl.fdb.append({ dev: 'vxlan0', mac, dst: '10.57.4.22' }); // no error...
    await nl.fdb.append({ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: '10.57.4.21' });
    await nl.fdb.append({ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: '10.57.4.22' });
    const entries = (await nl.fdb.list({ dev: 'vxlan0' })).filter((e) => e.dst).map((e) => `${e.mac} ${e.dst}`).sort();
    assert.deepEqual(entries, ['00:00:00:00:00:00 10.57.4.21', '00:00:00:00:00:00 10.57.4.22', `${mac} 10.57.4.21`]); // ...and no second remote
    const oracle = execFileSync('ip', ['netns', 'exec', ns(), 'bridge', 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' });
    assert.doesNotMatch(oracle, /02:00:00:00:00:01 dst 10\.57\.4\.22/);
  });

  it('a desired state with two remotes for one unicast MAC on a device is a ValidationError, nothing sent', async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns() });
    const desired = overlay([1]);
    desired.fdb.push({ ...desired.fdb[0], dst: '10.57.9.1' });
    const r = new Reconciler(nl);
    const before = nl.modifyingRequests();
    await assert.rejects(r.apply(desired), (e) => e instanceof ValidationError && /fdb\[1\]/.test(e.message));
    assert.equal(nl.modifyingRequests(), before);
  });
});
