'use strict';
// WireGuard helpers for tests: does this kernel have WireGuard (decided without the code under
// test), and `wg show DEV dump` as the independent oracle (tests only).
const fs = require('node:fs');
const os = require('node:os');
const { execFileSync } = require('node:child_process');

/** Loaded, or available to autoload (the VM lane's module tree lists it). */
function kernelHasWireguard() {
  if (fs.existsSync('/sys/module/wireguard')) return true;
  const dir = `/lib/modules/${os.release()}`;
  for (const f of ['modules.dep', 'modules.builtin']) {
    try {
      if (/\/wireguard\.ko/.test(fs.readFileSync(`${dir}/${f}`, 'utf8'))) return true;
    } catch {
      // no module tree: no module loading on this kernel
    }
  }
  return false;
}

const HAS_WIREGUARD = kernelHasWireguard();
/** The one line a skipped WireGuard kernel suite says. */
const NO_WIREGUARD = 'no wireguard in this kernel; runs in the VM lane';

/** `wg show DEV dump` inside a namespace, parsed. Keys stay base64 text (the oracle's view). */
function wgShowDump(ns, dev) {
  const out = execFileSync('ip', ['netns', 'exec', ns, 'wg', 'show', dev, 'dump'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const [first, ...rest] = out.replace(/\n$/, '').split('\n');
  const none = (v) => (v === '(none)' ? undefined : v);
  const [privateKey, publicKey, port, fwmark] = first.split('\t');
  return {
    privateKey: none(privateKey),
    publicKey: none(publicKey),
    listenPort: Number(port),
    fwmark: fwmark === 'off' ? 0 : Number(fwmark),
    peers: rest.map((line) => {
      const [pk, psk, endpoint, ips, handshake, rx, tx, keepalive] = line.split('\t');
      return {
        publicKey: pk,
        presharedKey: none(psk),
        endpoint: none(endpoint),
        allowedIps: ips === '(none)' ? [] : ips.split(','),
        latestHandshake: Number(handshake),
        rxBytes: BigInt(rx),
        txBytes: BigInt(tx),
        persistentKeepalive: keepalive === 'off' ? 0 : Number(keepalive),
      };
    }),
  };
}

module.exports = { HAS_WIREGUARD, NO_WIREGUARD, kernelHasWireguard, wgShowDump };
