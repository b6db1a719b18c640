/**
 * The rule message as tables: struct fib_rule_hdr, the FRA_* attributes, the FR_ACT_* and IP
 * protocol names, and the fields of a RuleSpec and a RuleFilter.
 */
import { attr, defineAttrs, ip, skip, string, u32, u8, type AttrCodec } from '../../wire/attrs';
import { NetlinkParseError } from '../../wire/errors';
import { defineStruct, field } from '../../wire/struct';
import {
  FIB_RULE_HDR_LEN,
  FRA_DPORT_RANGE,
  FRA_DST,
  FRA_FWMARK,
  FRA_FWMASK,
  FRA_GOTO,
  FRA_IIFNAME,
  FRA_IP_PROTO,
  FRA_L3MDEV,
  FRA_OIFNAME,
  FRA_PAD,
  FRA_PRIORITY,
  FRA_PROTOCOL,
  FRA_SPORT_RANGE,
  FRA_SRC,
  FRA_SUPPRESS_IFGROUP,
  FRA_SUPPRESS_PREFIXLEN,
  FRA_TABLE,
  FRA_UID_RANGE,
  FR_ACT_BLACKHOLE,
  FR_ACT_GOTO,
  FR_ACT_NOP,
  FR_ACT_PROHIBIT,
  FR_ACT_TO_TBL,
  FR_ACT_UNREACHABLE,
} from '../constants';
import { PROTOCOLS } from '../names';
import { bool, checkedElsewhere, defineFields, family, fieldOf, ifName, int, nameOrInt, oneOf } from '../spec';
import type { IpProtoName, RuleAction, RuleRange } from './types';

/** struct fib_rule_hdr (linux/fib_rules.h); res1/res2 stay zero. */
export const FIB_RULE_HDR = defineStruct('fib_rule_hdr', FIB_RULE_HDR_LEN, {
  family: field(0, 'u8'),
  dstLen: field(1, 'u8'),
  srcLen: field(2, 'u8'),
  tos: field(3, 'u8'),
  /** RT_TABLE_* when below 256; FRA_TABLE holds the full number. */
  table: field(4, 'u8'),
  /** FR_ACT_*. */
  action: field(7, 'u8'),
  /** FIB_RULE_* bits. */
  flags: field(8, 'u32'),
});

/** Rule actions (FR_ACT_*) by name. */
export const RULE_ACTIONS: Record<RuleAction, number> = {
  lookup: FR_ACT_TO_TBL,
  goto: FR_ACT_GOTO,
  nop: FR_ACT_NOP,
  blackhole: FR_ACT_BLACKHOLE,
  unreachable: FR_ACT_UNREACHABLE,
  prohibit: FR_ACT_PROHIBIT,
};

/** IP protocol numbers by name (/etc/protocols). */
export const IP_PROTOS: Record<IpProtoName, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, 'ipv6-icmp': 58, sctp: 132 };

/** struct fib_rule_port_range / fib_rule_uid_range: two host-order numbers of `width` bytes each. */
function range(width: 2 | 4): AttrCodec<RuleRange> {
  return {
    encode: (w, t, v) => {
      const b = Buffer.alloc(2 * width);
      if (width === 2) {
        b.writeUInt16LE(v.start, 0);
        b.writeUInt16LE(v.end, 2);
      } else {
        b.writeUInt32LE(v.start >>> 0, 0);
        b.writeUInt32LE(v.end >>> 0, 4);
      }
      w.binary(t, b);
    },
    decode: (buf, off, len) => {
      if (len < 2 * width) throw new NetlinkParseError(`range of ${len} bytes, need ${2 * width}`, off);
      return width === 2 ? { start: buf.readUInt16LE(off), end: buf.readUInt16LE(off + 2) } : { start: buf.readUInt32LE(off), end: buf.readUInt32LE(off + 4) };
    },
  };
}

/** FRA_SPORT_RANGE / FRA_DPORT_RANGE. */
export const portRange = range(2);
/** FRA_UID_RANGE. */
export const uidRange = range(4);

/**
 * The FRA_* attributes, in the order rules.add() writes them (which is the order `ip rule add`
 * writes them for its arguments in this order: from, to, iif, oif, fwmark/mask, ipproto,
 * sport, dport, uidrange, l3mdev, table, pref, goto, protocol, suppress_*). Anything else
 * (FRA_FLOW realms, FRA_TUN_ID, newer kernels' FRA_DSCP) stays undecoded on Rule.unknown.
 */
export const FRA_ATTRS = defineAttrs('FRA', {
  from: attr(FRA_SRC, ip),
  to: attr(FRA_DST, ip),
  iif: attr(FRA_IIFNAME, string),
  oif: attr(FRA_OIFNAME, string),
  fwmark: attr(FRA_FWMARK, u32),
  fwmask: attr(FRA_FWMASK, u32),
  ipProto: attr(FRA_IP_PROTO, u8),
  sport: attr(FRA_SPORT_RANGE, portRange),
  dport: attr(FRA_DPORT_RANGE, portRange),
  uidRange: attr(FRA_UID_RANGE, uidRange),
  l3mdev: attr(FRA_L3MDEV, u8),
  table: attr(FRA_TABLE, u32),
  priority: attr(FRA_PRIORITY, u32),
  goto: attr(FRA_GOTO, u32),
  protocol: attr(FRA_PROTOCOL, u8),
  suppressPrefixLength: attr(FRA_SUPPRESS_PREFIXLEN, u32),
  suppressIfgroup: attr(FRA_SUPPRESS_IFGROUP, u32),
  pad: skip(FRA_PAD),
});

/** Largest u32. */
const U32 = 0xffffffff;

/** The fields of a RuleSpec (the rules between them are in validate.ts). */
export const RULE_FIELDS = defineFields(
  'RuleSpec',
  {
    family: fieldOf(family, '4 or 6; needed only when neither from nor to says (default IPv4).'),
    priority: fieldOf(
      int(0, U32),
      'Preference, 0..4294967295 (FRA_PRIORITY): rules are tried in ascending order. Left out, the kernel picks one below the lowest non-zero rule.',
    ),
    action: fieldOf(oneOf(Object.keys(RULE_ACTIONS), 'rule action'), "Default 'lookup' ('goto' when goto is given)."),
    table: fieldOf(checkedElsewhere, 'The table a lookup rule uses (header or FRA_TABLE), default main. Only for action lookup.'),
    goto: fieldOf(int(0, U32), "The priority to jump to (FRA_GOTO), higher than this rule's own. Only for action goto."),
    from: fieldOf(checkedElsewhere, 'Source prefix to match (FRA_SRC).'),
    to: fieldOf(checkedElsewhere, 'Destination prefix to match (FRA_DST).'),
    not: fieldOf(bool, 'Match what the selector does not match (FIB_RULE_INVERT), as `ip rule add not ...`.'),
    iif: fieldOf(ifName, 'Incoming interface name (FRA_IIFNAME); the device need not exist yet.'),
    oif: fieldOf(ifName, 'Outgoing interface name (FRA_OIFNAME); the device need not exist yet.'),
    fwmark: fieldOf(int(0, U32), 'Firewall mark to match (FRA_FWMARK).'),
    fwmask: fieldOf(int(0, U32), 'Mask for fwmark (FRA_FWMASK); default 0xffffffff when fwmark is set.'),
    tos: fieldOf(int(0, 255), 'TOS byte to match (fib_rule_hdr.tos): IPv4 only the TOS bits 0x1e, IPv6 any DSCP bits (0xfc).'),
    dscp: fieldOf(int(0, 63), 'DSCP to match, 0..63: written as tos = dscp * 4 (so on both kernels); exclusive with tos.'),
    ipProto: fieldOf(nameOrInt(IP_PROTOS, 'IP protocol', 0, 255), 'IP protocol to match (FRA_IP_PROTO), a name or 0..255.'),
    sport: fieldOf(checkedElsewhere, 'Source port or range, 1..65534 (FRA_SPORT_RANGE).'),
    dport: fieldOf(checkedElsewhere, 'Destination port or range, 1..65534 (FRA_DPORT_RANGE).'),
    uidRange: fieldOf(checkedElsewhere, 'Socket owner uid range (FRA_UID_RANGE).'),
    l3mdev: fieldOf(bool, 'Use the table of the L3 master device the packet came in or goes out on (FRA_L3MDEV); no table then.'),
    suppressPrefixLength: fieldOf(int(0, 128), 'Refuse lookup results with a prefix length this short or shorter, 0..128 (FRA_SUPPRESS_PREFIXLEN).'),
    suppressIfgroup: fieldOf(int(0, U32), 'Refuse lookup results whose device is in this group (FRA_SUPPRESS_IFGROUP).'),
    protocol: fieldOf(nameOrInt(PROTOCOLS, 'protocol', 0, 255), 'Who owns the rule (FRA_PROTOCOL), a name or 0..255. Default 0 (unspec), as `ip rule add`.'),
  },
  {
    pref: 'priority',
    preference: 'priority',
    lookup: 'table',
    src: 'from',
    dst: 'to',
    ipproto: 'ipProto',
    uidrange: 'uidRange',
    suppress_prefixlength: 'suppressPrefixLength',
    suppress_ifgroup: 'suppressIfgroup',
    invert: 'not',
  },
);

/** The fields of a RuleFilter. */
export const RULE_FILTER_FIELDS = defineFields('RuleFilter', {
  family: fieldOf(family, "Default: both. 4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10."),
  table: fieldOf(checkedElsewhere, 'Only rules that look up this table.'),
  protocol: fieldOf(nameOrInt(PROTOCOLS, 'protocol', 0, 255), 'Only rules with this owner (FRA_PROTOCOL).'),
  priority: fieldOf(int(0, U32), 'Only rules with this priority.'),
});
