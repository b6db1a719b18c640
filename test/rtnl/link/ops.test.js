'use strict';
// links.set / del / get / list on the real kernel, checked with iproute2, and their errors.
const assert = require('node:assert/strict');
const { Rtnl, ValidationError } = require('../../../dist/rtnl');
const { NetlinkError } = require('../../../dist/wire');
const { kernelDescribe, netnsPerTest, makeNetns, removeNetns, ipJson } = require('../../support/kernel');
const S = require('./support');

kernelDescribe('rtnl links on the real kernel: set, del, get, list and their errors', function () {
  const ns = netnsPerTest('linkops');
  let nl;
  beforeEach(async function () {
    nl = await Rtnl.open({ netns: ns() });
    await nl.links.add({ kind: 'veth', name: 'veth0', peer: { name: 'veth1' } });
    await nl.links.add({ kind: 'bridge', name: 'br0' });
  });
  afterEach(function () {
    nl?.close();
    nl = undefined;
  });

  it('set: mtu, address, txqueuelen, up, down, master, nomaster, each checked with ip', async function () {
    const show = () => S.ipLink(ns(), 'veth0');
    await nl.links.set('veth0', { mtu: 1400 });
    assert.equal(show().mtu, 1400);
    await nl.links.set('veth0', { address: '02:AB:00:00:00:01' });
    assert.equal(show().address, '02:ab:00:00:00:01');
    await nl.links.set('veth0', { txqueuelen: 321 });
    assert.equal(show().txqlen, 321);
    await nl.links.set('veth0', { up: true });
    assert.ok(show().flags.includes('UP'));
    await nl.links.set('veth0', { master: 'br0' });
    assert.equal(show().master, 'br0');
    await nl.links.set('veth0', { up: false, master: null });
    assert.ok(!show().flags.includes('UP'));
    assert.equal(show().master, undefined);
    // Several at once, the device by index: one request.
    const { index } = await nl.links.get('veth0');
    const before = nl.modifyingRequests();
    await nl.links.set(index, { mtu: 9000, up: true, master: (await nl.links.get('br0')).index, txqueuelen: 7 });
    assert.equal(nl.modifyingRequests() - before, 1);
    const j = show();
    assert.deepEqual([j.mtu, j.flags.includes('UP'), j.master, j.txqlen], [9000, true, 'br0', 7]);
    const l = await nl.links.get(index);
    S.assertFields(l, { mtu: 9000, up: true, txqueuelen: 7, master: (await nl.links.get('br0')).index }, 'veth0');
  });

  it('set: renames (by name and by index) and keeps the index', async function () {
    const { index } = await nl.links.get('veth0');
    await nl.links.set('veth0', { name: 'renamed0' });
    assert.equal(S.ipLink(ns(), 'renamed0').ifindex, index);
    await nl.links.set(index, { name: 'again0', mtu: 1300 });
    S.assertFields(await nl.links.get(index), { name: 'again0', mtu: 1300 }, 'renamed by index');
    assert.deepEqual(ipJson(ns(), 'link').map((l) => l.ifname).sort(), ['again0', 'br0', 'lo', 'veth1']);
  });

  it('set: renaming an up device works on Linux 6.18; older kernels (6.1) refuse with EBUSY naming it', async function () {
    await nl.links.set('veth0', { up: true });
    try {
      await nl.links.set('veth0', { name: 'live0' });
    } catch (e) {
      assert.ok(e instanceof NetlinkError, String(e));
      assert.equal(e.code, 'EBUSY');
      assert.match(e.message, /^links\.set "veth0": EBUSY/);
      assert.ok(S.ipLink(ns(), 'veth0'), 'still there under its old name');
      return;
    }
    assert.ok(S.ipLink(ns(), 'live0').flags.includes('UP'));
  });

  it('set: moves a device to another namespace (IFLA_NET_NS_FD); the fd is closed afterwards', async function () {
    const other = makeNetns('linkmove');
    try {
      const fds = () => require('node:fs').readdirSync('/proc/self/fd').length;
      const before = fds();
      await nl.links.set('veth1', { netns: other, mtu: 1280 });
      assert.equal(fds(), before, 'no namespace fd left open');
      assert.ok(!ipJson(ns(), 'link').some((l) => l.ifname === 'veth1'), 'gone from here');
      const there = ipJson(other, 'link');
      assert.deepEqual(there.map((l) => l.ifname).sort(), ['lo', 'veth1']);
      assert.equal(there.find((l) => l.ifname === 'veth1').mtu, 1280, 'the MTU in the same request applied too');
      const l = await nl.links.get('veth0');
      assert.ok(l.linkNetnsId !== undefined, 'the peer is now in another namespace');
    } finally {
      removeNetns(other); // takes veth1, and so the whole pair, with it
    }
  });

  it('set: alias (IFLA_IFALIAS) set, read back, and removed with ""', async function () {
    await nl.links.set('veth0', { alias: 'owned by netlink-agent é' });
    assert.equal(S.ipLink(ns(), 'veth0').ifalias, 'owned by netlink-agent é');
    assert.equal((await nl.links.get('veth0')).alias, 'owned by netlink-agent é');
    await nl.links.set('veth0', { alias: '' });
    assert.equal(S.ipLink(ns(), 'veth0').ifalias, undefined);
    assert.equal((await nl.links.get('veth0')).alias, undefined);
    await assert.rejects(nl.links.set('veth0', { alias: 'x'.repeat(256) }), ValidationError);
  });

  it('set with empty changes sends nothing; bad changes are one ValidationError and nothing is sent', async function () {
    // Changes only: an MTU outside 68..65535 is checked against the device's own bounds,
    // which set() reads first (an RTM_GETLINK).
    const sent = () => nl.modifyingRequests();
    const before = sent();
    await nl.links.set('veth0', {});
    await assert.rejects(nl.links.set('veth0', { mtu: 70000, up: 'yes', master: '', speed: 10 }), (e) => {
      assert.ok(e instanceof ValidationError);
      assert.deepEqual(e.problems.map((p) => p.path).sort(), ['master', 'mtu', 'speed', 'up']);
      assert.match(e.message, /^links\.set "veth0": /);
      return true;
    });
    await assert.rejects(nl.links.set('', { mtu: 1400 }), ValidationError);
    await assert.rejects(nl.links.del(0), ValidationError);
    await assert.rejects(nl.links.get('bad/name'), ValidationError);
    assert.equal(sent(), before);
  });

  it('get/del/set of a missing device: NetlinkError ENODEV whose message names the device', async function () {
    for (const [op, run] of [
      ['get', () => nl.links.get('nope0')],
      ['del', () => nl.links.del('nope0')],
      ['set', () => nl.links.set('nope0', { mtu: 1400 })],
      ['change', () => nl.links.change('nope0', { kind: 'bridge', name: 'nope0' })],
    ]) {
      await assert.rejects(run(), (e) => {
        assert.ok(e instanceof NetlinkError, String(e));
        assert.equal(e.code, 'ENODEV');
        assert.match(e.message, new RegExp(`^links\\.${op} "nope0": ENODEV`));
        return true;
      });
    }
    await assert.rejects(nl.links.get(4242), (e) => e.code === 'ENODEV' && /links\.get index 4242/.test(e.message));
    await assert.rejects(nl.links.set('veth0', { master: 'nobr' }), (e) => e.code === 'ENODEV' && /"nobr"/.test(e.message));
    await assert.rejects(nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 1, dev: 'noeth' }), (e) => e.code === 'ENODEV' && /"noeth"/.test(e.message));
  });

  it('add of an existing name: NetlinkError EEXIST naming it; the device is untouched', async function () {
    const before = S.ipLink(ns(), 'br0');
    await assert.rejects(nl.links.add({ kind: 'bridge', name: 'br0', mtu: 1280 }), (e) => {
      assert.ok(e instanceof NetlinkError, String(e));
      assert.equal(e.code, 'EEXIST');
      assert.equal(e.errno, 17);
      // Linux 6.18 gives no extended-ack text for this one; the errno's text is in the message.
      assert.match(e.message, /^links\.add bridge "br0": EEXIST: file already exists/);
      return true;
    });
    assert.deepEqual(S.ipLink(ns(), 'br0'), before);
  });

  it('vxlan MTU above the underlay\'s: set() is refused (EINVAL), but add() is silently capped by the kernel', async function () {
    await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 5, dev: 'veth0' });
    await assert.rejects(nl.links.set('vx0', { mtu: 1451 }), (e) => e instanceof NetlinkError && e.code === 'EINVAL' && /^links\.set "vx0"/.test(e.message));
    await nl.links.set('vx0', { mtu: 1450 }); // 1500 - 50 bytes of VXLAN over IPv4
    assert.equal(S.ipLink(ns(), 'vx0').mtu, 1450);
    // Linux 6.18 takes IFLA_MTU on creation and clamps it to the underlay's MTU minus the
    // headroom without an error: add() returns what the kernel made, so callers can see it.
    const vx1 = await nl.links.add({ kind: 'vxlan', name: 'vx1', vni: 6, port: 4789, dev: 'veth0', local: '10.0.0.1', mtu: 9000 });
    assert.equal(vx1.mtu, 1450);
    // Without an underlay the whole range is accepted.
    assert.equal((await nl.links.add({ kind: 'vxlan', name: 'vx2', vni: 7, mtu: 65535 })).mtu, 65535);
  });

  it('del removes a device by name or index (a veth takes its peer along)', async function () {
    await nl.links.del('veth1');
    assert.deepEqual(ipJson(ns(), 'link').map((l) => l.ifname).sort(), ['br0', 'lo']);
    await nl.links.del((await nl.links.get('br0')).index);
    assert.deepEqual(ipJson(ns(), 'link').map((l) => l.ifname), ['lo']);
  });

  it('list filters by kind, master and name, as ip does', async function () {
    await nl.links.add({ kind: 'veth', name: 'veth2', master: 'br0', peer: { name: 'veth3' } });
    await nl.links.set('veth0', { master: 'br0' });
    await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 5 });
    await nl.links.add({ kind: 'bridge', name: 'br1' });
    const names = (links) => links.map((l) => l.name).sort();
    const ipNames = (...args) => ipJson(ns(), 'link', 'show', ...args).map((l) => l.ifname).sort();
    assert.deepEqual(names(await nl.links.list()), ipNames());
    assert.deepEqual(names(await nl.links.list({ kind: 'veth' })), ipNames('type', 'veth'));
    assert.deepEqual(names(await nl.links.list({ kind: 'bridge' })), ['br0', 'br1']);
    assert.deepEqual(names(await nl.links.list({ master: 'br0' })), ipNames('master', 'br0'));
    assert.deepEqual(names(await nl.links.list({ master: 'br0' })), ['veth0', 'veth2']);
    assert.deepEqual(names(await nl.links.list({ master: 'br1' })), []);
    assert.deepEqual(names(await nl.links.list({ kind: 'vxlan', master: 'br0' })), []);
    assert.deepEqual(names(await nl.links.list({ name: 'vx0' })), ['vx0']);
    assert.deepEqual(names(await nl.links.list({ name: 'vx0', kind: 'veth' })), []);
    assert.deepEqual(await nl.links.list({ name: 'none0' }), []);
    // A kind the kernel does not know is not filtered by the kernel: filtered here.
    assert.deepEqual(await nl.links.list({ kind: 'ipip' }), []);
    assert.deepEqual(await nl.links.list({ kind: 'nosuchkind' }), []);
    await assert.rejects(nl.links.list({ master: 'nobr' }), (e) => e.code === 'ENODEV' && /"nobr"/.test(e.message));
    await assert.rejects(nl.links.list({ colour: 'red' }), ValidationError);
    assert.equal(nl.socket.sentByType[18] > 0, true);
  });
});
