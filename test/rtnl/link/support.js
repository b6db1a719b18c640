'use strict';
// Shared helpers of the link tests: spec generators (fast-check) that stay valid on the test
// kernel, and the comparison of a read-back link with `ip -j -d link show` (the oracle).
const assert = require('node:assert/strict');
const { pollUntil } = require('../../support/poll');
const fc = require('fast-check');
const { ipJson } = require('../../support/kernel');

const hex2 = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, '0'));
/** A unicast, locally administered MAC (02:..), in upper or lower case. */
const mac = fc
  .tuple(hex2, hex2, hex2, hex2, hex2, fc.boolean())
  .map(([a, b, c, d, e, upper]) => {
    const s = `02:${a}:${b}:${c}:${d}:${e}`;
    return upper ? s.toUpperCase() : s;
  });
const octet = fc.integer({ min: 1, max: 254 });
const v4 = fc.tuple(fc.integer({ min: 1, max: 223 }).filter((x) => x !== 127), octet, octet, octet).map((a) => a.join('.'));
const v4mc = fc.tuple(fc.integer({ min: 225, max: 239 }), octet, octet, octet).map((a) => a.join('.'));
const group16 = fc.integer({ min: 1, max: 0xffff }).map((n) => n.toString(16));
/** fd00::/8 unicast, written sometimes uncompressed and in upper case (read back canonical). */
const v6 = fc
  .tuple(group16, group16, group16, fc.boolean())
  .map(([a, b, c, long]) => (long ? `FD00:0:0:0:0:${a}:${b}:${c}`.toUpperCase() : `fd00::${a}:${b}:${c}`));
const v6mc = fc.tuple(group16, group16).map(([a, b]) => `ff05::${a}:${b}`);
const ifname = (prefix) => fc.integer({ min: 0, max: 99999 }).map((n) => `${prefix}${n}`);
/** IFLA_IFALIAS: printable text up to 255 bytes, sometimes multi-byte UTF-8, sometimes empty. */
const alias = fc.oneof(
  fc.string({ minLength: 0, maxLength: 40 }).filter((x) => !x.includes('\0')),
  fc.constantFrom('owned-by:netlink-agent', 'é∂ƒ pod', 'x'.repeat(255)),
);
/** Optional field: present or absent (undefined keys are dropped by fc.record's requiredKeys). */
const opt = (arb) => fc.option(arb, { nil: undefined });

function clean(o) {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** Valid vxlan specs. The underlay "eth0" (MTU 1500) takes at most 1500 - 70 on the device. */
const vxlanSpec = fc
  .record({
    name: ifname('vx'),
    vni: fc.integer({ min: 1, max: 0xffffff }),
    port: opt(fc.integer({ min: 1, max: 65535 })),
    family: fc.constantFrom(4, 6),
    peer: fc.constantFrom('none', 'remote', 'group'),
    withLocal: fc.boolean(),
    withDev: fc.boolean(),
    learning: opt(fc.boolean()),
    ttl: opt(fc.integer({ min: 0, max: 255 })),
    tos: opt(fc.integer({ min: 0, max: 255 })),
    srcPortRange: opt(fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 })).map(([a, b]) => (a <= b ? [a, b] : [b, a]))),
    udpChecksum: opt(fc.boolean()),
    ageing: opt(fc.integer({ min: 1, max: 1e6 })),
    proxy: opt(fc.boolean()),
    l2miss: opt(fc.boolean()),
    l3miss: opt(fc.boolean()),
    mtu: opt(fc.integer({ min: 68, max: 1400 })),
    address: opt(mac),
    txqueuelen: opt(fc.integer({ min: 0, max: 100000 })),
    up: opt(fc.boolean()),
    alias: opt(alias),
    a4: v4,
    b4: v4,
    m4: v4mc,
    a6: v6,
    b6: v6,
    m6: v6mc,
  })
  .map((r) => {
    const six = r.family === 6;
    const spec = {
      kind: 'vxlan',
      name: r.name,
      vni: r.vni,
      port: r.port,
      local: r.withLocal ? (six ? r.a6 : r.a4) : undefined,
      remote: r.peer === 'remote' ? (six ? r.b6 : r.b4) : undefined,
      group: r.peer === 'group' ? (six ? r.m6 : r.m4) : undefined,
      dev: r.withDev || r.peer === 'group' ? 'eth0' : undefined,
      learning: r.learning,
      ttl: r.ttl,
      tos: r.tos,
      srcPortRange: r.srcPortRange,
      udpChecksum: r.udpChecksum,
      ageing: r.ageing,
      proxy: r.proxy,
      l2miss: r.l2miss,
      l3miss: r.l3miss,
      mtu: r.mtu,
      address: r.address,
      txqueuelen: r.txqueuelen,
      up: r.up,
      alias: r.alias,
    };
    return clean(spec);
  });

/** Valid veth specs (the peer in the same namespace, or in `otherNs` when given). */
function vethSpec(otherNs) {
  return fc
    .record({
      name: ifname('va'),
      peer: ifname('vb'),
      mtu: opt(fc.integer({ min: 68, max: 65535 })),
      address: opt(mac),
      peerMtu: opt(fc.integer({ min: 68, max: 65535 })),
      peerAddress: opt(mac),
      txqueuelen: opt(fc.integer({ min: 0, max: 100000 })),
      up: opt(fc.boolean()),
      master: opt(fc.constant('br0')),
      alias: opt(alias),
      elsewhere: otherNs ? fc.boolean() : fc.constant(false),
    })
    .map((r) =>
      clean({
        kind: 'veth',
        name: r.name,
        mtu: r.mtu,
        address: r.address,
        txqueuelen: r.txqueuelen,
        up: r.up,
        master: r.master,
        alias: r.alias,
        peer: clean({ name: r.peer, mtu: r.peerMtu, address: r.peerAddress, netns: r.elsewhere ? otherNs : undefined }),
      }),
    );
}

/** Valid bridge specs (no vlanFiltering: this kernel lacks CONFIG_BRIDGE_VLAN_FILTERING). */
const bridgeSpec = fc
  .record({
    name: ifname('bx'),
    stp: opt(fc.boolean()),
    mtu: opt(fc.integer({ min: 68, max: 65535 })),
    address: opt(mac),
    txqueuelen: opt(fc.integer({ min: 0, max: 100000 })),
    up: opt(fc.boolean()),
    alias: opt(alias),
  })
  .map((r) => clean({ kind: 'bridge', ...r }));

/** Valid macvlan specs on the parent "eth0" (MTU 1500): each flag only in its mode. */
const macvlanSpec = fc
  .record({
    name: ifname('mv'),
    mode: opt(fc.constantFrom('private', 'vepa', 'bridge', 'passthru', 'source')),
    flag: fc.boolean(),
    bcqueuelen: opt(fc.integer({ min: 0, max: 100000 })),
    mtu: opt(fc.integer({ min: 68, max: 1500 })),
    address: opt(mac),
    txqueuelen: opt(fc.integer({ min: 0, max: 100000 })),
    up: opt(fc.boolean()),
    alias: opt(alias),
  })
  .map(({ flag, ...r }) =>
    clean({
      kind: 'macvlan',
      dev: 'eth0',
      ...r,
      nopromisc: r.mode === 'passthru' ? flag : undefined,
      nodst: r.mode === 'source' ? flag : undefined,
      // passthru takes the parent's MAC (and its MTU): give neither
      address: r.mode === 'passthru' ? undefined : r.address,
      mtu: r.mode === 'passthru' ? undefined : r.mtu,
    }),
  );

function canonicalIP(s) {
  if (!s.includes(':')) return s;
  const wire = require('../../../dist/wire');
  const b = wire.parseIP(s);
  return wire.formatIP(b, 0, 16);
}

/** What a spec must read back as, field by field (kernel defaults filled in). */
function expectedFrom(spec, ix) {
  const e = { name: spec.name, kind: spec.kind, up: spec.up === true };
  if (spec.mtu !== undefined) e.mtu = spec.mtu;
  if (spec.address !== undefined) e.address = spec.address.toLowerCase();
  if (spec.txqueuelen !== undefined) e.txqueuelen = spec.txqueuelen;
  if (spec.master !== undefined) e.master = ix[spec.master];
  e.alias = spec.alias === '' ? undefined : spec.alias;
  if (spec.kind === 'vxlan') {
    Object.assign(e, {
      vni: spec.vni,
      port: spec.port ?? 8472,
      local: spec.local && canonicalIP(spec.local),
      remote: spec.remote && canonicalIP(spec.remote),
      group: spec.group && canonicalIP(spec.group),
      dev: spec.dev === undefined ? undefined : ix[spec.dev],
      learning: spec.learning ?? true,
      ttl: spec.ttl ?? 0,
      tos: spec.tos ?? 0,
      srcPortRange: spec.srcPortRange,
      udpChecksum: spec.udpChecksum ?? true,
      ageing: spec.ageing ?? 300,
      proxy: spec.proxy ?? false,
      l2miss: spec.l2miss ?? false,
      l3miss: spec.l3miss ?? false,
    });
  }
  if (spec.kind === 'bridge') Object.assign(e, { stp: spec.stp ?? false, vlanFiltering: false });
  if (spec.kind === 'macvlan') {
    Object.assign(e, { dev: ix[spec.dev], link: ix[spec.dev], mode: spec.mode ?? 'vepa', nopromisc: spec.nopromisc ?? false, nodst: spec.nodst ?? false });
    if (spec.bcqueuelen !== undefined) e.bcqueuelen = spec.bcqueuelen;
  }
  return e;
}

/** Asserts every expected field (undefined: must be absent) equals the link's. */
function assertFields(link, expected, what) {
  for (const [k, v] of Object.entries(expected)) {
    assert.deepEqual(link[k], v, `${what}: field ${k}: got ${JSON.stringify(link[k])}, want ${JSON.stringify(v)}`);
  }
}

/** `ip -j -d link show dev NAME` inside the namespace. */
function ipLink(ns, name) {
  const [l] = ipJson(ns, '-d', 'link', 'show', 'dev', name);
  return l;
}

/**
 * The independent oracle: iproute2's view of the device agrees with ours on every field both
 * report. nameOf maps an index to a name (for master and the vxlan underlay).
 */
function assertAgreesWithIp(ns, link, nameOf) {
  const j = ipLink(ns, link.name);
  const what = `ip vs ours for ${link.name}`;
  assert.equal(j.ifindex, link.index, what);
  assert.equal(j.mtu, link.mtu, `${what}: mtu`);
  assert.equal(j.txqlen ?? 0, link.txqueuelen, `${what}: txqlen (ip leaves out 0)`);
  assert.equal(j.address, link.address, `${what}: address`);
  // operstate moves on asynchronously (linkwatch) after a device goes up: see assertOperstateAgrees.
  assert.equal(j.flags.includes('UP'), link.up, `${what}: UP`);
  assert.equal(j.master, link.master === undefined ? undefined : nameOf(link.master), `${what}: master`);
  assert.equal(j.ifalias, link.alias, `${what}: ifalias`);
  const info = j.linkinfo || {};
  assert.equal(info.info_kind ?? null, link.kind, `${what}: kind`);
  if (link.kind === 'vxlan') {
    const d = info.info_data;
    assert.equal(d.id, link.vni, `${what}: id`);
    assert.equal(d.port, link.port, `${what}: port`);
    // iproute2 names the IPv6 ones local6, remote6, group6.
    assert.equal(d.local ?? d.local6, link.local, `${what}: local`);
    assert.equal(d.remote ?? d.remote6, link.remote, `${what}: remote`);
    assert.equal(d.group ?? d.group6, link.group, `${what}: group`);
    assert.equal(d.link, link.dev === undefined ? undefined : nameOf(link.dev), `${what}: dev`);
    assert.equal(d.learning, link.learning, `${what}: learning`);
    assert.equal(d.ttl ?? 0, link.ttl, `${what}: ttl`);
    assert.equal(d.tos === undefined ? 0 : d.tos === 'inherit' ? 1 : parseInt(d.tos, 16), link.tos, `${what}: tos`);
    assert.deepEqual([d.port_range.low, d.port_range.high], link.srcPortRange ?? [0, 0], `${what}: port_range`);
    assert.equal(d.udp_csum, link.udpChecksum, `${what}: udp_csum`);
    assert.equal(d.ageing, link.ageing, `${what}: ageing`);
    assert.equal(d.proxy === true, link.proxy, `${what}: proxy`);
    assert.equal(d.l2miss === true, link.l2miss, `${what}: l2miss`);
    assert.equal(d.l3miss === true, link.l3miss, `${what}: l3miss`);
  }
  if (link.kind === 'bridge') {
    assert.equal(info.info_data.stp_state !== 0, link.stp, `${what}: stp_state`);
  }
  if (link.kind === 'macvlan') {
    const d = info.info_data;
    assert.equal(j.link, nameOf(link.dev), `${what}: link (the parent)`);
    assert.equal(d.mode, link.mode, `${what}: mode`);
    assert.equal(d.nopromisc === true, link.nopromisc, `${what}: nopromisc`);
    assert.equal(d.nodst === true, link.nodst, `${what}: nodst`);
    if (link.mode === 'source') assert.equal(d.macaddr_count, link.macaddrCount, `${what}: macaddr_count (ip prints it in source mode)`);
    assert.equal(d.bcqueuelen, link.bcqueuelen, `${what}: bcqueuelen`);
    assert.equal(d.usedbcqueuelen, link.usedBcqueuelen, `${what}: usedbcqueuelen`);
  }
  // The common attributes the table decodes beyond the spec's.
  assert.equal(j.min_mtu, link.minMtu, `${what}: min_mtu`);
  assert.equal(j.max_mtu, link.maxMtu, `${what}: max_mtu`);
  assert.equal(j.broadcast, link.broadcast, `${what}: broadcast`);
  assert.equal(j.promiscuity, link.promiscuity, `${what}: promiscuity`);
  assert.equal(j.num_tx_queues, link.numTxQueues, `${what}: num_tx_queues`);
  assert.equal(j.num_rx_queues, link.numRxQueues, `${what}: num_rx_queues`);
  assert.equal(j.gso_max_size, link.gsoMaxSize, `${what}: gso_max_size`);
  assert.equal(j.gso_max_segs, link.gsoMaxSegs, `${what}: gso_max_segs`);
  assert.equal(j.group === 'default' ? 0 : Number(j.group), link.deviceGroup, `${what}: group`);
  return j;
}

/**
 * operstate as iproute2 and as we read it, once it has settled: the kernel updates it
 * asynchronously after a change, so two reads a moment apart may differ. Polls both for up
 * to 2 s; fails if they never agree.
 */
async function assertOperstateAgrees(ns, nl, name) {
  let ours;
  let theirs;
  await pollUntil(
    async () => {
      theirs = ipLink(ns, name).operstate.toLowerCase();
      ours = (await nl.links.get(name)).operstate;
      return ours === theirs;
    },
    { ms: 2000, every: 50, what: () => `operstate of ${name}: ours ${ours}, ip's ${theirs}` },
  );
}

/**
 * On a kernel without a link kind's module: the tests saying that adding `spec` fails with
 * EOPNOTSUPP "Unknown device type" naming the device and creates nothing (only the namespace's
 * own links are left), and one skipped test naming what the other tests need.
 */
function withoutModuleTests({ kind, module, spec, links, ns, nl }) {
  const { NetlinkError } = require('../../../dist/wire');
  it(`${kind}: without the module, add fails with EOPNOTSUPP "Unknown device type" naming the device, and creates nothing`, async function () {
    await assert.rejects(nl().links.add(spec), (e) => {
      assert.ok(e instanceof NetlinkError, String(e));
      assert.equal(e.code, 'EOPNOTSUPP');
      assert.match(e.kernelMessage, /Unknown device type/);
      assert.match(e.message, new RegExp(`^links\\.add ${kind} "${spec.name}": EOPNOTSUPP`));
      return true;
    });
    assert.deepEqual(ipJson(ns(), 'link').map((l) => l.ifname).sort(), links);
  });
  it(`${kind}: the round trip, change and oracle tests need a kernel with ${module} (run test/vm/lane.sh)`, function () {
    this.skip();
  });
}

module.exports = {
  withoutModuleTests,
  assertOperstateAgrees, vxlanSpec, vethSpec, bridgeSpec, macvlanSpec, expectedFrom, assertFields, assertAgreesWithIp, ipLink, canonicalIP };
