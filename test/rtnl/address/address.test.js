'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const fc = require('fast-check');
const wire = require('../../../dist/wire');
const rtnl = require('../../../dist/rtnl');
const { encodeAddressDump } = require('../../../dist/rtnl/address');
const C = rtnl.constants;
const { FakeNative, ack } = require('../../support/fake-native');
const { kernelDescribe, netnsPerTest, ip, ipJson } = require('../../support/kernel');

const { FIXTURES, fixture, masked, bytesOf, fakeContext, replayDump } = require('../../support/golden');

describe('rtnl: address requests are byte for byte what iproute2 sends', function () {
  const cases = [
    ['addr-add-v4-host32', (a, i) => a.add({ dev: i.veth0, address: '192.168.10.1/32' })],
    ['addr-add-v4-prefix24', (a, i) => a.add({ dev: i.veth0, address: '10.57.4.20/24' })],
    ['addr-add-v4-prefix24-brd', (a, i) => a.add({ dev: i.veth0, address: '10.57.4.20/24', broadcast: '10.57.4.255' })],
    ['addr-add-v6', (a, i) => a.add({ dev: i.veth0, address: 'fd00::1/64' })],
    ['addr-del-v4-host32', (a, i) => a.del({ dev: i.veth0, address: '192.168.10.1/32' })],
  ];
  for (const [name, run] of cases) {
    it(`${name}: ${fixture(name).command}`, async function () {
      const fx = fixture(name);
      const { fake, socket, ctx } = fakeContext();
      try {
        await run(new rtnl.Addresses(ctx), fx.ifindex);
        assert.equal(fake.sent.length, fx.sent.length);
        fake.sent.forEach((m, k) => assert.equal(masked(bytesOf(m)), masked(Buffer.from(fx.sent[k], 'hex'))));
      } finally {
        socket.close();
      }
    });
  }

  it('dump-addr: list() sends the same dump request and decodes the captured kernel replies', async function () {
    const fx = fixture('dump-addr');
    const { fake, socket, ctx } = fakeContext();
    try {
      replayDump(fake, fx, 1);
      const got = await new rtnl.Addresses(ctx).list();
      assert.equal(masked(bytesOf(fake.sent[0])), masked(Buffer.from(fx.sent[1], 'hex')));
      const i = fx.ifindex;
      const P = C.IFA_F_PERMANENT;
      const key = (a) => `${a.index} ${a.address}`;
      const byKey = new Map(got.map((a) => [key(a), a]));
      const expect = [
        { index: i.veth0, family: 4, address: '10.57.4.20/24', scope: 0, flags: P, permanent: true, label: 'veth0' },
        { index: i.veth0, family: 4, address: '192.168.10.1/32', scope: 0, flags: P, permanent: true, label: 'veth0' },
        { index: i.veth0, family: 6, address: 'fd00::1/64', scope: 0, flags: P | C.IFA_F_NODAD, permanent: true },
        { index: i.veth1, family: 6, address: 'fd00:0:0:1::5/64', scope: 0, flags: P | C.IFA_F_NODAD, permanent: true },
      ];
      for (const e of expect) assert.deepEqual(byKey.get(key(e)), e, key(e));
    } finally {
      socket.close();
    }
  });

  it('a bad spec is refused with every problem named, and nothing is sent', async function () {
    const { fake, socket, ctx } = fakeContext();
    try {
      const a = new rtnl.Addresses(ctx);
      const bad = [
        [{ dev: 'veth0', address: '10.0.0.300/24' }, /address: .*not a valid prefix/],
        [{ dev: 'veth0', address: '10.0.0.1/33' }, /prefix length must be 0\.\.32/],
        [{ dev: 'veth0', address: 'fd00::1/64', broadcast: 'fd00::ff' }, /broadcast: IPv6 has no broadcast/],
        [{ dev: 'veth0', address: '10.0.0.1/24', peer: 'fd00::2' }, /peer: .*is IPv6, expected IPv4/],
        [{ dev: 'veth0', address: '10.0.0.1/24', scope: 'galaxy' }, /scope: unknown scope "galaxy"/],
        [{ dev: 'veth0', address: '10.0.0.1/24', nodad: true }, /nodad: duplicate address detection is IPv6 only/],
        [{ dev: 'veth0', address: '10.0.0.1/24', label: 'x'.repeat(16) }, /label: .*1\.\.15 bytes/],
        [{ dev: 'bad/name', address: '10.0.0.1/24' }, /dev: .*not a valid interface name/],
        [{ dev: 'veth0', address: '10.0.0.1/24', lable: 'veth0' }, /lable: unknown field/],
        [{ address: '10.0.0.1/24' }, /dev: required/],
      ];
      for (const [spec, re] of bad) {
        await assert.rejects(a.add(spec), (e) => {
          assert.ok(e instanceof rtnl.ValidationError, String(e));
          assert.match(e.message, /^addresses\.add: /);
          assert.match(e.message, re);
          return true;
        });
      }
      // Several problems at once, all named.
      await assert.rejects(a.add({ dev: '', address: 'nope', scope: -1 }), (e) => e.problems.length === 3);
      await assert.rejects(a.list({ family: 5 }), /filter\.family: 5 is not an address family \(4 or 6/);
      assert.equal(fake.sent.length, 0, 'no request reached the (stand-in) kernel');
    } finally {
      socket.close();
    }
  });

  it('parseAddressMessage refuses malformed messages with NetlinkParseError', function () {
    const w = new wire.MessageWriter();
    w.begin(C.RTM_NEWADDR, 0);
    w.reserve(4); // shorter than struct ifaddrmsg
    w.end();
    assert.throws(() => rtnl.parseAddressMessage(wire.parseMessages(Buffer.from(w.bytes()))[0]), wire.NetlinkParseError);
    w.reset();
    w.begin(C.RTM_NEWADDR, 0);
    const off = w.reserve(C.IFADDRMSG_LEN);
    w.buf[off] = C.AF_INET;
    w.buf.writeUInt16LE(7, w.length); // IFA_LOCAL of 3 bytes
    w.buf.writeUInt16LE(C.IFA_LOCAL, w.length + 2);
    w.buf.fill(1, w.length + 4, w.length + 8);
    w.length += 8;
    w.end();
    assert.throws(() => rtnl.parseAddressMessage(wire.parseMessages(Buffer.from(w.bytes()))[0]), wire.NetlinkParseError);
  });
});

const SCOPE_NAMES = { global: 0, site: 200, link: 253, host: 254 };

/** What `ip -j addr show` says, as the library's Address objects. */
function oracleAddresses(ns) {
  const out = [];
  for (const l of ipJson(ns, 'addr', 'show')) {
    for (const a of l.addr_info || []) {
      const x = {
        index: l.ifindex,
        family: a.family === 'inet' ? 4 : 6,
        address: `${a.local}/${a.prefixlen}`,
        scope: SCOPE_NAMES[a.scope],
        permanent: a.valid_life_time === 4294967295,
      };
      if (a.address !== undefined && a.address !== a.local) x.peer = a.address;
      if (a.broadcast !== undefined) x.broadcast = a.broadcast;
      if (a.label !== undefined) x.label = a.label;
      x.flagNames = ['secondary', 'nodad', 'tentative', 'noprefixroute', 'deprecated', 'dadfailed'].filter((f) => a[f]);
      out.push(x);
    }
  }
  return out;
}

const FLAG_BITS = {
  secondary: C.IFA_F_SECONDARY,
  nodad: C.IFA_F_NODAD,
  tentative: C.IFA_F_TENTATIVE,
  noprefixroute: C.IFA_F_NOPREFIXROUTE,
  deprecated: C.IFA_F_DEPRECATED,
  dadfailed: C.IFA_F_DADFAILED,
};
function withFlagNames(a) {
  // proto (IFA_PROTO) is compared on its own: iproute2 6.1 does not print it.
  const { flags, proto, ...rest } = a;
  return { ...rest, flagNames: Object.keys(FLAG_BITS).filter((k) => flags & FLAG_BITS[k]) };
}
const sortKey = (a) => `${a.index} ${a.family} ${a.address}`;
const sorted = (xs) => [...xs].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));

kernelDescribe('rtnl: addresses on the real kernel', function () {
  const ns = netnsPerTest('addr');
  let nl;
  let veth0;
  beforeEach(async function () {
    ip(ns(), 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
    nl = await rtnl.Rtnl.open({ netns: ns() });
    veth0 = await nl.devices.index('veth0');
  });
  afterEach(function () {
    if (nl) nl.close();
    nl = undefined;
  });

  const v4 = fc
    .tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 }))
    .filter(([a]) => a !== 127)
    .map((o) => o.join('.'));
  const v6 = fc
    .uint8Array({ minLength: 14, maxLength: 14 })
    .map((tail) => {
      const b = Buffer.concat([Buffer.from([0xfd, 0x00]), Buffer.from(tail)]);
      if (b.every((x, k) => k < 2 || x === 0)) b[15] = 1;
      return wire.formatIPv6(b, 0);
    });

  it('IPv4 round trip (property): what add() was given is what list() returns, field by field; del() removes it', async function () {
    const spec = fc.record(
      {
        local: v4,
        plen: fc.integer({ min: 8, max: 32 }),
        peer: v4,
        broadcast: v4,
        label: fc.constantFrom('veth0', 'veth0:1', 'veth0:pod'),
        scope: fc.constantFrom('universe', 'site', 'link', 'host', 0, 200),
        noprefixroute: fc.boolean(),
      },
      { requiredKeys: ['local', 'plen'] },
    );
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        if (s.peer === s.local) delete s.peer;
        const a = { dev: 'veth0', address: `${s.local}/${s.plen}` };
        for (const k of ['peer', 'broadcast', 'label', 'scope', 'noprefixroute']) if (s[k] !== undefined) a[k] = s[k];
        await nl.addresses.add(a);
        const got = await nl.addresses.list({ dev: 'veth0', family: 4 });
        const expected = {
          index: veth0,
          family: 4,
          address: a.address,
          scope: typeof a.scope === 'string' ? rtnl.SCOPES[a.scope] : a.scope ?? 0,
          flags: C.IFA_F_PERMANENT | (a.noprefixroute ? C.IFA_F_NOPREFIXROUTE : 0),
          permanent: true,
          label: a.label ?? 'veth0',
        };
        if (a.peer) expected.peer = a.peer;
        if (a.broadcast) expected.broadcast = a.broadcast;
        assert.deepEqual(got, [expected]);
        await nl.addresses.del(a);
        assert.deepEqual(await nl.addresses.list({ dev: 'veth0', family: 4 }), []);
      }),
      { numRuns: 60 },
    );
  });

  it('IPv6 round trip (property), on a down device where DAD state is deterministic', async function () {
    const spec = fc.record(
      { local: v6, plen: fc.integer({ min: 1, max: 128 }), peer: v6, nodad: fc.boolean(), noprefixroute: fc.boolean() },
      { requiredKeys: ['local', 'plen'] },
    );
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        if (s.peer === s.local) delete s.peer;
        const a = { dev: veth0, address: `${s.local}/${s.plen}` };
        for (const k of ['peer', 'nodad', 'noprefixroute']) if (s[k] !== undefined) a[k] = s[k];
        await nl.addresses.add(a);
        const got = await nl.addresses.list({ dev: veth0, family: 6 });
        const expected = {
          index: veth0,
          family: 6,
          address: a.address,
          scope: 0,
          // Without nodad the address waits, tentative, for DAD, which a down device never starts.
          flags: C.IFA_F_PERMANENT | (a.nodad ? C.IFA_F_NODAD : C.IFA_F_TENTATIVE) | (a.noprefixroute ? C.IFA_F_NOPREFIXROUTE : 0),
          permanent: true,
        };
        if (a.peer) expected.peer = a.peer;
        assert.deepEqual(got, [expected]);
        // del() takes the object read back, too.
        await nl.addresses.del(got[0]);
        assert.deepEqual(await nl.addresses.list({ dev: veth0, family: 6 }), []);
      }),
      { numRuns: 60 },
    );
  });

  it('ip -j addr show agrees with list() field by field, for addresses made by the library and by ip', async function () {
    // lo up (127.0.0.1, ::1: no DAD there); the veths stay down, or their link-local addresses
    // would leave DAD's tentative state at a moment of the kernel's choosing, racing the reads.
    ip(ns(), 'link', 'set', 'lo', 'up');
    await nl.addresses.add({ dev: 'veth0', address: '10.57.4.20/24', broadcast: '10.57.4.255' });
    await nl.addresses.add({ dev: 'veth0', address: '10.57.4.21/24', label: 'veth0:sec' }); // a secondary
    await nl.addresses.add({ dev: 'veth0', address: '192.168.10.1/32', noprefixroute: true, scope: 'link' });
    await nl.addresses.add({ dev: 'veth1', address: '10.1.0.1/32', peer: '10.1.0.2' });
    await nl.addresses.add({ dev: 'veth1', address: 'fd00::1/64', nodad: true, noprefixroute: true });
    ip(ns(), 'addr', 'add', '172.16.0.1/16', 'brd', '+', 'dev', 'veth1', 'label', 'veth1:x');
    ip(ns(), 'addr', 'add', 'fd01::7/48', 'dev', 'veth0', 'nodad');
    ip(ns(), 'addr', 'add', '10.9.0.1', 'peer', '10.9.0.2/32', 'dev', 'veth0');
    const listed = await nl.addresses.list();
    const mine = sorted(listed.map(withFlagNames));
    const theirs = sorted(oracleAddresses(ns()));
    // The kernel marks ::1 on lo as its own (IFAPROT_KERNEL_LO); the others carry no IFA_PROTO.
    assert.deepEqual(listed.filter((a) => a.proto !== undefined).map((a) => [a.address, a.proto]), [['::1/128', 1]]);
    assert.ok(mine.length >= 10, `${mine.length} addresses`);
    assert.deepEqual(mine, theirs);
    // And what ip made parses to the values ip was given.
    const find = (addr) => mine.find((a) => a.address === addr);
    const veth1 = await nl.devices.index('veth1');
    assert.deepEqual(find('172.16.0.1/16'), {
      index: veth1, family: 4, address: '172.16.0.1/16', scope: 0, permanent: true, broadcast: '172.16.255.255', label: 'veth1:x', flagNames: [],
    });
    assert.deepEqual(find('fd01::7/48'), { index: veth0, family: 6, address: 'fd01::7/48', scope: 0, permanent: true, flagNames: ['nodad'] });
    assert.deepEqual(find('10.9.0.1/32'), { index: veth0, family: 4, address: '10.9.0.1/32', scope: 0, permanent: true, peer: '10.9.0.2', label: 'veth0', flagNames: [] });
    assert.deepEqual(find('10.57.4.21/24').flagNames, ['secondary']);
    assert.equal(find('192.168.10.1/32').scope, C.RT_SCOPE_LINK);
  });

  it('list() filters in the kernel: a strict dump by interface and family comes back NLM_F_DUMP_FILTERED', async function () {
    await nl.addresses.add({ dev: 'veth0', address: '10.0.0.1/24' });
    await nl.addresses.add({ dev: 'veth1', address: '10.0.1.1/24' });
    await nl.addresses.add({ dev: 'veth1', address: 'fd00::1/64', nodad: true });
    const veth1 = await nl.devices.index('veth1');
    assert.deepEqual((await nl.addresses.list({ dev: 'veth1' })).map((a) => a.address).sort(), ['10.0.1.1/24', 'fd00::1/64']);
    assert.deepEqual((await nl.addresses.list({ dev: 'veth1', family: 6 })).map((a) => a.address), ['fd00::1/64']);
    assert.deepEqual((await nl.addresses.list({ family: 4 })).map((a) => a.address).sort(), ['10.0.0.1/24', '10.0.1.1/24']);
    const flags = await nl.socket.dump((w) => encodeAddressDump(w, C.AF_INET, veth1), (m) => m.flags);
    assert.equal(flags.length, 1, 'only veth1\'s IPv4 address crossed into user space');
    assert.ok(flags[0] & wire.NLM_F_DUMP_FILTERED);
  });

  it('replace() adds, then updates in place without EEXIST', async function () {
    await nl.addresses.replace({ dev: 'veth0', address: '10.0.0.1/24' });
    await nl.addresses.replace({ dev: 'veth0', address: '10.0.0.1/24' });
    assert.equal((await nl.addresses.list({ dev: 'veth0' })).length, 1);
  });

  it('errors: ENODEV naming the device, EEXIST on a duplicate, EADDRNOTAVAIL deleting what is not there, ValidationError with no request sent', async function () {
    await assert.rejects(nl.addresses.add({ dev: 'nosuch0', address: '10.0.0.1/24' }), (e) => {
      assert.ok(e instanceof wire.NetlinkError);
      assert.equal(e.code, 'ENODEV');
      assert.match(e.message, /addresses\.add 10\.0\.0\.1\/24 dev nosuch0.*"nosuch0"/);
      return true;
    });
    await assert.rejects(nl.addresses.list({ dev: 'nosuch0' }), { code: 'ENODEV' });
    await assert.rejects(nl.addresses.add({ dev: 999, address: '10.0.0.1/24' }), { code: 'ENODEV' });
    await nl.addresses.add({ dev: 'veth0', address: '10.0.0.1/24' });
    await assert.rejects(nl.addresses.add({ dev: 'veth0', address: '10.0.0.1/24' }), (e) => {
      assert.equal(e.code, 'EEXIST');
      assert.match(e.message, /^addresses\.add 10\.0\.0\.1\/24 dev veth0: EEXIST/);
      return true;
    });
    await assert.rejects(nl.addresses.del({ dev: 'veth0', address: '10.0.0.2/24' }), { code: 'EADDRNOTAVAIL' });
    const before = nl.modifyingRequests();
    const gets = nl.socket.sentByType[C.RTM_GETLINK];
    await assert.rejects(nl.addresses.add({ dev: 'veth0', address: '10.0.0.1/24', broadcast: 'x' }), rtnl.ValidationError);
    assert.equal(nl.modifyingRequests(), before);
    assert.equal(nl.socket.sentByType[C.RTM_GETLINK], gets, 'not even the device was looked up');
  });
});
