'use strict';
// The built-in IPAM: host-local's ranges and defaults, its on-disk format, and the same
// directory shared with Debian's real host-local plugin (no kernel needed).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { parseRange } = require('../../dist/cni/ipam/range');
const { allocate, releaseAttachment } = require('../../dist/cni/ipam/allocate');
const { ReservationStore } = require('../../dist/cni/ipam/store');
const { Problems } = require('../../dist/values');
const { REFERENCE_DIR } = require('./helpers');

function range(spec) {
  const p = new Problems();
  const r = parseRange(p, 'r', spec);
  return { r, problems: p.list };
}

describe('cni IPAM', function () {
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-ipam-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function withStore(network, fn) {
    const s = ReservationStore.open(dir, network);
    try {
      await s.lock();
      return fn(s);
    } finally {
      s.close();
    }
  }

  describe('ranges', function () {
    it('defaults like host-local: first host address to the last before broadcast, gateway the first', function () {
      const { r } = range({ subnet: '10.244.1.7/24' });
      assert.equal(r.subnet, '10.244.1.0/24');
      assert.equal(r.start, 0x0af40101n);
      assert.equal(r.end, 0x0af401fen);
      assert.equal(r.gateway, 0x0af40101n);
      const v6 = range({ subnet: 'fd00:1::/120' }).r;
      assert.equal(v6.end & 0xffn, 0xffn, 'IPv6 has no broadcast address: the last address is handed out');
    });

    it('names the field of every problem', function () {
      const { problems } = range({ subnet: '10.0.0.0/31', rangeStart: '10.0.0.1' });
      assert.deepEqual(problems.map((p) => p.path), ['r.subnet']);
      assert.match(problems[0].message, /too small to allocate from/);
      const out = range({ subnet: '10.0.0.0/24', rangeStart: '10.0.1.5', rangeEnd: '10.0.0.2', gateway: 'x', extra: 1 }).problems;
      assert.deepEqual([...new Set(out.map((p) => p.path))].sort(), ['r.extra', 'r.gateway', 'r.rangeStart']);
    });
  });

  describe('allocation', function () {
    it('skips the gateway, goes round-robin after last_reserved_ip, wraps, and says when the set is full', async function () {
      const set = [range({ subnet: '10.9.0.0/29' }).r]; // hosts .1-.6, gateway .1
      const got = await withStore('n', (s) => [1, 2, 3, 4, 5].map((i) => allocate(s, [set], `c${i}`, 'eth0')[0].ip));
      assert.deepEqual(got, ['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
      assert.equal(fs.readFileSync(path.join(dir, 'n', 'last_reserved_ip.0'), 'utf8'), '10.9.0.6');
      await withStore('n', (s) => releaseAttachment(s, 'c2', 'eth0'));
      // The next one wraps around to the only free address.
      assert.equal(await withStore('n', (s) => allocate(s, [set], 'c6', 'eth0')[0].ip), '10.9.0.3');
      await assert.rejects(
        withStore('n', (s) => allocate(s, [set], 'c7', 'eth0')),
        (e) => e.code === 102 && /every address of range set 0 \(10\.9\.0\.0\/29\) is reserved/.test(e.details),
      );
    });

    it('writes host-local\'s format: one file per address holding "<id>\\r\\n<ifname>"', async function () {
      const sets = [[range({ subnet: '10.9.1.0/24' }).r], [range({ subnet: 'fd00:9::/64' }).r]];
      const a = await withStore('net1', (s) => allocate(s, sets, 'abc', 'net0'));
      assert.deepEqual(a.map((x) => x.ip), ['10.9.1.2', 'fd00:9::2']);
      assert.equal(fs.readFileSync(path.join(dir, 'net1', '10.9.1.2'), 'utf8'), 'abc\r\nnet0');
      assert.equal(fs.readFileSync(path.join(dir, 'net1', 'fd00:9::2'), 'utf8'), 'abc\r\nnet0');
      assert.equal(fs.readFileSync(path.join(dir, 'net1', 'last_reserved_ip.1'), 'utf8'), 'fd00:9::2');
      assert.ok(fs.existsSync(path.join(dir, 'net1', 'lock')));
    });

    it('an attachment that holds an address gets it again; a requested address is taken or refused', async function () {
      const sets = [[range({ subnet: '10.9.2.0/24' }).r]];
      const first = await withStore('n', (s) => allocate(s, sets, 'c1', 'eth0')[0].ip);
      assert.equal(await withStore('n', (s) => allocate(s, sets, 'c1', 'eth0')[0].ip), first);
      const want = { family: 4, value: 0x0a090232n }; // 10.9.2.50
      assert.equal(await withStore('n', (s) => allocate(s, sets, 'c2', 'eth0', [want])[0].ip), '10.9.2.50');
      await assert.rejects(withStore('n', (s) => allocate(s, sets, 'c3', 'eth0', [want])), (e) => e.code === 7 && /reserved by another/.test(e.details));
      await assert.rejects(withStore('n', (s) => allocate(s, sets, 'c3', 'eth0', [{ family: 4, value: 0x0a090301n }])), (e) => e.code === 7 && /in no range/.test(e.details));
    });

    it('a failed allocation releases what it reserved, not what the attachment held before', async function () {
      const full = [range({ subnet: '10.9.3.0/30' }).r]; // one host address (.2) besides the gateway
      const roomy = [range({ subnet: '10.9.4.0/24' }).r];
      await withStore('n', (s) => allocate(s, [full], 'other', 'eth0'));
      await assert.rejects(withStore('n', (s) => allocate(s, [roomy, full], 'c1', 'eth0')), (e) => e.code === 102);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'n')).filter((f) => /^\d/.test(f)), ['10.9.3.2']);
    });

    it('the lock is flock(2): a second holder waits, and gets "try again later" (code 11) after its timeout', async function () {
      const a = ReservationStore.open(dir, 'n');
      const b = ReservationStore.open(dir, 'n');
      try {
        await a.lock();
        await assert.rejects(b.lock(50), (e) => e.code === 11 && /held by another process/.test(e.details));
        a.unlock();
        await b.lock(50);
      } finally {
        a.close();
        b.close();
      }
    });
  });

  describe('sharing a directory with the real host-local plugin', function () {
    before(function () {
      if (!fs.existsSync(path.join(REFERENCE_DIR, 'host-local'))) this.skip();
    });

    function hostLocal(command, id, subnet) {
      const conf = { cniVersion: '1.0.0', name: 'shared', ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: dir } };
      const r = spawnSync(path.join(REFERENCE_DIR, 'host-local'), {
        input: JSON.stringify(conf),
        env: { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: REFERENCE_DIR },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      return command === 'ADD' ? JSON.parse(r.stdout).ips[0].address.split('/')[0] : undefined;
    }

    it('alternating allocations never collide, and each releases the other\'s reservations', async function () {
      const subnet = '10.77.0.0/28';
      const set = [range({ subnet }).r];
      const got = [];
      for (let i = 0; i < 6; i++) {
        got.push(hostLocal('ADD', `hl${i}`, subnet));
        got.push(await withStore('shared', (s) => allocate(s, [set], `ours${i}`, 'eth0')[0].ip));
      }
      assert.equal(new Set(got).size, 12, `distinct: ${got}`);
      // host-local round-robins from our last_reserved_ip and we from its: the order is one sequence.
      assert.deepEqual(got, Array.from({ length: 12 }, (_, i) => `10.77.0.${i + 2}`));
      // Ours releases a host-local reservation; host-local releases ours.
      assert.deepEqual(await withStore('shared', (s) => releaseAttachment(s, 'hl0', 'eth0')), ['10.77.0.2']);
      hostLocal('DEL', 'ours0', subnet);
      const left = fs.readdirSync(path.join(dir, 'shared')).filter((f) => /^\d/.test(f));
      assert.equal(left.length, 10);
      assert.ok(!left.includes('10.77.0.2') && !left.includes('10.77.0.3'));
    });
  });
});
