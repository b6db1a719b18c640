'use strict';
// A smoke run of bench/prepare-patch.js (no kernel): it runs to the end and every kind's lists
// were patched (the figures are for the benchmark to print; no timing is asserted).
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

describe('bench: prepare-patch smoke run (300 nodes)', function () {
  this.timeout(60000);

  it('prints whole and patched prepares, and each kind patched every list', function () {
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'bench', 'prepare-patch.js'), '--nodes', '300', '--changed', '3', '--rounds', '30'], { encoding: 'utf8', timeout: 50000 });
    assert.equal(r.status, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /whole: {3}median [\d.]+ ms, p90 [\d.]+ ms \(3 lists\)/);
    assert.match(r.stdout, /patched: median [\d.]+ ms, p90 [\d.]+ ms \(30 lists\)/);
    for (const kind of ['neighbor', 'fdb']) assert.match(r.stdout, new RegExp(`\\n {4}${kind}: median [\\d.]+ ms \\(30\\)`));
    assert.match(r.stdout, /\n {4}route: median [\d.]+ ms \(\d+\)/);
    assert.doesNotMatch(r.stdout, /went whole/);
  });
});
