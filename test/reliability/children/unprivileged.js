'use strict';
// Opens an rtnetlink handle in a namespace as root, then gives up root (setuid to nobody, which
// clears every capability), then tries every read and every modifying call of the library.
// Prints one JSON line: capabilities after the drop, and per call { ok } or the error's fields.
//   node unprivileged.js NETNS
const fs = require('node:fs');
const { Rtnl, Reconciler } = require('../../..');

async function main() {
  const ns = process.argv[2];
  const nl = await Rtnl.open({ netns: ns });
  process.setgroups([]);
  process.setgid(65534);
  process.setuid(65534);
  const capEff = /CapEff:\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1];

  const out = { uid: process.getuid(), capEff, reads: {}, writes: {} };
  const describe = (e) => ({ name: e.name, code: e.code, errno: e.errno, message: e.message, kernelMessage: e.kernelMessage });
  const read = async (name, fn) => {
    try {
      const v = await fn();
      out.reads[name] = { ok: true, count: Array.isArray(v) ? v.length : 1 };
    } catch (e) {
      out.reads[name] = describe(e);
    }
  };
  const write = async (name, fn) => {
    try {
      const v = await fn();
      // Batches resolve with one outcome per entry: every entry must have failed.
      if (v && Array.isArray(v.errors)) out.writes[name] = { batch: true, count: v.count, errors: v.errors.map((e) => (e ? describe(e) : null)) };
      else out.writes[name] = { ok: true };
    } catch (e) {
      out.writes[name] = describe(e);
    }
  };

  await read('links.list', () => nl.links.list());
  await read('links.get', () => nl.links.get('eth0'));
  await read('addresses.list', () => nl.addresses.list());
  await read('routes.list', () => nl.routes.list({ table: 'all' }));
  await read('routes.get', () => nl.routes.get('10.57.4.1'));
  await read('neighbors.list', () => nl.neighbors.list());
  await read('fdb.list', () => nl.fdb.list({ dev: 'vxlan0' }));

  const route = { dst: '10.99.0.0/24', via: '10.57.4.1', dev: 'eth0' };
  const existing = { dst: '10.98.0.0/24', via: '10.57.4.1', dev: 'eth0' };
  const neigh = { dev: 'eth0', ip: '10.57.4.50', lladdr: '02:00:00:00:00:50' };
  const fdb = { dev: 'vxlan0', mac: '02:00:00:00:00:51', dst: '10.57.4.51' };
  await write('links.add', () => nl.links.add({ kind: 'veth', name: 'v0', peer: { name: 'v1' } }));
  await write('links.set mtu', () => nl.links.set('eth0', { mtu: 1400 }));
  await write('links.set down', () => nl.links.set('eth0', { up: false }));
  await write('links.change', () => nl.links.change('vxlan0', { kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, dev: 'eth0', learning: false, ttl: 9 }));
  await write('links.del', () => nl.links.del('eth0p'));
  await write('addresses.add', () => nl.addresses.add({ dev: 'eth0', address: '10.57.5.1/24' }));
  await write('addresses.replace', () => nl.addresses.replace({ dev: 'eth0', address: '10.57.4.20/24' }));
  await write('addresses.del', () => nl.addresses.del({ dev: 'eth0', address: '10.57.4.20/24' }));
  await write('routes.add', () => nl.routes.add(route));
  await write('routes.replace', () => nl.routes.replace(existing));
  await write('routes.append', () => nl.routes.append(route));
  await write('routes.del', () => nl.routes.del(existing));
  await write('routes.addMany', () => nl.routes.addMany([route, { ...route, dst: '10.99.1.0/24' }]));
  await write('routes.delMany', () => nl.routes.delMany([existing]));
  await write('neighbors.add', () => nl.neighbors.add(neigh));
  await write('neighbors.replace', () => nl.neighbors.replace(neigh));
  await write('neighbors.del', () => nl.neighbors.del({ dev: 'eth0', ip: '10.57.4.40' }));
  await write('neighbors.replaceMany', () => nl.neighbors.replaceMany([neigh]));
  await write('neighbors.delMany', () => nl.neighbors.delMany([{ dev: 'eth0', ip: '10.57.4.40' }]));
  await write('fdb.add', () => nl.fdb.add(fdb));
  await write('fdb.append', () => nl.fdb.append(fdb));
  await write('fdb.replace', () => nl.fdb.replace(fdb));
  await write('fdb.del', () => nl.fdb.del({ dev: 'vxlan0', mac: '02:00:00:00:00:40', dst: '10.57.4.40' }));
  await write('fdb.appendMany', () => nl.fdb.appendMany([fdb]));
  await write('fdb.replaceMany', () => nl.fdb.replaceMany([fdb]));
  await write('fdb.delMany', () => nl.fdb.delMany([{ dev: 'vxlan0', mac: '02:00:00:00:00:40', dst: '10.57.4.40' }]));

  // The reconciler: it reads and plans fine, and every op fails with the same clear EPERM.
  const r = new Reconciler(nl);
  const desired = { routes: [route], neighbors: [{ ...neigh, dev: 'vxlan0' }], addresses: [{ dev: 'vxlan0', address: '192.168.100.0/32' }] };
  const plan = await r.plan(desired);
  const res = await r.apply(desired);
  out.reconciler = { planned: plan.ops.length, converged: res.converged, failed: res.failed.map((f) => ({ key: `${f.op.kind} ${f.op.key}`, ...describe(f.error) })) };
  nl.close();
  console.log(JSON.stringify(out));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
