'use strict';
// Netns.worker: traffic between pods. Two namespaces joined by a veth pair; a worker in each
// exchanges UDP datagrams and TCP connections both ways, while the main thread stays home.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { Netns } = require('../../dist/netns');
const { kernelDescribe, ip, ipJson, threadNetns } = require('../support/kernel');
const { ownNamespaces, peer, exited } = require('./helpers');

const PEER = path.join(__dirname, 'fixtures', 'peer.js');
const INFO_MJS = path.join(__dirname, 'fixtures', 'info.mjs');
const A_ADDR = '10.201.0.1';
const B_ADDR = '10.201.0.2';
const inodeOf = (link) => /^net:\[(\d+)\]$/.exec(link)[1];
const fdCount = () => fs.readdirSync('/proc/self/fd').length;
const rxPackets = (ns, dev) => ipJson(ns, '-s', 'link', 'show', dev)[0].stats64.rx.packets;

/** Two namespaces of ours joined by veth nla-a (10.201.0.1/24 in A) <-> nla-b (10.201.0.2/24 in B). */
function pods(own) {
  const a = own.create();
  const b = own.create();
  ip(a, 'link', 'add', 'nla-a', 'type', 'veth', 'peer', 'name', 'nla-b', 'netns', b);
  ip(a, 'addr', 'add', `${A_ADDR}/24`, 'dev', 'nla-a');
  ip(b, 'addr', 'add', `${B_ADDR}/24`, 'dev', 'nla-b');
  for (const [ns, dev] of [[a, 'nla-a'], [b, 'nla-b']]) {
    ip(ns, 'link', 'set', 'lo', 'up');
    ip(ns, 'link', 'set', dev, 'up');
  }
  return { a, b };
}

kernelDescribe('netns: Netns.worker, traffic between pods', function () {
  const own = ownNamespaces('wk');
  const workers = [];
  afterEach(async function () {
    await Promise.all(workers.splice(0).map((w) => w.terminate()));
  });
  const start = (ns, file, options) => {
    const w = Netns.worker(ns, file, options);
    workers.push(w);
    return w;
  };

  it('UDP datagrams and TCP connections go both ways over the veth pair; the main thread never leaves home', async function () {
    const home = threadNetns();
    const samples = [];
    const sample = () => samples.push(threadNetns());
    const { a, b } = pods(own);
    const pa = peer(start(a, PEER), sample);
    const pb = peer(start(b, PEER), sample);
    await Promise.all([pa.ready, pb.ready]);

    // Each worker's thread is in its own pod.
    assert.equal(inodeOf((await pa.call('info')).ns), Netns.inode(a));
    assert.equal(inodeOf((await pb.call('info')).ns), Netns.inode(b));
    // Their sockets are too: each can bind its own address and not the other pod's.
    assert.equal(await pa.call('tryBind', { address: A_ADDR }), 'ok');
    assert.equal(await pa.call('tryBind', { address: B_ADDR }), 'EADDRNOTAVAIL');
    assert.equal(await pb.call('tryBind', { address: B_ADDR }), 'ok');
    assert.equal(await pb.call('tryBind', { address: A_ADDR }), 'EADDRNOTAVAIL');

    const rxBefore = rxPackets(b, 'nla-b');
    // UDP, A -> B and the answer B -> A; then B -> A and back.
    const udpB = await pb.call('udpEcho', { address: B_ADDR });
    const udpA = await pa.call('udpEcho', { address: A_ADDR });
    assert.deepEqual(await pa.call('udpAsk', { address: B_ADDR, port: udpB.port, data: 'ping-from-a' }), {
      reply: `echo:ping-from-a|from:${A_ADDR}`,
      from: B_ADDR,
    });
    assert.deepEqual(await pb.call('udpAsk', { address: A_ADDR, port: udpA.port, data: 'ping-from-b' }), {
      reply: `echo:ping-from-b|from:${B_ADDR}`,
      from: A_ADDR,
    });
    // TCP, a connection each way, data both ways on each.
    const tcpB = await pb.call('tcpEcho', { address: B_ADDR });
    const tcpA = await pa.call('tcpEcho', { address: A_ADDR });
    assert.deepEqual(await pa.call('tcpAsk', { address: B_ADDR, port: tcpB.port, data: 'hello-b' }), {
      reply: `ack:hello-b|from:${A_ADDR}`,
      local: A_ADDR,
    });
    assert.deepEqual(await pb.call('tcpAsk', { address: A_ADDR, port: tcpA.port, data: 'hello-a' }), {
      reply: `ack:hello-a|from:${B_ADDR}`,
      local: B_ADDR,
    });
    // It really crossed the veth pair.
    assert.ok(rxPackets(b, 'nla-b') >= rxBefore + 2 + 3, 'nla-b received the datagrams and TCP segments');

    await Promise.all([pa.call('close'), pb.call('close')]);
    assert.ok(samples.length >= 16);
    for (const s of samples) assert.equal(s, home, 'main thread namespace, sampled at every worker answer');
    assert.equal(threadNetns(), home);
  });

  it('the main thread cannot reach the pods: their addresses are not in its namespace', async function () {
    const { a } = pods(own);
    const pa = peer(start(a, PEER));
    await pa.ready;
    const udpA = await pa.call('udpEcho', { address: A_ADDR });
    // Bind in the main thread: the pod address does not exist here.
    const dgram = require('node:dgram');
    const s = dgram.createSocket('udp4');
    const code = await new Promise((resolve) => {
      s.on('error', (e) => resolve(e.code));
      s.bind(0, A_ADDR, () => resolve('ok'));
    });
    s.close();
    assert.equal(code, 'EADDRNOTAVAIL');
    assert.ok(udpA.port > 0);
  });

  it('passes workerData, argv and env through; loads .mjs, ES-module .js, file: URLs and data: URLs with import()', async function () {
    const ns = own.create();
    const inode = Netns.inode(ns);
    const once = (w) => new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    const mjs = await once(start(ns, INFO_MJS, { workerData: { n: 1, list: [1, 2] }, argv: ['--x', 7] }));
    assert.equal(inodeOf(mjs.ns), inode);
    assert.deepEqual(mjs.workerData, { n: 1, list: [1, 2] });
    assert.deepEqual(mjs.argv, [INFO_MJS, '--x', '7']);
    assert.equal(mjs.esm, true);

    const url = await once(start(ns, pathToFileURL(INFO_MJS), { workerData: 'plain' }));
    assert.equal(inodeOf(url.ns), inode);
    assert.equal(url.workerData, 'plain');

    const code = "import { parentPort, workerData } from 'node:worker_threads'; import { readlinkSync } from 'node:fs';" +
      "parentPort.postMessage({ ns: readlinkSync('/proc/thread-self/ns/net'), workerData });";
    const data = await once(start(ns, new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: 5 }));
    assert.equal(inodeOf(data.ns), inode);
    assert.equal(data.workerData, 5);

    // An ES module named .js, with top-level await: require() refuses it, import() loads it.
    const esmJs = await once(start(ns, path.join(__dirname, 'fixtures', 'esm', 'info.js'), { workerData: [1] }));
    assert.equal(inodeOf(esmJs.ns), inode);
    assert.deepEqual(esmJs.workerData, [1]);
    // Async fs work runs on libuv's pool, which stays in the process's namespace (documented).
    assert.equal(esmJs.poolNs, threadNetns());

    // CommonJS, given relative to the working directory, with env.
    const rel = `./${path.relative(process.cwd(), PEER)}`;
    const pc = peer(start(ns, rel, { workerData: { hello: 'cjs' }, env: { NLA_TEST_ENV: 'yes' }, argv: ['a'] }));
    await pc.ready;
    const info = await pc.call('info');
    assert.equal(inodeOf(info.ns), inode);
    assert.deepEqual(info.workerData, { hello: 'cjs' });
    assert.deepEqual(info.argv, [PEER, 'a']);
    assert.equal(info.env, 'yes');
  });

  it('enters the namespace that was checked, even if its name is deleted before the worker starts', async function () {
    const ns = own.create();
    const inode = Netns.inode(ns);
    const w = start(ns, INFO_MJS);
    Netns.delete(ns);
    const msg = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.equal(inodeOf(msg.ns), inode);
  });

  it('leaves no file descriptor behind: workers that run, and workers terminated before they start', async function () {
    const ns = own.create();
    const before = fdCount();
    for (let i = 0; i < 20; i++) {
      const w = Netns.worker(ns, INFO_MJS);
      if (i % 2) await w.terminate(); // usually before its bootstrap claims the namespace fd
      else await exited(w);
    }
    // A Worker constructor that throws (bad execArgv) must not leak the fd opened for it.
    assert.throws(() => Netns.worker(ns, INFO_MJS, { execArgv: ['--nla-no-such-flag'] }), { code: 'ERR_WORKER_INVALID_EXEC_ARGV' });
    assert.equal(fdCount(), before);
  });

  it('refuses eval and bad file arguments; errors in the worker\'s own code surface as its error event', async function () {
    const ns = own.create();
    assert.throws(() => Netns.worker(ns, 'x', { eval: true }), TypeError);
    assert.throws(() => Netns.worker(ns, 'bare-name.js'), TypeError);
    assert.throws(() => Netns.worker(ns, new URL('http://example.invalid/x.js')), TypeError);
    const bad = path.join(__dirname, 'fixtures', 'does-not-exist.js');
    const w = start(ns, bad);
    const err = await new Promise((resolve) => w.once('error', resolve));
    assert.match(String(err.message), /Cannot find module/);
  });
});
