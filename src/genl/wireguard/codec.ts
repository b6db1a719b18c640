/**
 * WireGuard's messages: WG_CMD_GET_DEVICE (a dump: one device, its peers spread over as many
 * messages as they need) and WG_CMD_SET_DEVICE (one device change, split over as many messages
 * as the kernel needs). One attribute table per level (device, peer, allowed IP) drives both
 * directions; attributes this library does not know are kept when reading.
 *
 * The kernel's limits on one SET message (Linux 6.1 and 6.18, drivers/net/wireguard/netlink.c,
 * net/netlink/af_netlink.c, include/net/netlink.h):
 * - netlink_sendmsg() refuses a message longer than the socket's send buffer minus 32 bytes
 *   with EMSGSIZE (sk_sndbuf; 212,992 bytes by default, net.core.wmem_default);
 * - the peers are one attribute, WGDEVICE_A_PEERS, and an attribute's length is a u16
 *   (struct nlattr.nla_len): all peers of one message fit in 65,535 bytes, and so do one
 *   peer's nest and its WGPEER_A_ALLOWEDIPS. This is the limit that binds, so a message is
 *   at most WG_MAX_SET_MESSAGE_BYTES;
 * - each message is applied on its own, under rtnl_lock and the device's update lock, and
 *   creating a peer costs one Curve25519 computation: a big message holds the lock longer.
 * So a change is split between peers where it can and inside a peer's allowed IPs where it
 * must. A peer continued in the next message is named again by its public key and carries only
 * the rest of its allowed IPs, without WGPEER_F_REPLACE_ALLOWEDIPS (which would drop the part
 * already sent) but with WGPEER_F_UPDATE_ONLY if it had it; the device settings and
 * WGDEVICE_F_REPLACE_PEERS go in the first message only. The split is not atomic: a failure
 * leaves the earlier messages applied.
 *
 * Reading, the kernel splits the same way: a peer's allowed IPs may continue in the next
 * message, where the peer appears again with only its public key; mergeWgDevice() joins them.
 * The device's own attributes come in the first message only.
 */
import { attr, defineAttrs, nestedArray, nestedDecoded, string, u16, u32, u64, u8, type AttrCodec, type AttrValues, type Decoded } from '../../wire/attrs';
import { NLA_F_NESTED, NLM_F_DUMP } from '../../wire/constants';
import { NetlinkParseError } from '../../wire/errors';
import { beginGenl, readGenlHeader } from '../../wire/genl-codec';
import { formatIPv4, formatIPv6 } from '../../values/ip';
import type { MessageView } from '../../wire/reader';
import { MessageWriter } from '../../wire/writer';
import type { DeviceRef } from '../../rtnl/types';
import {
  AF_INET,
  AF_INET6,
  SOCKADDR_IN6_LEN,
  SOCKADDR_IN_LEN,
  WGALLOWEDIP_A_CIDR_MASK,
  WGALLOWEDIP_A_FAMILY,
  WGALLOWEDIP_A_IPADDR,
  WGDEVICE_A_FLAGS,
  WGDEVICE_A_FWMARK,
  WGDEVICE_A_IFINDEX,
  WGDEVICE_A_IFNAME,
  WGDEVICE_A_LISTEN_PORT,
  WGDEVICE_A_PEERS,
  WGDEVICE_A_PRIVATE_KEY,
  WGDEVICE_A_PUBLIC_KEY,
  WGDEVICE_F_REPLACE_PEERS,
  WGPEER_A_ALLOWEDIPS,
  WGPEER_A_ENDPOINT,
  WGPEER_A_FLAGS,
  WGPEER_A_LAST_HANDSHAKE_TIME,
  WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
  WGPEER_A_PRESHARED_KEY,
  WGPEER_A_PROTOCOL_VERSION,
  WGPEER_A_PUBLIC_KEY,
  WGPEER_A_RX_BYTES,
  WGPEER_A_TX_BYTES,
  WGPEER_F_REMOVE_ME,
  WGPEER_F_REPLACE_ALLOWEDIPS,
  WGPEER_F_UPDATE_ONLY,
  WG_CMD_GET_DEVICE,
  WG_CMD_SET_DEVICE,
  WG_GENL_VERSION,
} from './constants';
import { PresharedKey, PrivateKey, PublicKey, WG_KEY_LEN, type WgKey } from './key';
import type { WgDevice, WgPeer, WgTimestamp } from './types';
import type { WgAllowedIp, WgEndpoint, WgPeerSet, WgSetRequest } from './validate';

// ---------------------------------------------------------------- attribute codecs

function keyCodec<K extends WgKey>(from: (b: Uint8Array) => K, what: string): AttrCodec<K> {
  return {
    encode: (w, t, k) => {
      const b = k.toBytes();
      w.binary(t, b);
      b.fill(0);
    },
    decode: (buf, off, len) => {
      if (len !== WG_KEY_LEN) throw new NetlinkParseError(`${what} of ${len} bytes, want ${WG_KEY_LEN}`, off);
      return from(buf.subarray(off, off + len));
    },
  };
}

/** struct sockaddr_in / sockaddr_in6: family in host order, port in network order. */
const endpointCodec: AttrCodec<WgEndpoint> = {
  encode: (w, t, e) => {
    const b = Buffer.alloc(e.family === 4 ? SOCKADDR_IN_LEN : SOCKADDR_IN6_LEN);
    b.writeUInt16LE(e.family === 4 ? AF_INET : AF_INET6, 0);
    b.writeUInt16BE(e.port, 2);
    e.address.copy(b, e.family === 4 ? 4 : 8); // sin6_flowinfo (4 bytes) comes first
    w.binary(t, b);
  },
  decode: (buf, off, len) => {
    const family = len >= 2 ? buf.readUInt16LE(off) : -1;
    const port = len >= 4 ? buf.readUInt16BE(off + 2) : 0;
    if (family === AF_INET && len >= SOCKADDR_IN_LEN) {
      const address = Buffer.from(buf.subarray(off + 4, off + 8));
      return { family: 4, address, port, text: `${formatIPv4(address, 0)}:${port}` };
    }
    if (family === AF_INET6 && len >= SOCKADDR_IN6_LEN) {
      const address = Buffer.from(buf.subarray(off + 8, off + 24));
      const scope = buf.readUInt32LE(off + 24);
      return { family: 6, address, port, text: `[${formatIPv6(address, 0)}${scope ? `%${scope}` : ''}]:${port}` };
    }
    throw new NetlinkParseError(`endpoint sockaddr of ${len} bytes with family ${family}`, off);
  },
};

/** struct __kernel_timespec (two s64); all zeros (never) reads as null. */
const timespecCodec: AttrCodec<WgTimestamp | null> = {
  encode: (w, t, v) => {
    const b = Buffer.alloc(16);
    if (v) {
      b.writeBigInt64LE(BigInt(v.seconds), 0);
      b.writeBigInt64LE(BigInt(v.nanoseconds), 8);
    }
    w.binary(t, b);
  },
  decode: (buf, off, len) => {
    if (len !== 16) throw new NetlinkParseError(`handshake time of ${len} bytes, want 16`, off);
    const seconds = Number(buf.readBigInt64LE(off));
    const nanoseconds = Number(buf.readBigInt64LE(off + 8));
    return seconds === 0 && nanoseconds === 0 ? null : { seconds, nanoseconds };
  },
};

const addressBytes: AttrCodec<Buffer> = {
  encode: (w, t, v) => w.binary(t, v),
  decode: (buf, off, len) => Buffer.from(buf.subarray(off, off + len)),
};

/** WGALLOWEDIP_A_*, in the order wg writes them. */
export const WG_ALLOWEDIP_ATTRS = defineAttrs('WGALLOWEDIP_A', {
  family: attr(WGALLOWEDIP_A_FAMILY, u16),
  address: attr(WGALLOWEDIP_A_IPADDR, addressBytes),
  cidr: attr(WGALLOWEDIP_A_CIDR_MASK, u8),
});

/** One allowed IP: a nest of WG_ALLOWEDIP_ATTRS, read as canonical "addr/len". */
const allowedIpCodec: AttrCodec<WgAllowedIp> = {
  encode: (w, t, a) => {
    const n = w.nestStart(t, NLA_F_NESTED);
    WG_ALLOWEDIP_ATTRS.encode(w, { family: a.family === 4 ? AF_INET : AF_INET6, address: a.address, cidr: a.cidr });
    w.nestEnd(n);
  },
  decode: (buf, off, len) => {
    const v = WG_ALLOWEDIP_ATTRS.decode(buf, off, off + len).values;
    const want = v.family === AF_INET ? 4 : v.family === AF_INET6 ? 16 : 0;
    if (!want || !v.address || v.address.length !== want || v.cidr === undefined || v.cidr > want * 8) {
      throw new NetlinkParseError(`allowed IP with family ${v.family}, ${v.address?.length ?? 0} address bytes, cidr ${v.cidr}`, off);
    }
    const text = want === 4 ? formatIPv4(v.address, 0) : formatIPv6(v.address, 0);
    return { family: want === 4 ? 4 : 6, address: v.address, cidr: v.cidr, text: `${text}/${v.cidr}` };
  },
};

/** WGPEER_A_*: one peer. */
export const WG_PEER_ATTRS = defineAttrs('WGPEER_A', {
  publicKey: attr(WGPEER_A_PUBLIC_KEY, keyCodec(PublicKey.fromBytes, 'peer public key')),
  presharedKey: attr(WGPEER_A_PRESHARED_KEY, keyCodec(PresharedKey.fromBytes, 'preshared key')),
  endpoint: attr(WGPEER_A_ENDPOINT, endpointCodec),
  persistentKeepalive: attr(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, u16),
  flags: attr(WGPEER_A_FLAGS, u32),
  lastHandshake: attr(WGPEER_A_LAST_HANDSHAKE_TIME, timespecCodec),
  rxBytes: attr(WGPEER_A_RX_BYTES, u64),
  txBytes: attr(WGPEER_A_TX_BYTES, u64),
  allowedIps: attr(WGPEER_A_ALLOWEDIPS, nestedArray(allowedIpCodec, 0, NLA_F_NESTED)),
  protocolVersion: attr(WGPEER_A_PROTOCOL_VERSION, u32),
});
/** The values of WG_PEER_ATTRS, each optional. */
export type WgPeerAttrValues = AttrValues<(typeof WG_PEER_ATTRS)['spec']>;

/** WGDEVICE_A_*: the device and its peers (each peer a nest of type 0, as the kernel writes them). */
export const WG_DEVICE_ATTRS = defineAttrs('WGDEVICE_A', {
  ifindex: attr(WGDEVICE_A_IFINDEX, u32),
  ifname: attr(WGDEVICE_A_IFNAME, string),
  privateKey: attr(WGDEVICE_A_PRIVATE_KEY, keyCodec(PrivateKey.fromBytes, 'private key')),
  publicKey: attr(WGDEVICE_A_PUBLIC_KEY, keyCodec(PublicKey.fromBytes, 'public key')),
  listenPort: attr(WGDEVICE_A_LISTEN_PORT, u16),
  fwmark: attr(WGDEVICE_A_FWMARK, u32),
  flags: attr(WGDEVICE_A_FLAGS, u32),
  peers: attr(WGDEVICE_A_PEERS, nestedArray(nestedDecoded(WG_PEER_ATTRS, NLA_F_NESTED), 0, NLA_F_NESTED)),
});
/** One message of a GET dump, decoded: the device's attributes (first message only) and the peers it carries. */
export type WgDevicePart = Decoded<(typeof WG_DEVICE_ATTRS)['spec']>;

// ---------------------------------------------------------------- GET

function writeDeviceRef(w: MessageWriter, ref: DeviceRef): void {
  if (typeof ref === 'number') w.u32(WGDEVICE_A_IFINDEX, ref);
  else w.string(WGDEVICE_A_IFNAME, ref);
}

/** WG_CMD_GET_DEVICE for one device (by index or name): a dump request. */
export function encodeWgGetDevice(w: MessageWriter, familyId: number, ref: DeviceRef): void {
  beginGenl(w, familyId, NLM_F_DUMP, WG_CMD_GET_DEVICE, WG_GENL_VERSION);
  writeDeviceRef(w, ref);
  w.end();
}

/** Decodes one message of a GET dump. Throws NetlinkParseError for a malformed one. */
export function parseWgDeviceMessage(m: MessageView): WgDevicePart {
  const h = readGenlHeader(m);
  if (h.cmd !== WG_CMD_GET_DEVICE) throw new NetlinkParseError(`WireGuard message with command ${h.cmd}, want WG_CMD_GET_DEVICE`, m.payload);
  return WG_DEVICE_ATTRS.decode(m.buf, h.attrStart, m.end);
}

function toPeer(d: Decoded<(typeof WG_PEER_ATTRS)['spec']>): WgPeer {
  const v = d.values;
  if (!v.publicKey) throw new NetlinkParseError('a WireGuard peer without WGPEER_A_PUBLIC_KEY', 0);
  const peer: WgPeer = {
    publicKey: v.publicKey,
    persistentKeepalive: v.persistentKeepalive ?? 0,
    allowedIps: (v.allowedIps ?? []).map((a) => a.text),
    lastHandshake: v.lastHandshake ?? null,
    rxBytes: v.rxBytes ?? 0n,
    txBytes: v.txBytes ?? 0n,
    protocolVersion: v.protocolVersion ?? 0,
    unknown: d.unknown,
  };
  if (v.presharedKey && !v.presharedKey.isZero()) peer.presharedKey = v.presharedKey;
  if (v.endpoint) peer.endpoint = v.endpoint.text;
  return peer;
}

/**
 * Joins the messages of one GET dump into the device: its attributes from the first message,
 * its peers in order, a peer whose allowed IPs continue in the next message merged into one.
 * Throws NetlinkParseError when there are no messages or the first names no device.
 */
export function mergeWgDevice(parts: WgDevicePart[]): WgDevice {
  if (!parts.length) throw new NetlinkParseError('the WireGuard dump returned no message', 0);
  const first = parts[0].values;
  if (first.ifindex === undefined || first.ifname === undefined) throw new NetlinkParseError('the first WireGuard message names no device', 0);
  const device: WgDevice = {
    ifindex: first.ifindex,
    name: first.ifname,
    listenPort: first.listenPort ?? 0,
    fwmark: first.fwmark ?? 0,
    peers: [],
    unknown: parts[0].unknown,
  };
  if (first.privateKey && !first.privateKey.isZero()) device.privateKey = first.privateKey;
  if (first.publicKey && !first.publicKey.isZero()) device.publicKey = first.publicKey;
  for (const part of parts) {
    const peers = part.values.peers ?? [];
    peers.forEach((p, i) => {
      const last = device.peers[device.peers.length - 1];
      if (i === 0 && last && p.values.publicKey && last.publicKey.equals(p.values.publicKey)) {
        // The kernel ran out of room inside this peer's allowed IPs: the rest is here.
        last.allowedIps.push(...(p.values.allowedIps ?? []).map((a) => a.text));
        last.unknown.push(...p.unknown);
        return;
      }
      device.peers.push(toPeer(p));
    });
  }
  return device;
}

// ---------------------------------------------------------------- SET

/** The largest SET message: its peers are one attribute, whose length is a u16 (see the file comment). */
export const WG_MAX_SET_MESSAGE_BYTES = 65535;
/** The smallest budget that always holds the device settings and one peer with one allowed IP. */
export const WG_MIN_SET_MESSAGE_BYTES = 512;
/**
 * Bytes per SET message by default: like wireguard-tools (which uses the page size, 4 KiB on
 * x86-64) this stays well under the kernel's limit, so that one message holds the kernel's
 * locks briefly; bench/wireguard.js measures the choice.
 */
export const WG_DEFAULT_SET_MESSAGE_BYTES = 16384;

/** One message of a split SET: its bytes (the family id is patched in when it is sent) and what it carries. */
export interface WgSetMessage {
  /** The complete message; its nlmsg_type is the family id given to encodeWgSetMessages(). */
  bytes: Buffer;
  /** Index (into the request's peers) of the first peer it carries; -1 when it carries none. */
  firstPeer: number;
  /** Index of the last peer it carries (whole or in part). */
  lastPeer: number;
}

function peerFlags(p: WgPeerSet, continued: boolean): number {
  if (continued) return p.updateOnly ? WGPEER_F_UPDATE_ONLY : 0;
  return (p.remove ? WGPEER_F_REMOVE_ME : 0) | (p.replaceAllowedIps ? WGPEER_F_REPLACE_ALLOWEDIPS : 0) | (p.updateOnly ? WGPEER_F_UPDATE_ONLY : 0);
}

const ZERO_PSK = PresharedKey.fromBytes(Buffer.alloc(WG_KEY_LEN));

/** Writes a peer's nest opening and its settings (only its key and flags when continued). */
function writePeerHead(w: MessageWriter, p: WgPeerSet, continued: boolean): number {
  const n = w.nestStart(0, NLA_F_NESTED);
  const flags = peerFlags(p, continued);
  const v: WgPeerAttrValues = { publicKey: p.publicKey };
  if (!continued) {
    if (p.presharedKey !== undefined) v.presharedKey = p.presharedKey ?? ZERO_PSK;
    v.endpoint = p.endpoint;
    v.persistentKeepalive = p.persistentKeepalive;
  }
  if (flags) v.flags = flags;
  WG_PEER_ATTRS.encode(w, v);
  return n;
}

/**
 * Splits a change into WG_CMD_SET_DEVICE messages of at most maxMessageBytes each (default
 * WG_DEFAULT_SET_MESSAGE_BYTES, 512..WG_MAX_SET_MESSAGE_BYTES), in order. Always at least one
 * message (a change without peers is one message of device settings). The messages hold the
 * private and preshared keys given: fill(0) them once sent. Throws RangeError for a budget out
 * of range.
 */
export function encodeWgSetMessages(familyId: number, ref: DeviceRef, req: WgSetRequest, maxMessageBytes = WG_DEFAULT_SET_MESSAGE_BYTES): WgSetMessage[] {
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < WG_MIN_SET_MESSAGE_BYTES || maxMessageBytes > WG_MAX_SET_MESSAGE_BYTES) {
    throw new RangeError(`maxMessageBytes must be an integer in ${WG_MIN_SET_MESSAGE_BYTES}..${WG_MAX_SET_MESSAGE_BYTES}, got ${maxMessageBytes}`);
  }
  const budget = maxMessageBytes;
  const w = new MessageWriter(budget + 1024);
  const out: WgSetMessage[] = [];
  let peer = 0;
  let ip = 0; // next allowed IP of `peer` to write
  let continued = false; // `peer` was begun in an earlier message
  do {
    const isFirst = out.length === 0;
    w.reset();
    beginGenl(w, familyId, 0, WG_CMD_SET_DEVICE, WG_GENL_VERSION);
    writeDeviceRef(w, ref);
    if (isFirst) {
      WG_DEVICE_ATTRS.encode(w, {
        privateKey: req.privateKey,
        listenPort: req.listenPort,
        fwmark: req.fwmark,
        flags: req.replacePeers ? WGDEVICE_F_REPLACE_PEERS : undefined,
      });
    }
    const firstPeer = peer < req.peers.length ? peer : -1;
    let lastPeer = -1;
    if (peer < req.peers.length) {
      const peersNest = w.nestStart(WGDEVICE_A_PEERS, NLA_F_NESTED);
      while (peer < req.peers.length) {
        const p = req.peers[peer];
        const mark = w.length;
        const peerNest = writePeerHead(w, p, continued);
        if (w.length > budget) {
          w.rewind(mark);
          break;
        }
        let wroteIps = 0;
        if (ip < p.allowedIps.length) {
          const ipsNest = w.nestStart(WGPEER_A_ALLOWEDIPS, NLA_F_NESTED);
          for (; ip < p.allowedIps.length; ip++, wroteIps++) {
            const m = w.length;
            allowedIpCodec.encode(w, 0, p.allowedIps[ip]);
            if (w.length > budget) {
              w.rewind(m);
              break;
            }
          }
          if (wroteIps === 0) {
            w.rewind(mark); // not even one allowed IP fits: the whole peer goes in the next message
            break;
          }
          w.nestEnd(ipsNest);
        }
        w.nestEnd(peerNest);
        lastPeer = peer;
        if (ip < p.allowedIps.length) {
          continued = true; // the message is full inside this peer
          break;
        }
        peer++;
        ip = 0;
        continued = false;
      }
      if (lastPeer < 0) throw new RangeError(`maxMessageBytes ${budget} does not hold one peer`); // cannot happen above the minimum
      w.nestEnd(peersNest);
    }
    w.end();
    out.push({ bytes: Buffer.from(w.bytes()), firstPeer, lastPeer });
    w.buf.fill(0, 0, w.length); // the scratch held keys
  } while (peer < req.peers.length);
  return out;
}

/** Writes a message built by encodeWgSetMessages() into `w` for family `familyId` (a re-resolved id, say). */
export function writeWgSetMessage(w: MessageWriter, familyId: number, msg: WgSetMessage): void {
  const off = w.reserve(msg.bytes.length);
  msg.bytes.copy(w.buf, off);
  w.buf.writeUInt16LE(familyId, off + 4);
}
