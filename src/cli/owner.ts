/**
 * Who owns what the commands write. Every object a reconciler changes carries its owner's
 * identity: routes its route protocol, links an alias derived from its owner name and protocol
 * (addresses, neighbours and FDB entries belong to whoever owns their link). Two owners never
 * touch each other's objects, so `overlay` and `apply`/`watch --config` can run in one
 * namespace: their defaults differ (`overlay`: owner netlink-agent-overlay, protocol 78;
 * plan/apply/watch: owner netlink-agent, protocol 77, the library's and earlier releases'
 * identity), and both take --owner and --protocol.
 *
 * The Reconciler carries the identity (its `owner` and `protocol` options): links get the alias
 * it derives (the owner name, plus "/<protocol>" when the protocol is not 77), and it refuses a
 * second reconciler with the same identity in one namespace.
 */
import type { ReconcilerOptions } from '../reconcile/types';

/** An owner identity as the commands take it. */
export interface OwnerIdentityFlags {
  /** --owner: the owner's name. */
  owner?: string;
  /** --protocol: the route protocol its routes carry. */
  protocol?: number;
}

/** The identity of plan, apply and watch unless told otherwise (the library's default). */
export const CONFIG_OWNER = { owner: 'netlink-agent', protocol: 77 } as const;
/** The identity of overlay unless told otherwise: not the config commands', so both can run in one namespace. */
export const OVERLAY_OWNER = { owner: 'netlink-agent-overlay', protocol: 78 } as const;

/** Owner names as the Reconciler accepts them (they name lock files and link aliases), checked
 * when the command line is parsed. */
export const OWNER_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** An identity resolved: the given flags over the command's defaults. */
export interface ResolvedOwner {
  owner: string;
  protocol: number;
  /** What the Reconciler takes for it. */
  reconciler: ReconcilerOptions;
}

/** The identity of a command: the given flags over its defaults. */
export function resolveOwner(flags: OwnerIdentityFlags, defaults: { owner: string; protocol: number }): ResolvedOwner {
  const owner = flags.owner ?? defaults.owner;
  const protocol = flags.protocol ?? defaults.protocol;
  return { owner, protocol, reconciler: { owner, protocol } };
}
