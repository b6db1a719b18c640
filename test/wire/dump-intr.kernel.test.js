'use strict';
// NLM_F_DUMP_INTR on the real kernel: a table that changes while it is being dumped. The kernel
// builds a dump in parts, one per read, and flags every part made after the table changed;
// NetlinkSocket.dump() then redoes the dump (maxRetries, default 5) or rejects with EINTR. The
// changes come from another process (iproute2), once between two parts of a dump (exact), and
// continuously while we dump in a loop (as in production).
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const wire = require('../../dist/wire');
const C = require('../../dist/rtnl/constants');
const { encodeAddress, parseAddressMessage } = require('../../dist/rtnl');
const { encodeAddressDump } = require('../../dist/rtnl/address');
const { kernelDescribe, makeNetns, removeNetns, ip, NETNS_DIR, slow } = require('../support/kernel');

/** Addresses on lo: their dump (~0.9 MB) takes ~27 parts of 32 KiB, so a change made while we
 * parse the first read (at most 256 KiB) always lands before the kernel makes the later parts. */
const N = 10000;
const addressOf = (i) => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

kernelDescribe('wire: NLM_F_DUMP_INTR on the real kernel (another process changes a table we are dumping)', function () {
  this.timeout(60000); // scaled in the VM lane (test/vm/slow.js)
  let ns;
  let sock;
  const expected = new Set(['127.0.0.1']);
  for (let i = 0; i < N; i++) expected.add(addressOf(i));

  before(async function () {
    ns = makeNetns('intr');
    sock = wire.NetlinkSocket.open({ netnsPath: `${NETNS_DIR}/${ns}` });
    ip(ns, 'link', 'set', 'lo', 'up');
    const r = await sock.batch(N, (i, w) =>
      encodeAddress(w, C.RTM_NEWADDR, wire.NLM_F_CREATE | wire.NLM_F_EXCL, { dev: 'lo', address: `${addressOf(i)}/32` }, 1),
    );
    assert.equal(r.failed, 0, String(r.errors.find(Boolean)));
  });
  after(function () {
    if (sock) sock.close();
    if (ns) removeNetns(ns);
  });

  /** Dumps the IPv4 addresses; onMessage runs first for every reply (of every attempt). */
  const dumpAddresses = (opts, onMessage = () => {}) =>
    sock.dump(
      (w) => encodeAddressDump(w, C.AF_INET, 0),
      (m) => {
        onMessage();
        return parseAddressMessage(m).address.split('/')[0];
      },
      { what: 'addresses.list', ...opts },
    );
  const attempts = () => sock.sentByType[C.RTM_GETADDR];

  /** Every address exactly once: what a clean dump returns, whatever else is there. */
  function assertComplete(addresses, extra) {
    const seen = new Set(addresses);
    assert.equal(seen.size, addresses.length, 'an address appears twice');
    for (const a of extra) assert.ok(seen.delete(a), `${a} missing`);
    assert.equal(seen.size, expected.size, `${seen.size} addresses, expected ${expected.size}`);
    for (const a of expected) assert.ok(seen.has(a), `${a} missing`);
  }

  it('a change between two parts of a dump: with retries off it rejects with EINTR; by default it is redone once and returns the new state', async function () {
    // iproute2 changes the table while we parse the first reply of the first attempt.
    let changes = 0;
    const changeOnce = (args) => () => {
      if (changes++ === 0) ip(ns, 'address', ...args, '10.99.0.1/32', 'dev', 'lo');
    };
    await assert.rejects(dumpAddresses({ maxRetries: 0 }, changeOnce(['add'])), (e) => {
      assert.ok(e instanceof wire.NetlinkError, String(e));
      assert.equal(e.code, 'EINTR');
      assert.equal(e.errno, 4);
      assert.match(e.message, /^addresses\.list: .*interrupted by concurrent changes 1 times \(NLM_F_DUMP_INTR\)/);
      return true;
    });
    // The address is there now; the next change (removing it) again lands mid-dump.
    changes = 0;
    const before = attempts();
    const got = await dumpAddresses({}, changeOnce(['del']));
    assert.equal(attempts() - before, 2, 'the interrupted attempt and one clean one');
    assertComplete(got, []); // the redone dump shows the address gone
  });

  it('another process changes addresses continuously: retries off observes EINTR, the default completes every dump with exactly the addresses there', async function () {
    // Pace the changer to ~10x the time a dump takes, so that about one dump in ten is
    // interrupted: retries off soon sees one, and five interruptions in a row (the default
    // gives up after 6 attempts) are ~1e-6 per dump.
    const times = [];
    for (let k = 0; k < 5; k++) {
      const t = process.hrtime.bigint();
      assertComplete(await dumpAddresses({ maxRetries: 0 }), []);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    const pauseS = Math.max(0.005, (10 * times[2]) / 1000).toFixed(3);
    const changer = spawn(
      'sh',
      ['-c', `while :; do ip -n "$1" address add 10.99.0.2/32 dev lo; sleep ${pauseS}; ip -n "$1" address del 10.99.0.2/32 dev lo; sleep ${pauseS}; done`, 'changer', ns],
      { stdio: 'ignore', detached: true },
    );
    try {
      // Retries off: dump until one is interrupted (bounded).
      const deadline = Date.now() + 30000 * slow;
      let interrupted;
      let clean = 0;
      while (!interrupted) {
        assert.ok(Date.now() < deadline, `no dump was interrupted in ${30 * slow} s (${clean} clean dumps, changer pause ${pauseS} s)`);
        try {
          await dumpAddresses({ maxRetries: 0 });
          clean++;
        } catch (e) {
          interrupted = e;
        }
        await sleep(1); // let the changer's changes and our timers run between dumps
      }
      assert.ok(interrupted instanceof wire.NetlinkError, String(interrupted));
      assert.equal(interrupted.code, 'EINTR');
      // The default: every dump completes, and holds each address exactly once.
      const DUMPS = 60;
      const before = attempts();
      for (let k = 0; k < DUMPS; k++) {
        const got = await dumpAddresses({});
        assertComplete(got, got.includes('10.99.0.2') ? ['10.99.0.2'] : []);
        await sleep(1);
      }
      console.log(
        `      changer pause ${pauseS} s; retries off: ${clean} clean dumps before the first EINTR; default: ${DUMPS} dumps complete, ${attempts() - before - DUMPS} redone`,
      );
    } finally {
      process.kill(-changer.pid, 'SIGKILL');
      await new Promise((resolve) => (changer.exitCode !== null || changer.signalCode !== null ? resolve() : changer.once('exit', resolve)));
    }
  });
});
