'use strict';
// A smoke run of bench/wireguard.js with small N (VM lane: needs WireGuard). No timing is
// asserted: what must hold is the message count, whatever N is.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { kernelDescribe } = require('../support/kernel');
const { HAS_WIREGUARD, NO_WIREGUARD } = require('../support/wg');

kernelDescribe(`bench: wireguard smoke run${HAS_WIREGUARD ? '' : ` (${NO_WIREGUARD})`}`, function () {
  before(function () {
    if (!HAS_WIREGUARD) this.skip();
  });

  it('configures 50 and 1,000 peers from empty; one peer\'s change is one message of the same size at both', function () {
    this.timeout(300000);
    const out = path.join(os.tmpdir(), `nla-bench-wg-${process.pid}.json`);
    try {
      const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'bench', 'wireguard.js'), '--sizes', '50,1000', '--rounds', '1', '--json', out], { encoding: 'utf8', timeout: 280000 });
      assert.equal(r.status, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);
      const { results } = JSON.parse(fs.readFileSync(out, 'utf8'));
      assert.deepEqual(results.map((x) => [x.n, x.budget]), [[50, 16384], [1000, 4096], [1000, 16384], [1000, 65535]]);
      for (const x of results) {
        assert.equal(x.initialPeersPerMessage.reduce((a, b) => a + b, 0), x.n, 'every peer sent once');
        for (const b of x.initialBytes) assert.ok(b <= x.budget, `${b} > ${x.budget}`);
        assert.equal(x.changeMessages, 1);
        assert.equal(x.changePlannedPeers, 1);
        assert.equal(x.syncRequests, 2, 'one GET dump and one SET');
        assert.equal(x.setPeerMessages, 1);
      }
      // The change's message does not grow with the device: the same bytes at 50 and 1,000 peers.
      assert.deepEqual(new Set(results.map((x) => x.changeBytes.join())).size, 1);
      assert.ok(results.find((x) => x.n === 1000 && x.budget === 4096).initialMessages > results.find((x) => x.n === 1000 && x.budget === 65535).initialMessages);
    } finally {
      fs.rmSync(out, { force: true });
    }
  });
});
