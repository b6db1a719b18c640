'use strict';
// IncrementalScreener against screenNodes (issue 24): random sequences of puts, deletes,
// modifications, re-creations and reservation changes, seeded, thousands of steps. After each
// batch the incremental result must be IDENTICAL to screenNodes over the same records in the same
// order (nodes, skipped with their reasons in order, warnings), and its delta must be the
// difference between the previous and the new node list. Records are crowded into a few names,
// addresses, subnets of several lengths (overlapping, containing node IPs, one of this host's),
// MACs (copies of others' derived MACs), WireGuard keys, and include invalid ones, so that every
// rule fires often.
const assert = require('node:assert/strict');
const { screenNodes } = require('../../dist/membership');
const { ScreenCache } = require('../../dist/membership/types');
const { IncrementalScreener } = require('../../dist/membership/incremental-screen');
const { ReservationIndex, reservationChange } = require('../../dist/membership/admit');
const { prefixOf } = require('../../dist/membership/cidr');
const { vtepMacFor } = require('../../dist/overlay/modes');
const { seeded } = require('../support/random');

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'self'];
const IPS = [1, 2, 3, 4, 5, 6].map((i) => `10.0.1.${i}`).concat(['10.0.0.1', '10.20.1.7']);
const IP6S = ['fd00::1', 'fd00::2', 'fd00::3'];
const NETS = ['10.20.0.0/24', '10.20.1.0/24', '10.20.2.0/24', '10.20.3.0/24', '10.20.0.0/23', '10.20.2.0/23', '10.20.0.0/22', '10.20.1.128/25', '10.20.1.192/26', '10.250.0.0/24', '10.0.1.0/26', '10.20.3.0/24', '11.0.0.0/24', '10.57.4.0/24'];
const NETS6 = ['fd10::/64', 'fd10::/63', 'fd10:0:0:1::/64', 'fd10:0:0:2::/64'];
const MACS = ['0e:00:00:00:00:01', '0e:00:00:00:00:02', ...IPS.slice(0, 4).map((ip) => vtepMacFor(ip))];
const KEYS = ['AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=', 'CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC='];
const SELF = { name: 'self', nodeIP: '10.0.0.1', podCIDR: '10.250.0.0/24', mode: 'vxlan', wireguard: { publicKey: KEYS[2] } };
const OPTIONS = [
  { clusterCIDRs: ['10.0.0.0/8', 'fd10::/48'], protectedPrefixes: ['10.57.4.20/24'] },
  { clusterCIDR: '10.20.0.0/16' },
  {},
];

function randomValue(r, key) {
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const roll = r();
  if (roll < 0.04) return { error: 'not JSON (broken)' };
  if (roll < 0.08) return { value: { name: key, nodeIP: 'nope', podCIDR: '10.20.0.0/24' } };
  if (roll < 0.11) return { value: { ...SELF, wireguard: undefined, name: 'self', mode: 'vxlan' } };
  const v = { name: r() < 0.85 ? key : pick(NAMES), nodeIP: pick(IPS), podCIDR: pick(NETS) };
  if (r() < 0.15) {
    v.nodeIPs = [v.nodeIP, pick(IP6S)];
    v.podCIDRs = [v.podCIDR, pick(NETS6)];
  }
  if (r() < 0.35) v.vtepMac = pick(MACS);
  if (r() < 0.6) v.mode = pick(['vxlan', 'vxlan', 'host-gw']);
  if (r() < 0.15) v.wireguard = { publicKey: pick(KEYS) };
  return { value: JSON.parse(JSON.stringify(v)) };
}

function run(seed, steps, options) {
  const r = seeded(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const cache = new ScreenCache();
  /** key -> { rank, candidate, lease } */
  const items = new Map();
  const leases = new Map();
  let rev = 1n;
  let reservations = { guardMod: '0', reservations: [], owners: new Map(), header: {} };
  let index = new ReservationIndex(reservations);
  const admitOf = (ix) => (rec, c) => ix.admit(rec, leases.get(c));
  const screener = new IncrementalScreener(SELF, { ...options, cache, admit: admitOf(index) });
  screener.reset([]);
  let last = screener.result();
  let stats = { accepted: 0, skipped: 0, compared: 0, reasons: new Set() };
  for (let step = 0; step < steps; step++) {
    const batch = r() < 0.8 ? 1 : 1 + Math.floor(r() * 4);
    for (let b = 0; b < batch; b++) {
      const kind = r();
      const key = pick(NAMES.concat(['h', 'i', 'j']));
      const old = items.get(key);
      if (kind < 0.45 || !old) {
        // put: a modification (same rank) or a new record
        rev++;
        const { value, error } = randomValue(r, key);
        const candidate = { source: `/r/nodes/${key}`, value, expectedName: key, ...(error ? { error } : {}) };
        const rank = old && r() < 0.8 ? old.rank : r() < 0.15 ? BigInt(Math.floor(r() * Number(rev))) : rev; // ties and old ranks too
        leases.set(candidate, pick(['7', '7', '7', '7', '0', undefined]));
        items.set(key, { rank, candidate });
        screener.put({ key, rank, candidate });
      } else if (kind < 0.6) {
        items.delete(key);
        screener.delete(key);
      } else if (kind < 0.65) {
        // the same record again: the same candidate object, nothing to do
        screener.put({ key, rank: old.rank, candidate: old.candidate });
      } else {
        // a reservation change
        const before = reservations;
        const list = [...before.reservations];
        if (list.length && r() < 0.4) list.splice(Math.floor(r() * list.length), 1);
        else {
          rev++;
          const cidr = r() < 0.8 ? pick(NETS.concat(NETS6)) : pick(NETS);
          list.splice(Math.floor(r() * (list.length + 1)), 0, { net: prefixOf(cidr), owner: r() < 0.1 ? '' : pick(NAMES), createRevision: r() < 0.2 ? BigInt(Math.floor(r() * Number(rev))) : rev });
        }
        reservations = { ...before, reservations: list };
        index = new ReservationIndex(reservations);
        const change = reservationChange(before, reservations);
        screener.setAdmit(admitOf(index), r() < 0.9 ? change : undefined);
      }
    }
    const got = screener.result();
    const ordered = [...items.entries()].sort(([ka, a], [kb, b]) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : ka < kb ? -1 : 1));
    const want = screenNodes(SELF, ordered.map(([, it]) => it.candidate), { ...options, admit: admitOf(index) });
    const { delta, ...rest } = got;
    assert.deepEqual(rest, want, `seed ${seed} step ${step}`);
    const names = (l) => new Map(l.nodes.map((n) => [n.name, JSON.stringify(n)]));
    const was = names(last);
    const now = names(want);
    assert.deepEqual(delta, {
      added: [...now.keys()].filter((n) => !was.has(n)).sort(),
      removed: [...was.keys()].filter((n) => !now.has(n)).sort(),
      changed: [...now.keys()].filter((n) => was.has(n) && was.get(n) !== now.get(n)).sort(),
    }, `delta, seed ${seed} step ${step}`);
    last = want;
    stats.compared++;
    stats.accepted += want.nodes.length - 1;
    stats.skipped += want.skipped.length;
    for (const s of want.skipped) stats.reasons.add(s.reason.replace(/"[^"]*"|[0-9a-f:.]+\/?\d*|\d+/g, '_'));
    if (r() < 0.01) {
      // now and then everything again (a full re-read): the same result
      screener.reset(ordered.map(([key, it]) => ({ key, rank: it.rank, candidate: it.candidate })));
      const again = screener.result();
      assert.deepEqual({ nodes: again.nodes, skipped: again.skipped, warnings: again.warnings }, want);
      assert.deepEqual(again.delta, { added: [], removed: [], changed: [] });
    }
  }
  return stats;
}

describe('membership: incremental screening (IncrementalScreener) against screenNodes', function () {
  for (const [i, options] of OPTIONS.entries()) {
    it(`random changes, seeded (options ${i}): every result identical to screenNodes, and the delta exact`, function () {
      let total = { compared: 0, accepted: 0, skipped: 0, reasons: new Set() };
      for (let seed = 1; seed <= 8; seed++) {
        const s = run(seed * 7919 + i, 1500, options);
        total.compared += s.compared;
        total.accepted += s.accepted;
        total.skipped += s.skipped;
        for (const x of s.reasons) total.reasons.add(x);
      }
      // The runs exercised the rules: records accepted and skipped, for many kinds of reasons.
      assert.ok(total.accepted > 1000 && total.skipped > 1000, JSON.stringify({ ...total, reasons: undefined }));
      assert.ok(total.reasons.size >= 12, [...total.reasons].join('\n'));
    });
  }

  it('one record changing among 10,000 decides a handful again, not all (admit calls counted)', function () {
    const items = [];
    for (let i = 0; i < 10000; i++) {
      items.push({ key: `n${i}`, rank: BigInt(i + 10), candidate: { source: `k/n${i}`, value: { name: `n${i}`, nodeIP: `10.1.${i >> 8}.${i & 255}`, podCIDR: `10.${100 + (i >> 8)}.${i & 255}.0/24` }, expectedName: `n${i}` } });
    }
    let calls = 0;
    const s = new IncrementalScreener({ name: 'self', nodeIP: '10.0.0.1', podCIDR: '10.99.0.0/24' }, { admit: () => (calls++, undefined) });
    s.reset(items);
    assert.equal(s.result().nodes.length, 10001);
    assert.equal(calls, 10000);
    calls = 0;
    // An older record takes n5's node IP: n5 loses it; then it goes and n5 comes back.
    s.put({ key: 'old', rank: 1n, candidate: { source: 'k/old', value: { name: 'old', nodeIP: '10.1.0.5', podCIDR: '10.250.0.0/24' }, expectedName: 'old' } });
    let res = s.result();
    assert.deepEqual(res.delta, { added: ['old'], removed: ['n5'], changed: [] });
    assert.match(res.skipped[0].reason, /nodeIP 10\.1\.0\.5 collides with node "old"/);
    assert.equal(calls, 1, 'only the new record reached the admit rule');
    s.delete('old');
    res = s.result();
    assert.deepEqual(res.delta, { added: ['n5'], removed: ['old'], changed: [] });
    assert.equal(res.skipped.length, 0);
    assert.equal(calls, 2);
  });
});
