'use strict';
// The `netlink-agent` command: help and usage errors, and plan/apply/watch against a real
// kernel (a namespace of the test's own, with iproute2 as the independent oracle).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { kernelDescribe, netnsPerTest, ip, ipJson } = require('../support/kernel');
const { runCli, startCli, killAll } = require('./helpers');

/** The links named `name` in a namespace (empty when there is none). */
const linksNamed = (ns, name) => ipJson(ns, 'link', 'show').filter((l) => l.ifname === name);

describe('cli: usage', function () {
  it('--help on the command and on each subcommand', async function () {
    const top = runCli(['--help']);
    assert.equal(top.code, 0);
    for (const c of ['plan', 'apply', 'watch', 'overlay']) assert.match(top.stdout, new RegExp(`^  ${c} \\[options\\]`, 'm'));
    const { main } = require('../../dist/cli');
    for (const c of ['plan', 'apply', 'watch']) {
      let out = '';
      const code = await main([c, '--help'], { stdout: { write: (s) => (out += s) }, stderr: { write: () => undefined } });
      assert.equal(code, 0);
      assert.match(out, new RegExp(`Usage: netlink-agent ${c} \\[options\\]`));
      assert.match(out, /-c, --config <file>/);
      assert.match(out, /--netns <name>/);
    }
    const o = runCli(['overlay', '--help']);
    assert.equal(o.code, 0);
    for (const opt of ['--mode <mode>', '--self <name>', '--node-ip <ip>', '--pod-cidr <cidr>', '--cluster-cidr <cidr>', '--etcd <urls>', '--netns <name>', '--json']) {
      assert.ok(o.stdout.includes(opt), opt);
    }
    assert.equal(runCli(['--version']).stdout.trim(), require('../../package.json').version);
  });

  it('usage errors exit 1 with one clear line (main() in-process, as the binary runs it)', async function () {
    const { main } = require('../../dist/cli');
    const cases = [
      [['plan'], /required option '-c, --config <file>' not specified/],
      [['overlay', '--mode', 'warp', '--self', 'a', '--node-ip', '10.0.0.1'], /argument 'warp' is invalid. Allowed choices are host-gw, ipip, vxlan, hybrid/],
      [['overlay', '--mode', 'vxlan', '--self', 'a', '--node-ip', '10.0.0.1', '--pod-cidr', '10.1.0.0/24'], /give --etcd URL\[,URL\] or --nodes FILE/],
      [['overlay', '--mode', 'vxlan', '--self', 'a', '--node-ip', '10.0.0.1', '--pod-cidr', '10.1.0.0/24', '--cluster-cidr', '10.2.0.0/16', '--etcd', 'http://127.0.0.1:1'], /--pod-cidr: 10\.1\.0\.0\/24 is outside the cluster CIDR 10\.2\.0\.0\/16.*nothing was registered/],
      [['overlay', '--mode', 'vxlan', '--self', 'a', '--node-ip', '10.0.0.1', '--pod-cidr', '10.1.0.0/24', '--etcd', 'x', '--owner', 'a b'], /--owner <name>' argument 'a b' is invalid/],
      [['overlay', '--mode', 'vxlan', '--self', 'a', '--node-ip', '10.0.0.1', '--etcd', 'http://127.0.0.1:1'], /give --pod-cidr CIDR or --cluster-cidr CIDR/],
      [['overlay', '--mode', 'vxlan', '--self', 'a', '--node-ip', '10.0.0.1', '--pod-cidr', '10.1.0.0/24', '--etcd', 'x', '--ttl', '0'], /--ttl <seconds>' argument '0' is invalid. must be an integer 1\.\.86400/],
      [['watch', '--config', 'x.json', '--resync-ms', 'soon'], /--resync-ms <ms>' argument 'soon' is invalid/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [args, re] of cases) {
      const io = { stdout: '', stderr: '' };
      const code = await main(args, { stdout: { write: (s) => (io.stdout += s) }, stderr: { write: (s) => (io.stderr += s) } });
      assert.equal(code, 1, `${args.join(' ')}: ${io.stderr}`);
      assert.match(io.stderr, re);
    }
    // And through the real binary: the exit code reaches the shell.
    const r = runCli(['overlay', '--mode', 'warp']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Allowed choices/);
  });

  it('a desired-state file that is not JSON, or invalid, is refused before anything is sent', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-cli-'));
    try {
      fs.writeFileSync(path.join(dir, 'bad.json'), '{"routes": [');
      let r = runCli(['plan', '--config', path.join(dir, 'bad.json')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: invalid desired state: .*bad\.json: not JSON/);
      fs.writeFileSync(path.join(dir, 'invalid.json'), JSON.stringify({ routes: [{ dst: '10.0.0.1/24', dev: 'eth0' }] }));
      r = runCli(['apply', '--config', path.join(dir, 'invalid.json'), '--netns', 'no-such-netns-for-sure']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: /);
      r = runCli(['plan', '--config', path.join(dir, 'missing.json')]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot read .*missing\.json/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cli: desired-state files are bounded (issue 17 item 21)', function () {
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-cli-bounds-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a config nested 5,000 levels is a ValidationError, not a stack overflow', function () {
    const file = path.join(dir, 'deep.json');
    fs.writeFileSync(file, `{"routes": ${'['.repeat(5000)}${']'.repeat(5000)}}`);
    const r = runCli(['plan', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: invalid desired state: .*deep\.json: nested deeper than 64 levels \(at byte 74\)/);
    assert.doesNotMatch(r.stderr, /call stack/);
    // Brackets inside strings are text, not nesting.
    fs.writeFileSync(file, JSON.stringify({ routes: [], note: '['.repeat(5000) }));
    assert.doesNotMatch(runCli(['plan', '--config', file, '--netns', 'no-such-netns-for-sure']).stderr, /nested/);
  });

  it('a 600 MB config is refused by its size, before it is read', function () {
    const file = path.join(dir, 'huge.json');
    fs.writeFileSync(file, '{"routes": [');
    fs.truncateSync(file, 600 * 1024 * 1024); // sparse: no disk used
    const t0 = Date.now();
    const r = runCli(['apply', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: invalid desired state: .*huge\.json: 629145600 bytes, more than the 134217728 a file may have here/);
    console.log(`      (refused in ${Date.now() - t0} ms)`);
  });
});

kernelDescribe('cli: plan, apply, watch on the kernel', function () {
  this.timeout(60000);
  const ns = netnsPerTest('cli');
  let dir;
  let config;
  const DESIRED = {
    links: [{ kind: 'veth', name: 'v0', peer: { name: 'v1' }, mtu: 1400, up: true }],
    addresses: [{ dev: 'eth0', address: '10.57.4.21/24' }],
    routes: [{ dst: '10.98.0.0/24', via: '10.57.4.1', dev: 'eth0' }],
  };

  beforeEach(function () {
    ip(ns(), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    ip(ns(), 'addr', 'add', '10.57.4.20/24', 'dev', 'eth0');
    ip(ns(), 'link', 'set', 'eth0', 'up');
    ip(ns(), 'link', 'set', 'eth0p', 'up');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-cli-'));
    config = path.join(dir, 'desired.json');
    fs.writeFileSync(config, JSON.stringify(DESIRED));
  });
  afterEach(async function () {
    await killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('plan exits 2 with pending changes, apply converges, plan then exits 0; --json plans are data', function () {
    let r = runCli(['plan', '--config', config, '--netns', ns()]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /^\+   link v0: missing/m);
    assert.match(r.stdout, /^\+   route .*10\.98\.0\.0\/24.*: missing$/m);
    assert.match(r.stdout, /^Plan: 3 to create, 0 to update, 0 to recreate, 0 to delete\.$/m);
    const j = JSON.parse(runCli(['plan', '--config', config, '--netns', ns(), '--json']).stdout);
    assert.deepEqual(j.ops.map((o) => `${o.action} ${o.kind}`), ['create link', 'create address', 'create route']);
    assert.equal(linksNamed(ns(), 'v0').length, 0, 'plan changes nothing');

    r = runCli(['apply', '--config', config, '--netns', ns()]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Applied 3 of 3 changes with \d+ requests; converged\./);
    assert.equal(linksNamed(ns(), 'v0')[0].mtu, 1400);
    assert.match(ip(ns(), 'route', 'show', '10.98.0.0/24'), /via 10\.57\.4\.1 dev eth0 proto 77/);

    r = runCli(['plan', '--config', config, '--netns', ns()]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^Plan: 0 to create, 0 to update, 0 to recreate, 0 to delete\.$/m);
  });

  it('output is complete whatever it is piped to: a 100,001-line plan and its --json (issue 17 item 20)', function () {
    const n = 100000;
    const routes = Array.from({ length: n }, (_, i) => ({ dst: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, via: '10.57.4.1', dev: 'eth0' }));
    fs.writeFileSync(config, JSON.stringify({ routes }));
    const r = runCli(['plan', '--config', config, '--netns', ns()], { timeout: 60000 });
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.filter((l) => l.startsWith('+   route ')).length, n);
    assert.equal(lines[lines.length - 1], `Plan: ${n} to create, 0 to update, 0 to recreate, 0 to delete.`);
    const j = runCli(['plan', '--config', config, '--netns', ns(), '--json'], { timeout: 60000 });
    assert.equal(JSON.parse(j.stdout).ops.length, n, `${j.stdout.length} bytes`);
  });

  it('watch repairs drift, logs one JSON line per event, and leaves the kernel as it is on SIGTERM', async function () {
    const w = startCli(['watch', '--config', config, '--netns', ns(), '--json']);
    await w.waitFor(/"event":"converged"/);
    const routeChange = /"event":"change".*route 10\.98\.0\.0\/24/;
    const applied = w.count(routeChange);
    ip(ns(), 'route', 'del', '10.98.0.0/24');
    await w.waitFor(routeChange, 15000, applied + 1);
    assert.match(ip(ns(), 'route', 'show', '10.98.0.0/24'), /via 10\.57\.4\.1/);
    w.child.kill('SIGTERM');
    const { code } = await w.exited;
    assert.equal(code, 0, w.out.stderr);
    const events = w.lines().map((l) => JSON.parse(l));
    for (const e of events) {
      assert.equal(typeof e.time, 'string');
      assert.ok(['info', 'warn', 'error'].includes(e.level));
    }
    assert.equal(events[0].event, 'start');
    assert.equal(events[events.length - 1].event, 'stop');
    assert.ok(events.filter((e) => e.event === 'change').length >= 4, 'the first apply and the repair are logged op by op');
    assert.match(ip(ns(), 'route', 'show', '10.98.0.0/24'), /via 10\.57\.4\.1/, 'still there after exit');
    assert.equal(linksNamed(ns(), 'v0').length, 1);
  });
});
