'use strict';
// ipip links. Every title says "ipip": test/vm/lane.sh runs these on a Debian kernel that has
// ipip (the "VM lane"). Where the kernel has no ipip (the dev/CI host), creating one must fail
// with EOPNOTSUPP "Unknown device type"; the encoding is proven by the golden-byte tests.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const fc = require('fast-check');
const { Rtnl, ValidationError } = require('../../../dist/rtnl');
const L = require('../../support/codec-modules').link;
const { kernelDescribe, netnsPerTest, ipJson } = require('../../support/kernel');
const S = require('./support');

/** Decided independently of the code under test: is the ipip module there? */
const HAS_IPIP = fs.existsSync('/sys/module/ipip');

const v4 = fc.tuple(fc.integer({ min: 1, max: 223 }).filter((x) => x !== 127), fc.integer({ min: 1, max: 254 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 })).map((a) => a.join('.'));
const ipipSpec = fc
  .record({
    n: fc.integer({ min: 0, max: 9999 }),
    local: fc.option(v4, { nil: undefined }),
    remote: fc.option(v4, { nil: undefined }),
    ttl: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    tos: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    pmtudisc: fc.option(fc.boolean(), { nil: undefined }),
    withDev: fc.boolean(),
    mtu: fc.option(fc.integer({ min: 68, max: 1400 }), { nil: undefined }),
    up: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map((r) => {
    const s = { kind: 'ipip', name: `tun${r.n}`, local: r.local, remote: r.remote, ttl: r.ttl, tos: r.tos, pmtudisc: r.pmtudisc, dev: r.withDev ? 'eth0' : undefined, mtu: r.mtu, up: r.up };
    if (s.pmtudisc === false && s.ttl) s.ttl = 0; // a fixed ttl forces DF (validation says so)
    for (const k of Object.keys(s)) if (s[k] === undefined) delete s[k];
    return s;
  });

/** iproute2's view of an ipip device, in our terms. */
function ipView(ns, name, nameOf) {
  const j = S.ipLink(ns, name);
  const d = j.linkinfo.info_data;
  const addr = (x) => (x === undefined || x === 'any' ? undefined : x);
  const tos = d.tos === undefined ? 0 : d.tos === 'inherit' ? 1 : typeof d.tos === 'number' ? d.tos : parseInt(d.tos, 16);
  return {
    kind: j.linkinfo.info_kind,
    local: addr(d.local),
    remote: addr(d.remote),
    ttl: d.ttl === 'inherit' || d.ttl === undefined ? 0 : d.ttl,
    tos,
    pmtudisc: d.pmtudisc,
    dev: d.link,
    mtu: j.mtu,
    up: j.flags.includes('UP'),
    index: j.ifindex,
    nameOfDev: nameOf,
  };
}

kernelDescribe(`rtnl links: ipip (this kernel ${HAS_IPIP ? 'has' : 'has no'} ipip)`, function () {
  const ns = netnsPerTest('ipip');
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

  if (!HAS_IPIP) {
    S.withoutModuleTests({ kind: 'ipip', module: 'ipip', spec: { kind: 'ipip', name: 'tun0', local: '10.57.4.20', remote: '10.57.4.21', ttl: 64 }, links: ['eth0', 'eth1', 'eth2', 'eth3', 'lo'], ns, nl: () => nl });
    return;
  }

  it('ipip: random valid specs read back as asked and as `ip -d` shows them', async function () {
    this.timeout(600000); // the VM lane runs under TCG, ~15x slower
    const ix = { eth0: (await nl.links.get('eth0')).index };
    const nameOf = (i) => ipJson(ns(), 'link').find((l) => l.ifindex === i)?.ifname;
    await fc.assert(
      fc.asyncProperty(ipipSpec, async (spec) => {
        const link = await nl.links.add(spec);
        try {
          const want = {
            kind: 'ipip',
            name: spec.name,
            local: spec.local,
            remote: spec.remote,
            ttl: spec.ttl ?? 0,
            tos: spec.tos ?? 0,
            pmtudisc: spec.ttl ? true : spec.pmtudisc ?? true,
            dev: spec.dev === undefined ? undefined : ix[spec.dev],
            up: spec.up === true,
            address: undefined, // an ipip device's link-layer address is an IP, not a MAC
          };
          if (spec.mtu !== undefined) want.mtu = spec.mtu;
          S.assertFields(link, want, JSON.stringify(spec));
          const o = ipView(ns(), spec.name);
          assert.deepEqual(
            { local: o.local, remote: o.remote, ttl: o.ttl, tos: o.tos, pmtudisc: o.pmtudisc, dev: o.dev, mtu: o.mtu, up: o.up, index: o.index },
            { local: link.local, remote: link.remote, ttl: link.ttl, tos: link.tos, pmtudisc: link.pmtudisc, dev: link.dev && nameOf(link.dev), mtu: link.mtu, up: link.up, index: link.index },
            `ip -d agrees for ${JSON.stringify(spec)}`,
          );
        } finally {
          await nl.links.del(spec.name);
        }
      }),
      { numRuns: 15 },
    );
  });

  const BASE = { kind: 'ipip', name: 'tun0', local: '10.0.0.1', remote: '10.0.0.2', ttl: 64, tos: 0, pmtudisc: true, dev: 'eth0' };
  const ALT = { local: '10.0.0.3', remote: '10.0.0.4', ttl: 32, tos: 0x10, pmtudisc: false, dev: 'eth2' };
  for (const field of L.IPIP_CHANGEABLE) {
    it(`ipip ${field}: changed in place (same index), read back, the rest as it was`, async function () {
      const before = await nl.links.add(BASE);
      // pmtudisc off needs ttl 0 (inherit).
      const spec = field === 'pmtudisc' ? { ...BASE, ttl: 0, pmtudisc: false } : { ...BASE, [field]: ALT[field] };
      await nl.links.change('tun0', spec);
      const after = await nl.links.get('tun0');
      assert.equal(after.index, before.index);
      const want = field === 'dev' ? (await nl.links.get('eth2')).index : ALT[field];
      assert.deepEqual(after[field], want);
      // mtu, flags, operstate may follow the underlay; IFLA_LINK is the underlay too; the ttl
      // goes to 0 with pmtudisc off.
      const untouched = (l) => ({
        ...l,
        flags: undefined,
        operstate: undefined,
        mtu: undefined,
        link: field === 'dev' ? undefined : l.link,
        ttl: field === 'pmtudisc' ? undefined : l.ttl,
        [field]: undefined,
      });
      assert.deepEqual(untouched(after), untouched(before), 'the other settings survive (the kernel resets what a change leaves out; change() sends them all)');
    });
  }

  it('ipip remote: from none to one (and unicast <-> multicast) the kernel refuses (EINVAL); change() says delete and add', async function () {
    const before = await nl.links.add({ kind: 'ipip', name: 'tun1', local: '10.0.0.1' });
    const spec = { kind: 'ipip', name: 'tun1', local: '10.0.0.1', remote: '10.0.0.9' };
    await assert.rejects(nl.socket.request((w) => L.encodeLinkChange(w, before.index, before, spec, ['remote'])), { code: 'EINVAL' });
    const n = nl.modifyingRequests();
    await assert.rejects(nl.links.change('tun1', spec), (e) => e instanceof ValidationError && e.problems[0].path === 'remote');
    assert.equal(nl.modifyingRequests(), n);
    const p2p = await nl.links.add({ kind: 'ipip', name: 'tun2', local: '10.0.0.5', remote: '10.0.0.6' });
    const mc = { kind: 'ipip', name: 'tun2', remote: '239.1.1.1' };
    await assert.rejects(nl.socket.request((w) => L.encodeLinkChange(w, p2p.index, p2p, mc, ['remote'])), { code: 'EINVAL' });
    assert.deepEqual(L.planLinkChange(p2p, mc).recreate, ['remote']);
  });
});
