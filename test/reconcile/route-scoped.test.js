'use strict';
// The route kind's scoped read (kinds/route/scoped.ts): planKeys reads some keys with FIB
// lookups and must give exactly the ops and conflicts the full read and diff give for those
// keys, or say it cannot (undefined). A seeded generator builds desired routes and kernel states
// around them (ours equal or different, foreign on the key, stale, other metrics, more specific
// routes, routes in another table) and compares the two for random key sets.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { Rtnl } = require('../../dist/rtnl');
const { prepareDesired } = require('../../dist/reconcile/engine/prepare');
const { LINKS } = require('../../dist/reconcile/engine/registry');
const { checkReconcilerOptions } = require('../../dist/reconcile/engine/owner');
const { kernelDescribe, netnsPerTest, ip, hostLike } = require('../support/kernel');
const { seeded } = require('../support/random');
const { deepFreeze } = require('../../dist/values/plain');

const PROTO = 77;
const FOREIGN = 99;

function sysctl(ns, key, value) {
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `${key}=${value}`]);
}

/** A host: eth0 (10.57.4.20/24, fd00:57::20/64) with default routes of both families, eth1 (dev-only routes), forwarding on. */
function host(ns) {
  hostLike(ns, '10.57.4.20/24', '10.57.4.1');
  ip(ns, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p');
  ip(ns, 'link', 'set', 'eth1', 'up');
  ip(ns, 'link', 'set', 'eth1p', 'up');
  ip(ns, '-6', 'addr', 'add', 'fd00:57::20/64', 'dev', 'eth0', 'nodad');
  ip(ns, '-6', 'route', 'add', 'default', 'via', 'fd00:57::1', 'dev', 'eth0');
  sysctl(ns, 'net.ipv6.conf.all.forwarding', 1);
}

/**
 * Two vxlan links the desired state names: vxF, made by hand (no owner alias: another owner's,
 * so routes through it are conflicts and ours on it are left alone), and vxV, ours at VNI 300
 * while VNI 301 is desired (recreated: what is on it goes away with it).
 */
function vxlans(ns) {
  ip(ns, 'link', 'add', 'vxF', 'type', 'vxlan', 'id', '200', 'dstport', '4789', 'local', '10.57.4.20', 'dev', 'eth0', 'nolearning');
  ip(ns, 'link', 'add', 'vxV', 'type', 'vxlan', 'id', '300', 'dstport', '4790', 'local', '10.57.4.20', 'dev', 'eth0', 'nolearning');
  ip(ns, 'link', 'set', 'vxV', 'alias', 'netlink-agent');
  for (const l of ['vxF', 'vxV']) ip(ns, 'link', 'set', l, 'up');
}
const LINK_SPECS = [
  { kind: 'vxlan', name: 'vxF', vni: 200, port: 4789, local: '10.57.4.20', dev: 'eth0', learning: false, up: true },
  { kind: 'vxlan', name: 'vxV', vni: 301, port: 4790, local: '10.57.4.20', dev: 'eth0', learning: false, up: true },
];
/** A gateway on a device: each device its own subnet (an IPv6 onlink gateway may not be another device's). */
const GATEWAY_NET = { eth0: ['10.57.4.', 'fd00:57::'], vxF: ['10.60.0.', 'fd00:60::'], vxV: ['10.61.0.', 'fd00:61::'] };

/** The route kind prepared for a desired state, with the view and context a plan gives it. */
async function routeKind(nl, state, adoptConflicts = false) {
  const { owner } = checkReconcilerOptions({ protocol: PROTO });
  const ctx = { owner, adoptConflicts };
  const prepared = prepareDesired(state, owner);
  const view = LINKS.diff(prepared.links, await LINKS.observe(nl), ctx).view;
  const kind = prepared.kinds.find((k) => k.kind.kind === 'route');
  return { ctx, view, kind };
}

const key = (table, family, dst, tos, metric) => `${table} ${family} ${dst} ${tos} ${metric}`;
const defaultMetric = (family) => (family === 6 ? 1024 : 0);
const keyOfRoute = (r) => key(r.table, r.family, r.dst, r.tos, r.metric ?? defaultMetric(r.family));
function keyOfSpec(s) {
  const family = s.dst.includes(':') ? 6 : 4;
  return key(254, family, s.dst, 0, s.metric ?? defaultMetric(family));
}
/** The key an op or conflict is about. */
const keyOf = (x) => (x.actual ? keyOfRoute(x.actual) : keyOfSpec(x.desired));
const byKey = (list) => [...list].sort((a, b) => (keyOf(a) + a.reason < keyOf(b) + b.reason ? -1 : 1));

/** One random desired state and kernel state; returns the desired state, the keys worth asking, and the keys a lookup must settle. */
function scenario(ns, rnd) {
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const routes = [];
  const cmds = [];
  const asked = new Set();
  const clean = new Set(); // keys in the overlay's common case: planKeys must answer
  const add = (family, ...a) => cmds.push([family === 6 ? '-6' : '-4', 'route', ...a]);
  for (let i = 1; i <= 24; i++) {
    const family = i % 2 ? 4 : 6;
    const len = family === 4 ? pick([24, 24, 24, 28, 32, 16]) : pick([64, 64, 64, 80, 128, 48]);
    const dst = family === 4 ? `10.${64 + i}.0.0/${len}` : `fd10:${i.toString(16)}::/${len}`;
    const dev = pick(['eth0', 'eth0', 'eth0', 'vxF', 'vxV']);
    const gw = (k, on = dev) => GATEWAY_NET[on][family === 4 ? 0 : 1] + k;
    const shape = pick(['gw', 'gw', 'gw', 'dev', 'metric', 'mtu']);
    const desired = rnd() < 0.6;
    const spec = shape === 'dev' ? { dst, dev: dev === 'eth0' ? 'eth1' : dev } : { dst, via: gw(pick([1, 2])), dev, onlink: true, ...(shape === 'metric' ? { metric: 50 } : {}), ...(shape === 'mtu' ? { mtu: 1400 } : {}) };
    if (desired) routes.push(spec);
    const metric = spec.metric ?? defaultMetric(family);
    const k = key(254, family, dst, 0, metric);
    asked.add(k);
    const metricArgs = spec.metric !== undefined ? ['metric', String(spec.metric)] : [];
    const path = spec.via === undefined ? ['dev', spec.dev] : ['via', spec.via, 'dev', spec.dev, 'onlink'];
    // What holds the key in the kernel.
    const atKey = pick(['none', 'none', 'equal', 'equal', 'gateway', 'device', 'mtu', 'foreign', 'blackhole', 'vanishing']);
    if (atKey === 'equal') add(family, 'add', dst, ...path, ...metricArgs, ...(spec.mtu ? ['mtu', '1400'] : []), 'proto', String(PROTO));
    if (atKey === 'gateway') add(family, 'add', dst, 'via', gw(9, 'eth0'), 'dev', 'eth0', 'onlink', ...metricArgs, 'proto', String(PROTO));
    if (atKey === 'device') add(family, 'add', dst, 'via', family === 4 ? '10.58.0.3' : 'fd00:58::3', 'dev', 'eth1', 'onlink', ...metricArgs, 'proto', String(PROTO));
    if (atKey === 'mtu') add(family, 'add', dst, ...path, ...metricArgs, 'mtu', '1300', 'proto', String(PROTO));
    if (atKey === 'vanishing') add(family, 'add', dst, 'via', gw(4, 'vxV'), 'dev', 'vxV', 'onlink', ...metricArgs, 'proto', String(pick([PROTO, FOREIGN])));
    if (atKey === 'foreign') add(family, 'add', dst, 'via', gw(5, dev), 'dev', dev, 'onlink', ...metricArgs, 'proto', String(FOREIGN));
    if (atKey === 'blackhole') add(family, 'add', 'blackhole', dst, ...metricArgs, 'proto', String(PROTO));
    // Around it: the same prefix with another metric, a more specific route, another table.
    let around = false;
    if (rnd() < 0.2) {
      const other = metric === 7 ? 8 : 7;
      add(family, 'add', dst, 'via', gw(6, 'eth0'), 'dev', 'eth0', 'onlink', 'metric', String(other), 'proto', String(pick([PROTO, FOREIGN])));
      asked.add(key(254, family, dst, 0, other));
      around = true;
    }
    const max = family === 4 ? 32 : 128;
    if (rnd() < 0.15 && len + 2 <= max) {
      const inner = `${dst.split('/')[0]}/${len + 2}`;
      add(family, 'add', inner, 'via', gw(7, 'eth0'), 'dev', 'eth0', 'onlink', 'proto', String(pick([PROTO, FOREIGN])));
      asked.add(key(254, family, inner, 0, defaultMetric(family)));
      around = true;
    }
    if (rnd() < 0.15) {
      add(family, 'add', dst, 'via', gw(8, 'eth0'), 'dev', 'eth0', 'onlink', 'table', '100', 'proto', String(PROTO));
      asked.add(key(100, family, dst, 0, defaultMetric(family)));
    }
    if (!around && atKey !== 'blackhole') clean.add(k);
  }
  for (const c of cmds) ip(ns, ...c);
  return { state: { links: LINK_SPECS, routes }, asked: [...asked], clean };
}

/** Removes every route the scenario added (ours, the foreign protocol's, table 100). */
function flush(ns) {
  for (const f of ['-4', '-6']) {
    ip(ns, f, 'route', 'flush', 'proto', String(PROTO));
    ip(ns, f, 'route', 'flush', 'proto', String(FOREIGN));
    try {
      ip(ns, f, 'route', 'flush', 'table', '100');
    } catch {
      // table 100 is made by the first route added to it
    }
  }
}

kernelDescribe('reconcile: the route kind reads and compares keys one by one (scoped)', function () {
  const ns = netnsPerTest('rscope');
  let nl;
  afterEach(() => nl && nl.close());

  it('planKeys gives the full plan restricted to its keys whenever it answers, and answers in the common case (seeded)', async function () {
    this.timeout(180000);
    host(ns());
    vxlans(ns());
    nl = await Rtnl.open({ netns: ns() });
    let answered = 0;
    let refused = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const rnd = seeded(seed * 7919);
      flush(ns());
      // Half the runs without default routes: a lookup of an absent key then finds no route at all.
      for (const f of ['-4', '-6']) {
        if (seed % 2) ip(ns(), f, 'route', 'replace', 'default', 'via', f === '-4' ? '10.57.4.1' : 'fd00:57::1', 'dev', 'eth0');
        else ip(ns(), f, 'route', 'del', 'default');
      }
      const { state, asked, clean } = scenario(ns(), rnd);
      const adopt = rnd() < 0.3;
      const { ctx, view, kind } = await routeKind(nl, state, adopt);
      const full = await kind.plan(nl, view, ctx);
      const sets = [...asked.map((k) => [k]), ...Array.from({ length: 12 }, () => asked.filter(() => rnd() < 0.15))];
      for (const keys of sets) {
        const scoped = await kind.planKeys(nl, new Set(keys), view, ctx);
        const label = `seed ${seed} keys ${JSON.stringify(keys)}`;
        if (keys.length === 1 && clean.has(keys[0])) assert.notEqual(scoped, undefined, `${label}: the common case must be answered`);
        if (scoped === undefined) {
          refused++;
          continue;
        }
        answered++;
        const want = new Set(keys);
        assert.equal(scoped.read, keys.length, label);
        assert.deepEqual(byKey(scoped.ops), byKey(full.ops.filter((o) => want.has(keyOf(o)))), `${label}: ops`);
        assert.deepEqual(byKey(scoped.conflicts), byKey(full.conflicts.filter((c) => want.has(keyOf(c)))), `${label}: conflicts`);
      }
    }
    // Both outcomes occur: the generator reaches the cases a lookup cannot settle too.
    assert.ok(answered > 100 && refused > 10, `answered ${answered}, refused ${refused}`);
  });

  it('settledBy: a route event taken as settling its route is one the full plan leaves alone (seeded)', async function () {
    // What a watch's event would carry: each route the kernel has, as new; and ours on keys
    // nothing is desired on, as deleted (then deleted, and the full plan read again).
    this.timeout(180000);
    host(ns());
    vxlans(ns());
    nl = await Rtnl.open({ netns: ns() });
    let settled = 0;
    let notSettled = 0;
    let deletes = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const rnd = seeded(seed * 104729);
      flush(ns());
      const { state } = scenario(ns(), rnd);
      const { ctx, view, kind } = await routeKind(nl, state, rnd() < 0.3);
      const full = await kind.plan(nl, view, ctx);
      const planned = new Set([...full.ops, ...full.conflicts].map(keyOf));
      const routes = await nl.routes.list({ table: 'all' });
      const gone = [];
      for (const r of routes) {
        const k = keyOfRoute(r);
        const s = kind.settledBy('route', r, 'new', k, view, ctx);
        if (s === false) {
          notSettled++;
          if (r.protocol === PROTO && kind.settledBy('route', r, 'del', k, view, ctx) !== false) gone.push(r);
          continue;
        }
        assert.equal(s, 'object', `seed ${seed}: ${k}`);
        settled++;
        assert.ok(!planned.has(k), `seed ${seed}: the event of ${k} settles it, but the full plan has ${[...full.ops, ...full.conflicts].filter((x) => keyOf(x) === k).map((x) => x.reason)}`);
      }
      // Ours on keys nothing is desired on, deleted: nothing is left to plan on their keys.
      for (const r of gone.slice(0, 3)) {
        ip(ns(), r.family === 6 ? '-6' : '-4', 'route', 'del', r.dst, ...(r.metric ? ['metric', String(r.metric)] : []), 'table', String(r.table), 'proto', String(PROTO));
        const after = await kind.plan(nl, view, ctx);
        const k = keyOfRoute(r);
        assert.deepEqual([...after.ops, ...after.conflicts].filter((x) => keyOf(x) === k), [], `seed ${seed}: ${k} deleted`);
        deletes++;
      }
    }
    assert.ok(settled >= 20 && notSettled >= 40 && deletes >= 10, `${settled} settled, ${notSettled} not, ${deletes} deletions checked`);
  });

  it('changedKeys: the keys added, removed and changed between two desired states of frozen specs, and no others; unfrozen specs handed again: cannot tell', async function () {
    host(ns());
    nl = await Rtnl.open({ netns: ns() });
    const specs = [];
    for (let i = 0; i < 50; i++) specs.push({ dst: `10.${64 + (i >> 8)}.${i & 255}.0/24`, via: '10.57.4.1', dev: 'eth0', onlink: true });
    specs.push({ dst: 'fd10:1::/64', via: 'fd00:57::1', dev: 'eth0', onlink: true }, { dst: '10.99.0.0/16', dev: 'eth1', mtu: 1400 });
    specs.push({ dst: '10.98.0.0/16', nexthops: [{ via: '10.57.4.1', dev: 'eth0' }, { via: '10.57.4.2', dev: 'eth0' }] });
    deepFreeze(specs);
    const a = await routeKind(nl, { routes: specs });
    // Same objects, one inserted in the middle, one removed, one replaced by an equal frozen
    // copy (not a change), one by an equal unfrozen copy (a change: it may change in place), two changed.
    const next = [...specs];
    next.splice(10, 0, deepFreeze({ dst: '10.70.0.0/24', via: '10.57.4.1', dev: 'eth0', onlink: true }));
    next.splice(20, 1); // specs[19]
    next[30] = deepFreeze({ ...next[30] });
    next[31] = { ...next[31] };
    next[40] = deepFreeze({ ...next[40], via: '10.57.4.2' });
    next[next.length - 2] = deepFreeze({ ...next[next.length - 2], mtu: 1300 });
    next[next.length - 1] = deepFreeze({ ...next[next.length - 1], nexthops: [{ via: '10.57.4.1', dev: 'eth0' }, { via: '10.57.4.3', dev: 'eth0' }] });
    const b = await routeKind(nl, { routes: next });
    const changed = [...b.kind.changedKeys(a.kind, b.view)].sort();
    const want = [next[10], specs[19], next[31], next[40], next[next.length - 2], next[next.length - 1]].map((x) => keyOfSpec(x));
    assert.deepEqual(changed, want.sort());
    assert.deepEqual([...b.kind.changedKeys(b.kind, b.view)], []);
    // Not frozen and handed again: it may have changed in place since.
    const loose = specs.map((x) => ({ ...x }));
    const c = await routeKind(nl, { routes: loose });
    const d = await routeKind(nl, { routes: loose });
    assert.equal(d.kind.changedKeys(c.kind, d.view), undefined);
  });

  it('eventKey is the key of the route an event carries', async function () {
    host(ns());
    nl = await Rtnl.open({ netns: ns() });
    ip(ns(), 'route', 'add', '10.64.1.0/24', 'via', '10.57.4.1', 'dev', 'eth0', 'metric', '5', 'proto', String(PROTO));
    const { view, kind } = await routeKind(nl, { routes: [] });
    const [r] = await nl.routes.list({ protocol: PROTO });
    assert.equal(kind.eventKey('route', r, view), key(254, 4, '10.64.1.0/24', 0, 5));
  });

  it('a key found absent is not trusted when a route on it may be passed over: a link without carrier that drops its routes from lookups, IPv6 forwarding off', async function () {
    host(ns());
    // eth2 is up but its peer is down: no carrier; its routes are passed over by lookups.
    ip(ns(), 'link', 'add', 'eth2', 'type', 'veth', 'peer', 'name', 'eth2p');
    ip(ns(), 'link', 'set', 'eth2', 'up');
    sysctl(ns(), 'net.ipv4.conf.all.ignore_routes_with_linkdown', 1);
    ip(ns(), 'route', 'add', '10.64.9.0/24', 'via', '10.57.4.1', 'dev', 'eth2', 'onlink', 'proto', String(PROTO));
    nl = await Rtnl.open({ netns: ns() });
    const state = { routes: [{ dst: '10.64.9.0/24', via: '10.57.4.1', dev: 'eth0', onlink: true }, { dst: 'fd10:9::/64', via: 'fd00:57::1', dev: 'eth0', onlink: true }] };
    let { ctx, view, kind } = await routeKind(nl, state);
    // The lookup passes over the stale route on eth2 (the default route answers): the full plan updates it.
    const looked = await nl.routes.get('10.64.9.0');
    assert.equal(looked.dst, 'default');
    const full = await kind.plan(nl, view, ctx);
    assert.deepEqual(full.ops.filter((o) => o.key.startsWith('10.64.9.0/24')).map((o) => o.action), ['update']);
    assert.equal(await kind.planKeys(nl, new Set([key(254, 4, '10.64.9.0/24', 0, 0)]), view, ctx), undefined);
    // Without that route the key is absent and the answer is a create.
    ip(ns(), 'route', 'del', '10.64.9.0/24', 'dev', 'eth2');
    const v4 = await kind.planKeys(nl, new Set([key(254, 4, '10.64.9.0/24', 0, 0)]), view, ctx);
    assert.deepEqual(v4.ops.map((o) => o.action), ['create']);
    // IPv6 with forwarding off: a gateway whose neighbour failed is passed over, so no answer on an absent key.
    const k6 = key(254, 6, 'fd10:9::/64', 0, 1024);
    assert.deepEqual((await kind.planKeys(nl, new Set([k6]), view, ctx)).ops.map((o) => o.action), ['create']);
    sysctl(ns(), 'net.ipv6.conf.all.forwarding', 0);
    ({ ctx, view, kind } = await routeKind(nl, state));
    assert.equal(await kind.planKeys(nl, new Set([k6]), view, ctx), undefined);
  });

  it('an answer that may come from elsewhere than the main table is not trusted: a unicast route of the local table on the key, an unreachable rule, a throw route', async function () {
    hostLike(ns()); // no default route: lookups of absent keys find no route
    sysctl(ns(), 'net.ipv6.conf.all.forwarding', 1);
    nl = await Rtnl.open({ netns: ns() });
    const state = { routes: [{ dst: '10.64.9.0/24', via: '10.57.4.1', dev: 'eth0', onlink: true }, { dst: '10.64.12.0/24', via: '10.57.4.1', dev: 'eth0', onlink: true }] };
    const k9 = new Set([key(254, 4, '10.64.9.0/24', 0, 0)]);
    const k12 = new Set([key(254, 4, '10.64.12.0/24', 0, 0)]);
    const { ctx, view, kind } = await routeKind(nl, state);
    const actions = async (keys) => (await kind.planKeys(nl, keys, view, ctx))?.ops.map((o) => o.action);
    assert.deepEqual(await actions(k9), ['create']);
    assert.deepEqual(await actions(k12), ['create']);
    // Another protocol's unicast route in the local table: a lookup reports it as main's (the
    // kernel keeps local in main's trie until a rule is added); the full plan creates ours.
    ip(ns(), 'route', 'add', '10.64.9.0/24', 'via', '10.57.4.1', 'dev', 'eth0', 'table', 'local', 'proto', String(FOREIGN));
    assert.equal((await nl.routes.get('10.64.9.0')).table, 254);
    assert.deepEqual((await kind.plan(nl, view, ctx)).ops.map((o) => o.action), ['create', 'create']);
    assert.equal(await actions(k9), undefined);
    ip(ns(), 'route', 'del', '10.64.9.0/24', 'table', 'local');
    // A throw route anywhere in main: "no route" may be a throw on the key.
    ip(ns(), 'route', 'add', 'throw', '10.65.0.0/16');
    assert.equal(await actions(k12), undefined);
    ip(ns(), 'route', 'del', 'throw', '10.65.0.0/16');
    // An unreachable rule answers "no route" before main is looked at.
    ip(ns(), 'rule', 'add', 'unreachable', 'to', '10.64.12.0/24', 'pref', '100');
    assert.equal(await actions(k12), undefined);
    ip(ns(), 'rule', 'del', 'pref', '100');
    assert.deepEqual(await actions(k12), ['create']);
  });
});
