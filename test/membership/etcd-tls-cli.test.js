'use strict';
// `netlink-agent overlay` against a real etcd serving TLS only, requiring client certificates,
// with auth on and the per-node layout (etcd-tls-pki.js): each agent runs in a namespace this
// test made. Refusals (wrong CA, expired certificate, wrong password, another node's name) end
// in a sentence and leave the namespace's kernel state exactly as it was; the password is never
// on the command line nor in any output.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { secureEtcdDescribe } = require('./etcd-tls-pki');
const { netnsPerTest, ip, ipJson, hostLike } = require('../support/kernel');
const { pollUntil, sleep } = require('../support/poll');
const { startCli, runCli, killAll } = require('../cli/helpers');

const PASSWORD_C = 'pw-c-7Hq2LmX9';
const NODES = [
  { name: 'host-a', podCIDR: '10.245.1.0/24', nodeIP: '10.62.0.1', password: 'pw-a-unused-1' },
  { name: 'host-b', podCIDR: '10.245.2.0/24', nodeIP: '10.62.0.2', password: 'pw-b-unused-2' },
  { name: 'host-c', podCIDR: '10.245.3.0/24', nodeIP: '10.62.0.3', password: PASSWORD_C },
];
const PREFIX = `/nla-seccli-${process.pid}/`;
const until = (cond, ms, what) => pollUntil(cond, { ms, what, every: 50 });

/** Everything of a namespace the overlay could change. */
function kernelOf(ns) {
  return JSON.stringify({
    // Admin state, not operstate: a fresh veth pair's carrier comes up by itself a moment later.
    links: ipJson(ns, '-d', 'link', 'show').map((l) => [l.ifname, l.flags.includes('UP'), l.mtu, l.address, l.linkinfo?.info_kind]),
    addrs: ipJson(ns, 'addr', 'show').map((l) => [l.ifname, l.addr_info.filter((a) => !a.local.startsWith('fe80')).map((a) => `${a.local}/${a.prefixlen}`)]),
    // IPv6 link-local routes come and go by themselves (DAD) and are no agent's business.
    routes: ipJson(ns, 'route', 'show', 'table', 'all').filter((r) => !/^(fe80|ff00)/.test(r.dst)),
    neigh: ipJson(ns, 'neigh', 'show'),
    fdb: execFileSync('bridge', ['-n', ns, 'fdb', 'show'], { encoding: 'utf8' }),
  });
}

secureEtcdDescribe('cli: netlink-agent overlay with TLS, client certificates and etcd auth', { nodes: NODES, prefix: PREFIX, root: true }, function (ctx) {
  this.timeout(90000);
  const ns = netnsPerTest('esec');
  let peerLease;
  before(async function () {
    // host-b is published by the administrator (root), with its reservation, as its agent would.
    const { root } = ctx();
    const b = NODES[1];
    peerLease = root.lease(120);
    await peerLease.put(`${PREFIX}alloc/subnet/${b.podCIDR.replace('/', '-')}`).value(JSON.stringify({ name: b.name, podCIDR: b.podCIDR }));
    await peerLease.put(`${PREFIX}alloc/owner/${b.name}`).value(b.podCIDR);
    await peerLease.put(`${PREFIX}nodes/${b.name}`).value(JSON.stringify({ name: b.name, nodeIP: b.nodeIP, podCIDR: b.podCIDR, mode: 'vxlan' }));
  });
  after(async function () {
    await peerLease?.revoke().catch(() => undefined);
  });
  afterEach(async function () {
    await killAll();
  });
  const f = (name) => ctx().pki.file(name);
  const tlsArgs = (who, ca = 'ca') => ['--etcd-cafile', f(`${ca}.crt`), '--etcd-certfile', f(`${who}.crt`), '--etcd-keyfile', f(`${who}.key`)];
  const overlayArgs = (name, extra) => {
    const n = NODES.find((x) => x.name === name);
    return ['overlay', '--mode', 'vxlan', '--self', name, '--node-ip', n.nodeIP, '--pod-cidr', n.podCIDR, '--etcd', ctx().etcd.url, '--prefix', PREFIX, '--ttl', '2', '--netns', ns(), ...extra];
  };
  const overlayRoutes = () => ipJson(ns(), 'route', 'show', 'proto', '78').map((r) => r.dst).sort();

  it('--etcd-cafile/--etcd-certfile/--etcd-keyfile: the agent (etcd user = its certificate\'s CN) converges; --json output stays JSON lines', async function () {
    hostLike(ns(), '10.62.0.1/24');
    const a = startCli(overlayArgs('host-a', [...tlsArgs('host-a'), '--json']));
    await until(() => overlayRoutes().join() === '10.245.2.0/24', 20000, 'route to host-b');
    a.child.kill('SIGTERM');
    assert.equal((await a.exited).code, 0, a.out.stderr);
    for (const line of a.lines()) assert.doesNotThrow(() => JSON.parse(line), line);
  });

  it('--etcd-user with --etcd-password-file: converges; a password changed under it is reported and the kernel stays as it is; the password appears nowhere', async function () {
    hostLike(ns(), '10.62.0.3/24');
    const pwFile = path.join(ctx().pki.dir, 'host-c.password');
    fs.writeFileSync(pwFile, `${PASSWORD_C}\n`, { mode: 0o600 });
    // etcd requires a client certificate for TLS; the etcd user is the one of the password.
    const c = startCli(overlayArgs('host-c', [...tlsArgs('host-a'), '--etcd-user', 'host-c', '--etcd-password-file', pwFile]));
    await until(() => overlayRoutes().join() === '10.245.2.0/24', 20000, 'route to host-b');
    await c.waitFor(/converged/);
    assert.ok(!fs.readFileSync(`/proc/${c.child.pid}/cmdline`, 'utf8').includes(PASSWORD_C));
    const before = kernelOf(ns());
    await ctx().root.user('host-c').setPassword('pw-rotated-3');
    try {
      // The agent follows etcd's watch and reads again on its resync interval (30 s) or on
      // SIGHUP: the read is refused and reported.
      c.child.kill('SIGHUP');
      await c.waitFor(/membership: etcd .* unreachable: etcd refused the user name or password of etcd user "host-c" \(authentication failed\).*keeping the last known nodes/, 20000);
      // host-b leaves meanwhile: an agent that could read etcd would remove its route (the
      // still open watch delivers the deletion; it changes nothing while etcd refuses us).
      await ctx().root.delete().key(`${PREFIX}nodes/host-b`);
      await sleep(1500);
      assert.equal(kernelOf(ns()), before, 'the kernel is left as it was');
      c.child.kill('SIGTERM');
      assert.equal((await c.exited).code, 0, c.out.stderr);
      assert.equal(kernelOf(ns()), before);
    } finally {
      await ctx().root.user('host-c').setPassword(PASSWORD_C);
      const b = NODES[1];
      await peerLease.put(`${PREFIX}nodes/${b.name}`).value(JSON.stringify({ name: b.name, nodeIP: b.nodeIP, podCIDR: b.podCIDR, mode: 'vxlan' }));
    }
    assert.ok(!c.out.stderr.includes(PASSWORD_C) && !c.out.stdout.includes(PASSWORD_C), 'no password in the output');
  });

  const refusals = [
    ['a CA that did not sign etcd\'s certificate', () => tlsArgs('host-a', 'otherCa'), {}, /error: etcd's TLS certificate is not trusted \(unable to verify the first certificate\): give the CA that signed it \(tls\.ca, --etcd-cafile\)/],
    ['an expired client certificate', () => tlsArgs('expired'), {}, /error: invalid etcd options: --etcd-certfile: the certificate \(CN=host-a\) expired on 20\d\d-[-\dT:.]+Z; etcd refuses it/],
    ['a client certificate of another CA', () => tlsArgs('stranger'), {}, /error: etcd refused this client's TLS certificate \(TLS alert "bad certificate" from etcd\)/],
    [
      'a wrong password (from the environment)',
      () => [...tlsArgs('host-a'), '--etcd-user', 'host-c'],
      { NETLINK_AGENT_ETCD_PASSWORD: 'Wrong-Pw-4242' },
      /error: etcd refused the user name or password of etcd user "host-c" \(authentication failed\)/,
    ],
  ];
  for (const [what, args, env, re] of refusals) {
    it(`${what}: exit 1 with a sentence, nothing registered, the kernel as it was`, async function () {
      hostLike(ns(), '10.62.0.3/24');
      const before = kernelOf(ns());
      const records = await ctx().root.getAll().prefix(PREFIX).keys();
      const saved = { ...process.env };
      Object.assign(process.env, env);
      let r;
      try {
        r = startCli(overlayArgs('host-c', args()));
      } finally {
        for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
      }
      const { code } = await r.exited;
      assert.equal(code, 1, r.out.stderr);
      assert.match(r.out.stderr, re);
      for (const v of Object.values(env)) assert.ok(!r.out.stderr.includes(v), 'no password in the output');
      assert.equal(kernelOf(ns()), before);
      // Nothing new in etcd (an earlier test's record may expire meanwhile).
      assert.deepEqual((await ctx().root.getAll().prefix(PREFIX).keys()).filter((k) => !records.includes(k)), []);
    });
  }

  it('an agent with host-a\'s certificate running as --self host-b: etcd refuses, exit 1 saying so, host-b\'s record untouched', async function () {
    hostLike(ns(), '10.62.0.2/24');
    const before = kernelOf(ns());
    const stored = await ctx().root.getAll().prefix(PREFIX).strings();
    const r = startCli(overlayArgs('host-b', tlsArgs('host-a')));
    const t0 = Date.now();
    const { code } = await r.exited;
    assert.equal(code, 1, r.out.stderr);
    assert.ok(Date.now() - t0 < 10000, 'not retried');
    assert.match(r.out.stderr, /error: etcd refused taking the name lock \/nla-seccli-\d+\/lock\/host-b \(permission denied for etcd user "host-a" \(the client certificate's CN, unless a grpc-proxy stands between: etcd then sees the proxy's certificate\)\)/);
    assert.equal(kernelOf(ns()), before);
    // host-b's record and reservation are as they were and nothing was added; the records of
    // the earlier tests' agents (lease of 2 s) may expire meanwhile, so they are not compared.
    const after = await ctx().root.getAll().prefix(PREFIX).strings();
    const hostB = (all) => Object.entries(all).filter(([k]) => /host-b|10\.245\.2\.0-24/.test(k));
    assert.ok(hostB(stored).length >= 3, JSON.stringify(stored));
    assert.deepEqual(hostB(after), hostB(stored));
    assert.deepEqual(Object.keys(after).filter((k) => !(k in stored)), []);
  });

  it('http:// to a non-loopback etcd is refused with the reason unless --etcd-insecure; a password on the command line is refused without repeating it', async function () {
    hostLike(ns(), '10.62.0.3/24');
    const plain = runCli(['overlay', '--mode', 'vxlan', '--self', 'host-c', '--node-ip', '10.62.0.3', '--pod-cidr', '10.245.3.0/24', '--etcd', 'http://10.99.0.1:2379', '--netns', ns()]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /--etcd \(URL 1\): http:\/\/10\.99\.0\.1:2379 is plain HTTP to another host: anyone on the path could read the node records and forge one, redirecting pod traffic; use https:\/\/ \(with a CA, --etcd-cafile\), or accept the risk with insecure \(--etcd-insecure\)/);
    const secret = 'Argv-Secret-123';
    const argv = runCli(['overlay', '--mode', 'vxlan', '--self', 'host-c', '--node-ip', '10.62.0.3', '--pod-cidr', '10.245.3.0/24', '--etcd', ctx().etcd.url, '--etcd-user', 'host-c', '--etcd-password', secret]);
    assert.equal(argv.code, 1);
    assert.match(argv.stderr, /--etcd-password is not accepted: a password on the command line is visible to every user of this machine/);
    assert.ok(!argv.stderr.includes(secret) && !argv.stdout.includes(secret));
    assert.doesNotMatch(runCli(['overlay', '--help']).stdout, /--etcd-password </);
  });
});
