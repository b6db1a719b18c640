#!/usr/bin/env node
'use strict';
// host-gw: plain host routes, `podCIDR via nodeIP dev eth0 onlink` on each host. Fastest; the
// hosts must share an L2 segment. Run as root: node examples/host-gw.js [--keep] [--config f.json]
require('./lib/run-example').main({
  title: 'host-gw: pods on two hosts joined by plain routes to each other\'s node IP',
  mode: 'host-gw',
});
