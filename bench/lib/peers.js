'use strict';
/**
 * The bench's peers besides iproute2, each built by the bench into a cache directory and run as
 * a program (benchmarks may run programs; the library never does):
 *   - the C kernel floor (../shared/tools/netlink-floor): its build.sh is run on a copy of its
 *     sources in the cache, nothing of it is kept in this repository;
 *   - a Go program using vishvananda/netlink (bench/go/main.go), built offline from Debian's
 *     golang-github-vishvananda-netlink-dev (GOPATH mode, no module download).
 * A peer that cannot be found or built is reported with the reason and its columns are skipped.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const REPO = path.join(__dirname, '..', '..');

/** Where built peers are kept between runs (rebuilt when their sources change). */
function cacheDir(override) {
  const dir = override || process.env.NLA_BENCH_CACHE || path.join(REPO, 'node_modules', '.cache', 'netlink-agent-bench');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const hashOf = (...files) => {
  const h = crypto.createHash('sha256');
  for (const f of files) h.update(fs.readFileSync(f));
  return h.digest('hex').slice(0, 12);
};

/** The floor's directory: --floor DIR, $NLA_FLOOR_DIR, or shared/tools/netlink-floor in the
 * repository's parent or any directory above it (the worktrees live two levels down). */
function findFloorDir(explicit) {
  if (explicit) return explicit;
  if (process.env.NLA_FLOOR_DIR) return process.env.NLA_FLOOR_DIR;
  for (let dir = path.dirname(REPO); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'shared', 'tools', 'netlink-floor');
    if (fs.existsSync(path.join(candidate, 'floor.c'))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The kernel floor: { available, reason?, bin?, options }. The options are the floor's fastest
 * on this machine, and the same transport settings as ours: 16 KiB per send, an ack asked only
 * for the last message of each send, at most 512 un-acked; dumps filtered in the kernel.
 */
function prepareFloor({ floorDir, cache, disabled }) {
  const writeOptions = ['--ack=last', '--chunk=16384', '--depth=512'];
  const dumpOptions = ['--strict'];
  const base = { name: 'C floor', writeOptions, dumpOptions };
  if (disabled) return { ...base, available: false, reason: 'disabled by --no-floor' };
  const dir = findFloorDir(floorDir);
  if (!dir || !fs.existsSync(path.join(dir, 'floor.c'))) {
    return { ...base, available: false, reason: `netlink-floor not found (looked for shared/tools/netlink-floor above ${REPO}; pass --floor DIR)` };
  }
  const src = path.join(dir, 'floor.c');
  const build = path.join(dir, 'build.sh');
  const out = path.join(cache, `floor-${hashOf(src, build)}`);
  const bin = path.join(out, 'bin', 'floor');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(out, { recursive: true });
    fs.copyFileSync(src, path.join(out, 'floor.c'));
    fs.copyFileSync(build, path.join(out, 'build.sh'));
    const r = spawnSync('bash', [path.join(out, 'build.sh')], { encoding: 'utf8' });
    if (r.status !== 0 || !fs.existsSync(bin)) {
      return { ...base, available: false, reason: `building the floor failed: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}` };
    }
  }
  return { ...base, available: true, dir, bin };
}

/** The Go peer: { available, reason?, bin? }. */
function prepareGo({ cache, disabled }) {
  const base = { name: 'Go vishvananda/netlink' };
  if (disabled) return { ...base, available: false, reason: 'disabled by --no-go' };
  const gopath = '/usr/share/gocode';
  if (!fs.existsSync(path.join(gopath, 'src', 'github.com', 'vishvananda', 'netlink'))) {
    return { ...base, available: false, reason: 'vishvananda/netlink not installed (Debian: golang-github-vishvananda-netlink-dev)' };
  }
  const main = path.join(__dirname, '..', 'go', 'main.go');
  const bin = path.join(cache, `go-${hashOf(main)}`, 'nla-go-bench');
  if (!fs.existsSync(bin)) {
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    const env = { ...process.env, GO111MODULE: 'off', GOPATH: gopath, GOCACHE: path.join(cache, 'gocache'), GOFLAGS: '', GOPROXY: 'off' };
    const r = spawnSync('go', ['build', '-o', bin, main], { encoding: 'utf8', env, cwd: path.dirname(main) });
    if (r.error) return { ...base, available: false, reason: `go not runnable (${r.error.code}; Debian: golang-go)` };
    if (r.status !== 0) return { ...base, available: false, reason: `go build failed: ${(r.stderr || '').trim().split('\n')[0]}` };
    const v = spawnSync('go', ['version'], { encoding: 'utf8' });
    fs.writeFileSync(`${bin}.version`, (v.stdout || '').trim());
  }
  const version = fs.existsSync(`${bin}.version`) ? fs.readFileSync(`${bin}.version`, 'utf8') : '';
  return { ...base, available: true, bin, version };
}

/** Runs a peer program that prints one JSON line {seconds, user, sys, ...}: a sample in the
 * bench's shape (wall = the program's own timed section, CPU its own rusage of that section). */
function runPeer(bin, argv) {
  const r = spawnSync(bin, argv, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${path.basename(bin)} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop());
  if (j.skip) throw new Error(`${path.basename(bin)} ${argv.join(' ')}: ${j.skip}`);
  return { wall: j.seconds, user: j.user, system: j.sys, detail: j };
}

module.exports = { cacheDir, prepareFloor, prepareGo, runPeer };
