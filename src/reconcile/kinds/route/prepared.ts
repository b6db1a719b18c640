/**
 * A desired route once validated: its identity and the values the kernel will report, in two
 * lean shapes for the common case (a desired state holds 100k of them) and a general one.
 */
import { IP6_RT_PRIO_USER, canonicalDst, expectedRoute } from '../../../rtnl/route/expected';
import { RT_TABLE_MAIN } from '../../../rtnl/constants';
import type { DeviceRef, Route, RouteSpec } from '../../../rtnl/types';
import type { NexthopIds } from '../nexthop/ids';

/** A validated desired route, with its identity and the values the kernel will report. */
export interface PreparedRoute {
  /** The spec as given (the reconciler's protocol is added when it is sent). */
  readonly spec: RouteSpec;
  /** 4 or 6 (from dst, via or the spec's family). */
  readonly family: 4 | 6;
  /** Canonical dst ("default" for /0). */
  readonly dst: string;
  /** Table number (names resolved; default main). */
  readonly table: number;
  /** rtm_tos (default 0). */
  readonly tos: number;
  /** The metric the kernel will report (0 for IPv4, 1024 for IPv6 when none is given). */
  readonly metric: number;
  /** Devices the route names (dev and nexthop devs). */
  readonly devs: DeviceRef[];
  /** The device of a single-path route, or undefined (the kernel picks it from the gateway). */
  readonly devRef: DeviceRef | undefined;
  /** The devices of a multipath route's nexthops, in order. */
  readonly nexthopRefs: Array<DeviceRef | undefined>;
  /**
   * The common shape, a unicast `dst via gw dev D [onlink]` in the main table with nothing else
   * set (spec.via and spec.dev are strings; IPv4 or IPv6): compared field by field without
   * building an expected Route, or on the numbers of the dump (scan.ts).
   */
  readonly simple: boolean;
  /** The gateway of a simple route in canonical text (undefined for other routes). */
  readonly gateway: string | undefined;
  /** The gateway of a simple IPv4 route as an unsigned 32-bit number (-1 for other routes). */
  readonly gw4: number;
  /** spec.onlink === true. */
  readonly onlink: boolean;
  /** What the kernel will report once applied (device indexes are placeholders); built lazily. */
  expected: Route | undefined;
  /** A route on a named desired nexthop: the name (spec.nhid is then a placeholder, resolved
   * per plan by resolvedSpec). */
  readonly nexthopName?: string;
  /** The object given in the desired state, when spec is made from it (named nexthop routes). */
  readonly source?: unknown;
  /** True when the spec sets only dst (an IPv4 prefix in the main table) and a nexthop: unicast,
   * scope universe, nothing else to compare once the nhid matches. */
  readonly plainNhid?: boolean;
}

/** The spec to send: a named nexthop's route gets the id the nexthop kind gave it in this plan. */
export function resolvedSpec(d: PreparedRoute, ids: NexthopIds): RouteSpec {
  if (d.nexthopName === undefined) return d.spec;
  return { ...d.spec, nhid: ids.id(d.nexthopName) };
}

/** The nexthop id a desired route wants (explicit nhid or a named nexthop's), or undefined. */
export function wantedNhid(d: PreparedRoute, ids: NexthopIds): number | undefined {
  return d.nexthopName !== undefined ? ids.id(d.nexthopName) : d.spec.nhid;
}

const NO_REFS: Array<DeviceRef | undefined> = [];

/**
 * A simple IPv4 route in five fields, everything else derived from the spec or constant: a
 * desired state holds 100k of these, and a fourteen-field object each was most of its memory.
 */
export class SimpleRoute implements PreparedRoute {
  expected: Route | undefined = undefined;
  constructor(
    readonly spec: RouteSpec,
    readonly gw4: number,
    /** spec.onlink === true, kept: the read compares it for every route of every cycle. */
    readonly onlink: boolean,
    readonly devs: DeviceRef[],
  ) {}
  get simple(): boolean {
    return true;
  }
  get gateway(): string | undefined {
    return this.spec.via;
  }
  get family(): 4 {
    return 4;
  }
  get dst(): string {
    return this.spec.dst; // canonical: checked before one is made
  }
  get table(): number {
    return RT_TABLE_MAIN;
  }
  get tos(): number {
    return 0;
  }
  get metric(): number {
    return 0;
  }
  get devRef(): DeviceRef | undefined {
    return this.devs[0];
  }
  get nexthopRefs(): Array<DeviceRef | undefined> {
    return NO_REFS;
  }
}

/**
 * A simple IPv6 route: its canonical gateway text and the gateway as four words are kept (the
 * spec may spell it otherwise), the canonical dst made when first asked for; the rest is
 * derived or constant.
 */
export class SimpleRoute6 implements PreparedRoute {
  expected: Route | undefined = undefined;
  private dstText: string | undefined = undefined;
  constructor(
    readonly spec: RouteSpec,
    readonly gateway: string,
    /** The gateway as four big-endian signed 32-bit words, compared with RouteFacts'. */
    readonly g0: number,
    readonly g1: number,
    readonly g2: number,
    readonly g3: number,
    readonly onlink: boolean,
    readonly devs: DeviceRef[],
  ) {}
  get simple(): boolean {
    return true;
  }
  get gw4(): number {
    return -1;
  }
  get family(): 6 {
    return 6;
  }
  /** Canonical dst, made on first use (a no-op cycle never needs it). */
  get dst(): string {
    return (this.dstText ??= canonicalDst(this.spec.dst, 6));
  }
  get table(): number {
    return RT_TABLE_MAIN;
  }
  get tos(): number {
    return 0;
  }
  get metric(): number {
    return IP6_RT_PRIO_USER;
  }
  get devRef(): DeviceRef | undefined {
    return this.devs[0];
  }
  get nexthopRefs(): Array<DeviceRef | undefined> {
    return NO_REFS;
  }
}

/** The expected read-back of a prepared route (built once, on first use). */
export function expectedOf(d: PreparedRoute, protocol: number): Route {
  if (!d.expected) d.expected = expectedRoute({ ...d.spec, protocol }, () => 0);
  return d.expected;
}
