'use strict';
// Opens and closes things N times in a namespace and prints the heap and external memory (after
// a full GC) and the open fds, before and after, as one JSON line. Run with --expose-gc.
//   node --expose-gc lifecycle.js NETNS KIND N
// KIND: socket (NetlinkSocket open/close), rtnl (Rtnl open, list, monitor, close), watch
// (Reconciler watch, converge, stop, on one long-lived Rtnl), monitor (monitor/close on one Rtnl).
const fs = require('node:fs');
const { NetlinkSocket, Rtnl, Reconciler } = require('../../..');

function mem() {
  global.gc();
  const m = process.memoryUsage();
  return { heapMB: +(m.heapUsed / 1048576).toFixed(2), externalMB: +(m.external / 1048576).toFixed(2), fds: fs.readdirSync('/proc/self/fd').length };
}

async function main() {
  const [ns, kind, n] = process.argv.slice(2);
  const nl = await Rtnl.open({ netns: ns });
  const desired = { routes: [{ dst: '10.70.0.0/24', via: '10.57.4.1', dev: 'eth0' }] };
  const once = {
    socket: async () => NetlinkSocket.open({ netnsPath: `/run/netns/${ns}` }).close(),
    rtnl: async () => {
      const x = await Rtnl.open({ netns: ns });
      const m = x.monitor({ groups: ['route'] });
      await x.links.list();
      m.close();
      x.close();
    },
    monitor: async () => nl.monitor({ groups: ['route'] }).close(),
    watch: async () => {
      const r = new Reconciler(nl);
      const done = new Promise((resolve) => r.once('applied', resolve));
      r.watch(desired, { debounceMs: 0 });
      await done;
      await r.stop();
    },
  }[kind];
  for (let i = 0; i < 20; i++) await once(); // warm up
  await new Promise((r) => setTimeout(r, 50));
  const before = mem();
  for (let i = 0; i < Number(n); i++) await once();
  await new Promise((r) => setTimeout(r, 50)); // native finalizers run after the GC that found them
  mem();
  const after = mem();
  nl.close();
  console.log(JSON.stringify({ kind, n: Number(n), before, after }));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
