/**
 * Cluster membership: node records in etcd (EtcdMembership, with podCIDR allocation) or in a
 * JSON file (StaticMembership), validated before they reach an OverlayAgent (MembershipFeed).
 */
export {
  validateNodeRecord,
  screenNodes,
  toOverlayNodes,
  effectiveVtepMac,
  MAX_RECORD_BYTES,
  type NodeRecord,
  type SkippedRecord,
  type CandidateRecord,
  ScreenCache,
  type ScreenOptions,
  type ScreenResult,
  type Membership,
  type MembershipEvents,
  type MembershipStatus,
} from './types';
export { EtcdMembership, validateEtcdMembershipOptions, type EtcdMembershipOptions, type EtcdSelf, type EtcdStopOptions, type EtcdReadStats } from './etcd';
export { StaticMembership, type StaticMembershipOptions } from './static';
export { MembershipFeed, type NodeSink, type FeedOptions, type FeedEvents } from './feed';
export { claimSubnet, releaseSubnet, allocKeys, AllocationError, type ClaimOptions, type AllocKeys, type Reservation } from './allocate';
export { NameTakenError } from './name-lock';
export { EtcdAccessError, isLoopbackHost, type EtcdAccessProblem, type EtcdTlsOptions, type EtcdAuthOptions } from './etcd-access';
