#!/usr/bin/env node
'use strict';
// vxlan, flannel style: one vxlan device per host (learning off), and per remote node an FDB
// entry, a permanent neighbour and a route. --learning runs the seed's variant instead
// (learning on, all-zero flood entries). Run as root: node examples/vxlan.js [--learning] [--keep]
const learning = process.argv.includes('--learning');
require('./lib/run-example').main({
  title: `vxlan (${learning ? 'learning, flood entries' : 'flannel style, learning off'}): pods on two hosts over VNI 100, UDP 4789`,
  mode: 'vxlan',
  agent: { vni: 100, port: 4789, vxlanLearning: learning },
});
