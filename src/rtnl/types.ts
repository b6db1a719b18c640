/**
 * The typed objects of rtnetlink: what you ask for (…Spec) and what you read back.
 *
 * Addresses and prefixes are strings in and strings out ("10.57.4.20", "192.168.10.0/24",
 * "fd00::1/64"); MACs are "aa:bb:cc:dd:ee:ff"; devices are named or given by index.
 * Read-back values are canonical (IPv6 as inet_ntop prints it, prefixes with the host bits
 * cleared for routes), so a spec that was applied compares equal to what comes back.
 */
import type { RawAttribute } from '../wire/reader';

/** A network device by name ("veth0") or by interface index (3). */
export type DeviceRef = string | number;

/** 4 for IPv4 (AF_INET), 6 for IPv6 (AF_INET6). */
export type IpFamily = 4 | 6;

// ---------------------------------------------------------------- links

/** RFC 2863 operational state (IFLA_OPERSTATE). */
export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';

/** Settings every link kind shares. */
export interface LinkCommonSpec {
  /** Interface name, at most 15 bytes (IFNAMSIZ - 1). */
  name: string;
  mtu?: number;
  /** MAC address. */
  address?: string;
  /** Administratively up (IFF_UP). */
  up?: boolean;
  /** Enslave to this bridge; null removes the master (nomaster) in links.set(). */
  master?: DeviceRef | null;
  txqueuelen?: number;
  /** Create in (or move to) this network namespace: a name under /run/netns or a path. */
  netns?: string;
  /** IFLA_IFALIAS, a free-form description (the reconciler marks links it owns with it). */
  alias?: string;
}

export interface VxlanSpec extends LinkCommonSpec {
  kind: 'vxlan';
  /** VXLAN network identifier, 1..16777215 (IFLA_VXLAN_ID). */
  vni: number;
  /** UDP destination port (IFLA_VXLAN_PORT). Linux defaults to 8472; IANA's is 4789. */
  port?: number;
  /** Source address of the outer packets, IPv4 or IPv6. */
  local?: string;
  /** Unicast peer (point-to-point). Exclusive with group. */
  remote?: string;
  /** Multicast group for flooding. Exclusive with remote. */
  group?: string;
  /** Underlay device. */
  dev?: DeviceRef;
  /** Learn remote MACs from received packets. Linux defaults to true. */
  learning?: boolean;
  ttl?: number;
  tos?: number;
  /** UDP source port range [low, high]. */
  srcPortRange?: [number, number];
  /** Checksum outer UDP (IPv4). */
  udpChecksum?: boolean;
  /** FDB ageing, seconds. */
  ageing?: number;
  /** Answer ARP/ND from the FDB and neighbour table (proxy). */
  proxy?: boolean;
  l2miss?: boolean;
  l3miss?: boolean;
}

export interface IpipSpec extends LinkCommonSpec {
  kind: 'ipip';
  local?: string;
  /** Omitted: a one-to-many device that takes each route's next hop as the outer destination. */
  remote?: string;
  ttl?: number;
  tos?: number;
  /** Path MTU discovery (DF on outer packets). Linux defaults to true. */
  pmtudisc?: boolean;
  /** Underlay device. */
  dev?: DeviceRef;
}

export interface VethPeerSpec {
  name: string;
  /** The peer lands in this namespace (name under /run/netns or a path), in the same request. */
  netns?: string;
  address?: string;
  mtu?: number;
}

export interface VethSpec extends LinkCommonSpec {
  kind: 'veth';
  peer: VethPeerSpec;
}

export interface BridgeSpec extends LinkCommonSpec {
  kind: 'bridge';
  stp?: boolean;
  vlanFiltering?: boolean;
}

/** What links.add() takes: a discriminated union on kind. */
export type LinkSpec = VxlanSpec | IpipSpec | VethSpec | BridgeSpec;
export type LinkKind = LinkSpec['kind'];

/** What links.set() can change in place. */
export interface LinkChanges {
  name?: string;
  mtu?: number;
  address?: string;
  up?: boolean;
  master?: DeviceRef | null;
  txqueuelen?: number;
  netns?: string;
  /** Empty string removes the alias. */
  alias?: string;
}

/** Fields every link reads back with. */
export interface LinkBase {
  index: number;
  name: string;
  /** IFF_* flags as the kernel reports them. */
  flags: number;
  up: boolean;
  operstate: OperState;
  mtu: number;
  /** MAC (absent for devices without one, e.g. ipip). */
  address?: string;
  /** Index of the master (bridge), if enslaved. */
  master?: number;
  txqueuelen: number;
  /** IFLA_LINK: the parent/peer index, when reported (veth peer, tunnel underlay). */
  link?: number;
  /** IFLA_LINK_NETNSID: the namespace id that `link` belongs to, when it is another one. */
  linkNetnsId?: number;
  /** IFLA_IFALIAS, when set. */
  alias?: string;
}

export interface VxlanLink extends LinkBase {
  kind: 'vxlan';
  vni: number;
  port: number;
  local?: string;
  remote?: string;
  group?: string;
  /** Underlay device index. */
  dev?: number;
  learning: boolean;
  ttl: number;
  tos: number;
  srcPortRange?: [number, number];
  udpChecksum: boolean;
  ageing: number;
  proxy: boolean;
  l2miss: boolean;
  l3miss: boolean;
}

export interface IpipLink extends LinkBase {
  kind: 'ipip';
  local?: string;
  remote?: string;
  ttl: number;
  tos: number;
  pmtudisc: boolean;
  /** Underlay device index. */
  dev?: number;
}

export interface VethLink extends LinkBase {
  kind: 'veth';
}

export interface BridgeLink extends LinkBase {
  kind: 'bridge';
  stp: boolean;
  vlanFiltering: boolean;
}

/** Any other device: kind as the kernel names it (IFLA_INFO_KIND), null when it has none
 * (loopback, physical NICs); its IFLA_INFO_DATA attributes undecoded. */
export interface OtherLink extends LinkBase {
  kind: string | null;
  raw: RawAttribute[];
}

export type Link = VxlanLink | IpipLink | VethLink | BridgeLink | OtherLink;

export interface LinkFilter {
  kind?: string;
  /** Only links enslaved to this master. */
  master?: DeviceRef;
  name?: string;
}

// ---------------------------------------------------------------- addresses

export interface AddressSpec {
  dev: DeviceRef;
  /** "192.168.10.1/32", "fd00::1/64"; without a prefix length a host address (/32, /128). */
  address: string;
  /** Peer address of a point-to-point link (IFA_ADDRESS when it differs from IFA_LOCAL). */
  peer?: string;
  /** IPv4 broadcast address. */
  broadcast?: string;
  label?: string;
  scope?: ScopeName | number;
  /** Do not add the prefix route (IFA_F_NOPREFIXROUTE). */
  noprefixroute?: boolean;
  /** IPv6: skip duplicate address detection (IFA_F_NODAD). */
  nodad?: boolean;
}

export interface Address {
  /** Interface index. */
  index: number;
  family: IpFamily;
  /** "address/prefixlen" (the local address for IPv4, as `ip addr` prints it). */
  address: string;
  peer?: string;
  broadcast?: string;
  label?: string;
  scope: number;
  /** IFA_F_* flags (IFA_FLAGS when present, else ifa_flags). */
  flags: number;
  permanent: boolean;
}

export interface AddressFilter {
  dev?: DeviceRef;
  family?: IpFamily;
}

// ---------------------------------------------------------------- routes

export type ScopeName = 'universe' | 'site' | 'link' | 'host' | 'nowhere';
export type RouteTypeName = 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw' | 'nat';
export type TableName = 'main' | 'local' | 'default';
export type ProtocolName = 'redirect' | 'kernel' | 'boot' | 'static' | 'ra' | 'dhcp' | 'bgp' | 'bird' | 'babel' | 'ospf';

export interface NexthopSpec {
  via?: string;
  dev?: DeviceRef;
  /** 1..256 (rtnh_hops + 1). */
  weight?: number;
  onlink?: boolean;
}

export interface RouteSpec {
  /** "192.168.11.0/24", "fd01::/64", a host address, or "default" (needs family, or via to infer it). */
  dst: string;
  /** Needed only for dst "default" without via. */
  family?: IpFamily;
  via?: string;
  dev?: DeviceRef;
  onlink?: boolean;
  /** Default main (254). Tables above 255 go in RTA_TABLE. */
  table?: number | TableName;
  /** Who owns the route (rtm_protocol). Default boot, as `ip route add`. */
  protocol?: number | ProtocolName;
  scope?: number | ScopeName;
  type?: RouteTypeName;
  /** RTA_PRIORITY. */
  metric?: number;
  /** Preferred source address (RTA_PREFSRC). */
  prefsrc?: string;
  tos?: number;
  /** RTAX_MTU. */
  mtu?: number;
  /** RTAX_ADVMSS. */
  advmss?: number;
  /** Multipath: exclusive with via/dev. */
  nexthops?: NexthopSpec[];
}

export interface Nexthop {
  via?: string;
  /** Interface index. */
  dev?: number;
  weight: number;
  onlink: boolean;
  /** RTNH_F_* flags as reported (dead, linkdown, ...). */
  flags: number;
}

export interface Route {
  family: IpFamily;
  /** Canonical prefix ("192.168.11.0/24"), or "default". */
  dst: string;
  table: number;
  protocol: number;
  scope: number;
  type: RouteTypeName | number;
  tos: number;
  metric?: number;
  via?: string;
  /** Output interface index. */
  dev?: number;
  onlink: boolean;
  prefsrc?: string;
  mtu?: number;
  advmss?: number;
  nexthops?: Nexthop[];
  /** rtm_flags (RTNH_F_* and RTM_F_*). */
  flags: number;
}

/**
 * Which routes routes.list() returns. table, protocol, type and dev are applied by the kernel
 * (strict-checked dump); scope is applied here (the kernel refuses a scope in a dump request).
 * Cached clones (RTM_F_CLONED) are never returned.
 */
export interface RouteFilter {
  /** Default: both. */
  family?: IpFamily;
  /** Default: main, as `ip route` shows; 'all' (or 0) for every table, as `ip route show table all`. */
  table?: number | TableName | 'all';
  protocol?: number | ProtocolName;
  /** Routes that use this device (as output device or in any nexthop). */
  dev?: DeviceRef;
  type?: RouteTypeName;
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

export type NudStateName = 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'noarp' | 'permanent' | 'none';

export interface NeighborSpec {
  dev: DeviceRef;
  /** The neighbour's IP address (v4 or v6). */
  ip: string;
  lladdr?: string;
  /** Default permanent. */
  state?: NudStateName;
  /** A proxy entry (NTF_PROXY): answer for ip on dev. */
  proxy?: boolean;
  router?: boolean;
}

export interface Neighbor {
  index: number;
  family: IpFamily;
  ip: string;
  lladdr?: string;
  /** NUD_* bits. */
  state: number;
  /** The state bits by name. */
  states: NudStateName[];
  /** NTF_* flags. */
  flags: number;
  proxy: boolean;
  router: boolean;
}

export interface NeighborFilter {
  dev?: DeviceRef;
  family?: IpFamily;
  /** Include proxy entries (a separate dump in the kernel). Default false. */
  proxy?: boolean;
}

export interface FdbSpec {
  dev: DeviceRef;
  /** "00:00:00:00:00:00" is the flood entry of a vxlan device (several allowed with append). */
  mac: string;
  /** Remote VTEP address (vxlan). */
  dst?: string;
  vni?: number;
  port?: number;
  vlan?: number;
  /** Default true (NUD_PERMANENT); false makes a static (NUD_NOARP) entry. */
  permanent?: boolean;
  /** NTF_SELF: the device's own table (vxlan). Default: true unless master is set. */
  self?: boolean;
  /** NTF_MASTER: the bridge's table, for a bridge port. */
  master?: boolean;
}

export interface FdbEntry {
  /** Interface index of the device the entry is on. */
  index: number;
  mac: string;
  dst?: string;
  vni?: number;
  port?: number;
  vlan?: number;
  /** Index of the bridge, for entries in a bridge's table (NDA_MASTER). */
  masterIndex?: number;
  state: number;
  permanent: boolean;
  /** NTF_* flags. */
  flags: number;
  self: boolean;
  master: boolean;
}

export interface FdbFilter {
  dev?: DeviceRef;
  /** Only entries in this bridge's table. */
  master?: DeviceRef;
}
