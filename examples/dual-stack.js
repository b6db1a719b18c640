#!/usr/bin/env node
'use strict';
// Dual-stack pods on three hosts: every pod has an IPv4 and an IPv6 address, every host an IPv4
// and an IPv6 underlay address; host3 sits behind a router on other subnets of both families.
// The default mode is hybrid (per family: host-gw to host2 on the same subnet, vxlan to host3:
// vxlan0 over IPv4, MTU 1450, and vxlan6 over IPv6, MTU 1430). UDP and TCP both ways over both
// families, from sockets inside the pods.
//   --underlay6     an IPv6-only underlay: one vxlan6 device per host carries both pod families
//   --mode MODE     host-gw (no router then), vxlan or hybrid
//   --keep          leave the sandbox for inspection
// Run as root: node examples/dual-stack.js [--underlay6] [--mode vxlan] [--keep]
const { SEED_HOSTS, FAR_HOST, withIPv6 } = require('./lib/sandbox');

const args = process.argv.slice(2);
const underlay6 = args.includes('--underlay6');
const at = args.indexOf('--mode');
const mode = at >= 0 ? args[at + 1] : underlay6 ? 'vxlan' : 'hybrid';
if (!['host-gw', 'vxlan', 'hybrid'].includes(mode)) {
  console.error(`error: --mode must be host-gw, vxlan or hybrid (ipip carries IPv4 only), got ${JSON.stringify(mode)}`);
  process.exit(1);
}
// host-gw needs every host on one subnet per family: no host behind the router then.
const hosts = withIPv6(mode === 'host-gw' ? SEED_HOSTS : [...SEED_HOSTS, FAR_HOST], { dual: true, underlay6 });
require('./lib/run-example').main({
  title: `dual stack, ${mode}${underlay6 ? ' over an IPv6-only underlay' : ''}: pods with an IPv4 and an IPv6 address on ${hosts.length} hosts`,
  mode,
  hosts,
  families: [4, 6],
  agent: { vni: 100, port: 4789 },
});
