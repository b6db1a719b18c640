'use strict';
// Contract: links (create, change, delete, read; veth, vxlan, bridge, macvlan, ipip) on the
// real kernel and on MemoryKernel alike. See world.js for how a case runs.
const assert = require('node:assert/strict');
const { contract, links, routes, addresses, fdb } = require('./world');
const raw = require('./raw');
const L = require('../../support/codec-modules').link;
const { C } = raw;

const veth = (name = 'va', peer = 'vb', extra = {}) => ({ kind: 'veth', name, peer: { name: peer }, ...extra });

async function hasKind(w, kind, data) {
  // A kind the kernel lacks is "Unknown device type"; anything else means it has it.
  const nl = await w.open('probe');
  const r = await w.outcome(nl.socket.request(raw.newLink({ name: 'probe0', kind, data })));
  return r === 'ok' || r.code !== 'EOPNOTSUPP';
}

contract('links', [
  {
    name: 'a new namespace has only lo: down, mtu 65536, no kind',
    run: async (w) => {
      const nl = await w.open();
      const [lo] = await nl.links.list();
      return [await links(nl), lo.index, lo.flags, lo.operstate, lo.address];
    },
    expect: [['lo - mtu 65536'], 1, C.IFF_LOOPBACK, 'down', '00:00:00:00:00:00'],
  },
  {
    name: 'a veth pair: the peer is registered first (lower index); each end reports the other as link',
    run: async (w) => {
      const nl = await w.open();
      const va = await nl.links.add(veth());
      const vb = await nl.links.get('vb');
      return [va.index, vb.index, va.link, vb.link, va.flags, va.operstate, va.mtu, va.txqueuelen, await links(nl)];
    },
    expect: [3, 2, 2, 3, C.IFF_BROADCAST | C.IFF_MULTICAST, 'down', 1500, 1000, ['lo - mtu 65536', 'vb veth mtu 1500', 'va veth mtu 1500']],
  },
  {
    name: 'a veth peer in another namespace: each end has its own index there, link is reported with the peer namespace id',
    run: async (w) => {
      const nl = await w.open('a');
      const other = await w.open('b');
      const va = await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb', netns: w.ns('b') } });
      const vb = await other.links.get('vb');
      return [va.index, vb.index, va.linkNetnsId, vb.linkNetnsId, va.link, vb.link, await links(nl), await links(other)];
    },
    expect: [2, 2, 0, 0, 2, 2, ['lo - mtu 65536', 'va veth mtu 1500'], ['lo - mtu 65536', 'vb veth mtu 1500']],
  },
  {
    name: 'a link created in another namespace (spec.netns) lands there and reads back from there',
    run: async (w) => {
      const nl = await w.open('a');
      const other = await w.open('b');
      const l = await nl.links.add({ kind: 'bridge', name: 'br0', netns: w.ns('b'), mtu: 1400 });
      return [l.name, l.mtu, await links(nl), await links(other)];
    },
    expect: ['br0', 1400, ['lo - mtu 65536'], ['lo - mtu 65536', 'br0 bridge mtu 1400']],
  },
  {
    name: 'ifindexes are not reused: after deleting the newest devices the next one gets a higher index',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add(veth());
      await nl.links.del('va');
      const again = await nl.links.add({ kind: 'bridge', name: 'br0' });
      return again.index;
    },
    expect: 4,
  },
  {
    name: 'a name that is taken is EEXIST, for the device and for a veth peer, and nothing is left behind',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add(veth());
      const same = await w.outcome(nl.links.add({ kind: 'bridge', name: 'va' }));
      const peer = await w.outcome(nl.links.add(veth('vx', 'vb')));
      const main = await w.outcome(nl.links.add(veth('va', 'vq')));
      return [same, peer, main, await links(nl)];
    },
    expect: [{ code: 'EEXIST' }, { code: 'EEXIST' }, { code: 'EEXIST' }, ['lo - mtu 65536', 'vb veth mtu 1500', 'va veth mtu 1500']],
  },
  {
    name: 'a kind the kernel does not have is EOPNOTSUPP "Unknown device type"',
    run: async (w) => {
      const nl = await w.open();
      return w.outcome(nl.socket.request(raw.newLink({ name: 'x0', kind: 'nosuchkind' })));
    },
    expect: { code: 'EOPNOTSUPP', kernelMessage: 'Unknown device type' },
  },
  {
    name: 'get, set and delete of a missing device are ENODEV; deleting lo is EOPNOTSUPP',
    run: async (w) => {
      const nl = await w.open();
      return [await w.outcome(nl.links.get('nope')), await w.outcome(nl.links.set('nope', { mtu: 1400 })), await w.outcome(nl.links.del('nope')), await w.outcome(nl.links.del(99)), await w.outcome(nl.links.del('lo'))];
    },
    expect: [{ code: 'ENODEV' }, { code: 'ENODEV' }, { code: 'ENODEV' }, { code: 'ENODEV' }, { code: 'EOPNOTSUPP' }],
  },
  {
    name: 'deleting one end of a veth pair deletes both, in both namespaces',
    run: async (w) => {
      const nl = await w.open('a');
      const other = await w.open('b');
      await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb', netns: w.ns('b') } });
      await other.links.del('vb');
      return [await links(nl), await links(other)];
    },
    expect: [['lo - mtu 65536'], ['lo - mtu 65536']],
  },
  {
    name: 'veth up/down: one end up is "lowerlayerdown" without carrier; both up are "up" with IFF_LOWER_UP and IFF_RUNNING',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add(veth());
      await nl.links.set('va', { up: true });
      const half = await w.eventually(async () => {
        const l = await nl.links.get('va');
        assert.equal(l.operstate, 'lowerlayerdown');
        return l.flags;
      }, 'va lowerlayerdown');
      await nl.links.set('vb', { up: true });
      const full = await w.eventually(async () => {
        const l = await nl.links.get('va');
        assert.equal(l.operstate, 'up');
        return l.flags;
      }, 'va up');
      await nl.links.set('vb', { up: false });
      const again = await w.eventually(async () => {
        const l = await nl.links.get('va');
        assert.equal(l.operstate, 'lowerlayerdown');
        return l.flags;
      }, 'va lowerlayerdown again');
      return [half, full, again];
    },
    expect: [
      C.IFF_UP | C.IFF_BROADCAST | C.IFF_MULTICAST,
      C.IFF_UP | C.IFF_BROADCAST | C.IFF_MULTICAST | C.IFF_RUNNING | C.IFF_LOWER_UP,
      C.IFF_UP | C.IFF_BROADCAST | C.IFF_MULTICAST,
    ],
  },
  {
    name: 'lo, vxlan and a bridge without ports come up in operstate "unknown" (they never report carrier)',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 5, port: 4789, up: true });
      await nl.links.add({ kind: 'bridge', name: 'br0', up: true });
      await nl.links.set('lo', { up: true });
      return w.eventually(async () => {
        const ls = (await nl.links.list()).map((l) => `${l.name} ${l.operstate} ${l.flags}`);
        assert.ok(ls.every((x) => x.includes('unknown')), ls.join(', '));
        return ls;
      });
    },
    expect: [
      `lo unknown ${C.IFF_LOOPBACK | C.IFF_UP | C.IFF_RUNNING | C.IFF_LOWER_UP}`,
      `vx0 unknown ${C.IFF_BROADCAST | C.IFF_MULTICAST | C.IFF_UP | C.IFF_RUNNING | C.IFF_LOWER_UP}`,
      `br0 unknown ${C.IFF_BROADCAST | C.IFF_MULTICAST | C.IFF_UP | C.IFF_RUNNING | C.IFF_LOWER_UP}`,
    ],
  },
  {
    name: 'vxlan defaults: port 8472, learning on, ageing 300, UDP checksums on; MTU 1500 without an underlay',
    run: async (w) => {
      const nl = await w.open();
      const raw0 = await nl.socket.request(raw.newLink({ name: 'vx0', kind: 'vxlan', data: [[C.IFLA_VXLAN_ID, 'u32', 7]] }));
      void raw0;
      const l = await nl.links.get('vx0');
      return [l.vni, l.port, l.learning, l.ageing, l.udpChecksum, l.ttl, l.tos, l.proxy, l.mtu, l.local, l.remote, l.dev, l.srcPortRange];
    },
    expect: [7, 8472, true, 300, true, 0, 0, false, 1500, undefined, undefined, undefined, undefined],
  },
  {
    name: 'vxlan MTU: the underlay minus 50 (IPv4) or 70 (IPv6) bytes, capped silently at creation, refused above it later',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add(veth());
      const v4 = await nl.links.add({ kind: 'vxlan', name: 'vx4', vni: 4, port: 4789, dev: 'va' });
      const v6 = await nl.links.add({ kind: 'vxlan', name: 'vx6', vni: 6, port: 4789, dev: 'va', local: 'fd00::1' });
      const capped = await nl.links.add({ kind: 'vxlan', name: 'vxc', vni: 7, port: 4789, dev: 'va', mtu: 1500 });
      const small = await nl.links.add({ kind: 'vxlan', name: 'vxs', vni: 8, port: 4789, dev: 'va', mtu: 1300 });
      const over = await w.outcome(nl.links.set('vx4', { mtu: 1460 }));
      await nl.links.set('vx4', { mtu: 1400 });
      await nl.links.set('va', { mtu: 1400 });
      const after = await nl.links.get('vx4');
      return [v4.mtu, v6.mtu, capped.mtu, small.mtu, over, after.mtu];
    },
    expect: [1450, 1430, 1450, 1300, { code: 'EINVAL' }, 1400],
  },
  {
    name: 'vxlan changes in place: remote, ttl, learning, ageing, dev; the kernel refuses vni, port, flags and MTU beside them',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add(veth());
      await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 100, port: 4789, local: '10.1.0.1', remote: '10.1.0.2', learning: true });
      await nl.links.change('vx0', { kind: 'vxlan', name: 'vx0', vni: 100, port: 4789, local: '10.1.0.3', remote: '10.1.0.4', ttl: 9, learning: false, ageing: 60, dev: 'va' });
      const l = await nl.links.get('vx0');
      const cur = l;
      const send = (spec, fields) => w.outcome(nl.socket.request((wr) => L.encodeLinkChange(wr, l.index, cur, spec, fields, { dev: 3 })));
      const base = { kind: 'vxlan', name: 'vx0', vni: 100, port: 4789 };
      return [
        [l.local, l.remote, l.ttl, l.learning, l.ageing, l.dev],
        await send({ ...base, vni: 101 }, ['vni']),
        await send({ ...base, port: 4790 }, ['port']),
        await send({ ...base, port: 4789 }, ['port']),
        await send({ ...base, proxy: true }, ['proxy']),
        await send({ ...base, udpChecksum: false }, ['udpChecksum']),
        await send({ ...base, srcPortRange: [1, 2] }, ['srcPortRange']),
        await send({ ...base, local: 'fd00::1' }, ['local']),
        await send({ ...base, remote: 'fd00::2' }, ['remote']),
        await send({ ...base, mtu: 1400, ttl: 3 }, ['mtu', 'ttl']),
      ];
    },
    expect: [
      ['10.1.0.3', '10.1.0.4', 9, false, 60, 3],
      { code: 'EOPNOTSUPP', kernelMessage: 'Cannot change VNI' },
      { code: 'EOPNOTSUPP', kernelMessage: 'Cannot change port' },
      { code: 'EOPNOTSUPP', kernelMessage: 'Cannot change port' },
      { code: 'EOPNOTSUPP', kernelMessage: 'vxlan: cannot change PROXY flag' },
      { code: 'EOPNOTSUPP', kernelMessage: 'Cannot change UDP_CSUM flag' },
      { code: 'EOPNOTSUPP', kernelMessage: 'Cannot change port range' },
      { code: 'EOPNOTSUPP', kernelMessage: 'New local address family does not match old' },
      { code: 'EOPNOTSUPP', kernelMessage: 'New group address family does not match old group' },
      { code: 'EOPNOTSUPP', kernelMessage: 'Cannot change mtu' },
    ],
  },
  {
    name: 'vxlan: a second device with the same VNI and port is EEXIST; a remote gives the all-zero FDB entry',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 100, port: 4789, remote: '10.1.0.2' });
      const dup = await w.outcome(nl.links.add({ kind: 'vxlan', name: 'vx1', vni: 100, port: 4789 }));
      const otherPort = await w.outcome(nl.links.add({ kind: 'vxlan', name: 'vx2', vni: 100, port: 4790 }));
      const v6 = await w.outcome(nl.links.add({ kind: 'vxlan', name: 'vx3', vni: 100, port: 4789, local: 'fd00::1' }));
      return [dup, otherPort, v6, await fdb(nl, { dev: 'vx0' })];
    },
    expect: [{ code: 'EEXIST', kernelMessage: 'A VXLAN device with the specified VNI already exists' }, 'ok', 'ok', ['00:00:00:00:00:00 dst 10.1.0.2 dev vx0 self permanent']],
  },
  {
    name: 'a vxlan goes when its underlay is deleted; a vxlan without one stays',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add(veth());
      await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 1, port: 4789, dev: 'va' });
      await nl.links.add({ kind: 'vxlan', name: 'vx1', vni: 2, port: 4789 });
      await nl.links.del('vb');
      return links(nl);
    },
    expect: ['lo - mtu 65536', 'vx1 vxlan mtu 1500'],
  },
  {
    name: 'a bridge created with an MTU follows its first port; one set later by hand stays; it takes its lowest port address',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add({ kind: 'bridge', name: 'br0', mtu: 1400 });
      await nl.links.add(veth('va', 'vb', { address: '02:00:00:00:00:02' }));
      await nl.links.set('va', { master: 'br0' });
      const first = await nl.links.get('br0');
      await nl.links.set('vb', { mtu: 1300 });
      await nl.links.set('vb', { master: 'br0' });
      const min = (await nl.links.get('br0')).mtu;
      await nl.links.set('br0', { mtu: 1450 });
      await nl.links.set('vb', { master: null });
      const byHand = (await nl.links.get('br0')).mtu;
      return [first.mtu, first.address, min, byHand, await links(nl)];
    },
    expect: [1500, '02:00:00:00:00:02', 1300, 1450, ['lo - mtu 65536', 'br0 bridge mtu 1450', 'vb veth mtu 1300', 'va veth mtu 1500 master br0']],
  },
  {
    name: 'master: a missing index is EINVAL, a non-bridge EOPNOTSUPP, a bridge into a bridge ELOOP; nomaster releases',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add(veth());
      await nl.links.add({ kind: 'bridge', name: 'br0' });
      await nl.links.add({ kind: 'bridge', name: 'br1' });
      return [
        await w.outcome(nl.links.set('va', { master: 99 })),
        await w.outcome(nl.links.set('va', { master: 'vb' })),
        await w.outcome(nl.links.set('br1', { master: 'br0' })),
        await w.outcome(nl.links.set('va', { master: 'br0' })),
        await links(nl),
        await w.outcome(nl.links.set('va', { master: null })),
        await links(nl),
      ];
    },
    expect: [
      { code: 'EINVAL' },
      { code: 'EOPNOTSUPP' },
      { code: 'ELOOP', kernelMessage: 'Can not enslave a bridge to a bridge' },
      'ok',
      ['lo - mtu 65536', 'vb veth mtu 1500', 'va veth mtu 1500 master br0', 'br0 bridge mtu 1500', 'br1 bridge mtu 1500'],
      'ok',
      ['lo - mtu 65536', 'vb veth mtu 1500', 'va veth mtu 1500', 'br0 bridge mtu 1500', 'br1 bridge mtu 1500'],
    ],
  },
  {
    name: 'a bridge port shows in a dump filtered by master, and a kind filter keeps only that kind',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add(veth());
      await nl.links.add({ kind: 'bridge', name: 'br0' });
      await nl.links.set('va', { master: 'br0' });
      return [(await nl.links.list({ master: 'br0' })).map((l) => l.name), (await nl.links.list({ kind: 'veth' })).map((l) => l.name), (await nl.links.list({ kind: 'bridge' })).map((l) => l.name)];
    },
    expect: [['va'], ['vb', 'va'], ['br0']],
  },
  {
    name: 'alias: ignored when sent on creation, set by a change, removed by an empty one',
    run: async (w) => {
      const nl = await w.open();
      await nl.socket.request(raw.newLink({ name: 'br0', kind: 'bridge', tb: [[C.IFLA_IFALIAS, 'bin', Buffer.from('at-birth')]] }));
      const created = (await nl.links.get('br0')).alias;
      await nl.links.set('br0', { alias: 'owned-by:test' });
      const set = (await nl.links.get('br0')).alias;
      await nl.links.set('br0', { alias: '' });
      return [created, set, (await nl.links.get('br0')).alias];
    },
    expect: [undefined, 'owned-by:test', undefined],
  },
  {
    name: 'rename: to a taken name is EEXIST; an IPv4 address label that was the old name follows',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add(veth());
      await nl.addresses.add({ dev: 'va', address: '10.1.0.1/24' });
      await nl.addresses.add({ dev: 'va', address: '10.2.0.1/24', label: 'va:x' });
      const taken = await w.outcome(nl.links.set('va', { name: 'vb' }));
      await nl.links.set('va', { name: 'eth0' });
      const labels = (await nl.addresses.list({ family: 4 })).map((a) => a.label);
      return [taken, labels, await links(nl)];
    },
    expect: [{ code: 'EEXIST' }, ['eth0', 'eth0:x'], ['lo - mtu 65536', 'vb veth mtu 1500', 'eth0 veth mtu 1500']],
  },
  {
    name: 'moving a device to another namespace: it arrives down, without its addresses, keeping its free index',
    run: async (w) => {
      const nl = await w.open('a');
      const other = await w.open('b');
      await nl.links.add(veth('va', 'vb', { up: true }));
      await nl.addresses.add({ dev: 'va', address: '10.1.0.1/24' });
      await nl.links.set('va', { netns: w.ns('b') });
      const moved = await other.links.get('va');
      return [moved.index, moved.up, await addresses(other), await links(nl), await links(other), await routes(other)];
    },
    expect: [3, false, [], ['lo - mtu 65536', 'vb veth mtu 1500'], ['lo - mtu 65536', 'va veth mtu 1500'], []],
  },
  {
    name: 'a bridge cannot move to another namespace (EINVAL)',
    run: async (w) => {
      const nl = await w.open('a');
      await w.open('b');
      await nl.links.add({ kind: 'bridge', name: 'br0' });
      return w.outcome(nl.links.set('br0', { netns: w.ns('b') }));
    },
    // Linux 6.18 says why; 6.1 refuses without a text.
    expect: (w) => (w.atLeast618 ? { code: 'EINVAL', kernelMessage: 'The interface netns is immutable' } : { code: 'EINVAL' }),
  },
  {
    name: 'macvlan: MTU from its parent (EINVAL above it), mode vepa by default, changed in place but not into passthru; the parent cannot be a bridge port (EBUSY); it goes with the parent',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add(veth('va', 'vb', { mtu: 1400 }));
      const mv0 = await nl.links.add({ kind: 'macvlan', name: 'mv0', dev: 'va' });
      const mv1 = await nl.links.add({ kind: 'macvlan', name: 'mv1', dev: 'va', mode: 'bridge', bcqueuelen: 500 });
      const nolink = await w.outcome(nl.socket.request(raw.newLink({ name: 'mv2', kind: 'macvlan' })));
      const toobig = await w.outcome(nl.links.add({ kind: 'macvlan', name: 'mv3', dev: 'va', mtu: 1500 }));
      const passthru = await w.outcome(nl.links.add({ kind: 'macvlan', name: 'mv4', dev: 'va', mode: 'passthru' }));
      await nl.links.change('mv1', { kind: 'macvlan', name: 'mv1', dev: 'va', mode: 'private' });
      const cur = await nl.links.get('mv1');
      const into = await w.outcome(nl.socket.request((wr) => L.encodeLinkChange(wr, cur.index, cur, { kind: 'macvlan', name: 'mv1', dev: 'va', mode: 'passthru' }, ['mode'])));
      await nl.links.add({ kind: 'bridge', name: 'br0' });
      const busy = await w.outcome(nl.links.set('va', { master: 'br0' }));
      const after = await nl.links.get('mv1');
      await nl.links.del('va');
      return [mv0.mtu, mv0.dev, mv0.mode, mv1.mode, mv1.bcqueuelen, nolink, toobig, passthru, after.mode, into, busy, await links(nl)];
    },
    expect: [1400, 3, 'vepa', 'bridge', 500, { code: 'EINVAL' }, { code: 'EINVAL' }, { code: 'EINVAL' }, 'private', { code: 'EINVAL' }, { code: 'EBUSY' }, ['lo - mtu 65536', 'br0 bridge mtu 1500']],
  },
  {
    name: 'ipip: point-to-point with a remote, MTU 1480; one tunnel per endpoints (EEXIST); a remote cannot appear by a change',
    skip: async (w) => ((await hasKind(w, 'ipip', [[C.IFLA_IPTUN_LOCAL, 'ip', '10.9.9.9']])) ? undefined : 'no ipip module in this kernel (it runs on the VM lane)'),
    run: async (w) => {
      const nl = await w.open();
      const t1 = await nl.links.add({ kind: 'ipip', name: 'tun1', local: '10.1.0.1', remote: '10.1.0.2' });
      const t2 = await nl.links.add({ kind: 'ipip', name: 'tun2', local: '10.1.0.1' });
      const same = await w.outcome(nl.links.add({ kind: 'ipip', name: 'tun3', local: '10.1.0.1', remote: '10.1.0.2' }));
      const cur = await nl.links.get('tun2');
      const flip = await w.outcome(nl.socket.request((wr) => L.encodeLinkChange(wr, cur.index, cur, { kind: 'ipip', name: 'tun2', remote: '10.1.0.9' }, ['remote'])));
      return [t1.mtu, t1.flags & (C.IFF_POINTOPOINT | C.IFF_NOARP), t2.flags & (C.IFF_POINTOPOINT | C.IFF_NOARP), t1.remote, t1.pmtudisc, same, flip];
    },
    expect: [1480, C.IFF_POINTOPOINT | C.IFF_NOARP, C.IFF_NOARP, '10.1.0.2', true, { code: 'EEXIST' }, { code: 'EINVAL' }],
  },
]);
