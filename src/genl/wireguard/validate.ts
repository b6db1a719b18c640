/**
 * Validation of WireGuard input before anything is sent: every problem is reported with its
 * path ("peers[3].allowedIps[0]"), and nothing about a key's value ever appears in a message
 * (a key in the wrong field would otherwise leak through the error).
 *
 * Checked: keys (type, base64, length; a private key that equals a public key in the same
 * input or one the caller knows, i.e. a public key given as the private one; a peer whose key
 * is the device's own, which the kernel would silently ignore), endpoints (IP literal and port
 * 1..65535), allowed IPs (prefixes without host bits; one prefix on one peer only, as the
 * kernel keeps each on one peer), ports, fwmark, keepalive, duplicate peers, the kernel's
 * 2^20 peers per device, and the flags of a change (remove takes nothing else).
 *
 * The result is the input normalized: key objects, parsed endpoints and prefixes (WgSetRequest).
 */
import { formatIPv6 } from '../../values/ip';
import { parseAddress, parsePrefix } from '../../values/address';
import { checkBool, checkInt, checkKeys, Problems } from '../../values/problems';
import { keyTextProblem, PresharedKey, PrivateKey, PublicKey, WgKey } from './key';
import type { PublicKeyInput } from './types';

/** MAX_PEERS_PER_DEVICE (drivers/net/wireguard/messages.h): more peers fail with ENOMEM. */
export const WG_MAX_PEERS = 1 << 20;

/** A peer's endpoint, parsed. */
export interface WgEndpoint {
  /** 4 or 6. */
  family: 4 | 6;
  /** The address, 4 or 16 bytes. */
  address: Buffer;
  /** UDP port. */
  port: number;
  /** Canonical text: "192.0.2.1:51820" or "[2001:db8::1]:51820". */
  text: string;
}

/** An allowed IP, parsed. */
export interface WgAllowedIp {
  /** 4 or 6. */
  family: 4 | 6;
  /** The prefix's address, 4 or 16 bytes (host bits clear). */
  address: Buffer;
  /** Prefix length. */
  cidr: number;
  /** Canonical text: "10.0.0.0/24". */
  text: string;
}

/** One peer of a WgSetRequest: a WgPeerChange normalized. */
export interface WgPeerSet {
  /** Which peer. */
  publicKey: PublicKey;
  /** WGPEER_F_REMOVE_ME. */
  remove: boolean;
  /** WGPEER_F_UPDATE_ONLY. */
  updateOnly: boolean;
  /** WGPEER_F_REPLACE_ALLOWEDIPS. */
  replaceAllowedIps: boolean;
  /** Set (a key), remove (null) or leave (undefined) the preshared key. */
  presharedKey?: PresharedKey | null;
  /** Set the endpoint. */
  endpoint?: WgEndpoint;
  /** Set the keepalive interval. */
  persistentKeepalive?: number;
  /** Allowed IPs to add (or the new list, with replaceAllowedIps). */
  allowedIps: WgAllowedIp[];
}

/** A WgDeviceChange normalized: what the encoder writes into WG_CMD_SET_DEVICE messages. */
export interface WgSetRequest {
  /** Set the private key. */
  privateKey?: PrivateKey;
  /** Set the listen port. */
  listenPort?: number;
  /** Set the fwmark. */
  fwmark?: number;
  /** WGDEVICE_F_REPLACE_PEERS. */
  replacePeers: boolean;
  /** Peer changes, in order. */
  peers: WgPeerSet[];
}

/** A public key the caller knows, for the "public key given as the private key" check. */
export interface KnownPublicKey {
  /** The key. */
  key: PublicKeyInput;
  /** What it is, for the message ("node host2", "this node's published key"). */
  label: string;
}

/** Options of the WireGuard validators. */
export interface WgValidateOptions {
  /** Public keys known elsewhere (other nodes, this node's published key): a private key equal to one is refused. */
  knownPublicKeys?: KnownPublicKey[];
}

const at = (path: string, key: string) => (path ? `${path}.${key}` : key);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindName = (k: WgKey) => (k instanceof PrivateKey ? 'a PrivateKey' : k instanceof PresharedKey ? 'a PresharedKey' : 'a PublicKey');
/** A value for a message, cut short: validation echoes addresses, never keys. */
const show = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

type KeyClass<K> = { fromBase64(text: string, field?: string): K; prototype: K };

/** A key of class `cls`, from an instance or base64 text; a problem at `path` otherwise (never the value). */
function checkKey<K extends WgKey>(p: Problems, path: string, v: unknown, cls: KeyClass<K>, what: string): K | undefined {
  if (v instanceof (cls as unknown as new () => K)) return v as K;
  if (v instanceof WgKey) {
    p.add(path, `is ${kindName(v)}; ${what} is needed here`);
    return undefined;
  }
  const problem = keyTextProblem(v);
  if (problem !== undefined) {
    p.add(path, problem);
    return undefined;
  }
  return cls.fromBase64(v as string, path);
}

/**
 * An endpoint "a.b.c.d:port" or "[v6]:port" (IP literals only, port 1..65535). Returns it
 * parsed, or undefined after adding a problem at `path`; never throws.
 */
export function parseEndpoint(p: Problems, path: string, v: unknown): WgEndpoint | undefined {
  const bad = () => p.add(path, `${show(v)} is not an endpoint: give an IP address and a port, "192.0.2.1:51820" or "[2001:db8::1]:51820" (host names are not resolved)`);
  if (typeof v !== 'string') return void bad();
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(v);
  if (!m) return void bad();
  const port = Number(m[3]);
  if (port < 1 || port > 65535) {
    p.add(path, `${show(v)}: port ${port} is outside 1..65535`);
    return undefined;
  }
  // Its own problems are replaced by the one sentence above.
  const a = parseAddress(new Problems(), path, m[1] ?? m[2], m[1] !== undefined ? 6 : 4);
  if (!a) return void bad();
  return { family: a.family, address: a.bytes, port, text: a.family === 6 ? `[${formatIPv6(a.bytes, 0)}]:${port}` : `${a.text}:${port}` };
}

function checkAllowedIps(p: Problems, path: string, v: unknown, owners: Map<string, string> | undefined): WgAllowedIp[] {
  if (!Array.isArray(v)) {
    p.add(path, `expected a list of prefixes like ["10.0.0.0/24"], got ${show(v)}`);
    return [];
  }
  const out: WgAllowedIp[] = [];
  v.forEach((x, i) => {
    const q = `${path}[${i}]`;
    const pre = parsePrefix(p, q, x, 'reject');
    if (!pre) return;
    const ip: WgAllowedIp = { family: pre.family, address: pre.bytes, cidr: pre.prefixLength, text: pre.prefix };
    if (owners) {
      const other = owners.get(ip.text);
      if (other !== undefined && other !== path) {
        p.add(q, `${ip.text} is also an allowed IP of ${other.replace(/\.allowedIps$/, '')}: the kernel keeps each prefix on one peer only`);
        return;
      }
      owners.set(ip.text, path);
    }
    out.push(ip);
  });
  return out;
}

const CONFIG_KEYS = ['privateKey', 'listenPort', 'fwmark', 'peers'] as const;
const CHANGE_KEYS = [...CONFIG_KEYS, 'replacePeers'] as const;
const PEER_CONFIG_KEYS = ['publicKey', 'presharedKey', 'endpoint', 'persistentKeepalive', 'allowedIps'] as const;
const PEER_CHANGE_KEYS = [...PEER_CONFIG_KEYS, 'remove', 'updateOnly', 'replaceAllowedIps'] as const;

function checkPeer(p: Problems, path: string, v: unknown, change: boolean, owners: Map<string, string>): WgPeerSet | undefined {
  if (!isObject(v)) {
    p.add(path, `expected a peer object with a publicKey, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
    return undefined;
  }
  checkKeys(p, path, v, change ? PEER_CHANGE_KEYS : PEER_CONFIG_KEYS);
  const before = p.list.length;
  const publicKey = v.publicKey === undefined ? (p.add(at(path, 'publicKey'), 'required: the peer\'s public key'), undefined) : checkKey(p, at(path, 'publicKey'), v.publicKey, PublicKey, 'a public key');
  const flag = (k: string) => v[k] !== undefined && checkBool(p, at(path, k), v[k]) && v[k] === true;
  const peer: WgPeerSet = {
    publicKey: publicKey!,
    remove: change && flag('remove'),
    updateOnly: change && flag('updateOnly'),
    replaceAllowedIps: change && flag('replaceAllowedIps'),
    allowedIps: [],
  };
  if (peer.remove) {
    for (const k of Object.keys(v)) {
      if (k !== 'publicKey' && k !== 'remove' && k !== 'updateOnly' && v[k] !== undefined) p.add(at(path, k), 'a peer being removed takes only publicKey (and updateOnly)');
    }
  }
  if (v.presharedKey === null) peer.presharedKey = null;
  else if (v.presharedKey !== undefined) peer.presharedKey = checkKey(p, at(path, 'presharedKey'), v.presharedKey, PresharedKey, 'a preshared key');
  if (v.endpoint !== undefined) peer.endpoint = parseEndpoint(p, at(path, 'endpoint'), v.endpoint);
  if (v.persistentKeepalive !== undefined && checkInt(p, at(path, 'persistentKeepalive'), v.persistentKeepalive, 0, 65535)) {
    peer.persistentKeepalive = v.persistentKeepalive;
  }
  if (v.allowedIps !== undefined) peer.allowedIps = checkAllowedIps(p, at(path, 'allowedIps'), v.allowedIps, owners);
  return p.list.length === before ? peer : undefined;
}

function checkDevice(p: Problems, path: string, v: unknown, change: boolean, opts: WgValidateOptions): WgSetRequest | undefined {
  const before = p.list.length;
  if (!isObject(v)) {
    p.add(path, `expected a WireGuard ${change ? 'device change' : 'device configuration'} object`);
    return undefined;
  }
  checkKeys(p, path, v, change ? CHANGE_KEYS : CONFIG_KEYS);
  const req: WgSetRequest = { replacePeers: false, peers: [] };
  if (v.privateKey !== undefined) req.privateKey = checkKey(p, at(path, 'privateKey'), v.privateKey, PrivateKey, 'a private key');
  if (v.listenPort !== undefined && checkInt(p, at(path, 'listenPort'), v.listenPort, 0, 65535)) req.listenPort = v.listenPort;
  if (v.fwmark !== undefined && checkInt(p, at(path, 'fwmark'), v.fwmark, 0, 0xffffffff)) req.fwmark = v.fwmark;
  if (change && v.replacePeers !== undefined && checkBool(p, at(path, 'replacePeers'), v.replacePeers)) req.replacePeers = v.replacePeers;
  const peersPath = at(path, 'peers');
  if (v.peers !== undefined) {
    if (!Array.isArray(v.peers)) p.add(peersPath, `expected a list of peers, got ${show(v.peers)}`);
    else if (v.peers.length > WG_MAX_PEERS) p.add(peersPath, `${v.peers.length} peers; a device holds at most ${WG_MAX_PEERS} (MAX_PEERS_PER_DEVICE)`);
    else {
      const owners = new Map<string, string>();
      const seen = new Map<string, number>();
      v.peers.forEach((x, i) => {
        const q = `${peersPath}[${i}]`;
        const peer = checkPeer(p, q, x, change, owners);
        if (!peer) return;
        const id = peer.publicKey.toBase64();
        const first = seen.get(id);
        if (first !== undefined) p.add(at(q, 'publicKey'), `the same peer as ${peersPath}[${first}]: give each peer once`);
        else seen.set(id, i);
        req.peers.push(peer);
      });
    }
  }
  checkKeyRoles(p, path, req, opts);
  return p.list.length === before ? req : undefined;
}

/** A public key given as the private one, and a peer that is the device itself. */
function checkKeyRoles(p: Problems, path: string, req: WgSetRequest, opts: WgValidateOptions): void {
  const priv = req.privateKey;
  if (!priv) return;
  const bytes = priv.toBytes();
  try {
    const own = priv.publicKey();
    req.peers.forEach((peer, i) => {
      const q = `${at(path, 'peers')}[${i}].publicKey`;
      if (sameClamped(peer.publicKey, bytes)) {
        p.add(at(path, 'privateKey'), `equals the public key of ${q.replace(/\.publicKey$/, '')}: a public key was given as the private key`);
      } else if (!peer.remove && peer.publicKey.equals(own)) {
        p.add(q, 'is this device\'s own public key (from privateKey): the kernel would silently ignore this peer');
      }
    });
    for (const known of opts.knownPublicKeys ?? []) {
      const k = known.key instanceof PublicKey ? known.key : keyTextProblem(known.key) === undefined ? PublicKey.fromBase64(known.key) : undefined;
      if (k && sameClamped(k, bytes)) p.add(at(path, 'privateKey'), `equals the public key of ${known.label}: a public key was given as the private key`);
    }
  } finally {
    bytes.fill(0);
  }
}

/** Whether a public key given as a private key would be these bytes: PrivateKey clamps what
 * it is given, so the public key is compared clamped too. */
function sameClamped(pub: PublicKey, clampedPrivate: Buffer): boolean {
  const b = pub.toBytes();
  b[0] &= 248;
  b[31] = (b[31] & 127) | 64;
  return Buffer.compare(b, clampedPrivate) === 0;
}

/**
 * Checks a change to a device (WireGuard.set()) completely and returns it normalized, or
 * undefined after appending every problem to p (paths under `path`). Never throws.
 */
export function validateWgDeviceChange(p: Problems, path: string, change: unknown, opts: WgValidateOptions = {}): WgSetRequest | undefined {
  return checkDevice(p, path, change, true, opts);
}

/**
 * Checks a whole device configuration (the desired state: WireGuard.sync(), planWgDevice()) and
 * returns it normalized, or undefined after appending every problem to p. Never throws.
 */
export function validateWgDeviceConfig(p: Problems, path: string, config: unknown, opts: WgValidateOptions = {}): WgSetRequest | undefined {
  return checkDevice(p, path, config, false, opts);
}
