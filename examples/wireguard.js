#!/usr/bin/env node
'use strict';
// WireGuard between two hosts, configured with netlink-agent alone (no `wg`, no `ip`): each
// host gets a wireguard device (links.add), a private key kept in a 0600 key file, the other
// host as its peer (its public key, its node IP as endpoint, its pod CIDR as allowed IPs) and a
// route to the other host's pods through the device. Pod-to-pod UDP and TCP then cross the
// underlay encrypted. Static configuration: no agent, no membership (those come later).
// Needs a kernel with WireGuard (CONFIG_WIREGUARD); elsewhere it says so and exits 2.
// Run as root: node examples/wireguard.js [--keep]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { WireGuard, loadOrCreatePrivateKey } = require('netlink-agent');
const { Sandbox, cleanupOnSignals } = require('./lib/sandbox');

const LISTEN_PORT = 51820;
// The underlay's MTU minus WireGuard's overhead over IPv4 (20 IP + 8 UDP + 32 WireGuard), as calico does.
const MTU = 1500 - 60;

/** One sentence when the kernel has no WireGuard; undefined otherwise. */
function missingWireguard(e) {
  if (e && (e.code === 'EOPNOTSUPP' || /Unknown device type/i.test(e.message || ''))) {
    return 'This kernel cannot create wireguard devices (CONFIG_WIREGUARD is not enabled and no module can be loaded): run this example on a kernel with WireGuard, e.g. inside the VM lane with `npm run test:vm`.';
  }
  return undefined;
}

/**
 * Builds the sandbox, configures WireGuard on both hosts, sends pod-to-pod traffic both ways.
 * hooks.beforeTraffic(sandbox) / hooks.afterTraffic(sandbox) run around the traffic (a test
 * captures the underlay there); hooks.payload is what the pods send. Resolves with the exit code.
 */
async function run({ keep = false, payload, beforeTraffic, afterTraffic, log = console.log } = {}) {
  const sandbox = new Sandbox();
  cleanupOnSignals(sandbox);
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-wg-example-'));
  const handles = [];
  try {
    log('wireguard: pods on two hosts, pod traffic encrypted between the hosts\n');
    await sandbox.build();
    log(`Sandbox: ${sandbox.hosts.map((h) => `${h.name} (${h.nodeIP}, pods ${h.podCIDR}, pod ${h.podIP})`).join(', ')}\n`);

    // 1. A wireguard device and a key per host. The key file survives restarts (0600, O_EXCL).
    const keys = new Map();
    for (const h of sandbox.hosts) {
      const nl = await sandbox.rtnl(sandbox.hostNs(h.name));
      try {
        await nl.links.add({ kind: 'wireguard', name: 'wg0', mtu: MTU });
      } catch (e) {
        const why = missingWireguard(e);
        if (why) {
          log(why);
          return 2;
        }
        throw e;
      }
      const { key, created } = await loadOrCreatePrivateKey(path.join(keyDir, `${h.name}.key`));
      keys.set(h.name, key);
      log(`${h.name}: wg0 (mtu ${MTU}), key ${created ? 'created' : 'read'}: public ${key.publicKey().toBase64()}`);
    }

    // 2. Each host peers with every other: allowed IPs = the other's pods, endpoint = its node IP.
    for (const h of sandbox.hosts) {
      const ns = sandbox.hostNs(h.name);
      const wg = await WireGuard.open({ netns: ns });
      handles.push(wg);
      const others = sandbox.hosts.filter((o) => o.name !== h.name);
      const r = await wg.sync('wg0', {
        privateKey: keys.get(h.name),
        listenPort: LISTEN_PORT,
        peers: others.map((o) => ({ publicKey: keys.get(o.name).publicKey(), endpoint: `${o.nodeIP}:${LISTEN_PORT}`, allowedIps: [o.podCIDR] })),
      });
      log(`${h.name}: ${r.plan.peers.length} peer(s) configured in ${r.messages} message(s)`);
      const nl = await sandbox.rtnl(ns);
      await nl.links.set('wg0', { up: true });
      for (const o of others) await nl.routes.add({ dst: o.podCIDR, dev: 'wg0', scope: 'link', protocol: 'static' });
    }

    // 3. Pod-to-pod traffic both ways.
    if (beforeTraffic) await beforeTraffic(sandbox);
    let code = 0;
    log('\nPod-to-pod traffic (sockets opened inside the pod namespaces):');
    for (const a of sandbox.hosts) {
      for (const b of sandbox.hosts) {
        if (a === b) continue;
        const r = await sandbox.traffic(a.name, b.name, { timeoutMs: 20000, payload: payload || `hello from ${a.name}` });
        const detail = (x) => (x.ok ? 'ok' : `FAILED (${x.error || x.reply})`);
        if (!r.udp.ok || !r.tcp.ok) code = 1;
        log(`  ${a.name} pod ${a.podIP} -> ${b.name} pod ${b.podIP}: UDP ${detail(r.udp)}, TCP ${detail(r.tcp)}`);
      }
    }
    if (afterTraffic) await afterTraffic(sandbox);

    // 4. What the devices say now (public keys and counters; a private key would print redacted).
    log('');
    for (const [i, h] of sandbox.hosts.entries()) {
      const d = await handles[i].get('wg0');
      for (const p of d.peers) {
        const hs = p.lastHandshake ? new Date(p.lastHandshake.seconds * 1000).toISOString() : 'never';
        log(`${h.name}: peer ${p.publicKey.toBase64()} at ${p.endpoint}, allowed ${p.allowedIps.join(', ')}, handshake ${hs}, rx ${p.rxBytes} B, tx ${p.txBytes} B`);
      }
    }
    log(code === 0 ? '\nAll pods reach each other through WireGuard.' : '\nSome traffic did not arrive.');
    if (keep) log(`\n--keep: the sandbox stays. Namespaces: ${sandbox.created.join(' ')}`);
    return code;
  } finally {
    for (const wg of handles) wg.close();
    if (!keep) await sandbox.destroy();
    else for (const nl of sandbox.handles.values()) nl.close();
    fs.rmSync(keyDir, { recursive: true, force: true });
  }
}

module.exports = { run, LISTEN_PORT };

if (require.main === module) {
  run({ keep: process.argv.includes('--keep') }).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`error: ${e && e.message ? e.message : e}`);
      if (process.env.DEBUG) console.error(e);
      process.exit(1);
    },
  );
}
