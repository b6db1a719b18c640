'use strict';
// The incremental core of EtcdMembership without etcd (issue 24): a model store with revisions
// produces watch events; a MembershipMirror follows them (with repeated revisions after a
// resumed watch, resets after a compaction or a reconnect that cannot resume). At random points
// the list screened from the mirror (its candidates kept, validation cached) must be IDENTICAL
// (nodes, skipped with reasons, warnings) to the list screened from a full read of the model at
// the same revision, the way reads 'full' computes it. ReservationIndex is held to the scan it
// replaced. MirrorScreening (the IncrementalScreener that follows the copy, what reads
// 'incremental' screens with) must give exactly screenNodes' result over the copy after every
// change, through transactions creating several records at one revision (keys whose UTF-16 and
// byte orders differ), records and reservations too big to read, resets, changes of this host's
// record and nodes kept while etcd settles.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { screenNodes } = require('../../dist/membership');
const { ScreenCache } = require('../../dist/membership/types');
const { MembershipMirror, candidateOf, orderNodeKvs, tooBigCandidate } = require('../../dist/membership/mirror');
const { MirrorScreening } = require('../../dist/membership/mirror-screen');
const { ReservationIndex, admitByScan } = require('../../dist/membership/admit');
const { parseAllocKeys } = require('../../dist/membership/allocate');

const ROOT = '/r/';
const NODES = `${ROOT}nodes/`;
const LOCK = `${ROOT}lock/self`;
const SELF = { name: 'self', nodeIP: '10.0.0.1', podCIDR: '10.250.0.0/24', mode: 'vxlan' };
const OPTIONS = { clusterCIDRs: ['10.0.0.0/8'] };

/** An etcd-like store: revisions, create/mod revisions, leases; every change is an event. */
class Store {
  constructor() {
    this.rev = 1;
    this.kvs = new Map();
    this.log = []; // { type, kv } in revision order
  }
  txn(ops) {
    const before = this.log.length;
    this.rev++;
    for (const op of ops) {
      const old = this.kvs.get(op.key);
      if (op.type === 'delete') {
        if (!old) continue;
        this.kvs.delete(op.key);
        this.log.push({ type: 'delete', kv: { key: Buffer.from(op.key), value: Buffer.alloc(0), create_revision: '0', mod_revision: String(this.rev), version: '0', lease: '0' } });
      } else {
        const kv = {
          key: Buffer.from(op.key),
          value: Buffer.from(op.value),
          create_revision: old ? old.create_revision : String(this.rev),
          mod_revision: String(this.rev),
          version: String(old ? Number(old.version) + 1 : 1),
          lease: op.lease ?? '7',
        };
        this.kvs.set(op.key, kv);
        this.log.push({ type: 'put', kv });
      }
    }
    if (this.log.length === before) this.rev--; // etcd: a request that changes nothing keeps the revision
  }
  /** Keys under `prefix`, in key order (as a range read). */
  range(prefix) {
    return [...this.kvs.values()].filter((kv) => kv.key.toString().startsWith(prefix)).sort((a, b) => Buffer.compare(a.key, b.key));
  }
  snapshot() {
    return { nodes: this.range(NODES), nodesTooBig: [], alloc: this.range(`${ROOT}alloc/`), allocTooBig: [], lock: this.kvs.get(LOCK), header: { revision: String(this.rev), cluster_id: '1', member_id: '1', raft_term: '1' } };
  }
}

/** What EtcdMembership.screenView does with a view (own record left out, leases for admit). */
function screen(view, cache, useScan, self = SELF, kept = []) {
  const candidates = [];
  const leases = new Map();
  // Entries of a full read carry their KeyValue; the copy's (NodeEntry) their lease alone.
  for (const { kv, lease, candidate } of view.entries) {
    if (candidate.source === `${NODES}self`) continue;
    candidates.push(candidate);
    leases.set(candidate, String(kv ? kv.lease : lease));
  }
  for (const key of view.tooBig) if (key !== `${NODES}self`) candidates.push(tooBigCandidate(key, NODES));
  // Nodes kept while etcd settles come last (EtcdMembership.keepMissing), without a lease.
  for (const n of kept) candidates.push({ source: `${NODES}${n.name} (kept while etcd settles)`, value: n, expectedName: n.name });
  const index = new ReservationIndex(view.alloc);
  return screenNodes(self, candidates, {
    ...OPTIONS,
    ...(cache ? { cache } : {}),
    admit: (rec, c) => {
      const got = index.admit(rec, leases.get(c));
      if (useScan) assert.equal(got, admitByScan(rec, leases.get(c), view.alloc), `admit of ${rec.name}`);
      return got;
    },
  });
}

function fullView(store) {
  const s = store.snapshot();
  return { entries: orderNodeKvs(s.nodes).map((kv) => ({ kv, candidate: candidateOf(kv, NODES) })), tooBig: [], alloc: parseAllocKeys(s.alloc, [], ROOT, s.header) };
}

const name = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'self');
const subnet = fc.oneof(
  fc.integer({ min: 0, max: 5 }).map((i) => `10.20.${i}.0/24`),
  fc.integer({ min: 0, max: 2 }).map((i) => `10.20.${i * 2}.0/23`),
  fc.constant('10.250.0.0/24'),
);
const record = fc.record({
  name,
  nodeIP: fc.integer({ min: 1, max: 6 }).map((i) => `10.0.1.${i}`),
  podCIDR: subnet,
  mac: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  mode: fc.constantFrom('vxlan', 'vxlan', 'host-gw'),
});
/** A value as stored: a record (maybe under another name's key), or junk. */
const stored = fc.oneof(
  { weight: 6, arbitrary: record.map((r) => ({ key: r.name, value: JSON.stringify({ name: r.name, nodeIP: r.nodeIP, podCIDR: r.podCIDR, mode: r.mode, ...(r.mac ? { vtepMac: `0e:00:00:00:00:0${r.mac}` } : {}) }) })) },
  { weight: 1, arbitrary: fc.tuple(name, record).map(([k, r]) => ({ key: k, value: JSON.stringify({ name: r.name, nodeIP: r.nodeIP, podCIDR: r.podCIDR }) })) },
  { weight: 1, arbitrary: name.map((k) => ({ key: k, value: '{"name": broken' })) },
  { weight: 1, arbitrary: name.map((k) => ({ key: k, value: JSON.stringify({ name: k, nodeIP: 'nope', podCIDR: '10.20.0.0/24' }) })) },
  { weight: 1, arbitrary: name.map((k) => ({ key: k, value: JSON.stringify({ name: k, nodeIP: '10.0.1.9', podCIDR: '10.20.9.0/24', pad: 'x'.repeat(5000) }) })) },
);
const op = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(stored, fc.constantFrom('7', '7', '7', '0')).map(([s, lease]) => ({ kind: 'put', s, lease })) },
  { weight: 3, arbitrary: name.map((k) => ({ kind: 'delete', k })) },
  { weight: 3, arbitrary: fc.tuple(name, subnet).map(([k, cidr]) => ({ kind: 'reserve', k, cidr })) },
  { weight: 2, arbitrary: subnet.map((cidr) => ({ kind: 'unreserve', cidr })) },
  { weight: 2, arbitrary: fc.tuple(stored, subnet).map(([s, cidr]) => ({ kind: 'join', s, cidr })) },
  { weight: 1, arbitrary: fc.constantFrom('lock', 'unlock', 'other-lock').map((k) => ({ kind: k })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reset' }) }, // compaction / a reconnect that cannot resume
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((back) => ({ kind: 'replay', back })) }, // a resumed watch repeating revisions
  { weight: 2, arbitrary: fc.constant({ kind: 'check' }) },
  // One transaction creating several records: one create_revision, screened in key byte order
  // (the emoji sorts before U+FF21 in UTF-16, after it in UTF-8).
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom('a', 'g', 'h', '\u00e9', '\uff21', '\u{1F600}x'), stored), { minLength: 2, maxLength: 4 }).map((puts) => ({ kind: 'multi', puts })) },
  // A full read that could not carry some records (too big): the copy lists them last.
  { weight: 1, arbitrary: fc.tuple(fc.array(name, { maxLength: 2 }), fc.array(subnet, { maxLength: 2 })).map(([big, bigAlloc]) => ({ kind: 'reset-big', big, bigAlloc })) },
  { weight: 1, arbitrary: fc.constantFrom('vxlan', 'host-gw').map((mode) => ({ kind: 'self', mode })) },
  // Right after an outage: nodes of the last list kept (sorted by name, one per name); often none.
  { weight: 2, arbitrary: fc.uniqueArray(record.filter((r) => r.name !== 'self'), { selector: (r) => r.name, maxLength: 3 }).map((rs) => ({ kind: 'keep', kept: rs.map((r) => ({ name: r.name, nodeIP: r.nodeIP, podCIDR: r.podCIDR, mode: r.mode })).sort((a, b) => (a.name < b.name ? -1 : 1)) })) },
);

function reserveOps(k, cidr) {
  return [
    { type: 'put', key: `${ROOT}alloc/subnet/${cidr.replace('/', '-')}`, value: JSON.stringify({ name: k, podCIDR: cidr }) },
    { type: 'put', key: `${ROOT}alloc/owner/${k}`, value: cidr },
    { type: 'put', key: `${ROOT}alloc/guard`, value: 'x' },
  ];
}

describe('membership: the incremental copy (MembershipMirror) against full reads', function () {
  it('random puts, deletes, invalid records, reservations, resets and replays: the screened list is identical to a full read at the same revision', function () {
    let compared = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        const store = new Store();
        store.txn([{ type: 'put', key: LOCK, value: 'self', lease: '9' }, { type: 'put', key: `${NODES}self`, value: JSON.stringify(SELF) }]);
        const mirror = new MembershipMirror(ROOT, LOCK);
        mirror.reset(store.snapshot());
        let seen = store.log.length; // events delivered so far
        const cache = new ScreenCache();
        const screening = new MirrorScreening(NODES);
        const options = { ...OPTIONS, cache };
        let self = SELF;
        let kept = [];
        const deliver = () => {
          for (; seen < store.log.length; seen++) mirror.apply(store.log[seen]);
        };
        for (const o of ops) {
          if (o.kind === 'put') store.txn([{ type: 'put', key: `${NODES}${o.s.key}`, value: o.s.value, lease: o.lease }]);
          else if (o.kind === 'delete') store.txn([{ type: 'delete', key: `${NODES}${o.k}` }]);
          else if (o.kind === 'reserve') store.txn(reserveOps(o.k, o.cidr));
          else if (o.kind === 'unreserve') store.txn([{ type: 'delete', key: `${ROOT}alloc/subnet/${o.cidr.replace('/', '-')}` }]);
          else if (o.kind === 'join') {
            // An agent's start: reservation (of its record's podCIDR, when it has a usable one), then its record, one revision each.
            let cidr = o.cidr;
            try {
              const v = JSON.parse(o.s.value);
              if (/^10\.20\.\d+\.0\/2[34]$/.test(v.podCIDR) && o.cidr !== '10.250.0.0/24') cidr = v.podCIDR;
            } catch {
              // junk: reserve the drawn subnet
            }
            store.txn(reserveOps(o.s.key, cidr));
            store.txn([{ type: 'put', key: `${NODES}${o.s.key}`, value: o.s.value }]);
          } else if (o.kind === 'lock') store.txn([{ type: 'put', key: LOCK, value: 'self', lease: '9' }]);
          else if (o.kind === 'unlock') store.txn([{ type: 'delete', key: LOCK }]);
          else if (o.kind === 'other-lock') store.txn([{ type: 'put', key: `${ROOT}lock/a`, value: 'a' }]);
          else if (o.kind === 'reset') {
            deliver();
            mirror.reset(store.snapshot());
          } else if (o.kind === 'replay') {
            deliver();
            // Everything from a few events back again, as a watch resumed at an older revision.
            for (let i = Math.max(0, store.log.length - o.back); i < store.log.length; i++) mirror.apply(store.log[i]);
          }
          else if (o.kind === 'multi') {
            store.txn(o.puts.map(([k, st]) => ({ type: 'put', key: `${NODES}${k}`, value: st.value })));
          } else if (o.kind === 'reset-big') {
            deliver();
            const snap = store.snapshot();
            const big = new Set(o.big.map((k) => `${NODES}${k}`));
            snap.nodesTooBig = snap.nodes.filter((kv) => big.has(kv.key.toString())).map((kv) => kv.key.toString());
            snap.nodes = snap.nodes.filter((kv) => !big.has(kv.key.toString()));
            // Reservations too big to read: listed after the others, still reserving their subnet.
            const bigAlloc = new Set(o.bigAlloc.map((cidr) => `${ROOT}alloc/subnet/${cidr.replace('/', '-')}`));
            snap.allocTooBig = snap.alloc.filter((kv) => bigAlloc.has(kv.key.toString())).map((kv) => kv.key.toString());
            snap.alloc = snap.alloc.filter((kv) => !bigAlloc.has(kv.key.toString()));
            mirror.reset(snap);
          } else if (o.kind === 'self') self = { ...SELF, mode: o.mode };
          else if (o.kind === 'keep') kept = o.kept;
          deliver();
          // After every change: the screener that follows the copy gives screenNodes' result over it.
          const alloc = mirror.allocSnapshot();
          const copy = screen({ entries: mirror.nodeEntries(), tooBig: mirror.tooBigNodes(), alloc }, cache, false, self, kept);
          const followed = screening.screen(mirror, self, options, kept).result;
          assert.deepEqual({ nodes: followed.nodes, skipped: followed.skipped, warnings: followed.warnings }, copy, `after ${JSON.stringify(o)}`);
          if (o.kind !== 'check' || mirror.tooBigNodes().length || mirror.tooBigAllocKeys().length) continue;
          assert.equal(mirror.revision, BigInt(store.rev));
          const want = screen(fullView(store), undefined, true, self);
          const got = screen({ entries: mirror.nodeEntries(), tooBig: mirror.tooBigNodes(), alloc: mirror.allocSnapshot() }, cache, false, self);
          assert.deepEqual(got, want);
          assert.equal(mirror.lock?.value.toString(), store.kvs.get(LOCK)?.value.toString());
          assert.deepEqual(mirror.counts(), { nodes: store.range(NODES).length, alloc: store.range(`${ROOT}alloc/`).length });
          compared++;
        }
        // And always at the end.
        deliver();
        if (mirror.tooBigNodes().length || mirror.tooBigAllocKeys().length) return;
        const want = screen(fullView(store), undefined, true, self);
        assert.deepEqual(screen({ entries: mirror.nodeEntries(), tooBig: mirror.tooBigNodes(), alloc: mirror.allocSnapshot() }, cache, false, self), want);
        compared++;
      }),
      { numRuns: 300 },
    );
    assert.ok(compared > 300);
  });

  it('the screener following the copy: reservations taken away, given back, overlapped by an older one, too big to read', function () {
    const store = new Store();
    store.txn([{ type: 'put', key: `${NODES}self`, value: JSON.stringify(SELF) }]);
    const mirror = new MembershipMirror(ROOT, LOCK);
    mirror.reset(store.snapshot());
    const screening = new MirrorScreening(NODES);
    const options = { ...OPTIONS };
    let seen = store.log.length;
    const subnetKey = (cidr) => `${ROOT}alloc/subnet/${cidr.replace('/', '-')}`;
    /** Applies the new events, screens, holds the result to screenNodes over the copy. */
    const step = (what) => {
      for (; seen < store.log.length; seen++) mirror.apply(store.log[seen]);
      const followed = screening.screen(mirror, SELF, options).result;
      const want = screen({ entries: mirror.nodeEntries(), tooBig: mirror.tooBigNodes(), alloc: mirror.allocSnapshot() }, undefined, true);
      assert.deepEqual({ nodes: followed.nodes, skipped: followed.skipped, warnings: followed.warnings }, want, what);
      return followed;
    };
    const a = { name: 'a', nodeIP: '10.0.1.1', podCIDR: '10.20.0.0/24', mode: 'vxlan' };
    store.txn(reserveOps('a', a.podCIDR));
    store.txn([{ type: 'put', key: `${NODES}a`, value: JSON.stringify(a) }]);
    assert.deepEqual(step('a joined').nodes.map((n) => n.name), ['a', 'self']);
    store.txn([{ type: 'delete', key: subnetKey(a.podCIDR) }]);
    assert.match(step('a unreserved').skipped[0].reason, /has no reservation for "a"/);
    store.txn(reserveOps('a', a.podCIDR));
    const older = step('a reserved again');
    assert.deepEqual(older.nodes.map((n) => n.name), ['a', 'self']);
    // b's /23 covering a's subnet, reserved (by hand) under a key created before a's: a loses.
    store.txn([{ type: 'delete', key: subnetKey(a.podCIDR) }, { type: 'put', key: subnetKey('10.20.0.0/23'), value: JSON.stringify({ name: 'b', podCIDR: '10.20.0.0/23' }) }]);
    store.txn(reserveOps('a', a.podCIDR));
    store.txn([{ type: 'put', key: `${NODES}a`, value: JSON.stringify({ ...a, mode: 'host-gw' }) }]);
    assert.match(step('an older overlapping reservation').skipped[0].reason, /reserved for node "b" \(10.20.0.0\/23, reserved earlier\)/);
    store.txn([{ type: 'delete', key: subnetKey('10.20.0.0/23') }]);
    assert.deepEqual(step('the older one gone').nodes.map((n) => n.name), ['a', 'self']);
    // A read that could not carry a's reservation: it still reserves the subnet (owner unknown,
    // so a is refused), until an event for that key arrives.
    const snap = store.snapshot();
    snap.allocTooBig = [subnetKey(a.podCIDR)];
    snap.alloc = snap.alloc.filter((kv) => kv.key.toString() !== subnetKey(a.podCIDR));
    mirror.reset(snap);
    assert.match(step('reservation too big to read').skipped[0].reason, /has no reservation for "a"/);
    store.txn(reserveOps('a', a.podCIDR));
    assert.deepEqual(step('its key written again').nodes.map((n) => n.name), ['a', 'self']);
    assert.equal(screening.starts, 2, 'started at the first screening and after the reset, followed otherwise');
  });

  it('a record that did not change is not validated again (same candidate object, cached check)', function () {
    const store = new Store();
    store.txn([{ type: 'put', key: `${NODES}a`, value: JSON.stringify({ name: 'a', nodeIP: '10.0.1.1', podCIDR: '10.20.0.0/24' }) }]);
    store.txn([{ type: 'put', key: `${NODES}b`, value: JSON.stringify({ name: 'b', nodeIP: '10.0.1.2', podCIDR: '10.20.1.0/24' }) }]);
    const mirror = new MembershipMirror(ROOT, LOCK);
    mirror.reset(store.snapshot());
    const [a1, b1] = mirror.nodeEntries().map((e) => e.candidate);
    store.txn([{ type: 'put', key: `${NODES}b`, value: JSON.stringify({ name: 'b', nodeIP: '10.0.1.3', podCIDR: '10.20.1.0/24' }) }]);
    mirror.apply(store.log[store.log.length - 1]);
    const [a2, b2] = mirror.nodeEntries().map((e) => e.candidate);
    assert.equal(a2, a1, 'the unchanged record keeps its candidate');
    assert.notEqual(b2, b1, 'the changed one gets a new one');
    assert.equal(b2.value.nodeIP, '10.0.1.3');
    // Order stays by create revision: b was created after a and stays after it.
    assert.deepEqual(mirror.nodeEntries().map((e) => e.key), [`${NODES}a`, `${NODES}b`]);
    // Deleted and created again: now the newest.
    store.txn([{ type: 'delete', key: `${NODES}a` }]);
    store.txn([{ type: 'put', key: `${NODES}a`, value: JSON.stringify({ name: 'a', nodeIP: '10.0.1.1', podCIDR: '10.20.0.0/24' }) }]);
    for (const ev of store.log.slice(-2)) mirror.apply(ev);
    assert.deepEqual(mirror.nodeEntries().map((e) => e.key), [`${NODES}b`, `${NODES}a`]);
  });
});
