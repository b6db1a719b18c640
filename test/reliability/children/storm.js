'use strict';
// A route storm from outside the test's process: adds `count` foreign host routes (protocol
// static, via eth0) in one pipelined batch, then, at the storm's tail, deletes `del` and
// changes `change` routes of protocol `proto` (the watching reconciler's). Prints one JSON line.
//   node storm.js NETNS COUNT PROTO DEL CHANGE
const { Rtnl } = require('../../..');
const { host32 } = require('../helpers');

async function main() {
  const [ns, count, proto, del, change] = process.argv.slice(2);
  const nl = await Rtnl.open({ netns: ns, receiveBufferBytes: 32 << 20 });
  const specs = [];
  for (let i = 0; i < Number(count); i++) specs.push({ dst: host32(i), via: '10.57.4.1', dev: 'eth0', protocol: 'static' });
  const added = await nl.routes.addMany(specs);
  const owned = await nl.routes.list({ protocol: Number(proto) });
  const gone = owned.slice(0, Number(del));
  const deleted = await nl.routes.delMany(gone);
  const changed = [];
  for (const r of owned.slice(Number(del), Number(del) + Number(change))) {
    // Same key, another gateway, still "owned": only a re-read notices.
    await nl.routes.replace({ dst: r.dst, via: '10.57.4.99', dev: 'eth0', protocol: Number(proto) });
    changed.push(r.dst);
  }
  nl.close();
  console.log(JSON.stringify({ added: added.succeeded, failed: added.failed, deleted: gone.map((r) => r.dst), deletedOk: deleted.succeeded, changed }));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
