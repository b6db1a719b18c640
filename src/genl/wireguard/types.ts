/**
 * WireGuard's typed objects: what you ask for (a whole device's configuration, or a change to
 * it) and what you read back. Keys are PrivateKey / PublicKey / PresharedKey objects (their
 * base64 text is accepted on input); endpoints are "192.0.2.1:51820" or "[2001:db8::1]:51820";
 * allowed IPs are prefixes without host bits ("10.0.0.0/24", "fd00::/64"; a bare address is a
 * /32 or /128). Read-back values are canonical, so a configuration that was applied compares
 * equal to what comes back (see planWgDevice / wgDeviceDiffers).
 */
import type { RawAttribute } from '../../wire/reader';
import type { PresharedKey, PrivateKey, PublicKey } from './key';

/** A public key, or its base64 text. */
export type PublicKeyInput = PublicKey | string;
/** A private key, or its base64 text (prefer PrivateKey: the text is not redacted). */
export type PrivateKeyInput = PrivateKey | string;
/** A preshared key, or its base64 text (prefer PresharedKey: the text is not redacted). */
export type PresharedKeyInput = PresharedKey | string;

/** One peer as wanted in a device's configuration. */
export interface WgPeerConfig {
  /** The peer's public key: its identity on the device. */
  publicKey: PublicKeyInput;
  /** An extra symmetric secret shared with the peer; null or left out: none. */
  presharedKey?: PresharedKeyInput | null;
  /**
   * Where to send to the peer first: "192.0.2.1:51820" or "[2001:db8::1]:51820" (IP literals;
   * host names are not resolved). The kernel moves it when the peer roams. Left out: none set
   * (the peer must reach us first).
   */
  endpoint?: string;
  /** Seconds between keepalives sent to hold NAT mappings open; 0 or left out: off. */
  persistentKeepalive?: number;
  /** The prefixes routed to this peer and accepted from it. Left out or []: none. */
  allowedIps?: string[];
}

/**
 * A whole device's configuration (the desired state). Device fields left out are not managed
 * (left as they are); peers are the complete set when given.
 *
 * @example
 * ```ts
 * const cfg: WgDeviceConfig = {
 *   privateKey: PrivateKey.generate(), listenPort: 51820,
 *   peers: [{ publicKey: 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=', endpoint: '10.57.4.21:51820',
 *             allowedIps: ['192.168.11.0/24'] }],
 * };
 * ```
 */
export interface WgDeviceConfig {
  /** The device's private key. */
  privateKey?: PrivateKeyInput;
  /** UDP port to listen on; 0 lets the kernel pick one when the device goes up. */
  listenPort?: number;
  /** Mark on the device's outgoing UDP packets (for policy routing); 0: none. */
  fwmark?: number;
  /** Every peer the device should have. */
  peers?: WgPeerConfig[];
}

/**
 * One peer in a change (one WG_CMD_SET_DEVICE, split over several messages when large): what
 * is given is set, what is left out stays as it is. A peer not on the device is created unless
 * updateOnly; remove deletes it.
 */
export interface WgPeerChange {
  /** Which peer. */
  publicKey: PublicKeyInput;
  /** WGPEER_F_REMOVE_ME: delete this peer (nothing else may be given but updateOnly). */
  remove?: boolean;
  /** WGPEER_F_UPDATE_ONLY: change the peer only if it exists; never create it. */
  updateOnly?: boolean;
  /** WGPEER_F_REPLACE_ALLOWEDIPS: allowedIps become exactly the list given (else they are added). */
  replaceAllowedIps?: boolean;
  /** Set the preshared key; null removes it (all zeros). */
  presharedKey?: PresharedKeyInput | null;
  /** Set the endpoint ("ip:port", "[ip6]:port"). */
  endpoint?: string;
  /** Set the keepalive interval, seconds; 0 turns it off. */
  persistentKeepalive?: number;
  /** Allowed IPs to add (or, with replaceAllowedIps, the new complete list). */
  allowedIps?: string[];
}

/** A change to a device: its settings and any number of peer changes. */
export interface WgDeviceChange {
  /** Set the private key (the kernel drops every session and removes a peer with the matching public key). */
  privateKey?: PrivateKeyInput;
  /** Set the listen port (0: the kernel picks one). */
  listenPort?: number;
  /** Set the fwmark (0: none). */
  fwmark?: number;
  /** WGDEVICE_F_REPLACE_PEERS: remove every peer first (all handshakes are lost). */
  replacePeers?: boolean;
  /** Peers to add, change or remove; the others are not touched. */
  peers?: WgPeerChange[];
}

/** When the last handshake with a peer completed (struct __kernel_timespec, wall clock). */
export interface WgTimestamp {
  /** Seconds since the Unix epoch. */
  seconds: number;
  /** Nanoseconds within the second. */
  nanoseconds: number;
}

/** A peer as read back (WG_CMD_GET_DEVICE). */
export interface WgPeer {
  /** The peer's public key. */
  publicKey: PublicKey;
  /** The preshared key, when one is set (the kernel reports all zeros for none). */
  presharedKey?: PresharedKey;
  /** Its current endpoint in canonical form, when it has one. */
  endpoint?: string;
  /** Keepalive interval, seconds (0: off). */
  persistentKeepalive: number;
  /** Its allowed IPs, canonical (host bits cleared), in the kernel's order. */
  allowedIps: string[];
  /** When the last handshake completed; null when none has. */
  lastHandshake: WgTimestamp | null;
  /** Bytes received from the peer. */
  rxBytes: bigint;
  /** Bytes sent to the peer. */
  txBytes: bigint;
  /** WGPEER_A_PROTOCOL_VERSION (1). */
  protocolVersion: number;
  /** Peer attributes this library does not decode. */
  unknown: RawAttribute[];
}

/** A device as read back (WG_CMD_GET_DEVICE, every part of the dump merged). */
export interface WgDevice {
  /** Interface index. */
  ifindex: number;
  /** Interface name. */
  name: string;
  /** The private key, when one is set (a secret: redacted in every printout). */
  privateKey?: PrivateKey;
  /** Its public key, when a private key is set. */
  publicKey?: PublicKey;
  /** The UDP port it listens on (0 until it is up when none was set). */
  listenPort: number;
  /** Its fwmark (0: none). */
  fwmark: number;
  /** Its peers, in the kernel's order. */
  peers: WgPeer[];
  /** Device attributes this library does not decode. */
  unknown: RawAttribute[];
}
