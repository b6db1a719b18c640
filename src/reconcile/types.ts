/**
 * The reconciler's vocabulary: the state a host should have, the operations that get it
 * there, and what applying them did.
 */
import type { AddressSpec, FdbSpec, LinkChanges, LinkSpec, NeighborSpec, RouteSpec } from '../rtnl/types';

/** Everything a host should have. Anything not listed is left alone unless this reconciler
 * owns it (see ReconcilerOptions and the README's ownership rules). */
export interface DesiredState {
  links?: LinkSpec[];
  addresses?: AddressSpec[];
  routes?: RouteSpec[];
  fdb?: FdbSpec[];
  neighbors?: NeighborSpec[];
}

export type ObjectKind = 'link' | 'address' | 'route' | 'fdb' | 'neighbor';

/**
 * create: missing, will be added. update: present but different, changed in place.
 * recreate: present but different in a way the kernel cannot change in place, deleted and
 * added again. delete: owned but no longer desired.
 */
export type OpAction = 'create' | 'update' | 'recreate' | 'delete';

export interface Op {
  action: OpAction;
  kind: ObjectKind;
  /** The identity key: link name; "dev addr/len"; "table family dst tos metric"; ... */
  key: string;
  /** Why, for a person: "missing", "mtu 1500 -> 1450", "not desired any more". */
  reason: string;
  /** The spec to apply (create, update, recreate). */
  desired?: LinkSpec | AddressSpec | RouteSpec | FdbSpec | NeighborSpec;
  /** What the kernel has now (update, recreate, delete). */
  actual?: unknown;
  /** For link updates: the in-place changes (links.set) and whether kind attributes change
   * (links.change). */
  linkPatch?: { set: LinkChanges; kindAttributes: boolean };
}

/** A desired object whose key is held by something this reconciler does not own. */
export interface Conflict {
  kind: ObjectKind;
  key: string;
  reason: string;
  desired: unknown;
  actual: unknown;
}

export interface Plan {
  ops: Op[];
  /** Desired objects left alone because a foreign object holds their key. */
  conflicts: Conflict[];
  /** True when there is nothing to do. */
  readonly empty: boolean;
  /** One line per op, like a terraform plan: "+", "~", "-/+", "-", and "!" for conflicts. */
  text(): string;
}

export interface FailedOp {
  op: Op;
  error: Error;
}

export interface ApplyResult {
  plan: Plan;
  applied: Op[];
  failed: FailedOp[];
  /** Every op succeeded and nothing is in conflict: the host is in the desired state. */
  converged: boolean;
  /** Modifying requests this apply sent (NEW/DEL/SET messages). */
  requests: number;
}

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

export interface WatchOptions {
  /** Full re-read and reconcile even without events. Default 30 s. */
  resyncIntervalMs?: number;
  /** Wait this long after an event for more before reconciling. Default 50 ms. */
  debounceMs?: number;
  /** Retry after failures: first delay, doubled each time up to maxBackoffMs. Default 200 ms / 30 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Receive buffer of the event monitor's socket, bytes (the kernel doubles it). Default 4 MiB.
   * Events that do not fit are lost; the reconciler then re-reads everything (overflow). */
  monitorReceiveBufferBytes?: number;
}

export interface ReconcilerEvents {
  plan: (plan: Plan) => void;
  applied: (result: ApplyResult) => void;
  /** In watch mode: the kernel differed from the desired state (someone changed it). */
  drift: (ops: Op[]) => void;
  conflict: (conflict: Conflict) => void;
  error: (error: Error) => void;
  converged: () => void;
}

/** The default owner tag for routes: see ReconcilerOptions.protocol. */
export const RTPROT_NETLINK_AGENT = 77;
