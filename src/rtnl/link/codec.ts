/**
 * struct ifinfomsg and the attributes every link kind shares: how links.* requests are framed
 * and how any RTM_NEWLINK / RTM_DELLINK message is decoded, both through the tables of
 * ./table (and the kind's, through the registry).
 */
import { NetlinkParseError } from '../../wire/errors';
import { forEachAttr, rawAttr, type MessageView, type RawAttribute } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import { IFF_UP, IFLA_INFO_KIND, IFLA_LINKINFO, RTM_DELLINK, RTM_NEWLINK } from '../constants';
import { OPER_STATES } from '../names';
import type { LinkBase } from '../types';
import { IFINFOMSG, LINKINFO_ATTRS, LINK_ATTRS, type NestRange } from './table';

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
  IFINFOMSG.write(w, { index, flags: ifiFlags, change: ifiChange });
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
  /** IFLA_LINK: the parent device (macvlan). */
  link?: number;
  /** IFLA_IFNAME: the new device's name, or the new name of an existing one (index given). */
  name?: string;
}

/** Writes the common attributes in iproute2's order (LINK_ATTRS'); undefined ones are left out. */
export function writeCommonAttrs(w: MessageWriter, c: CommonAttrs): void {
  LINK_ATTRS.encode(w, c);
}

// IFLA_INFO_KIND as iproute2 writes it: the bytes of the name without a terminating NUL (the
// kernel's policy is NLA_STRING, which takes both). Made once per kind, so encoding allocates nothing.
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

/** All the attributes in a range, undecoded (for kinds this library does not know). */
export function rawAttrs(buf: Buffer, start: number, end: number): RawAttribute[] {
  const out: RawAttribute[] = [];
  if (start < 0) return out;
  forEachAttr(buf, start, end, (type, off, len) => out.push(rawAttr(buf, type, off, len)));
  return out;
}

/** What LINK_ATTRS decodes into: every field, so every link has one shape while decoding. */
function emptyValues(): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  for (const n of LINK_ATTRS.names) v[n] = undefined;
  return v;
}

/** The read-back fields LINK_ATTRS fills directly (same name on LinkBase), beyond the required ones. */
const OPTIONAL_FIELDS = [
  'alias',
  'master',
  'link',
  'linkNetnsId',
  'minMtu',
  'maxMtu',
  'permAddress',
  'carrier',
  'promiscuity',
  'allmulti',
  'deviceGroup',
  'qdisc',
  'linkmode',
  'protoDown',
  'numTxQueues',
  'numRxQueues',
  'gsoMaxSize',
  'gsoMaxSegs',
  'groMaxSize',
  'tsoMaxSize',
  'tsoMaxSegs',
  'parentDevName',
  'parentDevBusName',
] as const;

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
  const h = IFINFOMSG.read(buf, payload, end, 'link message');
  const v = emptyValues();
  const unknown = LINK_ATTRS.decodeInto(buf, payload + IFINFOMSG.size, end, v);
  const base: LinkBase = {
    index: h.index,
    name: (v.name as string | undefined) ?? '',
    flags: h.flags,
    up: (h.flags & IFF_UP) !== 0,
    operstate: v.operstate === undefined ? 'unknown' : (OPER_STATES[v.operstate as number] ?? 'unknown'),
    mtu: (v.mtu as number | undefined) ?? 0,
    txqueuelen: (v.txqueuelen as number | undefined) ?? 0,
  };
  const ipAddressed = IP_ADDRESSED.has(h.type);
  if (v.address !== undefined && !ipAddressed) base.address = v.address as string;
  if (v.broadcast !== undefined && !ipAddressed) base.broadcast = v.broadcast as string;
  const out = base as unknown as Record<string, unknown>;
  for (const f of OPTIONAL_FIELDS) if (v[f] !== undefined) out[f] = v[f];
  if (unknown !== undefined) base.unknown = unknown;
  const info: LinkInfoView = { kind: null, dataStart: -1, dataEnd: -1 };
  const li = v.linkinfo as NestRange | undefined;
  if (li !== undefined) {
    const i: { kind?: string; data?: NestRange; slaveKind?: string; slaveData?: NestRange } = {};
    LINKINFO_ATTRS.decodeInto(buf, li.start, li.end, i);
    if (i.kind !== undefined) info.kind = i.kind;
    if (i.data !== undefined) {
      info.dataStart = i.data.start;
      info.dataEnd = i.data.end;
    }
    if (i.slaveKind !== undefined) base.slaveKind = i.slaveKind;
    if (i.slaveData !== undefined) base.slaveData = rawAttrs(buf, i.slaveData.start, i.slaveData.end);
  }
  return { base, info };
}
