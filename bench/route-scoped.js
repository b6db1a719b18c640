#!/usr/bin/env node
'use strict';
// The route kind read key by key (kinds/route/scoped.ts) against the full read and diff (root):
// a desired state of COUNT overlay routes "11.x.y.0/24 via 100.64.a.b dev eth0 onlink" (IPv4,
// or IPv6 /64s with `6`), all applied; then the time and the netlink messages sent of
// planKeys for one key (a route present and equal, and a route just joined: desired, absent)
// against plan() of the whole kind. Prints medians of RUNS.
//
//   node bench/route-scoped.js [count=5000] [runs=21] [family=4]
//
// Needs dist/ built. Uses only a namespace it creates and removes it.
const { execFileSync } = require('node:child_process');
const { Rtnl } = require('../dist/rtnl');
const { Reconciler } = require('../dist/reconcile');
const { prepareDesired } = require('../dist/reconcile/engine/prepare');
const { LINKS } = require('../dist/reconcile/engine/registry');
const { checkReconcilerOptions } = require('../dist/reconcile/engine/owner');

const COUNT = Number(process.argv[2] ?? 5000);
const RUNS = Number(process.argv[3] ?? 21);
const FAMILY = Number(process.argv[4] ?? 4);
const PROTO = 77;

const sh = (args) => execFileSync(args[0], args.slice(1), { encoding: 'utf8' });
const dst = (i) => (FAMILY === 4 ? `${11 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24` : `fd10:${(i + 1).toString(16)}::/64`);
const via = (i) => (FAMILY === 4 ? `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}` : `fd00:64::${(i + 1).toString(16)}`);
const keyOf = (i) => `254 ${FAMILY} ${dst(i)} 0 ${FAMILY === 4 ? 0 : 1024}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function main() {
  const ns = `nla-bench-rscope-${process.pid}`;
  sh(['ip', 'netns', 'add', ns]);
  const ip = (...a) => sh(['ip', '-n', ns, ...a]);
  let nl;
  try {
    ip('link', 'set', 'lo', 'up');
    ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    ip('addr', 'add', '10.57.4.20/24', 'dev', 'eth0');
    ip('-6', 'addr', 'add', 'fd00:57::20/64', 'dev', 'eth0', 'nodad');
    ip('link', 'set', 'eth0', 'up');
    ip('link', 'set', 'eth0p', 'up');
    ip('route', 'add', 'default', 'via', '10.57.4.1');
    ip('-6', 'route', 'add', 'default', 'via', 'fd00:57::1');
    sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    nl = await Rtnl.open({ netns: ns });
    const routes = [];
    for (let i = 0; i < COUNT; i++) routes.push({ dst: dst(i), via: via(i), dev: 'eth0', onlink: true });
    const res = await new Reconciler(nl, { protocol: PROTO }).apply({ routes });
    if (!res.converged) throw new Error('the routes did not apply');
    // The state after one more node joined: its route is desired and absent.
    const joined = [...routes, { dst: dst(COUNT), via: via(COUNT), dev: 'eth0', onlink: true }];
    const { owner } = checkReconcilerOptions({ protocol: PROTO });
    const ctx = { owner, adoptConflicts: false };
    const prepared = prepareDesired({ routes: joined }, owner);
    const view = LINKS.diff(prepared.links, await LINKS.observe(nl), ctx).view;
    const kind = prepared.kinds.find((k) => k.kind.kind === 'route');
    const sent = () => nl.socket.sentByType.reduce((a, b) => a + b, 0);

    const measure = async (run) => {
      const times = [];
      let messages = 0;
      let result;
      for (let r = 0; r < RUNS; r++) {
        const before = sent();
        const t = process.hrtime.bigint();
        result = await run();
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
        messages = sent() - before;
      }
      return { ms: median(times), messages, result };
    };
    const full = await measure(() => kind.plan(nl, view, ctx));
    const present = await measure(() => kind.planKeys(nl, new Set([keyOf(COUNT >> 1)]), view, ctx));
    const absent = await measure(() => kind.planKeys(nl, new Set([keyOf(COUNT)]), view, ctx));
    const show = (name, m, what) => console.log(`${name.padEnd(34)} ${m.ms.toFixed(2).padStart(8)} ms  ${String(m.messages).padStart(3)} messages sent  ${what}`);
    console.log(`IPv${FAMILY}, ${COUNT} routes applied, ${COUNT + 1} desired; medians of ${RUNS} runs`);
    show('full plan (observe + diff)', full, `${full.result.ops.length} ops: ${full.result.ops.map((o) => `${o.action} ${o.key}`).join(', ')}`);
    show('planKeys, 1 key present and equal', present, present.result ? `${present.result.ops.length} ops, read ${present.result.read}` : 'cannot');
    show('planKeys, 1 key joined (absent)', absent, absent.result ? `${absent.result.ops.map((o) => `${o.action} ${o.key}`).join(', ')}, read ${absent.result.read}` : 'cannot');
  } finally {
    if (nl) nl.close();
    sh(['ip', 'netns', 'del', ns]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
