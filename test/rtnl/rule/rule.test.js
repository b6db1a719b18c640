'use strict';
// Policy rules: requests byte for byte what `ip rule` sends (fixtures rule-*.json and
// dump-rule*.json; the commands are in each fixture and in capture.sh), round trips on the real
// kernel checked by `ip -j rule`, the identity ruleKey() defines, and bad specs refused with
// nothing sent.
const assert = require('node:assert/strict');
const wire = require('../../../dist/wire');
const rtnl = require('../../../dist/rtnl');
const C = rtnl.constants;
const { fixture, masked, bytesOf, fakeContext, replayDump } = require('../../support/golden');
const { kernelDescribe, netnsPerTest, ip, ipJson, slow } = require('../../support/kernel');

const FULL = {
  from: '10.1.0.0/16',
  to: '10.2.0.0/16',
  iif: 'veth0',
  fwmark: 0x10,
  fwmask: 0xff,
  tos: 0x10,
  ipProto: 'tcp',
  sport: { start: 1000, end: 2000 },
  dport: 80,
  uidRange: { start: 100, end: 200 },
  table: 100,
  priority: 1000,
  protocol: 77,
  suppressPrefixLength: 0,
};

describe('rtnl: rule requests are byte for byte what `ip rule` sends', function () {
  const cases = [
    ['rule-add-full', (r) => r.add(FULL)],
    ['rule-add-v6', (r) => r.add({ from: 'fd00::/64', oif: 'veth0', table: 200, priority: 2000, suppressIfgroup: 5 })],
    ['rule-add-goto', (r) => r.add({ priority: 900, goto: 1000 })],
    ['rule-add-blackhole', (r) => r.add({ from: '10.3.0.0/16', action: 'blackhole', priority: 1100 })],
    ['rule-add-unreachable', (r) => r.add({ to: '10.4.0.0/16', action: 'unreachable', priority: 1101 })],
    ['rule-add-prohibit', (r) => r.add({ fwmark: 7, action: 'prohibit', priority: 1102 })],
    ['rule-add-nop', (r) => r.add({ action: 'nop', priority: 1103 })],
    ['rule-add-l3mdev', (r) => r.add({ l3mdev: true, priority: 1104 })],
    ['rule-add-not', (r) => r.add({ not: true, from: '10.5.0.0/16', table: 5000, priority: 1105 })],
    ['rule-del', (r) => r.del({ priority: 1000 })],
  ];
  for (const [name, run] of cases) {
    it(`${name}: ${fixture(name).command}`, async function () {
      const fx = fixture(name);
      const { fake, socket, ctx } = fakeContext();
      try {
        await run(new rtnl.Rules(ctx));
        assert.equal(fake.sent.length, fx.sent.length);
        fake.sent.forEach((m, k) => assert.equal(masked(bytesOf(m)), masked(Buffer.from(fx.sent[k], 'hex'))));
      } finally {
        socket.close();
      }
    });
  }

  it('dump-rule / dump-rule-v6: list() sends the same dump request and decodes what the kernel sent', async function () {
    const got = {};
    for (const [name, family] of [
      ['dump-rule', 4],
      ['dump-rule-v6', 6],
    ]) {
      const fx = fixture(name);
      const { fake, socket, ctx } = fakeContext();
      try {
        replayDump(fake, fx, 0);
        got[name] = await new rtnl.Rules(ctx).list({ family });
        assert.equal(masked(bytesOf(fake.sent[0])), masked(Buffer.from(fx.sent[0], 'hex')), name);
      } finally {
        socket.close();
      }
    }
    const v4 = got['dump-rule'];
    assert.deepEqual(
      v4.map((r) => [r.priority, r.action, r.table]),
      [
        [0, 'lookup', 255],
        [900, 'goto', 0],
        [1000, 'lookup', 100],
        [1100, 'blackhole', 0],
        [1105, 'lookup', 5000],
        [32766, 'lookup', 254],
        [32767, 'lookup', 253],
      ],
    );
    const full = v4.find((r) => r.priority === 1000);
    assert.equal(rtnl.ruleKey(full), rtnl.ruleKey(FULL), 'the rule read back has the key of the spec that made it');
    assert.deepEqual([full.sport, full.dport, full.uidRange, full.ipProto, full.iif, full.protocol], [{ start: 1000, end: 2000 }, { start: 80, end: 80 }, { start: 100, end: 200 }, 6, 'veth0', 77]);
    assert.equal(v4.find((r) => r.priority === 900).goto, 1000);
    assert.equal(v4.find((r) => r.priority === 1105).not, true);
    const v6 = got['dump-rule-v6'].find((r) => r.priority === 2000);
    assert.deepEqual([v6.family, v6.from, v6.oif, v6.table, v6.suppressIfgroup], [6, 'fd00::/64', 'veth0', 200, 5]);
  });

  it('ruleKey: equal for a spec and its kernel defaults, different for any selector or action', function () {
    const k = rtnl.ruleKey;
    assert.equal(k({ priority: 5, from: '10.0.0.0/8' }), k({ priority: 5, from: '10.0.0.0/8', table: 'main', action: 'lookup', protocol: 9 }));
    assert.equal(k({ priority: 5, fwmark: 1 }), k({ priority: 5, fwmark: 1, fwmask: 0xffffffff }));
    assert.equal(k({ priority: 5, dport: 80 }), k({ priority: 5, dport: { start: 80, end: 80 } }));
    assert.equal(k({ priority: 5, from: '0.0.0.0/0' }), k({ priority: 5 }));
    assert.equal(k({ priority: 5, dscp: 4 }), k({ priority: 5, tos: 16 }));
    assert.equal(k({ priority: 5, ipProto: 'udp' }), k({ priority: 5, ipProto: 17 }));
    const base = { priority: 5, from: '10.0.0.0/8', table: 100 };
    const variants = [
      { ...base, priority: 6 },
      { ...base, from: '10.0.0.0/9' },
      { ...base, to: '10.0.0.0/8' },
      { ...base, not: true },
      { ...base, iif: 'eth0' },
      { ...base, oif: 'eth0' },
      { ...base, fwmark: 1 },
      { ...base, tos: 8 },
      { ...base, ipProto: 6 },
      { ...base, sport: 1 },
      { ...base, dport: 1 },
      { ...base, uidRange: { start: 0, end: 1 } },
      { ...base, table: 101 },
      { ...base, suppressPrefixLength: 0 },
      { ...base, suppressIfgroup: 1 },
      { priority: 5, from: '10.0.0.0/8', action: 'blackhole' },
      { priority: 5, from: '10.0.0.0/8', goto: 9 },
      { priority: 5, from: '10.0.0.0/8', l3mdev: true },
      { ...base, family: 6, from: 'fd00::/8' },
    ];
    const keys = new Set([k(base), ...variants.map(k)]);
    assert.equal(keys.size, variants.length + 1);
  });

  it('bad specs are refused with a ValidationError naming the field, and nothing is sent', async function () {
    const { fake, socket, ctx } = fakeContext();
    try {
      const r = new rtnl.Rules(ctx);
      const bad = [
        [{ priority: 10, table: 100, goto: 20 }, 'goto', /either looks up a table or jumps/],
        [{ priority: -1, table: 100 }, 'priority', /0\.\.4294967295/],
        [{ priority: 2 ** 32, table: 100 }, 'priority', /0\.\.4294967295/],
        [{ priority: 1.5 }, 'priority', /0\.\.4294967295/],
        [{ priority: 10, goto: 5 }, 'goto', /not after priority 10/],
        [{ priority: 10, action: 'goto' }, 'goto', /needs goto/],
        [{ priority: 10, action: 'blackhole', table: 5 }, 'table', /looks up no table/],
        [{ priority: 10, table: 0 }, 'table', /RT_TABLE_UNSPEC/],
        [{ priority: 10, l3mdev: true, table: 5 }, 'l3mdev', /exclusive/],
        [{ priority: 10, from: '10.0.0.1/8' }, 'from', /bits set past/],
        [{ priority: 10, from: '10.0.0.0/8', to: 'fd00::/8' }, 'to', /IPv6, but the rule is IPv4/],
        [{ priority: 10, tos: 0x20 }, 'tos', /TOS bits 0x1e/],
        [{ priority: 10, tos: 8, dscp: 2 }, 'dscp', /same byte/],
        [{ priority: 10, sport: 0 }, 'sport', /1\.\.65534/],
        [{ priority: 10, dport: { start: 90, end: 80 } }, 'dport', /after end/],
        [{ priority: 10, uidRange: { start: 1 } }, 'uidRange.end', /uid/],
        [{ priority: 10, fwmask: 0xff }, 'fwmask', /needs fwmark/],
        [{ priority: 10, iif: 'a-name-far-too-long' }, 'iif', /./],
        [{ priority: 10, suppressPrefixLength: 129 }, 'suppressPrefixLength', /0\.\.128/],
        [{ priority: 10, action: 'drop' }, 'action', /unknown rule action/],
        [{ pref: 10 }, 'pref', /did you mean `priority`/],
        [{ priority: 10, lookup: 100 }, 'lookup', /did you mean `table`/],
      ];
      for (const [spec, field, re] of bad) {
        await assert.rejects(r.add(spec), (e) => {
          assert.ok(e instanceof rtnl.ValidationError, String(e));
          assert.ok(e.problems.some((p) => p.path === field && re.test(p.message)), `${field} ${re}: ${e.message}`);
          return true;
        });
      }
      await assert.rejects(r.addMany([{ priority: 1 }, { priority: 2, table: 3, goto: 4 }]), (e) => e.problems[0].path === '[1].goto');
      await assert.rejects(r.list({ table: 0 }), /filter\.table/);
      assert.equal(fake.sent.length, 0, 'no request reached the (stand-in) kernel');
    } finally {
      socket.close();
    }
  });

  it('parseRuleMessage refuses malformed messages with NetlinkParseError', function () {
    const build = (fn) => {
      const w = new wire.MessageWriter();
      w.begin(C.RTM_NEWRULE, 0);
      fn(w);
      w.end();
      return wire.parseMessages(Buffer.from(w.bytes()))[0];
    };
    const cases = [
      build((w) => w.reserve(8)),
      build((w) => (w.buf[w.reserve(12)] = 7)), // AF_BRIDGE
      build((w) => {
        const off = w.reserve(12);
        w.buf[off] = C.AF_INET;
        w.buf[off + 2] = 40; // src_len past 32
      }),
      build((w) => {
        w.buf[w.reserve(12)] = C.AF_INET;
        w.binary(C.FRA_SPORT_RANGE, Buffer.alloc(2));
      }),
    ];
    for (const m of cases) assert.throws(() => rtnl.parseRuleMessage(m), wire.NetlinkParseError);
  });
});

kernelDescribe('rtnl: rules on the real kernel', function () {
  const ns = netnsPerTest('rule');
  let nl;
  beforeEach(async function () {
    ip(ns(), 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
    nl = await rtnl.Rtnl.open({ netns: ns() });
  });
  afterEach(function () {
    if (nl) nl.close();
    nl = undefined;
  });

  /** `ip -j rule` (both families) as comparable tuples. */
  function oracle() {
    const out = [];
    for (const fam of ['-4', '-6']) {
      for (const r of ipJson(ns(), fam, 'rule', 'show')) {
        out.push(
          JSON.stringify([
            fam === '-4' ? 4 : 6,
            r.priority,
            r.src === 'all' || r.src === undefined ? '' : `${r.src}/${r.srclen ?? (fam === '-4' ? 32 : 128)}`,
            r.dst === undefined ? '' : `${r.dst}/${r.dstlen}`,
            r.not === null ? 'not' : '',
            r.iif ?? '',
            r.oif ?? '',
            r.fwmark === undefined ? 0 : Number(r.fwmark),
            r.ipproto ?? '',
            r.sport_start ?? r.sport ?? '',
            r.dport_start ?? r.dport ?? '',
            r.uid_start ?? '',
            r.goto ?? '',
            r.action ?? (r.nop === null ? 'nop' : r.l3mdev === null ? 'l3mdev' : ''),
            r.protocol ?? '',
          ]),
        );
      }
    }
    return out.sort();
  }
  const PROTO_NAMES = { 6: 'tcp', 17: 'udp' };
  function mine(rules) {
    return rules
      .map((r) =>
        JSON.stringify([
          r.family,
          r.priority,
          r.from ?? '',
          r.to ?? '',
          r.not ? 'not' : '',
          r.iif ?? '',
          r.oif ?? '',
          r.fwmark ?? 0,
          r.ipProto === undefined ? '' : PROTO_NAMES[r.ipProto],
          r.sport?.start ?? '',
          r.dport?.start ?? '',
          r.uidRange?.start ?? '',
          r.goto ?? '',
          ['blackhole', 'unreachable', 'prohibit', 'nop'].includes(r.action) ? r.action : r.l3mdev ? 'l3mdev' : '',
          // `ip -j rule` names the owner only when it is not the kernel's own (RTPROT_KERNEL).
          r.protocol === 77 ? '77' : '',
        ]),
      )
      .sort();
  }

  it('add every kind of rule, IPv4 and IPv6; list() agrees with `ip -j rule`, and the keys of the specs are the keys read back', async function () {
    const specs = [
      FULL,
      { priority: 900, goto: 1000, protocol: 77 },
      { priority: 1100, from: '10.3.0.0/16', action: 'blackhole', protocol: 77 },
      { priority: 1101, to: '10.4.0.0/16', action: 'unreachable', protocol: 77 },
      { priority: 1102, fwmark: 7, action: 'prohibit', protocol: 77 },
      { priority: 1103, action: 'nop', protocol: 77 },
      { priority: 1105, not: true, from: '10.5.0.0/16', table: 5000, protocol: 77 },
      { priority: 1106, oif: 'veth0', ipProto: 'udp', dport: { start: 4789, end: 4790 }, table: 'main', protocol: 77 },
      { priority: 2000, from: 'fd00::/64', oif: 'veth0', table: 200, suppressIfgroup: 5, protocol: 77 },
      { priority: 2001, family: 6, to: 'fd01::/64', action: 'unreachable', tos: 0x20, protocol: 77 },
    ];
    const r = await nl.rules.addMany(specs);
    assert.equal(r.failed, 0, String(r.errors.filter(Boolean)));
    await nl.rules.add({ priority: 1104, l3mdev: true, protocol: 77 }).catch((e) => {
      // l3mdev rules need CONFIG_NET_L3_MASTER_DEV; say so rather than pass silently.
      if (e.code !== 'EOPNOTSUPP' && e.code !== 'EINVAL') throw e;
    });
    const rules = await nl.rules.list();
    assert.deepEqual(mine(rules), oracle());
    const keys = new Set(rules.map(rtnl.ruleKey));
    for (const s of specs) assert.ok(keys.has(rtnl.ruleKey(s)), `no rule read back with the key of ${JSON.stringify(s)}: ${rtnl.ruleKey(s)}`);
    const owned = await nl.rules.list({ protocol: 77 });
    assert.ok(owned.length >= specs.length);
    assert.deepEqual((await nl.rules.list({ family: 6, protocol: 77 })).map((x) => x.priority), [2000, 2001]);
    assert.deepEqual((await nl.rules.list({ table: 5000 })).map((x) => x.priority), [1105]);
    assert.deepEqual((await nl.rules.list({ priority: 1102 })).map((x) => x.action), ['prohibit']);
    // An identical rule is refused by the kernel.
    await assert.rejects(nl.rules.add(specs[2]), { code: 'EEXIST' });
  });

  it('del: a Rule read back removes exactly it; a spec removes the first match; delMany reports each', async function () {
    await nl.rules.add({ priority: 500, from: '10.1.0.0/16', table: 10 });
    await nl.rules.add({ priority: 500, from: '10.2.0.0/16', table: 10 });
    const second = (await nl.rules.list({ priority: 500 })).find((x) => x.from === '10.2.0.0/16');
    await nl.rules.del(second);
    assert.deepEqual(
      ipJson(ns(), 'rule', 'show', 'pref', '500').map((x) => x.src),
      ['10.1.0.0'],
    );
    const d = await nl.rules.delMany([{ priority: 500 }, { priority: 500 }]);
    assert.deepEqual(Array.from(d.errors, (e) => e?.code), [undefined, 'ENOENT']);
    await assert.rejects(nl.rules.del({ priority: 500 }), { code: 'ENOENT' });
  });

  it('a bad rule is refused before anything is written (the kernel rules stay as they were)', async function () {
    const before = ip(ns(), '-j', 'rule');
    const sent = nl.modifyingRequests();
    await assert.rejects(nl.rules.add({ priority: 10, table: 100, goto: 20 }), rtnl.ValidationError);
    await assert.rejects(nl.rules.add({ priority: 2 ** 32, table: 100 }), rtnl.ValidationError);
    await assert.rejects(nl.rules.addMany([{ priority: 11, table: 100 }, { priority: -5 }]), rtnl.ValidationError);
    assert.equal(nl.modifyingRequests() - sent, 0);
    assert.equal(ip(ns(), '-j', 'rule'), before);
  });

  it("monitor: 'rule' events for IPv4 and IPv6 adds and deletes", async function () {
    const mon = nl.monitor({ groups: ['rule'] });
    const events = [];
    mon.on('rule', (e) => events.push([e.action, e.object.family, e.object.priority, e.object.table]));
    try {
      await nl.rules.add({ priority: 300, from: '10.9.0.0/16', table: 9 });
      await nl.rules.add({ priority: 301, from: 'fd09::/64', table: 9 });
      await nl.rules.del({ priority: 300 });
      const deadline = Date.now() + 5000 * slow;
      while (events.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(events, [
        ['new', 4, 300, 9],
        ['new', 6, 301, 9],
        ['del', 4, 300, 9],
      ]);
    } finally {
      mon.close();
    }
  });
});
