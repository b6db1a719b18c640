'use strict';
// Applies a 10,000-route desired state with a Reconciler, to be SIGKILLed somewhere in the
// middle by the test. Prints "applying" right before apply() starts and "done <ms>" if it ends.
//   node crash-apply.js NETNS RUN
const { Rtnl } = require('../../..');
const { Reconciler } = require('../../..');
const { PROTO, crashDesired } = require('../helpers');

async function main() {
  const [ns, run] = process.argv.slice(2);
  const nl = await Rtnl.open({ netns: ns, receiveBufferBytes: 32 << 20 });
  const r = new Reconciler(nl, { protocol: PROTO });
  const desired = crashDesired(Number(run));
  console.log('applying');
  const t0 = process.hrtime.bigint();
  const res = await r.apply(desired);
  console.log(`done ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ${res.converged} ${res.requests}`);
  nl.close();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
