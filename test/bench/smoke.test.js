'use strict';
// A smoke run of the benchmarks with small N: every workload runs against its iproute2 peer,
// checks its own outcome (the bench throws when a batch fails or a no-op reconcile writes) and
// reports figures. No timing is asserted here: the numbers are for bench/run.js to print.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { kernelDescribe } = require('../support/kernel');

kernelDescribe('bench: smoke run (N = 300)', function () {
  this.timeout(120000);

  it('runs W1-W7 (and W5 for IPv6) to the end, writes the JSON figures, W6 costs exactly one modifying request', function () {
    const out = path.join(os.tmpdir(), `nla-bench-smoke-${process.pid}.json`);
    try {
      const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'bench', 'run.js'), '--n', '300', '--n-small', '100', '--rounds', '1', '--no-settle', '--json', out], {
        encoding: 'utf8',
        timeout: 110000,
      });
      assert.equal(r.status, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);
      const j = JSON.parse(fs.readFileSync(out, 'utf8'));
      assert.equal(j.n, 300);
      const workloads = new Set(j.results.map((x) => x.workload.split(' ')[0]));
      assert.deepEqual([...workloads].sort(), ['W1', 'W2', 'W3', 'W4', 'W5', 'W5v6', 'W6', 'W7']);
      for (const x of j.results.filter((x) => x.wallSeconds !== undefined)) {
        assert.ok(x.wallSeconds > 0 && Number.isFinite(x.userSeconds) && Number.isFinite(x.systemSeconds), JSON.stringify(x));
        if (x.name.startsWith('ours') && x.ratioVsPeer !== undefined) assert.ok(x.ratioVsPeer > 0, JSON.stringify(x));
      }
      assert.equal(j.results.find((x) => x.workload.startsWith('W6')).modifyingRequests, 1);
      assert.ok(j.results.find((x) => x.workload.startsWith('W7')).maxRssMB > 10);
      assert.match(r.stdout, /W5 no-op reconcile of 300 routes/);
    } finally {
      fs.rmSync(out, { force: true });
    }
  });
});
