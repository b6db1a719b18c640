/**
 * The typed policy routing rules (RTM_NEWRULE, struct fib_rule_hdr + FRA_* attributes), IPv4
 * and IPv6: what rules.add() takes and what rules.list() returns.
 */
import type { RawAttribute } from '../../wire/reader';
import type { IpFamily } from '../../values/ip';
import type { FamilyInput, ProtocolName, TableName } from '../types';

/** What a rule does when it matches (FR_ACT_*): look up a table, jump to another rule, do
 * nothing, or drop the packet (silently, with ENETUNREACH, or with EACCES). */
export type RuleAction = 'lookup' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

/** IP protocols by name, for RuleSpec.ipProto. */
export type IpProtoName = 'icmp' | 'tcp' | 'udp' | 'gre' | 'esp' | 'ipv6-icmp' | 'sctp';

/** An inclusive range of ports or uids. */
export interface RuleRange {
  /** First value. */
  start: number;
  /** Last value (at least start). */
  end: number;
}

/**
 * A policy rule for rules.add() / del().
 *
 * @example
 * ```ts
 * await nl.rules.add({ priority: 1000, from: '10.244.0.0/16', fwmark: 0x10, fwmask: 0xff, table: 100, protocol: 77 });
 * await nl.rules.add({ priority: 1001, family: 6, to: 'fd00:1::/64', action: 'unreachable' });
 * ```
 */
export interface RuleSpec {
  /** 4 or 6; needed only when neither from nor to says (default IPv4). */
  family?: FamilyInput;
  /** Preference, 0..4294967295 (FRA_PRIORITY): rules are tried in ascending order. Left out, the kernel picks one below the lowest non-zero rule. */
  priority?: number;
  /** Default 'lookup' ('goto' when goto is given). */
  action?: RuleAction;
  /** The table a lookup rule uses (header or FRA_TABLE), default main. Only for action lookup. */
  table?: number | TableName;
  /** The priority to jump to (FRA_GOTO), higher than this rule's own. Only for action goto. */
  goto?: number;
  /** Source prefix to match (FRA_SRC). */
  from?: string;
  /** Destination prefix to match (FRA_DST). */
  to?: string;
  /** Match what the selector does not match (FIB_RULE_INVERT), as `ip rule add not ...`. */
  not?: boolean;
  /** Incoming interface name (FRA_IIFNAME); the device need not exist yet. */
  iif?: string;
  /** Outgoing interface name (FRA_OIFNAME); the device need not exist yet. */
  oif?: string;
  /** Firewall mark to match (FRA_FWMARK). */
  fwmark?: number;
  /** Mask for fwmark (FRA_FWMASK); default 0xffffffff when fwmark is set. */
  fwmask?: number;
  /** TOS byte to match (fib_rule_hdr.tos): IPv4 only the TOS bits 0x1e, IPv6 any DSCP bits (0xfc). */
  tos?: number;
  /** DSCP to match, 0..63: written as tos = dscp * 4 (so on both kernels); exclusive with tos. */
  dscp?: number;
  /** IP protocol to match (FRA_IP_PROTO), a name or 0..255. */
  ipProto?: number | IpProtoName;
  /** Source port or range, 1..65534 (FRA_SPORT_RANGE). */
  sport?: number | RuleRange;
  /** Destination port or range, 1..65534 (FRA_DPORT_RANGE). */
  dport?: number | RuleRange;
  /** Socket owner uid range (FRA_UID_RANGE). */
  uidRange?: RuleRange;
  /** Use the table of the L3 master device the packet came in or goes out on (FRA_L3MDEV); no table then. */
  l3mdev?: boolean;
  /** Refuse lookup results with a prefix length this short or shorter, 0..128 (FRA_SUPPRESS_PREFIXLEN). */
  suppressPrefixLength?: number;
  /** Refuse lookup results whose device is in this group (FRA_SUPPRESS_IFGROUP). */
  suppressIfgroup?: number;
  /** Who owns the rule (FRA_PROTOCOL), a name or 0..255. Default 0 (unspec), as `ip rule add`. */
  protocol?: number | ProtocolName;
}

/** A rule as rules.list() returns it. Fields the kernel did not report are left out. */
export interface Rule {
  /** 4 or 6. */
  family: IpFamily;
  /** FRA_PRIORITY (0 for the local table's rule). */
  priority: number;
  /** The action by name (a number when unknown). */
  action: RuleAction | number;
  /** FRA_TABLE, else the header's table (0 for rules that do not look up). */
  table: number;
  /** FRA_GOTO, for action goto. */
  goto?: number;
  /** Source prefix ("10.1.0.0/16"), when the rule has one. */
  from?: string;
  /** Destination prefix, when the rule has one. */
  to?: string;
  /** FIB_RULE_INVERT set. */
  not: boolean;
  /** FRA_IIFNAME, when set. */
  iif?: string;
  /** FRA_OIFNAME, when set. */
  oif?: string;
  /** FRA_FWMARK, when set. */
  fwmark?: number;
  /** FRA_FWMASK, when set. */
  fwmask?: number;
  /** fib_rule_hdr.tos. */
  tos: number;
  /** FRA_IP_PROTO, when set. */
  ipProto?: number;
  /** FRA_SPORT_RANGE, when set. */
  sport?: RuleRange;
  /** FRA_DPORT_RANGE, when set. */
  dport?: RuleRange;
  /** FRA_UID_RANGE, when set. */
  uidRange?: RuleRange;
  /** FRA_L3MDEV set. */
  l3mdev: boolean;
  /** FRA_SUPPRESS_PREFIXLEN, when set. */
  suppressPrefixLength?: number;
  /** FRA_SUPPRESS_IFGROUP, when set. */
  suppressIfgroup?: number;
  /** FRA_PROTOCOL (0 when the kernel did not say). */
  protocol: number;
  /** fib_rule_hdr.flags (FIB_RULE_INVERT, FIB_RULE_IIF_DETACHED, FIB_RULE_UNRESOLVED, ...). */
  flags: number;
  /** FRA_* attributes this library does not decode (FRA_DSCP of newer kernels, ...), present only when there are some. */
  unknown?: RawAttribute[];
}

/** Which rules rules.list() returns. family is filtered by the kernel; the rest here (the
 * kernel takes no other filter in a rule dump request). */
export interface RuleFilter {
  /** Default: both. 4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10. */
  family?: FamilyInput;
  /** Only rules that look up this table. */
  table?: number | TableName;
  /** Only rules with this owner (FRA_PROTOCOL). */
  protocol?: number | ProtocolName;
  /** Only rules with this priority. */
  priority?: number;
}
