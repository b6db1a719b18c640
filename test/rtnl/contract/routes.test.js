'use strict';
// Contract: routes (keys, defaults, the kernel's checks of next hops, flushes, dumps and their
// filters, lookups, batches with mixed failures) on the real kernel and on MemoryKernel alike.
const { contract, routes } = require('./world');
const raw = require('./raw');
const { C } = raw;

/** A namespace with lo up and va (10.1.0.1/24, fd00::1/64) up with carrier. */
async function host(w, letter = 'a') {
  const nl = await w.open(letter);
  await nl.links.set('lo', { up: true });
  await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb' }, up: true });
  await nl.links.set('vb', { up: true });
  await nl.addresses.add({ dev: 'va', address: '10.1.0.1/24' });
  await nl.addresses.add({ dev: 'va', address: 'fd00::1/64', nodad: true });
  return nl;
}

const user = (rs) => rs.filter((r) => !/proto 2\b/.test(r));

contract('routes', [
  {
    name: 'add, add again (EEXIST), replace on the same key, append a second IPv4 route on the key, delete',
    run: async (w) => {
      const nl = await host(w);
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2' });
      const again = await w.outcome(nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2' }));
      const other = await w.outcome(nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.3' }));
      await nl.routes.replace({ dst: '10.9.0.0/16', via: '10.1.0.4' });
      const replaced = user(await routes(nl));
      await nl.routes.append({ dst: '10.9.0.0/16', via: '10.1.0.5' });
      const appended = user(await routes(nl));
      await nl.routes.del({ dst: '10.9.0.0/16' });
      const one = user(await routes(nl));
      const dup = await w.outcome(nl.routes.append({ dst: '10.9.0.0/16', via: '10.1.0.5' }));
      return [again, other, replaced, appended, one, dup];
    },
    expect: [
      { code: 'EEXIST' },
      { code: 'EEXIST' },
      ['10.9.0.0/16 via 10.1.0.4 dev va proto 3'],
      ['10.9.0.0/16 via 10.1.0.4 dev va proto 3', '10.9.0.0/16 via 10.1.0.5 dev va proto 3'],
      ['10.9.0.0/16 via 10.1.0.5 dev va proto 3'],
      { code: 'EEXIST' },
    ],
  },
  {
    name: 'the key includes metric and tos: routes to one prefix with other metrics or tos coexist',
    run: async (w) => {
      const nl = await host(w);
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2' });
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.3', metric: 10 });
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.4', tos: 16 });
      await nl.routes.add({ dst: 'fd09::/64', via: 'fd00::2', dev: 'va' });
      await nl.routes.add({ dst: 'fd09::/64', dev: 'va', metric: 5 });
      await nl.routes.del({ dst: '10.9.0.0/16', metric: 10 });
      return user(await routes(nl));
    },
    expect: ['10.9.0.0/16 via 10.1.0.2 dev va proto 3', '10.9.0.0/16 via 10.1.0.4 dev va proto 3 tos 16', 'fd09::/64 dev va proto 3 metric 5', 'fd09::/64 via fd00::2 dev va proto 3 metric 1024'],
  },
  {
    name: 'a gateway that is not on-link is refused (IPv4 ENETUNREACH "Nexthop has invalid gateway", IPv6 EHOSTUNREACH) unless onlink',
    run: async (w) => {
      const nl = await host(w);
      return [
        await w.outcome(nl.routes.add({ dst: '10.9.0.0/16', via: '10.2.0.1', dev: 'va' })),
        await w.outcome(nl.routes.add({ dst: '10.9.0.0/16', via: '10.2.0.1' })),
        await w.outcome(nl.routes.add({ dst: '10.9.0.0/16', via: '10.2.0.1', dev: 'va', onlink: true })),
        await w.outcome(nl.routes.add({ dst: 'fd09::/64', via: 'fd01::1', dev: 'va' })),
        await w.outcome(nl.routes.add({ dst: 'fd09::/64', via: 'fd01::1' })),
        await w.outcome(nl.routes.add({ dst: 'fd09::/64', via: 'fd01::1', dev: 'va', onlink: true })),
        user(await routes(nl)),
      ];
    },
    expect: [
      { code: 'ENETUNREACH', kernelMessage: 'Nexthop has invalid gateway' },
      { code: 'ENETUNREACH', kernelMessage: 'Nexthop has invalid gateway' },
      'ok',
      { code: 'EHOSTUNREACH' },
      { code: 'EHOSTUNREACH' },
      'ok',
      ['10.9.0.0/16 via 10.2.0.1 dev va proto 3 onlink', 'fd09::/64 via fd01::1 dev va proto 3 metric 1024 onlink'],
    ],
  },
  {
    name: 'an onlink route in a namespace that never had a local route is EINVAL "Nexthop has invalid gateway" (no local table yet)',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb' }, up: true });
      const before = await w.outcome(nl.routes.add({ dst: '10.9.0.0/16', via: '10.2.0.1', dev: 'va', onlink: true }));
      await nl.addresses.add({ dev: 'va', address: '10.1.0.1/32' });
      const after = await w.outcome(nl.routes.add({ dst: '10.9.0.0/16', via: '10.2.0.1', dev: 'va', onlink: true }));
      return [before, after];
    },
    expect: [{ code: 'EINVAL', kernelMessage: 'Nexthop has invalid gateway' }, 'ok'],
  },
  {
    name: 'a route through a device that is down is ENETDOWN, each family with its own text',
    run: async (w) => {
      const nl = await host(w);
      await nl.links.add({ kind: 'bridge', name: 'br0' });
      return [
        await w.outcome(nl.routes.add({ dst: '10.9.0.0/16', dev: 'br0' })),
        await w.outcome(nl.routes.add({ dst: '10.9.0.0/16', via: '10.2.0.1', dev: 'br0', onlink: true })),
        await w.outcome(nl.routes.add({ dst: 'fd09::/64', dev: 'br0' })),
      ];
    },
    expect: [
      { code: 'ENETDOWN', kernelMessage: 'Device for nexthop is not up' },
      { code: 'ENETDOWN', kernelMessage: 'Nexthop device is not up' },
      { code: 'ENETDOWN', kernelMessage: 'Nexthop device is not up' },
    ],
  },
  {
    name: 'IPv6 defaults: metric 1024 and protocol boot (3) when left out; IPv4 keeps protocol 0 and no metric',
    run: async (w) => {
      const nl = await host(w);
      await nl.socket.request(raw.encoder(C.RTM_NEWROUTE, 0x600, raw.rtmsg({ family: C.AF_INET6, dstLen: 64, table: 254, type: 1 }), [[C.RTA_DST, 'ip', 'fd09::'], [C.RTA_OIF, 'u32', 3]]));
      await nl.socket.request(raw.encoder(C.RTM_NEWROUTE, 0x600, raw.rtmsg({ family: C.AF_INET, dstLen: 16, table: 254, type: 1, scope: 253 }), [[C.RTA_DST, 'ip', '10.9.0.0'], [C.RTA_OIF, 'u32', 3]]));
      return (await routes(nl)).filter((r) => r.startsWith('10.9') || r.startsWith('fd09'));
    },
    expect: ['10.9.0.0/16 dev va proto 0 scope 253', 'fd09::/64 dev va proto 3 metric 1024'],
  },
  {
    name: 'deleting a route that is not there is ESRCH; a table that never existed too, with a text',
    run: async (w) => {
      const nl = await host(w);
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2', protocol: 'static' });
      return [
        await w.outcome(nl.routes.del({ dst: '10.8.0.0/16' })),
        await w.outcome(nl.routes.del({ dst: '10.9.0.0/16', protocol: 'bgp' })),
        await w.outcome(nl.routes.del({ dst: '10.9.0.0/16', via: '10.1.0.3' })),
        await w.outcome(nl.routes.del({ dst: 'fd08::/64' })),
        await w.outcome(nl.routes.del({ dst: '10.9.0.0/16', table: 77 })),
        await w.outcome(nl.routes.del({ dst: 'fd09::/64', table: 77 })),
        await w.outcome(nl.routes.del({ dst: '10.9.0.0/16' })),
      ];
    },
    expect: [
      { code: 'ESRCH' },
      { code: 'ESRCH' },
      { code: 'ESRCH' },
      { code: 'ESRCH' },
      { code: 'ESRCH', kernelMessage: 'FIB table does not exist' },
      { code: 'ESRCH', kernelMessage: 'FIB table does not exist' },
      'ok',
    ],
  },
  {
    name: 'a dump of a table that does not exist: ENOENT with the family named when asked for one family, empty otherwise',
    run: async (w) => {
      const nl = await host(w);
      const dump = (family) =>
        w.outcome(nl.socket.dump(raw.encoder(C.RTM_GETROUTE, 0x300, raw.rtmsg({ family }), [[C.RTA_TABLE, 'u32', 77]]), (m) => m.type));
      return [await dump(C.AF_INET), await dump(C.AF_INET6), await dump(C.AF_UNSPEC), await nl.routes.list({ table: 77 })];
    },
    expect: [
      { code: 'ENOENT', kernelMessage: 'ipv4: FIB table does not exist' },
      { code: 'ENOENT', kernelMessage: 'ipv6: FIB table does not exist' },
      'ok',
      [],
    ],
  },
  {
    name: 'multipath: IPv4 with weights in one request; IPv6 paths appended become one ECMP route, deleted path by path',
    run: async (w) => {
      const nl = await host(w);
      await nl.routes.add({ dst: '10.9.0.0/16', nexthops: [{ via: '10.1.0.2', weight: 2 }, { via: '10.1.0.3' }] });
      await nl.routes.add({ dst: 'fd09::/64', via: 'fd00::2', dev: 'va' });
      await nl.routes.append({ dst: 'fd09::/64', via: 'fd00::3', dev: 'va' });
      const both = user(await routes(nl));
      await nl.routes.del({ dst: 'fd09::/64', via: 'fd00::2', dev: 'va' });
      return [both, user(await routes(nl))];
    },
    expect: [
      ['10.9.0.0/16 proto 3 nexthops [10.1.0.2 dev va weight 2] [10.1.0.3 dev va weight 1]', 'fd09::/64 proto 3 metric 1024 nexthops [fd00::2 dev va weight 1] [fd00::3 dev va weight 1]'],
      ['10.9.0.0/16 proto 3 nexthops [10.1.0.2 dev va weight 2] [10.1.0.3 dev va weight 1]', 'fd09::/64 via fd00::3 dev va proto 3 metric 1024'],
    ],
  },
  {
    name: 'a device going down takes every route through it; up again brings the kernel routes back, not the others',
    run: async (w) => {
      const nl = await host(w);
      await nl.links.add({ kind: 'bridge', name: 'br0', up: true });
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2' });
      await nl.routes.add({ dst: '10.8.0.0/16', dev: 'va', table: 100 });
      await nl.routes.add({ dst: '10.7.0.0/16', dev: 'br0' });
      await nl.routes.add({ dst: 'fd09::/64', via: 'fd00::2', dev: 'va' });
      await nl.links.set('va', { up: false });
      const down = await routes(nl);
      await nl.links.set('va', { up: true });
      return [down, await routes(nl)];
    },
    expect: [
      [
        '10.7.0.0/16 dev br0 proto 3 scope 253',
        'broadcast 127.255.255.255/32 dev lo table local proto 2 scope 253 src 127.0.0.1',
        'local 10.1.0.1/32 dev va table local proto 2 scope 254 src 10.1.0.1',
        'local 127.0.0.0/8 dev lo table local proto 2 scope 254 src 127.0.0.1',
        'local 127.0.0.1/32 dev lo table local proto 2 scope 254 src 127.0.0.1',
        'local ::1/128 dev lo table local proto 2 metric 0',
      ],
      [
        '10.1.0.0/24 dev va proto 2 scope 253 src 10.1.0.1',
        '10.7.0.0/16 dev br0 proto 3 scope 253',
        'broadcast 10.1.0.255/32 dev va table local proto 2 scope 253 src 10.1.0.1',
        'broadcast 127.255.255.255/32 dev lo table local proto 2 scope 253 src 127.0.0.1',
        'local 10.1.0.1/32 dev va table local proto 2 scope 254 src 10.1.0.1',
        'local 127.0.0.0/8 dev lo table local proto 2 scope 254 src 127.0.0.1',
        'local 127.0.0.1/32 dev lo table local proto 2 scope 254 src 127.0.0.1',
        'local ::1/128 dev lo table local proto 2 metric 0',
      ],
    ],
  },
  {
    name: 'a route whose device loses carrier is kept and flagged linkdown',
    run: async (w) => {
      const nl = await host(w);
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2' });
      await nl.routes.add({ dst: 'fd09::/64', via: 'fd00::2', dev: 'va' });
      await nl.links.set('vb', { up: false });
      return w.eventually(async () => {
        const r = user(await routes(nl));
        if (!r.every((x) => x.includes('linkdown'))) throw new Error(r.join(', '));
        return r;
      }, 'linkdown');
    },
    expect: ['10.9.0.0/16 via 10.1.0.2 dev va proto 3 linkdown', 'fd09::/64 via fd00::2 dev va proto 3 metric 1024 linkdown'],
  },
  {
    name: 'dump filters: table, protocol, type and device in the kernel; scope and family too',
    run: async (w) => {
      const nl = await host(w);
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2', protocol: 'static' });
      await nl.routes.add({ dst: '10.8.0.0/16', via: '10.1.0.2', table: 100 });
      await nl.routes.add({ dst: '10.7.0.0/16', type: 'blackhole' });
      await nl.routes.add({ dst: 'fd07::/64', type: 'unreachable' });
      await nl.routes.add({ dst: '10.6.0.0/16', dev: 'lo', table: 100 });
      return [
        await routes(nl, { table: 100 }),
        await routes(nl, { protocol: 'static' }),
        await routes(nl, { table: 'all', type: 'blackhole' }),
        await routes(nl, { table: 'all', type: 'unreachable' }),
        await routes(nl, { table: 'all', dev: 'lo', family: 4 }),
        await routes(nl, { scope: 'link', family: 4 }),
      ];
    },
    expect: [
      ['10.6.0.0/16 dev lo table 100 proto 3 scope 253', '10.8.0.0/16 via 10.1.0.2 dev va table 100 proto 3'],
      ['10.9.0.0/16 via 10.1.0.2 dev va proto 4'],
      ['blackhole 10.7.0.0/16 proto 3'],
      ['unreachable fd07::/64 dev lo proto 3 metric 1024'],
      [
        '10.6.0.0/16 dev lo table 100 proto 3 scope 253',
        'broadcast 127.255.255.255/32 dev lo table local proto 2 scope 253 src 127.0.0.1',
        'local 127.0.0.0/8 dev lo table local proto 2 scope 254 src 127.0.0.1',
        'local 127.0.0.1/32 dev lo table local proto 2 scope 254 src 127.0.0.1',
      ],
      ['10.1.0.0/24 dev va proto 2 scope 253 src 10.1.0.1'],
    ],
  },
  {
    name: 'metrics (mtu, advmss) and a preferred source that must be local ("Invalid prefsrc address")',
    run: async (w) => {
      const nl = await host(w);
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2', mtu: 1400, advmss: 1360, prefsrc: '10.1.0.1' });
      const bad = await w.outcome(nl.routes.add({ dst: '10.8.0.0/16', via: '10.1.0.2', prefsrc: '10.1.0.99' }));
      return [user(await routes(nl)), bad];
    },
    expect: [['10.9.0.0/16 via 10.1.0.2 dev va proto 3 src 10.1.0.1 mtu 1400 advmss 1360'], { code: 'EINVAL', kernelMessage: 'Invalid prefsrc address' }],
  },
  {
    name: 'a lookup returns the FIB entry that matched (longest prefix), ENETUNREACH when none does',
    run: async (w) => {
      const nl = await host(w);
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2' });
      await nl.routes.add({ dst: '10.9.1.0/24', via: '10.1.0.3' });
      const a = await nl.routes.get('10.9.1.5');
      const b = await nl.routes.get('10.9.2.5');
      const c = await nl.routes.get('fd00::9');
      const none = await w.outcome(nl.routes.get('172.16.0.1'));
      const none6 = await w.outcome(nl.routes.get('fd77::1'));
      return [`${a.dst} ${a.via}`, `${b.dst} ${b.via}`, `${c.dst} ${c.protocol}`, none, none6];
    },
    expect: ['10.9.1.0/24 10.1.0.3', '10.9.0.0/16 10.1.0.2', 'fd00::/64 2', { code: 'ENETUNREACH' }, { code: 'ENETUNREACH' }],
  },
  {
    name: 'a replace without NLM_F_CREATE of a route that is not there is ENOENT',
    run: async (w) => {
      const nl = await host(w);
      const req = (family, dst, len, oif) =>
        w.outcome(nl.socket.request(raw.encoder(C.RTM_NEWROUTE, 0x100, raw.rtmsg({ family, dstLen: len, table: 254, type: 1, protocol: 3, scope: family === C.AF_INET ? 253 : 0 }), [[C.RTA_DST, 'ip', dst], [C.RTA_OIF, 'u32', oif]])));
      return [await req(C.AF_INET, '10.9.0.0', 16, 3), await req(C.AF_INET6, 'fd09::', 64, 3)];
    },
    expect: [{ code: 'ENOENT' }, { code: 'ENOENT', kernelMessage: 'Can not replace route - no match found' }],
  },
  {
    name: 'a batch with mixed outcomes: each route succeeds or fails on its own (EEXIST, ENODEV, ENETUNREACH)',
    run: async (w) => {
      const nl = await host(w);
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2' });
      const specs = [
        { dst: '10.10.0.0/16', via: '10.1.0.2' },
        { dst: '10.9.0.0/16', via: '10.1.0.2' },
        { dst: '10.11.0.0/16', via: '10.1.0.2', dev: 'nosuchdev' },
        { dst: '10.12.0.0/16', via: '10.5.0.1' },
        { dst: '10.13.0.0/16', dev: 'va' },
        { dst: 'fd09::/64', via: 'fd00::2', dev: 'va' },
      ];
      const r = await nl.routes.addMany(specs);
      const del = await nl.routes.delMany([{ dst: '10.10.0.0/16' }, { dst: '10.77.0.0/16' }, { dst: '10.13.0.0/16' }]);
      const codes = (res) => Array.from(res.errors, (e) => (e ? e.code : 'ok'));
      return [codes(r), r.failed, codes(del), user(await routes(nl))];
    },
    expect: [
      ['ok', 'EEXIST', 'ENODEV', 'ENETUNREACH', 'ok', 'ok'],
      3,
      ['ok', 'ESRCH', 'ok'],
      ['10.9.0.0/16 via 10.1.0.2 dev va proto 3', 'fd09::/64 via fd00::2 dev va proto 3 metric 1024'],
    ],
  },
]);
