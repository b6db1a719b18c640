'use strict';
// Creating and deleting many namespaces leaves nothing behind: no mount, no open fd, no name.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { Netns } = require('../../dist/netns');
const { kernelDescribe, threadNetns } = require('../support/kernel');

const N = 1000;
const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean);
/** The mount table without other processes' namespaces under /run/netns (other test runs churn there too). */
const mountsOfInterest = (prefix) =>
  mounts().filter((l) => {
    const point = l.split(' ')[4];
    return !point.startsWith('/run/netns/') || point.startsWith(`/run/netns/${prefix}`);
  });
const fds = () => fs.readdirSync('/proc/self/fd').length;

kernelDescribe('netns: churn', function () {
  const prefix = `nla-churn-${process.pid}-`;
  const live = new Set();
  afterEach(function () {
    for (const ns of live) {
      try {
        Netns.delete(ns);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e;
      }
    }
    live.clear();
  });

  it(`creating and deleting ${N} namespaces leaves no mount, no open fd and no name behind`, function () {
    const home = threadNetns();
    const mountsBefore = mountsOfInterest(prefix);
    const fdsBefore = fds();
    const t0 = process.hrtime.bigint();
    const homeInode = Netns.inode();
    for (let i = 0; i < N; i++) {
      const ns = `${prefix}${i}`;
      live.add(ns);
      Netns.create(ns);
      if (i % 100 === 0) {
        // Spot checks while churning: it is a real namespace, not ours, mounted where iproute2 looks.
        // (Not "distinct from earlier ones": the kernel reuses a destroyed namespace's inode number.)
        assert.ok(Netns.exists(ns));
        assert.notEqual(Netns.inode(ns), homeInode);
        assert.ok(mounts().some((l) => l.split(' ')[4] === `/run/netns/${ns}`));
      }
      Netns.delete(ns);
      live.delete(ns);
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    this.test.title += ` (${ms.toFixed(0)} ms, ${((ms * 1000) / N).toFixed(0)} µs per create+delete)`;
    const leftover = mounts().filter((l) => l.includes(prefix));
    assert.deepEqual(leftover, []);
    assert.deepEqual(mountsOfInterest(prefix), mountsBefore);
    assert.equal(fds(), fdsBefore);
    assert.deepEqual(Netns.list().filter((n) => n.startsWith(prefix)), []);
    const ipList = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.ok(!ipList.includes(prefix), ipList);
    assert.equal(threadNetns(), home);
    assert.ok(ms < 30000, `${N} create+delete took ${ms} ms`);
  });
});
