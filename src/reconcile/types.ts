/**
 * The reconciler's vocabulary: the state a host should have, the operations that get it
 * there, and what applying them did.
 */
import type { AddressSpec, FdbSpec, LinkChanges, LinkSpec, NeighborSpec, RouteSpec } from '../rtnl/types';

/** Everything a host should have. Anything not listed is left alone unless this reconciler
 * owns it (see ReconcilerOptions and the README's ownership rules). */
export interface DesiredState {
  /** Links that should exist, as links.add() takes them. */
  links?: LinkSpec[];
  /** Addresses that should exist. */
  addresses?: AddressSpec[];
  /** Routes that should exist (marked with the reconciler's protocol). */
  routes?: RouteSpec[];
  /** FDB entries that should exist. */
  fdb?: FdbSpec[];
  /** Neighbour entries that should exist. */
  neighbors?: NeighborSpec[];
}

/** The kinds of object the reconciler manages, one per DesiredState list. */
export type ObjectKind = 'link' | 'address' | 'route' | 'fdb' | 'neighbor';

/**
 * create: missing, will be added. update: present but different, changed in place.
 * recreate: present but different in a way the kernel cannot change in place, deleted and
 * added again. delete: owned but no longer desired.
 */
export type OpAction = 'create' | 'update' | 'recreate' | 'delete';

/** One change a Plan will make to one object. */
export interface Op {
  /** What happens to the object. */
  action: OpAction;
  /** Which kind of object. */
  kind: ObjectKind;
  /** The identity key: link name; "dev addr/len"; "dst table N" for routes; ... */
  key: string;
  /** Why, for a person: "missing", "mtu 1500 -> 1450", "not desired any more". */
  reason: string;
  /** The spec to apply (create, update, recreate). Routes: the spec as given; it is sent
   * with the reconciler's protocol. */
  desired?: LinkSpec | AddressSpec | RouteSpec | FdbSpec | NeighborSpec;
  /** What the kernel has now (update, recreate, delete). */
  actual?: unknown;
  /** For link updates: the in-place changes (links.set) and whether kind attributes change
   * (links.change). */
  linkPatch?: { set: LinkChanges; kindAttributes: boolean };
}

/** A desired object whose key is held by something this reconciler does not own. */
export interface Conflict {
  /** Which kind of object. */
  kind: ObjectKind;
  /** The identity key both objects share. */
  key: string;
  /** Why it was left alone, for a person. */
  reason: string;
  /** The spec that was wanted. */
  desired: unknown;
  /** The foreign object the kernel has. */
  actual: unknown;
}

/**
 * What a reconcile would change: the ops in the order they will be applied (links first, then
 * addresses, neighbours and FDB, routes last; deletions after all creations, in reverse), and
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
  /** One line per op, like a terraform plan: "+", "~", "-/+", "-", and "!" for conflicts. */
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

/** How a Reconciler recognises what it owns. */
export interface ReconcilerOptions {
  /**
   * The route protocol number (rtm_protocol) that marks routes as this reconciler's. Only
   * routes carrying it are ever replaced or deleted. Default 77 (RTPROT_NETLINK_AGENT), unused
   * by the kernel and by iproute2's /etc/iproute2/rt_protos.
   */
  protocol?: number;
  /** Take over a foreign route that holds a desired key (replace it with ours) instead of
   * reporting a conflict. Default false. */
  adoptConflicts?: boolean;
  /** The alias (IFLA_IFALIAS) that marks links this reconciler created, so that it can delete
   * them when they leave the desired state, also after a restart. Default "netlink-agent". */
  linkOwnerAlias?: string;
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
}

/**
 * The events a Reconciler emits (it is an EventEmitter).
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
  /** In watch mode: a cycle threw (e.g. a dump failed) or the monitor failed; it will retry. */
  error: (error: Error) => void;
  /** In watch mode: a cycle ended with every op applied and no conflicts. */
  converged: () => void;
}

/** The default owner tag for routes: see ReconcilerOptions.protocol. */
export const RTPROT_NETLINK_AGENT = 77;
