'use strict';
/**
 * The soak: many reconcile cycles with churn in one namespace, sampling RSS, heap and open file
 * descriptors, to show that nothing leaks. Used by test/reliability/soak.test.js (1,000 cycles)
 * and bench/soak.js (10,000 cycles), both of which run it in a child `node --expose-gc` so that
 * the samples are of a process doing nothing else.
 *
 * Every cycle applies a different desired state (a window of overlay nodes sliding by one, a
 * window of underlay routes sliding by one, gateways flipping every 7 cycles), so each cycle
 * creates, updates and deletes routes, FDB entries and neighbours. Every 10 cycles another
 * handle deletes an owned route behind the reconciler's back. With lifecycle churn, every 25
 * cycles a short-lived handle with a monitor is also opened and closed, and every 50 a watch on
 * a short-lived handle is started, converges and is stopped.
 *
 *   node --expose-gc test/support/soak.js NETNS CYCLES [lifecycle]
 * prints one JSON line per sample, then a summary.
 */
const fs = require('node:fs');
const { Rtnl, Reconciler } = require('../..');

const PROTO = 77;

function desiredAt(c) {
  const nodes = [];
  for (let i = 0; i < 40; i++) nodes.push(1 + ((c + i) % 100));
  const variant = Math.floor(c / 7) % 2;
  const s = {
    links: [{ kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, mtu: 1450, up: true }],
    addresses: [{ dev: 'vxlan0', address: '192.168.100.0/32' }],
    fdb: [],
    neighbors: [],
    routes: [],
  };
  for (const n of nodes) {
    const mac = `0a:58:c0:a8:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
    s.fdb.push({ dev: 'vxlan0', mac, dst: `10.57.5.${n}` });
    s.neighbors.push({ dev: 'vxlan0', ip: `100.64.0.${n}`, lladdr: mac });
    s.routes.push({ dst: `10.64.${n}.0/24`, via: `100.64.${variant}.${n}`, dev: 'vxlan0', onlink: true });
  }
  for (let i = 0; i < 50; i++) {
    const k = (c + i) % 200;
    s.routes.push({ dst: `10.65.${k}.0/24`, via: variant ? '10.57.4.1' : '10.57.4.2', dev: 'eth0' });
  }
  return s;
}

function sample(cycle) {
  if (global.gc) global.gc();
  const m = process.memoryUsage();
  return {
    cycle,
    rssMB: +(m.rss / 1048576).toFixed(1),
    heapMB: +(m.heapUsed / 1048576).toFixed(1),
    externalMB: +(m.external / 1048576).toFixed(1),
    fds: fs.readdirSync('/proc/self/fd').length,
    handles: process.getActiveResourcesInfo().length,
  };
}

/** Runs the soak; calls onSample for each sample; resolves with the summary. lifecycle: also
 * open and close handles, monitors and watches along the way. */
async function runSoak(ns, cycles, onSample = () => {}, { lifecycle = false } = {}) {
  const nl = await Rtnl.open({ netns: ns, receiveBufferBytes: 8 << 20 });
  const other = await Rtnl.open({ netns: ns });
  const r = new Reconciler(nl, { protocol: PROTO });
  const warmup = Math.min(100, Math.floor(cycles / 10));
  const every = Math.max(1, Math.floor((cycles - warmup) / 10));
  const samples = [];
  let ops = 0;
  let requests = 0;
  let notConverged = 0;
  const t0 = Date.now();
  try {
    for (let c = 0; c < cycles; c++) {
      const desired = desiredAt(c);
      if (c % 10 === 5) {
        // Behind the reconciler's back: one of its routes vanishes.
        await other.routes.del({ ...desired.routes[c % desired.routes.length], protocol: PROTO }).catch(() => undefined);
      }
      if (lifecycle && c % 25 === 0) {
        const extra = await Rtnl.open({ netns: ns });
        const mon = extra.monitor({ groups: ['route', 'neigh'] });
        await extra.links.list();
        mon.close();
        extra.close();
      }
      if (lifecycle && c % 50 === 0) {
        const h = await Rtnl.open({ netns: ns });
        const w = new Reconciler(h, { protocol: PROTO });
        const done = new Promise((resolve) => w.once('applied', resolve));
        w.watch(desired, { debounceMs: 0 });
        await done;
        await w.stop();
        h.close();
      }
      const res = await r.apply(desired);
      ops += res.plan.ops.length;
      requests += res.requests;
      if (!res.converged) notConverged++;
      if (c + 1 === warmup || (c + 1 > warmup && (c + 1 - warmup) % every === 0) || c + 1 === cycles) {
        const s = sample(c + 1);
        samples.push(s);
        onSample(s);
      }
    }
    // The last state is exactly what was desired.
    const final = await r.plan(desiredAt(cycles - 1));
    return {
      cycles,
      lifecycle,
      seconds: +((Date.now() - t0) / 1000).toFixed(1),
      ops,
      requests,
      notConverged,
      finalPlanOps: final.ops.length,
      first: samples[0],
      last: samples[samples.length - 1],
      samples,
    };
  } finally {
    other.close();
    nl.close();
  }
}

if (require.main === module) {
  const [ns, cycles, mode] = process.argv.slice(2);
  console.log(JSON.stringify({ start: { pid: process.pid } })); // opens stdout before any sample
  runSoak(ns, Number(cycles), (s) => console.log(JSON.stringify({ sample: s })), { lifecycle: mode === 'lifecycle' })
    .then((summary) => console.log(JSON.stringify({ summary })))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}

module.exports = { runSoak, desiredAt };
