'use strict';
// W7: a fresh process that holds a reconciler with N desired routes (applied to a namespace of
// its own) and reports its peak resident set size.
const { Netns, Rtnl, Reconciler } = require('..');

(async () => {
  const n = Number(process.argv[2] || 100000);
  const name = `nla-bench-rss-${process.pid}`;
  Netns.create(name);
  const nl = await Rtnl.open({ netns: name, receiveBufferBytes: 32 << 20 });
  try {
    await nl.links.set('lo', { up: true });
    await nl.links.add({ kind: 'veth', name: 'veth0', peer: { name: 'veth1' }, up: true });
    await nl.links.set('veth1', { up: true });
    const routes = [];
    for (let i = 0; i < n; i++) routes.push({ dst: `${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`, via: '10.57.0.2', dev: 'veth0', onlink: true });
    const r = new Reconciler(nl, { protocol: 77 });
    const res = await r.apply({ routes });
    if (!res.converged) throw new Error('apply failed');
    const again = await r.apply({ routes }); // a second, no-op cycle: the steady state of a watcher
    if (again.requests !== 0) throw new Error('no-op cycle wrote');
    console.log(JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024 }));
  } finally {
    nl.close();
    Netns.delete(name);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
