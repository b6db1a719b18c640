#!/usr/bin/env node
'use strict';
// ipip, calico style: one one-to-many ipip device per host (no remote), routes to the other
// hosts' pod CIDRs via their node IPs over it. Needs a kernel with CONFIG_NET_IPIP.
// Run as root: node examples/ipip.js [--keep] [--config f.json]
require('./lib/run-example').main({
  title: 'ipip: pods on two hosts over a one-to-many IP-in-IP tunnel',
  mode: 'ipip',
});
