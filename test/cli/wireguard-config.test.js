'use strict';
// plan/apply/watch --config with a WireGuard device whose key is named by file
// (`privateKeyFile`, issue 22): the key is read from a 0600 file, never from the config or
// argv, and never appears in any output (plan, apply, --json, logs, errors). A file that cannot
// be trusted, a missing one, or both privateKey and privateKeyFile are ValidationErrors naming
// the field and the file. Runs as root on any kernel (the plan needs no WireGuard); where the
// kernel has WireGuard (the VM lane) the device gets the file's key (`wg show` is the oracle)
// and `watch` takes a replaced key file on SIGHUP.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { PrivateKey, writePrivateKeyFile, rotatePrivateKey } = require('../../dist');
const { kernelDescribe, netnsPerTest } = require('../support/kernel');
const { pollUntil } = require('../support/poll');
const { HAS_WIREGUARD, wgShowDump } = require('../support/wg');
const { runCli: runCliNow, startCli, killAll } = require('./helpers');

const SLOW = process.env.NETLINK_AGENT_VM ? 10 : 1;
// Under TCG (the VM lane) a node process takes seconds to start: each run may take longer.
const runCli = (args) => runCliNow(args, { timeout: 30000 * SLOW });

kernelDescribe('cli: a wireguard privateKeyFile in the desired state (plan, apply, watch)', function () {
  this.timeout(60000 * SLOW);
  const ns = netnsPerTest('wgcfg');
  let dir;
  let config;
  let keyFile;
  let key;
  const peer = PrivateKey.generate().publicKey().toBase64();
  const desired = (extra = {}) => ({
    links: [{ kind: 'wireguard', name: 'wg0', up: true }],
    wireguard: [{ dev: 'wg0', privateKeyFile: 'wg0.key', listenPort: 51820, peers: [{ publicKey: peer, endpoint: '10.57.4.21:51820', allowedIps: ['10.9.0.0/24'] }], ...extra }],
  });
  /** Every form of the secret that must never show. */
  const secrets = () => [key.revealBase64(), key.toBytes().toString('hex')];
  const assertNoKey = (text, where) => {
    for (const s of secrets()) assert.ok(!text.includes(s), `${where} shows the private key`);
  };

  beforeEach(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-wgcfg-'));
    config = path.join(dir, 'desired.json');
    keyFile = path.join(dir, 'wg0.key');
    key = PrivateKey.generate();
    await writePrivateKeyFile(keyFile, key);
    fs.writeFileSync(config, JSON.stringify(desired()));
  });
  afterEach(async function () {
    await killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('plan reads the key from the file (relative to the config) and shows no key, text or --json', function () {
    const r = runCli(['plan', '--config', config, '--netns', ns()]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /wireguard wg0/);
    assertNoKey(r.stdout + r.stderr, 'plan');
    const j = runCli(['plan', '--config', config, '--netns', ns(), '--json']);
    assert.equal(j.code, 2, j.stderr);
    const ops = JSON.parse(j.stdout).ops;
    assert.ok(ops.some((o) => o.kind === 'wireguard'), j.stdout);
    assertNoKey(j.stdout + j.stderr, 'plan --json');
  });

  it('a file others may read, a missing file, a non-key, privateKey beside privateKeyFile: exit 1 naming the field and the file, never the key', function () {
    const cases = [
      [() => fs.chmodSync(keyFile, 0o644), /wireguard\[0\]\.privateKeyFile: private key file .*wg0\.key: has mode 0644/],
      [() => fs.writeFileSync(config, JSON.stringify(desired({ privateKeyFile: 'nope.key' }))), /wireguard\[0\]\.privateKeyFile: the WireGuard key file .*nope\.key: ENOENT/],
      [() => fs.writeFileSync(keyFile, 'not a key\n', { mode: 0o600 }), /wireguard\[0\]\.privateKeyFile: private key file .*wg0\.key: does not hold one WireGuard key/],
      [() => fs.writeFileSync(config, JSON.stringify(desired({ privateKey: key.revealBase64() }))), /wireguard\[0\]\.privateKeyFile: give privateKey or privateKeyFile, not both/],
      [() => fs.writeFileSync(config, JSON.stringify(desired({ privateKeyFile: 7 }))), /wireguard\[0\]\.privateKeyFile: expected the path of a file/],
    ];
    for (const [n, [breakIt, want]] of cases.entries()) {
      fs.rmSync(keyFile, { force: true });
      fs.writeFileSync(keyFile, `${key.revealBase64()}\n`, { mode: 0o600 });
      fs.writeFileSync(config, JSON.stringify(desired()));
      breakIt();
      // Both commands read the file the same way (loadDesired): apply once, plan for each.
      for (const cmd of n === 0 ? ['plan', 'apply'] : ['plan']) {
        const r = runCli([cmd, '--config', config, '--netns', ns()]);
        assert.equal(r.code, 1, `${cmd} ${want}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, want);
        if (!/not both/.test(String(want))) assertNoKey(r.stdout + r.stderr, `${cmd} ${want}`);
        else assert.ok(!r.stderr.includes(key.revealBase64()), 'the refusal does not echo the key given as text');
      }
    }
  });

  it('apply configures the device with the file\'s key (where the kernel has WireGuard), and its output, --json included, shows no key', function () {
    const r = runCli(['apply', '--config', config, '--netns', ns(), '--json']);
    assertNoKey(r.stdout + r.stderr, 'apply --json');
    const j = JSON.parse(r.stdout);
    if (!HAS_WIREGUARD) {
      // This kernel has no WireGuard: the link cannot be made; the failure says so, without the key.
      assert.equal(r.code, 1);
      assert.ok(j.failed.length > 0);
      return;
    }
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(j.converged, true);
    const dump = wgShowDump(ns(), 'wg0');
    assert.equal(dump.privateKey, key.revealBase64());
    assert.equal(dump.publicKey, key.publicKey().toBase64());
    const again = runCli(['apply', '--config', config, '--netns', ns()]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /Applied 0 of 0 changes with 0 requests; converged\./);
  });

  it('watch: a replaced key file and SIGHUP reconfigure the device with the new key (one device op), logs show no key', async function () {
    if (!HAS_WIREGUARD) this.skip();
    const w = startCli(['watch', '--config', config, '--netns', ns(), '--json']);
    await w.waitFor(/"event":"converged"/, 15000 * SLOW);
    assert.equal(wgShowDump(ns(), 'wg0').publicKey, key.publicKey().toBase64());
    const old = key;
    const rotated = await rotatePrivateKey(keyFile);
    assert.equal(rotated.previous.toBase64(), old.publicKey().toBase64());
    key = rotated.key;
    const handshakesBefore = wgShowDump(ns(), 'wg0').peers.length;
    w.child.kill('SIGHUP');
    await w.waitFor(/SIGHUP: re-read/, 15000 * SLOW);
    await pollUntil(() => wgShowDump(ns(), 'wg0').publicKey === key.publicKey().toBase64(), { ms: 15000 * SLOW, what: 'the device to take the new key' });
    assert.equal(wgShowDump(ns(), 'wg0').peers.length, handshakesBefore, 'the peers are kept');
    await w.waitFor(/"event":"change".*wireguard.*wg0.*privateKey/, 15000 * SLOW);
    w.child.kill('SIGTERM');
    assert.equal((await w.exited).code, 0, w.out.stderr);
    for (const k of [old, key]) {
      key = k;
      assertNoKey(w.out.stdout + w.out.stderr, 'watch logs');
    }
  });
});
