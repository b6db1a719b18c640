'use strict';
// Contract: neighbour (ARP/NDP) entries and FDB entries on the real kernel and on MemoryKernel.
const { contract, neighbors, fdb } = require('./world');

async function host(w) {
  const nl = await w.open();
  await nl.links.set('lo', { up: true });
  await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb' }, up: true });
  await nl.links.set('vb', { up: true });
  await nl.addresses.add({ dev: 'va', address: '10.1.0.1/24' });
  return nl;
}

const ZERO = '00:00:00:00:00:00';

contract('neighbours', [
  {
    name: 'add (permanent), add again EEXIST, replace changes the address, delete, delete again ENOENT',
    run: async (w) => {
      const nl = await host(w);
      await nl.neighbors.add({ dev: 'va', ip: '10.1.0.9', lladdr: '02:00:00:00:00:09' });
      const again = await w.outcome(nl.neighbors.add({ dev: 'va', ip: '10.1.0.9', lladdr: '02:00:00:00:00:0a' }));
      await nl.neighbors.replace({ dev: 'va', ip: '10.1.0.9', lladdr: '02:00:00:00:00:0b' });
      await nl.neighbors.replace({ dev: 'va', ip: 'fd00::9', lladdr: '02:00:00:00:00:0c', router: true });
      const listed = await neighbors(nl);
      await nl.neighbors.del({ dev: 'va', ip: '10.1.0.9' });
      return [again, listed, await neighbors(nl), await w.outcome(nl.neighbors.del({ dev: 'va', ip: '10.1.0.9' }))];
    },
    expect: [
      { code: 'EEXIST' },
      ['10.1.0.9 dev va lladdr 02:00:00:00:00:0b permanent', 'fd00::9 dev va lladdr 02:00:00:00:00:0c permanent router'],
      ['fd00::9 dev va lladdr 02:00:00:00:00:0c permanent router'],
      { code: 'ENOENT' },
    ],
  },
  {
    name: 'an add without a link-layer address is EINVAL "No link layer address given", and leaves an unresolved entry behind',
    run: async (w) => {
      const nl = await host(w);
      const first = await w.outcome(nl.neighbors.add({ dev: 'va', ip: '10.1.0.7' }));
      const second = await w.outcome(nl.neighbors.add({ dev: 'va', ip: '10.1.0.7', lladdr: '02:00:00:00:00:07' }));
      const replaced = await w.outcome(nl.neighbors.replace({ dev: 'va', ip: '10.1.0.7', lladdr: '02:00:00:00:00:07' }));
      return [first, second, replaced, await neighbors(nl)];
    },
    expect: [{ code: 'EINVAL', kernelMessage: 'No link layer address given' }, { code: 'EEXIST' }, 'ok', ['10.1.0.7 dev va lladdr 02:00:00:00:00:07 permanent']],
  },
  {
    name: 'a device going down loses all its neighbour entries, permanent ones too',
    run: async (w) => {
      const nl = await host(w);
      await nl.neighbors.add({ dev: 'va', ip: '10.1.0.9', lladdr: '02:00:00:00:00:09' });
      await nl.neighbors.add({ dev: 'vb', ip: '10.1.0.8', lladdr: '02:00:00:00:00:08' });
      await nl.links.set('va', { up: false });
      return neighbors(nl);
    },
    expect: ['10.1.0.8 dev vb lladdr 02:00:00:00:00:08 permanent'],
  },
  {
    name: 'proxy entries live in their own table: listed with proxy: true, deleted with the flag',
    run: async (w) => {
      const nl = await host(w);
      await nl.neighbors.add({ dev: 'va', ip: '10.1.0.50', proxy: true });
      const plain = await neighbors(nl);
      const withProxy = await neighbors(nl, { proxy: true });
      await nl.neighbors.del({ dev: 'va', ip: '10.1.0.50', proxy: true });
      return [plain, withProxy, await neighbors(nl, { proxy: true }), await w.outcome(nl.neighbors.del({ dev: 'va', ip: '10.1.0.50', proxy: true }))];
    },
    expect: [[], ['10.1.0.50 dev va none proxy'], [], { code: 'ENOENT' }],
  },
  {
    name: 'batches: replaceMany and delMany report each entry (ENODEV for a missing device, ENOENT for a missing entry)',
    run: async (w) => {
      const nl = await host(w);
      const r = await nl.neighbors.replaceMany([
        { dev: 'va', ip: '10.1.0.2', lladdr: '02:00:00:00:00:02' },
        { dev: 'nosuch', ip: '10.1.0.3', lladdr: '02:00:00:00:00:03' },
        { dev: 'vb', ip: '10.1.0.4', lladdr: '02:00:00:00:00:04' },
      ]);
      const d = await nl.neighbors.delMany([{ dev: 'va', ip: '10.1.0.2' }, { dev: 'va', ip: '10.1.0.99' }]);
      const codes = (res) => Array.from(res.errors, (e) => (e ? e.code : 'ok'));
      return [codes(r), codes(d), await neighbors(nl)];
    },
    expect: [['ok', 'ENODEV', 'ok'], ['ok', 'ENOENT'], ['10.1.0.4 dev vb lladdr 02:00:00:00:00:04 permanent']],
  },
  {
    name: 'list filters by device and family in the kernel',
    run: async (w) => {
      const nl = await host(w);
      await nl.neighbors.add({ dev: 'va', ip: '10.1.0.9', lladdr: '02:00:00:00:00:09' });
      await nl.neighbors.add({ dev: 'vb', ip: '10.1.0.8', lladdr: '02:00:00:00:00:08' });
      await nl.neighbors.add({ dev: 'va', ip: 'fd00::9', lladdr: '02:00:00:00:00:09' });
      return [await neighbors(nl, { dev: 'vb' }), await neighbors(nl, { family: 6 }), await neighbors(nl, { dev: 'va', family: 4 })];
    },
    expect: [['10.1.0.8 dev vb lladdr 02:00:00:00:00:08 permanent'], ['fd00::9 dev va lladdr 02:00:00:00:00:09 permanent'], ['10.1.0.9 dev va lladdr 02:00:00:00:00:09 permanent']],
  },
]);

contract('fdb', [
  {
    name: 'vxlan: the all-zero MAC takes several destinations by append; delete removes one, then the last removes the entry',
    run: async (w) => {
      const nl = await host(w);
      await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 100, port: 4789, dev: 'va', learning: false });
      await nl.fdb.append({ dev: 'vx0', mac: ZERO, dst: '10.1.0.2' });
      await nl.fdb.append({ dev: 'vx0', mac: ZERO, dst: '10.1.0.3' });
      await nl.fdb.append({ dev: 'vx0', mac: ZERO, dst: '10.1.0.3' });
      const two = await fdb(nl, { dev: 'vx0' });
      await nl.fdb.del({ dev: 'vx0', mac: ZERO, dst: '10.1.0.2' });
      const one = await fdb(nl, { dev: 'vx0' });
      const absentDst = await w.outcome(nl.fdb.del({ dev: 'vx0', mac: ZERO, dst: '10.1.0.77' }));
      await nl.fdb.del({ dev: 'vx0', mac: ZERO, dst: '10.1.0.3' });
      const absentMac = await w.outcome(nl.fdb.del({ dev: 'vx0', mac: ZERO }));
      return [two, one, absentDst, await fdb(nl, { dev: 'vx0' }), absentMac];
    },
    expect: [
      ['00:00:00:00:00:00 dst 10.1.0.2 dev vx0 self permanent', '00:00:00:00:00:00 dst 10.1.0.3 dev vx0 self permanent'],
      ['00:00:00:00:00:00 dst 10.1.0.3 dev vx0 self permanent'],
      'ok',
      [],
      { code: 'ENOENT' },
    ],
  },
  {
    name: 'vxlan: a unicast MAC has one destination: append changes nothing, replace moves it, add again is EEXIST; replacing the all-zero MAC is EOPNOTSUPP',
    run: async (w) => {
      const nl = await host(w);
      await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 100, port: 4789, learning: false });
      const mac = '0a:58:c0:a8:0b:00';
      await nl.fdb.add({ dev: 'vx0', mac, dst: '10.1.0.2' });
      await nl.fdb.append({ dev: 'vx0', mac, dst: '10.1.0.3' });
      const appended = await fdb(nl, { dev: 'vx0' });
      await nl.fdb.replace({ dev: 'vx0', mac, dst: '10.1.0.4' });
      return [
        appended,
        await fdb(nl, { dev: 'vx0' }),
        await w.outcome(nl.fdb.add({ dev: 'vx0', mac, dst: '10.1.0.4' })),
        await w.outcome(nl.fdb.replace({ dev: 'vx0', mac: ZERO, dst: '10.1.0.4' })),
        await w.outcome(nl.fdb.append({ dev: 'vx0', mac: ZERO, dst: 'fd00::4' })),
      ];
    },
    expect: [
      ['0a:58:c0:a8:0b:00 dst 10.1.0.2 dev vx0 self permanent'],
      ['0a:58:c0:a8:0b:00 dst 10.1.0.4 dev vx0 self permanent'],
      { code: 'EEXIST' },
      { code: 'EOPNOTSUPP' },
      { code: 'EAFNOSUPPORT' },
    ],
  },
  {
    name: 'vxlan: vni and port are reported only where they differ from the device; a static entry (NUD_NOARP|NUD_REACHABLE) is kept as such',
    run: async (w) => {
      const nl = await host(w);
      await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 100, port: 4789, learning: false });
      await nl.fdb.append({ dev: 'vx0', mac: ZERO, dst: '10.1.0.2', vni: 100, port: 4789 });
      await nl.fdb.append({ dev: 'vx0', mac: ZERO, dst: '10.1.0.3', vni: 200, port: 4790 });
      const stat = await w.outcome(nl.fdb.add({ dev: 'vx0', mac: '02:00:00:00:00:01', dst: '10.1.0.2', permanent: false }));
      return [await fdb(nl, { dev: 'vx0' }), stat];
    },
    expect: [
      ['00:00:00:00:00:00 dst 10.1.0.2 dev vx0 self permanent', '00:00:00:00:00:00 dst 10.1.0.3 vni 200 port 4790 dev vx0 self permanent', '02:00:00:00:00:01 dst 10.1.0.2 dev vx0 self static'],
      'ok',
    ],
  },
  {
    name: 'bridge: a port gets a local entry; static entries go into the bridge table; listed by device and by bridge; deleted',
    run: async (w) => {
      const nl = await host(w);
      // A kernel with CONFIG_BRIDGE_VLAN_FILTERING (Debian's 6.1) accepts the attribute, even off;
      // one without it (our 6.18 host, MemoryKernel) refuses it.
      w.bridgeVlans = (await w.outcome(nl.links.add({ kind: 'bridge', name: 'brv', vlanFiltering: false }))) === 'ok';
      await nl.links.add({ kind: 'bridge', name: 'br0', address: '02:00:00:00:00:b0' });
      await nl.links.add({ kind: 'veth', name: 'vc', peer: { name: 'vd' }, address: '02:00:00:00:00:c0' });
      await nl.links.set('vc', { master: 'br0' });
      await nl.fdb.add({ dev: 'vc', mac: '02:00:00:00:00:99', master: true, permanent: false });
      const byDev = await fdb(nl, { dev: 'vc' });
      const byBridge = await fdb(nl, { master: 'br0' });
      await nl.fdb.del({ dev: 'vc', mac: '02:00:00:00:00:99', master: true });
      const notPort = await w.outcome(nl.fdb.add({ dev: 'vd', mac: '02:00:00:00:00:98', master: true, self: false }));
      return [byDev, byBridge, await fdb(nl, { dev: 'vc' }), notPort];
    },
    // With VLAN support built in, the bridge and each port join the default PVID (1) even while
    // filtering is off, so each local entry exists twice, without a VLAN and in VLAN 1, and a static
    // entry added without a VLAN is added to every VLAN of the port as well.
    expect: (w) => {
      const v = (line) => (w.bridgeVlans ? [line, line.replace(/^(\S+) /, '$1 vlan 1 ')] : [line]);
      return [
        [...v('02:00:00:00:00:99 dev vc master br0 static'), ...v('02:00:00:00:00:c0 dev vc master br0 permanent')],
        [...v('02:00:00:00:00:99 dev vc master br0 static'), ...v('02:00:00:00:00:b0 dev br0 master br0 permanent'), ...v('02:00:00:00:00:c0 dev vc master br0 permanent')],
        v('02:00:00:00:00:c0 dev vc master br0 permanent'),
        { code: 'EOPNOTSUPP' },
      ];
    },
  },
  {
    name: 'any other device: a unicast self entry joins its address list; deleting one that is not there is ENOENT',
    run: async (w) => {
      const nl = await host(w);
      await nl.fdb.add({ dev: 'vb', mac: '02:00:00:00:00:77' });
      const listed = await fdb(nl, { dev: 'vb' });
      const again = await w.outcome(nl.fdb.add({ dev: 'vb', mac: '02:00:00:00:00:77' }));
      await nl.fdb.del({ dev: 'vb', mac: '02:00:00:00:00:77' });
      return [listed, again, await fdb(nl, { dev: 'vb' }), await w.outcome(nl.fdb.del({ dev: 'vb', mac: '02:00:00:00:00:77' }))];
    },
    expect: [['02:00:00:00:00:77 dev vb self permanent'], { code: 'EEXIST' }, [], { code: 'ENOENT' }],
  },
  {
    name: 'batches: appendMany/delMany report each entry; a vxlan entry needs NUD_PERMANENT or NUD_REACHABLE',
    run: async (w) => {
      const nl = await host(w);
      await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 100, port: 4789, learning: false });
      const r = await nl.fdb.appendMany([
        { dev: 'vx0', mac: ZERO, dst: '10.1.0.2' },
        { dev: 'nosuch', mac: ZERO, dst: '10.1.0.3' },
        { dev: 'vx0', mac: ZERO, dst: 'fd00::3' },
        { dev: 'vx0', mac: ZERO, dst: '10.1.0.4' },
      ]);
      const d = await nl.fdb.delMany([{ dev: 'vx0', mac: ZERO, dst: '10.1.0.2' }, { dev: 'vx0', mac: '02:00:00:00:00:01' }]);
      const codes = (res) => Array.from(res.errors, (e) => (e ? e.code : 'ok'));
      return [codes(r), codes(d), await fdb(nl, { dev: 'vx0' })];
    },
    expect: [['ok', 'ENODEV', 'EAFNOSUPPORT', 'ok'], ['ok', 'ENOENT'], ['00:00:00:00:00:00 dst 10.1.0.4 dev vx0 self permanent']],
  },
]);
