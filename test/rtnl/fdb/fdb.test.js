'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const fc = require('fast-check');
const wire = require('../../../dist/wire');
const rtnl = require('../../../dist/rtnl');
const { encodeFdbDump, FDB_STATE_PERMANENT, FDB_STATE_STATIC } = require('../../../dist/rtnl/fdb');
const C = rtnl.constants;
const { FakeNative, ack } = require('../../support/fake-native');
const { kernelDescribe, netnsPerTest, ip, ipJson } = require('../../support/kernel');

const { FIXTURES, fixture, masked, bytesOf, fakeContext, replayDump } = require('../../support/golden');

/** `bridge -n NS -j [-d] fdb show ARGS`, parsed. */
function bridgeJson(ns, ...args) {
  const out = execFileSync('bridge', ['-n', ns, '-j', ...args], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

const ZERO = '00:00:00:00:00:00';

describe('rtnl: FDB requests are byte for byte what `bridge fdb` sends', function () {
  const cases = [
    ['fdb-add-unicast', (f, i) => f.add({ dev: i.vxlan0, mac: '0a:58:c0:a8:0b:00', dst: '10.57.4.21', self: true, permanent: true })],
    ['fdb-add-vni-port', (f, i) => f.add({ dev: i.vxlan0, mac: '0a:58:c0:a8:0b:01', dst: '10.57.4.21', vni: 200, port: 4790 })],
    ['fdb-append-zero-dst21', (f, i) => f.append({ dev: i.vxlan0, mac: ZERO, dst: '10.57.4.21' })],
    ['fdb-append-zero-dst22', (f, i) => f.append({ dev: i.vxlan0, mac: ZERO, dst: '10.57.4.22' })],
    ['fdb-del-zero-dst21', (f, i) => f.del({ dev: i.vxlan0, mac: ZERO, dst: '10.57.4.21' })],
    ['fdb-replace-unicast', (f, i) => f.replace({ dev: i.vxlan0, mac: '0a:58:c0:a8:0b:00', dst: '10.57.4.22' })],
    ['fdb-add-bridge-master-static', (f, i) => f.add({ dev: i.veth0, mac: 'aa:bb:cc:00:00:01', master: true, permanent: false })],
  ];
  for (const [name, run] of cases) {
    it(`${name}: ${fixture(name).command}`, async function () {
      const fx = fixture(name);
      const { fake, socket, ctx } = fakeContext();
      try {
        await run(new rtnl.Fdb(ctx), fx.ifindex);
        assert.equal(fake.sent.length, fx.sent.length);
        fake.sent.forEach((m, k) => assert.equal(masked(bytesOf(m)), masked(Buffer.from(fx.sent[k], 'hex'))));
      } finally {
        socket.close();
      }
    });
  }

  it('dump-fdb: list() sends the same dump request and decodes the captured kernel replies', async function () {
    const fx = fixture('dump-fdb');
    const { fake, socket, ctx } = fakeContext();
    try {
      replayDump(fake, fx, 0);
      const got = await new rtnl.Fdb(ctx).list();
      assert.equal(masked(bytesOf(fake.sent[0])), masked(Buffer.from(fx.sent[0], 'hex')));
      const i = fx.ifindex;
      const self = { state: FDB_STATE_PERMANENT, permanent: true, flags: C.NTF_SELF, self: true, master: false };
      const expect = [
        { index: i.vxlan0, mac: ZERO, dst: '10.57.4.21', ...self },
        { index: i.vxlan0, mac: ZERO, dst: '10.57.4.22', ...self },
        { index: i.vxlan0, mac: '0a:58:c0:a8:0b:00', dst: '10.57.4.21', ...self },
        // port and vni come back only where they differ from the device's own (4789, 100).
        { index: i.vxlan0, mac: '0a:58:c0:a8:0b:01', dst: '10.57.4.21', vni: 200, port: 4790, ...self },
        // The bridge reports its entries with NDA_MASTER and no NTF_* flag.
        { index: i.veth2, mac: 'aa:bb:cc:00:00:01', masterIndex: i.br0, state: C.NUD_NOARP, permanent: false, flags: 0, self: false, master: true },
      ];
      for (const e of expect) {
        assert.deepEqual(got.filter((x) => x.index === e.index && x.mac === e.mac && x.dst === e.dst), [e], `${e.mac} ${e.dst}`);
      }
      // The devices' own multicast addresses are NTF_SELF permanent entries too.
      assert.ok(got.some((x) => x.index === i.veth0 && x.mac === '33:33:00:00:00:01' && x.self && x.permanent));
    } finally {
      socket.close();
    }
  });

  it('a bad spec is refused with every problem named, and nothing is sent', async function () {
    const { fake, socket, ctx } = fakeContext();
    try {
      const f = new rtnl.Fdb(ctx);
      const bad = [
        [{ dev: 'vxlan0', mac: '00:00:00:00:00' }, /mac: .*not a MAC address/],
        [{ dev: 'vxlan0', mac: ZERO, dst: '10.57.4' }, /dst: .*not an IPv4 or IPv6 address/],
        [{ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21', vni: 16777216 }, /vni: 16777216 must be an integer in 0\.\.16777215/],
        [{ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21', vni: -1 }, /vni: -1 must be/],
        [{ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21', port: 65536 }, /port: 65536 must be an integer in 1\.\.65535/],
        [{ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21', port: 0 }, /port: 0 must be/],
        [{ dev: 'veth0', mac: '02:00:00:00:00:01', vlan: 4095, master: true }, /vlan: 4095 must be an integer in 1\.\.4094/],
        [{ dev: 'veth0', mac: '02:00:00:00:00:01', self: false }, /self: false needs master: true/],
        [{ dev: 'vxlan0', mac: ZERO, permanent: 'yes' }, /permanent: "yes" must be true or false/],
        [{ dev: 'vxlan0', mac: ZERO, remote: '10.0.0.1' }, /remote: unknown field/],
        [{ mac: ZERO }, /dev: required/],
      ];
      for (const [spec, re] of bad) {
        await assert.rejects(f.append(spec), (e) => {
          assert.ok(e instanceof rtnl.ValidationError, String(e));
          assert.match(e.message, /^fdb\.append: /);
          assert.match(e.message, re);
          return true;
        });
      }
      await assert.rejects(f.appendMany([{ dev: 'vxlan0', mac: ZERO, dst: '10.0.0.1' }, { dev: 'vxlan0', mac: 'x', port: 70000 }]), (e) => {
        assert.deepEqual(e.problems.map((p) => p.path), ['[1].mac', '[1].port']);
        return true;
      });
      await assert.rejects(f.list({ bridge: 'br0' }), /filter\.bridge: unknown field/);
      assert.equal(fake.sent.length, 0, 'no request reached the (stand-in) kernel');
    } finally {
      socket.close();
    }
  });

  it('parseFdbMessage refuses malformed and non-bridge messages', function () {
    const w = new wire.MessageWriter();
    w.begin(C.RTM_NEWNEIGH, 0);
    w.buf[w.reserve(C.NDMSG_LEN)] = C.AF_BRIDGE; // no NDA_LLADDR
    w.end();
    assert.throws(() => rtnl.parseFdbMessage(wire.parseMessages(Buffer.from(w.bytes()))[0]), /without NDA_LLADDR/);
    w.reset();
    w.begin(C.RTM_NEWNEIGH, 0);
    w.buf[w.reserve(C.NDMSG_LEN)] = C.AF_INET;
    w.mac(C.NDA_LLADDR, '02:00:00:00:00:01');
    w.end();
    assert.throws(() => rtnl.parseFdbMessage(wire.parseMessages(Buffer.from(w.bytes()))[0]), wire.NetlinkParseError);
    w.reset();
    w.begin(C.RTM_NEWNEIGH, 0);
    w.buf[w.reserve(C.NDMSG_LEN)] = C.AF_BRIDGE;
    w.mac(C.NDA_LLADDR, '02:00:00:00:00:01');
    w.u16(C.NDA_VNI, 5); // a u32 attribute of 2 bytes
    w.end();
    assert.throws(() => rtnl.parseFdbMessage(wire.parseMessages(Buffer.from(w.bytes()))[0]), wire.NetlinkParseError);
  });
});

/** `bridge -j fdb show` entries as the library's FdbEntry objects. */
function oracleFdb(ns, ...args) {
  const index = new Map(ipJson(ns, 'link').map((l) => [l.ifname, l.ifindex]));
  return bridgeJson(ns, 'fdb', 'show', ...args).map((e) => {
    const flags = (e.flags || []).includes('self') ? C.NTF_SELF : 0;
    // With `dev X` bridge leaves ifname out of every entry.
    const dev = e.ifname ?? (args.includes('dev') ? args[args.indexOf('dev') + 1] : undefined);
    const x = { index: index.get(dev), mac: e.mac, flags, self: flags !== 0, master: e.master !== undefined, stateName: e.state || '' };
    if (e.dst !== undefined) x.dst = e.dst;
    if (e.vni !== undefined) x.vni = e.vni;
    if (e.port !== undefined) x.port = e.port;
    if (e.vlan !== undefined) x.vlan = e.vlan;
    if (e.master !== undefined) x.masterIndex = index.get(e.master);
    return x;
  });
}
/** The library's entry with its state as `bridge` names it (permanent / static / ""). */
function asOracle(e) {
  const { state, permanent, ...rest } = e;
  void permanent;
  return { ...rest, stateName: state & C.NUD_PERMANENT ? 'permanent' : state & C.NUD_NOARP ? 'static' : state & C.NUD_STALE ? 'stale' : '' };
}
const sortKey = (e) => `${e.index} ${e.mac} ${e.dst} ${e.vlan} ${e.masterIndex}`;
const sorted = (xs) => [...xs].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));

kernelDescribe('rtnl: FDB on the real kernel', function () {
  const ns = netnsPerTest('fdb');
  let nl;
  let vx;
  beforeEach(async function () {
    // The seed's host1: eth0 (a veth here) with the underlay address, vxlan0 on top of it.
    ip(ns(), 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
    ip(ns(), 'addr', 'add', '10.57.4.20/24', 'dev', 'veth0');
    // Links stay down: an up link changes its multicast list (and so its FDB) when it pleases.
    ip(ns(), 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'local', '10.57.4.20', 'dev', 'veth0', 'nolearning');
    nl = await rtnl.Rtnl.open({ netns: ns() });
    vx = await nl.devices.index('vxlan0');
  });
  afterEach(function () {
    if (nl) nl.close();
    nl = undefined;
  });

  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => {
    b[0] = (b[0] & 0xfe) | 0x02; // unicast, locally administered
    return wire.formatMac(b, 0);
  });
  const v4 = fc
    .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 }))
    .filter(([a]) => a !== 127)
    .map((o) => o.join('.'));

  it('round trip on a vxlan device (property): add/list/del, compared field by field', async function () {
    const spec = fc.record(
      {
        mac,
        dst: v4,
        vni: fc.integer({ min: 1, max: 0xffffff }).filter((v) => v !== 100),
        port: fc.integer({ min: 1, max: 65535 }).filter((v) => v !== 4789),
        permanent: fc.boolean(),
      },
      { requiredKeys: ['mac', 'dst'] },
    );
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const e = { dev: 'vxlan0', ...s };
        await nl.fdb.add(e);
        const got = (await nl.fdb.list({ dev: 'vxlan0' })).filter((x) => x.mac === e.mac);
        const state = e.permanent === false ? FDB_STATE_STATIC : FDB_STATE_PERMANENT;
        const expected = { index: vx, mac: e.mac, dst: e.dst, state, permanent: e.permanent !== false, flags: C.NTF_SELF, self: true, master: false };
        if (e.vni !== undefined) expected.vni = e.vni;
        if (e.port !== undefined) expected.port = e.port;
        assert.deepEqual(got, [expected]);
        await nl.fdb.del(got[0]);
        assert.equal((await nl.fdb.list({ dev: vx })).filter((x) => x.mac === e.mac).length, 0);
      }),
      { numRuns: 60 },
    );
  });

  it('the seed\'s head-end replication: two appends of 00:00:00:00:00:00 both exist; del removes exactly one (mac, dst)', async function () {
    await nl.fdb.append({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21' });
    await nl.fdb.append({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.22' });
    const zeros = () => bridgeJson(ns(), 'fdb', 'show', 'dev', 'vxlan0').filter((e) => e.mac === ZERO);
    assert.deepEqual(zeros().map((e) => [e.dst, e.state, e.flags]).sort(), [
      ['10.57.4.21', 'permanent', ['self']],
      ['10.57.4.22', 'permanent', ['self']],
    ]);
    assert.deepEqual((await nl.fdb.list({ dev: 'vxlan0' })).filter((e) => e.mac === ZERO).map((e) => e.dst).sort(), ['10.57.4.21', '10.57.4.22']);
    // Appending the same pair again changes nothing; add() of the MAC is EEXIST.
    await nl.fdb.append({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.22' });
    assert.equal(zeros().length, 2);
    await assert.rejects(nl.fdb.add({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.23' }), { code: 'EEXIST' });
    await nl.fdb.del({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21' });
    assert.deepEqual(zeros().map((e) => e.dst), ['10.57.4.22']);
    // Kernel fact: removing a dst the MAC does not have is a successful no-op while the MAC
    // has other destinations...
    await nl.fdb.del({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21' });
    assert.deepEqual(zeros().map((e) => e.dst), ['10.57.4.22']);
    // ...removing its last destination removes the MAC, after which it is ENOENT.
    await nl.fdb.del({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.22' });
    assert.deepEqual(zeros(), []);
    await assert.rejects(nl.fdb.del({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.22' }), (e) => {
      assert.equal(e.code, 'ENOENT');
      assert.match(e.message, /^fdb\.del 00:00:00:00:00:00 dst 10\.57\.4\.22 dev vxlan0: ENOENT/);
      return true;
    });
  });

  it('flannel style: <vtep mac> dst <node ip> self permanent, plus the permanent neighbour <vtep ip> lladdr <vtep mac>', async function () {
    const vtepMac = '0a:58:c0:a8:0b:00';
    await nl.fdb.replace({ dev: 'vxlan0', mac: vtepMac, dst: '10.57.4.21' });
    await nl.neighbors.replace({ dev: 'vxlan0', ip: '192.168.11.0', lladdr: vtepMac });
    const fdb = bridgeJson(ns(), '-d', 'fdb', 'show', 'dev', 'vxlan0').filter((e) => e.mac === vtepMac);
    assert.equal(fdb.length, 1);
    assert.equal(fdb[0].dst, '10.57.4.21');
    assert.deepEqual(fdb[0].flags, ['self']);
    assert.equal(fdb[0].state, 'permanent');
    const neigh = ipJson(ns(), 'neigh', 'show', 'dev', 'vxlan0');
    assert.deepEqual(neigh, [{ dst: '192.168.11.0', lladdr: vtepMac, state: ['PERMANENT'] }]);
    // append() does not add a second destination to a unicast MAC (the driver changes nothing)...
    await nl.fdb.append({ dev: 'vxlan0', mac: vtepMac, dst: '10.57.4.23' });
    assert.deepEqual(bridgeJson(ns(), 'fdb', 'show', 'dev', 'vxlan0').filter((e) => e.mac === vtepMac).map((e) => e.dst), ['10.57.4.21']);
    // ...the node moved: replace points the MAC at the new node IP, still one entry.
    await nl.fdb.replace({ dev: 'vxlan0', mac: vtepMac, dst: '10.57.4.22' });
    assert.deepEqual(bridgeJson(ns(), 'fdb', 'show', 'dev', 'vxlan0').filter((e) => e.mac === vtepMac).map((e) => e.dst), ['10.57.4.22']);
  });

  it('bridge -j fdb show agrees with list() field by field, on a vxlan device and on a bridge; entries made by bridge parse the same', async function () {
    await nl.fdb.append({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21' });
    await nl.fdb.add({ dev: 'vxlan0', mac: '0a:58:c0:a8:0b:01', dst: '10.57.4.21', vni: 200, port: 4790 });
    await nl.fdb.add({ dev: 'vxlan0', mac: '0a:58:c0:a8:0b:02', dst: '10.57.4.23', permanent: false });
    execFileSync('bridge', ['-n', ns(), 'fdb', 'append', ZERO, 'dev', 'vxlan0', 'dst', '10.57.4.22', 'self', 'permanent']);
    execFileSync('bridge', ['-n', ns(), 'fdb', 'add', '0a:58:c0:a8:0b:03', 'dev', 'vxlan0', 'dst', '10.57.4.24', 'vni', '7', 'port', '8472', 'self', 'static']);
    const mine = await nl.fdb.list({ dev: 'vxlan0' });
    assert.deepEqual(sorted(mine.map(asOracle)), sorted(oracleFdb(ns(), 'dev', 'vxlan0')));
    assert.deepEqual(
      mine.find((e) => e.mac === '0a:58:c0:a8:0b:03'),
      { index: vx, mac: '0a:58:c0:a8:0b:03', dst: '10.57.4.24', vni: 7, port: 8472, state: FDB_STATE_STATIC, permanent: false, flags: C.NTF_SELF, self: true, master: false },
    );

    // A bridge with a port: entries in the bridge's table (NTF_MASTER) are filtered by master.
    ip(ns(), 'link', 'add', 'br0', 'type', 'bridge');
    ip(ns(), 'link', 'add', 'veth2', 'type', 'veth', 'peer', 'name', 'veth3');
    ip(ns(), 'link', 'set', 'veth2', 'master', 'br0');
    await nl.fdb.add({ dev: 'veth2', mac: '02:00:00:00:00:77', master: true, permanent: false });
    await nl.fdb.add({ dev: 'veth2', mac: '02:00:00:00:00:78', master: true });
    execFileSync('bridge', ['-n', ns(), 'fdb', 'add', '02:00:00:00:00:79', 'dev', 'veth2', 'master', 'static']);
    const br = await nl.fdb.list({ master: 'br0' });
    const brIndex = await nl.devices.index('br0');
    assert.ok(br.every((e) => e.masterIndex === brIndex && e.master));
    assert.deepEqual(sorted(br.map(asOracle)), sorted(oracleFdb(ns(), 'br', 'br0').filter((e) => e.masterIndex === brIndex)));
    const veth2 = await nl.devices.index('veth2');
    // Without a VLAN given, the bridge also adds the entry for each VLAN of the port (the
    // default PVID 1 where the kernel has bridge VLAN filtering, as Debian's 6.1 does): this one
    // is the entry without a VLAN.
    assert.deepEqual(br.find((e) => e.mac === '02:00:00:00:00:79' && e.vlan === undefined), { index: veth2, mac: '02:00:00:00:00:79', masterIndex: brIndex, state: C.NUD_NOARP, permanent: false, flags: 0, self: false, master: true });
    // The whole namespace agrees too.
    assert.deepEqual(sorted((await nl.fdb.list()).map(asOracle)), sorted(oracleFdb(ns())));
    // Entries read back delete themselves, from the bridge's table and from vxlan0's.
    for (const e of br.filter((x) => x.mac === '02:00:00:00:00:77')) await nl.fdb.del(e); // each VLAN's entry
    await nl.fdb.del(mine.find((e) => e.mac === '0a:58:c0:a8:0b:01'));
    assert.ok(!(await nl.fdb.list()).some((e) => e.mac === '02:00:00:00:00:77' || e.mac === '0a:58:c0:a8:0b:01'));
  });

  it('list() filters in the kernel by device (NDA_IFINDEX, strict dump)', async function () {
    await nl.fdb.append({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21' });
    const all = await nl.fdb.list();
    assert.ok(all.some((e) => e.index !== vx), 'other devices have entries (their multicast addresses)');
    const seen = await nl.socket.dump((w) => encodeFdbDump(w, vx, 0), (m) => rtnl.parseFdbMessage(m).index);
    assert.ok(seen.length > 0 && seen.every((i) => i === vx), 'only vxlan0\'s entries crossed into user space');
  });

  it('appendMany/replaceMany/delMany of 10,000 entries: each outcome is right and list() returns them', async function () {
    this.timeout(120000);
    const N = 10000;
    const kind = (i) => (i % 1000 === 999 ? 'noname' : i % 997 === 996 ? 'noindex' : 'ok');
    const devOf = (i) => (kind(i) === 'noname' ? 'nosuch0' : kind(i) === 'noindex' ? 99999 : 'vxlan0');
    const ipOf = (i) => `10.${60 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    const macOf = (i) => wire.formatMac(Buffer.from([2, 0x58, 0, (i >> 16) & 255, (i >> 8) & 255, i & 255]), 0);
    const expectOutcomes = (r, what) => {
      let bad = 0;
      for (let i = 0; i < N; i++) {
        if (kind(i) === 'ok') assert.ok(r.ok(i), `${what} ${i}: ${r.errors[i]}`);
        else {
          bad++;
          assert.equal(r.errors[i].code, 'ENODEV', `${what} ${i}`);
        }
      }
      assert.equal(r.failed, bad);
      return bad;
    };

    // 10,000 unicast VTEP entries.
    const unicast = Array.from({ length: N }, (_, i) => ({ dev: devOf(i), mac: macOf(i), dst: ipOf(i) }));
    const bad = expectOutcomes(await nl.fdb.replaceMany(unicast), 'replace');
    // 10,000 flood destinations on the all-zero MAC (head-end replication to 10,000 VTEPs).
    const flood = Array.from({ length: N }, (_, i) => ({ dev: devOf(i), mac: ZERO, dst: ipOf(i) }));
    expectOutcomes(await nl.fdb.appendMany(flood), 'append');

    const listed = await nl.fdb.list({ dev: 'vxlan0' });
    const ok = (i) => kind(i) === 'ok';
    const want = new Set();
    for (let i = 0; i < N; i++) {
      if (!ok(i)) continue;
      want.add(`${macOf(i)} ${ipOf(i)}`);
      want.add(`${ZERO} ${ipOf(i)}`);
    }
    const got = new Set(listed.map((e) => `${e.mac} ${e.dst}`));
    assert.equal(listed.length, 2 * (N - bad));
    assert.deepEqual([...want].filter((k) => !got.has(k)), []);
    assert.ok(listed.every((e) => e.self && e.permanent && e.index === vx));

    // Remove everything, plus 5 pairs that were never there (ENOENT each).
    const extra = Array.from({ length: 5 }, (_, k) => ({ dev: 'vxlan0', mac: ZERO, dst: `10.99.0.${k + 1}` }));
    const d = await nl.fdb.delMany([...listed, ...extra]);
    assert.equal(d.failed, 5);
    for (let k = 0; k < 5; k++) assert.equal(d.errors[listed.length + k].code, 'ENOENT');
    assert.equal((await nl.fdb.list({ dev: 'vxlan0' })).length, 0);
  });

  it('errors: ENODEV naming the device, EEXIST on a duplicate add, ValidationError with no request sent', async function () {
    await assert.rejects(nl.fdb.append({ dev: 'nosuch0', mac: ZERO, dst: '10.57.4.21' }), (e) => {
      assert.ok(e instanceof wire.NetlinkError);
      assert.equal(e.code, 'ENODEV');
      assert.match(e.message, /fdb\.append 00:00:00:00:00:00 dst 10\.57\.4\.21 dev nosuch0.*"nosuch0"/);
      return true;
    });
    await assert.rejects(nl.fdb.list({ master: 'nosuch0' }), { code: 'ENODEV' });
    await nl.fdb.add({ dev: 'vxlan0', mac: '0a:58:c0:a8:0b:00', dst: '10.57.4.21' });
    await assert.rejects(nl.fdb.add({ dev: 'vxlan0', mac: '0a:58:c0:a8:0b:00', dst: '10.57.4.22' }), (e) => {
      assert.equal(e.code, 'EEXIST');
      assert.match(e.message, /^fdb\.add 0a:58:c0:a8:0b:00 dst 10\.57\.4\.22 dev vxlan0: EEXIST/);
      return true;
    });
    const before = nl.modifyingRequests();
    const gets = nl.socket.sentByType[C.RTM_GETLINK];
    await assert.rejects(nl.fdb.append({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21', vni: 1 << 24 }), rtnl.ValidationError);
    await assert.rejects(nl.fdb.replaceMany([{ dev: 'vxlan0', mac: 'bad', dst: '10.57.4.21' }]), rtnl.ValidationError);
    await assert.rejects(nl.fdb.delMany([{ dev: 'vxlan0', mac: ZERO, port: -4 }]), rtnl.ValidationError);
    assert.equal(nl.modifyingRequests(), before);
    assert.equal(nl.socket.sentByType[C.RTM_GETLINK], gets);
  });
});
