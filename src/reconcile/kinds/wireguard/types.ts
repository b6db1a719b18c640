/**
 * The wireguard kind's vocabulary: a device's desired configuration (WireGuardSpec), the ops
 * that bring a device there (one for its settings, one per peer that differs) and the conflict
 * when the device is not this reconciler's to configure.
 *
 * Ops and conflicts never hold a key as text: private and preshared keys are PrivateKey /
 * PresharedKey objects, which print, inspect and serialise as "[redacted]".
 */
import type { PrivateKey, PublicKey } from '../../../genl/wireguard/key';
import type { WgDeviceField, WgPeerField } from '../../../genl/wireguard/plan';
import type { WgDeviceConfig, WgPeer } from '../../../genl/wireguard/types';
import type { WgPeerSet } from '../../../genl/wireguard/validate';

/**
 * A WireGuard device's configuration as the reconciler keeps it: the device (by name: a
 * desired link of kind "wireguard", or an existing one) and a WgDeviceConfig. Device settings
 * left out are not managed; `peers` is the complete set: on a device this reconciler owns,
 * peers not listed are removed. Give privateKey as a PrivateKey (its text is accepted but is
 * then a plain string in your own objects).
 *
 * @example
 * ```ts
 * const desired = {
 *   links: [{ kind: 'wireguard', name: 'wg0', mtu: 1440, up: true }],
 *   wireguard: [{ dev: 'wg0', privateKey: key, listenPort: 51820,
 *     peers: [{ publicKey: 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=', endpoint: '10.57.4.21:51820', allowedIps: ['192.168.11.0/24'] }] }],
 * };
 * ```
 */
export interface WireGuardSpec extends WgDeviceConfig {
  /** The WireGuard device. */
  dev: string;
}

/** The device settings of an op: only those that change. */
export interface WireGuardDeviceChange {
  /** The new private key (redacted in every printout). */
  privateKey?: PrivateKey;
  /** The new listen port. */
  listenPort?: number;
  /** The new fwmark. */
  fwmark?: number;
}

/** Sets a device's settings (private key, listen port, fwmark): create on a device made in this apply, update on one that exists. */
export interface WireGuardDeviceOp {
  /** Which kind of object. */
  readonly kind: 'wireguard';
  /** The device's settings, not a peer. */
  readonly target: 'device';
  /** create: a new (or recreated) device gets its settings; update: some differ. */
  action: 'create' | 'update';
  /** The device's name. */
  key: string;
  /** Which settings, for a person ("listenPort 51820 -> 51821", "privateKey changes"); never a key. */
  reason: string;
  /** The device. */
  dev: string;
  /** The settings that differ. */
  fields: WgDeviceField[];
  /** Their new values. */
  change: WireGuardDeviceChange;
  /** True when the device is not this reconciler's and is configured anyway (adoptConflicts). */
  adopt?: boolean;
}

/** Adds, changes or removes one peer; the device's other peers are not touched. */
export interface WireGuardPeerOp {
  /** Which kind of object. */
  readonly kind: 'wireguard';
  /** A peer. */
  readonly target: 'peer';
  /** create: not on the device; update: some settings differ; delete: not desired (owned devices only). */
  action: 'create' | 'update' | 'delete';
  /** "wg0 peer <public key>". */
  key: string;
  /** What differs, for a person ("allowedIps 10.0.1.0/24 -> 10.0.2.0/24"); never a secret. */
  reason: string;
  /** The device. */
  dev: string;
  /** The peer's public key. */
  publicKey: PublicKey;
  /** The fields set (create) or that differ (update); empty for delete. */
  fields: WgPeerField[];
  /** The peer's part of the SET request (only what differs). */
  change: WgPeerSet;
  /** The peer as the kernel has it (update, delete): its settings and last handshake (no counters, so an op serialises as JSON). */
  actual?: Pick<WgPeer, 'publicKey' | 'endpoint' | 'allowedIps' | 'persistentKeepalive' | 'lastHandshake'>;
  /** True when the device is not this reconciler's and is configured anyway (adoptConflicts). */
  adopt?: boolean;
}

/** An op of the wireguard kind: one per device whose settings differ, one per peer that differs. */
export type WireGuardOp = WireGuardDeviceOp | WireGuardPeerOp;

/** A desired device configuration left alone: the device is another owner's, not this reconciler's, or not a WireGuard device. */
export interface WireGuardConflict {
  /** Which kind of object. */
  readonly kind: 'wireguard';
  /** The device's name. */
  key: string;
  /** Why it was left alone. */
  reason: string;
  /** The device. */
  dev: string;
  /** How many peers were desired on it. */
  peers: number;
}
