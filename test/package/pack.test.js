'use strict';
// The package as a user gets it: a fresh prebuilt addon (`npm run prebuild` in a staged copy, so
// `npm test` right after `npm install` needs no other step), `npm pack`, then
// `npm install <tarball>` into a fresh project
// with nothing on the PATH but node, npm and sh (no compiler, no make, no python), then used from
// CommonJS and from ESM to make a veth pair in a throwaway namespace. Proves the prebuilt addon
// ships and loads, that nothing is compiled at install time, and that the tarball holds exactly
// what package.json "files" promises. Also builds the API reference and requires no warnings.
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { isRoot } = require('../support/kernel');

const ROOT = path.resolve(__dirname, '../..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
const PREBUILD_DIR = 'prebuilds/linux-x64';

/** What the tarball may hold: package.json "files" plus what npm always adds. Nothing else. */
const ALLOWED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^binding\.gyp$/,
  /^dist\/.+\.(js|d\.ts)$/,
  /^prebuilds\/linux-x64\/[^/]+\.node$/,
  /^native\/[^/]+\.[ch]$/,
];

/** Runs a command to completion (async, so two installs can overlap); rejects with its output. */
function run(cmd, args, opts) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 120000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ out, err });
      else reject(new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}) failed: ${signal ?? code}\n${out}\n${err}`));
    });
  });
}

/** The real file behind a command on the current PATH. */
function which(name) {
  for (const dir of (process.env.PATH || '').split(':')) {
    const p = path.join(dir || '.', name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.realpathSync(p);
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is not on the PATH`);
}

/** The caller's environment without npm's variables (npm_config_* from `npm test` would leak
 * settings into the user's install) and with PATH = binDir only. */
function userEnv(binDir) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  env.PATH = binDir;
  return env;
}

/** Every .ts under src/ (not .d.ts), relative to src/, without the extension. */
function sourceModules(dir = path.join(ROOT, 'src'), base = '') {
  const found = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) found.push(...sourceModules(path.join(dir, e.name), rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) found.push(rel.slice(0, -3));
  }
  return found;
}

/** The consumer program, from CommonJS or ESM: a namespace, a veth pair in it, read back. The
 * namespace is removed in `finally`; the JSON says which addon file the process mapped. */
function consumer(kind) {
  const head =
    kind === 'esm'
      ? `import * as api from 'netlink-agent';
import { Netns, Rtnl } from 'netlink-agent';
import { createRequire } from 'node:module';
import fs from 'node:fs';
const cjs = createRequire(import.meta.url)('netlink-agent');
// Every CommonJS export must be a named ESM export, and the very same object (one module instance).
const notNamed = Object.keys(cjs).filter((k) => api[k] !== cjs[k]);
`
      : `'use strict';
const { Netns, Rtnl } = require('netlink-agent');
const fs = require('node:fs');
const notNamed = [];
`;
  return `${head}
const name = process.argv[2];
const pick = (l) => ({ index: l.index, name: l.name, kind: l.kind, link: l.link, up: l.up });
async function main() {
  Netns.create(name);
  try {
    const nl = await Rtnl.open({ netns: name });
    try {
      const made = await nl.links.add({ kind: 'veth', name: 'nla-a', peer: { name: 'nla-b' } });
      const a = await nl.links.get('nla-a');
      const b = await nl.links.get('nla-b');
      const all = (await nl.links.list()).map((l) => l.name).sort();
      const addon = [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\\n')
        .map((line) => line.split(/\\s+/)[5]).filter((p) => p && p.endsWith('.node')))];
      return { notNamed, made: pick(made), a: pick(a), b: pick(b), all, addon };
    } finally {
      nl.close();
    }
  } finally {
    Netns.delete(name);
  }
}
main().then(
  (r) => console.log(JSON.stringify({ ...r, left: Netns.list().includes(name) })),
  (e) => { console.error(e); process.exit(1); },
);
`;
}

/** A TypeScript consumer of each module kind: the package's own types must be found (a wrong
 * spec must be a type error) through "exports" under node16/nodenext resolution. */
function typedConsumer() {
  return `import { Rtnl, Netns, NetlinkSocket, type LinkSpec, type Link } from 'netlink-agent';
const spec: LinkSpec = { kind: 'veth', name: 'a0', peer: { name: 'b0' } };
// @ts-expect-error 'nope' is not a link kind: proves the package's declarations were loaded
export const bad: LinkSpec = { kind: 'nope', name: 'x0' };
export const socketClass: typeof NetlinkSocket = NetlinkSocket;
export async function make(ns: string): Promise<Link> {
  Netns.create(ns);
  const nl = await Rtnl.open({ netns: ns });
  try {
    return await nl.links.add(spec);
  } finally {
    nl.close();
  }
}
`;
}

/**
 * The package directory `npm pack` would see after its "prepack" step, built in `tmp` and not in
 * the checkout: the files package.json "files" selects (dist/ as this suite runs it, the addon's
 * sources) plus a prebuilt addon compiled now from those sources with the package's own
 * `npm run prebuild`. So `npm test` right after `npm install` needs no other step, a stale
 * prebuilds/ in the checkout is never what gets tested, and the checkout's build/ (the addon
 * this very process has loaded) is not rebuilt under it.
 */
async function stagePackage(tmp) {
  const stage = path.join(tmp, 'package');
  const { out } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
  const [listed] = JSON.parse(out);
  for (const { path: f } of listed.files) {
    if (f.startsWith('prebuilds/')) continue; // built below, from these sources
    fs.mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(stage, f));
  }
  // prebuildify and node-gyp come from the checkout's devDependencies.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'));
  try {
    await run('npm', ['run', 'prebuild'], { cwd: stage, timeout: 150000 });
  } finally {
    fs.rmSync(path.join(stage, 'node_modules'));
  }
  fs.rmSync(path.join(stage, 'build'), { recursive: true, force: true });
  const built = path.join(stage, PREBUILD_DIR);
  assert.ok(
    fs.existsSync(built) && fs.readdirSync(built).some((f) => f.endsWith('.node')),
    `npm run prebuild wrote no addon into ${PREBUILD_DIR}/`,
  );
  return stage;
}

describe('package: npm pack, install without a compiler, use from CommonJS and ESM', function () {
  this.timeout(170000);
  let tmp;
  let pack; // npm pack --json output for our tarball
  let binDir;
  const projects = {}; // install mode -> project dir

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-pack-'));
    let t = Date.now();
    const stage = await stagePackage(tmp);
    const buildMs = Date.now() - t;
    t = Date.now();
    // --ignore-scripts: the stage already holds what "prepack" would build, and "prepare" would
    // recompile dist/ while this suite is running from it.
    const { out } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], { cwd: stage });
    [pack] = JSON.parse(out);
    const packMs = Date.now() - t;

    // A PATH with node, npm and sh only: no cc, gcc, g++, make or python3 for node-gyp.
    binDir = path.join(tmp, 'bin');
    fs.mkdirSync(binDir);
    fs.symlinkSync(process.execPath, path.join(binDir, 'node'));
    fs.symlinkSync(which('npm'), path.join(binDir, 'npm'));
    fs.symlinkSync(which('sh'), path.join(binDir, 'sh'));

    // Two fresh projects: npm's defaults (this npm runs an unreviewed install script with a
    // warning; it must not compile), and install scripts blocked (what an unapproved package
    // gets where npm enforces approval): the addon must load from prebuilds/ with no build step.
    const tarball = path.join(tmp, pack.filename);
    const modes = { defaults: [], blocked: ['--ignore-scripts'] };
    t = Date.now();
    await Promise.all(
      Object.entries(modes).map(async ([mode, flags]) => {
        const dir = path.join(tmp, mode);
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${mode}`, version: '1.0.0', private: true }));
        await run('npm', ['install', '--no-audit', '--no-fund', ...flags, tarball], { cwd: dir, env: userEnv(binDir), timeout: 140000 });
        fs.writeFileSync(path.join(dir, 'use.cjs'), consumer('cjs'));
        fs.writeFileSync(path.join(dir, 'use.mjs'), consumer('esm'));
        projects[mode] = dir;
      }),
    );
    console.log(`      prebuild ${buildMs} ms; npm pack ${packMs} ms; npm install into two fresh projects (in parallel) ${Date.now() - t} ms`);
  });

  after(function () {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('ships exactly dist/, the prebuilt addon, the addon sources, README, LICENSE', function () {
    const files = pack.files.map((f) => f.path).sort();
    const stray = files.filter((f) => !ALLOWED.some((re) => re.test(f)));
    assert.deepEqual(stray, [], `files the "files" promise does not cover: ${stray.join(', ')}`);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'binding.gyp', 'dist/index.js', 'dist/index.d.ts', 'native/common.h']) {
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    }
    // The fallback build needs every source binding.gyp names.
    const gyp = JSON.parse(fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8'));
    for (const src of gyp.targets.flatMap((t) => t.sources)) assert.ok(files.includes(src), `${src} (binding.gyp) missing from the tarball`);
    // One N-API prebuild for linux-x64 glibc, not tied to one Node ABI.
    const builds = files.filter((f) => f.startsWith(`${PREBUILD_DIR}/`));
    assert.equal(builds.length, 1, `prebuilds: ${builds.join(', ')}`);
    assert.match(builds[0], /\.glibc\.node$/);
    assert.doesNotMatch(builds[0], /\.abi\d+/);
    // dist/ is complete and has nothing stale: one .js and one .d.ts per module in src/.
    const expected = sourceModules().flatMap((m) => [`dist/${m}.js`, `dist/${m}.d.ts`]);
    const shipped = files.filter((f) => f.startsWith('dist/'));
    const missing = expected.filter((f) => !shipped.includes(f));
    const stale = shipped.filter((f) => !expected.includes(f));
    assert.deepEqual({ missing, stale }, { missing: [], stale: [] }, 'dist/ does not match src/ (rebuild: npx tsc -p .; stale files: remove dist/)');
    for (const dir of ['test/', 'bench/', 'examples/', 'src/', '.ci/', 'build/', 'tools/', 'docs/']) {
      assert.ok(!files.some((f) => f.startsWith(dir)), `${dir} must not be shipped`);
    }
    console.log(`      ${pack.filename}: ${files.length} files, ${pack.size} bytes packed, ${pack.unpackedSize} unpacked`);
  });

  it('installed without compiling: no compiler on the PATH, no build/ in the installed package', function () {
    const probe = spawnSync('sh', ['-c', 'for c in cc gcc g++ c++ clang make python3; do command -v $c; done; true'], {
      env: userEnv(binDir),
      encoding: 'utf8',
    });
    assert.equal(probe.stdout.trim(), '', `a build tool is reachable: ${probe.stdout}`);
    for (const dir of Object.values(projects)) {
      const pkg = path.join(dir, 'node_modules/netlink-agent');
      assert.ok(fs.existsSync(path.join(pkg, 'dist/index.js')));
      assert.ok(!fs.existsSync(path.join(pkg, 'build')), `${pkg}/build exists: the addon was compiled at install time`);
    }
  });

  it('has types for ESM (.mts) and CommonJS (.cts) consumers through "exports"', async function () {
    const dir = projects.defaults;
    fs.writeFileSync(path.join(dir, 'typed.mts'), typedConsumer());
    fs.writeFileSync(path.join(dir, 'typed.cts'), typedConsumer());
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules/@types')],
        },
        files: ['typed.mts', 'typed.cts'],
      }),
    );
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: dir, env: userEnv(binDir) });
  });

  describe('used as root', function () {
    before(function () {
      if (!isRoot) this.skip(); // creating a namespace and a veth pair needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)
    });

    const names = [];
    after(function () {
      // The consumers remove their namespaces in `finally`; a crash must not leave one behind.
      const left = names.filter((n) => fs.existsSync(`/run/netns/${n}`));
      for (const n of left) require('../../dist/wire').native().netns.remove(`/run/netns/${n}`);
      assert.deepEqual(left, [], 'namespaces left behind by a consumer');
    });

    for (const mode of ['defaults', 'blocked']) {
      for (const kind of ['cjs', 'esm']) {
        it(`${kind === 'cjs' ? 'require()' : 'import'} (installed with ${mode === 'defaults' ? "npm's defaults" : 'install scripts blocked'}): a veth pair in a new namespace, read back`, async function () {
          const dir = projects[mode];
          const name = `nla-pack-${process.pid}-${mode}-${kind}`;
          names.push(name);
          const { out } = await run(process.execPath, [path.join(dir, `use.${kind === 'cjs' ? 'cjs' : 'mjs'}`), name], {
            cwd: dir,
            env: userEnv(binDir),
            timeout: 30000,
          });
          const r = JSON.parse(out.trim().split('\n').pop());
          assert.deepEqual(r.notNamed, [], `CommonJS exports that are not named ESM exports: ${r.notNamed.join(', ')}`);
          // The addon the process mapped is the shipped prebuild, inside the installed package.
          const prebuilt = fs.realpathSync(path.join(dir, 'node_modules/netlink-agent', PREBUILD_DIR));
          assert.equal(r.addon.length, 1, `mapped addons: ${r.addon.join(', ')}`);
          assert.equal(path.dirname(r.addon[0]), prebuilt);
          // Read back from the kernel: a veth pair, each end pointing at the other.
          assert.equal(r.made.name, 'nla-a');
          assert.equal(r.made.kind, 'veth');
          assert.deepEqual(r.a, r.made);
          assert.equal(r.b.kind, 'veth');
          assert.equal(r.a.link, r.b.index);
          assert.equal(r.b.link, r.a.index);
          assert.deepEqual(r.all, ['lo', 'nla-a', 'nla-b']);
          assert.equal(r.left, false, 'the consumer did not remove its namespace');
        });
      }
    }
  });
});

describe('package: API reference', function () {
  this.timeout(120000);

  it('`npm run docs` builds the reference from the types and doc comments with no warnings', function () {
    // Into a temporary directory (not docs/api), so concurrent runs do not clean each other's output.
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-docs-'));
    try {
      const r = spawnSync('npm', ['run', 'docs', '--', '--out', out], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 110000 });
      const output = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, `npm run docs failed:\n${output}`);
      assert.doesNotMatch(output, /\[(warning|error)\]/, output);
      assert.match(fs.readFileSync(path.join(out, 'classes/Rtnl.html'), 'utf8'), /Rtnl/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('every exported function, class, type and method has a doc comment (`npm run docs:check`)', function () {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-docs-check-'));
    try {
      const r = spawnSync('npm', ['run', 'docs:check', '--', '--out', out], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 110000 });
      const output = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, `npm run docs:check failed:\n${output}`);
      assert.doesNotMatch(output, /does not have any documentation|\[warning\]/, output);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
