'use strict';
const assert = require('node:assert/strict');
const { pollUntil } = require('../support/poll');
const wire = require('../../dist/wire');
const rtnl = require('../../dist/rtnl');
const C = rtnl.constants;
const raw = require('../support/raw');
const { kernelDescribe, netnsPerTest, ip } = require('../support/kernel');

const ZERO = '00:00:00:00:00:00';
const KINDS = ['link', 'address', 'route', 'neighbor', 'fdb'];

/** Records every event of a monitor as { kind, action, object } (errors and overflows too). */
function record(mon) {
  const events = [];
  for (const kind of KINDS) mon.on(kind, (e) => events.push({ kind, action: e.action, object: e.object }));
  mon.on('error', (e) => events.push({ kind: 'error', error: e }));
  mon.on('overflow', () => events.push({ kind: 'overflow' }));
  return events;
}

/** Waits until some recorded event matches, or fails listing what did arrive. */
function waitFor(events, what, match, ms = 5000) {
  const seen = () => events.map((e) => (e.kind === 'error' ? `error ${e.error.message}` : `${e.kind} ${e.action} ${JSON.stringify(e.object)}`));
  return pollUntil(() => events.find(match), { ms, every: 5, what: () => `a ${what} event (saw:\n  ${seen().join('\n  ')})` });
}

kernelDescribe('rtnl: Monitor on the real kernel', function () {
  const ns = netnsPerTest('mon');
  let nl;
  let nl2;
  beforeEach(async function () {
    ip(ns(), 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
    ip(ns(), 'link', 'set', 'veth0', 'up');
    ip(ns(), 'link', 'set', 'veth1', 'up');
    ip(ns(), 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '100', 'dstport', '4789', 'dev', 'veth0', 'nolearning');
    nl = await rtnl.Rtnl.open({ netns: ns() });
    nl2 = await rtnl.Rtnl.open({ netns: ns() }); // the changes come from a second handle
  });
  afterEach(function () {
    for (const h of [nl, nl2]) if (h) h.close();
    nl = nl2 = undefined;
  });

  it('changes made from a second handle arrive as typed events, new then del, with decoded objects', async function () {
    const mon = nl.monitor({ groups: ['link', 'addr', 'route', 'neigh'] });
    const ev = record(mon);
    const veth0 = await nl.devices.index('veth0');
    const vx = await nl.devices.index('vxlan0');
    const is = (kind, action, test) => (e) => e.kind === kind && e.action === action && test(e.object);

    await nl2.links.add({ kind: 'veth', name: 'mon0', peer: { name: 'mon1' } });
    const link = await waitFor(ev, 'link new mon0', is('link', 'new', (o) => o.name === 'mon0'));
    assert.equal(link.object.kind, 'veth');
    assert.equal(link.object.index, await nl.devices.index('mon0'));

    await nl2.addresses.add({ dev: 'veth0', address: '10.57.4.20/24' });
    const addr = await waitFor(ev, 'address new', is('address', 'new', (o) => o.address === '10.57.4.20/24'));
    assert.deepEqual(addr.object, { index: veth0, family: 4, address: '10.57.4.20/24', scope: 0, flags: C.IFA_F_PERMANENT, permanent: true, label: 'veth0' });

    await nl2.routes.add({ dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'veth0' });
    const route = await waitFor(ev, 'route new', is('route', 'new', (o) => o.dst === '192.168.11.0/24'));
    assert.equal(route.object.via, '10.57.4.21');
    assert.equal(route.object.dev, veth0);
    assert.equal(route.object.table, C.RT_TABLE_MAIN);

    await nl2.neighbors.add({ dev: 'veth0', ip: '10.57.4.30', lladdr: '02:00:00:00:00:30' });
    const neigh = await waitFor(ev, 'neighbor new', is('neighbor', 'new', (o) => o.ip === '10.57.4.30'));
    assert.deepEqual(neigh.object, { index: veth0, family: 4, ip: '10.57.4.30', lladdr: '02:00:00:00:00:30', state: C.NUD_PERMANENT, states: ['permanent'], flags: 0, proxy: false, router: false });

    await nl2.fdb.append({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21' });
    const fdb = await waitFor(ev, 'fdb new', is('fdb', 'new', (o) => o.mac === ZERO && o.dst === '10.57.4.21'));
    assert.equal(fdb.object.index, vx);
    assert.ok(fdb.object.self && fdb.object.permanent);

    // And the removals, each as a 'del' of the same object.
    await nl2.fdb.del({ dev: 'vxlan0', mac: ZERO, dst: '10.57.4.21' });
    await waitFor(ev, 'fdb del', is('fdb', 'del', (o) => o.mac === ZERO && o.dst === '10.57.4.21' && o.index === vx));
    await nl2.neighbors.del({ dev: 'veth0', ip: '10.57.4.30' });
    await waitFor(ev, 'neighbor del', is('neighbor', 'del', (o) => o.ip === '10.57.4.30' && o.index === veth0));
    await nl2.routes.del({ dst: '192.168.11.0/24', via: '10.57.4.21', dev: 'veth0' });
    await waitFor(ev, 'route del', is('route', 'del', (o) => o.dst === '192.168.11.0/24' && o.via === '10.57.4.21'));
    await nl2.addresses.del({ dev: 'veth0', address: '10.57.4.20/24' });
    await waitFor(ev, 'address del', is('address', 'del', (o) => o.address === '10.57.4.20/24' && o.index === veth0));
    await nl2.links.del('mon0');
    await waitFor(ev, 'link del', is('link', 'del', (o) => o.name === 'mon0'));

    assert.deepEqual(ev.filter((e) => e.kind === 'error').map((e) => e.error.message), [], 'every event decoded');
    assert.equal(ev.filter((e) => e.kind === 'overflow').length, 0);
    mon.close();
  });

  it('a monitor joins only the groups asked for', async function () {
    const neighOnly = record(nl.monitor({ groups: ['neigh'] }));
    const all = record(nl.monitor({ groups: ['link', 'addr', 'route', 'neigh'] }));
    await nl2.addresses.add({ dev: 'veth0', address: '10.1.0.1/24' });
    await nl2.neighbors.add({ dev: 'veth0', ip: '10.1.0.9', lladdr: '02:00:00:00:00:09' });
    await waitFor(all, 'neighbor', (e) => e.kind === 'neighbor' && e.object.ip === '10.1.0.9');
    await waitFor(neighOnly, 'neighbor', (e) => e.kind === 'neighbor' && e.object.ip === '10.1.0.9');
    assert.ok(all.some((e) => e.kind === 'address'), 'the address change was announced');
    // RTNLGRP_NEIGH carries neighbour and FDB messages, nothing else.
    assert.deepEqual(neighOnly.filter((e) => e.kind !== 'neighbor' && e.kind !== 'fdb'), []);
  });

  it('a tiny receive buffer (4 KiB, NO_ENOBUFS off) under a storm of route adds reports overflow, and keeps working after it', async function () {
    const mon = nl.monitor({ groups: ['route'], receiveBufferBytes: 4096 });
    assert.ok(mon.socket.receiveBufferBytes() <= 16384, `rcvbuf ${mon.socket.receiveBufferBytes()}`);
    const ev = record(mon);
    ip(ns(), 'link', 'set', 'lo', 'up'); // with lo down the kernel calls every onlink gateway invalid
    const oif = await nl2.devices.index('veth0');
    const N = 5000;
    const r = await nl2.socket.batch(N, (i, w) => raw.newRoute(w, { dst: `10.${100 + (i >> 8)}.${i & 255}.0`, plen: 24, gw: '10.57.4.1', oif }), {
      what: 'route storm',
    });
    assert.equal(r.failed, 0, String(r.errors.find(Boolean)));
    await waitFor(ev, 'overflow', (e) => e.kind === 'overflow');
    assert.ok(!mon.isClosed && !mon.socket.isClosed, 'an overflow does not end the monitor');
    assert.deepEqual(ev.filter((e) => e.kind === 'error').map((e) => e.error.message), []);
    // After an overflow the consumer resyncs; the monitor itself still delivers new events.
    await new Promise((res) => setTimeout(res, 50));
    ev.length = 0;
    await nl2.socket.request((w) => raw.newRoute(w, { dst: '10.250.0.0', plen: 16, gw: '10.57.4.1', oif }));
    const after = await waitFor(ev, 'route after overflow', (e) => e.kind === 'route' && e.object.dst === '10.250.0.0/16');
    assert.equal(after.action, 'new');
  });

  it('close(): no more events, the socket is closed; Rtnl.close() closes its monitors', async function () {
    const mon = nl.monitor({ groups: ['addr'] });
    const control = nl.monitor({ groups: ['addr'] });
    const ev = record(mon);
    const cev = record(control);
    await nl2.addresses.add({ dev: 'veth0', address: '10.2.0.1/24' });
    await waitFor(ev, 'address', (e) => e.kind === 'address' && e.object.address === '10.2.0.1/24');
    mon.close();
    assert.ok(mon.isClosed);
    assert.ok(mon.socket.isClosed);
    const before = ev.length;
    await nl2.addresses.add({ dev: 'veth0', address: '10.2.0.2/24' });
    // The control monitor proves the event was sent; the closed one got nothing.
    await waitFor(cev, 'address on the control', (e) => e.kind === 'address' && e.object.address === '10.2.0.2/24');
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(ev.length, before);
    mon.close(); // idempotent
    nl.close();
    assert.ok(control.isClosed && control.socket.isClosed);
    nl = undefined;
  });

  it('an undecodable event is an error event naming its type; later events still arrive', async function () {
    const mon = nl.monitor({ groups: ['addr'] });
    const ev = record(mon);
    const w = new wire.MessageWriter();
    w.begin(C.RTM_NEWADDR, 0);
    w.reserve(4); // shorter than struct ifaddrmsg
    w.end();
    mon.socket.emit('message', wire.parseMessages(Buffer.from(w.bytes()))[0]);
    const err = await waitFor(ev, 'error', (e) => e.kind === 'error');
    assert.ok(err.error instanceof wire.NetlinkParseError);
    assert.equal(err.error.messageType, C.RTM_NEWADDR);
    await nl2.addresses.add({ dev: 'veth0', address: '10.3.0.1/24' });
    await waitFor(ev, 'address', (e) => e.kind === 'address' && e.object.address === '10.3.0.1/24');
    mon.close();
  });

  it('bad options are a ValidationError before any socket is opened', function () {
    assert.throws(() => nl.monitor({ groups: [] }), (e) => e instanceof rtnl.ValidationError && /groups: expected a non-empty list/.test(e.message));
    assert.throws(() => nl.monitor({ groups: ['links'] }), /groups\[0\]: unknown group "links"/);
    assert.throws(() => nl.monitor({ groups: ['addr'], receiveBufferBytes: 10 }), /receiveBufferBytes: 10 must be an integer/);
    assert.throws(() => nl.monitor({ groups: ['addr'], buffer: 1 }), /buffer: unknown field/);
  });
});
