'use strict';
// Routes on the real kernel, each test in a namespace of its own: random specs round-trip
// through add/list/replace/del and equal expectedRoute(); iproute2 is the independent oracle.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const wire = require('../../../dist/wire');
const C = require('../../../dist/rtnl/constants');
const { Rtnl, Routes, DeviceResolver, ValidationError, PROTOCOLS, ROUTE_TYPES } = require('../../../dist/rtnl');
const { Netns } = require('../../../dist/netns');
const { expectedRoute } = require('../../../dist/rtnl/route/expected');
const { kernelDescribe, netnsPerTest, ip, ipJson, slow, NETNS_DIR } = require('../../support/kernel');
const { pollUntil } = require('../../support/poll');

/** lo up (with lo down the kernel calls every onlink gateway invalid), veth0 (10.57.4.20/24,
 * fd00::1/64) paired with veth1, both up. */
function underlay(ns) {
  // No DAD: link-local addresses and their /128 local routes are there at once, not a second
  // later in the middle of a test that compares two reads (see linkLocalsSettled).
  Netns.sysctl(ns, { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0 });
  ip(ns, 'link', 'set', 'lo', 'up');
  ip(ns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
  ip(ns, 'addr', 'add', '10.57.4.20/24', 'dev', 'veth0');
  ip(ns, 'addr', 'add', 'fd00::1/64', 'dev', 'veth0', 'nodad');
  ip(ns, 'link', 'set', 'veth0', 'up');
  ip(ns, 'link', 'set', 'veth1', 'up');
}

/** Waits until veth0 and veth1 have their link-local addresses: the kernel adds them when the
 * carrier comes up, which it notices asynchronously (linkwatch), after `ip link set up` returned. */
async function linkLocalsSettled(ns) {
  await pollUntil(() => {
    const addrs = ipJson(ns, '-6', 'addr', 'show', 'scope', 'link');
    return ['veth0', 'veth1'].every((d) => addrs.some((a) => a.ifname === d && (a.addr_info ?? []).some((i) => i.local?.startsWith('fe80:') && !i.tentative)));
  }, { ms: 5000 * slow, what: `link-local addresses on veth0 and veth1 in ${ns}` });
}

function ifindexes(ns) {
  const out = {};
  for (const l of ipJson(ns, 'link')) out[l.ifname] = l.ifindex;
  return out;
}

/** Sum of every message the socket sent so far. */
function sentTotal(nl) {
  return nl.socket.sentByType.reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------- random valid specs

function v4Text(n) {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
const v4Addr = fc.tuple(fc.integer({ min: 100, max: 199 }), fc.integer({ min: 0, max: 0xffffff })).map(([a, rest]) => ((a << 24) | rest) >>> 0);
const v4Prefix = fc.oneof(
  fc.tuple(v4Addr, fc.integer({ min: 8, max: 32 })).map(([n, len]) => `${v4Text(len === 32 ? n : (n & ~(0xffffffff >>> len)) >>> 0)}/${len}`),
  v4Addr.map(v4Text), // a host route written without "/32"
);
const v6Addr = fc.uint8Array({ minLength: 15, maxLength: 15 }).map((rest) => {
  const b = Buffer.from([0xfd, ...rest]);
  if (b[1] < 0x10) b[1] |= 0x10; // stay clear of fd00::/16, the underlay
  return b;
});
const v6Prefix = fc.oneof(
  fc.tuple(v6Addr, fc.integer({ min: 16, max: 128 })).map(([b, len]) => {
    for (let bit = len; bit < 128; bit++) b[bit >> 3] &= ~(0x80 >> (bit & 7));
    return `${wire.formatIPv6(b, 0)}/${len}`;
  }),
  // a host route without "/128", in a non-canonical spelling (upper case, no "::")
  v6Addr.map((b) => [...Array(8).keys()].map((k) => b.readUInt16BE(2 * k).toString(16).toUpperCase()).join(':')),
);
const gw4 = fc.integer({ min: 21, max: 250 }).map((x) => `10.57.4.${x}`);
const far4 = fc.tuple(fc.nat(255), fc.integer({ min: 1, max: 254 })).map(([a, b]) => `192.168.${a}.${b}`);
const gw6 = fc.integer({ min: 2, max: 0xffff }).map((x) => `fd00::${x.toString(16)}`);
const far6 = fc.integer({ min: 1, max: 0xffff }).map((x) => `fd99::${x.toString(16)}`);
const table = fc.oneof(fc.constant(undefined), fc.constant('main'), fc.constant('default'), fc.integer({ min: 1, max: 252 }), fc.integer({ min: 256, max: 0xfffffff }));
const protocol = fc.oneof(fc.constant(undefined), fc.constantFrom(...Object.keys(PROTOCOLS)), fc.integer({ min: 0, max: 255 }));
const opt = (arb) => fc.option(arb, { nil: undefined });

function specArb(family) {
  const v6 = family === 6;
  const gw = v6 ? gw6 : gw4;
  const far = v6 ? far6 : far4;
  const kinds = {
    via: fc.record({ via: gw, dev: fc.constant('veth0') }),
    viaOnly: fc.record({ via: gw }),
    onlink: fc.record({ via: far, dev: fc.constant('veth0'), onlink: fc.constant(true) }),
    dev: fc.record({ dev: fc.constant('veth0') }),
    reject: fc.record({ type: fc.constantFrom('blackhole', 'unreachable', 'prohibit', 'throw') }),
    multipath: fc.record({
      nexthops: fc.uniqueArray(fc.record({ via: gw, dev: fc.constant('veth0'), weight: opt(fc.integer({ min: 1, max: 256 })), onlink: opt(fc.boolean()) }, { requiredKeys: ['via', 'dev'] }), {
        minLength: 2,
        maxLength: 4,
        selector: (nh) => nh.via,
      }),
    }),
  };
  if (!v6) kinds.via6 = fc.record({ via: gw6, dev: fc.constant('veth0') }); // RTA_VIA
  return fc
    .tuple(
      v6 ? v6Prefix : v4Prefix,
      fc.oneof(...Object.values(kinds)),
      fc.record({
        table,
        protocol,
        metric: opt(fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 0xffffffff }))),
        mtu: opt(fc.integer({ min: 68, max: 65520 })),
        advmss: opt(fc.integer({ min: 1, max: 65495 })),
        tos: v6 ? fc.constant(undefined) : opt(fc.integer({ min: 0, max: 63 }).map((x) => x * 4)),
        prefsrc: opt(fc.constant(v6 ? 'fd00::1' : '10.57.4.20')),
      }),
    )
    .map(([dst, kind, extra]) => {
      const spec = { dst, ...kind };
      for (const [k, v] of Object.entries(extra)) {
        if (v === undefined) continue;
        if (k === 'prefsrc' && (kind.type || kind.nexthops)) continue;
        spec[k] = v;
      }
      return spec;
    });
}

/** The routes of the spec's table with its dst/tos/metric. */
async function inTable(nl, want) {
  const got = await nl.routes.list({ family: want.family, table: want.table });
  return got.filter((r) => r.dst === want.dst && r.tos === want.tos && r.metric === want.metric);
}

/** The route list() returns for a spec: found by dst/tos/metric in its table and protocol. */
async function findApplied(nl, spec, want) {
  const got = await nl.routes.list({ family: want.family, table: want.table, protocol: want.protocol });
  return got.filter((r) => r.dst === want.dst && r.tos === want.tos && r.metric === want.metric);
}

function assertApplied(got, spec, want, devs) {
  assert.equal(got.length, 1, `one route for ${JSON.stringify(spec)}, got ${JSON.stringify(got)}`);
  let exp = want;
  if (spec.via !== undefined && spec.dev === undefined) {
    // via only: the kernel picked the device from the gateway; here it can only be veth0.
    assert.equal(got[0].dev, devs.veth0);
    exp = expectedRoute({ ...spec, dev: devs.veth0 }, (x) => x);
  }
  for (const k of new Set([...Object.keys(exp), ...Object.keys(got[0])])) {
    assert.deepStrictEqual(got[0][k], exp[k], `${k} of ${JSON.stringify(spec)}: ${JSON.stringify(got[0])}`);
  }
  assert.deepStrictEqual(got[0], exp);
}

kernelDescribe('rtnl routes on the kernel', function () {
  const ns = netnsPerTest('route');
  let nl;
  let devs;
  beforeEach(async function () {
    underlay(ns());
    await linkLocalsSettled(ns());
    devs = ifindexes(ns());
    nl = await Rtnl.open({ netns: ns() });
  });
  afterEach(function () {
    if (nl) nl.close();
    nl = undefined;
  });
  const devIndex = (ref) => (typeof ref === 'number' ? ref : devs[ref]);

  describe('round trip of random specs (fast-check)', function () {
    for (const family of [4, 6]) {
      it(`IPv${family}: add -> list equals expectedRoute field by field; replace changes it in place; del removes it`, async function () {
        this.timeout(300000);
        await fc.assert(
          fc.asyncProperty(specArb(family), fc.integer({ min: 1, max: 255 }), async (spec, newProto) => {
            await nl.routes.add(spec);
            const want = expectedRoute(spec, devIndex);
            assertApplied(await inTable(nl, want), spec, want, devs);
            // the kernel-filtered list (table and protocol) finds the same route
            assertApplied(await findApplied(nl, spec, want), spec, want, devs);

            // replace: same key (dst, tos, metric, table), another protocol: still one route, changed
            const changed = { ...spec, protocol: newProto === want.protocol ? (newProto % 255) + 1 : newProto };
            await nl.routes.replace(changed);
            const want2 = expectedRoute(changed, devIndex);
            assert.notEqual(want2.protocol, want.protocol);
            assertApplied(await inTable(nl, want2), changed, want2, devs);

            await nl.routes.del(changed);
            assert.deepEqual(await inTable(nl, want2), []);
          }),
          { numRuns: 150 },
        );
      });
    }

    it('a Route read back from list() deletes exactly itself', async function () {
      const specs = [
        { dst: '10.20.0.0/16', via: '10.57.4.21', dev: 'veth0', table: 1000, metric: 5 },
        { dst: '10.20.0.0/16', via: '10.57.4.22', dev: 'veth0', table: 1000, metric: 6 },
        { dst: '10.21.0.0/16', nexthops: [{ via: '10.57.4.21', dev: 'veth0' }, { via: '10.57.4.22', dev: 'veth0', weight: 9 }], table: 1000 },
        { dst: 'fd20::/64', via: 'fd00::2', dev: 'veth0', table: 1000 },
        { dst: 'fd21::/64', nexthops: [{ via: 'fd00::2', dev: 'veth0' }, { via: 'fd00::3', dev: 'veth0', weight: 2 }], table: 1000 },
        { dst: 'fd22::/64', type: 'blackhole', table: 1000 }, // reads back on dev lo
        { dst: '10.22.0.0/16', via: 'fd00::2', dev: 'veth0', table: 1000 }, // RTA_VIA
        { dst: '10.23.0.0/16', type: 'local', dev: 'veth0', table: 1000 },
        { dst: '10.24.0.0/16', dev: 'veth0', prefsrc: '10.57.4.20', mtu: 1300, tos: 8, table: 1000 },
      ];
      for (const s of specs) await nl.routes.add(s);
      const before = await nl.routes.list({ table: 1000 });
      assert.equal(before.length, specs.length);
      const victim = before.find((r) => r.metric === 6);
      await nl.routes.del(victim);
      const after = await nl.routes.list({ table: 1000 });
      assert.deepEqual(after, before.filter((r) => r !== victim));
      const res = await nl.routes.delMany(after);
      assert.equal(res.failed, 0, String(res.errors.find(Boolean)));
      assert.deepEqual(await nl.routes.list({ table: 1000 }), []);
    });

    it('append adds a path to an IPv6 route (ECMP), as `ip -6 route append`', async function () {
      await nl.routes.add({ dst: 'fd21::/64', via: 'fd00::2', dev: 'veth0' });
      await nl.routes.append({ dst: 'fd21::/64', via: 'fd00::3', dev: 'veth0' });
      const [r] = (await nl.routes.list({ family: 6 })).filter((x) => x.dst === 'fd21::/64');
      assert.deepEqual(
        r.nexthops.map((nh) => [nh.via, nh.dev, nh.weight]),
        [['fd00::2', devs.veth0, 1], ['fd00::3', devs.veth0, 1]],
      );
      const [j] = ipJson(ns(), '-6', 'route', 'show', 'fd21::/64');
      assert.deepEqual(j.nexthops.map((nh) => nh.gateway), ['fd00::2', 'fd00::3']);
    });
  });

  describe('iproute2 as the oracle', function () {
    // Routes made by `ip route add ...`, each with the spec that means the same.
    const MADE_BY_IP = [
      [['route', 'add', '192.168.11.0/24', 'via', '10.57.4.21', 'dev', 'veth0', 'onlink'], { dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'veth0', onlink: true }],
      [['route', 'add', '192.168.12.0/24', 'via', '10.57.4.21', 'dev', 'veth0', 'onlink', 'table', '1000', 'proto', '200', 'metric', '10'], { dst: '192.168.12.0/24', via: '10.57.4.21', dev: 'veth0', onlink: true, table: 1000, protocol: 200, metric: 10 }],
      [['route', 'add', '10.3.0.0/16', 'nexthop', 'via', '10.57.4.21', 'dev', 'veth0', 'weight', '1', 'nexthop', 'via', '10.57.4.22', 'dev', 'veth0', 'weight', '2', 'onlink'], { dst: '10.3.0.0/16', nexthops: [{ via: '10.57.4.21', dev: 'veth0' }, { via: '10.57.4.22', dev: 'veth0', weight: 2, onlink: true }] }],
      [['route', 'add', 'blackhole', '10.99.0.0/16'], { dst: '10.99.0.0/16', type: 'blackhole' }],
      [['route', 'add', 'unreachable', '10.98.0.0/16', 'metric', '7'], { dst: '10.98.0.0/16', type: 'unreachable', metric: 7 }],
      [['route', 'add', 'prohibit', '10.97.0.0/16', 'table', '300'], { dst: '10.97.0.0/16', type: 'prohibit', table: 300 }],
      [['route', 'add', 'throw', '10.96.0.0/16', 'table', '300'], { dst: '10.96.0.0/16', type: 'throw', table: 300 }],
      [['route', 'add', '10.2.0.0/16', 'via', '10.57.4.21', 'dev', 'veth0', 'mtu', '1400', 'advmss', '1360', 'tos', '0x10'], { dst: '10.2.0.0/16', via: '10.57.4.21', dev: 'veth0', mtu: 1400, advmss: 1360, tos: 0x10 }],
      [['route', 'add', '10.1.0.0/16', 'dev', 'veth0', 'src', '10.57.4.20'], { dst: '10.1.0.0/16', dev: 'veth0', prefsrc: '10.57.4.20' }],
      [['route', 'add', '10.5.0.0/16', 'via', '10.57.4.21', 'dev', 'veth0', 'table', '5000', 'proto', 'static'], { dst: '10.5.0.0/16', via: '10.57.4.21', dev: 'veth0', table: 5000, protocol: 'static' }],
      [['route', 'add', 'default', 'via', '10.57.4.1', 'dev', 'veth0', 'table', '77'], { dst: 'default', via: '10.57.4.1', dev: 'veth0', table: 77 }],
      [['route', 'add', '10.9.0.0/16', 'via', 'inet6', 'fd00::2', 'dev', 'veth0'], { dst: '10.9.0.0/16', via: 'fd00::2', dev: 'veth0' }],
      [['route', 'add', 'local', '10.9.9.9', 'dev', 'lo'], { dst: '10.9.9.9', type: 'local', dev: 'lo' }],
      [['-6', 'route', 'add', 'fd01::/64', 'via', 'fd00::2', 'dev', 'veth0'], { dst: 'fd01::/64', via: 'fd00::2', dev: 'veth0' }],
      [['-6', 'route', 'add', 'fd02::/64', 'via', 'fd00::2', 'dev', 'veth0', 'table', '1000', 'proto', '200', 'metric', '5'], { dst: 'fd02::/64', via: 'fd00::2', dev: 'veth0', table: 1000, protocol: 200, metric: 5 }],
      [['-6', 'route', 'add', 'fd03::/64', 'nexthop', 'via', 'fd00::2', 'dev', 'veth0', 'nexthop', 'via', 'fd00::3', 'dev', 'veth0', 'weight', '3'], { dst: 'fd03::/64', nexthops: [{ via: 'fd00::2', dev: 'veth0' }, { via: 'fd00::3', dev: 'veth0', weight: 3 }] }],
      [['-6', 'route', 'add', 'blackhole', 'fd05::/64'], { dst: 'fd05::/64', type: 'blackhole' }],
      [['-6', 'route', 'add', 'fd09::/64', 'via', 'fd99::1', 'dev', 'veth0', 'onlink', 'mtu', '1300'], { dst: 'fd09::/64', via: 'fd99::1', dev: 'veth0', onlink: true, mtu: 1300 }],
      [['-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'veth0'], { dst: 'default', via: 'fe80::1', dev: 'veth0' }],
    ];

    /** A route as `ip -N -j -d route show` prints it, in Route's terms. */
    function fromIp(j, family, names) {
      const addr = (s) => (s === 'default' ? s : s.includes('/') ? s : `${s}/${family === 6 ? 128 : 32}`);
      const r = {
        family,
        dst: addr(j.dst),
        table: Number(j.table),
        protocol: Number(j.protocol),
        scope: Number(j.scope),
        type: Number(j.type),
        tos: j.tos ? parseInt(j.tos, 16) : 0,
        metric: j.metric,
        via: j.gateway ?? j.via?.host,
        dev: j.dev === undefined ? undefined : names[j.dev],
        onlink: (j.flags ?? []).includes('onlink'),
        prefsrc: j.prefsrc,
        mtu: j.metrics?.[0]?.mtu,
        advmss: j.metrics?.[0]?.advmss,
        nexthops: j.nexthops?.map((nh) => ({ via: nh.gateway ?? nh.via?.host, dev: names[nh.dev], weight: nh.weight, onlink: (nh.flags ?? []).includes('onlink') })),
      };
      return r;
    }
    function comparable(r) {
      return {
        ...r,
        type: typeof r.type === 'number' ? r.type : ROUTE_TYPES[r.type],
        flags: undefined,
        nexthops: r.nexthops?.map((nh) => ({ via: nh.via, dev: nh.dev, weight: nh.weight, onlink: nh.onlink })),
      };
    }
    /** JSON with keys sorted at every level and undefined values left out. */
    const key = (r) =>
      JSON.stringify(r, (_, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v));

    it('list({ table: "all" }) equals `ip -j -d route show table all` field by field, both families', async function () {
      for (const [args] of MADE_BY_IP) ip(ns(), ...args);
      // and a few made by us
      await nl.routes.add({ dst: '10.30.0.0/16', via: '10.57.4.40', dev: 'veth0', onlink: true, table: 2000, protocol: 'bgp' });
      await nl.routes.add({ dst: 'fd30::/64', nexthops: [{ via: 'fd00::9', dev: 'veth0', weight: 200 }, { via: 'fd00::a', dev: 'veth0', onlink: true }], metric: 9 });
      for (const family of [4, 6]) {
        const read = () => ipJson(ns(), '-N', `-${family}`, '-d', 'route', 'show', 'table', 'all').map((j) => key(comparable(fromIp(j, family, devs)))).sort();
        // The kernel adds a link-local address's local route on its own when DAD ends (under the
        // VM lane's TCG that can fall between two reads): compare ours with two equal reads of ip's.
        let ours;
        let theirs;
        for (let tries = 1; ; tries++) {
          const before = read();
          ours = (await nl.routes.list({ family, table: 'all' })).map((r) => key(comparable(r))).sort();
          theirs = read();
          if (JSON.stringify(before) === JSON.stringify(theirs) || tries === 5) break;
        }
        assert.deepEqual(ours, theirs);
        assert.ok(ours.length >= (family === 4 ? 15 : 9), `${ours.length} IPv${family} routes`);
      }
    });

    it('routes made with `ip route add ...` read back as expectedRoute of the same spec, and del(spec) removes them', async function () {
      for (const [args, spec] of MADE_BY_IP) {
        ip(ns(), ...args);
        const want = expectedRoute(spec, devIndex);
        const got = await findApplied(nl, spec, want);
        assertApplied(got, spec, want, devs);
      }
      for (const [args, spec] of MADE_BY_IP) {
        await nl.routes.del(spec);
        const family = args[0] === '-6' ? '-6' : '-4';
        const rest = args.slice(args[0] === '-6' ? 2 : 1);
        const dst = rest.find((a) => a.includes('.') || a.includes(':') || a === 'default');
        const t = spec.table === undefined ? (spec.type === 'local' ? 'local' : 'main') : String(spec.table);
        assert.deepEqual(ipJson(ns(), family, 'route', 'show', 'table', t, 'exact', dst === '10.9.9.9' ? '10.9.9.9/32' : dst), [], `${args.join(' ')} was deleted`);
      }
    });
  });

  describe('kernel-side filtering', function () {
    /** Runs list() while recording the dump request bytes and the flags of every reply. */
    async function recordList(routes, socket, filter) {
      const rec = { request: undefined, replyFlags: [] };
      const orig = socket.dump;
      socket.dump = function (encode, parse, opts) {
        const w = new wire.MessageWriter(64);
        encode(w);
        rec.request = Buffer.from(w.bytes());
        return orig.call(this, encode, (m) => {
          if (m.type === C.RTM_NEWROUTE) rec.replyFlags.push(m.flags);
          return parse(m);
        }, opts);
      };
      try {
        rec.result = await routes.list(filter);
      } finally {
        socket.dump = orig;
      }
      return rec;
    }

    async function populate() {
      const specs = [];
      let k = 0;
      for (const table of ['main', 1000, 2000]) {
        for (const protocol of ['boot', 200, 'static']) {
          for (let i = 0; i < 20; i++, k++) {
            specs.push({ dst: `10.${100 + (k >> 8)}.${k & 255}.0/24`, via: '10.57.4.21', dev: 'veth0', table, protocol });
            specs.push({ dst: `fd40:${k.toString(16)}::/64`, via: 'fd00::2', dev: 'veth0', table, protocol });
          }
        }
      }
      specs.push({ dst: '10.250.0.0/16', type: 'blackhole', table: 1000, protocol: 200 });
      specs.push({ dst: '10.251.0.0/16', dev: 'veth1', table: 1000, protocol: 200 });
      const res = await nl.routes.addMany(specs);
      assert.equal(res.failed, 0, String(res.errors.find(Boolean)));
      return specs;
    }

    it('list({ table: 1000, protocol: 200 }) asks the kernel to filter and gets exactly those routes', async function () {
      const specs = await populate();
      const rec = await recordList(nl.routes, nl.socket, { table: 1000, protocol: 200 });
      const want = specs.filter((s) => s.table === 1000 && s.protocol === 200).map((s) => s.dst).sort();
      assert.deepEqual(rec.result.map((r) => r.dst).sort(), want);
      assert.equal(want.length, 42);
      // The request: RTM_GETROUTE dump, AF_UNSPEC, rtm_protocol 200, RTA_TABLE 1000.
      const [m] = wire.parseMessages(rec.request);
      assert.equal(m.type, C.RTM_GETROUTE);
      assert.equal(m.flags & wire.NLM_F_DUMP, wire.NLM_F_DUMP);
      assert.deepEqual([...rec.request.subarray(16, 28)], [C.AF_UNSPEC, 0, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0]);
      const attrs = [];
      wire.forEachAttr(rec.request, 28, m.end, (t, off, len) => attrs.push([t, wire.readU32(rec.request, off, len)]));
      assert.deepEqual(attrs, [[C.RTA_TABLE, 1000]]);
      // The kernel sent only the matching routes, each marked as filtered.
      assert.equal(rec.replyFlags.length, want.length);
      assert.ok(rec.replyFlags.every((f) => f & wire.NLM_F_DUMP_FILTERED));
    });

    it('forEach() visits exactly what list() returns', async function () {
      await populate();
      const listed = await nl.routes.list({ table: 1000, protocol: 200 });
      const visited = [];
      const n = await nl.routes.forEach({ table: 1000, protocol: 200 }, (r) => visited.push(r));
      assert.equal(n, listed.length);
      assert.deepEqual(visited, listed);
    });

    it('without strict checking the kernel sends everything and list() filters it here, with the same result', async function () {
      const specs = await populate();
      const socket = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}`, strictCheck: false });
      try {
        const routes = new Routes({ socket, devices: new DeviceResolver(socket) });
        const rec = await recordList(routes, socket, { table: 1000, protocol: 200 });
        const want = specs.filter((s) => s.table === 1000 && s.protocol === 200).map((s) => s.dst).sort();
        assert.deepEqual(rec.result.map((r) => r.dst).sort(), want);
        assert.ok(rec.replyFlags.length > specs.length, `${rec.replyFlags.length} replies: unfiltered`);
        assert.ok(rec.replyFlags.every((f) => !(f & wire.NLM_F_DUMP_FILTERED)));
        // The kernel's own filter (the strict socket) is the reference: veth1's link-local
        // address adds its /128 local route once DAD is done, on a slow machine before the list,
        // on a fast one after it, so the two are read until they agree.
        const dsts = (rs) => rs.map((r) => r.dst).sort();
        let rec2;
        let want2;
        await pollUntil(async () => {
          want2 = dsts(await nl.routes.list({ dev: 'veth1', table: 'all' }));
          rec2 = await recordList(routes, socket, { dev: 'veth1', table: 'all' });
          return JSON.stringify(dsts(rec2.result)) === JSON.stringify(want2);
        }, { ms: 5000 * slow, what: () => `list() filtering here ${JSON.stringify(dsts(rec2.result))} as the kernel ${JSON.stringify(want2)}` });
        assert.ok(want2.includes('10.251.0.0/16') && want2.includes('fe80::/64'), JSON.stringify(want2));
        assert.ok(rec2.result.every((r) => r.dev === devs.veth1));
      } finally {
        socket.close();
      }
    });

    it('filters by family, type, device and scope; main table by default, "all" for every table', async function () {
      await populate();
      const main = await nl.routes.list();
      assert.ok(main.length > 0 && main.every((r) => r.table === C.RT_TABLE_MAIN));
      assert.ok(main.some((r) => r.family === 4) && main.some((r) => r.family === 6));
      assert.deepEqual(await nl.routes.list({ table: 0 }), await nl.routes.list({ table: 'all' }));
      const all = await nl.routes.list({ table: 'all' });
      assert.ok(all.some((r) => r.table === C.RT_TABLE_LOCAL) && all.some((r) => r.table === 2000));
      const v6 = await nl.routes.list({ family: 6, table: 'all' });
      assert.deepEqual(v6, all.filter((r) => r.family === 6));
      const bh = await nl.routes.list({ type: 'blackhole', table: 'all' });
      assert.deepEqual(bh.map((r) => r.dst), ['10.250.0.0/16']);
      const onVeth1 = await nl.routes.list({ dev: 'veth1', table: 'all', family: 4 });
      assert.deepEqual(onVeth1.map((r) => r.dst), ['10.251.0.0/16']);
      const link = await nl.routes.list({ scope: 'link', family: 4 });
      assert.deepEqual(link.map((r) => r.dst), ['10.57.4.0/24']);
      const statics = await nl.routes.list({ protocol: 'static', table: 'all', family: 4 });
      assert.equal(statics.length, 60);
      // A table that does not exist is empty, for one family (the kernel says ENOENT) or both.
      assert.deepEqual(await nl.routes.list({ table: 4242 }), []);
      assert.deepEqual(await nl.routes.list({ table: 4242, family: 4 }), []);
      assert.deepEqual(await nl.routes.list({ table: 4242, family: 6 }), []);
      await assert.rejects(nl.routes.list({ dev: 'nope0' }), (e) => e.code === 'ENODEV' && /nope0/.test(e.message));
    });
  });

  describe('batches', function () {
    it('addMany of 10,000 routes with failures at the kernel: per-route outcome, list() shows exactly the successes, delMany removes them', async function () {
      this.timeout(120000);
      const N = 10000;
      const kind = (i) => (i % 10 === 9 ? 'dup' : i % 17 === 16 ? 'nodev' : i % 23 === 22 ? 'unreachable' : 'ok');
      const specs = [];
      for (let i = 0; i < N; i++) {
        const k = kind(i);
        const prev = i - 1;
        const dst = k === 'dup' ? specs[prev].dst : `172.${16 + (i >> 8)}.${i & 255}.0/24`;
        if (k === 'dup') specs.push({ ...specs[prev] });
        else if (k === 'nodev') specs.push({ dst, via: '10.57.4.21', dev: 'nope0', table: 1000 });
        else if (k === 'unreachable') specs.push({ dst, via: '10.99.0.1', table: 1000 });
        else specs.push({ dst, via: `10.0.${i & 255}.1`, dev: 'veth0', onlink: true, table: 1000, protocol: 200 });
      }
      // a duplicate of a failed route succeeds itself
      const expectOk = specs.map((s, i) => {
        let k = kind(i);
        if (k === 'dup') k = kind(i - 1) === 'ok' ? 'dup' : kind(i - 1);
        return k;
      });
      const res = await nl.routes.addMany(specs);
      assert.equal(res.count, N);
      const codes = { ok: undefined, dup: 'EEXIST', nodev: 'ENODEV', unreachable: 'ENETUNREACH' };
      for (let i = 0; i < N; i++) {
        const want = codes[expectOk[i]];
        assert.equal(res.errors[i]?.code, want, `route ${i} (${expectOk[i]}): ${res.errors[i]}`);
        if (want) assert.ok(res.errors[i].message.includes(specs[i].dst), res.errors[i].message);
      }
      const okIdx = specs.map((_, i) => i).filter((i) => expectOk[i] === 'ok');
      assert.equal(res.succeeded, okIdx.length);
      assert.match(res.errors.find((e) => e?.code === 'ENODEV').message, /no device "nope0"/);
      assert.match(res.errors.find((e) => e?.code === 'ENETUNREACH').kernelMessage, /invalid gateway/i);

      const listed = await nl.routes.list({ table: 1000 });
      assert.deepEqual(listed.map((r) => r.dst).sort(), okIdx.map((i) => specs[i].dst).sort());
      const oracle = ipJson(ns(), 'route', 'show', 'table', '1000');
      assert.equal(oracle.length, okIdx.length);

      const del = await nl.routes.delMany(okIdx.map((i) => specs[i]));
      assert.equal(del.failed, 0, String(del.errors.find(Boolean)));
      assert.deepEqual(await nl.routes.list({ table: 1000 }), []);
      const again = await nl.routes.delMany([specs[0], specs[1]]);
      assert.deepEqual(again.errors.map((e) => e?.code), ['ESRCH', 'ESRCH']);
    });

    it('addMany({ replace: true }) changes existing routes in place', async function () {
      const specs = [];
      for (let i = 0; i < 500; i++) specs.push({ dst: `10.40.${i >> 4}.${(i & 15) << 4}/28`, via: '10.57.4.21', dev: 'veth0', table: 600 });
      assert.equal((await nl.routes.addMany(specs)).failed, 0);
      const moved = specs.map((s) => ({ ...s, via: '10.57.4.22' }));
      assert.equal((await nl.routes.addMany(moved)).failed, 500, 'plain add refuses: EEXIST');
      const res = await nl.routes.addMany(moved, { replace: true });
      assert.equal(res.failed, 0);
      const listed = await nl.routes.list({ table: 600 });
      assert.equal(listed.length, 500);
      assert.ok(listed.every((r) => r.via === '10.57.4.22'));
    });
  });

  describe('errors', function () {
    it('del of a missing route: NetlinkError ESRCH naming the route (and the kernel\'s text when it has one)', async function () {
      await assert.rejects(nl.routes.del({ dst: '10.77.0.0/24', table: 1000 }), (e) => {
        assert.ok(e instanceof wire.NetlinkError);
        assert.equal(e.code, 'ESRCH');
        assert.match(e.message, /^routes\.del 10\.77\.0\.0\/24 table 1000: ESRCH.*kernel says: FIB table does not exist/);
        return true;
      });
      await nl.routes.add({ dst: '10.76.0.0/24', dev: 'veth0', table: 1000 });
      for (const spec of [{ dst: '10.77.0.0/24', table: 1000 }, { dst: '10.76.0.0/24', dev: 'veth0', table: 1000, metric: 3 }, { dst: 'fd77::/64', via: 'fd00::2' }]) {
        await assert.rejects(nl.routes.del(spec), (e) => {
          assert.ok(e instanceof wire.NetlinkError);
          assert.equal(e.code, 'ESRCH');
          assert.ok(e.message.startsWith(`routes.del ${spec.dst}`), e.message);
          assert.match(e.message, /no such route$/);
          return true;
        });
      }
    });

    it('add of an existing route: EEXIST; unknown device: ENODEV naming it; bad gateway: the kernel\'s text', async function () {
      const spec = { dst: '10.78.0.0/16', via: '10.57.4.21', dev: 'veth0' };
      await nl.routes.add(spec);
      await assert.rejects(nl.routes.add(spec), (e) => e.code === 'EEXIST' && e.message.startsWith('routes.add 10.78.0.0/16 via 10.57.4.21 dev veth0: EEXIST'));
      await nl.routes.replace(spec); // replace does not mind
      await assert.rejects(nl.routes.add({ dst: '10.79.0.0/16', dev: 'nope0' }), (e) => e.code === 'ENODEV' && /device "nope0"/.test(e.message));
      await assert.rejects(nl.routes.add({ dst: '10.79.0.0/16', via: '10.99.0.1' }), (e) => {
        assert.equal(e.code, 'ENETUNREACH');
        assert.match(e.kernelMessage, /Nexthop has invalid gateway/);
        assert.match(e.message, /^routes\.add 10\.79\.0\.0\/16 via 10\.99\.0\.1: ENETUNREACH.*kernel says: Nexthop has invalid gateway/);
        return true;
      });
    });

    const BAD = [
      [{ dst: '10.0.0.0/33', dev: 'veth0' }, /route\.dst: .*prefix length must be 0\.\.32/],
      [{ dst: '10.0.0.1/24', dev: 'veth0' }, /route\.dst: .*has bits set past \/24 \(did you mean 10\.0\.0\.0\/24\?\)/],
      [{ dst: 'banana', dev: 'veth0' }, /route\.dst: "banana" is not a valid prefix/],
      [{ dst: 'fd00::/64', via: '10.0.0.1' }, /route\.via: .*IPv4, but the route is IPv6/],
      [{ dst: '10.0.0.0/8', via: '10.0.0.1', nexthops: [{ via: '10.0.0.2' }, { via: '10.0.0.3' }] }, /route\.nexthops: nexthops and via\/dev\/onlink are exclusive/],
      [{ dst: '10.0.0.0/8', nexthops: [{ via: '10.0.0.2', weight: 0 }, { via: '10.0.0.3' }] }, /route\.nexthops\[0\]\.weight: 0 must be an integer in 1\.\.256/],
      [{ dst: '10.0.0.0/8', nexthops: [{ via: '10.0.0.2', weight: 257 }, { via: '10.0.0.3' }] }, /weight: 257 must be an integer in 1\.\.256/],
      [{ dst: '10.0.0.0/8', dev: 'veth0', table: 0 }, /route\.table: 0 is RT_TABLE_UNSPEC/],
      [{ dst: '10.0.0.0/8', dev: 'veth0', protocol: 'zebra9' }, /route\.protocol: unknown protocol name "zebra9"/],
      [{ dst: '10.0.0.0/8', dev: 'veth0', scope: 'galaxy' }, /route\.scope: unknown scope name/],
      [{ dst: '10.0.0.0/8', dev: 'veth0', type: 'nat' }, /route\.type: "nat" is not a route type/],
      [{ dst: '10.0.0.0/8', via: '10.0.0.1', onlink: true }, /route\.onlink: onlink needs dev/],
      [{ dst: '10.0.0.0/8', dev: 'veth0', onlink: true }, /route\.onlink: onlink needs a gateway/],
      [{ dst: '10.0.0.0/8', type: 'blackhole', dev: 'veth0' }, /a blackhole route takes no via, dev/],
      [{ dst: '10.0.0.0/8' }, /a unicast route needs via, dev, nexthops or nhid/],
      [{ dst: 'default', type: 'unreachable' }, /"default" needs family/],
      [{ dst: '10.0.0.0/8', dev: 'veth0', tos: 3 }, /route\.tos: 3 has ECN bits set/],
      [{ dst: 'fd00::/64', dev: 'veth0', tos: 8 }, /IPv6 routes take no tos/],
      [{ dst: 'fd00::/64', dev: 'veth0', scope: 'link' }, /IPv6 routes have no scope/],
      [{ dst: 'fd00::/64', nexthops: [{ dev: 'veth0' }, { via: 'fd00::2' }] }, /IPv6 multipath nexthops need a gateway/],
      [{ dst: 'fd00::/64', via: 'fe80::1' }, /route\.via: "fe80::1" is link-local: give dev too/],
      [{ dst: '10.0.0.0/8', dev: 'veth0', mtu: 70000 }, /route\.mtu: 70000 must be an integer in 1\.\.65520/],
      [{ dst: '10.0.0.0/8', dev: 'this-name-is-too-long' }, /route\.dev: .*longer than 15 bytes/],
      [{ dst: '10.0.0.0/8', dev: 'veth0', prefsrc: 'fd00::1' }, /route\.prefsrc: .*IPv6, but the route is IPv4/],
      [{ dst: '10.0.0.0/8', dev: 'veth0', gateway: '10.0.0.1' }, /route\.gateway: unknown field/],
      [{ dst: '10.0.0.0/8', dev: 'veth0', metric: -1 }, /route\.metric: -1 must be an integer/],
      ['10.0.0.0/8 via 10.0.0.1', /expected a route spec object/],
    ];

    it(`ValidationError for ${BAD.length} kinds of bad spec, with nothing sent to the kernel`, async function () {
      const before = sentTotal(nl);
      const modifying = nl.modifyingRequests();
      for (const [spec, re] of BAD) {
        for (const op of ['add', 'replace', 'append']) {
          await assert.rejects(nl.routes[op](spec), (e) => {
            assert.ok(e instanceof ValidationError, `${JSON.stringify(spec)}: ${e}`);
            assert.equal(e.code, 'ERR_NETLINK_INVALID');
            assert.match(e.message, re);
            return true;
          });
        }
      }
      const res = nl.routes.addMany([{ dst: '10.0.0.0/8', dev: 'veth0' }, ...BAD.map(([s]) => s)]);
      await assert.rejects(res, (e) => {
        assert.ok(e instanceof ValidationError);
        assert.ok(e.problems.length >= BAD.length, `${e.problems.length} problems`);
        assert.ok(e.problems.some((p) => p.path.startsWith('routes[1]')));
        assert.ok(!e.problems.some((p) => p.path.startsWith('routes[0]')), 'the good spec has no problem');
        assert.match(e.message, /nothing was sent/);
        return true;
      });
      await assert.rejects(nl.routes.list({ table: 'nope' }), ValidationError);
      await assert.rejects(nl.routes.list({ colour: 'red' }), ValidationError);
      await assert.rejects(nl.routes.get('10.0.0.300'), ValidationError);
      await assert.rejects(nl.routes.get('10.0.0.1', { src: 'fd00::1' }), ValidationError);
      await assert.rejects(nl.routes.del({ dst: '10.0.0.1/8' }), ValidationError);
      assert.equal(nl.modifyingRequests(), modifying, 'no modifying request was sent');
      assert.equal(sentTotal(nl), before, 'nothing at all was sent');
    });
  });

  describe('the seed routes and lookups', function () {
    it('host-gw (192.168.11.0/24 via 10.57.4.21 dev eth0 onlink) then vxlan mode (via 192.168.11.0 dev vxlan0 onlink), replaced in place', async function () {
      ip(ns(), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
      ip(ns(), 'addr', 'add', '10.57.5.20/24', 'dev', 'eth0');
      ip(ns(), 'link', 'set', 'eth0', 'up');
      ip(ns(), 'link', 'set', 'eth0p', 'up');
      ip(ns(), 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'dev', 'eth0', 'nolearning');
      ip(ns(), 'link', 'set', 'vxlan0', 'up');
      devs = ifindexes(ns());
      const hostGw = { dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'eth0', onlink: true };
      await nl.routes.replace(hostGw);
      let [r] = (await nl.routes.list({ family: 4 })).filter((x) => x.dst === '192.168.11.0/24');
      assert.deepEqual(r, expectedRoute(hostGw, devIndex));
      let [j] = ipJson(ns(), 'route', 'show', '192.168.11.0/24');
      assert.deepEqual([j.gateway, j.dev, j.flags], ['10.57.4.21', 'eth0', ['onlink']]);

      const vxlan = { dst: '192.168.11.0/24', via: '192.168.11.0', dev: 'vxlan0', onlink: true };
      await nl.routes.replace(vxlan);
      const now = (await nl.routes.list({ family: 4 })).filter((x) => x.dst === '192.168.11.0/24');
      assert.equal(now.length, 1, 'replaced, not added');
      assert.deepEqual(now[0], expectedRoute(vxlan, devIndex));
      [j] = ipJson(ns(), 'route', 'show', '192.168.11.0/24');
      assert.deepEqual([j.gateway, j.dev, j.flags], ['192.168.11.0', 'vxlan0', ['onlink']]);
      // the kernel routes a pod address there
      r = await nl.routes.get('192.168.11.10');
      assert.deepEqual([r.dst, r.via, r.dev, r.onlink], ['192.168.11.0/24', '192.168.11.0', devs.vxlan0, true]);
      await nl.routes.del(vxlan);
      assert.deepEqual(ipJson(ns(), 'route', 'show', '192.168.11.0/24'), []);
    });

    it('get(): the matching FIB entry, the resolved route, a lookup in one table, ENETUNREACH', async function () {
      await nl.routes.add({ dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'veth0', onlink: true });
      await nl.routes.add({ dst: '10.60.0.0/16', via: '10.57.4.30', dev: 'veth0', table: 1000 });
      await nl.routes.add({ dst: '10.60.1.0/24', via: '10.57.4.31', dev: 'veth0', table: 1000 });
      await nl.routes.add({ dst: '10.60.1.0/24', via: '10.57.4.32', dev: 'veth0', table: 1000, metric: 1 });
      await nl.routes.add({ dst: 'fd60::/64', via: 'fd00::2', dev: 'veth0' });

      const m = await nl.routes.get('192.168.11.10');
      assert.deepEqual(m, expectedRoute({ dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'veth0', onlink: true }, devIndex));
      const resolved = await nl.routes.get('192.168.11.10', { fibMatch: false });
      assert.deepEqual([resolved.dst, resolved.via, resolved.dev, resolved.prefsrc], ['192.168.11.10/32', '10.57.4.21', devs.veth0, '10.57.4.20']);
      const [oracle] = ipJson(ns(), 'route', 'get', '192.168.11.10');
      assert.deepEqual([oracle.gateway, oracle.dev, oracle.prefsrc], [resolved.via, 'veth0', resolved.prefsrc]);

      const v6 = await nl.routes.get('fd60::1');
      assert.deepEqual([v6.dst, v6.via, v6.metric], ['fd60::/64', 'fd00::2', 1024]);

      const inTable = await nl.routes.get('10.60.1.7', { table: 1000 });
      assert.deepEqual([inTable.dst, inTable.via], ['10.60.1.0/24', '10.57.4.31'], 'longest prefix, then the lowest metric');
      const wider = await nl.routes.get('10.60.2.7', { table: 1000 });
      assert.equal(wider.dst, '10.60.0.0/16');
      await assert.rejects(nl.routes.get('10.61.0.1', { table: 1000 }), (e) => e.code === 'ENETUNREACH' && /table 1000/.test(e.message));
      await assert.rejects(nl.routes.get('8.8.8.8'), (e) => e.code === 'ENETUNREACH' && /^routes\.get 8\.8\.8\.8/.test(e.message));
    });
  });
});
