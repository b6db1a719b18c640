'use strict';
// EtcdMembership against a real etcd that serves TLS only, requires client certificates signed
// by the test CA and has auth on with the per-node write layout of the README ("Securing
// etcd"); certificates are made in the setup (etcd-tls-pki.js). Also the option checks that
// run before any connection: plain HTTP to another host, TLS material, passwords never shown.
const assert = require('node:assert/strict');
const { Etcd3, Range } = require('etcd3');
const { ValidationError } = require('../../dist');
const { EtcdMembership, EtcdAccessError } = require('../../dist/membership');
const { makePki, credentialsOf, secureEtcdDescribe } = require('./etcd-tls-pki');
const { waitFor, collect } = require('./helpers');
const { sleep } = require('../support/poll');

const PASSWORD_C = 'c-secret-Zq81xv';
const NODES = [
  { name: 'host-a', podCIDR: '10.244.1.0/24', nodeIP: '10.70.0.1', password: 'a-secret-Jk2' },
  { name: 'host-b', podCIDR: '10.244.2.0/24', nodeIP: '10.70.0.2', password: 'b-secret-Lm3' },
  { name: 'host-c', podCIDR: '10.244.3.0/24', nodeIP: '10.70.0.3', password: PASSWORD_C },
];
const PREFIX = `/nla-sec-${process.pid}/`;
const byName = (n) => NODES.find((x) => x.name === n);
const self = (n) => ({ name: n, nodeIP: byName(n).nodeIP, podCIDR: byName(n).podCIDR, mode: 'vxlan' });
const names = (list) => list.map((n) => n.name);
const fast = { prefix: PREFIX, ttlSeconds: 2, debounceMs: 20, minBackoffMs: 50, maxBackoffMs: 500, callTimeoutMs: 2000 };

secureEtcdDescribe('membership: EtcdMembership with TLS, client certificates and etcd auth', { nodes: NODES, prefix: PREFIX }, function (ctx) {
  this.timeout(60000);
  let running;
  beforeEach(() => (running = []));
  afterEach(async function () {
    for (const m of running) await m.stop({ leave: true }).catch(() => undefined);
  });
  const tlsFor = (who, ca = 'ca') => ({ ca: ctx().pki.pem[ca].cert, cert: ctx().pki.pem[who].cert, key: ctx().pki.pem[who].key });
  function member(name, extra = {}) {
    const m = new EtcdMembership({ endpoints: ctx().etcd.url, self: self(name), ...fast, ...extra });
    running.push(m);
    return m;
  }

  it('agents authenticated by their certificate\'s CN, or by user and password over TLS, register and see each other', async function () {
    const a = member('host-a', { tls: tlsFor('host-a') });
    const b = member('host-b', { tls: tlsFor('host-b') });
    // host-c: TLS with some client certificate (etcd requires one), and the etcd user by password.
    const c = member('host-c', { tls: tlsFor('host-a'), auth: { username: 'host-c', password: PASSWORD_C } });
    await Promise.all([a.start(), b.start(), c.start()]);
    await waitFor(() => a.nodes().length === 3 && c.nodes().length === 3, 10000, 'three nodes');
    assert.deepEqual(names(a.nodes()), ['host-a', 'host-b', 'host-c']);
    assert.deepEqual(a.nodes()[2].podCIDR, '10.244.3.0/24');
  });

  it('a node\'s etcd user cannot create, change or delete another node\'s record, reservation, name lock or lease', async function () {
    const b = member('host-b', { tls: tlsFor('host-b') });
    await b.start();
    const root = ctx().root;
    const before = await root.getAll().prefix(PREFIX).strings();
    const bLease = String((await root.get(`${PREFIX}nodes/host-b`).exec()).kvs[0].lease);
    const a = new Etcd3({ hosts: ctx().etcd.url, credentials: credentialsOf(ctx().pki, 'host-a') });
    try {
      const forged = JSON.stringify({ ...JSON.parse(before[`${PREFIX}nodes/host-b`]), nodeIP: '10.70.0.66' });
      const attempts = {
        'put nodes/host-b': () => a.put(`${PREFIX}nodes/host-b`).value(forged),
        'create nodes/host-x': () => a.put(`${PREFIX}nodes/host-x`).value(forged),
        'delete nodes/host-b': () => a.delete().key(`${PREFIX}nodes/host-b`),
        'delete alloc/subnet of host-b': () => a.delete().key(`${PREFIX}alloc/subnet/10.244.2.0-24`),
        'put alloc/owner/host-b': () => a.put(`${PREFIX}alloc/owner/host-b`).value('10.244.1.0/24'),
        'reserve an unassigned subnet': () => a.put(`${PREFIX}alloc/subnet/10.244.9.0-24`).value('{"name":"host-a","podCIDR":"10.244.9.0/24"}'),
        'take lock/host-b': () => a.put(`${PREFIX}lock/host-b`).value('x'),
        'delete the whole prefix': () => a.delete().prefix(PREFIX),
        "revoke host-b's lease": () => a.leaseClient.leaseRevoke({ ID: bLease }),
      };
      for (const [what, attempt] of Object.entries(attempts)) {
        await assert.rejects(attempt(), (e) => e.constructor.name === 'EtcdPermissionDeniedError', what);
      }
      // What it may do: write its own record.
      await a.put(`${PREFIX}nodes/host-a`).value('{}');
      await a.delete().key(`${PREFIX}nodes/host-a`);
    } finally {
      a.close();
    }
    assert.deepEqual(await root.getAll().prefix(PREFIX).strings(), before, 'nothing of host-b changed');
  });

  it('an agent whose etcd user is another node is refused by etcd at start: an EtcdAccessError naming the key, host-b untouched', async function () {
    const b = member('host-b', { tls: tlsFor('host-b') });
    await b.start();
    const before = await ctx().root.getAll().prefix(PREFIX).strings();
    const impostor = member('host-b', { tls: tlsFor('host-a'), ...{ minBackoffMs: 20 } });
    const errors = collect(impostor, 'error');
    const t0 = Date.now();
    await assert.rejects(impostor.start(), (e) => {
      assert.ok(e instanceof EtcdAccessError, String(e));
      assert.equal(e.problem, 'permission');
      assert.match(e.message, /^etcd refused taking the name lock \/nla-sec-\d+\/lock\/host-b \(permission denied for etcd user "host-a" \(the client certificate's CN, unless a grpc-proxy stands between: etcd then sees the proxy's certificate\)\)/);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, 'refused at once, not retried');
    assert.deepEqual(errors, []);
    // Its own podCIDR it may reserve only when the administrator assigned it.
    const greedy = member('host-a', { tls: tlsFor('host-a'), self: { ...self('host-a'), podCIDR: '10.244.9.0/24' } });
    await assert.rejects(greedy.start(), (e) => e instanceof EtcdAccessError && /^etcd refused reserving a podCIDR under .*alloc\/ \(permission denied/.test(e.message));
    assert.deepEqual(await ctx().root.getAll().prefix(PREFIX).strings(), before);
  });

  it('a write refused while running (the node\'s role revoked) stops the membership once, not retried forever', async function () {
    const a = member('host-a', { tls: tlsFor('host-a') });
    await a.start();
    const fatal = collect(a, 'fatal');
    const root = ctx().root;
    await root.role('nla-node-host-a').revoke({ permission: 'Readwrite', range: new Range(`${PREFIX}nodes/host-a`) });
    try {
      // The record goes (an administrator removed it): the agent wants to publish it again.
      await root.delete().key(`${PREFIX}nodes/host-a`);
      await waitFor(() => fatal.length === 1, 10000, 'fatal');
      assert.ok(fatal[0] instanceof EtcdAccessError && /^etcd refused writing \/nla-sec-\d+\/nodes\/host-a \(permission denied/.test(fatal[0].message), String(fatal[0]));
      await sleep(1500);
      assert.equal(fatal.length, 1);
      assert.equal((await root.get(`${PREFIX}nodes/host-a`).exec()).kvs.length, 0, 'no further attempt succeeded');
    } finally {
      await root.role('nla-node-host-a').grant({ permission: 'Readwrite', range: new Range(`${PREFIX}nodes/host-a`) });
    }
  });

  it('wrong CA, a certificate etcd does not trust, a wrong password: start() rejects with a sentence saying what to change', async function () {
    const cases = [
      ['server-untrusted', { tls: tlsFor('host-a', 'otherCa') }, /^etcd's TLS certificate is not trusted \(unable to verify the first certificate\): give the CA that signed it/],
      ['client-refused', { tls: { ...tlsFor('stranger') } }, /^etcd refused this client's TLS certificate \(TLS alert "bad certificate" from etcd\): it requires a client certificate signed by a CA it trusts/],
      ['authentication', { tls: tlsFor('host-c'), auth: { username: 'host-c', password: 'wrong-Password-77' } }, /^etcd refused the user name or password of etcd user "host-c" \(authentication failed\)/],
    ];
    for (const [problem, extra, re] of cases) {
      const m = member('host-c', extra);
      const t0 = Date.now();
      await assert.rejects(m.start(), (e) => {
        assert.ok(e instanceof EtcdAccessError, `${problem}: ${e}`);
        assert.equal(e.problem, problem);
        assert.match(e.message, re);
        assert.ok(!e.message.includes('wrong-Password-77') && !e.message.includes(PASSWORD_C), 'no password in the message');
        return true;
      });
      assert.ok(Date.now() - t0 < 5000, `${problem}: refused at once`);
    }
  });

  for (const reads of ['full', 'incremental']) {
    // reads 'full' finds out at the re-read a change triggers; 'incremental' applies the change
    // the watch already delivers (no read needed) and finds out at its periodic check.
    it(`a password changed under a running agent (reads ${reads}): it reports the refusal and keeps its last node list`, async function () {
      const a = member('host-a', { tls: tlsFor('host-a') });
      const c = member('host-c', { tls: tlsFor('host-a'), auth: { username: 'host-c', password: PASSWORD_C }, reads, ...(reads === 'incremental' ? { resyncIntervalMs: 500 } : {}) });
      await Promise.all([a.start(), c.start()]);
      await waitFor(() => c.nodes().length === 2, 10000, 'two nodes');
      const status = collect(c, 'status');
      const nodes = collect(c, 'nodes');
      await ctx().root.user('host-c').setPassword('rotated-Pw-5');
      try {
        if (reads === 'full') await ctx().root.delete().key(`${PREFIX}nodes/host-a`); // a change c would otherwise see
        await waitFor(() => status.some((s) => s.state === 'disconnected'), 15000, 'disconnected status');
        const s = status.find((x) => x.state === 'disconnected');
        assert.ok(s.error instanceof EtcdAccessError && s.error.problem === 'authentication', String(s.error));
        await sleep(1000);
        assert.deepEqual(nodes, [], 'nothing emitted while etcd refuses us');
        assert.deepEqual(names(c.nodes()), ['host-a', 'host-c'], 'the last list stays');
      } finally {
        await ctx().root.user('host-c').setPassword(PASSWORD_C);
      }
    });
  }
});

describe('membership: EtcdMembership security options (checked before any connection)', function () {
  this.timeout(30000);
  let pki;
  before(async function () {
    pki = await makePki(['host-a']);
  });
  after(() => pki?.remove());
  const base = { self: { name: 'n1', nodeIP: '10.0.0.1', podCIDR: '10.244.1.0/24', mode: 'vxlan' } };
  const problemsOf = (o) => {
    try {
      new EtcdMembership({ ...base, ...o }).stop();
    } catch (e) {
      assert.ok(e instanceof ValidationError, String(e));
      return e.problems;
    }
    return [];
  };

  it('plain http:// to another host is refused with the reason, unless insecure; loopback and https are fine', function () {
    const [p] = problemsOf({ endpoints: 'http://10.0.0.2:2379' });
    assert.equal(p.path, 'endpoints[0]');
    assert.match(p.message, /is plain HTTP to another host: anyone on the path could read the node records and forge one, redirecting pod traffic; use https:\/\//);
    assert.deepEqual(problemsOf({ endpoints: 'http://10.0.0.2:2379', insecure: true }), []);
    for (const ok of ['http://127.0.0.1:2379', 'http://localhost:2379', 'http://[::1]:2379', 'https://10.0.0.2:2379']) assert.deepEqual(problemsOf({ endpoints: ok }), [], ok);
    assert.deepEqual(problemsOf({ endpoints: 'https://10.0.0.2:2379', tls: { ca: pki.pem.ca.cert, cert: pki.pem['host-a'].cert, key: pki.pem['host-a'].key } }), []);
    assert.deepEqual(problemsOf({ endpoints: ['https://10.0.0.2:2379', 'http://127.0.0.1:2379'] }).map((x) => x.path), ['endpoints']);
    assert.deepEqual(problemsOf({ endpoints: 'http://127.0.0.1:2379', tls: { ca: pki.pem.ca.cert } }).map((x) => x.path), ['endpoints[0]']);
  });

  it('TLS material: unreadable, expired, a key that is not the certificate\'s, one without the other: named fields', function () {
    const a = pki.pem['host-a'];
    const at = (o) => problemsOf({ endpoints: 'https://127.0.0.1:2379', tls: o }).map((x) => `${x.path}: ${x.message}`);
    assert.deepEqual(at({ ca: 'not a certificate' }), ['tls.ca: holds no PEM certificate ("-----BEGIN CERTIFICATE-----")']);
    const [expired] = at({ cert: pki.pem.expired.cert, key: pki.pem.expired.key });
    assert.match(expired, /^tls\.cert: the certificate \(CN=host-a\) expired on 20\d\d-\d\d-\d\dT.*; etcd refuses it$/);
    assert.deepEqual(at({ cert: a.cert, key: pki.pem.stranger.key }), ['tls.key: is not the private key of tls.cert (the first certificate)']);
    assert.deepEqual(at({ cert: a.cert }), ['tls.key: give the client certificate and its key together']);
    assert.deepEqual(at({ cert: a.cert, key: 'garbage' }), ['tls.key: is not a PEM private key']);
  });

  it('a password is never shown: not for a bad one, not in a URL, not in a raw client option', function () {
    const secret = 'Sup3r-Secret-Value';
    const all = [
      ...problemsOf({ endpoints: 'http://127.0.0.1:2379', auth: { username: 'n1', password: `${secret}\nsecond line` } }),
      ...problemsOf({ endpoints: `https://n1:${secret}@10.0.0.2:2379/x` }),
      ...problemsOf({ endpoints: `http://n1:${secret}@10.0.0.2:2379` }),
      ...problemsOf({ endpoints: 'http://127.0.0.1:2379', etcd: { auth: { username: 'n1', password: secret } } }),
    ];
    assert.deepEqual(
      all.map((p) => p.path),
      ['auth.password', 'endpoints[0]', 'endpoints[0]', 'endpoints[0]', 'endpoints[0]', 'etcd.auth'],
    );
    assert.ok(!JSON.stringify(all).includes(secret), JSON.stringify(all));
    assert.match(all[0].message, /contains a line break .*its value is never shown/);
  });
});
