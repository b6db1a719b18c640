'use strict';
// MembershipFeed: node lists from a membership source (a real StaticMembership on a file) go to
// setNodes one call at a time, newest list wins, failures are retried with backoff.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { StaticMembership, MembershipFeed } = require('../../dist/membership');
const { waitFor } = require('./helpers');

const H = (i) => ({ name: `h${i}`, nodeIP: `10.0.0.${i}`, podCIDR: `10.244.${i}.0/24` });

describe('membership: MembershipFeed', function () {
  let dir;
  let m;
  let feed;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-feed-'))));
  afterEach(async () => {
    await feed?.stop();
    await m?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('feeds the current list at once, coalesces lists that arrive during a call, and retries a failed call with the newest list', async function () {
    const file = path.join(dir, 'nodes.json');
    const write = (n) => {
      fs.writeFileSync(`${file}.t`, JSON.stringify([H(1), ...Array.from({ length: n }, (_, i) => H(i + 2))]));
      fs.renameSync(`${file}.t`, file);
    };
    write(1);
    m = new StaticMembership({ file, self: 'h1', debounceMs: 5, pollIntervalMs: 50 });
    await m.start();
    const calls = [];
    let inFlight = 0;
    let failNext = 0;
    let release;
    let gate = Promise.resolve();
    const sink = {
      async setNodes(nodes) {
        inFlight++;
        assert.equal(inFlight, 1, 'one call at a time');
        calls.push(nodes.map((n) => n.name).join(','));
        await gate;
        inFlight--;
        if (failNext > 0) {
          failNext--;
          throw new Error('kernel says no');
        }
      },
    };
    gate = new Promise((r) => (release = r));
    feed = new MembershipFeed(m, sink, { minBackoffMs: 30, maxBackoffMs: 60 });
    const errors = [];
    feed.on('error', (e, retry) => errors.push([e.message, retry]));
    await waitFor(() => calls.length === 1);
    assert.equal(calls[0], 'h1,h2', 'the list the membership already had');
    // Three changes while the first call hangs: only the newest is fed next.
    for (const n of [2, 3, 4]) {
      write(n);
      await waitFor(() => m.nodes().length === n + 1);
    }
    failNext = 1; // the hanging call fails: the retry carries the newest list
    release();
    await waitFor(() => calls.length === 2, 3000);
    await feed.idle();
    assert.deepEqual(calls, ['h1,h2', 'h1,h2,h3,h4,h5']);
    assert.deepEqual(errors, [['kernel says no', 30]]);
    // A failure with nothing newer: the same list again, after the backoff.
    failNext = 2;
    write(1);
    await waitFor(() => calls.length === 5, 3000);
    await feed.idle();
    assert.deepEqual(calls.slice(2), ['h1,h2', 'h1,h2', 'h1,h2']);
    assert.deepEqual(errors.slice(1), [['kernel says no', 30], ['kernel says no', 60]]);
  });
});
