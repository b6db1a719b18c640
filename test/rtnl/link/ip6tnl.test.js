'use strict';
// ip6tnl links (IPv6 tunnels: ip6ip6, ipip6, any). Every title says "ip6tnl". This kernel (the
// dev/CI host) has no ip6_tunnel: creating one must fail with EOPNOTSUPP "Unknown device type",
// and the rest skips with one line saying why. Debian's kernel has it as a module: test/vm/lane.sh
// runs this file there (test/rtnl/**), where the round trip, the in-place changes and iproute2's
// view (`ip -d link show`, the oracle) are proven.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const { Rtnl, ValidationError } = require('../../../dist/rtnl');
const L = require('../../support/codec-modules').link;
const { withoutModuleTests } = require('./support');
const { kernelDescribe, netnsPerTest, ip, ipJson } = require('../../support/kernel');

/** Decided independently of the code under test: is ip6_tunnel loaded, or there to be loaded? */
function hasIp6tnl() {
  if (fs.existsSync('/sys/module/ip6_tunnel')) return true;
  try {
    return /\/ip6_tunnel\.ko/.test(fs.readFileSync(`/lib/modules/${os.release()}/modules.dep`, 'utf8'));
  } catch {
    return false;
  }
}
const HAS_IP6TNL = hasIp6tnl();

kernelDescribe(`rtnl links: ip6tnl (this kernel ${HAS_IP6TNL ? 'has' : 'has no'} ip6_tunnel)`, function () {
  const ns = netnsPerTest('ip6tn');
  let nl;
  beforeEach(async function () {
    nl = await Rtnl.open({ netns: ns() });
    await nl.links.add({ kind: 'veth', name: 'eth0', up: true, peer: { name: 'eth1' } });
    await nl.links.add({ kind: 'veth', name: 'eth2', up: true, peer: { name: 'eth3' } });
  });
  afterEach(function () {
    nl?.close();
    nl = undefined;
  });

  it('ip6tnl: bad specs are typed errors naming the field, before anything is sent', async function () {
    const n = nl.modifyingRequests();
    for (const [spec, path, re] of [
      [{ local: '10.0.0.1' }, 'local', /IPv6/],
      [{ remote: 'fd00::1/64' }, 'remote', /./],
      [{ mode: 'gre6' }, 'mode', /unknown ip6tnl mode "gre6" \(expected one of ip6ip6, ipip6, any\)/],
      [{ encapLimit: 256 }, 'encapLimit', /0\.\.255/],
      [{ local: 'ff02::1' }, 'local', /multicast/],
      [{ hoplimit: 3 }, 'hoplimit', /did you mean `ttl`/],
    ]) {
      await assert.rejects(nl.links.add({ kind: 'ip6tnl', name: 'tun6', ...spec }), (e) => {
        assert.ok(e instanceof ValidationError, String(e));
        assert.equal(e.problems[0].path, path, JSON.stringify(e.problems));
        assert.match(e.problems[0].message, re);
        return true;
      });
    }
    assert.equal(nl.modifyingRequests(), n);
  });

  if (!HAS_IP6TNL) {
    withoutModuleTests({ kind: 'ip6tnl', module: 'ip6_tunnel', spec: { kind: 'ip6tnl', name: 'tun6', mode: 'ipip6', local: 'fd00::1', remote: 'fd00::2' }, links: ['eth0', 'eth1', 'eth2', 'eth3', 'lo'], ns, nl: () => nl });
    return;
  }

  for (const mode of ['ip6ip6', 'ipip6', 'any']) {
    it(`ip6tnl ${mode}: read back as asked and as \`ip -d\` shows it`, async function () {
      const eth0 = (await nl.links.get('eth0')).index;
      const link = await nl.links.add({ kind: 'ip6tnl', name: 'tun6', mode, local: 'fd00::1', remote: 'FD00:0::2', ttl: 32, encapLimit: 7, dev: 'eth0', mtu: 1400, up: true });
      assert.deepEqual(
        { kind: link.kind, mode: link.mode, local: link.local, remote: link.remote, ttl: link.ttl, encapLimit: link.encapLimit, dev: link.dev, mtu: link.mtu, up: link.up, address: link.address },
        { kind: 'ip6tnl', mode, local: 'fd00::1', remote: 'fd00::2', ttl: 32, encapLimit: 7, dev: eth0, mtu: 1400, up: true, address: link.address },
      );
      const text = ip(ns(), '-d', 'link', 'show', 'tun6');
      assert.match(text, new RegExp(`ip6tnl ${mode} remote fd00::2 local fd00::1 dev eth0 hoplimit 32 encaplimit 7 `), text);
      assert.match(text, /mtu 1400 /);
      // The defaults, as iproute2 gives them: ip6ip6, hop limit 64, encapsulation limit 4; and 'none'.
      await nl.links.del('tun6');
      const plain = await nl.links.add({ kind: 'ip6tnl', name: 'tun7', local: 'fd00::1', remote: 'fd00::3', encapLimit: 'none' });
      assert.deepEqual([plain.mode, plain.ttl, plain.encapLimit], ['ip6ip6', 64, 'none']);
      assert.match(ip(ns(), '-d', 'link', 'show', 'tun7'), /ip6tnl ip6ip6 remote fd00::3 local fd00::1 hoplimit 64 encaplimit none /);
      const def = await nl.links.add({ kind: 'ip6tnl', name: 'tun8', local: 'fd00::1', remote: 'fd00::4' });
      assert.deepEqual([def.mode, def.ttl, def.encapLimit], ['ip6ip6', 64, 4]);
    });
  }

  const BASE = { kind: 'ip6tnl', name: 'tun6', mode: 'ip6ip6', local: 'fd00::1', remote: 'fd00::2', ttl: 64, encapLimit: 4, dev: 'eth0' };
  const ALT = { mode: 'ipip6', local: 'fd00::5', remote: 'fd00::6', ttl: 9, encapLimit: 'none', dev: 'eth2' };
  for (const field of L.IP6TNL_CHANGEABLE) {
    it(`ip6tnl ${field}: changed in place (same index), read back, the rest as it was; a second change() sends nothing`, async function () {
      const before = await nl.links.add(BASE);
      const spec = { ...BASE, [field]: ALT[field] };
      await nl.links.change('tun6', spec);
      const after = await nl.links.get('tun6');
      assert.equal(after.index, before.index);
      const want = field === 'dev' ? (await nl.links.get('eth2')).index : ALT[field];
      assert.deepEqual(after[field], want);
      const untouched = (l) => ({ ...l, flags: field === 'encapLimit' ? undefined : l.flags, operstate: undefined, mtu: undefined, link: undefined, [field]: undefined });
      assert.deepEqual(untouched(after), untouched(before), 'the other settings survive (the kernel resets what a change leaves out; change() sends them all)');
      assert.deepEqual(L.planLinkChange(after, spec).changed, [], 'nothing left to change');
    });
  }
});
