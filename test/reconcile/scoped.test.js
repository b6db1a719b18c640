'use strict';
// Scoped cycles (engine/scope.ts): after a cycle that left the kernel as desired, a new desired
// state and kernel events are planned by reading only the keys they touch. The oracle is the
// full plan: under random desired changes and random interference by others, the scoped plan
// must hold exactly the full plan's ops and conflicts, and dump nothing but a device's addresses.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { Rtnl } = require('../../dist/rtnl');
const { Reconciler } = require('../../dist/reconcile');
const { computePlan } = require('../../dist/reconcile/engine/cycle');
const { computeScopedPlan } = require('../../dist/reconcile/engine/scope');
const { prepareDesired } = require('../../dist/reconcile/engine/prepare');
const { applyOps } = require('../../dist/reconcile/engine/apply');
const { checkReconcilerOptions } = require('../../dist/reconcile/engine/owner');
const { NEIGHBOR_RULES } = require('../../dist/reconcile/kinds/neighbor');
const { FDB_RULES } = require('../../dist/reconcile/kinds/fdb');
const { ADDRESS_RULES } = require('../../dist/reconcile/kinds/address');
const { kernelDescribe, netnsPerTest, ip, slow } = require('../support/kernel');
const { seeded } = require('../support/random');
const { PROTO, underlay, mac } = require('../reliability/helpers');
const { pollUntil } = require('../support/poll');

const VX = { kind: 'vxlan', name: 'vx0', vni: 7, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, up: true };
const SLOTS = 24;

/** The bridge tool in a namespace (an independent oracle and interferer). */
const bridge = (ns, ...args) => execFileSync('ip', ['netns', 'exec', ns, 'bridge', ...args]).toString();

/** Desired specs of slot i in version v (frozen, as the overlay hands them). */
function slotSpecs(i, v) {
  return {
    neighbor: Object.freeze({ dev: 'vx0', ip: `10.80.${i}.0`, lladdr: mac(i * 16 + v) }),
    fdb: Object.freeze({ dev: 'vx0', mac: mac(i * 16 + v), dst: `10.57.4.${100 + ((i + v) % 50)}` }),
    // On the underlay (a device nobody owns), an entry this reconciler placed that differs is a
    // conflict like any other: its MAC does not change with the version (versions >= 5 are others').
    under: Object.freeze({ dev: 'eth0', ip: `10.57.4.${150 + i}`, lladdr: mac(0x10000 + i * 16 + (v >= 5 ? v : 0)) }),
    // Every fourth slot has an address on the owned device (a new object each time: equal copies count as unchanged).
    address: i % 4 === 0 ? { dev: 'vx0', address: `10.80.${i}.0/32` } : undefined,
  };
}

function state(slots) {
  const neighbors = [];
  const fdb = [];
  const addresses = [];
  for (const s of slots) {
    if (s === undefined) continue;
    neighbors.push(s.neighbor);
    if (s.under) neighbors.push(s.under);
    fdb.push(s.fdb);
    if (s.address) addresses.push(Object.freeze({ ...s.address }));
  }
  return { links: [Object.freeze({ ...VX })], neighbors, fdb, addresses };
}

/** Resolves once no cycle has run for 300 ms (the links' own events have passed). */
async function quiet(cycles) {
  let n = -1;
  await pollUntil(async () => {
    if (n === cycles.length) return true;
    n = cycles.length;
    await new Promise((res) => setTimeout(res, 300 * slow));
    return false;
  }, { ms: 10_000 * slow, every: 1 });
}

/** An op or conflict as the plans are compared. */
const opText = (o) => `${o.kind} ${o.action} ${o.key}: ${o.reason}`;
const conflictText = (c) => `${c.kind} ${c.key}: ${c.reason}`;

kernelDescribe('reconcile: scoped cycles plan exactly what a full read plans', function () {
  this.timeout(120_000 * slow);
  const ns = netnsPerTest('scoped');
  let nl;
  let mon;
  afterEach(() => {
    mon?.close();
    mon = undefined;
    if (nl) nl.close();
  });

  it('random desired changes and interference by others: the same ops and conflicts, no dump but addresses', async function () {
    underlay(ns());
    nl = await Rtnl.open({ netns: ns() });
    const { owner, adoptConflicts } = checkReconcilerOptions({ protocol: PROTO });
    const ctx = { owner, adoptConflicts };
    const seed = Number(process.env.SCOPED_SEED ?? 0x5c0bed);
    const rnd = seeded(seed);
    const pick = (n) => Math.floor(rnd() * n);
    const version = new Array(SLOTS).fill(0);
    let slots = [];
    for (let i = 0; i < SLOTS; i++) slots.push(rnd() < 0.7 ? slotSpecs(i, 0) : undefined);
    // Converge the first state with a full cycle.
    let prepared = prepareDesired(state(slots), owner);
    let full = await computePlan(nl, prepared, ctx);
    assert.deepEqual((await applyOps(nl, full.plan.ops, ctx)).failed, []);
    full = await computePlan(nl, prepared, ctx);
    let base = { state: prepared, view: full.view, conflicts: full.plan.conflicts.map(conflictText) };
    const vx = (await nl.links.get('vx0')).index;
    const eth0 = (await nl.links.get('eth0')).index;
    // The kernel's own events name keys too (deleting a device's last IPv4 address flushes its
    // ARP entries, each with an event): what a watch hears is what a scoped cycle reads.
    const heard = new Map([
      ['neighbor', new Set()],
      ['fdb', new Set()],
      ['address', new Set()],
    ]);
    // The last event on each key (what the kernel has there now, once the walk is quiet).
    const lastOf = new Map();
    const monitor = (mon = nl.monitor({ groups: ['neigh', 'addr'] }));
    monitor.on('neighbor', (e) => {
      const key = `${e.object.index} ${NEIGHBOR_RULES.idOf(e.object)}`;
      heard.get('neighbor').add(key);
      lastOf.set(`neighbor ${key}`, { kind: 'neighbor', key, ...e });
    });
    monitor.on('fdb', (e) => {
      const key = `${e.object.index} ${FDB_RULES.idOf(e.object)}`;
      heard.get('fdb').add(key);
      lastOf.set(`fdb ${key}`, { kind: 'fdb', key, ...e });
    });
    monitor.on('address', (e) => heard.get('address').add(`${e.object.index} ${ADDRESS_RULES.idOf(e.object)}`));
    // Which dumps the scoped plan makes (their `what`): a device's addresses, and nothing else.
    const dumps = [];
    const dumpOf = nl.socket.dump.bind(nl.socket);
    nl.socket.dump = (encode, parse, opts = {}) => {
      dumps.push(opts.what ?? 'dump');
      return dumpOf(encode, parse, opts);
    };
    let compared = 0;
    let opsSeen = 0;
    // An event a watch takes as settling its key (settledBy: mostly the echoes of our own
    // writes) must be one a read of that key would plan nothing for, with the kernel as the
    // last event on each key left it. Checked after others' changes (what they wrote differs
    // from the desired entry, or is a conflict) and after our writes (echoes).
    let settled = 0;
    let settledDeletes = 0;
    let notSettled = 0;
    const checkSettled = async (state, view, at) => {
      for (const ev of lastOf.values()) {
        const kind = state.kinds.find((k) => k.kind.kind === ev.kind);
        if (!kind.settledBy(ev.kind, ev.object, ev.action, ev.key, view, ctx)) {
          notSettled++;
          continue;
        }
        settled++;
        const d = await kind.planKeys(nl, new Set([ev.key]), view, ctx);
        assert.ok(d !== undefined, `${at}: the read of ${ev.key} gave up`);
        assert.deepEqual([...d.ops.map(opText), ...d.conflicts.map(conflictText)], [], `${at}: the ${ev.action} event on ${ev.key} was taken as settling it, but a read of it plans`);
        if (ev.action === 'del') settledDeletes++;
      }
      lastOf.clear();
    };
    for (let step = 0; step < 60; step++) {
      const at = `seed ${seed} step ${step}`;
      // Others change the kernel; the keys they touch are what the monitor would report.
      const dirty = new Map([
        ['neighbor', new Set()],
        ['fdb', new Set()],
        ['address', new Set()],
      ]);
      for (let k = pick(3); k > 0; k--) {
        const i = pick(SLOTS);
        const v = pick(3);
        const s = slotSpecs(i, v + 5); // versions nobody desires
        if (pick(4) === 0) {
          // Addresses on the owned device: one someone added (removed again), one desired taken away.
          const a = `10.80.${pick(SLOTS)}.0/32`;
          const extra = `10.99.${pick(8)}.1/32`;
          const target = pick(2) ? a : extra;
          const has = ip(ns(), 'addr', 'show', 'dev', 'vx0').includes(` ${target} `);
          ip(ns(), 'addr', has ? 'del' : 'add', target, 'dev', 'vx0');
          dirty.get('address').add(`${vx} ${target}`);
          continue;
        }
        switch (pick(7)) {
          case 0: // an owned neighbour changed or added
            ip(ns(), 'neigh', 'replace', s.neighbor.ip, 'lladdr', s.neighbor.lladdr, 'dev', 'vx0', 'nud', 'permanent');
            dirty.get('neighbor').add(`${vx} ${s.neighbor.ip}`);
            break;
          case 1: // an owned neighbour deleted
            if (ip(ns(), 'neigh', 'show', 'dev', 'vx0', 'to', s.neighbor.ip).trim()) {
              ip(ns(), 'neigh', 'del', s.neighbor.ip, 'dev', 'vx0');
              dirty.get('neighbor').add(`${vx} ${s.neighbor.ip}`);
            }
            break;
          case 2: // an FDB entry's remote changed, or an entry added
            // The kernel's event names the new remote only (the MAC's one entry changed).
            bridge(ns(), 'fdb', 'replace', slotSpecs(i, version[i]).fdb.mac, 'dev', 'vx0', 'dst', s.fdb.dst, 'self', 'permanent');
            dirty.get('fdb').add(`${vx} ${slotSpecs(i, version[i]).fdb.mac} ${s.fdb.dst}`);
            break;
          case 3: // an FDB entry deleted
            {
              // Whatever remote the MAC has now goes; the event names that entry.
              const m = slotSpecs(i, version[i]).fdb.mac;
              const line = bridge(ns(), 'fdb', 'show', 'dev', 'vx0').split('\n').find((l) => l.startsWith(`${m} dst `));
              if (line) {
                bridge(ns(), 'fdb', 'del', m, 'dev', 'vx0', 'self');
                dirty.get('fdb').add(`${vx} ${m} ${line.split(' ')[2]}`);
              }
            }
            break;
          case 4: // someone placed a different permanent neighbour on the underlay (a conflict, now and then)
            if (rnd() < 0.6) break;
            ip(ns(), 'neigh', 'replace', s.under.ip, 'lladdr', s.under.lladdr, 'dev', 'eth0', 'nud', 'permanent');
            dirty.get('neighbor').add(`${eth0} ${s.under.ip}`);
            break;
          case 5: // the kernel learned one (stale): replaced when desired
            ip(ns(), 'neigh', 'replace', s.under.ip, 'lladdr', s.under.lladdr, 'dev', 'eth0', 'nud', 'stale');
            dirty.get('neighbor').add(`${eth0} ${s.under.ip}`);
            break;
          default: // an underlay neighbour removed
            if (ip(ns(), 'neigh', 'show', 'dev', 'eth0', 'to', s.under.ip).trim()) {
              ip(ns(), 'neigh', 'del', s.under.ip, 'dev', 'eth0');
              dirty.get('neighbor').add(`${eth0} ${s.under.ip}`);
            }
        }
      }
      // The desired state changes a few slots; the others hand the same frozen objects.
      slots = slots.slice();
      for (let k = pick(4); k > 0; k--) {
        const i = pick(SLOTS);
        const r = rnd();
        if (r < 0.3) slots[i] = undefined;
        else {
          version[i] = r < 0.65 ? version[i] : (version[i] + 1) % 3;
          const s = slotSpecs(i, version[i]);
          slots[i] = rnd() < 0.5 ? s : { ...s, under: undefined };
        }
      }
      const next = prepareDesired(state(slots), owner);
      await new Promise((res) => setTimeout(res, 20 * slow)); // the events of the interference arrive
      await checkSettled(next, full.view, `${at}, after others' changes`);
      for (const [kind, keys] of heard) {
        for (const key of keys) dirty.get(kind).add(key);
        keys.clear();
      }
      const dumpsBefore = nl.socket.dumpObjects;
      dumps.length = 0;
      const scoped = base === undefined ? undefined : await computeScopedPlan(nl, next, base, dirty, ctx);
      const scopedDumps = nl.socket.dumpObjects - dumpsBefore;
      const scopedDumpNames = dumps.splice(0);
      full = await computePlan(nl, next, ctx);
      if (base !== undefined) {
        assert.ok(scoped !== undefined, `${at}: the scoped plan gave up`);
        assert.equal(scoped.kindsWhole, 0, `${at}: a kind was read whole`);
        // Only addresses are read with dumps, of the devices a key names (a device holds few).
        // Any device: the kernel's own address events name eth0p's and lo's too (an IPv6
        // link-local address whose DAD ends late, on a slow machine, in the middle of the walk).
        const devDump = scopedDumpNames.filter((w) => !/^addresses\.list dev \S+$/.test(w));
        assert.deepEqual(devDump, [], `${at}: the scoped plan dumped other than a device's addresses`);
        assert.equal(new Set(scopedDumpNames).size, scopedDumpNames.length, `${at}: a device's addresses read twice: ${scopedDumpNames}`);
        const addressesHeld = (ip(ns(), 'addr', 'show').match(/ inet6? /g) ?? []).length;
        assert.ok(scopedDumps <= addressesHeld, `${at}: the scoped plan dumped ${scopedDumps} objects (the namespace holds ${addressesHeld} addresses)`);
        assert.deepEqual(scoped.plan.ops.map(opText).sort(), full.plan.ops.map(opText).sort(), `${at}\nscoped:\n${scoped.plan.text()}\nfull:\n${full.plan.text()}`);
        const fullConflicts = full.plan.conflicts.map(conflictText);
        const scopedConflicts = scoped.plan.conflicts.map(conflictText);
        for (const c of scopedConflicts) assert.ok(fullConflicts.includes(c), `${at}: scoped conflict ${c} is not in the full plan`);
        for (const c of fullConflicts) if (!scopedConflicts.includes(c)) assert.ok(base.conflicts.includes(c), `${at}: conflict ${c} is new but the scoped plan missed it`);
        compared++;
        opsSeen += full.plan.ops.length;
      }
      const out = await applyOps(nl, full.plan.ops, ctx);
      await new Promise((res) => setTimeout(res, 20 * slow));
      for (const keys of heard.values()) keys.clear(); // our own writes: a base read after them
      await checkSettled(next, full.view, `${at}, after our writes`);
      // A failed op leaves the kernel other than planned: the next step has no base (as a watch).
      // Conflicts stay where they are (a Reconciler reads whole after one; the planner is held
      // to the full plan with them here too: the ops are the same, and a conflict it does not
      // report is one the base had on a key nothing touched).
      base = out.failed.length === 0 ? { state: next, view: full.view, conflicts: full.plan.conflicts.map(conflictText) } : undefined;
      prepared = next;
    }
    // The walk compared most steps, and they were not all empty.
    assert.ok(compared >= 30, `only ${compared} of 60 steps had a base to compare from`);
    assert.ok(opsSeen >= 30, `only ${opsSeen} ops in ${compared} compared plans`);
    assert.ok(settled >= 20 && settledDeletes >= 5 && notSettled >= 8, `${settled} events were taken as settling their key (${settledDeletes} deletions), ${notSettled} not`);
  });

  it('a watch plans a changed node and the repair of an entry someone deleted with targeted reads only; unfrozen specs get full cycles', async function () {
    underlay(ns());
    // No IPv6 on the new vxlan device: its address configuration would send link events later
    // on, and a link event rightly makes a full cycle.
    execFileSync('ip', ['netns', 'exec', ns(), 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    nl = await Rtnl.open({ netns: ns() });
    const neigh = (dev, to) => {
      try {
        return ip(ns(), 'neigh', 'show', 'dev', dev, 'to', to);
      } catch {
        return ''; // the device is not there yet
      }
    };
    const r = new Reconciler(nl, { protocol: PROTO });
    const cycles = [];
    r.on('cycle', (c) => cycles.push(c));
    try {
      let slots = [];
      for (let i = 0; i < SLOTS; i++) slots.push(slotSpecs(i, 0));
      r.watch(state(slots), { debounceMs: 10, resyncIntervalMs: 3_600_000 });
      await pollUntil(() => neigh('vx0', '10.80.3.0').includes(slotSpecs(3, 0).neighbor.lladdr), { ms: 5000 * slow });
      await quiet(cycles);
      assert.equal(cycles[0].scoped, false); // the start reads everything
      const n0 = cycles.length;
      const dumps = nl.socket.dumpObjects;
      // One node changes: scoped cycles read only its keys (and the events its changes cause).
      slots = slots.slice();
      slots[3] = slotSpecs(3, 1);
      r.setDesired(state(slots));
      await pollUntil(() => neigh('vx0', '10.80.3.0').includes(slotSpecs(3, 1).neighbor.lladdr), { ms: 5000 * slow });
      // Someone deletes an entry: the event's key is read, and the entry comes back.
      await quiet(cycles);
      ip(ns(), 'neigh', 'del', '10.80.5.0', 'dev', 'vx0');
      await pollUntil(() => neigh('vx0', '10.80.5.0').includes(slotSpecs(5, 0).neighbor.lladdr), { ms: 5000 * slow });
      await quiet(cycles);
      const after = cycles.slice(n0);
      assert.ok(after.length >= 2 && after.every((c) => c.scoped && c.outcome === 'done'), JSON.stringify(cycles));
      assert.equal(nl.socket.dumpObjects, dumps, 'a scoped cycle dumped');
      const fdb = bridge(ns(), 'fdb', 'show', 'dev', 'vx0');
      assert.ok(fdb.includes(`${slotSpecs(3, 1).fdb.mac} dst ${slotSpecs(3, 1).fdb.dst}`), fdb);
      assert.ok(!fdb.includes(slotSpecs(3, 0).fdb.mac), fdb);
    } finally {
      await r.stop();
    }

    // Specs that are not frozen: one changed in place is applied, by a cycle that reads whole.
    const r2 = new Reconciler(nl, { protocol: PROTO + 1, owner: 'other' });
    const loose = { links: [{ ...VX, name: 'vx1', vni: 8, port: 4790 }], neighbors: [{ dev: 'vx1', ip: '10.81.0.1', lladdr: mac(0x20000) }] };
    const c2 = [];
    r2.on('cycle', (c) => c2.push(c));
    try {
      r2.watch(loose, { debounceMs: 10, resyncIntervalMs: 3_600_000 });
      await pollUntil(() => neigh('vx1', '10.81.0.1').includes(mac(0x20000)), { ms: 5000 * slow });
      await quiet(c2);
      loose.neighbors[0].lladdr = mac(0x20001);
      r2.setDesired(loose);
      await pollUntil(() => neigh('vx1', '10.81.0.1').includes(mac(0x20001)), { ms: 5000 * slow });
      await quiet(c2);
    } finally {
      await r2.stop();
    }
    const desiredCycles = c2.filter((c) => c.reason === 'desired');
    assert.ok(desiredCycles.length >= 1 && desiredCycles.every((c) => !c.scoped), JSON.stringify(c2));
  });

  it("a watch's own writes bring no cycle of their own (their events settle their keys); others' changes still do", async function () {
    underlay(ns());
    execFileSync('ip', ['netns', 'exec', ns(), 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    nl = await Rtnl.open({ netns: ns() });
    const neigh = (to) => {
      try {
        return ip(ns(), 'neigh', 'show', 'dev', 'vx0', 'to', to);
      } catch {
        return ''; // the device is not there yet
      }
    };
    const route = (dst) => ip(ns(), 'route', 'show', dst);
    /** The slot's specs with a route to its pod subnet (10.80.i.0 may be an address of vx0: not the gateway). */
    const withRoute = (i, v) => ({ ...slotSpecs(i, v), under: undefined, route: Object.freeze({ dst: `10.90.${i}.0/24`, via: `10.82.${i}.1`, dev: 'vx0', onlink: true }) });
    const desired = (slots) => ({ ...state(slots), routes: slots.filter((s) => s !== undefined).map((s) => s.route) });
    const r = new Reconciler(nl, { protocol: PROTO });
    const cycles = [];
    r.on('cycle', (c) => cycles.push(c));
    try {
      let slots = [];
      for (let i = 0; i < 8; i++) slots.push(withRoute(i, 0));
      r.watch(desired(slots), { debounceMs: 10, resyncIntervalMs: 3_600_000 });
      await pollUntil(() => route('10.90.7.0/24').includes('10.82.7.1'), { ms: 5000 * slow });
      await quiet(cycles);
      // One node changes (a neighbour's MAC, an FDB entry's remote, a route's gateway) and one
      // leaves: the events of those writes show what was just written (or its deletion from a
      // key nothing is desired on), so one cycle and nothing after it.
      let n0 = cycles.length;
      let s0 = r.settledEvents;
      slots = slots.slice();
      // (A node's new IP: its FDB entry's remote is replaced, the MAC stays.)
      slots[3] = {
        ...withRoute(3, 0),
        neighbor: slotSpecs(3, 1).neighbor,
        fdb: Object.freeze({ ...slotSpecs(3, 0).fdb, dst: '10.57.4.140' }),
        route: Object.freeze({ dst: '10.90.3.0/24', via: '10.82.9.1', dev: 'vx0', onlink: true }),
      };
      slots[6] = undefined;
      // Linux 6.1 announces the leaving node's FDB entry (a MAC's last remote) deleted without
      // its dst: such an event names no key it settles, so it is read, in one more cycle.
      const noDst = [];
      mon = nl.monitor({ groups: ['neigh'] });
      mon.on('fdb', (e) => e.action === 'del' && e.object.dst === undefined && noDst.push(e));
      r.setDesired(desired(slots));
      await pollUntil(() => route('10.90.3.0/24').includes('10.82.9.1') && neigh('10.80.3.0').includes(slotSpecs(3, 1).neighbor.lladdr) && !route('10.90.6.0/24'), { ms: 5000 * slow });
      await quiet(cycles);
      const read = noDst.length > 0 ? ['event true done'] : [];
      assert.deepEqual(cycles.slice(n0).map((c) => `${c.reason} ${c.scoped} ${c.outcome}`), ['desired true done', ...read]);
      assert.ok(r.settledEvents - s0 >= 6, `${r.settledEvents - s0} events settled their keys`);
      assert.ok(!neigh('10.80.6.0').trim() && !bridge(ns(), 'fdb', 'show', 'dev', 'vx0').includes(slotSpecs(6, 0).fdb.mac));
      n0 = cycles.length;
      // Someone writes something else: read and repaired, each by a cycle.
      ip(ns(), 'neigh', 'replace', '10.80.5.0', 'lladdr', mac(0x30000), 'dev', 'vx0', 'nud', 'permanent');
      await pollUntil(() => neigh('10.80.5.0').includes(slotSpecs(5, 0).neighbor.lladdr), { ms: 5000 * slow });
      ip(ns(), 'route', 'replace', '10.90.5.0/24', 'via', '10.82.6.1', 'dev', 'vx0', 'onlink', 'proto', String(PROTO));
      await pollUntil(() => route('10.90.5.0/24').includes('10.82.5.1'), { ms: 5000 * slow });
      // The same route from another protocol: a conflict, read (not settled) and left alone.
      ip(ns(), 'route', 'replace', '10.90.2.0/24', 'via', '10.82.2.1', 'dev', 'vx0', 'onlink', 'proto', String(PROTO + 1));
      await quiet(cycles);
      const repairs = cycles.slice(n0);
      assert.ok(repairs.length >= 3 && repairs.every((c) => c.reason === 'event' && c.scoped), JSON.stringify(repairs));
      assert.ok(route('10.90.2.0/24').includes(`proto ${PROTO + 1}`), route('10.90.2.0/24'));
    } finally {
      await r.stop();
    }
  });
});
