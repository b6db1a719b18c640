'use strict';
// Certificates for the TLS/auth tests, made in the test setup (never checked in): a CA, etcd's
// server certificate (127.0.0.1), client certificates whose CN is an etcd user, an expired one,
// and a second CA that signed nothing etcd trusts. `selfsigned` (a devDependency) signs them:
// node:crypto can parse X.509 but cannot issue certificates. EC P-256 keys: fast to make.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const selfsigned = require('selfsigned');

const DAY = 86400000;
const ec = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' };

async function makeCA(cn) {
  const r = await selfsigned.generate([{ name: 'commonName', value: cn }], {
    ...ec,
    notBeforeDate: new Date(Date.now() - DAY),
    notAfterDate: new Date(Date.now() + 30 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: r.cert, key: r.private };
}

async function issue(ca, cn, { server = false, notBefore = new Date(Date.now() - DAY), notAfter = new Date(Date.now() + 30 * DAY) } = {}) {
  const r = await selfsigned.generate([{ name: 'commonName', value: cn }], {
    ...ec,
    ca,
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: server, clientAuth: true },
      ...(server ? [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }] : []),
    ],
  });
  return { cert: r.cert, key: r.private };
}

/**
 * Makes the certificates in a fresh temporary directory and writes them as files (the CLI takes
 * file names). Returns { dir, file(name), pem: {...}, remove() }. `clients` are the CNs
 * (etcd users) that get a certificate: files <cn>.crt / <cn>.key.
 */
async function makePki(clients) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-etcd-pki-'));
  const ca = await makeCA('netlink-agent test CA');
  const otherCa = await makeCA('some other CA');
  const pem = { ca, otherCa, server: await issue(ca, 'etcd', { server: true }) };
  for (const cn of clients) pem[cn] = await issue(ca, cn);
  // Valid for one day, two days ago.
  pem.expired = await issue(ca, clients[0], { notBefore: new Date(Date.now() - 3 * DAY), notAfter: new Date(Date.now() - 2 * DAY) });
  // The right CN, signed by a CA etcd does not trust.
  pem.stranger = await issue(otherCa, clients[0]);
  const file = (name) => path.join(dir, name);
  for (const [name, v] of Object.entries(pem)) {
    fs.writeFileSync(file(`${name}.crt`), v.cert);
    fs.writeFileSync(file(`${name}.key`), v.key, { mode: 0o600 });
  }
  return { dir, file, pem, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

module.exports = { makePki, issue };

// ---------------------------------------------------------------- a secured etcd for a suite

const { Etcd3, Range } = require('etcd3');
const { EtcdServer, etcdInstalled } = require('../../examples/lib/etcd-server');
const { isRoot } = require('../support/kernel');

/** etcd3 client credentials for the certificate `who` (and the CA `ca`). */
function credentialsOf(pki, who, ca = 'ca') {
  return { rootCertificate: Buffer.from(pki.pem[ca].cert), certChain: Buffer.from(pki.pem[who].cert), privateKey: Buffer.from(pki.pem[who].key) };
}

/**
 * The per-node write layout of the README ("Securing etcd"), made with the etcd3 client's auth
 * API instead of etcdctl: every node reads the whole prefix and writes only its own record,
 * name lock, owner key and the subnet key the administrator assigned to it (plus alloc/guard,
 * which every reservation transaction bumps). `nodes`: [{ name, podCIDR, password }].
 */
async function grantNodes(root, prefix, nodes) {
  for (const n of nodes) {
    const role = root.role(`nla-node-${n.name}`);
    await role.create();
    const own = [`nodes/${n.name}`, `lock/${n.name}`, `alloc/owner/${n.name}`, `alloc/subnet/${n.podCIDR.replace('/', '-')}`, 'alloc/guard'];
    await role.grant([
      { permission: 'Read', range: Range.prefix(prefix) },
      ...own.map((k) => ({ permission: 'Readwrite', range: new Range(`${prefix}${k}`) })),
    ]);
    await root.user(n.name).create(n.password);
    await root.user(n.name).addRole(role);
  }
}

/**
 * describe() with a real etcd serving TLS only, requiring client certificates signed by the
 * test CA, with auth enabled: user "root" (certificate CN=root) and the per-node layout for
 * `nodes` under `prefix`. `ctx()` returns { etcd, pki, root (an etcd3 client as root), prefix }.
 * Skips (one line) without the etcd binary, or without root when { root: true }.
 */
function secureEtcdDescribe(title, { nodes, prefix, root: needsRoot = false }, fn) {
  return describe(title, function () {
    const box = {};
    before(async function () {
      if (needsRoot && !isRoot) this.skip();
      if (!etcdInstalled()) {
        console.log('secured etcd tests skipped: /usr/bin/etcd is missing (apt-get install etcd-server)');
        this.skip();
      }
      this.timeout(60000);
      box.pki = await makePki([...nodes.map((n) => n.name), 'root']);
      const f = box.pki.file;
      box.etcd = await EtcdServer.start({
        tls: { certFile: f('server.crt'), keyFile: f('server.key'), caFile: f('ca.crt'), clientCertAuth: true, client: { cert: box.pki.pem.root.cert, key: box.pki.pem.root.key } },
      });
      box.root = new Etcd3({ hosts: box.etcd.url, credentials: credentialsOf(box.pki, 'root') });
      await box.root.user('root').create('root-password-not-used');
      await box.root.user('root').addRole('root');
      await grantNodes(box.root, prefix, nodes);
      await box.root.auth.authEnable();
      box.prefix = prefix;
    });
    after(async function () {
      box.root?.close();
      if (box.etcd) await box.etcd.stop();
      box.pki?.remove();
    });
    fn.call(this, () => box);
  });
}

module.exports.credentialsOf = credentialsOf;
module.exports.grantNodes = grantNodes;
module.exports.secureEtcdDescribe = secureEtcdDescribe;
