'use strict';
// EtcdMembership through `etcd grpc-proxy start` when every hop is secured. A real etcd serving
// TLS only with client-certificate auth, and the proxy in front of it on loopback: the proxy
// serves TLS with its own server certificate from the test CA and requires the agents' client
// certificates (in etcd 3.4 --trusted-ca-file alone makes it require one: it has no
// --client-cert-auth flag), and reaches etcd with its own client certificate
// (--cacert/--cert/--key). Proves:
//  1. three agents see each other through it, a node's changed IP reaches the others, and etcd
//     still holds one watcher for all of them (the proxy's coalescing survives TLS);
//  2. with etcd's auth on, the proxy forwards user/password tokens: the right password joins, a
//     wrong one is an EtcdAccessError ('authentication') and never listed; the coalescing holds.
//     A certificate's CN does NOT pass through: etcd sees the proxy's certificate, whose CN
//     etcd 3.4's proxy requires to be empty, so a certificate-only agent is refused ('permission');
//  3. an agent given the wrong CA for the proxy, or a client certificate it does not trust, fails
//     at start with an EtcdAccessError saying so, and never joins.
// Certificates are made in the setup (etcd-tls-pki.js); each test starts its own etcd and proxy.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const https = require('node:https');
const { spawn } = require('node:child_process');
const { Etcd3 } = require('etcd3');
const { EtcdMembership, EtcdAccessError } = require('../../dist/membership');
const { EtcdServer, etcdInstalled, freePort, ETCD_BINARY } = require('../../examples/lib/etcd-server');
const { makePki, issue, credentialsOf, grantNodes } = require('./etcd-tls-pki');
const { waitFor, collect, memberOptions } = require('./helpers');
const { sleep } = require('../support/poll');

const PREFIX = `/nla-proxy-tls-${process.pid}/`;
const NODES = [1, 2, 3].map((i) => ({ name: `host-${i}`, nodeIP: `10.70.0.${i}`, podCIDR: `10.244.${i}.0/24`, password: `pw-${i}-Xk${i}9q` }));
const self = (i, nodeIP = NODES[i - 1].nodeIP) => ({ name: NODES[i - 1].name, nodeIP, podCIDR: NODES[i - 1].podCIDR });
const names = (list) => list.map((n) => n.name);
const allSee = (ms, expected) => ms.every((m) => JSON.stringify(names(m.nodes())) === JSON.stringify(expected));

/** GET over TLS with a client certificate; resolves with the body, or undefined when nothing answers. */
function httpsGet(url, tls) {
  return new Promise((resolve) => {
    const req = https.get(url, { timeout: 1000, ...tls }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** `etcd grpc-proxy start` serving TLS (requiring client certificates) in front of an https etcd. */
async function startProxy(etcdUrl, pki) {
  const f = pki.file;
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `nla-grpc-proxy-tls-${process.pid}-`));
  const args = ['grpc-proxy', 'start', `--endpoints=${etcdUrl}`, `--listen-addr=127.0.0.1:${port}`, `--data-dir=${dataDir}`,
    `--cacert=${f('ca.crt')}`, `--cert=${f('proxy-client.crt')}`, `--key=${f('proxy-client.key')}`,
    `--cert-file=${f('proxy-server.crt')}`, `--key-file=${f('proxy-server.key')}`, `--trusted-ca-file=${f('ca.crt')}`];
  const proc = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH || '/usr/bin:/bin', HOME: dataDir } });
  const log = [];
  proc.stderr.on('data', (d) => log.push(String(d)) > 100 && log.shift());
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const proxy = {
    url: `https://127.0.0.1:${port}`,
    log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  // Its https listener relays etcd's /metrics: answering means it serves TLS and reaches etcd.
  const probe = { ca: pki.pem.ca.cert, cert: pki.pem['host-1'].cert, key: pki.pem['host-1'].key };
  await waitFor(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`grpc-proxy exited: ${log.join('').slice(-1500)}`);
    return (await httpsGet(`${proxy.url}/metrics`, probe)) !== undefined;
  }, 15000, 'grpc-proxy serving TLS').catch(async (e) => {
    await proxy.stop();
    throw e;
  });
  return proxy;
}

describe('membership: EtcdMembership through etcd grpc-proxy, TLS on both hops', function () {
  this.timeout(60000);
  let pki;
  let cleanups; // run in reverse order after each test
  let running;

  before(async function () {
    if (!etcdInstalled()) {
      console.log(`grpc-proxy TLS tests skipped: ${ETCD_BINARY} is missing (apt-get install etcd-server)`);
      this.skip();
    }
    pki = await makePki([...NODES.map((n) => n.name), 'root']);
    // The proxy's own certificates: etcd 3.4's proxy refuses any with a Common Name, its server
    // one and its client one to etcd ("cert has non empty Common Name"), so none is an etcd user.
    for (const [name, server] of [['proxy-server', true], ['proxy-client', false]]) {
      pki.pem[name] = await issue(pki.pem.ca, '', { server });
      fs.writeFileSync(pki.file(`${name}.crt`), pki.pem[name].cert);
      fs.writeFileSync(pki.file(`${name}.key`), pki.pem[name].key, { mode: 0o600 });
    }
  });
  after(() => pki?.remove());
  beforeEach(() => {
    cleanups = [];
    running = [];
  });
  afterEach(async function () {
    for (const m of running) await m.stop({ leave: true }).catch(() => undefined);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  /** A TLS etcd requiring client certificates (auth on when `auth`), a TLS proxy in front, and a root client to etcd. */
  async function securedStack({ auth = false } = {}) {
    const f = pki.file;
    const etcd = await EtcdServer.start({
      tls: { certFile: f('server.crt'), keyFile: f('server.key'), caFile: f('ca.crt'), clientCertAuth: true, client: { cert: pki.pem.root.cert, key: pki.pem.root.key } },
    });
    cleanups.push(() => etcd.stop());
    const root = new Etcd3({ hosts: etcd.url, credentials: credentialsOf(pki, 'root') });
    cleanups.push(async () => root.close());
    if (auth) {
      await root.user('root').create('root-password-not-used');
      await root.user('root').addRole('root');
      await grantNodes(root, PREFIX, NODES);
      await root.auth.authEnable();
    }
    const proxy = await startProxy(etcd.url, pki);
    cleanups.push(() => proxy.stop());
    const metricsTls = { ca: pki.pem.ca.cert, cert: pki.pem.root.cert, key: pki.pem.root.key };
    const watchers = async () => {
      const page = await httpsGet(`${etcd.url}/metrics`, metricsTls);
      const m = page?.match(/^etcd_debugging_mvcc_watcher_total (\S+)$/m);
      assert.ok(m, 'etcd exports etcd_debugging_mvcc_watcher_total');
      return Number(m[1]);
    };
    return { etcd, proxy, root, watchers };
  }

  /** A member whose only endpoint is the proxy, with its client certificate (`cert`; null: none) and `extra`. */
  function member(proxy, i, { cert = NODES[i - 1].name, ca = 'ca', nodeIP, ...extra } = {}) {
    const tls = { ca: pki.pem[ca].cert, ...(cert ? { cert: pki.pem[cert].cert, key: pki.pem[cert].key } : {}) };
    const m = new EtcdMembership(memberOptions(proxy.url, PREFIX, self(i, nodeIP), { callTimeoutMs: 2000, tls, ...extra }));
    m.warnings = collect(m, 'warning');
    running.push(m);
    return m;
  }
  /** start() must reject with an EtcdAccessError of `problem` whose message matches `re`, at once. */
  async function refused(m, problem, re) {
    const t0 = Date.now();
    await assert.rejects(m.start(), (e) => {
      assert.ok(e instanceof EtcdAccessError, `${problem}: ${e}`);
      assert.equal(e.problem, problem, e.message);
      assert.match(e.message, re);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, `${problem}: refused at once (${Date.now() - t0} ms)`);
  }
  /** The keys under PREFIX that name `name` (its record, lock, owner key), read as root from etcd. */
  const keysOf = async (root, name) => Object.keys(await root.getAll().prefix(PREFIX).strings()).filter((k) => k.endsWith(`/${name}`));

  it('agents with client certificates see each other through a TLS proxy that reaches etcd with its own certificate; a changed node IP reaches the others; etcd holds one watcher for all three', async function () {
    const { proxy, root, watchers } = await securedStack();
    const base = await watchers();
    const ms = [1, 2, 3].map((i) => member(proxy, i));
    for (const m of ms) await m.start();
    await waitFor(() => allSee(ms, ['host-1', 'host-2', 'host-3']), 10000, 'all three listed');

    // host-3 comes back with another node IP (a rebooted node, new address): written through the proxy with its certificate.
    await ms[2].stop({ leave: true });
    await waitFor(() => allSee(ms.slice(0, 2), ['host-1', 'host-2']), 5000, 'host-3 gone');
    const again = member(proxy, 3, { nodeIP: '10.70.0.33' });
    await again.start();
    const three = [ms[0], ms[1], again];
    await waitFor(() => three.every((m) => m.nodes().find((n) => n.name === 'host-3')?.nodeIP === '10.70.0.33'), 5000, 'host-3\'s new node IP on every member');
    assert.equal(JSON.parse((await root.get(`${PREFIX}nodes/host-3`).string()) ?? '{}').nodeIP, '10.70.0.33', 'the record in etcd');
    for (const m of three) assert.deepEqual(m.warnings.filter((w) => /lost or replaced its data|reading everything again/.test(w)), [], `${m.self().name}: warnings`);

    // Coalescing: the three members' watches are one watch on etcd (watchers of a fresh etcd, before vs now).
    let last;
    await waitFor(async () => (last = await watchers()) - base === 1, 10000, () => `one watcher on etcd for three members (before ${base}, now ${last})`);
    await sleep(600);
    assert.equal((await watchers()) - base, 1, 'still one watcher');
  });

  it('etcd auth through the proxy: user/password tokens are forwarded (right password joins, wrong one is refused and never listed); a certificate CN is not', async function () {
    const { proxy, root, watchers } = await securedStack({ auth: true });
    const base = await watchers();
    const pw = (i) => ({ auth: { username: NODES[i - 1].name, password: NODES[i - 1].password } });
    const a = member(proxy, 1, pw(1));
    const b = member(proxy, 2, pw(2));
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => allSee([a, b], ['host-1', 'host-2']), 10000, 'host-1 and host-2 listed');
    // Written as etcd user host-1 (its role allows only its own keys).
    assert.ok((await keysOf(root, 'host-1')).includes(`${PREFIX}nodes/host-1`));

    // Wrong password: etcd's refusal comes back through the proxy.
    const wrong = member(proxy, 3, { auth: { username: 'host-3', password: 'wrong-Password-77' } });
    await refused(wrong, 'authentication', /^etcd refused the user name or password of etcd user "host-3" \(authentication failed\)/);
    // Certificate only (CN=host-3): etcd sees the proxy's certificate (empty CN, no etcd user), not the agent's.
    const certOnly = member(proxy, 3);
    await assert.rejects(certOnly.start(), (e) => {
      assert.ok(e instanceof EtcdAccessError, String(e));
      assert.equal(e.problem, 'permission', e.message);
      // The message names the agent's CN, though etcd checked the proxy's (src/ cannot tell a proxy).
      assert.match(e.message, /permission denied for etcd user "host-3" \(the client certificate's CN, unless a grpc-proxy stands between: etcd then sees the proxy's certificate\)/);
      return true;
    });
    await sleep(1000);
    assert.deepEqual([names(a.nodes()), names(b.nodes())], [['host-1', 'host-2'], ['host-1', 'host-2']], 'host-3 in nobody\'s list');
    assert.deepEqual(await keysOf(root, 'host-3'), [], 'nothing of host-3 in etcd');

    // The right password for host-3 then joins.
    const c = member(proxy, 3, pw(3));
    await c.start();
    await waitFor(() => allSee([a, b, c], ['host-1', 'host-2', 'host-3']), 10000, 'all three listed');
    let last;
    await waitFor(async () => (last = await watchers()) - base === 1, 10000, () => `one watcher on etcd for three authenticated members (before ${base}, now ${last})`);
  });

  it('an agent given the wrong CA for the proxy, or a client certificate the proxy does not trust, is refused at start and never joins', async function () {
    const { proxy, root } = await securedStack();
    const a = member(proxy, 1);
    await a.start();
    const lists = collect(a, 'nodes');
    await refused(member(proxy, 2, { ca: 'otherCa' }), 'server-untrusted', /^etcd's TLS certificate is not trusted \(.*\): give the CA that signed it/);
    await refused(member(proxy, 3, { cert: 'stranger' }), 'client-refused', /^etcd refused this client's TLS certificate \(TLS alert "[a-z ]+" from etcd\)/);
    // No client certificate at all: --trusted-ca-file alone makes the proxy require one.
    await refused(member(proxy, 2, { cert: null }), 'client-refused', /^etcd refused this client's TLS certificate \(TLS alert "bad certificate" from etcd\)/);
    await sleep(1000);
    assert.deepEqual(names(a.nodes()), ['host-1']);
    assert.ok(lists.every((l) => JSON.stringify(names(l)) === '["host-1"]'), JSON.stringify(lists.map(names)));
    assert.deepEqual([...(await keysOf(root, 'host-2')), ...(await keysOf(root, 'host-3'))], [], 'nothing of host-2 or host-3 in etcd');
  });
});
