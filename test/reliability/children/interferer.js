'use strict';
// Another process fighting over a namespace while a reconciler watches it. For DURATION ms it
// keeps deleting, changing and adding both the reconciler's objects (routes of protocol 77, FDB
// entries and neighbours on vxlan0, vxlan0's up state) and foreign ones (static routes, eth0
// neighbours, FDB entries on its own vxlan9), then prints what it did and the foreign state it
// left, which only it touches, as one JSON line. MODE "bursts" works in bursts of 20-80
// operations with 30-80 ms pauses between them; "continuous" never pauses longer than 1 ms.
//   node interferer.js NETNS DURATION_MS SEED NODES MODE
const { Rtnl } = require('../../..');
const fuzz = require('../../support/fuzz');
const { PROTO, overlay, host32, mac } = require('../helpers');

async function main() {
  const [ns, durationMs, seed, nodeCount] = process.argv.slice(2, 6).map((v, i) => (i === 0 ? v : Number(v)));
  const bursts = process.argv[6] !== 'continuous';
  const rnd = fuzz.prng(seed);
  const pick = (xs) => xs[rnd.int(xs.length)];
  const nl = await Rtnl.open({ netns: ns });
  const desired = overlay(Array.from({ length: nodeCount }, (_, i) => i + 1));
  await nl.links.add({ kind: 'vxlan', name: 'vxlan9', vni: 900, port: 4789, dev: 'eth0', learning: false, up: true });

  const foreignRoutes = new Map(); // dst -> via
  const foreignNeigh = new Map(); // ip -> lladdr
  // A unicast MAC has one remote on a vxlan device (append adds remotes only to the all-zero and
  // multicast MACs): mac -> dst, set with replace.
  const foreignFdb = new Map();
  const counts = {};
  const count = (k, ok) => {
    counts[k] = counts[k] || { ok: 0, failed: 0 };
    counts[k][ok ? 'ok' : 'failed']++;
  };
  const attempt = async (k, fn) => {
    try {
      await fn();
      count(k, true);
      return undefined;
    } catch (e) {
      count(k, false); // the reconciler may have been faster: that is the point
      return e;
    }
  };

  const ops = [
    // ---- owned by the reconciler
    [10, 'owned route del', () => nl.routes.del({ ...pick(desired.routes), protocol: PROTO })],
    [6, 'owned route change', () => nl.routes.replace({ ...pick(desired.routes), via: '100.64.200.1', protocol: PROTO })],
    [4, 'owned route stray', () => nl.routes.replace({ dst: `10.99.${rnd.int(256)}.0/24`, via: '10.57.4.1', dev: 'eth0', protocol: PROTO })],
    [8, 'owned fdb del', () => nl.fdb.del(pick(desired.fdb))],
    [4, 'owned fdb change', () => nl.fdb.replace({ ...pick(desired.fdb), dst: '10.57.9.8' })],
    [4, 'owned fdb stray', () => nl.fdb.append({ dev: 'vxlan0', mac: mac(0xee0000 + rnd.int(4096)), dst: '10.57.9.9' })],
    [8, 'owned neigh del', () => nl.neighbors.del(pick(desired.neighbors))],
    [4, 'owned neigh change', () => nl.neighbors.replace({ ...pick(desired.neighbors), lladdr: '02:ee:ee:ee:ee:ee' })],
    [3, 'owned neigh stray', () => nl.neighbors.replace({ dev: 'vxlan0', ip: `100.99.0.${1 + rnd.int(250)}`, lladdr: '02:dd:dd:dd:dd:dd' })],
    [1, 'owned link down', () => nl.links.set('vxlan0', { up: false })],
    // ---- foreign: only this process touches it, so its record is exact
    [12, 'foreign route add', async () => {
      const dst = host32(rnd.int(500));
      const via = pick(['10.57.4.1', '10.57.4.2']);
      await nl.routes.replace({ dst, via, dev: 'eth0', protocol: 'static' });
      foreignRoutes.set(dst, via);
    }],
    [8, 'foreign route del', async () => {
      if (!foreignRoutes.size) return;
      const dst = pick([...foreignRoutes.keys()]);
      await nl.routes.del({ dst, protocol: 'static' });
      foreignRoutes.delete(dst);
    }],
    [10, 'foreign neigh add', async () => {
      const ipAddr = `10.57.4.${100 + rnd.int(100)}`;
      const lladdr = mac(0xaa0000 + rnd.int(65536));
      await nl.neighbors.replace({ dev: 'eth0', ip: ipAddr, lladdr });
      foreignNeigh.set(ipAddr, lladdr);
    }],
    [6, 'foreign neigh del', async () => {
      if (!foreignNeigh.size) return;
      const ipAddr = pick([...foreignNeigh.keys()]);
      await nl.neighbors.del({ dev: 'eth0', ip: ipAddr });
      foreignNeigh.delete(ipAddr);
    }],
    [10, 'foreign fdb add', async () => {
      const m = mac(0xbb0000 + rnd.int(200));
      const dst = `10.57.8.${1 + rnd.int(3)}`;
      await nl.fdb.replace({ dev: 'vxlan9', mac: m, dst });
      foreignFdb.set(m, dst);
    }],
    [6, 'foreign fdb del', async () => {
      if (!foreignFdb.size) return;
      const m = pick([...foreignFdb.keys()]);
      await nl.fdb.del({ dev: 'vxlan9', mac: m, dst: foreignFdb.get(m) });
      foreignFdb.delete(m);
    }],
  ];
  const total = ops.reduce((a, o) => a + o[0], 0);
  const t0 = Date.now();
  let n = 0;
  let burst = 0;
  while (Date.now() - t0 < durationMs) {
    let x = rnd.int(total);
    let op = ops[0];
    for (const o of ops) {
      if (x < o[0]) {
        op = o;
        break;
      }
      x -= o[0];
    }
    const failed = await attempt(op[1], op[2]);
    // A foreign operation that fails is a bug (nobody else touches foreign state): stop loudly.
    if (failed && op[1].startsWith('foreign')) throw new Error(`${op[1]} failed: ${failed.stack}`);
    n++;
    if (bursts && ++burst >= 20 + rnd.int(60)) {
      burst = 0;
      await new Promise((r) => setTimeout(r, 30 + rnd.int(50)));
    } else if (n % 4 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  nl.close();
  console.log(
    JSON.stringify({
      ops: n,
      counts,
      routes: [...foreignRoutes].map(([dst, via]) => ({ dst, via })),
      neighbors: [...foreignNeigh].map(([ip, lladdr]) => ({ ip, lladdr })),
      fdb: [...foreignFdb].map(([m, dst]) => ({ mac: m, dst })),
    }),
  );
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
