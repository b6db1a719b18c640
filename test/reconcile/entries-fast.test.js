'use strict';
// Neighbour and FDB entries are read on the numbers of their dumps (kinds/neighbor/fast.ts,
// kinds/fdb/fast.ts): an entry equal to its desired one settles without being decoded. The
// plan must be the one the general path (every entry decoded, matched by key string) makes,
// whatever the kernel holds: entries someone else placed, entries on devices nobody owns or
// another owner holds, changed MACs, states, destinations, ports and VNIs, missing ones,
// duplicates. Random states, each planned both ways; then applied, after which a no-op apply
// sends nothing. ENTRIES_FAST_RUNS widens a run; ENTRIES_FAST_SEED replays one.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { setFastEntryReads } = require('../../dist/reconcile/engine/entries');
const { kernelDescribe, netnsPerTest, ip, hostLike } = require('../support/kernel');
const { seeded } = require('../support/random');

const PROTO = 77;
const RUNS = Number(process.env.ENTRIES_FAST_RUNS || (process.env.NETLINK_AGENT_VM === '1' ? 4 : 12));
const SEED = Number(process.env.ENTRIES_FAST_SEED || Date.now() % 1e9);

const hex2 = (n) => (n & 255).toString(16).padStart(2, '0');
const VXLAN0 = { kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, up: true };
const VXLAN2 = { kind: 'vxlan', name: 'vxlan2', vni: 102, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, up: true };
/** Hand-made devices nobody's desired state names: vxlan1, vxlan3, vxlan4 (and eth0). */
const HAND_MADE = ['vxlan1', 'vxlan3', 'vxlan4'];

/** One random desired state over the devices; `wide` spreads entries over more devices (more than four are read with one dump of everything). */
function randomState(rand, wide) {
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const devs = wide ? ['vxlan0', 'vxlan0', 'vxlan0', 'vxlan1', 'vxlan2', 'vxlan3', 'vxlan4', 'eth0'] : ['vxlan0', 'vxlan0', 'vxlan0', 'vxlan1', 'vxlan2'];
  const neighbors = [];
  const fdb = [];
  const n = 20 + Math.floor(rand() * 30);
  for (let i = 0; i < n; i++) {
    const v6 = rand() < 0.3;
    const spec = { dev: pick(devs), ip: v6 ? `fd00::${(i + 1).toString(16)}` : `10.200.${i >> 8}.${(i & 255) + 1}` };
    spec.lladdr = `0a:58:00:00:${hex2(i >> 8)}:${hex2(i)}`; // the kernel makes no entry without one
    if (rand() < 0.2) spec.state = pick(['permanent', 'noarp']);
    neighbors.push(spec);
  }
  const fdbDevs = devs.filter((d) => d !== 'eth0');
  for (let i = 0; i < n; i++) {
    const flood = rand() < 0.3;
    const spec = { dev: pick(fdbDevs), mac: flood ? '00:00:00:00:00:00' : `0a:58:00:01:${hex2(i >> 8)}:${hex2(i)}`, dst: `10.57.${5 + (i >> 8)}.${(i & 255) + 1}` };
    if (rand() < 0.2) spec.port = 4790 + Math.floor(rand() * 3);
    if (rand() < 0.2) spec.vni = 200 + Math.floor(rand() * 3);
    if (!flood && rand() < 0.1) spec.permanent = false;
    fdb.push(spec);
  }
  return { links: [VXLAN0, VXLAN2], neighbors, fdb };
}

/** Changes what the kernel holds, as someone else would (the oracle tools, not the library). */
function perturb(ns, rand, desired) {
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const neigh = [];
  const fdb = [];
  for (let k = 0; k < 8; k++) {
    const d = pick(desired.neighbors);
    const what = Math.floor(rand() * 6);
    if (what === 0) neigh.push(`neigh replace ${d.ip} lladdr 02:99:00:00:00:${hex2(k)} dev ${d.dev} nud permanent`); // changed MAC
    else if (what === 1) neigh.push(`neigh replace ${d.ip} lladdr ${d.lladdr || '02:99:00:00:01:01'} dev ${d.dev} nud ${pick(['noarp', 'reachable', 'stale'])}`); // changed state
    else if (what === 2) neigh.push(`neigh del ${d.ip} dev ${d.dev}`); // missing
    else if (what === 3) neigh.push(`neigh replace 10.201.0.${k + 1} lladdr 02:98:00:00:00:${hex2(k)} dev ${pick(['vxlan0', 'vxlan1', 'vxlan3', 'eth0'])} nud ${pick(['permanent', 'stale'])}`); // extra
    else if (what === 4) neigh.push(`neigh replace fd00::ff${k} lladdr 02:98:00:00:01:${hex2(k)} dev ${pick(['vxlan0', 'eth0', 'vxlan1'])} nud permanent`); // extra, IPv6
    else neigh.push(`neigh replace ${d.ip} dev ${d.dev} nud noarp`); // no MAC
  }
  for (let k = 0; k < 8; k++) {
    const e = pick(desired.fdb);
    const what = Math.floor(rand() * 6);
    const unicast = e.mac !== '00:00:00:00:00:00';
    if (what === 0 && unicast) fdb.push(`fdb replace ${e.mac} dev ${e.dev} dst 10.57.99.${k + 1} self permanent`); // changed dst
    else if (what === 1) fdb.push(`fdb ${unicast ? 'replace' : 'append'} ${e.mac} dev ${e.dev} dst ${e.dst} port ${4800 + k} vni ${300 + k} self permanent`); // changed port and vni
    else if (what === 2) fdb.push(`fdb del ${e.mac} dev ${e.dev} dst ${e.dst} self`); // missing
    else if (what === 3) fdb.push(`fdb append 00:00:00:00:00:00 dev ${pick(['vxlan0', 'vxlan1', 'vxlan4'])} dst 10.57.98.${k + 1} self permanent`); // extra flood remote
    else if (what === 4) fdb.push(`fdb add 0a:98:00:00:00:${hex2(k)} dev ${pick(['vxlan0', 'vxlan1'])} dst 10.57.97.${k + 1} self permanent`); // extra unicast
    else if (unicast) fdb.push(`fdb replace ${e.mac} dev ${e.dev} dst ${e.dst} self static`); // not permanent
  }
  // -force: a line the kernel refuses (a deleted entry deleted again) does not stop the rest
  // (the exit status then says some failed, which is expected here).
  spawnSync('ip', ['-n', ns, '-force', '-batch', '-'], { input: neigh.join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'] });
  spawnSync('bridge', ['-n', ns, '-force', '-batch', '-'], { input: fdb.join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'] });
}

/** Sometimes the desired side changes instead: another MAC, state, port, VNI or permanence. */
function perturbDesired(rand, desired) {
  const out = { ...desired, neighbors: desired.neighbors.map((n) => ({ ...n })), fdb: desired.fdb.map((e) => ({ ...e })) };
  for (let k = 0; k < 3; k++) {
    const n = out.neighbors[Math.floor(rand() * out.neighbors.length)];
    const how = Math.floor(rand() * 3);
    if (how === 0) n.lladdr = `0A-58-00-77-00-${hex2(k)}`; // another MAC, in another notation
    else if (how === 1) delete n.lladdr; // any MAC: the state alone is compared
    else n.state = n.state === 'noarp' ? 'permanent' : 'noarp';
    const e = out.fdb[Math.floor(rand() * out.fdb.length)];
    const what = Math.floor(rand() * 3);
    if (what === 0) e.port = 4795;
    else if (what === 1) e.vni = 250;
    else if (e.mac !== '00:00:00:00:00:00') e.permanent = e.permanent === false;
  }
  return out;
}

async function planBoth(r, desired) {
  setFastEntryReads(true);
  const fast = await r.plan(desired);
  setFastEntryReads(false);
  try {
    return { fast, general: await r.plan(desired) };
  } finally {
    setFastEntryReads(true);
  }
}

kernelDescribe('reconcile: neighbours and FDB entries read on numbers plan as the general path does', function () {
  const ns = netnsPerTest('entfast');
  let nl;
  afterEach(() => {
    setFastEntryReads(true);
    if (nl) nl.close();
    nl = undefined;
  });

  it(`random states with foreign entries, other devices and changed MAC/state/dst/port/vni: the same plan both ways, then a no-op sends nothing (seed ${SEED})`, async function () {
    this.timeout(120000);
    hostLike(ns());
    // vxlan2 is desired but another owner's: every desired entry on it is a conflict.
    ip(ns(), 'link', 'add', 'vxlan2', 'type', 'vxlan', 'id', '102', 'dstport', '4789', 'local', '10.57.4.20', 'dev', 'eth0', 'nolearning');
    ip(ns(), 'link', 'set', 'vxlan2', 'alias', 'someone-else');
    ip(ns(), 'link', 'set', 'vxlan2', 'up');
    nl = await Rtnl.open({ netns: ns() });
    const r = new Reconciler(nl, { protocol: PROTO });
    let changedRuns = 0;
    let conflictRuns = 0;
    for (let run = 0; run < RUNS; run++) {
      const seed = SEED + run;
      const rand = seeded(seed);
      for (const [k, name] of HAND_MADE.entries()) {
        if (run > 0) ip(ns(), 'link', 'del', name);
        ip(ns(), 'link', 'add', name, 'type', 'vxlan', 'id', String(101 + 2 * k), 'dstport', '4789', 'local', '10.57.4.20', 'dev', 'eth0', 'nolearning');
        ip(ns(), 'link', 'set', name, 'up');
      }
      const base = randomState(rand, run % 2 === 1);
      const first = await r.apply(base);
      assert.deepEqual(first.failed.map((f) => f.error.message), [], `seed ${seed}`);
      perturb(ns(), rand, base);
      const desired = rand() < 0.3 ? perturbDesired(rand, base) : base;
      const { fast, general } = await planBoth(r, desired);
      assert.equal(fast.text(), general.text(), `seed ${seed}: the fast read planned otherwise`);
      if (fast.ops.length > 0) changedRuns++;
      if (fast.conflicts.length > 0) conflictRuns++;
      // Applied with every MAC given (the kernel makes no entry without one, e.g. one perturb() deleted).
      const applied = { ...desired, neighbors: desired.neighbors.map((n, i) => (n.lladdr === undefined ? { ...n, lladdr: base.neighbors[i].lladdr } : n)) };
      const res = await r.apply(applied);
      assert.deepEqual(res.failed.map((f) => f.error.message), [], `seed ${seed}\n${res.plan.text()}`);
      // Converged: nothing left to do either way, and a no-op apply writes nothing.
      const after = await planBoth(r, applied);
      assert.equal(after.fast.ops.length, 0, `seed ${seed}\n${after.fast.text()}`);
      assert.equal(after.general.ops.length, 0, `seed ${seed}\n${after.general.text()}`);
      assert.equal(after.fast.text(), after.general.text(), `seed ${seed}`);
      const noop = await r.apply(applied);
      assert.equal(noop.requests, 0, `seed ${seed}: a no-op apply sent ${noop.requests} requests\n${noop.plan.text()}`);
    }
    // The runs did exercise something: changes to make and conflicts to report.
    assert.ok(changedRuns >= RUNS / 2, `only ${changedRuns} of ${RUNS} runs had ops`);
    assert.ok(conflictRuns >= RUNS / 2, `only ${conflictRuns} of ${RUNS} runs had conflicts`);
  });

  it('10k neighbours and 10k FDB entries: a no-op plan is empty on both paths; one changed node costs exactly its ops', async function () {
    this.timeout(120000);
    ip(ns(), 'link', 'set', 'lo', 'up');
    ip(ns(), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    ip(ns(), 'addr', 'add', '10.57.4.20/24', 'dev', 'eth0');
    ip(ns(), 'link', 'set', 'eth0', 'up');
    nl = await Rtnl.open({ netns: ns(), receiveBufferBytes: 8 << 20 });
    const r = new Reconciler(nl, { protocol: PROTO });
    const state = (changed) => {
      const neighbors = [];
      const fdb = [];
      for (let i = 0; i < 10000; i++) {
        const k = i + 2;
        const mac = `${i === changed ? '0b' : '0a'}:58:00:00:${hex2(k >> 8)}:${hex2(k)}`;
        neighbors.push({ dev: 'vxlan0', ip: `10.${128 + (k >> 8)}.${k & 255}.0`, lladdr: mac });
        fdb.push({ dev: 'vxlan0', mac, dst: `10.57.${k >> 8}.${k & 255}` });
      }
      return { links: [VXLAN0], neighbors, fdb };
    };
    assert.ok((await r.apply(state(-1))).converged);
    const { fast, general } = await planBoth(r, state(-1));
    assert.equal(fast.ops.length, 0, fast.text().slice(0, 500));
    assert.equal(general.ops.length, 0);
    const one = await planBoth(r, state(5000));
    assert.equal(one.fast.text(), one.general.text());
    assert.deepEqual(one.fast.ops.map((o) => `${o.action} ${o.kind}`).sort(), ['create fdb', 'delete fdb', 'update neighbor']);
    const res = await r.apply(state(5000));
    assert.equal(res.requests, 3);
    assert.equal((await r.apply(state(5000))).requests, 0);
  });
});
