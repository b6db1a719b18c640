/**
 * The minimal change that brings a WireGuard device to a desired configuration, peer by peer:
 * a new peer is added, a peer whose settings differ gets only what differs (its allowed IPs
 * replaced as a whole when they differ as a set), a peer not desired is removed (when asked),
 * and the peers that match are not in the change at all. Re-setting the whole device instead
 * (WGDEVICE_F_REPLACE_PEERS) would recreate every peer and drop every session.
 *
 * What "differs" means for a desired configuration (WgDeviceConfig):
 * - privateKey, listenPort, fwmark: compared when given; listenPort 0 ("any") is never a
 *   difference, since the kernel then picks a port;
 * - a peer's allowedIps, persistentKeepalive and presharedKey: left out means none / off;
 * - a peer's endpoint: compared when given; left out is never a difference (the kernel learns
 *   endpoints as peers roam, and there is no way to clear one).
 */
import { PublicKey } from './key';
import type { WgDevice, WgPeer } from './types';
import type { WgPeerSet, WgSetRequest } from './validate';

/** Peer settings a plan may change. */
export type WgPeerField = 'presharedKey' | 'endpoint' | 'persistentKeepalive' | 'allowedIps';
/** Device settings a plan may change. */
export type WgDeviceField = 'privateKey' | 'listenPort' | 'fwmark';

/** What happens to one peer. */
export interface WgPeerPlan {
  /** add: not on the device; update: some fields differ; remove: not desired. */
  action: 'add' | 'update' | 'remove';
  /** Which peer. */
  publicKey: PublicKey;
  /** For update: the fields that differ (for add: the fields given). */
  fields: WgPeerField[];
  /** The peer's part of the SET request. */
  change: WgPeerSet;
}

/** What planWgDevice() found: the request to send (empty when the device already matches). */
export interface WgDevicePlan {
  /** Device settings that differ. */
  device: WgDeviceField[];
  /** One entry per peer that is added, updated or removed; matching peers are not listed. */
  peers: WgPeerPlan[];
  /** The minimal SET request: the differing device settings and the planned peers. */
  request: WgSetRequest;
  /** True when nothing differs (nothing needs to be sent). */
  empty: boolean;
}

/** Options of planWgDevice(). */
export interface WgPlanOptions {
  /** Remove peers the configuration does not list. Default true (a desired state is complete). */
  removeUnlisted?: boolean;
}

const sameSet = (a: readonly string[], b: readonly string[]) => {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return s.size === b.length && b.every((x) => s.has(x));
};

/**
 * The change that brings one peer from `current` (undefined: not on the device) to `desired`
 * (a peer of a normalized configuration), or undefined when it already matches.
 */
export function planWgPeer(current: WgPeer | undefined, desired: WgPeerSet): WgPeerPlan | undefined {
  const wantIps = desired.allowedIps.map((a) => a.text);
  if (!current) {
    const change: WgPeerSet = { ...desired, remove: false, updateOnly: false, replaceAllowedIps: false };
    if (change.presharedKey === null) delete change.presharedKey;
    const fields: WgPeerField[] = [];
    if (change.presharedKey) fields.push('presharedKey');
    if (change.endpoint) fields.push('endpoint');
    if (change.persistentKeepalive) fields.push('persistentKeepalive');
    if (wantIps.length) fields.push('allowedIps');
    return { action: 'add', publicKey: desired.publicKey, fields, change };
  }
  const change: WgPeerSet = { publicKey: desired.publicKey, remove: false, updateOnly: false, replaceAllowedIps: false, allowedIps: [] };
  const fields: WgPeerField[] = [];
  const psk = desired.presharedKey ?? undefined;
  if (psk ? !psk.equals(current.presharedKey) : current.presharedKey !== undefined) {
    fields.push('presharedKey');
    change.presharedKey = psk ?? null;
  }
  if (desired.endpoint && desired.endpoint.text !== current.endpoint) {
    fields.push('endpoint');
    change.endpoint = desired.endpoint;
  }
  if ((desired.persistentKeepalive ?? 0) !== current.persistentKeepalive) {
    fields.push('persistentKeepalive');
    change.persistentKeepalive = desired.persistentKeepalive ?? 0;
  }
  if (!sameSet(wantIps, current.allowedIps)) {
    fields.push('allowedIps');
    change.replaceAllowedIps = true;
    change.allowedIps = desired.allowedIps;
  }
  return fields.length ? { action: 'update', publicKey: desired.publicKey, fields, change } : undefined;
}

/**
 * Compares a device as read back with a normalized configuration (validateWgDeviceConfig) and
 * returns the minimal change (see the file comment for what is compared). Peers keep the
 * configuration's order; removals come last.
 */
export function planWgDevice(current: WgDevice, desired: WgSetRequest, opts: WgPlanOptions = {}): WgDevicePlan {
  const request: WgSetRequest = { replacePeers: false, peers: [] };
  const device: WgDeviceField[] = [];
  if (desired.privateKey && !desired.privateKey.equals(current.privateKey)) {
    device.push('privateKey');
    request.privateKey = desired.privateKey;
  }
  if (desired.listenPort && desired.listenPort !== current.listenPort) {
    device.push('listenPort');
    request.listenPort = desired.listenPort;
  }
  if (desired.fwmark !== undefined && desired.fwmark !== current.fwmark) {
    device.push('fwmark');
    request.fwmark = desired.fwmark;
  }
  const have = new Map(current.peers.map((p) => [p.publicKey.toBase64(), p]));
  const peers: WgPeerPlan[] = [];
  const wanted = new Set<string>();
  for (const d of desired.peers) {
    const id = d.publicKey.toBase64();
    wanted.add(id);
    const plan = planWgPeer(have.get(id), d);
    if (plan) peers.push(plan);
  }
  if (opts.removeUnlisted ?? true) {
    for (const p of current.peers) {
      if (wanted.has(p.publicKey.toBase64())) continue;
      peers.push({ action: 'remove', publicKey: p.publicKey, fields: [], change: { publicKey: p.publicKey, remove: true, updateOnly: false, replaceAllowedIps: false, allowedIps: [] } });
    }
  }
  request.peers = peers.map((p) => p.change);
  return { device, peers, request, empty: device.length === 0 && peers.length === 0 };
}

/**
 * One line per planned change, safe to log: public keys and field names, never a private or
 * preshared key.
 */
export function describeWgPlan(plan: WgDevicePlan): string[] {
  const lines = plan.device.map((f) => `set ${f}`);
  for (const p of plan.peers) lines.push(`${p.action} peer ${p.publicKey.toBase64()}${p.fields.length ? ` (${p.fields.join(', ')})` : ''}`);
  return lines;
}
