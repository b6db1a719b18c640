'use strict';
// Root hooks: say once why kernel tests are skipped, and remove every namespace this run made.
const { isRoot, cleanupAllNamespaces } = require('./kernel');

exports.mochaHooks = {
  beforeAll() {
    if (!isRoot) {
      console.log('kernel tests skipped: they need root (CAP_NET_ADMIN and CAP_SYS_ADMIN to create network namespaces)');
    }
  },
  afterAll() {
    cleanupAllNamespaces();
  },
};
