/**
 * The typed nexthop objects (RTM_NEWNEXTHOP, Linux 5.3+): what nexthops.add() takes and what
 * nexthops.list() returns. A nexthop object is either a single path (a gateway and/or device,
 * or a blackhole) or a group of other nexthop objects; routes (RouteSpec.nhid) and vxlan FDB
 * entries (FdbSpec.nhid) name one by id.
 *
 * (RouteSpec.nexthops, NexthopSpec and Nexthop are something else: the paths inside one
 * multipath route, RTA_MULTIPATH.)
 */
import type { RawAttribute } from '../../wire/reader';
import type { IpFamily } from '../../values/ip';
import type { DeviceRef, FamilyInput, ProtocolName } from '../types';

/** How a group spreads flows: 'mpath' hash-threshold (NEXTHOP_GRP_TYPE_MPATH, the default) or
 * 'resilient' (NEXTHOP_GRP_TYPE_RES: a bucket table that moves as few flows as possible). */
export type NexthopGroupType = 'mpath' | 'resilient';

/**
 * A single nexthop object: a gateway (with its device, or resolved through the routing table),
 * a device alone, or a blackhole.
 *
 * @example
 * ```ts
 * await nl.nexthops.add({ id: 1, via: '10.57.0.2', dev: 'veth0', onlink: true, protocol: 77 });
 * ```
 */
export interface SingleNexthopSpec {
  /** Nexthop id, 1..4294967295 (NHA_ID). */
  id: number;
  /** Gateway address, IPv4 or IPv6 (NHA_GATEWAY). */
  via?: string;
  /** Output device (NHA_OIF). Required unless blackhole or fdb. */
  dev?: DeviceRef;
  /** Treat the gateway as on-link even without a matching prefix (RTNH_F_ONLINK). */
  onlink?: boolean;
  /** Drop packets (NHA_BLACKHOLE): no via, dev or fdb. The kernel puts it on lo, which must be up. */
  blackhole?: boolean;
  /** An FDB nexthop (NHA_FDB): a vxlan remote for FDB entries, never used by routes; via only, no dev. */
  fdb?: boolean;
  /** The family of a blackhole or device-only nexthop (default IPv4); a gateway decides it otherwise. */
  family?: FamilyInput;
  /** Who owns the nexthop (nh_protocol), a name or 0..255. Default 0 (unspec), as `ip nexthop add`. */
  protocol?: number | ProtocolName;
}

/** One member of a nexthop group. */
export interface NexthopGroupMember {
  /** The member's nexthop id (a single nexthop that exists, or comes earlier in the same batch). */
  id: number;
  /** 1..256, default 1. */
  weight?: number;
}

/**
 * A nexthop group: members with weights, spread by hash-threshold or resilient hashing.
 *
 * @example
 * ```ts
 * await nl.nexthops.add({ id: 10, group: [{ id: 1 }, { id: 2, weight: 5 }] });
 * await nl.nexthops.add({ id: 11, group: [{ id: 1 }, { id: 2 }], type: 'resilient', buckets: 32, idleTimer: 60 });
 * ```
 */
export interface NexthopGroupSpec {
  /** Nexthop id, 1..4294967295 (NHA_ID). */
  id: number;
  /** The members (NHA_GROUP): single nexthops only (no group of groups), each id once. */
  group: NexthopGroupMember[];
  /** 'mpath' (default) or 'resilient' (NHA_GROUP_TYPE). */
  type?: NexthopGroupType;
  /** Resilient only: the number of buckets, 1..65535 (NHA_RES_GROUP_BUCKETS; kernel default 128). */
  buckets?: number;
  /** Resilient only: seconds a bucket must be idle before it may move (NHA_RES_GROUP_IDLE_TIMER; kernel default 120). */
  idleTimer?: number;
  /** Resilient only: seconds the group may stay unbalanced before busy buckets move too, 0 never (NHA_RES_GROUP_UNBALANCED_TIMER). */
  unbalancedTimer?: number;
  /** A group of FDB nexthops (NHA_FDB), for FDB entries on vxlan devices: every member must be an FDB nexthop. */
  fdb?: boolean;
  /** Who owns the nexthop (nh_protocol), a name or 0..255. Default 0 (unspec), as `ip nexthop add`. */
  protocol?: number | ProtocolName;
}

/** What nexthops.add() / replace() take: a single nexthop, or a group (it has `group`). */
export type NexthopObjectSpec = SingleNexthopSpec | NexthopGroupSpec;

/** Fields every nexthop object reads back with. */
export interface NexthopObjectBase {
  /** NHA_ID. */
  id: number;
  /** nh_protocol (owner number). */
  protocol: number;
  /** nh_scope as the kernel reports it (link for a gateway on a device, universe for groups). */
  scope: number;
  /** nh_flags (RTNH_F_ONLINK, RTNH_F_DEAD, RTNH_F_LINKDOWN, ...). */
  flags: number;
  /** NHA_FDB: an FDB nexthop or group. */
  fdb: boolean;
  /** NHA_* attributes this library does not decode, as the kernel sent them (present only when there are some). */
  unknown?: RawAttribute[];
}

/** A single nexthop object as read back. */
export interface SingleNexthop extends NexthopObjectBase {
  /** Discriminant: a single nexthop. */
  kind: 'single';
  /** 4 or 6 (nh_family). */
  family: IpFamily;
  /** Gateway, when set. */
  via?: string;
  /** Output interface index, when set. */
  dev?: number;
  /** RTNH_F_ONLINK set. */
  onlink: boolean;
  /** NHA_BLACKHOLE. */
  blackhole: boolean;
}

/** A nexthop group as read back. */
export interface NexthopGroup extends NexthopObjectBase {
  /** Discriminant: a group. */
  kind: 'group';
  /** The members, with weights 1..256. */
  group: Array<{ id: number; weight: number }>;
  /** 'mpath' or 'resilient'. */
  type: NexthopGroupType;
  /** Resilient: number of buckets. */
  buckets?: number;
  /** Resilient: idle timer, seconds. */
  idleTimer?: number;
  /** Resilient: unbalanced timer, seconds. */
  unbalancedTimer?: number;
  /** Resilient: how long the group has been unbalanced, seconds. */
  unbalancedTime?: number;
}

/** A nexthop object as nexthops.list() / get() return it: a union discriminated on `kind`. */
export type NexthopObject = SingleNexthop | NexthopGroup;

/**
 * Which nexthops nexthops.list() returns. family, dev, master, groups and fdb are filtered by
 * the kernel (RTM_GETNEXTHOP dump attributes); protocol is filtered here, because the kernel
 * refuses a dump request with nh_protocol set.
 */
export interface NexthopObjectFilter {
  /** Only single nexthops of this family (groups have none, so they are left out). */
  family?: FamilyInput;
  /** Only single nexthops on this device (NHA_OIF). */
  dev?: DeviceRef;
  /** Only single nexthops whose device is enslaved to this master (NHA_MASTER). */
  master?: DeviceRef;
  /** Only groups (NHA_GROUPS). */
  groups?: boolean;
  /** Only FDB nexthops and groups (NHA_FDB). */
  fdb?: boolean;
  /** Only nexthops with this owner (filtered here: the kernel has no protocol filter for nexthops). */
  protocol?: number | ProtocolName;
}

/** One bucket of a resilient group (RTM_NEWNEXTHOPBUCKET), as nexthops.buckets() returns it. */
export interface NexthopBucket {
  /** The group's id (NHA_ID). */
  group: number;
  /** Bucket index (NHA_RES_BUCKET_INDEX). */
  index: number;
  /** The member nexthop the bucket sends to (NHA_RES_BUCKET_NH_ID). */
  nexthop: number;
  /** Seconds since the bucket last carried traffic (NHA_RES_BUCKET_IDLE_TIME). */
  idleTime: number;
  /** nh_flags of the bucket message. */
  flags: number;
}
