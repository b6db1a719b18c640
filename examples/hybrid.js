#!/usr/bin/env node
'use strict';
// hybrid (flannel DirectRouting / calico CrossSubnet): host-gw between hosts on the same
// subnet, vxlan (or --ipip) to the host behind a router on another subnet.
// Run as root: node examples/hybrid.js [--ipip] [--keep]
const { SEED_HOSTS, FAR_HOST } = require('./lib/sandbox');
const fallback = process.argv.includes('--ipip') ? 'ipip' : 'vxlan';
require('./lib/run-example').main({
  title: `hybrid: host-gw within 10.57.4.0/24, ${fallback} to host3 on 10.57.5.0/24 behind a router`,
  mode: 'hybrid',
  hosts: [...SEED_HOSTS, FAR_HOST],
  agent: { hybridFallback: fallback },
});
