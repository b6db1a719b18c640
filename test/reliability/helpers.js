'use strict';
// Shared pieces of the reliability tests: a host underlay, overlay desired states, child
// processes that use the library from outside the test's process, and state read-back.
const path = require('node:path');
const { pollUntil } = require('../support/poll');
const { spawn, spawnSync } = require('node:child_process');
const { ip, hostLike } = require('../support/kernel');

const PROTO = 77;
const CHILDREN = path.join(__dirname, 'children');

/** A host like the seed's host1: lo up, eth0 (a veth) with 10.57.4.20/24, both ends up. */
const underlay = (ns) => hostLike(ns);

const mac = (i) => `0a:58:c0:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
/** The i-th /24 of 10.64.0.0/10 (i < 16384): desired routes. */
const net24 = (i) => `10.${64 + (i >> 8)}.${i & 255}.0/24`;
/** The i-th host route of 11.0.0.0/8: foreign routes of storms and interferers. */
const host32 = (i) => `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`;

/**
 * A vxlan overlay as the reconciler sees it: one vxlan device on eth0, and per remote node an
 * FDB entry, a neighbour and a route. nodes: which node numbers (1..) are present; via: which
 * gateway variant (changing it makes route updates); name/vni: for a second overlay.
 */
function overlay(nodes, { name = 'vxlan0', vni = 100, variant = 0, extraRoutes = [] } = {}) {
  const s = {
    links: [{ kind: 'vxlan', name, vni, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, mtu: 1450, up: true }],
    addresses: [{ dev: name, address: `192.168.${vni & 255}.0/32` }],
    fdb: [],
    neighbors: [],
    routes: [...extraRoutes],
  };
  for (const i of nodes) {
    // Node i (1..16383): gateway 100.(64 + vni % 64).(i >> 8).(i & 255), its MAC, its VTEP.
    const gw = (hi) => `100.${64 + (vni % 64)}.${(i >> 8) + hi}.${i & 255}`;
    s.fdb.push({ dev: name, mac: mac(vni * 65536 + i), dst: `10.57.${5 + (i >> 8)}.${i & 255}` });
    s.neighbors.push({ dev: name, ip: gw(0), lladdr: mac(vni * 65536 + i) });
    s.routes.push({ dst: net24(i), via: variant ? gw(128) : gw(0), dev: name, onlink: true, ...(variant > 1 ? { mtu: 1400 } : {}) });
  }
  return s;
}

/** Routes only: n routes of this reconciler via eth0 (each a /24, or /32 past 4096). */
function routeState(n, { first = 0, via = '10.57.4.1', metric } = {}) {
  const routes = [];
  for (let i = first; i < first + n; i++) routes.push({ dst: net24(i), via, dev: 'eth0', ...(metric !== undefined ? { metric } : {}) });
  return { routes };
}

/**
 * The desired states of the crash test's runs: 10,000 routes via eth0 each, every run different
 * from the one before (creates, gateway and MTU updates, deletions), plus a small overlay.
 */
function crashDesired(run) {
  const first = 100 + (run % 3) * 1500; // past the overlay's routes (net24(node))
  const routes = [];
  for (let i = first; i < first + 10000; i++) {
    const r = { dst: net24(i), via: (i + run) % 2 ? '10.57.4.1' : '10.57.4.2', dev: 'eth0' };
    if ((i + run) % 3 === 0) r.mtu = 1400;
    routes.push(r);
  }
  const o = overlay([1, 2, 3, 4, 5].map((n) => n + run));
  return { ...o, routes: [...o.routes, ...routes] };
}

/** Runs a child script with node, returns { code, signal, stdout, stderr } when it ends. */
function runChildSync(script, args, opts = {}) {
  const r = spawnSync(process.execPath, [path.join(CHILDREN, script), ...args], { encoding: 'utf8', timeout: opts.timeout ?? 120000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts a child script with node. The handle has lines (stdout, split, as they come), waitLine
 * (resolves on the first line matching), exited (a promise of { code, signal }) and kill().
 */
function startChild(script, args) {
  const child = spawn(process.execPath, [path.join(CHILDREN, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  let buf = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => {
    for (const w of waiters.splice(0)) w.reject(new Error(`child ${script} exited before printing ${w.re}; stderr: ${stderr}`));
  });
  return {
    pid: child.pid,
    lines,
    get stderr() {
      return stderr;
    },
    exited,
    waitLine(re) {
      const hit = lines.find((l) => re.test(l));
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => waiters.push({ re, resolve, reject }));
    },
    kill(sig = 'SIGKILL') {
      child.kill(sig);
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value (returned), failing after ms with message() (test/support/poll). */
const eventually = (fn, ms, message) => pollUntil(fn, { ms, what: message });

/**
 * Resolves once a watching reconciler has run no cycle for ms (its own changes cause events,
 * which cause a last cycle or two after the first 'converged').
 */
function quiet(r, ms = 300) {
  return new Promise((resolve) => {
    let t = setTimeout(done, ms);
    function onApplied() {
      clearTimeout(t);
      t = setTimeout(done, ms);
    }
    function done() {
      r.off('applied', onApplied);
      resolve();
    }
    r.on('applied', onApplied);
  });
}

/** Canonical text of routes for comparison: "table dst via dev proto metric [mtu]". */
function routeText(r, names) {
  const dev = r.dev === undefined ? '' : names.get(r.dev) ?? `#${r.dev}`;
  return `${r.table} ${r.dst} via ${r.via ?? '-'} dev ${dev} proto ${r.protocol} metric ${r.metric ?? 0}${r.mtu ? ` mtu ${r.mtu}` : ''}${r.onlink ? ' onlink' : ''}`;
}

module.exports = { crashDesired, PROTO, underlay, overlay, routeState, net24, host32, mac, runChildSync, startChild, sleep, eventually, quiet, routeText };
