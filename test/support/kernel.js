'use strict';
// Helpers for tests that talk to the real kernel. Every such test works only inside network
// namespaces it creates here, and every namespace is removed afterwards, also on failure.
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const wire = require('../../dist/wire');

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
/** How much slower this machine is than the one tests are written for: 1 here; in the VM lane
 * (test/vm, NETLINK_AGENT_VM=1, qemu without KVM) NETLINK_AGENT_VM_SLOW or 20. Multiply bounds
 * on waiting (deadlines, "within N ms") by it; never assert timings with it. */
const slow = process.env.NETLINK_AGENT_VM === '1' ? Math.max(1, Number(process.env.NETLINK_AGENT_VM_SLOW) || 20) : 1;
const NETNS_DIR = '/run/netns';
const created = new Set();
let counter = 0;

/** describe() for tests that need root; they skip with one clear reason otherwise. */
function kernelDescribe(title, fn) {
  return describe(title, function () {
    before(function () {
      if (!isRoot) this.skip();
    });
    fn.call(this);
  });
}

/** A fresh, uniquely named network namespace (via the addon, as iproute2 would make it). */
function makeNetns(tag = 't') {
  const name = `nla-${tag}-${process.pid}-${++counter}`;
  wire.native().netns.create(NETNS_DIR, `${NETNS_DIR}/${name}`);
  created.add(name);
  return name;
}

function removeNetns(name) {
  if (!created.has(name)) return;
  created.delete(name);
  try {
    wire.native().netns.remove(`${NETNS_DIR}/${name}`);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
}

function cleanupAllNamespaces() {
  for (const name of [...created]) removeNetns(name);
}

/**
 * Registers a namespace per test in the current suite: returns a getter. The namespace is made
 * before each test and removed after it, whatever the test did.
 */
function netnsPerTest(tag) {
  const box = { name: '' };
  beforeEach(function () {
    box.name = makeNetns(tag);
  });
  afterEach(function () {
    if (box.name) removeNetns(box.name);
    box.name = '';
  });
  return () => box.name;
}

/** Runs iproute2 inside a namespace of ours (tests only: an independent oracle). */
function ip(ns, ...args) {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

function ipJson(ns, ...args) {
  const out = ip(ns, '-j', ...args);
  return out.trim() ? JSON.parse(out) : [];
}

/**
 * Makes a namespace of ours look like a host: lo up, eth0 (a veth, both ends up) holding
 * `address` (default: the seed's host1, 10.57.4.20/24), and a default route via `gw` when given.
 */
function hostLike(ns, address = '10.57.4.20/24', gw) {
  ip(ns, 'link', 'set', 'lo', 'up');
  ip(ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  ip(ns, 'addr', 'add', address, 'dev', 'eth0');
  ip(ns, 'link', 'set', 'eth0', 'up');
  ip(ns, 'link', 'set', 'eth0p', 'up');
  if (gw) ip(ns, 'route', 'add', 'default', 'via', gw, 'dev', 'eth0');
}

function threadNetns() {
  return fs.readlinkSync('/proc/thread-self/ns/net');
}

module.exports = { isRoot, slow, kernelDescribe, makeNetns, removeNetns, cleanupAllNamespaces, netnsPerTest, ip, ipJson, hostLike, threadNetns, NETNS_DIR };
