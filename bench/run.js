#!/usr/bin/env node
'use strict';
/**
 * netlink-agent against the kernel floor, iproute2 and Go's vishvananda/netlink, side by side
 * in one run, in throwaway namespaces.
 *
 *   node bench/run.js                          all workloads, N = 100000 (W4, W8, W9: 10000), 5 rounds
 *   node bench/run.js --only W8nh,W9nh,W10nh   issue 20's W8-W10: nexthop objects against inline gateways
 *   node bench/run.js --only W4,W11            issue 19's L2 kinds: W4 writes, W11 the no-op overlay
 *   node bench/run.js --only W1,W5 --n 10000 --rounds 7 --json out.json
 *   node bench/run.js --n 300 --n-small 100 --rounds 1 --no-settle   a smoke run (test/bench)
 *   options: --floor DIR (netlink-floor sources), --no-floor, --no-go, --cache DIR, --warmup K
 *            (untimed rounds first, default 1; 0 with --no-settle),
 *            --ab-io-threads (each of our transport-bound columns also with ioThreads: true)
 *
 * Each workload runs its columns interleaved, round after round (floor, ours..., iproute2, Go,
 * floor, ours, ...), each write in a fresh namespace with a veth underlay, and prints per column
 * the median wall time, the medians of user and system CPU, and the ratio to the floor (the
 * kernel's own cost, measured in the same run). The floor and the Go program are built into a
 * cache directory by bench/lib/peers.js; a peer that is missing is named with the reason.
 * The benchmark may run `ip`/`bridge` and the peers; the library never runs a program.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { Netns, Rtnl, Reconciler, overlay, deepFreeze } = require('..');
const { cacheDir, prepareFloor, prepareGo, runPeer } = require('./lib/peers');
const { interleave, report, setWarmup, summary } = require('./lib/report');
/** The node flags the agent runs with: deploy/'s NODE_OPTIONS (read from the unit, which the
 * DaemonSet repeats) and the heap growing percent the CLI sets on itself (src/cli/overlay.ts). */
const AGENT_NODE_FLAGS = [...deployedNodeOptions(), `--heap-growing-percent=${require('../dist/cli/overlay').OVERLAY_HEAP_GROWING_PERCENT}`];

/** NODE_OPTIONS of deploy/netlink-agent.service, as flags. */
function deployedNodeOptions() {
  const unit = fs.readFileSync(path.join(__dirname, '..', 'deploy', 'netlink-agent.service'), 'utf8');
  const m = /^Environment=NODE_OPTIONS=(.+)$/m.exec(unit);
  if (!m) throw new Error('deploy/netlink-agent.service has no Environment=NODE_OPTIONS= line');
  return m[1].trim().split(/\s+/);
}

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const N = Number(opt('n', 100000));
const N_SMALL = Number(opt('n-small', Math.min(N, 10000)));
const ROUNDS = Number(opt('rounds', 5));
// --warmup K: K untimed rounds of every column before the timed ones (see interleave).
const WARMUP = Number(opt('warmup', args.includes('--no-settle') ? 0 : 1));
setWarmup(WARMUP);
const ONLY = opt('only', '').split(',').filter(Boolean);
const JSON_OUT = opt('json', '');
// --no-settle: do not wait for an idle machine between rounds (the test suite's smoke run).
const SETTLE = !args.includes('--no-settle');
// --ab-io-threads: measure the socket's I/O threads (NetlinkSocketOptions.ioThreads) in the same
// run: each of our columns whose time is the transport's also runs on a socket with them (they are off by default).
const AB_IO = args.includes('--ab-io-threads');
const PROTO = 77;
/** The floor's limits (floor.c): its route set has 130,560 routes, its L2 sets 65,000. */
const FLOOR_MAX_ROUTES = 130560;
const FLOOR_MAX_L2 = 65000;
let nsCounter = 0;
let floor;
let go;

const now = () => process.hrtime.bigint();
const secs = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Children's CPU (ip, bridge) from /proc/self/stat: cutime, cstime in clock ticks. */
function childCpu() {
  const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  const hz = 100;
  return { user: Number(f[13]) / hz, system: Number(f[14]) / hz };
}

/** A fresh namespace with lo and veth0/veth1 up, 10.57.0.1/24 on veth0 (and vxlan0 on it when
 * asked: id 100, port 4789, the floor's device), torn down afterwards. */
async function withNamespace(fn, { vxlan = false, io } = {}) {
  const name = `nla-bench-${process.pid}-${++nsCounter}`;
  Netns.create(name);
  const nl = await Rtnl.open({ netns: name, receiveBufferBytes: 32 << 20, ioThreads: io });
  try {
    await nl.links.set('lo', { up: true });
    await nl.links.add({ kind: 'veth', name: 'veth0', peer: { name: 'veth1' }, up: true });
    await nl.links.set('veth1', { up: true });
    await nl.addresses.add({ dev: 'veth0', address: '10.57.0.1/24' });
    if (vxlan) await nl.links.add(VXLAN);
    return await fn(name, nl);
  } finally {
    nl.close();
    // Untimed: empty the tables first and let the kernel settle. A namespace deleted with 100k
    // routes is torn down by a kernel worker in the background, which on two cores would
    // steal CPU from the next measurement.
    spawnSync('ip', ['-n', name, 'route', 'flush', 'table', 'all'], { stdio: 'ignore' });
    spawnSync('ip', ['-n', name, 'neigh', 'flush', 'all'], { stdio: 'ignore' });
    Netns.delete(name);
    if (SETTLE) await settle();
  }
}

const VXLAN = { kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, local: '10.57.0.1', dev: 'veth0', up: true };

/** Waits until the kernel's background work (namespace teardown) is done: the 1-minute load
 * average is too slow to tell, so watch this process's view of /proc/stat idle time. */
async function settle() {
  const idle = () => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
  };
  for (let i = 0; i < 40; i++) {
    const a = idle();
    await new Promise((r) => setTimeout(r, 100));
    const b = idle();
    if ((b.idle - a.idle) / Math.max(1, b.total - a.total) > 0.9) return; // both cores >90% idle
  }
}

/** n distinct /24 routes, 20.0.0.0/24, 20.0.1.0/24, ... (clear of the 10.57.0.0/24 underlay).
 * Built as literals: V8 reads properties of objects made with spread ({ ...s, protocol })
 * several times slower (a known cliff, see the README), which would measure V8, not us.
 * bench/go/main.go builds the same routes. */
function routeSpecs(n, protocol) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const dst = `${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`;
    out[i] = protocol === undefined ? { dst, via: '10.57.0.2', dev: 'veth0', onlink: true } : { dst, via: '10.57.0.2', dev: 'veth0', onlink: true, protocol };
  }
  return out;
}

/** The floor's FDB set (and the Go program's): 00:00:00:00:00:00 dst 10.57.(k>>8).(k&255), k = i+2. */
const fdbSpecs = (n) => Array.from({ length: n }, (_, i) => ({ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: `10.57.${(i + 2) >> 8}.${(i + 2) & 255}` }));
const hex2 = (v) => (v & 255).toString(16).padStart(2, '0');
/** The floor's neighbour set: 10.200.(k>>8).(k&255) lladdr 02:42:0a:c8:KH:KL, k = i+1. */
const neighSpecs = (n) => Array.from({ length: n }, (_, i) => ({ dev: 'vxlan0', ip: `10.200.${(i + 1) >> 8}.${(i + 1) & 255}`, lladdr: `02:42:0a:c8:${hex2((i + 1) >> 8)}:${hex2(i + 1)}` }));

function ipBatch(ns, lines, tool = 'ip') {
  const file = path.join(os.tmpdir(), `nla-bench-${process.pid}.batch`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const t0 = now();
  const c0 = childCpu();
  const r = spawnSync(tool, ['-n', ns, '-batch', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = secs(t0);
  const c1 = childCpu();
  fs.unlinkSync(file);
  if (r.status !== 0) throw new Error(`${tool} -batch failed: ${r.stderr}`);
  return { wall, user: c1.user - c0.user, system: c1.system - c0.system };
}

function timeChild(cmd, argv, after) {
  const c0 = childCpu();
  const t0 = now();
  const out = execFileSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (after) after(out);
  const wall = secs(t0);
  const c1 = childCpu();
  return { wall, user: c1.user - c0.user, system: c1.system - c0.system };
}

async function ours(fn) {
  const c0 = process.cpuUsage();
  const t0 = now();
  const extra = await fn();
  const wall = secs(t0);
  const c = process.cpuUsage(c0);
  return { wall, user: c.user / 1e6, system: c.system / 1e6, extra: extra || undefined };
}

/** One of our columns, run(io, round) with io = undefined (the default); with --ab-io-threads
 * also its twin, run(true, round): the same work on a socket with I/O threads. */
function oursCols(name, run) {
  const cols = [{ name, who: 'ours', run: (r) => run(undefined, r) }];
  if (AB_IO) cols.push({ name: `${name} [ioThreads on]`, who: 'ours', run: (r) => run(true, r) });
  return cols;
}

/** A second handle on a namespace, with I/O threads, for the twins of --ab-io-threads. */
const openTwin = (ns) => (AB_IO ? Rtnl.open({ netns: ns, receiveBufferBytes: 32 << 20, ioThreads: true }) : Promise.resolve(undefined));

const routeLine = (s, verb = 'add') => `route ${verb} ${s.dst} via ${s.via} dev ${s.dev} onlink`;
const check = (res, what) => {
  if (res.failed) throw new Error(`${res.failed} ${what} failed: ${res.errors.find(Boolean).message}`);
};
const converged = (res) => {
  if (!res.converged) throw new Error(`reconcile failed: ${res.failed[0] && res.failed[0].error.message}`);
};

/** Whether the floor can run a workload of this size; otherwise the reason, for the table. */
function floorFor(n, max) {
  if (!floor.available) return floor.reason;
  if (n > max) return `the floor's set has at most ${max} objects`;
  return undefined;
}
const floorWrite = (op, ns, n) => runPeer(floor.bin, [...floor.writeOptions, op, ns, String(n)]);
const floorDump = (op, ns, n) => runPeer(floor.bin, [...floor.dumpOptions, op, ns, String(n)]);
const goRun = (op, ns, n) => runPeer(go.bin, [op, ns, String(n)]);

/** Columns of the floor and Go for a workload, when available: [columns, notes]. */
function peerColumns({ n, max, floorRun, goRun: goFn }) {
  const cols = [];
  const notes = {};
  const why = floorFor(n, max);
  if (why === undefined && floorRun) cols.push({ name: 'C floor', who: 'floor', run: floorRun });
  else notes.floor = why ?? 'no equivalent workload';
  const goCols = [];
  if (go.available && goFn) goCols.push({ name: 'Go vishvananda/netlink', who: 'go', run: goFn });
  else notes.go = go.available ? 'no equivalent workload' : go.reason;
  return [cols, goCols, notes];
}

const workloads = {
  async W1() {
    const specs = routeSpecs(N);
    const owned = routeSpecs(N, PROTO);
    const [floorCols, goCols, notes] = peerColumns({
      n: N,
      max: FLOOR_MAX_ROUTES,
      floorRun: () => withNamespace((ns) => floorWrite('route-add', ns, N)),
      goRun: () => withNamespace((ns) => goRun('route-add', ns, N)),
    });
    const runs = await interleave(ROUNDS, [
      ...floorCols,
      ...oursCols('ours: routes.addMany', (io) => withNamespace((ns, nl) => ours(async () => check(await nl.routes.addMany(owned), 'adds')), { io })),
      ...oursCols('ours: reconciler.apply', (io) =>
        withNamespace((ns, nl) => ours(async () => converged(await new Reconciler(nl, { protocol: PROTO }).apply({ routes: specs }))), { io }),
      ),
      { name: 'ip -batch', who: 'iproute2', run: () => withNamespace((ns) => ipBatch(ns, specs.map((s) => routeLine(s)))) },
      ...goCols,
    ]);
    return report(`W1 add ${N} routes`, ROUNDS, runs, notes);
  },

  async W2() {
    let out;
    await withNamespace(async (ns, nl) => {
      check(await nl.routes.addMany(routeSpecs(N, PROTO)), 'adds');
      const nlTwin = await openTwin(ns);
      const measure = async (floorNs) => {
        const [floorCols, goCols, notes] = peerColumns({
          n: N,
          max: FLOOR_MAX_ROUTES,
          floorRun: floorNs && (() => floorDump('route-dump', floorNs, N)),
          goRun: () => goRun('route-dump', ns, N),
        });
        const runs = await interleave(ROUNDS, [
          ...floorCols,
          ...oursCols('ours: routes.list (typed objects)', (io) =>
            ours(async () => {
              const got = await (io === true ? nlTwin : nl).routes.list({ table: 'main' });
              if (got.length < N) throw new Error(`listed ${got.length}`);
            }),
          ),
          { name: 'ip route show (text)', who: 'iproute2', run: () => timeChild('ip', ['-n', ns, 'route', 'show']) },
          { name: 'ip -j route show + JSON.parse', who: 'iproute2', run: () => timeChild('ip', ['-n', ns, '-j', 'route', 'show'], (o) => JSON.parse(o)) },
          ...goCols,
        ]);
        out = report(`W2 dump and parse ${N} routes`, ROUNDS, runs, { ...notes, peer: 'ip route show (text)' });
      };
      // The floor dumps its own routes (protocol 200, its set), in a namespace of its own.
      if (floorFor(N, FLOOR_MAX_ROUTES) === undefined) {
        await withNamespace(async (fns) => {
          floorWrite('route-add', fns, N);
          await measure(fns);
        });
      } else await measure(undefined);
      nlTwin?.close();
    });
    return out;
  },

  async W3() {
    const specs = routeSpecs(N);
    const [floorCols, goCols, notes] = peerColumns({
      n: N,
      max: FLOOR_MAX_ROUTES,
      floorRun: () =>
        withNamespace((ns) => {
          floorWrite('route-add', ns, N);
          return floorWrite('route-del', ns, N);
        }),
      goRun: () =>
        withNamespace(async (ns, nl) => {
          check(await nl.routes.addMany(routeSpecs(N, PROTO)), 'adds');
          return goRun('route-del', ns, N);
        }),
    });
    const runs = await interleave(ROUNDS, [
      ...floorCols,
      ...oursCols('ours: reconciler.apply (delete all)', (io) =>
        withNamespace(
          async (ns, nl) => {
            const rec = new Reconciler(nl, { protocol: PROTO });
            converged(await rec.apply({ routes: specs }));
            return ours(async () => {
              const res = await rec.apply({ routes: [] });
              if (!res.converged || res.applied.length !== N) throw new Error(`deleted ${res.applied.length}`);
            });
          },
          { io },
        ),
      ),
      ...oursCols('ours: routes.delMany', (io) =>
        withNamespace(
          async (ns, nl) => {
            check(await nl.routes.addMany(routeSpecs(N, PROTO)), 'adds');
            return ours(async () => check(await nl.routes.delMany(specs), 'deletes'));
          },
          { io },
        ),
      ),
      {
        name: 'ip -batch',
        who: 'iproute2',
        run: () =>
          withNamespace(async (ns, nl) => {
            check(await nl.routes.addMany(specs), 'adds');
            return ipBatch(ns, specs.map((s) => routeLine(s, 'del')));
          }),
      },
      ...goCols,
    ]);
    return report(`W3 delete ${N} routes`, ROUNDS, runs, notes);
  },

  async W4() {
    const n = N_SMALL;
    const fdb = fdbSpecs(n);
    const neigh = neighSpecs(n);
    const inVxlan = (fn, io) => withNamespace(fn, { vxlan: true, io });
    const fdbPeers = peerColumns({
      n,
      max: FLOOR_MAX_L2,
      floorRun: () => inVxlan((ns) => floorWrite('fdb-append', ns, n)),
      goRun: () => inVxlan((ns) => goRun('fdb-append', ns, n)),
    });
    const fdbRuns = await interleave(ROUNDS, [
      ...fdbPeers[0],
      ...oursCols('ours: fdb.appendMany', (io) => inVxlan((ns, nl) => ours(async () => check(await nl.fdb.appendMany(fdb), 'fdb appends')), io)),
      ...oursCols('ours: reconciler.apply', (io) => inVxlan((ns, nl) => ours(async () => converged(await new Reconciler(nl, { protocol: PROTO }).apply({ fdb }))), io)),
      {
        name: 'bridge -batch fdb append',
        who: 'iproute2',
        run: () => inVxlan((ns) => ipBatch(ns, fdb.map((e) => `fdb append ${e.mac} dev vxlan0 dst ${e.dst} self permanent`), 'bridge')),
      },
      ...fdbPeers[1],
    ]);
    const neighPeers = peerColumns({
      n,
      max: FLOOR_MAX_L2,
      floorRun: () => inVxlan((ns) => floorWrite('neigh-add', ns, n)),
      goRun: () => inVxlan((ns) => goRun('neigh-add', ns, n)),
    });
    const neighRuns = await interleave(ROUNDS, [
      ...neighPeers[0],
      ...oursCols('ours: neighbors.replaceMany', (io) => inVxlan((ns, nl) => ours(async () => check(await nl.neighbors.replaceMany(neigh), 'neighbour adds')), io)),
      ...oursCols('ours: reconciler.apply', (io) =>
        inVxlan((ns, nl) => ours(async () => converged(await new Reconciler(nl, { protocol: PROTO }).apply({ neighbors: neigh }))), io),
      ),
      {
        name: 'ip -batch neigh replace',
        who: 'iproute2',
        run: () => inVxlan((ns) => ipBatch(ns, neigh.map((e) => `neigh replace ${e.ip} lladdr ${e.lladdr} dev vxlan0 nud permanent`))),
      },
      ...neighPeers[1],
    ]);
    return [
      ...report(`W4 ${n} FDB entries on vxlan`, ROUNDS, fdbRuns, fdbPeers[2]),
      ...report(`W4 ${n} permanent neighbours`, ROUNDS, neighRuns, neighPeers[2]),
    ];
  },

  async W5() {
    let out;
    const specs = routeSpecs(N);
    await withNamespace(async (ns, nl) => {
      const rec = new Reconciler(nl, { protocol: PROTO });
      const desired = { routes: specs };
      converged(await rec.apply(desired));
      const nlTwin = await openTwin(ns);
      const recTwin = nlTwin && new Reconciler(nlTwin, { protocol: PROTO });
      const recFor = (io) => (io === true ? recTwin : rec);
      const measure = async (floorNs) => {
        const [floorCols, goCols, notes] = peerColumns({
          n: N,
          max: FLOOR_MAX_ROUTES,
          floorRun: floorNs && (() => floorDump('reconcile-noop', floorNs, N)),
          goRun: () => goRun('reconcile-noop', ns, N),
        });
        const runs = await interleave(ROUNDS, [
          ...floorCols,
          ...oursCols('ours: no-op apply', (io) =>
            ours(async () => {
              const res = await recFor(io).apply(desired);
              if (res.requests !== 0) throw new Error(`no-op sent ${res.requests} requests`);
            }),
          ),
          ...oursCols('ours: no-op plan of new spec objects', (io) => {
            const fresh = { routes: routeSpecs(N) }; // untimed: what a caller builds anyway
            return ours(async () => {
              const plan = await recFor(io).plan(fresh);
              if (!plan.empty) throw new Error(`no-op plan has ${plan.ops.length} ops`);
            });
          }),
          { name: 'ip route show + diff of its text', who: 'iproute2', run: () => ipRouteTextDiff(ns, [], specs) },
          ...goCols,
        ]);
        out = report(`W5 no-op reconcile of ${N} routes`, ROUNDS, runs, notes);
      };
      if (floorFor(N, FLOOR_MAX_ROUTES) === undefined) {
        await withNamespace(async (fns) => {
          floorWrite('route-add', fns, N);
          await measure(fns);
        });
      } else await measure(undefined);
      nlTwin?.close();
    });
    return out;
  },

  /** Not one of the issue's workloads: W5 for IPv6 (dual-stack clusters program both). */
  async W5v6() {
    // Non-zero groups, so the text is canonical and the peer's text diff can compare it as is.
    const specs = Array.from({ length: N }, (_, i) => ({ dst: `fd10:${((i >> 12) + 1).toString(16)}:${((i & 0xfff) + 1).toString(16)}::/64`, via: 'fd00::2', dev: 'veth0' }));
    let out;
    await withNamespace(async (ns, nl) => {
      await nl.addresses.add({ dev: 'veth0', address: 'fd00::1/64', nodad: true });
      const rec = new Reconciler(nl, { protocol: PROTO });
      const desired = { routes: specs };
      converged(await rec.apply(desired));
      const runs = await interleave(ROUNDS, [
        {
          name: 'ours: no-op apply (IPv6)',
          who: 'ours',
          run: () =>
            ours(async () => {
              const res = await rec.apply(desired);
              if (res.requests !== 0) throw new Error(`no-op sent ${res.requests} requests`);
            }),
        },
        { name: 'ip -6 route show + diff of its text', who: 'iproute2', run: () => ipRouteTextDiff(ns, ['-6'], specs) },
      ]);
      out = report(`W5v6 no-op reconcile of ${N} IPv6 routes`, ROUNDS, runs, {
        floor: 'no equivalent workload (the floor has no IPv6 routes)',
        go: 'no equivalent workload (bench/go has no IPv6 routes)',
      });
    });
    return out;
  },

  /** Not one of the issue's workloads: a dual-stack vxlan cluster's no-op reconcile (issue 21):
   * this host and --n-nodes peers (default 5000, or --n-small when smaller) with an IPv4 underlay carrying both pod
   * families, i.e. 2 routes, 2 permanent neighbours and 1 FDB entry per peer. */
  async W5ds() {
    const peers = Number(opt('n-nodes', Math.min(5000, N_SMALL)));
    const node = (i) => {
      const v4 = `10.${128 + (i >> 8)}.${i & 255}.0/24`;
      const v6 = `fd10:0:${(i + 1).toString(16)}::/64`;
      return { name: `n${i}`, nodeIP: `10.57.${(i + 2) >> 8}.${(i + 2) & 255}`, podCIDR: v4, podCIDRs: [v4, v6] };
    };
    const nodes = [{ ...node(peers), nodeIP: '10.57.0.1' }, ...Array.from({ length: peers }, (_, i) => node(i))];
    const build = () => overlay.desiredState({ mode: 'vxlan', self: `n${peers}`, nodes, underlayDev: 'veth0', underlayMtu: 1500 });
    const desired = build();
    let out;
    await withNamespace(async (ns, nl) => {
      await nl.addresses.add({ dev: 'veth0', address: '10.57.0.1/16' });
      const rec = new Reconciler(nl, { protocol: PROTO });
      converged(await rec.apply(desired));
      const runs = await interleave(ROUNDS, [
        {
          name: 'ours: no-op apply (dual stack)',
          who: 'ours',
          run: () =>
            ours(async () => {
              const res = await rec.apply(desired);
              if (res.requests !== 0) throw new Error(`no-op sent ${res.requests} requests`);
            }),
        },
        {
          name: 'ours: overlay.desiredState + no-op apply',
          who: 'ours',
          run: () =>
            ours(async () => {
              const res = await rec.apply(build());
              if (res.requests !== 0) throw new Error(`no-op sent ${res.requests} requests`);
            }),
        },
      ]);
      out = report(`W5ds no-op reconcile of a dual-stack vxlan cluster of ${peers} nodes (${desired.routes.length} routes, ${desired.neighbors.length} neighbours, ${desired.fdb.length} FDB)`, ROUNDS, runs, {
        floor: 'no equivalent workload',
        go: 'no equivalent workload',
      });
    });
    return out;
  },

  async W6() {
    const specs = routeSpecs(N);
    let requests = -1;
    let out;
    await withNamespace(async (ns, nl) => {
      const rec = new Reconciler(nl, { protocol: PROTO });
      converged(await rec.apply({ routes: specs }));
      const runs = await interleave(ROUNDS, [
        {
          name: 'ours: reconcile one changed route',
          who: 'ours',
          run: (r) => {
            const changed = specs.slice();
            changed[N >> 1] = { ...changed[N >> 1], mtu: 1400 - r };
            return ours(async () => {
              const res = await rec.apply({ routes: changed });
              requests = res.requests;
              if (res.requests !== 1) throw new Error(`one change cost ${res.requests} requests`);
            });
          },
        },
      ]);
      out = report(`W6 one route changed among ${N}`, ROUNDS, runs, { floor: 'no equivalent workload', go: 'no equivalent workload' });
    });
    out[0].modifyingRequests = requests;
    console.log(`  modifying requests: ${requests}`);
    return out;
  },

  async W7() {
    const script = path.join(__dirname, 'rss-child.js');
    const peak = (nodeFlags) => {
      const r = spawnSync(process.execPath, [...nodeFlags, script, String(N)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`W7 child failed: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop()).maxRssMB;
    };
    const maxRssMB = peak([]);
    // The node flags the agent is deployed with (deploy/: NODE_OPTIONS; the CLI sets the growing
    // percent itself): V8's young generation at 4 MB semi-spaces instead of 16, the old
    // generation grown by 20 % instead of its default. A library user chooses their own.
    const boundedMB = peak(AGENT_NODE_FLAGS);
    console.log(`\nW7 peak RSS of a reconciler holding ${N} desired routes (applied): ${maxRssMB.toFixed(1)} MB; with ${AGENT_NODE_FLAGS.join(' ')}: ${boundedMB.toFixed(1)} MB`);
    return [
      { workload: `W7 peak RSS with ${N} desired routes`, maxRssMB },
      { workload: `W7 peak RSS with ${N} desired routes, node ${AGENT_NODE_FLAGS.join(' ')}`, maxRssMB: boundedMB },
    ];
  },

  /** The steady state of a vxlan overlay of N_SMALL nodes: per node one route, one neighbour
   * and one FDB entry on vxlan0 (flannel's vxlan mode), plus the vxlan device itself. */
  async W8() {
    const n = N_SMALL;
    let out;
    await withNamespace(async (ns, nl) => {
      const rec = new Reconciler(nl, { protocol: PROTO });
      const desired = overlayState(n);
      converged(await rec.apply(desired));
      const nlTwin = await openTwin(ns);
      const recTwin = nlTwin && new Reconciler(nlTwin, { protocol: PROTO });
      const runs = await interleave(ROUNDS, [
        ...oursCols('ours: no-op apply', (io) =>
          ours(async () => {
            const res = await (io === true ? recTwin : rec).apply(desired);
            if (res.requests !== 0) throw new Error(`no-op sent ${res.requests} requests`);
          }),
        ),
        {
          name: 'ours: no-op plan of new spec objects',
          who: 'ours',
          run: async () => {
            const fresh = overlayState(n);
            return ours(async () => {
              const plan = await rec.plan(fresh);
              if (!plan.empty) throw new Error(`no-op plan has ${plan.ops.length} ops: ${plan.text().slice(0, 300)}`);
            });
          },
        },
        { name: 'ip route + ip neigh + bridge fdb show, text diff', who: 'iproute2', run: () => overlayTextDiff(ns, desired) },
      ]);
      out = report(`W8 no-op reconcile of a ${n}-node vxlan overlay (${n} routes + ${n} neighbours + ${n} FDB entries)`, ROUNDS, runs, {
        floor: 'no equivalent workload (the floor has no neighbour or FDB dumps)',
        go: 'no equivalent workload',
      });
      nlTwin?.close();
    });
    return out;
  },

  /** One node of the W8 overlay changes its VTEP MAC: exactly its ops (neighbour update, FDB
   * entry added for the new MAC, the old one deleted), nothing else. */
  async W9() {
    const n = N_SMALL;
    let out;
    const cost = {};
    await withNamespace(async (ns, nl) => {
      const rec = new Reconciler(nl, { protocol: PROTO });
      converged(await rec.apply(overlayState(n)));
      const node = n >> 1;
      const runs = await interleave(ROUNDS, [
        {
          name: 'ours: reconcile one changed node',
          who: 'ours',
          run: (r) => {
            const desired = overlayState(n, { node, macByte: 0x10 + r });
            return ours(async () => {
              const res = await rec.apply(desired);
              converged(res);
              const ops = res.plan.ops.map((o) => `${o.action} ${o.kind}`).sort();
              const want = ['create fdb', 'delete fdb', 'update neighbor'];
              if (JSON.stringify(ops) !== JSON.stringify(want) || res.requests !== 3) {
                throw new Error(`one changed node cost ${res.requests} requests: ${res.plan.text().slice(0, 400)}`);
              }
              cost.modifyingRequests = res.requests;
              cost.ops = ops;
            });
          },
        },
      ]);
      out = report(`W9 one node changed in a ${n}-node vxlan overlay`, ROUNDS, runs, { floor: 'no equivalent workload', go: 'no equivalent workload' });
    });
    Object.assign(out[0], cost);
    console.log(`  modifying requests: ${cost.modifyingRequests} (${cost.ops.join(', ')})`);
    return out;
  },

  /** Issue 19's no-op overlay: W8's state of an N_SMALL-node vxlan overlay (one route, one
   * neighbour and one FDB entry per node), its no-op apply, and each kind's share alone (each in
   * a namespace of its own, so the others are not there to be deleted). The floor has no
   * neighbour or FDB dump: its column is `reconcile-noop` of N_SMALL routes, the equivalent of
   * the routes-alone row only; for the whole state the peer is iproute2's three dumps. */
  async W11() {
    const n = N_SMALL;
    const full = overlayState(n);
    const parts = {
      routes: { links: full.links, routes: full.routes },
      neighbours: { links: full.links, neighbors: full.neighbors },
      FDB: { links: full.links, fdb: full.fdb },
    };
    let out;
    // One namespace per desired state, each applied once (untimed), then measured interleaved.
    // The same state frozen, as an overlay hands it (overlay.desiredState): applied again, each
    // kind's prepared list is handed back instead of validated and indexed again.
    const frozen = deepFreeze(overlayState(n));
    const states = [['overlay', full], ['overlay, frozen', frozen], ...Object.entries(parts)];
    const recs = {};
    const nest = async (k) => {
      if (k === states.length) return measure();
      const [name, desired] = states[k];
      return withNamespace(async (ns, nl) => {
        const rec = new Reconciler(nl, { protocol: PROTO });
        converged(await rec.apply(desired));
        recs[name] = { ns, rec, desired };
        return nest(k + 1);
      });
    };
    const noop = (name) => () =>
      ours(async () => {
        const res = await recs[name].rec.apply(recs[name].desired);
        if (res.requests !== 0 || !res.plan.empty) throw new Error(`no-op sent ${res.requests} requests: ${res.plan.text().slice(0, 300)}`);
      });
    const measure = async () => {
      const run = async (floorNs) => {
        const [floorCols, , notes] = peerColumns({ n, max: FLOOR_MAX_ROUTES, floorRun: floorNs && (() => floorDump('reconcile-noop', floorNs, n)) });
        const runs = await interleave(ROUNDS, [
          ...floorCols.map((c) => ({ ...c, name: `C floor (reconcile-noop, ${n} routes only)` })),
          { name: 'ours: no-op apply, whole overlay', who: 'ours', run: noop('overlay') },
          { name: 'ours: no-op apply, whole overlay, frozen specs', who: 'ours', run: noop('overlay, frozen') },
          {
            name: 'ours: no-op plan of new spec objects',
            who: 'ours',
            run: () => {
              const fresh = overlayState(n); // untimed: what a caller builds anyway
              return ours(async () => {
                const plan = await recs.overlay.rec.plan(fresh);
                if (!plan.empty) throw new Error(`no-op plan has ${plan.ops.length} ops`);
              });
            },
          },
          { name: `ours: no-op apply, the ${n} routes alone`, who: 'ours', run: noop('routes') },
          { name: `ours: no-op apply, the ${n} neighbours alone`, who: 'ours', run: noop('neighbours') },
          { name: `ours: no-op apply, the ${n} FDB entries alone`, who: 'ours', run: noop('FDB') },
          { name: 'ip route + ip neigh + bridge fdb show, text diff', who: 'iproute2', run: () => overlayTextDiff(recs.overlay.ns, full) },
        ]);
        out = report(`W11 no-op reconcile of a ${n}-node vxlan overlay (${n} routes + ${n} neighbours + ${n} FDB entries)`, ROUNDS, runs, {
          ...notes,
          go: 'no equivalent workload',
        });
      };
      if (floorFor(n, FLOOR_MAX_ROUTES) === undefined) {
        await withNamespace(async (fns) => {
          floorWrite('route-add', fns, n);
          await run(fns);
        });
      } else await run(undefined);
    };
    await nest(0);
    return out;
  },

  /** Issue 20's W8: move N routes from gateway A to gateway B, N route replaces against one
   * replace of the nexthop object they all use (which should cost the same whatever N is). */
  async W8nh() {
    const A = '10.57.0.2';
    const B = '10.57.0.3';
    const viaAll = (gw) => routeSpecs(N, PROTO).map((r) => ({ dst: r.dst, via: gw, dev: 'veth0', onlink: true, protocol: PROTO }));
    const nhRoutes = onNexthop(N, 1);
    const nh = (gw) => ({ id: 1, via: gw, dev: 'veth0', onlink: true, protocol: PROTO });
    const named = (gw) => ({ nexthops: [{ name: 'gw', via: gw, dev: 'veth0', onlink: true }], routes: routeSpecs(N).map((r) => ({ dst: r.dst, nexthop: 'gw' })) });
    const followed = (ns, gw) => {
      const r = JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'route', 'show', nhRoutes[N - 1].dst], { encoding: 'utf8' }))[0];
      if (!r || r.gateway !== gw) throw new Error(`route ${nhRoutes[N - 1].dst} did not follow to ${gw}: ${JSON.stringify(r)}`);
    };
    const cost = {};
    const runs = await interleave(ROUNDS, [
      ...oursCols(`ours: ${N} route replaces (routes.addMany replace)`, (io) =>
        withNamespace(
          async (ns, nl) => {
            check(await nl.routes.addMany(viaAll(A)), 'adds');
            const t = await ours(async () => check(await nl.routes.addMany(viaAll(B), { replace: true }), 'replaces'));
            followed(ns, B);
            return t;
          },
          { io },
        ),
      ),
      {
        name: `ours: one nexthop replace (${N} routes on it)`,
        who: 'ours',
        run: () =>
          withNamespace(async (ns, nl) => {
            await nl.nexthops.add(nh(A));
            check(await nl.routes.addMany(nhRoutes), 'adds');
            const before = nl.modifyingRequests();
            const t = await ours(() => nl.nexthops.replace(nh(B)));
            cost.nexthopReplaceRequests = nl.modifyingRequests() - before;
            followed(ns, B);
            return t;
          }),
      },
      {
        name: 'ours: reconciler.apply, named nexthop moved',
        who: 'ours',
        run: () =>
          withNamespace(async (ns, nl) => {
            const rec = new Reconciler(nl, { protocol: PROTO });
            converged(await rec.apply(named(A)));
            const t = await ours(async () => {
              const res = await rec.apply(named(B));
              converged(res);
              if (res.requests !== 1) throw new Error(`moving the nexthop cost ${res.requests} requests: ${res.plan.text().slice(0, 300)}`);
              cost.reconcilerRequests = res.requests;
            });
            followed(ns, B);
            return t;
          }),
      },
      {
        name: `ip -batch: ${N} route replaces`,
        who: 'iproute2',
        run: () =>
          withNamespace((ns) => {
            ipBatch(ns, viaAll(A).map((r) => routeLine(r)));
            return ipBatch(ns, viaAll(B).map((r) => routeLine(r, 'replace')));
          }),
      },
      {
        name: 'ip nexthop replace',
        who: 'iproute2',
        run: () =>
          withNamespace((ns) => {
            ipBatch(ns, [`nexthop add id 1 via ${A} dev veth0 onlink proto ${PROTO}`, ...nhRoutes.map((r) => `route add ${r.dst} nhid 1 proto ${PROTO}`)]);
            return timeChild('ip', ['-n', ns, 'nexthop', 'replace', 'id', '1', 'via', B, 'dev', 'veth0', 'onlink', 'proto', String(PROTO)]);
          }),
      },
    ]);
    const out = report(`W8nh move ${N} routes from gateway A to B`, ROUNDS, runs, {
      floor: 'no equivalent workload (the floor has no route replace and no nexthop objects)',
      go: 'no equivalent workload (vishvananda/netlink has nexthop objects on master only, in no release)',
    });
    Object.assign(out[0], cost);
    console.log(`  modifying requests: nexthop replace ${cost.nexthopReplaceRequests}, reconciler ${cost.reconcilerRequests}`);
    return out;
  },

  /** Issue 20's W9: add N routes on one nexthop object (nhid) against the same with via (W1). */
  async W9nh() {
    const viaRoutes = routeSpecs(N, PROTO);
    const nhRoutes = onNexthop(N, 1);
    const nh = { id: 1, via: '10.57.0.2', dev: 'veth0', onlink: true, protocol: PROTO };
    const named = { nexthops: [{ name: 'gw', via: '10.57.0.2', dev: 'veth0', onlink: true }], routes: routeSpecs(N).map((r) => ({ dst: r.dst, nexthop: 'gw' })) };
    const [floorCols, , notes] = peerColumns({
      n: N,
      max: FLOOR_MAX_ROUTES,
      floorRun: () => withNamespace((ns) => floorWrite('route-add', ns, N)),
    });
    const runs = await interleave(ROUNDS, [
      ...floorCols.map((c) => ({ ...c, name: 'C floor (routes with via: it has no nexthop objects)' })),
      ...oursCols('ours: routes.addMany, nhid', (io) =>
        withNamespace(
          async (ns, nl) => {
            await nl.nexthops.add(nh);
            return ours(async () => check(await nl.routes.addMany(nhRoutes), 'adds'));
          },
          { io },
        ),
      ),
      ...oursCols('ours: routes.addMany, via (W1)', (io) => withNamespace((ns, nl) => ours(async () => check(await nl.routes.addMany(viaRoutes), 'adds')), { io })),
      {
        name: 'ours: reconciler.apply, routes on a named nexthop',
        who: 'ours',
        run: () => withNamespace((ns, nl) => ours(async () => converged(await new Reconciler(nl, { protocol: PROTO }).apply(named)))),
      },
      {
        name: 'ip -batch, nhid',
        who: 'iproute2',
        run: () =>
          withNamespace((ns) => {
            ipBatch(ns, [`nexthop add id 1 via 10.57.0.2 dev veth0 onlink proto ${PROTO}`]);
            return ipBatch(ns, nhRoutes.map((r) => `route add ${r.dst} nhid 1 proto ${PROTO}`));
          }),
      },
      { name: 'ip -batch, via (W1)', who: 'iproute2', run: () => withNamespace((ns) => ipBatch(ns, viaRoutes.map((s) => routeLine(s)))) },
    ]);
    return report(`W9nh add ${N} routes on one nexthop (nhid) and with via`, ROUNDS, runs, {
      ...notes,
      go: 'no equivalent workload (vishvananda/netlink has nexthop objects on master only, in no release)',
    });
  },

  /** Issue 20's W10: N/100 nodes with 100 pod routes each; one node changes its IP. The ops
   * sent and the time, with the routes carrying the gateway and with a nexthop per node. */
  async W10nh() {
    const nodes = Math.max(2, Math.round(N / 100));
    const per = 100;
    const moved = nodes >> 1;
    const state = (useNexthops, round) => podState(nodes, per, useNexthops, moved, round);
    const cost = {};
    const col = (useNexthops) => ({
      name: useNexthops ? 'ours: reconciler, a nexthop per node' : 'ours: reconciler, routes with via',
      who: 'ours',
      run: (r) =>
        withNamespace(async (ns, nl) => {
          const rec = new Reconciler(nl, { protocol: PROTO });
          converged(await rec.apply(state(useNexthops, -1)));
          const next = state(useNexthops, r);
          return ours(async () => {
            const res = await rec.apply(next);
            converged(res);
            const want = useNexthops ? 1 : per;
            if (res.requests !== want) throw new Error(`one node's new IP cost ${res.requests} requests, expected ${want}: ${res.plan.text().slice(0, 300)}`);
            cost[useNexthops ? 'nexthopRequests' : 'routeRequests'] = res.requests;
          });
        }),
    });
    const lines = (useNexthops, round) => {
      const s = state(useNexthops, round);
      if (!useNexthops) return s.routes.map((x) => `route replace ${x.dst} via ${x.via} dev veth0 onlink proto ${PROTO}`);
      return s.nexthops.map((x, i) => `nexthop replace id ${i + 1} via ${x.via} dev veth0 onlink proto ${PROTO}`);
    };
    const ipCol = (useNexthops) => ({
      name: useNexthops ? 'ip nexthop replace (one line)' : `ip -batch: ${per} route replaces`,
      who: 'iproute2',
      run: (r) =>
        withNamespace((ns) => {
          const all = lines(useNexthops, -1);
          if (useNexthops) ipBatch(ns, [...all.map((l) => l.replace('replace', 'add')), ...podRoutes(nodes, per).map((x, k) => `route add ${x} nhid ${Math.floor(k / per) + 1} proto ${PROTO}`)]);
          else ipBatch(ns, all);
          const changed = lines(useNexthops, r).filter((l, k) => l !== all[k]);
          return ipBatch(ns, changed);
        }),
    });
    const runs = await interleave(ROUNDS, [col(false), col(true), ipCol(false), ipCol(true)]);
    const out = report(`W10nh one node's new IP among ${nodes} nodes x ${per} pod routes`, ROUNDS, runs, {
      floor: 'no equivalent workload',
      go: 'no equivalent workload (vishvananda/netlink has nexthop objects on master only, in no release)',
    });
    Object.assign(out[0], cost);
    console.log(`  modifying requests: routes with via ${cost.routeRequests}, a nexthop per node ${cost.nexthopRequests}`);
    return out;
  },
};

/** The desired state of a vxlan overlay of n remote nodes, node i (k = i + 2): pod subnet
 * 10.(128 + k>>8).(k&255).0/24 via its VTEP address (the subnet's .0) onlink on vxlan0; the
 * VTEP's neighbour entry (MAC 0a:58:00:00:KH:KL) and the FDB entry sending that MAC to the
 * node's underlay address 10.57.(k>>8).(k&255). `change` gives one node another MAC. */
function overlayState(n, change) {
  const routes = new Array(n);
  const neighbors = new Array(n);
  const fdb = new Array(n);
  for (let i = 0; i < n; i++) {
    const k = i + 2;
    const vtep = `10.${128 + (k >> 8)}.${k & 255}.0`;
    const mac = `${change && change.node === i ? hex2(change.macByte) : '0a'}:58:00:00:${hex2(k >> 8)}:${hex2(k)}`;
    routes[i] = { dst: `${vtep}/24`, via: vtep, dev: 'vxlan0', onlink: true };
    neighbors[i] = { dev: 'vxlan0', ip: vtep, lladdr: mac };
    fdb[i] = { dev: 'vxlan0', mac, dst: `10.57.${k >> 8}.${k & 255}` };
  }
  return { links: [VXLAN], routes, neighbors, fdb };
}

/** n routes (routeSpecs' destinations) on nexthop object `id`, with the owner's protocol. */
function onNexthop(n, id) {
  return routeSpecs(n).map((r) => ({ dst: r.dst, nhid: id, protocol: PROTO }));
}

/** The pod routes of `nodes` nodes, `per` each: node i, route j is 20+(i>>8).(i&255).j.0/24. */
function podRoutes(nodes, per) {
  const out = [];
  for (let i = 0; i < nodes; i++) for (let j = 0; j < per; j++) out.push(`${20 + (i >> 8)}.${i & 255}.${j}.0/24`);
  return out;
}

/** W10nh's desired state: node i at 10.58.(i>>8).(i&255) (onlink on veth0), its pod routes
 * through it, inline or on a nexthop named after the node; in round r >= 0 node `moved` has
 * the address 10.59.r.1 instead. */
function podState(nodes, per, useNexthops, moved, round) {
  const ipOf = (i) => (i === moved && round >= 0 ? `10.59.${round & 255}.1` : `10.58.${i >> 8}.${i & 255}`);
  const dsts = podRoutes(nodes, per);
  if (!useNexthops) return { routes: dsts.map((dst, k) => ({ dst, via: ipOf(Math.floor(k / per)), dev: 'veth0', onlink: true })) };
  const nexthops = Array.from({ length: nodes }, (_, i) => ({ name: `node-${i}`, via: ipOf(i), dev: 'veth0', onlink: true }));
  return { nexthops, routes: dsts.map((dst, k) => ({ dst, nexthop: `node-${Math.floor(k / per)}` })) };
}

/** The iproute2 way to check W5: `ip route show proto N`, its text parsed into keys and diffed. */
function ipRouteTextDiff(ns, family, specs) {
  const want = specs.map((s) => `${s.dst} ${s.via} ${s.dev}`);
  return timeChild('ip', ['-n', ns, ...family, 'route', 'show', 'proto', String(PROTO)], (out) => {
    const seen = new Set();
    for (const line of out.split('\n')) {
      if (!line) continue;
      const t = line.split(' ');
      seen.add(`${t[0]} ${t[t.indexOf('via') + 1]} ${t[t.indexOf('dev') + 1]}`);
    }
    let missing = 0;
    for (const k of want) if (!seen.has(k)) missing++;
    if (missing) throw new Error(`text diff found ${missing} missing`);
  });
}

/** The iproute2 way to check W8: three dumps as text, parsed into keys and diffed. */
function overlayTextDiff(ns, desired) {
  const c0 = childCpu();
  const t0 = now();
  const run = (cmd, argv) => execFileSync(cmd, ['-n', ns, ...argv], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seen = new Set();
  for (const line of run('ip', ['route', 'show', 'proto', String(PROTO)]).split('\n')) {
    const t = line.split(' ');
    if (line) seen.add(`r ${t[0]} ${t[t.indexOf('via') + 1]} ${t[t.indexOf('dev') + 1]}`);
  }
  for (const line of run('ip', ['neigh', 'show', 'dev', 'vxlan0']).split('\n')) {
    const t = line.split(' ');
    if (line) seen.add(`n ${t[0]} ${t[t.indexOf('lladdr') + 1]}`);
  }
  for (const line of run('bridge', ['fdb', 'show', 'dev', 'vxlan0']).split('\n')) {
    const t = line.split(' ');
    if (line && t.includes('dst')) seen.add(`f ${t[0]} ${t[t.indexOf('dst') + 1]}`);
  }
  let missing = 0;
  for (const r of desired.routes) if (!seen.has(`r ${r.dst} ${r.via} ${r.dev}`)) missing++;
  for (const e of desired.neighbors) if (!seen.has(`n ${e.ip} ${e.lladdr}`)) missing++;
  for (const e of desired.fdb) if (!seen.has(`f ${e.mac} ${e.dst}`)) missing++;
  if (missing) throw new Error(`text diff found ${missing} missing`);
  const wall = secs(t0);
  const c1 = childCpu();
  return { wall, user: c1.user - c0.user, system: c1.system - c0.system };
}

(async () => {
  if (process.getuid() !== 0) {
    console.error('bench: needs root (it creates network namespaces)');
    process.exit(1);
  }
  const cache = cacheDir(opt('cache', ''));
  floor = prepareFloor({ floorDir: opt('floor', ''), cache, disabled: args.includes('--no-floor') });
  go = prepareGo({ cache, disabled: args.includes('--no-go') });
  console.log(`netlink-agent benchmarks: N=${N}, W4/W8/W9 n=${N_SMALL}, ${ROUNDS} rounds after ${WARMUP} untimed, ${os.cpus().length} CPUs, kernel ${os.release()}, node ${process.version}`);
  console.log(`C floor: ${floor.available ? `${floor.bin} (${floor.writeOptions.join(' ')}; dumps ${floor.dumpOptions.join(' ')})` : `not run: ${floor.reason}`}`);
  console.log(`Go: ${go.available ? `${go.bin} (${go.version})` : `not run: ${go.reason}`}`);
  const results = [];
  for (const [name, fn] of Object.entries(workloads)) {
    if (ONLY.length && !ONLY.includes(name)) continue;
    results.push(...(await fn()));
  }
  console.log(`\nSummary (medians of ${ROUNDS}; ours/floor: time over the floor's in the same run)\n${summary(results)}`);
  const peers = {
    floor: { available: floor.available, reason: floor.reason, options: floor.available ? { write: floor.writeOptions, dump: floor.dumpOptions } : undefined },
    go: { available: go.available, reason: go.reason, version: go.version },
  };
  if (JSON_OUT) {
    const meta = { n: N, nSmall: N_SMALL, rounds: ROUNDS, warmup: WARMUP, kernel: os.release(), node: process.version, cpus: os.cpus().length, date: new Date().toISOString() };
    fs.writeFileSync(JSON_OUT, JSON.stringify({ ...meta, peers, results }, null, 2));
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
