'use strict';
/**
 * A real, single-member etcd for examples and tests: Debian's etcd-server binary
 * (/usr/bin/etcd), listening on free ports on 127.0.0.1 only, with a temporary data directory
 * that stop() removes. restart() keeps the data directory and the ports, like an etcd that went
 * away and came back.
 *
 *   const etcd = await EtcdServer.start();
 *   etcd.url          // "http://127.0.0.1:41234"
 *   await etcd.restart({ downMs: 2000 });
 *   await etcd.stop();
 *
 * With { tls: { certFile, keyFile, caFile, clientCertAuth } } it serves https:// only (and, with
 * clientCertAuth, only to clients presenting a certificate signed by caFile); give
 * tls.client { cert, key } (PEM) for the health probe when client certificates are required.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const http = require('node:http');
const https = require('node:https');
const { spawn } = require('node:child_process');

const ETCD_BINARY = process.env.NETLINK_AGENT_ETCD || '/usr/bin/etcd';

/** True when the etcd server binary is installed (Debian: apt-get install etcd-server). */
function etcdInstalled() {
  try {
    fs.accessSync(ETCD_BINARY, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A port nobody listens on right now (the kernel picks it; etcd binds it a moment later). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function healthy(url, tls) {
  return new Promise((resolve) => {
    const secure = tls ? { ca: fs.readFileSync(tls.caFile), ...(tls.client ?? {}) } : {};
    const req = (tls ? https : http).get(`${url}/health`, { timeout: 500, ...secure, ...(tls ? { servername: '' } : {}) }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class EtcdServer {
  constructor(clientPort, peerPort, dataDir, tls) {
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.dataDir = dataDir;
    this.tls = tls;
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
    this.proc = undefined;
    this.log = [];
  }

  /** Starts a fresh etcd on free loopback ports; resolves when it answers /health. */
  static async start({ name = 'nla', startTimeoutMs = 15000, tls } = {}) {
    if (!etcdInstalled()) throw new Error(`etcd is not installed at ${ETCD_BINARY} (Debian: apt-get install etcd-server)`);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `nla-etcd-${process.pid}-`));
    const clientPort = await freePort();
    let peerPort = await freePort();
    while (peerPort === clientPort) peerPort = await freePort();
    const server = new EtcdServer(clientPort, peerPort, dataDir, tls);
    server.name = name;
    try {
      await server.spawn(startTimeoutMs);
    } catch (e) {
      await server.stop();
      throw e;
    }
    return server;
  }

  async spawn(timeoutMs = 15000) {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      '--name', this.name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', this.url,
      '--advertise-client-urls', this.url,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `${this.name}=${peer}`,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `nla-${process.pid}-${this.clientPort}`,
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--log-level', 'error',
    ];
    if (this.tls) {
      args.push('--cert-file', this.tls.certFile, '--key-file', this.tls.keyFile, '--trusted-ca-file', this.tls.caFile);
      if (this.tls.clientCertAuth) args.push('--client-cert-auth');
    }
    // Its own environment: no ETCD_* variables of the caller leak in.
    const env = { PATH: process.env.PATH || '/usr/bin:/bin', HOME: this.dataDir };
    const proc = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    this.proc = proc;
    proc.stderr.on('data', (d) => {
      this.log.push(String(d));
      if (this.log.length > 200) this.log.shift();
    });
    const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve({ code, sig })));
    proc.exitedPromise = exited;
    const t0 = Date.now();
    for (;;) {
      if (await healthy(this.url, this.tls)) return;
      const early = await Promise.race([exited, sleep(100).then(() => undefined)]);
      if (early) throw new Error(`etcd exited (${early.code ?? early.sig}) while starting: ${this.log.join('').slice(-2000)}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`etcd did not become healthy in ${timeoutMs} ms: ${this.log.join('').slice(-2000)}`);
    }
  }

  /** Stops the process (SIGTERM, SIGKILL after 5 s); keeps the data directory. */
  async kill() {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await proc.exitedPromise;
    clearTimeout(t);
  }

  /** Stops etcd, waits downMs, starts it again with the same data and ports. */
  async restart({ downMs = 0 } = {}) {
    await this.kill();
    if (downMs) await sleep(downMs);
    await this.spawn();
  }

  /** Stops etcd and removes its data directory. Safe to call twice. */
  async stop() {
    await this.kill();
    if (this.dataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
    this.dataDir = undefined;
  }
}

module.exports = { EtcdServer, etcdInstalled, freePort, ETCD_BINARY };
