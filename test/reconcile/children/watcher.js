'use strict';
// A watching Reconciler in a process of its own, for the lifecycle tests of test/reconcile/
// lifecycle.test.js. Prints one line per thing the test waits for.
//   node watcher.js NETNS hold    watch until killed ("watching" once converged)
//   node watcher.js NETNS close   close the Rtnl once converged; print every 'error' event; the
//                                 process must then end by itself
//   node watcher.js NETNS throw   a 'converged' listener throws; an 'error' listener prints
//                                 "error-event" (it must not be called)
const { Rtnl, Reconciler } = require('../../..');

const DESIRED = { links: [{ kind: 'bridge', name: 'brw', up: true }], routes: [{ dst: '10.9.0.0/24', dev: 'brw' }] };

async function main() {
  const [ns, mode] = process.argv.slice(2);
  const nl = await Rtnl.open({ netns: ns });
  const r = new Reconciler(nl);
  r.on('error', (e) => console.log(mode === 'throw' ? 'error-event' : `error ${e.name} ${e.message}`));
  r.once('converged', () => {
    if (mode === 'hold') console.log('watching');
    if (mode === 'close') {
      nl.close();
      console.log('closed');
    }
    if (mode === 'throw') throw new Error('listener bug 42');
  });
  r.watch(DESIRED, { debounceMs: 10, resyncIntervalMs: 100, minBackoffMs: 10, maxBackoffMs: 50 });
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
