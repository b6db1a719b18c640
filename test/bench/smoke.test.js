'use strict';
// A smoke run of the benchmarks with small N: every workload runs against its peers (the C
// floor and the Go program when they can be built here, iproute2 always), checks its own outcome
// (the bench throws when a batch fails or a no-op reconcile writes) and reports figures. No
// timing is asserted here: the numbers are for bench/run.js to print.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { kernelDescribe } = require('../support/kernel');

kernelDescribe('bench: smoke run (N = 300)', function () {
  this.timeout(180000);

  it('runs W1-W9 (and W5 for IPv6, issue 20\'s W8-W10 on nexthop objects, issue 19\'s W11) to the end against the floor, iproute2 and Go, writes the JSON figures', function () {
    const out = path.join(os.tmpdir(), `nla-bench-smoke-${process.pid}.json`);
    try {
      const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'bench', 'run.js'), '--n', '300', '--n-small', '100', '--rounds', '1', '--no-settle', '--json', out], {
        encoding: 'utf8',
        timeout: 170000,
      });
      assert.equal(r.status, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);
      const j = JSON.parse(fs.readFileSync(out, 'utf8'));
      assert.equal(j.n, 300);
      const workloads = new Set(j.results.map((x) => x.workload.split(' ')[0]));
      assert.deepEqual([...workloads].sort(), ['W10nh', 'W11', 'W1', 'W2', 'W3', 'W4', 'W5', 'W5ds', 'W5v6', 'W6', 'W7', 'W8', 'W8nh', 'W9', 'W9nh'].sort());
      for (const x of j.results.filter((x) => x.wallSeconds !== undefined)) {
        assert.ok(x.wallSeconds > 0 && Number.isFinite(x.userSeconds) && Number.isFinite(x.systemSeconds), JSON.stringify(x));
        assert.ok(['floor', 'ours', 'iproute2', 'go'].includes(x.who), JSON.stringify(x));
        if (x.who === 'ours' && x.ratioVsPeer !== undefined) assert.ok(x.ratioVsPeer > 0, JSON.stringify(x));
      }
      // Every workload of the table has a floor and a Go column, or says why not.
      const byWorkload = (prefix) => j.results.filter((x) => x.workload.startsWith(prefix) && x.wallSeconds !== undefined);
      for (const w of ['W1 ', 'W2 ', 'W3 ', 'W4 ', 'W5 ']) {
        const rows = byWorkload(w);
        const ours = rows.filter((x) => x.who === 'ours');
        assert.ok(ours.length >= 1, w);
        assert.ok(rows.some((x) => x.who === 'iproute2'), `${w}: no iproute2 column`);
        if (j.peers.floor.available) {
          assert.ok(rows.some((x) => x.who === 'floor'), `${w}: no floor column`);
          for (const x of ours) assert.ok(x.ratioVsFloor > 0, JSON.stringify(x));
        } else {
          assert.match(j.peers.floor.reason, /\w/);
          for (const x of ours) assert.equal(x.notes.floor, j.peers.floor.reason);
        }
        if (j.peers.go.available) assert.ok(rows.some((x) => x.who === 'go'), `${w}: no Go column`);
        else assert.match(j.peers.go.reason, /\w/);
      }
      // W4 through the Reconciler too, for FDB and neighbours.
      assert.equal(byWorkload('W4 ').filter((x) => x.name === 'ours: reconciler.apply').length, 2);
      assert.ok(byWorkload('W5 ').some((x) => x.name === 'ours: no-op plan of new spec objects'));
      for (const x of byWorkload('W5v6')) assert.match(x.notes.floor, /no equivalent/);
      // Issue 21: a dual-stack cluster's no-op reconcile (2 routes, 2 neighbours, 1 FDB entry per node).
      assert.match(byWorkload('W5ds')[0].workload, /of 100 nodes \(200 routes, 200 neighbours, 100 FDB\)/);
      assert.equal(j.results.find((x) => x.workload.startsWith('W6')).modifyingRequests, 1);
      const w9 = j.results.find((x) => x.workload.startsWith('W9 '));
      assert.equal(w9.modifyingRequests, 3);
      assert.deepEqual(w9.ops, ['create fdb', 'delete fdb', 'update neighbor']);
      assert.ok(j.results.find((x) => x.workload.startsWith('W7')).maxRssMB > 10);
      // Issue 20: moving every route is one nexthop replace, by hand and through the reconciler;
      // one node's new IP is 100 route replaces inline, one nexthop replace with nexthops.
      const w8nh = j.results.find((x) => x.workload.startsWith('W8nh'));
      assert.equal(w8nh.nexthopReplaceRequests, 1);
      assert.equal(w8nh.reconcilerRequests, 1);
      const w10nh = j.results.find((x) => x.workload.startsWith('W10nh'));
      assert.equal(w10nh.routeRequests, 100);
      assert.equal(w10nh.nexthopRequests, 1);
      assert.match(r.stdout, /W5 no-op reconcile of 300 routes/);
      assert.match(r.stdout, /\| workload \| ours \| user \/ sys \| C floor \| ours\/floor \|/);
    } finally {
      fs.rmSync(out, { force: true });
    }
  });
});
