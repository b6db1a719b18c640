'use strict';
// Contract: what a monitor sees (RTNLGRP_* multicast events) on the real kernel and on
// MemoryKernel alike. The kernel sends more events than a test can predict (a link's state
// changes come as several RTM_NEWLINK), so cases assert that events arrive, in order where
// the kernel orders them, and that some do not (proved with a later event as a sentinel).
const assert = require('node:assert/strict');
const { contract } = require('./world');

const uniq = (xs) => xs.filter((x, i) => xs.indexOf(x) === i);

contract('events', [
  {
    name: 'links: a veth pair is announced as it is made and deleted',
    run: async (w) => {
      const nl = await w.open();
      const rec = w.record(nl, ['link']);
      await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb' } });
      await nl.links.del('va');
      await rec.until((s) => s.includes('del link va') && s.includes('del link vb'), 'deletions');
      return uniq(rec.seen).filter((x) => / v[ab]$/.test(x)).sort();
    },
    expect: ['del link va', 'del link vb', 'new link va', 'new link vb'],
  },
  {
    name: 'links: the event after "up" carries the new state',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add({ kind: 'bridge', name: 'br0' });
      const mon = nl.monitor({ groups: ['link'] });
      const states = [];
      mon.on('link', (e) => e.object.name === 'br0' && states.push(e.object.up));
      await nl.links.set('br0', { up: true });
      await w.eventually(() => assert.ok(states.includes(true), JSON.stringify(states)));
      return states[states.length - 1];
    },
    expect: true,
  },
  {
    name: 'addresses: an address and its kernel routes are announced, and their removal',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb' }, up: true });
      const rec = w.record(nl, ['addr', 'route']);
      await nl.addresses.add({ dev: 'va', address: '10.1.0.1/24' });
      await rec.until((s) => s.includes('new route 10.1.0.0/24 table 254'), 'prefix route event');
      await nl.addresses.del({ dev: 'va', address: '10.1.0.1/24' });
      await rec.until((s) => s.includes('del address 10.1.0.1/24') && s.includes('del route 10.1.0.0/24 table 254'), 'removal events');
      return uniq(rec.seen).sort();
    },
    expect: [
      'del address 10.1.0.1/24',
      'del route 10.1.0.0/24 table 254',
      'del route 10.1.0.1/32 table 255',
      'del route 10.1.0.255/32 table 255',
      'new address 10.1.0.1/24',
      'new route 10.1.0.0/24 table 254',
      'new route 10.1.0.1/32 table 255',
      'new route 10.1.0.255/32 table 255',
    ],
  },
  {
    name: 'routes: add, replace and delete are announced in order',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb' }, up: true });
      await nl.addresses.add({ dev: 'va', address: '10.1.0.1/24' });
      const rec = w.record(nl, ['route']);
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2' });
      await nl.routes.replace({ dst: '10.9.0.0/16', via: '10.1.0.3' });
      await nl.routes.del({ dst: '10.9.0.0/16' });
      await rec.until((s) => s.includes('del route 10.9.0.0/16 table 254'), 'delete event');
      return rec.seen.filter((x) => x.includes('10.9.'));
    },
    expect: ['new route 10.9.0.0/16 table 254', 'new route 10.9.0.0/16 table 254', 'del route 10.9.0.0/16 table 254'],
  },
  {
    name: 'a device going down: its IPv6 routes are announced gone, its IPv4 routes go silently (fib_flush)',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb' }, up: true });
      await nl.links.set('vb', { up: true });
      await nl.links.add({ kind: 'bridge', name: 'br0', up: true });
      const rec = w.record(nl, ['route']);
      await nl.addresses.add({ dev: 'va', address: '10.1.0.1/24' });
      await nl.addresses.add({ dev: 'va', address: 'fd00::1/64', nodad: true });
      // Even with nodad the kernel inserts an IPv6 address's local route from its DAD work
      // item, after the request returns: a device taken down before then never had it.
      await rec.until((s) => s.includes('new route fd00::1/128 table 255'), 'local route of fd00::1');
      await nl.routes.add({ dst: '10.9.0.0/16', via: '10.1.0.2' });
      await nl.routes.add({ dst: 'fd09::/64', via: 'fd00::2', dev: 'va' });
      await nl.links.set('va', { up: false });
      // A later event in the same stream: once it is seen, every earlier one has been.
      await nl.routes.add({ dst: '10.7.0.0/16', dev: 'br0' });
      await rec.until((s) => s.includes('new route 10.7.0.0/16 table 254'), 'sentinel');
      return uniq(rec.seen.filter((x) => x.startsWith('del') && !/fe80|ff00/.test(x))).sort();
    },
    expect: ['del route fd00::/64 table 254', 'del route fd00::1/128 table 255', 'del route fd09::/64 table 254'],
  },
  {
    name: 'neighbours and FDB entries are announced (FDB as AF_BRIDGE in the neigh group)',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb' }, up: true });
      await nl.links.add({ kind: 'vxlan', name: 'vx0', vni: 5, port: 4789, learning: false });
      const rec = w.record(nl, ['neigh']);
      await nl.neighbors.add({ dev: 'va', ip: '10.1.0.9', lladdr: '02:00:00:00:00:09' });
      await nl.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.1.0.2' });
      await nl.neighbors.del({ dev: 'va', ip: '10.1.0.9' });
      await nl.fdb.del({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '10.1.0.2' });
      await rec.until((s) => s.includes('del fdb 00:00:00:00:00:00 dst 10.1.0.2') && s.includes('del neighbor 10.1.0.9'), 'deletions');
      return uniq(rec.seen.filter((x) => !x.includes('ff02') && !x.includes('33:33'))).sort();
    },
    // Linux 6.1 also announces vxlan's all-zeros entry itself, without a destination, when its
    // first remote comes and when its last one goes; 6.18 announces only the remotes.
    expect: (w) => [
      ...(w.atLeast618 ? [] : ['del fdb 00:00:00:00:00:00']),
      'del fdb 00:00:00:00:00:00 dst 10.1.0.2',
      'del neighbor 10.1.0.9',
      ...(w.atLeast618 ? [] : ['new fdb 00:00:00:00:00:00']),
      'new fdb 00:00:00:00:00:00 dst 10.1.0.2',
      'new neighbor 10.1.0.9',
    ],
  },
  {
    name: 'events that do not fit a small receive buffer are lost and reported as overflow',
    run: async (w) => {
      const nl = await w.open();
      await nl.links.add({ kind: 'veth', name: 'va', peer: { name: 'vb' }, up: true });
      await nl.addresses.add({ dev: 'va', address: '10.1.0.1/16' });
      const mon = nl.monitor({ groups: ['route'], receiveBufferBytes: 1024 });
      let overflows = 0;
      mon.on('overflow', () => overflows++);
      const specs = [];
      for (let i = 0; i < 400; i++) specs.push({ dst: `10.${100 + (i >> 8)}.${i & 255}.0/24`, via: '10.1.0.2' });
      const r = await nl.routes.addMany(specs);
      await w.eventually(() => assert.ok(overflows > 0, 'no overflow yet'), 'overflow');
      return r.failed;
    },
    expect: 0,
  },
]);
