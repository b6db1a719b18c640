/**
 * The nexthop message as tables: struct nhmsg, the NHA_* attributes (NHA_GROUP as an array of
 * struct nexthop_grp, NHA_RES_GROUP and NHA_RES_BUCKET as nested tables), and the fields of a
 * SingleNexthopSpec, a NexthopGroupSpec, a NexthopGroupMember and a NexthopObjectFilter.
 */
import { attr, defineAttrs, flag, ip, nested, skip, u16, u32, u64, type AttrCodec } from '../../wire/attrs';
import { NLA_F_NESTED } from '../../wire/constants';
import { NetlinkParseError } from '../../wire/errors';
import { defineStruct, field } from '../../wire/struct';
import {
  NEXTHOP_GRP_LEN,
  NHA_BLACKHOLE,
  NHA_FDB,
  NHA_GATEWAY,
  NHA_GROUP,
  NHA_GROUPS,
  NHA_GROUP_TYPE,
  NHA_ID,
  NHA_MASTER,
  NHA_OIF,
  NHA_RES_BUCKET,
  NHA_RES_BUCKET_IDLE_TIME,
  NHA_RES_BUCKET_INDEX,
  NHA_RES_BUCKET_NH_ID,
  NHA_RES_BUCKET_PAD,
  NHA_RES_GROUP,
  NHA_RES_GROUP_BUCKETS,
  NHA_RES_GROUP_IDLE_TIMER,
  NHA_RES_GROUP_PAD,
  NHA_RES_GROUP_UNBALANCED_TIME,
  NHA_RES_GROUP_UNBALANCED_TIMER,
  NHMSG_LEN,
} from '../constants';
import { PROTOCOLS } from '../names';
import { bool, checkedElsewhere, defineFields, device, family, fieldOf, int, nameOrInt, oneOf } from '../spec';

/** struct nhmsg (linux/nexthop.h). */
export const NHMSG = defineStruct('nhmsg', NHMSG_LEN, {
  family: field(0, 'u8'),
  /** Reported only; must be 0 in requests. */
  scope: field(1, 'u8'),
  protocol: field(2, 'u8'),
  /** RTNH_F_* bits. */
  flags: field(4, 'u32'),
});

/** The kernel's USER_HZ: the timers of a resilient group are clock_t ticks of 1/100 s. */
export const USER_HZ = 100;

/** A u32 clock_t attribute as seconds (the kernel stores ticks of 1/USER_HZ s). */
export const clockSeconds: AttrCodec<number> = {
  encode: (w, t, v) => w.u32(t, Math.round(v * USER_HZ)),
  decode: (buf, off, len) => u32.decode(buf, off, len) / USER_HZ,
};

/** A u64 clock_t attribute as seconds. */
export const clockSeconds64: AttrCodec<number> = {
  encode: (w, t, v) => w.u64(t, BigInt(Math.round(v * USER_HZ))),
  decode: (buf, off, len) => Number(u64.decode(buf, off, len)) / USER_HZ,
};

/** NHA_GROUP: struct nexthop_grp { u32 id; u8 weight - 1; u8 resvd1; u16 resvd2; } after struct nexthop_grp. */
export const nexthopGroup: AttrCodec<Array<{ id: number; weight: number }>> = {
  encode: (w, t, v) => {
    const b = Buffer.alloc(NEXTHOP_GRP_LEN * v.length);
    v.forEach((m, i) => {
      b.writeUInt32LE(m.id >>> 0, i * NEXTHOP_GRP_LEN);
      b[i * NEXTHOP_GRP_LEN + 4] = m.weight - 1;
    });
    w.binary(t, b);
  },
  decode: (buf, off, len) => {
    if (len % NEXTHOP_GRP_LEN !== 0) throw new NetlinkParseError(`NHA_GROUP: ${len} bytes, not a whole number of struct nexthop_grp`, off);
    const out: Array<{ id: number; weight: number }> = [];
    for (let o = off; o < off + len; o += NEXTHOP_GRP_LEN) out.push({ id: buf.readUInt32LE(o), weight: buf[o + 4] + 1 });
    return out;
  },
};

/** NHA_RES_GROUP: a resilient group's settings. */
export const NHA_RES_GROUP_ATTRS = defineAttrs('NHA_RES_GROUP', {
  buckets: attr(NHA_RES_GROUP_BUCKETS, u16),
  idleTimer: attr(NHA_RES_GROUP_IDLE_TIMER, clockSeconds),
  unbalancedTimer: attr(NHA_RES_GROUP_UNBALANCED_TIMER, clockSeconds),
  /** Reported only. */
  unbalancedTime: attr(NHA_RES_GROUP_UNBALANCED_TIME, clockSeconds64),
  pad: skip(NHA_RES_GROUP_PAD),
});

/** NHA_RES_BUCKET: one bucket of a resilient group (RTM_NEWNEXTHOPBUCKET). */
export const NHA_RES_BUCKET_ATTRS = defineAttrs('NHA_RES_BUCKET', {
  index: attr(NHA_RES_BUCKET_INDEX, u16),
  idleTime: attr(NHA_RES_BUCKET_IDLE_TIME, clockSeconds64),
  nexthop: attr(NHA_RES_BUCKET_NH_ID, u32),
  pad: skip(NHA_RES_BUCKET_PAD),
});

/**
 * The NHA_* attributes, in the order `ip nexthop add` writes them (ID, GROUP, RES_GROUP,
 * GROUP_TYPE, BLACKHOLE, GATEWAY, OIF, FDB), then the ones only dump requests carry. Encap
 * (NHA_ENCAP_TYPE, NHA_ENCAP) is not decoded: it stays on `unknown`.
 */
export const NHA_ATTRS = defineAttrs('NHA', {
  id: attr(NHA_ID, u32),
  group: attr(NHA_GROUP, nexthopGroup),
  resGroup: attr(NHA_RES_GROUP, nested(NHA_RES_GROUP_ATTRS, NLA_F_NESTED)),
  groupType: attr(NHA_GROUP_TYPE, u16),
  blackhole: attr(NHA_BLACKHOLE, flag),
  gateway: attr(NHA_GATEWAY, ip),
  oif: attr(NHA_OIF, u32),
  fdb: attr(NHA_FDB, flag),
  /** Dump filter: only groups. */
  groups: attr(NHA_GROUPS, flag),
  /** Dump filter: only nexthops on ports of this master. */
  master: attr(NHA_MASTER, u32),
  /** A bucket (RTM_NEWNEXTHOPBUCKET replies, and their dump filter). */
  resBucket: attr(NHA_RES_BUCKET, nested(NHA_RES_BUCKET_ATTRS, NLA_F_NESTED)),
});

/** Largest nexthop id. */
export const NH_ID_MAX = 0xffffffff;

const ID_DOC = 'Nexthop id, 1..4294967295 (NHA_ID).';
const PROTOCOL_DOC = 'Who owns the nexthop (nh_protocol), a name or 0..255. Default 0 (unspec), as `ip nexthop add`.';
const protocol = nameOrInt(PROTOCOLS, 'protocol', 0, 255);

/** The fields of a SingleNexthopSpec (the rules between them are in validate.ts). */
export const NH_SINGLE_FIELDS = defineFields(
  'SingleNexthopSpec',
  {
    id: fieldOf(int(1, NH_ID_MAX), ID_DOC, 'required (1..4294967295)'),
    via: fieldOf(checkedElsewhere, 'Gateway address, IPv4 or IPv6 (NHA_GATEWAY).'),
    dev: fieldOf(device, 'Output device (NHA_OIF). Required unless blackhole or fdb.'),
    onlink: fieldOf(bool, 'Treat the gateway as on-link even without a matching prefix (RTNH_F_ONLINK).'),
    blackhole: fieldOf(bool, 'Drop packets (NHA_BLACKHOLE): no via, dev or fdb. The kernel puts it on lo, which must be up.'),
    fdb: fieldOf(bool, 'An FDB nexthop (NHA_FDB): a vxlan remote for FDB entries, never used by routes; via only, no dev.'),
    family: fieldOf(family, 'The family of a blackhole or device-only nexthop (default IPv4); a gateway decides it otherwise.'),
    protocol: fieldOf(protocol, PROTOCOL_DOC),
  },
  { gateway: 'via', nhid: 'id' },
);

/** The fields of a NexthopGroupSpec. */
export const NH_GROUP_FIELDS = defineFields(
  'NexthopGroupSpec',
  {
    id: fieldOf(int(1, NH_ID_MAX), ID_DOC, 'required (1..4294967295)'),
    group: fieldOf(checkedElsewhere, 'The members (NHA_GROUP): single nexthops only (no group of groups), each id once.', 'required'),
    type: fieldOf(oneOf(['mpath', 'resilient'], 'group type'), "'mpath' (default) or 'resilient' (NHA_GROUP_TYPE)."),
    buckets: fieldOf(int(1, 0xffff), 'Resilient only: the number of buckets, 1..65535 (NHA_RES_GROUP_BUCKETS; kernel default 128).'),
    idleTimer: fieldOf(
      int(0, Math.floor(0xffffffff / USER_HZ)),
      'Resilient only: seconds a bucket must be idle before it may move (NHA_RES_GROUP_IDLE_TIMER; kernel default 120).',
    ),
    unbalancedTimer: fieldOf(
      int(0, Math.floor(0xffffffff / USER_HZ)),
      'Resilient only: seconds the group may stay unbalanced before busy buckets move too, 0 never (NHA_RES_GROUP_UNBALANCED_TIMER).',
    ),
    fdb: fieldOf(bool, 'A group of FDB nexthops (NHA_FDB), for FDB entries on vxlan devices: every member must be an FDB nexthop.'),
    protocol: fieldOf(protocol, PROTOCOL_DOC),
  },
  { members: 'group', idle_timer: 'idleTimer', unbalanced_timer: 'unbalancedTimer' },
);

/** The fields of a NexthopGroupMember. */
export const NH_GROUP_MEMBER_FIELDS = defineFields('NexthopGroupMember', {
  id: fieldOf(
    int(1, NH_ID_MAX),
    "The member's nexthop id (a single nexthop that exists, or comes earlier in the same batch).",
    'required (1..4294967295)',
  ),
  weight: fieldOf(int(1, 256), '1..256, default 1.'),
});

/** The fields of a NexthopObjectFilter. */
export const NH_FILTER_FIELDS = defineFields('NexthopObjectFilter', {
  family: fieldOf(family, 'Only single nexthops of this family (groups have none, so they are left out).'),
  dev: fieldOf(device, 'Only single nexthops on this device (NHA_OIF).'),
  master: fieldOf(device, 'Only single nexthops whose device is enslaved to this master (NHA_MASTER).'),
  groups: fieldOf(bool, 'Only groups (NHA_GROUPS).'),
  fdb: fieldOf(bool, 'Only FDB nexthops and groups (NHA_FDB).'),
  protocol: fieldOf(protocol, 'Only nexthops with this owner (filtered here: the kernel has no protocol filter for nexthops).'),
});
