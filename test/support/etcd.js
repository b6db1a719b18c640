'use strict';
// A real etcd for membership tests (never a mock): Debian's etcd-server (/usr/bin/etcd) on free
// 127.0.0.1 ports with a temporary data directory, started by the suite and stopped after it.
// Without the binary the suites skip with one line saying how to install it.
const { EtcdServer, etcdInstalled, freePort, ETCD_BINARY } = require('../../examples/lib/etcd-server');
const { isRoot } = require('./kernel');

let told = false;

/**
 * describe() for tests that need a real etcd. `etcd()` inside returns the running EtcdServer
 * (one per suite, removed afterwards whatever happened). With { root: true } the suite also
 * needs root (network namespaces) and skips without it, before starting etcd.
 */
function etcdDescribe(title, fn, { root = false } = {}) {
  return describe(title, function () {
    const box = { server: undefined };
    before(async function () {
      if (root && !isRoot) this.skip();
      if (!etcdInstalled()) {
        if (!told) console.log(`etcd tests skipped: ${ETCD_BINARY} is missing (apt-get install etcd-server)`);
        told = true;
        this.skip();
      }
      this.timeout(30000);
      box.server = await EtcdServer.start();
    });
    after(async function () {
      if (box.server) await box.server.stop();
      box.server = undefined;
    });
    fn.call(this, () => box.server);
  });
}

module.exports = { etcdDescribe, EtcdServer, etcdInstalled, freePort };
