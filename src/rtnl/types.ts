/**
 * The typed objects of rtnetlink: what you ask for (…Spec) and what you read back.
 *
 * Addresses and prefixes are strings in and strings out ("10.57.4.20", "192.168.10.0/24",
 * "fd00::1/64"); MACs are "aa:bb:cc:dd:ee:ff"; devices are named or given by index.
 * Read-back values are canonical (IPv6 as inet_ntop prints it, prefixes with the host bits
 * cleared for routes), so a spec that was applied compares equal to what comes back.
 */
import type { RawAttribute } from '../wire/reader';
import type { RegisteredLink, RegisteredLinkSpec } from './link/kinds';

/** A network device by name ("veth0") or by interface index (3). */
export type DeviceRef = string | number;

/** 4 for IPv4 (AF_INET), 6 for IPv6 (AF_INET6); defined in the values layer. */
export type { IpFamily } from '../values/ip';
import type { IpFamily } from '../values/ip';

/**
 * An address family as users write it: 4 or 6, iproute2's 'inet' / 'inet6' (also 'ipv4' /
 * 'ipv6'), or the kernel's AF_INET (2) / AF_INET6 (10). Read-back objects say 4 or 6.
 */
export type FamilyInput = IpFamily | 'inet' | 'inet6' | 'ipv4' | 'ipv6' | 2 | 10;

// ---------------------------------------------------------------- links

/** RFC 2863 operational state (IFLA_OPERSTATE). */
export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';

/** Settings every link kind shares. */
export interface LinkCommonSpec {
  /** Interface name, at most 15 bytes (IFNAMSIZ - 1). */
  name: string;
  /** Maximum transmission unit, bytes (IFLA_MTU). */
  mtu?: number;
  /** MAC address. */
  address?: string;
  /** Administratively up (IFF_UP). */
  up?: boolean;
  /** Enslave to this bridge; null removes the master (nomaster) in links.set(). */
  master?: DeviceRef | null;
  /** Transmit queue length, packets (IFLA_TXQLEN). */
  txqueuelen?: number;
  /** Create in (or move to) this network namespace: a name under /run/netns or a path. */
  netns?: string;
  /** IFLA_IFALIAS, a free-form description (the reconciler marks links it owns with it). */
  alias?: string;
}

/**
 * What links.add() takes: a discriminated union on kind, one member per registered kind
 * (src/rtnl/link/kinds.ts): VxlanSpec, IpipSpec, VethSpec, BridgeSpec, WireguardSpec, MacvlanSpec.
 */
export type LinkSpec = RegisteredLinkSpec;
/** The link kinds links.add() can create: 'vxlan', 'ipip', 'veth', 'bridge', 'wireguard' or 'macvlan'. */
export type LinkKind = LinkSpec['kind'];
export type * from './link/kinds';
export type * from './nexthop/types';
export type * from './rule/types';

/** What links.set() can change in place. */
export interface LinkChanges {
  /** Rename the device. */
  name?: string;
  /** New MTU (within the device's IFLA_MIN_MTU..IFLA_MAX_MTU, checked before sending). */
  mtu?: number;
  /** New MAC address. */
  address?: string;
  /** Set administratively up (true) or down (false). */
  up?: boolean;
  /** Enslave to this bridge; null removes the master. */
  master?: DeviceRef | null;
  /** New transmit queue length. */
  txqueuelen?: number;
  /** Move the device to this namespace (a name under /run/netns or a path). */
  netns?: string;
  /** Empty string removes the alias. */
  alias?: string;
}

/** Fields every link reads back with. */
export interface LinkBase {
  /** Interface index (ifi_index). */
  index: number;
  /** Interface name (IFLA_IFNAME). */
  name: string;
  /** IFF_* flags as the kernel reports them. */
  flags: number;
  /** Administratively up (IFF_UP set). */
  up: boolean;
  /** Operational state (IFLA_OPERSTATE). */
  operstate: OperState;
  /** MTU, bytes. */
  mtu: number;
  /** MAC (absent for devices without one, e.g. ipip). */
  address?: string;
  /** Index of the master (bridge), if enslaved. */
  master?: number;
  /** Transmit queue length, packets. */
  txqueuelen: number;
  /** IFLA_LINK: the parent/peer index, when reported (veth peer, tunnel underlay). */
  link?: number;
  /** IFLA_LINK_NETNSID: the namespace id that `link` belongs to, when it is another one. */
  linkNetnsId?: number;
  /** IFLA_IFALIAS, when set. */
  alias?: string;
  /** IFLA_MIN_MTU: the smallest MTU the device takes, when reported (0: no bound). */
  minMtu?: number;
  /** IFLA_MAX_MTU: the largest MTU the device takes, when reported (0: no bound, e.g. loopback). */
  maxMtu?: number;
  /** IFLA_BROADCAST: the link-layer broadcast address, when the device has one. */
  broadcast?: string;
  /** IFLA_PERM_ADDRESS: the hardware's own MAC, when it differs from a changeable one. */
  permAddress?: string;
  /** IFLA_CARRIER: whether the device has carrier, when reported. */
  carrier?: boolean;
  /** IFLA_PROMISCUITY: how many users put it in promiscuous mode. */
  promiscuity?: number;
  /** IFLA_ALLMULTI: how many users put it in all-multicast mode. */
  allmulti?: number;
  /** IFLA_GROUP: the device group (0: default), as `ip link set DEV group N` sets it. */
  deviceGroup?: number;
  /** IFLA_QDISC: the root queueing discipline's kind ("noqueue", "fq_codel"), when reported. */
  qdisc?: string;
  /** IFLA_LINKMODE: 0 default, 1 dormant. */
  linkmode?: number;
  /** IFLA_PROTO_DOWN: whether a protocol holds the device down. */
  protoDown?: boolean;
  /** IFLA_NUM_TX_QUEUES. */
  numTxQueues?: number;
  /** IFLA_NUM_RX_QUEUES. */
  numRxQueues?: number;
  /** IFLA_GSO_MAX_SIZE, bytes. */
  gsoMaxSize?: number;
  /** IFLA_GSO_MAX_SEGS. */
  gsoMaxSegs?: number;
  /** IFLA_GRO_MAX_SIZE, bytes. */
  groMaxSize?: number;
  /** IFLA_TSO_MAX_SIZE, bytes. */
  tsoMaxSize?: number;
  /** IFLA_TSO_MAX_SEGS. */
  tsoMaxSegs?: number;
  /** IFLA_PARENT_DEV_NAME: the bus device behind a physical NIC, when reported. */
  parentDevName?: string;
  /** IFLA_PARENT_DEV_BUS_NAME: that device's bus ("pci"), when reported. */
  parentDevBusName?: string;
  /** IFLA_INFO_SLAVE_KIND: the kind of the master a port belongs to ("bridge"), when enslaved. */
  slaveKind?: string;
  /** IFLA_INFO_SLAVE_DATA: the port's settings in its master, undecoded, when enslaved. */
  slaveData?: RawAttribute[];
  /** IFLA_INFO_DATA attributes the kind's table does not decode (all of them for a kind this
   * library does not know), present only when there are some. */
  raw?: RawAttribute[];
  /** Top-level IFLA_* attributes this library does not decode (IFLA_AF_SPEC, IFLA_XDP, ...),
   * as the kernel sent them, present only when there are some. */
  unknown?: RawAttribute[];
}

/** Any other device: kind as the kernel names it (IFLA_INFO_KIND), null when it has none
 * (loopback, physical NICs); its IFLA_INFO_DATA attributes undecoded. */
export interface OtherLink extends LinkBase {
  /** IFLA_INFO_KIND ('dummy', 'macvtap', ...), or null when the device has none. */
  kind: string | null;
  /** The undecoded IFLA_INFO_DATA attributes. */
  raw: RawAttribute[];
}

/**
 * A link as links.get() / links.list() return it: a union discriminated on `kind`, with typed
 * fields for the kinds this library creates and OtherLink for everything else.
 */
export type Link = RegisteredLink | OtherLink;

/** Which links links.list() returns; every field given must match. */
export interface LinkFilter {
  /** Only links of this kind (IFLA_INFO_KIND, e.g. 'vxlan'). */
  kind?: string;
  /** Only links enslaved to this master. */
  master?: DeviceRef;
  /** Only the link with this name. */
  name?: string;
}

// ---------------------------------------------------------------- addresses

/**
 * An address for addresses.add() / replace() / delete().
 *
 * @example
 * ```ts
 * await nl.addresses.add({ dev: 'eth0', address: '10.57.4.20/24' });
 * ```
 */
export interface AddressSpec {
  /** The device the address goes on. */
  dev: DeviceRef;
  /** "192.168.10.1/32", "fd00::1/64"; without a prefix length a host address (/32, /128). */
  address: string;
  /** Peer address of a point-to-point link (IFA_ADDRESS when it differs from IFA_LOCAL). */
  peer?: string;
  /** IPv4 broadcast address. */
  broadcast?: string;
  /** IPv4 label (IFA_LABEL), e.g. "eth0:1", 1..15 bytes. */
  label?: string;
  /** IPv4 address scope, by name or number (IPv6 derives it from the address). */
  scope?: ScopeName | number;
  /** Do not add the prefix route (IFA_F_NOPREFIXROUTE). */
  noprefixroute?: boolean;
  /** IPv6: skip duplicate address detection (IFA_F_NODAD). */
  nodad?: boolean;
}

/** An address as addresses.list() returns it. */
export interface Address {
  /** Interface index. */
  index: number;
  /** 4 or 6. */
  family: IpFamily;
  /** "address/prefixlen" (the local address for IPv4, as `ip addr` prints it). */
  address: string;
  /** Point-to-point peer address, when it differs from the local one. */
  peer?: string;
  /** IPv4 broadcast address, when set. */
  broadcast?: string;
  /** IPv4 label, when set. */
  label?: string;
  /** Address scope number (RT_SCOPE_*). */
  scope: number;
  /** IFA_F_* flags (IFA_FLAGS when present, else ifa_flags). */
  flags: number;
  /** IFA_F_PERMANENT: configured, not autoconfigured or temporary. */
  permanent: boolean;
  /** IFA_RT_PRIORITY: the metric of the prefix route, when set. */
  metric?: number;
  /** IFA_PROTO: who added the address (IFAPROT_*), when set. */
  proto?: number;
  /** Attributes this library does not decode, as the kernel sent them (present only when there are some). */
  unknown?: RawAttribute[];
}

/** Which addresses addresses.list() returns. */
export interface AddressFilter {
  /** Only addresses on this device. */
  dev?: DeviceRef;
  /** Only this family (4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10). Default: both. */
  family?: FamilyInput;
}

// ---------------------------------------------------------------- routes

/** Route and address scopes by name (rt_scopes): universe 0, site 200, link 253, host 254, nowhere 255. */
export type ScopeName = 'universe' | 'site' | 'link' | 'host' | 'nowhere';
/** Route types by name (RTN_*), as `ip route` spells them. */
export type RouteTypeName = 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw' | 'nat';
/** Routing tables by name (rt_tables): main 254, local 255, default 253. */
export type TableName = 'main' | 'local' | 'default';
/** Route owners by name (rt_protos, RTPROT_*). */
export type ProtocolName = 'redirect' | 'kernel' | 'boot' | 'static' | 'ra' | 'dhcp' | 'bgp' | 'bird' | 'babel' | 'ospf';

/** One path of a multipath route (RouteSpec.nexthops). */
export interface NexthopSpec {
  /** Gateway address. */
  via?: string;
  /** Output device. */
  dev?: DeviceRef;
  /** 1..256 (rtnh_hops + 1). */
  weight?: number;
  /** Treat the gateway as on-link even without a matching prefix (RTNH_F_ONLINK). */
  onlink?: boolean;
}

/**
 * A route for routes.add() / replace() / delete().
 *
 * @example
 * ```ts
 * await nl.routes.replace({ dst: '192.168.11.0/24', via: '192.168.11.1', dev: 'vxlan0', onlink: true });
 * await nl.routes.add({ dst: '10.9.0.0/16', type: 'blackhole', table: 100 });
 * ```
 */
export interface RouteSpec {
  /** "192.168.11.0/24", "fd01::/64", a host address, or "default" (needs family, or via to infer it). */
  dst: string;
  /** Needed only for dst "default" without via: 4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10. */
  family?: FamilyInput;
  /** Gateway address (RTA_GATEWAY). */
  via?: string;
  /** Output device (RTA_OIF). */
  dev?: DeviceRef;
  /** Treat the gateway as on-link even without a matching prefix (RTNH_F_ONLINK). */
  onlink?: boolean;
  /** Default main (254). Tables above 255 go in RTA_TABLE. */
  table?: number | TableName;
  /** Who owns the route (rtm_protocol). Default boot, as `ip route add`. */
  protocol?: number | ProtocolName;
  /** Route scope. Default as iproute2 picks it (host for local, link for a unicast route without a gateway, universe otherwise; IPv6 always universe). */
  scope?: number | ScopeName;
  /** Route type. Default unicast. */
  type?: RouteTypeName;
  /** RTA_PRIORITY. */
  metric?: number;
  /** Preferred source address (RTA_PREFSRC). */
  prefsrc?: string;
  /** Type of service to match (rtm_tos). */
  tos?: number;
  /** RTAX_MTU. */
  mtu?: number;
  /** RTAX_ADVMSS. */
  advmss?: number;
  /** Multipath: exclusive with via/dev. */
  nexthops?: NexthopSpec[];
  /** Use the nexthop object with this id (RTA_NH_ID): exclusive with via, dev, onlink and nexthops; not an FDB nexthop. */
  nhid?: number;
}

/** One path of a multipath route as read back. */
export interface Nexthop {
  /** Gateway address, when set. */
  via?: string;
  /** Interface index. */
  dev?: number;
  /** 1..256. */
  weight: number;
  /** Whether RTNH_F_ONLINK is set. */
  onlink: boolean;
  /** RTNH_F_* flags as reported (dead, linkdown, ...). */
  flags: number;
}

/** A route as routes.list() / routes.get() return it. */
export interface Route {
  /** 4 or 6. */
  family: IpFamily;
  /** Canonical prefix ("192.168.11.0/24"), or "default". */
  dst: string;
  /** Table number (RTA_TABLE, else rtm_table). */
  table: number;
  /** Owner number (rtm_protocol). */
  protocol: number;
  /** Scope number (rtm_scope). */
  scope: number;
  /** Route type by name (a number when unknown). */
  type: RouteTypeName | number;
  /** rtm_tos. */
  tos: number;
  /** RTA_PRIORITY, when present. */
  metric?: number;
  /** Gateway address, for a single-path route. */
  via?: string;
  /** Output interface index. */
  dev?: number;
  /** Whether RTNH_F_ONLINK is set. */
  onlink: boolean;
  /** Preferred source address, when set. */
  prefsrc?: string;
  /** RTAX_MTU, when set. */
  mtu?: number;
  /** RTAX_ADVMSS, when set. */
  advmss?: number;
  /** The paths of a multipath route (RTA_MULTIPATH). */
  nexthops?: Nexthop[];
  /** RTA_NH_ID: the nexthop object the route uses, when it uses one (via, dev or nexthops then show what it resolves to). */
  nhid?: number;
  /** rtm_flags (RTNH_F_* and RTM_F_*). */
  flags: number;
  /** RTA_* attributes this library does not decode (RTA_NH_ID, RTA_EXPIRES, ...), as the
   * kernel sent them; present only when there are some. */
  unknown?: RawAttribute[];
}

/**
 * Which routes routes.list() returns. table, protocol, type and dev are applied by the kernel
 * (strict-checked dump); scope is applied here (the kernel refuses a scope in a dump request).
 * Cached clones (RTM_F_CLONED) are never returned.
 */
export interface RouteFilter {
  /** Default: both. 4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10. */
  family?: FamilyInput;
  /** Default: main, as `ip route` shows; 'all' (or 0) for every table, as `ip route show table all`. */
  table?: number | TableName | 'all';
  /** Only routes with this owner. */
  protocol?: number | ProtocolName;
  /** Routes that use this device (as output device or in any nexthop). */
  dev?: DeviceRef;
  /** Only routes of this type. */
  type?: RouteTypeName;
  /** Only routes with this scope. */
  scope?: number | ScopeName;
}

/** What routes.get() looks up besides the destination. */
export interface RouteLookup {
  /** Only this table: a longest-prefix match over the table's routes, done here, because the
   * kernel's route lookup (RTM_GETROUTE) takes no table under strict checking. */
  table?: number | TableName;
  /** Output device to look up for (RTA_OIF). */
  dev?: DeviceRef;
  /** Source address to look up for (RTA_SRC). */
  src?: string;
  /** Return the FIB entry that matched (RTM_F_FIB_MATCH: its prefix, table, nexthops). Default
   * true; false returns the resolved host route (dst /32 or /128 with the chosen nexthop and
   * source), as `ip route get` prints it. */
  fibMatch?: boolean;
}

// ---------------------------------------------------------------- neighbours and FDB

/** Neighbour (NUD_*) states by name, as `ip neigh` prints them. */
export type NudStateName = 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'noarp' | 'permanent' | 'none';

/**
 * A neighbour (ARP / NDP) entry for neighbors.add() / replace() / delete().
 *
 * @example
 * ```ts
 * await nl.neighbors.replace({ dev: 'vxlan0', ip: '192.168.11.0', lladdr: '0e:00:00:00:00:0b' });
 * ```
 */
export interface NeighborSpec {
  /** The device the entry is on. */
  dev: DeviceRef;
  /** The neighbour's IP address (v4 or v6). */
  ip: string;
  /** The neighbour's link-layer (MAC) address (NDA_LLADDR). */
  lladdr?: string;
  /** Default permanent. */
  state?: NudStateName;
  /** A proxy entry (NTF_PROXY): answer for ip on dev. */
  proxy?: boolean;
  /** The neighbour is a router (NTF_ROUTER, IPv6). */
  router?: boolean;
}

/** A neighbour entry as neighbors.list() returns it. */
export interface Neighbor {
  /** Interface index. */
  index: number;
  /** 4 or 6. */
  family: IpFamily;
  /** The neighbour's IP address. */
  ip: string;
  /** Link-layer address, when known. */
  lladdr?: string;
  /** NUD_* bits. */
  state: number;
  /** The state bits by name. */
  states: NudStateName[];
  /** NTF_* flags. */
  flags: number;
  /** A proxy entry (NTF_PROXY). */
  proxy: boolean;
  /** NTF_ROUTER set. */
  router: boolean;
  /** NDA_PROTOCOL: who made the entry, when set. */
  protocol?: number;
  /** Attributes this library does not decode, as the kernel sent them (present only when there are some). */
  unknown?: RawAttribute[];
}

/** Which entries neighbors.list() returns. */
export interface NeighborFilter {
  /** Only entries on this device. */
  dev?: DeviceRef;
  /** Only this family (4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10). Default: both. */
  family?: FamilyInput;
  /** Include proxy entries (a separate dump in the kernel). Default false. */
  proxy?: boolean;
}

/**
 * A bridge forwarding database entry for fdb.add() / append() / replace() / delete().
 *
 * @example
 * ```ts
 * // the vxlan flood entry towards one peer
 * await nl.fdb.append({ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: '10.57.4.21' });
 * ```
 */
export interface FdbSpec {
  /** The device (vxlan or bridge port) the entry is on. */
  dev: DeviceRef;
  /** "00:00:00:00:00:00" is the flood entry of a vxlan device (several allowed with append). */
  mac: string;
  /** Remote VTEP address (vxlan). */
  dst?: string;
  /** VNI to use towards dst (NDA_VNI), when it differs from the device's. */
  vni?: number;
  /** UDP port to use towards dst (NDA_PORT). */
  port?: number;
  /** VLAN id (NDA_VLAN), for a VLAN-filtering bridge. */
  vlan?: number;
  /** Default true (NUD_PERMANENT); false makes a static (NUD_NOARP) entry. */
  permanent?: boolean;
  /** NTF_SELF: the device's own table (vxlan). Default: true unless master is set. */
  self?: boolean;
  /** NTF_MASTER: the bridge's table, for a bridge port. */
  master?: boolean;
  /** An FDB nexthop group's id (NDA_NH_ID) instead of dst: a vxlan device only; exclusive with dst, vni and port. */
  nhid?: number;
}

/** An FDB entry as fdb.list() returns it. */
export interface FdbEntry {
  /** Interface index of the device the entry is on. */
  index: number;
  /** MAC address ("00:00:00:00:00:00" for a flood entry). */
  mac: string;
  /** Remote VTEP address (vxlan), when set. */
  dst?: string;
  /** NDA_VNI, when set. */
  vni?: number;
  /** NDA_PORT, when set. */
  port?: number;
  /** NDA_VLAN, when set. */
  vlan?: number;
  /** Index of the bridge, for entries in a bridge's table (NDA_MASTER). */
  masterIndex?: number;
  /** NUD_* bits. */
  state: number;
  /** NUD_PERMANENT set (false: a static NUD_NOARP or learnt entry). */
  permanent: boolean;
  /** NTF_* flags. */
  flags: number;
  /** NTF_SELF: in the device's own table. */
  self: boolean;
  /** NTF_MASTER: in the bridge's table. */
  master: boolean;
  /** NDA_IFINDEX: the device a vxlan entry sends through, when set. */
  ifindex?: number;
  /** NDA_SRC_VNI: the VNI the entry was learnt on (collect-metadata vxlan), when set. */
  srcVni?: number;
  /** NDA_LINK_NETNSID: the namespace of the outgoing device, when another one. */
  linkNetnsId?: number;
  /** NDA_PROTOCOL: who made the entry, when set. */
  protocol?: number;
  /** NDA_NH_ID: the FDB nexthop group the entry sends to, when set. */
  nhid?: number;
  /** Attributes this library does not decode, as the kernel sent them (present only when there are some). */
  unknown?: RawAttribute[];
}

/** Which entries fdb.list() returns. */
export interface FdbFilter {
  /** Only entries on this device. */
  dev?: DeviceRef;
  /** Only entries in this bridge's table. */
  master?: DeviceRef;
}
