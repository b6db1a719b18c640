/** The reconciler: desired state in, minimal kernel changes out, kept converged. */
export { Reconciler } from './reconciler';
export { OwnerBusyError } from './engine/lock';
export { RTPROT_NETLINK_AGENT, DEFAULT_OWNER, RESERVED_PROTOCOLS, type OwnerIdentity } from './engine/owner';
export { NAMED_NEXTHOP_ID_BASE, NAMED_NEXTHOP_ID_SPAN } from './kinds/nexthop/ids';
export * from './types';
