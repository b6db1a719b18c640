/**
 * The link message as tables: struct ifinfomsg, the IFLA_* attributes every device has, the
 * IFLA_LINKINFO nest, and the fields every link spec shares (LinkCommonSpec) and links.set()
 * takes (LinkChanges). Each kind's IFLA_INFO_DATA table is in the kind's own file.
 *
 * Attribute order follows iproute2 (`ip link add NAME address .. mtu .. type KIND ...`):
 * common attributes, then IFLA_IFNAME, then IFLA_LINKINFO, which keeps encoder output
 * byte-identical to the captured iproute2 requests in test/fixtures/iproute2.
 */
import { attr, bool8, s32, skip, string, u32, u8, defineAttrs, type AttrCodec } from '../../wire/attrs';
import { readMac } from '../../wire/reader';
import { defineStruct, field } from '../../wire/struct';
import {
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_AF_SPEC,
  IFLA_ALLMULTI,
  IFLA_BROADCAST,
  IFLA_CARRIER,
  IFLA_CARRIER_CHANGES,
  IFLA_CARRIER_DOWN_COUNT,
  IFLA_CARRIER_UP_COUNT,
  IFLA_EXT_MASK,
  IFLA_GROUP,
  IFLA_GRO_MAX_SIZE,
  IFLA_GSO_MAX_SEGS,
  IFLA_GSO_MAX_SIZE,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_INFO_SLAVE_DATA,
  IFLA_INFO_SLAVE_KIND,
  IFLA_INFO_XSTATS,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINKMODE,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MAX_MTU,
  IFLA_MIN_MTU,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_NUM_RX_QUEUES,
  IFLA_NUM_TX_QUEUES,
  IFLA_OPERSTATE,
  IFLA_PARENT_DEV_BUS_NAME,
  IFLA_PARENT_DEV_NAME,
  IFLA_PERM_ADDRESS,
  IFLA_PROMISCUITY,
  IFLA_PROTO_DOWN,
  IFLA_QDISC,
  IFLA_STATS,
  IFLA_STATS64,
  IFLA_TSO_MAX_SEGS,
  IFLA_TSO_MAX_SIZE,
  IFLA_TXQLEN,
} from '../constants';
import { bool, defineFields, device, deviceOrNull, fieldOf, ifName, int, netns, text, unicastMac } from '../spec';

/** struct ifinfomsg (linux/rtnetlink.h). */
export const IFINFOMSG = defineStruct('ifinfomsg', IFINFOMSG_LEN, {
  family: field(0, 'u8'),
  /** ARPHRD_* link-layer type. */
  type: field(2, 'u16'),
  index: field(4, 's32'),
  /** IFF_* flags. */
  flags: field(8, 'u32'),
  /** The IFF_* bits a request changes. */
  change: field(12, 'u32'),
});

/** A link-layer address of any length, read as "aa:bb:.."; an empty one reads as absent. */
const hwaddr: AttrCodec<string | undefined> = {
  encode: (w, t, v) => {
    if (v !== undefined) w.mac(t, v);
  },
  decode: (buf, off, len) => (len > 0 ? readMac(buf, off, len) : undefined),
};

const EMPTY = Buffer.alloc(0);
/**
 * IFLA_IFALIAS: written without a NUL, as iproute2 does (dev_set_alias() stores exactly the
 * attribute's bytes; the empty string removes the alias); an empty or NUL-led one reads as absent.
 */
const ifalias: AttrCodec<string | undefined> = {
  encode: (w, t, v) => {
    if (v !== undefined) w.binary(t, v === '' ? EMPTY : Buffer.from(v, 'utf8'));
  },
  decode: (buf, off, len) => {
    if (len === 0 || buf[off] === 0) return undefined;
    let e = off;
    while (e < off + len && buf[e] !== 0) e++;
    return buf.toString('utf8', off, e);
  },
};

/** Where a nest's payload lies in the buffer: decoded lazily by whoever knows its table. */
export interface NestRange {
  /** Offset of the payload. */
  start: number;
  /** Offset just past it. */
  end: number;
}
/** A nest kept as its range (IFLA_INFO_DATA: its table depends on IFLA_INFO_KIND). */
export const range: AttrCodec<NestRange> = {
  encode: () => {
    throw new TypeError('a nest range is read, never written');
  },
  decode: (_buf, off, len) => ({ start: off, end: off + len }),
};

/**
 * IFLA_LINKINFO: the kind and its settings (IFLA_INFO_DATA, decoded with the kind's table),
 * and for a device enslaved to a master the master's kind and its per-port settings.
 */
export const LINKINFO_ATTRS = defineAttrs('IFLA_INFO', {
  kind: attr(IFLA_INFO_KIND, string),
  data: attr(IFLA_INFO_DATA, range),
  slaveKind: attr(IFLA_INFO_SLAVE_KIND, string),
  slaveData: attr(IFLA_INFO_SLAVE_DATA, range),
  /** Per-kind statistics: volatile state. */
  xstats: skip(IFLA_INFO_XSTATS),
});

/**
 * The IFLA_* attributes of every device. The first lines are the ones requests carry, in the
 * order `ip link add/set` writes them; the rest are what the kernel reports. Attributes not
 * named here are kept on the link's `unknown`.
 */
export const LINK_ATTRS = defineAttrs('IFLA', {
  address: attr(IFLA_ADDRESS, hwaddr),
  mtu: attr(IFLA_MTU, u32),
  txqueuelen: attr(IFLA_TXQLEN, u32),
  master: attr(IFLA_MASTER, u32),
  netnsFd: attr(IFLA_NET_NS_FD, u32),
  alias: attr(IFLA_IFALIAS, ifalias),
  link: attr(IFLA_LINK, s32),
  name: attr(IFLA_IFNAME, string),
  extMask: attr(IFLA_EXT_MASK, u32),
  // what the kernel reports
  operstate: attr(IFLA_OPERSTATE, u8),
  linkmode: attr(IFLA_LINKMODE, u8),
  linkNetnsId: attr(IFLA_LINK_NETNSID, s32),
  minMtu: attr(IFLA_MIN_MTU, u32),
  maxMtu: attr(IFLA_MAX_MTU, u32),
  broadcast: attr(IFLA_BROADCAST, hwaddr),
  permAddress: attr(IFLA_PERM_ADDRESS, hwaddr),
  deviceGroup: attr(IFLA_GROUP, u32),
  promiscuity: attr(IFLA_PROMISCUITY, u32),
  allmulti: attr(IFLA_ALLMULTI, u32),
  numTxQueues: attr(IFLA_NUM_TX_QUEUES, u32),
  numRxQueues: attr(IFLA_NUM_RX_QUEUES, u32),
  carrier: attr(IFLA_CARRIER, bool8),
  protoDown: attr(IFLA_PROTO_DOWN, bool8),
  qdisc: attr(IFLA_QDISC, string),
  gsoMaxSegs: attr(IFLA_GSO_MAX_SEGS, u32),
  gsoMaxSize: attr(IFLA_GSO_MAX_SIZE, u32),
  groMaxSize: attr(IFLA_GRO_MAX_SIZE, u32),
  tsoMaxSize: attr(IFLA_TSO_MAX_SIZE, u32),
  tsoMaxSegs: attr(IFLA_TSO_MAX_SEGS, u32),
  parentDevName: attr(IFLA_PARENT_DEV_NAME, string),
  parentDevBusName: attr(IFLA_PARENT_DEV_BUS_NAME, string),
  linkinfo: attr(IFLA_LINKINFO, range),
  /** Counters that change with every packet: volatile state (and left out of dumps). */
  carrierChanges: skip(IFLA_CARRIER_CHANGES),
  carrierUpCount: skip(IFLA_CARRIER_UP_COUNT),
  carrierDownCount: skip(IFLA_CARRIER_DOWN_COUNT),
  stats: skip(IFLA_STATS),
  stats64: skip(IFLA_STATS64),
  /**
   * Per-family state (IPv4 devconf, IPv6 addrgen mode, cache info and ICMPv6/IPv6 counters):
   * its counters and timestamps change with traffic, so it is passed over rather than kept.
   */
  afSpec: skip(IFLA_AF_SPEC),
});

/** IFLA_IFALIAS: a string of at most IFALIASZ - 1 (255) bytes; '' means none. */
export const MAX_ALIAS_BYTES = 255;
/**
 * The range of an MTU checked without the device: IFLA_MTU is a u32. The device's own bounds
 * (IFLA_MIN_MTU / IFLA_MAX_MTU, e.g. 68..65535 for a veth, none for loopback, whose MTU is
 * 65536) are checked against the device when it exists (links.set, links.change), and each
 * kind's known bounds when one is created.
 */
export const MTU_RANGE = { min: 0, max: 0xffffffff } as const;

/** The doc of an MTU field. */
const MTU_DOC = 'Maximum transmission unit, bytes (IFLA_MTU).';

/** The fields every link spec shares (LinkCommonSpec); `kind` is the registry's. */
export const LINK_COMMON_FIELDS = defineFields(
  'LinkCommonSpec',
  {
    name: fieldOf(ifName, 'Interface name, at most 15 bytes (IFNAMSIZ - 1).', 'expected an interface name (required), at most 15 bytes'),
    mtu: fieldOf(int(MTU_RANGE.min, MTU_RANGE.max), MTU_DOC),
    address: fieldOf(unicastMac, 'MAC address.'),
    up: fieldOf(bool, 'Administratively up (IFF_UP).'),
    master: fieldOf(deviceOrNull, 'Enslave to this bridge; null removes the master (nomaster) in links.set().'),
    txqueuelen: fieldOf(int(0, 0xffffffff), 'Transmit queue length, packets (IFLA_TXQLEN).'),
    netns: fieldOf(netns, 'Create in (or move to) this network namespace: a name under /run/netns or a path.'),
    alias: fieldOf(text(MAX_ALIAS_BYTES, 0, 'an alias string'), 'IFLA_IFALIAS, a free-form description (the reconciler marks links it owns with it).'),
  },
  { mac: 'address', lladdr: 'address', state: 'up' },
);

/** The fields of links.set() (LinkChanges). */
export const LINK_CHANGE_FIELDS = defineFields(
  'LinkChanges',
  {
    name: fieldOf(ifName, 'Rename the device.'),
    mtu: fieldOf(int(MTU_RANGE.min, MTU_RANGE.max), 'New MTU (within the device\'s IFLA_MIN_MTU..IFLA_MAX_MTU, checked before sending).'),
    address: fieldOf(unicastMac, 'New MAC address.'),
    up: fieldOf(bool, 'Set administratively up (true) or down (false).'),
    master: fieldOf(deviceOrNull, 'Enslave to this bridge; null removes the master.'),
    txqueuelen: fieldOf(int(0, 0xffffffff), 'New transmit queue length.'),
    netns: fieldOf(netns, 'Move the device to this namespace (a name under /run/netns or a path).'),
    alias: fieldOf(text(MAX_ALIAS_BYTES, 0, 'an alias string'), 'Empty string removes the alias.'),
  },
  { mac: 'address', lladdr: 'address', state: 'up' },
);

/** The fields of a LinkFilter. */
export const LINK_FILTER_FIELDS = defineFields('LinkFilter', {
  kind: fieldOf(text(64, 1, 'a link kind'), "Only links of this kind (IFLA_INFO_KIND, e.g. 'vxlan')."),
  master: fieldOf(device, 'Only links enslaved to this master.'),
  name: fieldOf(ifName, 'Only the link with this name.'),
});
