/**
 * struct ifinfomsg and the attributes every link kind shares: how links.* requests are framed
 * and how any RTM_NEWLINK / RTM_DELLINK message is decoded.
 *
 * Attribute order follows iproute2 (`ip link add NAME address .. mtu .. type KIND ...`):
 * common attributes, then IFLA_IFNAME, then IFLA_LINKINFO. That keeps encoder output
 * byte-identical to the captured iproute2 requests in test/fixtures/iproute2.
 */
import { NetlinkParseError } from '../../wire/errors';
import { forEachAttr, rawAttr, readMac, readS32, readString, readU32, readU8, type MessageView, type RawAttribute } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import {
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_OPERSTATE,
  IFLA_TXQLEN,
  RTM_DELLINK,
  RTM_NEWLINK,
} from '../constants';
import { OPER_STATES } from '../names';
import type { LinkBase, OperState } from '../types';

// Link-layer types whose IFLA_ADDRESS is an IP address, not a MAC (include/uapi/linux/if_arp.h).
export const ARPHRD_TUNNEL = 768;
export const ARPHRD_TUNNEL6 = 769;
export const ARPHRD_SIT = 776;
export const ARPHRD_IPGRE = 778;
export const ARPHRD_IP6GRE = 823;
const IP_ADDRESSED = new Set([ARPHRD_TUNNEL, ARPHRD_TUNNEL6, ARPHRD_SIT, ARPHRD_IPGRE, ARPHRD_IP6GRE]);

/**
 * Writes struct ifinfomsg (family AF_UNSPEC): index 0 for "look the device up by IFLA_IFNAME"
 * or a new device; ifiFlags/ifiChange carry IFF_UP the way `ip link set up/down` does.
 */
export function writeIfinfomsg(w: MessageWriter, index: number, ifiFlags = 0, ifiChange = 0): void {
  const off = w.reserve(IFINFOMSG_LEN);
  w.buf.writeInt32LE(index, off + 4);
  w.buf.writeUInt32LE(ifiFlags >>> 0, off + 8);
  w.buf.writeUInt32LE(ifiChange >>> 0, off + 12);
}

/** ifi_flags/ifi_change for an optional up/down. */
export function upFlags(up: boolean | undefined): [flags: number, change: number] {
  if (up === undefined) return [0, 0];
  return [up ? IFF_UP : 0, IFF_UP];
}

/** The common attributes, already resolved to kernel values (indexes, fds). */
export interface CommonAttrs {
  address?: string;
  mtu?: number;
  txqueuelen?: number;
  /** 0 removes the master (nomaster). */
  master?: number;
  /** An open namespace fd: create in / move to that namespace. */
  netnsFd?: number;
  /** IFLA_IFALIAS; the empty string removes the alias (a zero-length attribute, as iproute2). */
  alias?: string;
  /** IFLA_IFNAME: the new device's name, or the new name of an existing one (index given). */
  name?: string;
}

/** Writes the common attributes in iproute2's order; undefined ones are left out. */
export function writeCommonAttrs(w: MessageWriter, c: CommonAttrs): void {
  if (c.address !== undefined) w.mac(IFLA_ADDRESS, c.address);
  if (c.mtu !== undefined) w.u32(IFLA_MTU, c.mtu);
  if (c.txqueuelen !== undefined) w.u32(IFLA_TXQLEN, c.txqueuelen);
  if (c.master !== undefined) w.u32(IFLA_MASTER, c.master);
  if (c.netnsFd !== undefined) w.u32(IFLA_NET_NS_FD, c.netnsFd);
  // Without a NUL, as iproute2: dev_set_alias() stores exactly the attribute's bytes.
  if (c.alias !== undefined) w.binary(IFLA_IFALIAS, c.alias === '' ? EMPTY : Buffer.from(c.alias, 'utf8'));
  if (c.name !== undefined) w.string(IFLA_IFNAME, c.name);
}

const EMPTY = Buffer.alloc(0);

// IFLA_INFO_KIND as iproute2 writes it: the bytes of the name without a terminating NUL (the
// kernel's policy is NLA_STRING, which takes both). Built once, so encoding allocates nothing.
const KIND_BYTES = new Map<string, Buffer>();

/** Opens IFLA_LINKINFO with IFLA_INFO_KIND; the caller writes IFLA_INFO_DATA and closes it. */
export function startLinkInfo(w: MessageWriter, kind: string): number {
  let k = KIND_BYTES.get(kind);
  if (!k) KIND_BYTES.set(kind, (k = Buffer.from(kind, 'utf8')));
  const li = w.nestStart(IFLA_LINKINFO);
  w.binary(IFLA_INFO_KIND, k);
  return li;
}

// ---------------------------------------------------------------- decoding

/** Where IFLA_LINKINFO's parts were found in a message. */
export interface LinkInfoView {
  kind: string | null;
  /** Offsets of IFLA_INFO_DATA's payload, or -1 when absent. */
  dataStart: number;
  dataEnd: number;
}

function operState(v: number): OperState {
  return OPER_STATES[v] ?? 'unknown';
}

/** All the attributes in an IFLA_INFO_DATA range, undecoded (for kinds this library does not know). */
export function rawAttrs(buf: Buffer, start: number, end: number): RawAttribute[] {
  const out: RawAttribute[] = [];
  if (start < 0) return out;
  forEachAttr(buf, start, end, (type, off, len) => out.push(rawAttr(buf, type, off, len)));
  return out;
}

/**
 * Decodes ifinfomsg and the common attributes of an RTM_NEWLINK or RTM_DELLINK message, and
 * finds IFLA_LINKINFO. Throws NetlinkParseError for a message that is not a link message or is
 * malformed (bounds are checked everywhere).
 */
export function parseLinkCommon(m: MessageView): { base: LinkBase; info: LinkInfoView } {
  if (m.type !== RTM_NEWLINK && m.type !== RTM_DELLINK) {
    throw new NetlinkParseError(`message type ${m.type} is not RTM_NEWLINK or RTM_DELLINK`, m.start);
  }
  const { buf, payload, end } = m;
  if (end - payload < IFINFOMSG_LEN) throw new NetlinkParseError(`link message of ${end - payload} bytes, ifinfomsg needs ${IFINFOMSG_LEN}`, payload);
  const ifiType = buf.readUInt16LE(payload + 2);
  const flags = buf.readUInt32LE(payload + 8);
  const base: LinkBase = {
    index: buf.readInt32LE(payload + 4),
    name: '',
    flags,
    up: (flags & IFF_UP) !== 0,
    operstate: 'unknown',
    mtu: 0,
    txqueuelen: 0,
  };
  const info: LinkInfoView = { kind: null, dataStart: -1, dataEnd: -1 };
  forEachAttr(buf, payload + IFINFOMSG_LEN, end, (type, off, len) => {
    switch (type) {
      case IFLA_IFNAME:
        base.name = readString(buf, off, len);
        break;
      case IFLA_MTU:
        base.mtu = readU32(buf, off, len);
        break;
      case IFLA_IFALIAS:
        if (len > 0 && buf[off] !== 0) base.alias = readString(buf, off, len);
        break;
      case IFLA_ADDRESS:
        if (len > 0 && !IP_ADDRESSED.has(ifiType)) base.address = readMac(buf, off, len);
        break;
      case IFLA_MASTER:
        base.master = readU32(buf, off, len);
        break;
      case IFLA_TXQLEN:
        base.txqueuelen = readU32(buf, off, len);
        break;
      case IFLA_LINK:
        base.link = readS32(buf, off, len);
        break;
      case IFLA_LINK_NETNSID:
        base.linkNetnsId = readS32(buf, off, len);
        break;
      case IFLA_OPERSTATE:
        base.operstate = operState(readU8(buf, off, len));
        break;
      case IFLA_LINKINFO:
        forEachAttr(buf, off, off + len, (t, o, l) => {
          if (t === IFLA_INFO_KIND) info.kind = readString(buf, o, l);
          else if (t === IFLA_INFO_DATA) {
            info.dataStart = o;
            info.dataEnd = o + l;
          }
        });
        break;
    }
  });
  return { base, info };
}
