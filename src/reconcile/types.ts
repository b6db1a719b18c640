/**
 * The reconciler's vocabulary: the state a host should have, the operations that get it
 * there, and what applying them did.
 */
import type { AddressSpec, FdbSpec, LinkSpec, NeighborSpec, RouteSpec } from '../rtnl/types';
import type { AddressConflict, AddressOp } from './kinds/address/types';
import type { FdbConflict, FdbOp, NamedNexthopFdb } from './kinds/fdb/types';
import type { LinkConflict, LinkOp } from './kinds/link/types';
import type { NeighborConflict, NeighborOp } from './kinds/neighbor/types';
import type { RouteConflict, RouteOp } from './kinds/route/types';
import type { DesiredNexthop, NexthopConflict, NexthopOp } from './kinds/nexthop/types';
import type { RuleConflict, RuleOp } from './kinds/rule/types';
import type { RuleSpec } from '../rtnl/rule/types';
import type { WireGuardConflict, WireGuardOp, WireGuardSpec } from './kinds/wireguard/types';

export type { AddressConflict, AddressOp } from './kinds/address/types';
export type { FdbConflict, FdbOp, NamedNexthopFdb } from './kinds/fdb/types';
export type { LinkConflict, LinkOp, LinkPatch } from './kinds/link/types';
export type { NeighborConflict, NeighborOp } from './kinds/neighbor/types';
export type { RouteConflict, RouteOp } from './kinds/route/types';
export type { DesiredNexthop, DesiredNexthopGroup, DesiredNexthopIdentity, DesiredNexthopMember, DesiredSingleNexthop, NexthopConflict, NexthopKey, NexthopOp } from './kinds/nexthop/types';
export type { RuleConflict, RuleOp } from './kinds/rule/types';

/** A desired route on a named desired nexthop: everything a RouteSpec has but the path
 * (via, dev, onlink, nexthops, nhid), which is the nexthop's. */
export type NamedNexthopRoute = Omit<RouteSpec, 'via' | 'dev' | 'onlink' | 'nexthops' | 'nhid'> & {
  /** The name of a desired nexthop (DesiredState.nexthops[].name). */
  nexthop: string;
};
export type { WireGuardConflict, WireGuardDeviceChange, WireGuardDeviceOp, WireGuardOp, WireGuardPeerOp, WireGuardSpec } from './kinds/wireguard/types';
export type { ConflictOf, EntryOp } from './engine/ops';

/** Everything a host should have: one list per kind. Anything not listed is left alone unless
 * this reconciler owns it (see ReconcilerOptions and the README's ownership rules). */
export interface DesiredState {
  /** Links that should exist, as links.add() takes them (no `netns`: a reconciler works in one
   * namespace; no `alias`: it is the owner's mark). */
  links?: LinkSpec[];
  /** Addresses that should exist. */
  addresses?: AddressSpec[];
  /** Routes that should exist (marked with the reconciler's protocol): a RouteSpec (with
   * `nhid` for a nexthop object by id), or `{ dst, nexthop: 'name' }` for a named one. */
  routes?: Array<RouteSpec | NamedNexthopRoute>;
  /** FDB entries that should exist: an FdbSpec, or `{ dev, mac, nexthop: 'name' }` on a named
   * desired FDB nexthop group (vxlan). */
  fdb?: Array<FdbSpec | NamedNexthopFdb>;
  /** Neighbour entries that should exist. */
  neighbors?: NeighborSpec[];
  /** Nexthop objects that should exist (marked with the reconciler's protocol), by id or by
   * name (a stable id is given; see the README's "Nexthop objects and rules"). */
  nexthops?: DesiredNexthop[];
  /** Policy rules that should exist (marked with the reconciler's protocol, FRA_PROTOCOL). */
  rules?: RuleSpec[];
  /** WireGuard device configurations (keys, port, fwmark, peers), one per device. */
  wireguard?: WireGuardSpec[];
}

/** The kinds of object the reconciler manages, one per DesiredState list. */
export type ObjectKind = Op['kind'];

/**
 * create: missing, will be added. update: present but different, changed in place.
 * recreate: present but different in a way the kernel cannot change in place, deleted and
 * added again. delete: owned but no longer desired.
 */
export type OpAction = 'create' | 'update' | 'recreate' | 'delete';

/** One change a Plan will make to one object: a union over the kinds, each with its own
 * desired and actual types (narrow on `kind`, then on `action`). */
export type Op = LinkOp | AddressOp | NeighborOp | FdbOp | RouteOp | NexthopOp | RuleOp | WireGuardOp;

/** A desired object left alone because another owner holds its key (or the link it is on). */
export type Conflict = LinkConflict | AddressConflict | NeighborConflict | FdbConflict | RouteConflict | NexthopConflict | RuleConflict | WireGuardConflict;

/**
 * What a reconcile would change: the ops in the order they will be applied (links first, then
 * addresses, nexthop objects, neighbours and FDB, routes, rules; deletions after all
 * creations, in reverse), and
 * the conflicts left alone.
 *
 * @example
 * ```ts
 * const plan = await rec.plan(desired);
 * if (!plan.empty) console.log(plan.text());
 * ```
 */
export interface Plan {
  /** The changes, in apply order. */
  ops: Op[];
  /** Desired objects left alone because a foreign object holds their key. */
  conflicts: Conflict[];
  /** True when there is nothing to do. */
  readonly empty: boolean;
  /** One line per op, like a terraform plan: "+", "~", "-/+", "-", "!" for conflicts; an op
   * that takes over another owner's object says "adopt". */
  text(): string;
}

/** An op the kernel refused while applying, with why. */
export interface FailedOp {
  /** The op that failed. */
  op: Op;
  /** Usually a NetlinkError (code, errno, kernelMessage). */
  error: Error;
}

/** What Reconciler.apply() did. Single-op kernel failures are listed here, not thrown. */
export interface ApplyResult {
  /** The plan that was applied. */
  plan: Plan;
  /** The ops that succeeded. */
  applied: Op[];
  /** The ops the kernel refused. */
  failed: FailedOp[];
  /** Every op succeeded and nothing is in conflict: the host is in the desired state. */
  converged: boolean;
  /** Modifying requests this apply sent (NEW/DEL/SET messages). */
  requests: number;
}

/**
 * Who a Reconciler is, and so what it owns: routes carrying its protocol, links carrying its
 * alias, and what sits on those links. Two reconcilers with different identities never touch
 * each other's objects; two with the same one in a namespace are refused (a lock per namespace,
 * see the README).
 */
export interface ReconcilerOptions {
  /**
   * The route protocol number (rtm_protocol) that marks routes as this reconciler's. Only
   * routes carrying it are ever replaced or deleted. Default 77 (RTPROT_NETLINK_AGENT), unused
   * by the kernel and by iproute2's rt_protos. The kernel's own protocols (0-4) and those
   * rt_protos names for routing daemons are refused unless allowReservedProtocol is set.
   */
  protocol?: number;
  /** The owner's name: 1-64 letters, digits, '.', '_', '-'. It names the lock and derives the
   * link alias. Default "netlink-agent". */
  owner?: string;
  /** The alias (IFLA_IFALIAS) that marks links this reconciler owns. Default: the owner name,
   * followed by "/<protocol>" when the protocol is not 77, so the default identity's alias is
   * "netlink-agent" as in earlier releases. */
  linkOwnerAlias?: string;
  /** Take over a foreign object that holds a desired key (a route of another protocol, a link
   * with another alias or none, an entry on such a link) instead of reporting a conflict; the
   * plan says "adopt". Default false. */
  adoptConflicts?: boolean;
  /** Own a reserved route protocol anyway (see protocol). Default false. */
  allowReservedProtocol?: boolean;
}

/** Timing of Reconciler.watch(): debounce, periodic resync and retry backoff. */
export interface WatchOptions {
  /** Full re-read and reconcile even without events. Default 30 s. */
  resyncIntervalMs?: number;
  /** Wait this long after an event for more before reconciling. Default 50 ms. */
  debounceMs?: number;
  /** Retry after failures: first delay, doubled each time up to maxBackoffMs. Default 200 ms / 30 s. */
  minBackoffMs?: number;
  /** Upper bound of the retry delay. Default 30 s. */
  maxBackoffMs?: number;
  /** Receive buffer of the event monitor's socket, bytes (the kernel doubles it). Default 4 MiB.
   * Events that do not fit are lost; the reconciler then re-reads everything (overflow). */
  monitorReceiveBufferBytes?: number;
  /**
   * After a cycle that left the kernel as desired, plan a new desired state or a few kernel
   * events by reading only the keys they touch (targeted requests), not everything: one node
   * joining an overlay of 5,000 costs its own route, neighbour and FDB entry. A new desired
   * state is compared by key only when its objects cannot change (Object.freeze, nested values
   * too): an unfrozen object could have been changed in place, so such a state is read whole
   * (events on an unchanged state are still read by key). Starts, resyncs, retries and event
   * overflows always read whole. Default true.
   */
  scopedCycles?: boolean;
}

/**
 * The events a Reconciler emits (it is an EventEmitter). A listener that throws is the
 * caller's bug, as with Node's EventEmitter: its exception propagates out of emit(), so from a
 * plan()/apply() call it rejects that call, and from a watch cycle (which runs on the event
 * loop) it is thrown as an uncaught exception. It is never turned into an 'error' event.
 *
 * @example
 * ```ts
 * rec.on('drift', (ops) => console.log('repairing', ops.length, 'changes'));
 * rec.on('error', (e) => console.error(e));
 * rec.watch(desired);
 * ```
 */
export interface ReconcilerEvents {
  /** A plan was computed (by plan(), apply() or a watch cycle). */
  plan: (plan: Plan) => void;
  /** An apply finished (also in watch mode); failures are in result.failed. */
  applied: (result: ApplyResult) => void;
  /** In watch mode: the kernel differed from the desired state (someone changed it). */
  drift: (ops: Op[]) => void;
  /** A desired object was left alone because a foreign object holds its key (once per plan). */
  conflict: (conflict: Conflict) => void;
  /** In watch mode: a cycle threw (e.g. a dump failed) or the monitor failed; it will retry.
   * Also: another reconciler with this identity holds the namespace (OwnerBusyError, once). */
  error: (error: Error) => void;
  /** In watch mode: a cycle ended with every op applied and no conflicts. */
  converged: () => void;
  /** In watch mode: a cycle starts (why it runs). A cycle that starts and never ends is a stuck reconciler. */
  cycleStart: (reason: CycleReason) => void;
  /** In watch mode: a cycle ended (why it ran, how long it took, how it ended): for metrics and health. */
  cycle: (cycle: WatchCycle) => void;
  /** In watch mode: the event monitor's receive buffer overflowed; events were lost and a full
   * re-read follows (a cycle with reason 'overflow'). */
  overflow: () => void;
}

/** Why a watch cycle ran: the first one, a relevant kernel event, the periodic resync, an event
 * overflow, a retry after failures, or a new desired state (setDesired, watch again). */
export type CycleReason = 'start' | 'event' | 'resync' | 'overflow' | 'retry' | 'desired';

/** One watch cycle, as the 'cycle' event reports it. */
export interface WatchCycle {
  reason: CycleReason;
  /** Wall time of the cycle (read, plan, apply), ms. */
  durationMs: number;
  /** 'done': every op applied (converged unless conflicts remain); 'failed-ops': some op
   * failed, retried with backoff; 'error': the cycle threw (a dump failed), retried too. */
  outcome: 'done' | 'failed-ops' | 'error';
  /** Whether the cycle read only the keys that changed (WatchOptions.scopedCycles): no dump of a whole kind. */
  scoped: boolean;
}
