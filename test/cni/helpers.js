'use strict';
// The CNI tests' runtime: cnirt (runtime/main.go, on Debian's libcni) built once into a temp
// directory, the plugin installed with `netlink-agent cni install`, and jobs run inside a
// "host" namespace the test made (ip netns exec), never in the machine's own.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync, spawn } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'index.js');
const SOURCE = path.join(__dirname, 'runtime', 'main.go');
const GOPATH = '/usr/share/gocode';
const LIBCNI = path.join(GOPATH, 'src/github.com/containernetworking/cni/libcni');
/** Debian's reference plugins (containernetworking-plugins). */
const REFERENCE_DIR = '/usr/lib/cni';

/** Why the CNI tests cannot run here, or undefined when they can. */
function missing() {
  if (spawnSync('go', ['version']).status !== 0) return 'Go is not installed (Debian golang-go)';
  if (!fs.existsSync(LIBCNI)) return `libcni is not installed (Debian golang-github-appc-cni-dev, ${LIBCNI})`;
  if (!fs.existsSync(path.join(REFERENCE_DIR, 'bridge'))) return `the reference plugins are not installed (Debian containernetworking-plugins, ${REFERENCE_DIR})`;
  return undefined;
}

let built;
/** Builds cnirt (offline: GO111MODULE=off against Debian's GOPATH) into a temp dir named by the source's hash; returns its path. */
function buildRuntime() {
  if (built) return built;
  const hash = crypto.createHash('sha256').update(fs.readFileSync(SOURCE)).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `nla-cnirt-${hash}`);
  const bin = path.join(dir, 'cnirt');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('go', ['build', '-o', `${bin}.tmp`, '.'], {
      cwd: path.dirname(SOURCE),
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: path.join(dir, 'gocache'), GOPROXY: 'off' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    fs.renameSync(`${bin}.tmp`, bin);
  }
  built = bin;
  return bin;
}

/** Installs the plugin with `netlink-agent cni install` into a new temp bin dir; returns the dir. */
function installPlugin() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-cni-bin-'));
  execFileSync(process.execPath, [CLI, 'cni', 'install', '--bin-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return dir;
}

/** The environment a runtime such as containerd gives its plugins: no Node options of this shell. */
function runtimeEnv() {
  return { PATH: process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin' };
}

/**
 * Runs a cnirt job inside host namespace `hostNs`: { conflist, ops, cniPath, cacheDir, concurrency }.
 * Resolves the report { results: [{ ok, result, error, ms }], wallMs }.
 */
function runJob(hostNs, job, { timeoutMs = 120000 } = {}) {
  const bin = buildRuntime();
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', hostNs, bin], { env: runtimeEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`cnirt exited ${code}: ${err}`));
      try {
        resolve(JSON.parse(out));
      } catch (e) {
        reject(new Error(`cnirt printed no report: ${out}\n${err}`));
      }
    });
    child.stdin.end(JSON.stringify(job));
  });
}

/** One op for the job: cmd ADD/CHECK/DEL, container id, pod namespace name, interface. */
function op(cmd, id, podNs, ifname = 'eth0', extra = {}) {
  return { cmd, id, netns: `/run/netns/${podNs}`, ifname, ...extra };
}

/**
 * Runs the plugin executable directly (not through libcni), inside `hostNs`, with a CNI_*
 * environment and stdin; resolves { code, stdout, stderr, json }. `onSpawn(child)` may kill it.
 */
function runPluginDirect(binDir, hostNs, env, stdin, onSpawn) {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', hostNs, path.join(binDir, 'netlink-agent')], { env: { ...runtimeEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      let json;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, json });
    });
    child.stdin.end(stdin);
    if (onSpawn) onSpawn(child);
  });
}

module.exports = { ROOT, CLI, REFERENCE_DIR, missing, buildRuntime, installPlugin, runtimeEnv, runJob, runPluginDirect, op };

const { isRoot, makeNetns, removeNetns, kernelDescribe } = require('../support/kernel');

let installedDir;
/** describe() for tests that need root, Go, libcni and the reference plugins; skips with one line saying which is missing. */
function cniDescribe(title, fn) {
  return kernelDescribe(title, function () {
    before(function () {
      const why = missing();
      if (why) {
        console.log(`      skipped: ${why}`);
        this.skip();
      }
      this.timeout(300000);
      buildRuntime();
      if (!installedDir) installedDir = installPlugin();
    });
    fn.call(this);
  });
}

/**
 * One test's world: a "host" namespace (where the runtime runs and the host ends live), pod
 * namespaces on demand and a temp dir for reservations and libcni's cache. Everything is
 * removed by cleanup(), also after failures.
 */
class World {
  constructor(tag = 'cni') {
    this.tag = tag;
    this.host = makeNetns(`${tag}h`);
    this.made = [this.host];
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `nla-${tag}-`));
    this.dataDir = path.join(this.dir, 'ipam');
    this.binDir = installedDir;
    execFileSync('ip', ['-n', this.host, 'link', 'set', 'lo', 'up']);
  }
  /** A new pod namespace; returns its name. */
  pod() {
    const name = makeNetns(`${this.tag}p`);
    this.made.push(name);
    return name;
  }
  /** n new pod namespaces. */
  pods(n) {
    return Array.from({ length: n }, () => this.pod());
  }
  /** A conflist of `plugins` (the first one gets this world's dataDir unless it has one). */
  conflist(plugins, { cniVersion = '1.0.0', name = 'podnet' } = {}) {
    return { cniVersion, name, plugins };
  }
  /** Our plugin's entry with defaults: bridge mode, one IPv4 range, this world's dataDir. */
  ours(extra = {}, ipam = {}) {
    return { type: 'netlink-agent', ...extra, ipam: { ranges: [[{ subnet: '10.88.0.0/24' }]], dataDir: this.dataDir, ...ipam } };
  }
  /** Runs ops through libcni in the host namespace (or `host`). */
  run(conflist, ops, { concurrency = 1, host = this.host } = {}) {
    return runJob(host, { conflist, ops, cniPath: [this.binDir, REFERENCE_DIR], cacheDir: path.join(this.dir, `cache-${host}`), concurrency });
  }
  /** Runs our plugin directly (no libcni), as a runtime would exec it. */
  direct(env, conf, onSpawn) {
    return runPluginDirect(this.binDir, this.host, { CNI_PATH: `${this.binDir}:${REFERENCE_DIR}`, ...env }, typeof conf === 'string' ? conf : JSON.stringify(conf), onSpawn);
  }
  /** The reservation files of network `name` (addresses only). */
  reservations(name = 'podnet') {
    try {
      return fs.readdirSync(path.join(this.dataDir, name)).filter((f) => /^[0-9a-f:.]+$/.test(f) && /[.:]/.test(f)).sort();
    } catch {
      return [];
    }
  }
  cleanup() {
    for (const ns of this.made.reverse()) removeNetns(ns);
    this.made = [];
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports.cniDescribe = cniDescribe;
module.exports.World = World;
module.exports.isRoot = isRoot;

let nextPort = 20000 + (process.pid % 20000);
/**
 * UDP and TCP from pod namespace `fromNs` to `address` in pod namespace `toNs`, with the
 * examples' echo worker. Resolves { udp: {ok, reply}, tcp: {ok, reply}, seen: [addresses the
 * server saw the client come from] }.
 */
async function traffic(fromNs, toNs, address, { timeoutMs = 5000 } = {}) {
  const { Netns } = require('../../dist');
  const worker = path.join(ROOT, 'examples', 'lib', 'traffic-worker.js');
  const port = nextPort++;
  const seen = [];
  const server = Netns.worker(toNs, worker, { workerData: { role: 'server', port } });
  server.on('message', (m) => m.seen && seen.push(m.seen.address));
  const once = (w, key) =>
    new Promise((resolve, reject) => {
      w.on('message', (m) => m[key] && resolve(m));
      w.on('error', reject);
      w.on('exit', (c) => reject(new Error(`traffic worker exited (${c})`)));
    });
  try {
    await once(server, 'ready');
    const client = Netns.worker(fromNs, worker, { workerData: { role: 'client', host: address, port, timeoutMs, payload: `hi from ${fromNs}` } });
    try {
      return { ...(await once(client, 'result')).result, seen };
    } finally {
      await client.terminate();
    }
  } finally {
    await server.terminate();
  }
}
module.exports.traffic = traffic;

process.on('exit', () => {
  if (installedDir) fs.rmSync(installedDir, { recursive: true, force: true });
});
