'use strict';
// `netlink-agent overlay --mode wireguard` start-up, as root on any kernel: the key file is
// created 0600 and kept across restarts, only its public key is logged, a key file others may
// read stops the agent before it registers, and the flags that need each other say so. (The
// WireGuard device itself needs a kernel with WireGuard: test/overlay/wireguard-cluster.test.js.)
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { readPrivateKeyFile, rotatePrivateKey } = require('../../dist');
const { Etcd3 } = require('etcd3');
const { kernelDescribe, netnsPerTest, ip } = require('../support/kernel');
const { EtcdServer, etcdInstalled } = require('../support/etcd');
const { pollUntil } = require('../support/poll');
const { startCli, runCli, killAll } = require('./helpers');

// The VM lane runs these too (their titles say wireguard): there, under TCG, a node process
// takes seconds to start, so waits are scaled.
const SLOW = process.env.NETLINK_AGENT_VM ? 10 : 1;
const WAIT = 15000 * SLOW;

kernelDescribe('cli: overlay --mode wireguard (key file, flags)', function () {
  this.timeout(60000);
  const ns = netnsPerTest('wgcli');
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-wgcli-'));
    ip(ns(), 'link', 'set', 'lo', 'up');
    ip(ns(), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    ip(ns(), 'addr', 'add', '10.62.0.1/24', 'dev', 'eth0');
    ip(ns(), 'link', 'set', 'eth0', 'up');
  });
  afterEach(async function () {
    await killAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const base = (extra) => ['overlay', '--mode', 'wireguard', '--self', 'n1', '--node-ip', '10.62.0.1', '--pod-cidr', '10.203.1.0/24', '--nodes', path.join(dir, 'nodes.json'), '--netns', ns(), ...extra];

  it('creates the key 0600 on first start, logs only its public key, keeps it across a restart', async function () {
    const keyFile = path.join(dir, 'keys', 'wg.key');
    fs.writeFileSync(path.join(dir, 'nodes.json'), JSON.stringify({ nodes: [{ name: 'n2', nodeIP: '10.62.0.2', podCIDR: '10.203.2.0/24' }] }));
    const a = startCli(base(['--wg-key-file', keyFile]));
    const created = await a.waitFor(/created the key in .*public key /, WAIT);
    await a.waitFor(/registered/, WAIT);
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(keyFile)).mode & 0o777, 0o700);
    const key = await readPrivateKeyFile(keyFile);
    assert.ok(created.includes(key.publicKey().toBase64()));
    a.child.kill('SIGTERM');
    assert.equal((await a.exited).code, 0);
    assert.ok(!a.out.stderr.includes(key.revealBase64()) && !a.out.stdout.includes(key.revealBase64()), 'the private key was logged');

    const b = startCli(base(['--wg-key-file', keyFile, '--json']));
    const loaded = JSON.parse(await b.waitFor(/loaded the key/, WAIT));
    assert.ok(loaded.msg.includes(key.publicKey().toBase64()));
    b.child.kill('SIGTERM');
    await b.exited;
    assert.ok((await readPrivateKeyFile(keyFile)).equals(key), 'the same key after the restart');
    assert.ok(!b.out.stderr.includes(key.revealBase64()));
  });

  it('a key file others may read, a missing --wg-key-file with --netns, --rotate-key without etcd: exit 1 before registering, naming the flag or file, never the key', function () {
    fs.writeFileSync(path.join(dir, 'nodes.json'), JSON.stringify({ nodes: [] }));
    const keyFile = path.join(dir, 'open.key');
    const secret = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
    fs.writeFileSync(keyFile, `${secret}\n`, { mode: 0o644 });
    fs.chmodSync(keyFile, 0o644);
    const open = runCli(base(['--wg-key-file', keyFile]), { timeout: WAIT * 2 });
    assert.equal(open.code, 1);
    assert.match(open.stderr, /open\.key: has mode 0644.*nothing was registered/);
    assert.ok(!open.stderr.includes(secret));

    const none = runCli(base([]), { timeout: WAIT * 2 });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /--wg-key-file: with --netns, give --wg-key-file/);

    const rotate = runCli(base(['--wg-key-file', path.join(dir, 'r.key'), '--rotate-key']), { timeout: WAIT * 2 });
    assert.equal(rotate.code, 1);
    assert.match(rotate.stderr, /--rotate-key: needs --etcd/);
    assert.ok(!fs.existsSync(path.join(dir, 'r.key')), 'nothing was created');

    const vx = runCli(['overlay', '--mode', 'vxlan', '--self', 'n1', '--node-ip', '10.62.0.1', '--pod-cidr', '10.203.1.0/24', '--nodes', path.join(dir, 'nodes.json'), '--netns', ns(), '--rotate-key'], { timeout: WAIT * 2 });
    assert.equal(vx.code, 1);
    assert.match(vx.stderr, /--mode: --wg-key-file, --rotate-key and --wg-keepalive are for --mode wireguard/);
  });
});

// Like etcdDescribe, with the time etcd needs to start under TCG allowed.
kernelDescribe(
  'cli: overlay --mode wireguard publishes its public key; --rotate-key publishes the new one',
  function () {
    this.timeout(90000);
    let server;
    const etcd = () => server;
    before(async function () {
      if (!etcdInstalled()) {
        console.log('      (skipped: /usr/bin/etcd is missing; apt-get install etcd-server)');
        this.skip();
      }
      server = await EtcdServer.start({ startTimeoutMs: 15000 * SLOW });
    });
    after(async function () {
      if (server) await server.stop();
      server = undefined;
    });
    const ns = netnsPerTest('wgrot');
    let dir;
    let raw;
    beforeEach(function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-wgrot-'));
      ip(ns(), 'link', 'set', 'lo', 'up');
      ip(ns(), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
      ip(ns(), 'addr', 'add', '10.63.0.1/24', 'dev', 'eth0');
      ip(ns(), 'link', 'set', 'eth0', 'up');
      raw = new Etcd3({ hosts: etcd().url });
    });
    afterEach(async function () {
      await killAll();
      raw.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('the record carries the key file\'s public key; after --rotate-key, the new file\'s, and the old is logged as replaced', async function () {
      const keyFile = path.join(dir, 'wg.key');
      const prefix = `/nla-wgrot-${process.pid}/`;
      const args = ['overlay', '--mode', 'wireguard', '--self', 'r1', '--node-ip', '10.63.0.1', '--pod-cidr', '10.204.1.0/24', '--etcd', etcd().url, '--prefix', prefix, '--netns', ns(), '--wg-key-file', keyFile, '--leave'];
      const record = async () => JSON.parse((await raw.get(`${prefix}nodes/r1`).string()) ?? 'null');
      const a = startCli(args);
      await a.waitFor(/registered/, WAIT);
      const first = await readPrivateKeyFile(keyFile);
      assert.deepEqual((await record()).wireguard, { publicKey: first.publicKey().toBase64() });
      assert.equal((await record()).mode, 'wireguard');
      a.child.kill('SIGTERM');
      assert.equal((await a.exited).code, 0);

      const b = startCli([...args, '--rotate-key']);
      const rotated = await b.waitFor(/rotated the key/, WAIT);
      await b.waitFor(/registered/, WAIT);
      const second = await readPrivateKeyFile(keyFile);
      assert.ok(!second.equals(first));
      assert.ok(rotated.includes(`${first.publicKey().toBase64()} -> ${second.publicKey().toBase64()}`));
      await pollUntil(async () => (await record())?.wireguard?.publicKey === second.publicKey().toBase64(), { ms: WAIT, what: 'the new key in the record' });
      assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
      b.child.kill('SIGTERM');
      await b.exited;
      for (const out of [a.out.stderr, a.out.stdout, b.out.stderr, b.out.stdout]) {
        assert.ok(!out.includes(first.revealBase64()) && !out.includes(second.revealBase64()), 'a private key was logged');
      }
    });

    it('a running agent takes a replaced key file on SIGHUP: the record publishes the new public key (same lease); an untrusted file keeps the key', async function () {
      const keyFile = path.join(dir, 'wg.key');
      const prefix = `/nla-wgsig-${process.pid}/`;
      const args = ['overlay', '--mode', 'wireguard', '--self', 'r1', '--node-ip', '10.63.0.1', '--pod-cidr', '10.204.1.0/24', '--etcd', etcd().url, '--prefix', prefix, '--netns', ns(), '--wg-key-file', keyFile, '--leave'];
      const kv = async () => raw.get(`${prefix}nodes/r1`).exec();
      const a = startCli(args);
      await a.waitFor(/registered/, WAIT);
      const first = await readPrivateKeyFile(keyFile);
      const lease = (await kv()).kvs[0].lease;

      // A SIGHUP with the same key publishes nothing.
      a.child.kill('SIGHUP');
      await a.waitFor(/SIGHUP: re-reading .*the WireGuard key file/, WAIT);
      const { key: second } = await rotatePrivateKey(keyFile);
      a.child.kill('SIGHUP');
      await a.waitFor(/published the new public key/, WAIT);
      const line = a.lines().find((l) => /holds a new key/.test(l));
      assert.ok(line.includes(`${first.publicKey().toBase64()} -> ${second.publicKey().toBase64()}`), line);
      const after = await kv();
      assert.deepEqual(JSON.parse(after.kvs[0].value.toString()).wireguard, { publicKey: second.publicKey().toBase64() });
      assert.equal(after.kvs[0].lease, lease, 'the same lease: a rewrite of the record, not a new registration');

      // A key file others may read: refused, the key kept, the agent goes on.
      fs.chmodSync(keyFile, 0o644);
      a.child.kill('SIGHUP');
      await a.waitFor(/has mode 0644.*keeping the current key/, WAIT);
      assert.deepEqual(JSON.parse((await kv()).kvs[0].value.toString()).wireguard, { publicKey: second.publicKey().toBase64() });
      assert.equal(a.child.exitCode, null, 'still running');
      a.child.kill('SIGTERM');
      assert.equal((await a.exited).code, 0);
      for (const out of [a.out.stderr, a.out.stdout]) {
        assert.ok(!out.includes(first.revealBase64()) && !out.includes(second.revealBase64()), 'a private key was logged');
      }
    });
  },
);
