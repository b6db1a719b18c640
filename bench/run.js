#!/usr/bin/env node
'use strict';
/**
 * netlink-agent against iproute2, side by side in one process run, in throwaway namespaces.
 *
 *   node bench/run.js                       all workloads, N = 100000 (W4: 10000)
 *   node bench/run.js --only W1,W5 --n 10000 --rounds 5 --json out.json
 *   node bench/run.js --n 300 --n-small 100 --rounds 1 --no-settle   a smoke run (test/bench)
 *
 * Each workload alternates ours and the iproute2 peer for several rounds, each round in a fresh
 * namespace with a veth underlay, and prints medians, the ratio (iproute2 time / ours) and our
 * process's user/system CPU (system time is the kernel's share: the floor we can approach).
 * The benchmark may run `ip`/`bridge` (the peer); the library never does.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { Netns, Rtnl, Reconciler } = require('..');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const N = Number(opt('n', 100000));
const N_SMALL = Number(opt('n-small', Math.min(N, 10000)));
const ROUNDS = Number(opt('rounds', 3));
const ONLY = opt('only', '').split(',').filter(Boolean);
const JSON_OUT = opt('json', '');
// --no-settle: do not wait for an idle machine between rounds (the test suite's smoke run).
const SETTLE = !args.includes('--no-settle');
const PROTO = 77;
let nsCounter = 0;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (s) => `${(s * 1000).toFixed(1)} ms`;
const now = () => process.hrtime.bigint();
const secs = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Children's CPU (ip, bridge) from /proc/self/stat: cutime, cstime in clock ticks. */
function childCpu() {
  const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  const hz = 100;
  return { user: Number(f[13]) / hz, system: Number(f[14]) / hz };
}

async function withNamespace(fn) {
  const name = `nla-bench-${process.pid}-${++nsCounter}`;
  Netns.create(name);
  const nl = await Rtnl.open({ netns: name, receiveBufferBytes: 32 << 20 });
  try {
    await nl.links.set('lo', { up: true });
    await nl.links.add({ kind: 'veth', name: 'veth0', peer: { name: 'veth1' }, up: true });
    await nl.links.set('veth1', { up: true });
    await nl.addresses.add({ dev: 'veth0', address: '10.57.0.1/24' });
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
 * several times slower (a known cliff, see the README), which would measure V8, not us. */
function routeSpecs(n, protocol) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const dst = `${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`;
    out[i] = protocol === undefined ? { dst, via: '10.57.0.2', dev: 'veth0', onlink: true } : { dst, via: '10.57.0.2', dev: 'veth0', onlink: true, protocol };
  }
  return out;
}

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

async function ours(fn) {
  const c0 = process.cpuUsage();
  const t0 = now();
  const extra = await fn();
  const wall = secs(t0);
  const c = process.cpuUsage(c0);
  return { wall, user: c.user / 1e6, system: c.system / 1e6, ...(extra || {}) };
}

const routeLine = (s, verb = 'add') => `route ${verb} ${s.dst} via ${s.via} dev ${s.dev} onlink`;

const workloads = {
  async W1() {
    const specs = routeSpecs(N);
    const owned = routeSpecs(N, PROTO);
    const rows = { 'ours: routes.addMany': [], 'ours: reconciler.apply': [], 'ip -batch': [] };
    for (let r = 0; r < ROUNDS; r++) {
      rows['ours: routes.addMany'].push(await withNamespace((ns, nl) => ours(async () => {
        const res = await nl.routes.addMany(owned);
        if (res.failed) throw new Error(`${res.failed} adds failed: ${res.errors.find(Boolean).message}`);
      })));
      rows['ours: reconciler.apply'].push(await withNamespace((ns, nl) => ours(async () => {
        const res = await new Reconciler(nl, { protocol: PROTO }).apply({ routes: specs });
        if (!res.converged) throw new Error(`reconcile failed: ${res.failed[0] && res.failed[0].error.message}`);
      })));
      rows['ip -batch'].push(await withNamespace((ns) => ipBatch(ns, specs.map((s) => routeLine(s)))));
    }
    return report(`W1 add ${N} routes`, rows, 'ip -batch');
  },

  async W2() {
    const specs = routeSpecs(N);
    const rows = { 'ours: routes.list (typed objects)': [], 'ip route show (text)': [], 'ip -j route show + JSON.parse': [] };
    await withNamespace(async (ns, nl) => {
      await nl.routes.addMany(routeSpecs(N, PROTO));
      for (let r = 0; r < ROUNDS; r++) {
        rows['ours: routes.list (typed objects)'].push(await ours(async () => {
          const got = await nl.routes.list({ table: 'main' });
          if (got.length < N) throw new Error(`listed ${got.length}`);
        }));
        rows['ip route show (text)'].push(timeChild('ip', ['-n', ns, 'route', 'show']));
        rows['ip -j route show + JSON.parse'].push(timeChild('ip', ['-n', ns, '-j', 'route', 'show'], (out) => JSON.parse(out)));
      }
    });
    return report(`W2 dump and parse ${N} routes`, rows, 'ip route show (text)');
  },

  async W3() {
    const specs = routeSpecs(N);
    const rows = { 'ours: reconciler.apply (delete all)': [], 'ours: routes.delMany': [], 'ip -batch': [] };
    for (let r = 0; r < ROUNDS; r++) {
      rows['ours: reconciler.apply (delete all)'].push(await withNamespace(async (ns, nl) => {
        const rec = new Reconciler(nl, { protocol: PROTO });
        await rec.apply({ routes: specs });
        return ours(async () => {
          const res = await rec.apply({ routes: [] });
          if (!res.converged || res.applied.length !== N) throw new Error(`deleted ${res.applied.length}`);
        });
      }));
      rows['ours: routes.delMany'].push(await withNamespace(async (ns, nl) => {
        await nl.routes.addMany(routeSpecs(N, PROTO));
        return ours(async () => {
          const res = await nl.routes.delMany(specs);
          if (res.failed) throw new Error(`${res.failed} deletes failed`);
        });
      }));
      rows['ip -batch'].push(await withNamespace(async (ns, nl) => {
        await nl.routes.addMany(specs);
        return ipBatch(ns, specs.map((s) => routeLine(s, 'del')));
      }));
    }
    return report(`W3 delete ${N} routes`, rows, 'ip -batch');
  },

  async W4() {
    const n = N_SMALL;
    const vxlan = async (nl) => nl.links.add({ kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, local: '10.57.0.1', dev: 'veth0', up: true });
    const dst = (i) => `10.${58 + (i >> 16)}.${(i >> 8) & 255}.${i & 255 || 1}`;
    const mac = (i) => `02:00:00:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    const fdb = Array.from({ length: n }, (_, i) => ({ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: dst(i) }));
    const neigh = Array.from({ length: n }, (_, i) => ({ dev: 'vxlan0', ip: `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, lladdr: mac(i) }));
    const rows = { 'ours: fdb.appendMany': [], 'bridge -batch fdb append': [], 'ours: neighbors.replaceMany': [], 'ip -batch neigh replace': [] };
    for (let r = 0; r < ROUNDS; r++) {
      rows['ours: fdb.appendMany'].push(await withNamespace(async (ns, nl) => {
        await vxlan(nl);
        return ours(async () => {
          const res = await nl.fdb.appendMany(fdb);
          if (res.failed) throw new Error(`${res.failed} fdb appends failed: ${res.errors.find(Boolean).message}`);
        });
      }));
      rows['bridge -batch fdb append'].push(await withNamespace(async (ns, nl) => {
        await vxlan(nl);
        return ipBatch(ns, fdb.map((e) => `fdb append ${e.mac} dev vxlan0 dst ${e.dst} self permanent`), 'bridge');
      }));
      rows['ours: neighbors.replaceMany'].push(await withNamespace(async (ns, nl) => {
        await vxlan(nl);
        return ours(async () => {
          const res = await nl.neighbors.replaceMany(neigh);
          if (res.failed) throw new Error(`${res.failed} neighbour adds failed`);
        });
      }));
      rows['ip -batch neigh replace'].push(await withNamespace(async (ns, nl) => {
        await vxlan(nl);
        return ipBatch(ns, neigh.map((e) => `neigh replace ${e.ip} lladdr ${e.lladdr} dev vxlan0 nud permanent`));
      }));
    }
    return [
      ...report(`W4 ${n} FDB entries on vxlan`, pick(rows, 'ours: fdb.appendMany', 'bridge -batch fdb append'), 'bridge -batch fdb append'),
      ...report(`W4 ${n} permanent neighbours`, pick(rows, 'ours: neighbors.replaceMany', 'ip -batch neigh replace'), 'ip -batch neigh replace'),
    ];
  },

  async W5() {
    const rows = await noopReconcile(routeSpecs(N), [], 'ours: no-op reconcile', 'ip route show + diff of its text');
    return report(`W5 no-op reconcile of ${N} routes`, rows, 'ip route show + diff of its text');
  },

  /** Not one of the issue's workloads: W5 for IPv6 (dual-stack clusters program both). */
  async W5v6() {
    // Non-zero groups, so the text is canonical and the peer's text diff can compare it as is.
    const specs = Array.from({ length: N }, (_, i) => ({ dst: `fd10:${((i >> 12) + 1).toString(16)}:${((i & 0xfff) + 1).toString(16)}::/64`, via: 'fd00::2', dev: 'veth0' }));
    const rows = await noopReconcile(specs, ['-6'], 'ours: no-op reconcile (IPv6)', 'ip -6 route show + diff of its text', async (nl) => {
      await nl.addresses.add({ dev: 'veth0', address: 'fd00::1/64', nodad: true });
    });
    return report(`W5v6 no-op reconcile of ${N} IPv6 routes`, rows, 'ip -6 route show + diff of its text');
  },

  async W6() {
    const specs = routeSpecs(N);
    const rows = { 'ours: reconcile one changed route': [] };
    let requests = -1;
    await withNamespace(async (ns, nl) => {
      const rec = new Reconciler(nl, { protocol: PROTO });
      await rec.apply({ routes: specs });
      for (let r = 0; r < ROUNDS; r++) {
        const changed = specs.slice();
        changed[N >> 1] = { ...changed[N >> 1], mtu: 1400 - r };
        rows['ours: reconcile one changed route'].push(await ours(async () => {
          const res = await rec.apply({ routes: changed });
          requests = res.requests;
          if (res.requests !== 1) throw new Error(`one change cost ${res.requests} requests`);
        }));
      }
    });
    const out = report(`W6 one route changed among ${N}`, rows);
    out[0].modifyingRequests = requests;
    console.log(`  modifying requests: ${requests}`);
    return out;
  },

  async W7() {
    const script = path.join(__dirname, 'rss-child.js');
    const r = spawnSync(process.execPath, [script, String(N)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`W7 child failed: ${r.stderr}`);
    const { maxRssMB } = JSON.parse(r.stdout.trim().split('\n').pop());
    console.log(`\nW7 peak RSS of a reconciler holding ${N} desired routes (applied): ${maxRssMB.toFixed(1)} MB`);
    return [{ workload: `W7 peak RSS with ${N} desired routes`, maxRssMB }];
  },
};

/**
 * W5's measurement: specs applied once, then rounds of a no-op apply (which must send nothing)
 * against the peer, `ip [family] route show` whose text is parsed into keys and diffed.
 */
async function noopReconcile(specs, ipFamily, oursName, peerName, setup) {
  const rows = { [oursName]: [], [peerName]: [] };
  await withNamespace(async (ns, nl) => {
    if (setup) await setup(nl);
    const rec = new Reconciler(nl, { protocol: PROTO });
    const desired = { routes: specs };
    const first = await rec.apply(desired);
    if (!first.converged) throw new Error(`apply failed: ${first.failed[0] && first.failed[0].error.message}`);
    const want = specs.map((s) => `${s.dst} ${s.via} ${s.dev}`);
    for (let r = 0; r < ROUNDS; r++) {
      rows[oursName].push(await ours(async () => {
        const res = await rec.apply(desired);
        if (res.requests !== 0) throw new Error(`no-op sent ${res.requests} requests`);
      }));
      rows[peerName].push(timeChild('ip', ['-n', ns, ...ipFamily, 'route', 'show', 'proto', String(PROTO)], (out) => {
        const seen = new Set();
        for (const line of out.split('\n')) {
          if (!line) continue;
          const t = line.split(' ');
          seen.add(`${t[0]} ${t[t.indexOf('via') + 1]} ${t[t.indexOf('dev') + 1]}`);
        }
        let missing = 0;
        for (const k of want) if (!seen.has(k)) missing++;
        if (missing) throw new Error(`text diff found ${missing} missing`);
      }));
    }
  });
  return rows;
}

function pick(rows, ...keys) {
  return Object.fromEntries(keys.map((k) => [k, rows[k]]));
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

function report(title, rows, peerKey) {
  console.log(`\n${title} (median of ${ROUNDS})`);
  const peer = peerKey ? median(rows[peerKey].map((x) => x.wall)) : undefined;
  const out = [];
  for (const [name, runs] of Object.entries(rows)) {
    const wall = median(runs.map((x) => x.wall));
    const user = median(runs.map((x) => x.user));
    const system = median(runs.map((x) => x.system));
    const ratio = peer && name !== peerKey ? peer / wall : undefined;
    console.log(`  ${name.padEnd(38)} ${ms(wall).padStart(10)}   user ${ms(user).padStart(9)}  sys ${ms(system).padStart(9)}${ratio ? `   ${ratio.toFixed(2)}x vs ${peerKey}` : ''}`);
    out.push({ workload: title, name, wallSeconds: wall, userSeconds: user, systemSeconds: system, ratioVsPeer: ratio });
  }
  return out;
}

(async () => {
  if (process.getuid() !== 0) {
    console.error('bench: needs root (it creates network namespaces)');
    process.exit(1);
  }
  console.log(`netlink-agent benchmarks: N=${N}, W4 n=${N_SMALL}, ${ROUNDS} rounds, ${os.cpus().length} CPUs, kernel ${os.release()}, node ${process.version}`);
  const results = [];
  for (const [name, fn] of Object.entries(workloads)) {
    if (ONLY.length && !ONLY.includes(name)) continue;
    results.push(...(await fn()));
  }
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ n: N, rounds: ROUNDS, kernel: os.release(), results }, null, 2));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
