#!/usr/bin/env node
'use strict';
// Membership at scale (issue 24; a benchmark, not a test). A real etcd on loopback, N synthetic
// node records written here (each with its reservation, as an agent writes them), A real agents
// (EtcdMembership -> MembershipFeed -> OverlayAgent, vxlan) each in a process of its own and in
// a host namespace this benchmark creates and deletes, then churn (joins, leaves, node IP
// changes) at a steady rate. Per agent: event-to-kernel latency (the write, to the apply that
// carries it in that agent's namespace) p50/p99, and of that the agent's own share (from the node
// list to the kernel) and the event loop's delay p99, kernel ops and netlink reads per change, CPU
// and RSS; for etcd (its own /metrics): requests by gRPC method and bytes sent per change. Each read
// design in turn ('incremental', then 'full': a full re-read per event), side by side.
//
//   sudo node bench/membership-scale.js [--seconds 60] [--nodes 5000] [--agents 5] [--rate 50]
//                                       [--reads incremental,full] [--json]
//   node bench/membership-scale.js --screen [--nodes 10000] [--runs 50]   (screening alone, no etcd, no root)
//
// Needs root (namespaces) and etcd (/usr/bin/etcd). Timing on a shared machine is noisy: the
// report says what ran, with the machine's load average.
const os = require('node:os');
const http = require('node:http');
const { fork } = require('node:child_process');

const argv = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};

const UNDERLAY = '10.57.4';
const PREFIX = '/nla-bench-scale/';

/** The i-th distinct host address in 10.<base>.0.0/16 (250 a /24: no .0, no .255). */
function hostIP(base, i) {
  return `10.${base}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** The record of synthetic node i (each with a distinct underlay IP, pod subnet and MAC). */
function synthetic(i, ipBase = 200) {
  return { name: `s${i}`, nodeIP: hostIP(ipBase, i), podCIDR: `10.${100 + (i >> 8)}.${i & 255}.0/24`, mode: 'vxlan' };
}

/** The agents' node flags: NLA_BENCH_PROFILE=<dir> CPU-profiles them; NLA_BENCH_NODE_FLAGS adds
 * V8/node flags (e.g. "--max-semi-space-size=2", to measure what a bound young generation does). */
function childExecArgv() {
  const out = process.env.NLA_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.NLA_BENCH_PROFILE}`] : [];
  return [...out, ...(process.env.NLA_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
}

function percentile(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function scrape(url) {
  return new Promise((resolve, reject) => {
    http
      .get(`${url}/metrics`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          const byMethod = {};
          let sentBytes = 0;
          for (const line of body.split('\n')) {
            let m = /^grpc_server_handled_total\{.*grpc_method="([^"]+)".*\} ([0-9.e+]+)$/.exec(line);
            if (m) byMethod[m[1]] = (byMethod[m[1]] ?? 0) + Number(m[2]);
            m = /^etcd_network_client_grpc_sent_bytes_total ([0-9.e+]+)$/.exec(line);
            if (m) sentBytes = Number(m[1]);
          }
          resolve({ byMethod, sentBytes });
        });
      })
      .on('error', reject);
  });
}

/** Writes records with their reservations, 40 per transaction (etcd allows 128 ops). */
async function writeRecords(raw, leaseId, records) {
  for (let i = 0; i < records.length; i += 40) {
    const ops = [];
    for (const r of records.slice(i, i + 40)) {
      ops.push(raw.put(`${PREFIX}alloc/subnet/${r.podCIDR.replace('/', '-')}`).value(JSON.stringify({ name: r.name, podCIDR: r.podCIDR })).lease(leaseId));
      ops.push(raw.put(`${PREFIX}alloc/owner/${r.name}`).value(r.podCIDR).lease(leaseId));
      ops.push(raw.put(`${PREFIX}nodes/${r.name}`).value(JSON.stringify(r)).lease(leaseId));
    }
    await raw.if(`${PREFIX}nodes/${records[i].name}`, 'Version', '>', -1).then(...ops).commit();
  }
}

async function main() {
  const seconds = Number(flag('seconds', 60));
  const nodes = Number(flag('nodes', 5000));
  const agents = Number(flag('agents', 5));
  const rate = Number(flag('rate', 50));
  const designs = String(flag('reads', 'incremental,full')).split(',');
  if (process.getuid?.() !== 0) {
    console.log('membership-scale: needs root (network namespaces); skipped');
    return;
  }
  const { EtcdServer, etcdInstalled } = require('../examples/lib/etcd-server');
  if (!etcdInstalled()) {
    console.log('membership-scale: etcd is not installed (apt-get install etcd-server); skipped');
    return;
  }
  const { Etcd3 } = require('etcd3');
  const { Sandbox } = require('../examples/lib/sandbox');
  const hosts = Array.from({ length: agents }, (_, k) => ({ name: `agent${k + 1}`, nodeIP: `${UNDERLAY}.${20 + k}`, podCIDR: `10.99.${k}.0/24`, podIP: `10.99.${k}.10` }));
  const server = await EtcdServer.start({ name: 'nla-bench' });
  const raw = new Etcd3({ hosts: server.url });
  const sandbox = new Sandbox({ prefix: `nla-msb${process.pid}`, hosts });
  const children = [];
  const results = [];
  const lease = raw.lease(3600);
  try {
    await sandbox.build();
    const leaseId = await lease.grant();
    const t0 = Date.now();
    const present = Array.from({ length: nodes }, (_, i) => synthetic(i));
    await writeRecords(raw, leaseId, present);
    console.log(`membership-scale: ${nodes} records written in ${Date.now() - t0} ms; ${agents} agents; churn ${rate}/s for ${seconds} s; designs ${designs.join(', ')}; ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    let joined = 0;
    let moved = 0;
    for (const reads of designs) {
      // Agents: one process each, started and converged before the churn.
      const started = Date.now();
      const ready = [];
      for (const h of hosts) {
        const c = fork(__filename, ['--child', JSON.stringify({ ns: sandbox.hostNs(h.name), host: h, endpoints: server.url, reads, expect: nodes + agents })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: childExecArgv() });
        children.push(c);
        ready.push(new Promise((resolve, reject) => {
          c.on('message', (m) => m.type === 'ready' && resolve(m));
          c.on('exit', (code) => reject(new Error(`agent ${h.name} exited (${code}) before it was ready`)));
        }));
      }
      const readyInfo = await Promise.all(ready);
      const converge = Date.now() - started;
      const live = children.slice(-agents);
      for (const c of live) c.send({ type: 'start' });
      const m0 = await scrape(server.url);
      // Churn: a change every 1/rate s: a join, a leave, or a node IP change, in turn.
      let changes = 0;
      const tEnd = Date.now() + seconds * 1000;
      const interval = 1000 / rate;
      let next = Date.now();
      while (Date.now() < tEnd) {
        const kind = ['join', 'leave', 'move'][changes % 3];
        let match;
        let listed;
        let write;
        if (kind === 'join') {
          const r = { ...synthetic(joined, 210), name: `j${joined}`, podCIDR: `10.${150 + (joined >> 8)}.${joined & 255}.0/24` };
          joined++;
          present.push(r);
          match = `route ${r.podCIDR}`;
          listed = { has: r.podCIDR };
          write = () => writeRecords(raw, leaseId, [r]);
        } else if (kind === 'leave') {
          const at = Math.floor(Math.random() * present.length);
          const [r] = present.splice(at, 1);
          match = `route ${r.podCIDR}`;
          listed = { gone: r.podCIDR };
          write = () => raw.if(`${PREFIX}nodes/${r.name}`, 'Version', '>', -1).then(raw.delete().key(`${PREFIX}nodes/${r.name}`), raw.delete().key(`${PREFIX}alloc/owner/${r.name}`), raw.delete().key(`${PREFIX}alloc/subnet/${r.podCIDR.replace('/', '-')}`)).commit();
        } else {
          const at = Math.floor(Math.random() * present.length);
          const r = { ...present[at], nodeIP: hostIP(220, moved) };
          moved++;
          present[at] = r;
          match = `dst ${r.nodeIP}`;
          listed = { has: r.nodeIP };
          write = () => raw.put(`${PREFIX}nodes/${r.name}`).value(JSON.stringify(r)).lease(leaseId).exec();
        }
        const t = Date.now();
        for (const c of live) c.send({ type: 'expect', match, listed, t });
        await write();
        changes++;
        next += interval;
        const wait = next - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const wrote = Date.now();
      await new Promise((r) => setTimeout(r, 3000)); // stragglers
      const m1 = await scrape(server.url);
      const stats = await Promise.all(live.map((c) => new Promise((resolve) => {
        c.once('message', resolve);
        c.send({ type: 'report' });
      })));
      await Promise.all(live.map((c) => new Promise((resolve) => {
        c.once('exit', resolve);
        c.send({ type: 'stop' });
      })));
      const rateReal = changes / ((wrote - (tEnd - seconds * 1000)) / 1000);
      const etcd = {};
      for (const [k, v] of Object.entries(m1.byMethod)) {
        const d = v - (m0.byMethod[k] ?? 0);
        if (d) etcd[k] = d / changes;
      }
      results.push({ reads, nodes, agents, changes, rate: rateReal, converge, firstLists: readyInfo.map((r) => r.size), etcdPerChange: etcd, etcdBytesPerChange: (m1.sentBytes - m0.sentBytes) / changes, agentsStats: stats });
    }
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await sandbox.destroy();
    await lease.revoke().catch(() => undefined);
    raw.close();
    await server.stop();
  }
  report(results);
  process.exit(process.exitCode ?? 0); // the etcd client's timers would keep the process alive
}

function report(results) {
  if (argv.includes('--json')) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  for (const r of results) {
    console.log(`\nreads ${r.reads}: ${r.nodes} records, ${r.agents} agents, ${r.changes} changes at ${r.rate.toFixed(1)}/s (agents converged on start in ${r.converge} ms)`);
    const e = Object.entries(r.etcdPerChange).sort().map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
    console.log(`  etcd per change (all agents and the writer): ${e}; bytes sent ${(r.etcdBytesPerChange / 1024).toFixed(1)} KiB`);
    const memoryLines = [];
    console.log('  agent     list p50/p99 ms   kernel p50/p99 ms  list->kernel  loop delay p99  seen        ops/chg  reads/chg  dumpobj/chg  cpu %  rss MB');
    for (const s of r.agentsStats) {
      const lat = s.latencies;
      const ll = s.listLatencies;
      const mb = (x) => (x / 1048576).toFixed(0);
      const m = s.memory;
      const sp = Object.entries(m.spaces).filter(([, v]) => v.size > 1048576).map(([k, v]) => `${k.replace('_space', '')} ${mb(v.used)}/${mb(v.size)}`).join(', ');
      memoryLines.push(`  ${s.name}: peak rss ${Object.entries(m.phases).map(([k, v]) => `${v.peak.toFixed(0)} MB after the ${k} (heap ${v.heapUsed.toFixed(0)}/${v.heapTotal.toFixed(0)}, external ${v.external.toFixed(0)})`).join(', ')}; at the end rss ${mb(m.rss)} MB, heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB (used/size: ${sp}), external ${mb(m.external)} MB (array buffers ${mb(m.arrayBuffers)})`);
      console.log(`  ${s.name.padEnd(8)} ${`${percentile(ll, 50).toFixed(0)}/${percentile(ll, 99).toFixed(0)}`.padStart(15)} ${`${percentile(lat, 50).toFixed(0)}/${percentile(lat, 99).toFixed(0)}`.padStart(19)} ${`${percentile(s.listToKernel, 50).toFixed(0)}/${percentile(s.listToKernel, 99).toFixed(0)}`.padStart(13)} ${`${s.loopDelayP99.toFixed(0)} ms`.padStart(15)} ${String(lat.length).padStart(5)}/${String(r.changes).padEnd(5)} ${(s.ops / r.changes).toFixed(2).padStart(6)} ${(s.reads / r.changes).toFixed(2).padStart(9)} ${(s.dumpObjects / r.changes).toFixed(0).padStart(11)} ${s.cpuPercent.toFixed(0).padStart(6)} ${s.maxRssMB.toFixed(0).padStart(7)}`);
    }
    for (const line of memoryLines) console.log(line);
  }
}

// ---------------------------------------------------------------------------- one agent

/** NLA_BENCH_ALLOC=<dir>: what the agent allocates during the churn, garbage included (V8's
 * sampling heap profiler; open the .heapprofile in Chrome DevTools). */
const allocation = {
  session: undefined,
  post(method, params) {
    return new Promise((resolve, reject) => this.session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  },
  async start() {
    const { Session } = require('node:inspector');
    this.session = new Session();
    this.session.connect();
    await this.post('HeapProfiler.startSampling', { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  },
  async stop(file) {
    const { profile } = await this.post('HeapProfiler.stopSampling');
    require('node:fs').writeFileSync(file, JSON.stringify(profile));
    console.error(`allocation profile ${file}`);
  },
};

async function child({ ns, host, endpoints, reads, expect }) {
  // NLA_BENCH_V8_FLAGS: V8 flags set from inside the agent at its start (v8.setFlagsFromString),
  // as a CLI command can set them for its own process (unlike node's command-line flags).
  if (process.env.NLA_BENCH_V8_FLAGS) require('node:v8').setFlagsFromString(process.env.NLA_BENCH_V8_FLAGS);
  const { Rtnl, OverlayAgent } = require('..');
  const { EtcdMembership, MembershipFeed } = require('../dist/membership');
  const nl = await Rtnl.open({ netns: ns, receiveBufferBytes: 32 << 20 });
  const agent = new OverlayAgent({ nl, mode: 'vxlan', self: host.name, vni: 100, port: 4789, watch: { debounceMs: 20 } });
  // NLA_BENCH_DEBOUNCE=<ms>: the membership's debounce window (default EtcdMembership's 100 ms).
  const m = new EtcdMembership({ endpoints, prefix: PREFIX, reads, self: { name: host.name, nodeIP: host.nodeIP, podCIDR: host.podCIDR, mode: 'vxlan' }, protectedPrefixes: [`${host.nodeIP}/24`], ttlSeconds: 15, ...(process.env.NLA_BENCH_DEBOUNCE ? { debounceMs: Number(process.env.NLA_BENCH_DEBOUNCE) } : {}) });
  const pending = [];
  const latencies = [];
  // From the node list to the kernel (the agent's own share of the write-to-kernel time), and
  // how late the event loop ran its timers (what else held the agent up: garbage collection,
  // another list's desired state).
  const listToKernel = [];
  const loopDelay = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 5 });
  const listLatencies = [];
  const unlisted = [];
  m.on('nodes', (list) => {
    if (!counting || !unlisted.length) return;
    const now = Date.now();
    // Only the values waited for are looked up (a Set of the whole list per list was 60 MB of
    // the agent's allocations in 20 s, not the agent's own).
    const wanted = new Set(unlisted.map((u) => u.listed.has ?? u.listed.gone));
    const seen = new Set();
    for (const n of list) {
      if (wanted.has(n.podCIDR)) seen.add(n.podCIDR);
      if (wanted.has(n.nodeIP)) seen.add(n.nodeIP);
    }
    for (let i = unlisted.length - 1; i >= 0; i--) {
      const u = unlisted[i];
      if (u.listed.has !== undefined ? seen.has(u.listed.has) : !seen.has(u.listed.gone)) {
        listLatencies.push(now - u.t);
        u.change.listedAt = now;
        unlisted.splice(i, 1);
      }
    }
  });
  let counting = false;
  let ops = 0;
  let maxRss = 0;
  let cpu0;
  let t0;
  let reads0 = 0;
  let dump0 = 0;
  const readsNow = () => {
    let n = 0;
    const t = nl.socket.sentByType;
    for (let type = 0; type < t.length; type++) if (type < 16 || (type & 3) === 2) n += t[type];
    return n;
  };
  agent.on('applied', (res) => {
    if (!counting) return;
    ops += res.applied.length;
    if (!pending.length) return;
    const text = res.plan.text();
    const now = Date.now();
    for (let i = pending.length - 1; i >= 0; i--) {
      if (text.includes(pending[i].match)) {
        latencies.push(now - pending[i].t);
        if (pending[i].listedAt !== undefined) listToKernel.push(now - pending[i].listedAt);
        pending.splice(i, 1);
      }
    }
  });
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, process.memoryUsage().rss)), 200);
  // Where the memory is at the end of the churn: V8's heap by space, and what lives outside it.
  const memoryNow = () => {
    const u = process.memoryUsage();
    const spaces = Object.fromEntries(require('node:v8').getHeapSpaceStatistics().map((x) => [x.space_name, { size: x.space_size, used: x.space_used_size }]));
    return { rss: u.rss, heapTotal: u.heapTotal, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers, spaces };
  };
  const phases = {}; // the peak RSS up to each phase: where the peak is made
  const phase = (name) => {
    const u = process.memoryUsage();
    maxRss = Math.max(maxRss, u.rss);
    phases[name] = { peak: maxRss / 1048576, heapUsed: u.heapUsed / 1048576, heapTotal: u.heapTotal / 1048576, external: u.external / 1048576 };
  };
  await m.start();
  phase('read');
  const feed = new MembershipFeed(m, agent);
  await new Promise((resolve) => {
    const check = (list) => list.length >= expect && resolve();
    m.on('skipped', (sk) => sk.length && console.error(`${host.name}: ${sk.length} records skipped, e.g. ${sk[0].source}: ${sk[0].reason}`));
    feed.on('fed', check);
  });
  phase('converged');
  process.on('message', async (msg) => {
    if (msg.type === 'start') {
      if (process.env.NLA_BENCH_ALLOC) await allocation.start();
      counting = true;
      loopDelay.enable();
      cpu0 = process.cpuUsage();
      t0 = Date.now();
      reads0 = readsNow();
      dump0 = nl.socket.dumpObjects;
    } else if (msg.type === 'expect') {
      const change = { match: `${msg.match}`, t: msg.t, listedAt: undefined };
      pending.push(change);
      unlisted.push({ listed: msg.listed, t: msg.t, change });
    }
    else if (msg.type === 'report') {
      const cpu = process.cpuUsage(cpu0);
      loopDelay.disable();
      process.send({ name: host.name, latencies, listLatencies, listToKernel, loopDelayP99: loopDelay.percentile(99) / 1e6, ops, reads: readsNow() - reads0, dumpObjects: nl.socket.dumpObjects - dump0, cpuPercent: ((cpu.user + cpu.system) / 1000 / (Date.now() - t0)) * 100, maxRssMB: maxRss / 1048576, missed: pending.length, memory: { ...memoryNow(), phases } });
      if (process.env.NLA_BENCH_ALLOC) await allocation.stop(require('node:path').join(process.env.NLA_BENCH_ALLOC, `${host.name}-${reads}-${process.pid}.heapprofile`));
      // NLA_BENCH_HEAP=<dir>: a heap snapshot of the agent after the churn (after the numbers, which it would skew).
      if (process.env.NLA_BENCH_HEAP) console.error(`${host.name}: heap snapshot ${require('node:v8').writeHeapSnapshot(require('node:path').join(process.env.NLA_BENCH_HEAP, `${host.name}-${reads}-${process.pid}.heapsnapshot`))}`);
    } else if (msg.type === 'stop') {
      clearInterval(sampler);
      await feed.stop();
      await agent.stop();
      await m.stop({ leave: true });
      nl.close();
      process.exit(0);
    }
  });
  process.send({ type: 'ready', size: m.nodes().length });
}

if (argv[0] === '--screen') {
  screenBench(Number(flag('nodes', 10000)), Number(flag('runs', 50)));
} else if (argv[0] === '--child') {
  child(JSON.parse(argv[1])).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

// ---------------------------------------------------------------------------- screening alone

/**
 * Screening N records as EtcdMembership does: from a full read (every record parsed and
 * validated: reads 'full'); from the incremental copy with screenNodes after one record changed
 * (cached validation, indexed reservations: reads 'incremental' before the screener followed the
 * copy), as the median of 9 changes; and as reads 'incremental' screens now (MirrorScreening:
 * the event applied to the copy, the screener fed the changed keys, the result reported through
 * ScreenedChanges), per kind of change, median and p90 of `runs` each: a node IP change, a join
 * (reservation and record in one transaction), a leave (the same keys deleted).
 */
function screenBench(n, runs) {
  const { screenNodes } = require('../dist/membership');
  const { ScreenCache } = require('../dist/membership/types');
  const { MembershipMirror, candidateOf, orderNodeKvs } = require('../dist/membership/mirror');
  const { ReservationIndex } = require('../dist/membership/admit');
  const { parseAllocKeys } = require('../dist/membership/allocate');
  const nodesPrefix = `${PREFIX}nodes/`;
  let rev = 1;
  const kv = (key, value, create = rev) => ({ key: Buffer.from(key), value: Buffer.from(value), create_revision: String(create), mod_revision: String(rev), version: '1', lease: '7' });
  const nodes = [];
  const alloc = [];
  for (let i = 0; i < n; i++) {
    const r = synthetic(i);
    rev++;
    alloc.push(kv(`${PREFIX}alloc/subnet/${r.podCIDR.replace('/', '-')}`, JSON.stringify({ name: r.name, podCIDR: r.podCIDR })), kv(`${PREFIX}alloc/owner/${r.name}`, r.podCIDR));
    rev++;
    nodes.push(kv(`${nodesPrefix}${r.name}`, JSON.stringify(r)));
  }
  alloc.sort((a, b) => Buffer.compare(a.key, b.key));
  const header = { revision: String(rev), cluster_id: '1', member_id: '1', raft_term: '1' };
  const self = { name: 'self', nodeIP: '10.57.4.20', podCIDR: '10.99.0.0/24', mode: 'vxlan' };
  const ms = (f) => {
    const t = process.hrtime.bigint();
    const out = f();
    return [Number(process.hrtime.bigint() - t) / 1e6, out];
  };
  const screen = (entries, snapshot, index, cache) => {
    const cands = [];
    const leases = new Map();
    for (const e of entries) {
      cands.push(e.candidate);
      leases.set(e.candidate, String(e.kv ? e.kv.lease : e.lease)); // a full read's entry, or the copy's
    }
    return screenNodes(self, cands, { ...(cache ? { cache } : {}), admit: (rec, c) => (cache ? index.admitCached(c, rec, leases.get(c)) : index.admit(rec, leases.get(c))) });
  };
  const full = [];
  for (let k = 0; k < 3; k++) {
    full.push(ms(() => {
      const entries = orderNodeKvs(nodes).map((x) => ({ kv: x, candidate: candidateOf(x, nodesPrefix) }));
      const snapshot = parseAllocKeys(alloc, [], PREFIX, header);
      return screen(entries, snapshot, new ReservationIndex(snapshot), undefined);
    })[0]);
  }
  const m = new MembershipMirror(PREFIX, `${PREFIX}lock/self`);
  m.reset({ nodes, nodesTooBig: [], alloc, allocTooBig: [], lock: undefined, header });
  const cache = new ScreenCache();
  let index = new ReservationIndex(m.allocSnapshot());
  screen(m.nodeEntries(), undefined, index, cache); // the first screening validates everything once
  const one = [];
  let accepted = 0;
  for (let k = 0; k < 9; k++) {
    rev++;
    const r = { ...synthetic(k * 7), nodeIP: hostIP(230, k) };
    const [t, res] = ms(() => {
      m.apply({ type: 'put', kv: kv(`${nodesPrefix}${r.name}`, JSON.stringify(r), nodes[k * 7].create_revision) });
      const snap = m.allocSnapshot();
      return screen(m.nodeEntries(), snap, index, cache);
    });
    accepted = res.nodes.length;
    one.push(t);
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
  console.log(`screening ${n} records (node ${process.version}, load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs): full read ${med(full).toFixed(0)} ms (every record validated); screenNodes over the copy, one record changed: ${med(one).toFixed(1)} ms (median of 9; ${accepted} nodes)`);
  followedBench(n, runs, { nodes, alloc, header, self, kv, nextRev: () => ++rev, nodesPrefix, med, p90, ms });
}

/** reads 'incremental' as wired now: the copy followed by MirrorScreening (see screenBench). */
function followedBench(n, runs, { nodes, alloc, header, self, kv, nextRev, nodesPrefix, med, p90, ms }) {
  const { ScreenCache, ScreenedChanges } = require('../dist/membership/types');
  const { MembershipMirror } = require('../dist/membership/mirror');
  const { MirrorScreening } = require('../dist/membership/mirror-screen');
  const m = new MembershipMirror(PREFIX, `${PREFIX}lock/self`);
  m.reset({ nodes, nodesTooBig: [], alloc, allocTooBig: [], lock: undefined, header });
  const screening = new MirrorScreening(nodesPrefix);
  const options = { cache: new ScreenCache() };
  let listed = 0;
  const changes = new ScreenedChanges({ warning() {}, skipped() {}, nodes: (list) => (listed = list.length) });
  let published;
  // What EtcdMembership.screenMirror does after the events were applied.
  const screen = () => {
    const r = screening.screen(m, self, options);
    const d = r.result.delta;
    changes.publish(r.result, r.continues === published ? d.added.length + d.removed.length + d.changed.length > 0 : undefined);
    published = r.continues;
    return r.result;
  };
  const [start] = ms(screen);
  const byCreate = nodes.map((x) => x.create_revision);
  const times = { 'node IP change': [], join: [], leave: [] };
  const joined = [];
  for (let k = 0; k < runs; k++) {
    const i = (k * 37) % n;
    const moved = { ...synthetic(i), nodeIP: hostIP(240, k) };
    times['node IP change'].push(ms(() => {
      m.apply({ type: 'put', kv: kv(`${nodesPrefix}${moved.name}`, JSON.stringify(moved), byCreate[i]) });
      return screen();
    })[0]);
    const j = { ...synthetic(k, 210), name: `j${k}`, podCIDR: `10.${150 + (k >> 8)}.${k & 255}.0/24` };
    const rev = nextRev(); // one transaction: three events of one revision
    const [tj, rj] = ms(() => {
      m.apply({ type: 'put', kv: kv(`${PREFIX}alloc/subnet/${j.podCIDR.replace('/', '-')}`, JSON.stringify({ name: j.name, podCIDR: j.podCIDR }), rev) });
      m.apply({ type: 'put', kv: kv(`${PREFIX}alloc/owner/${j.name}`, j.podCIDR, rev) });
      m.apply({ type: 'put', kv: kv(`${nodesPrefix}${j.name}`, JSON.stringify(j), rev) });
      return screen();
    });
    if (!rj.delta.added.includes(j.name)) throw new Error(`join of ${j.name} not in the list: ${JSON.stringify(rj.skipped.slice(0, 2))}`);
    times.join.push(tj);
    joined.push(j);
  }
  for (const j of joined) {
    nextRev();
    const [tl, rl] = ms(() => {
      for (const key of [`${nodesPrefix}${j.name}`, `${PREFIX}alloc/owner/${j.name}`, `${PREFIX}alloc/subnet/${j.podCIDR.replace('/', '-')}`]) m.apply({ type: 'delete', kv: kv(key, '') });
      return screen();
    });
    if (!rl.delta.removed.includes(j.name)) throw new Error(`leave of ${j.name} not in the list`);
    times.leave.push(tl);
  }
  const f = (x) => x.toFixed(3);
  console.log(`reads 'incremental' now (MirrorScreening follows the copy): first screening ${start.toFixed(0)} ms (${listed} nodes), then per changed record (median / p90 of ${runs}; ${screening.starts} start, ${screening.follows} followed):`);
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(15)} ${f(med(v))} / ${f(p90(v))} ms`);
}
