/** The typed rtnetlink layer: links, addresses, routes, neighbours, FDB and events. */
export * as constants from './constants';
export * from './types';
export * from './validate';
/** The errors its methods throw for bad input (defined in the values layer). */
export { Problems, ValidationError, type Problem } from '../values/problems';
export * from './names';
export { DeviceResolver } from './resolve';
export type { RtnlContext } from './context';
export { Rtnl, type RtnlOptions } from './rtnl';
export { FieldTable, COMMON_SYNONYMS, type FieldDef, type FieldCheck } from './spec';
export {
  Links,
  parseLinkMessage,
  validateLinkSpec,
  validateLinkChanges,
  encodeLinkAdd,
  encodeLinkSet,
  planLinkChange,
  splitLinkChange,
  VXLAN_CHANGEABLE,
  VXLAN_IMMUTABLE,
  IPIP_CHANGEABLE,
  IPIP_IMMUTABLE,
  type LinkChangePlan,
  type LinkRefs,
  type VxlanField,
  type IpipField,
  linkKind,
  linkKindNames,
  linkKinds,
  LINK_KINDS,
  type SpecOf,
  type LinkOf,
  type LinkKindModule,
  type AnyLinkKind,
  type KindData,
  type KindLink,
  type KindSpec,
  type MtuBounds,
} from './link';
export { Addresses, parseAddressMessage, validateAddressSpec, encodeAddress } from './address';
export { Routes, RouteFacts, ParsedDsts, RouteText, RouteEncoder, RouteValidator, RouteSpecReader, type SpecFields, type AddManyOptions, type DelManyOptions, parseRouteMessage, validateRouteSpec, encodeRoute, expectedRoute, describeRoute, type DevIndex } from './route';
export { Neighbors, parseNeighborMessage, validateNeighborSpec, encodeNeighbor, encodeNeighborGet, type NeighborKey } from './neighbor';
export { Fdb, parseFdbMessage, validateFdbSpec, encodeFdb, encodeFdbGet, type FdbKey } from './fdb';
export { NeighFacts } from './neigh-facts';
export type { ManyOptions } from './ndmsg';
export {
  Nexthops,
  describeNexthop,
  lookUpNexthops,
  parseNexthopMessage,
  parseNexthopBucketMessage,
  encodeNexthop,
  validateNexthopSpec,
  checkNexthopRefs,
  isGroupSpec,
  USER_HZ,
  type NexthopRef,
  type NexthopAddManyOptions,
  type NexthopDumpRequest,
} from './nexthop';
export { Rules, ruleKey, describeRule, parseRuleMessage, encodeRule, validateRuleSpec } from './rule';
export { Monitor, type MonitorGroup, type MonitorOptions, type MonitorEvent, type MonitorEvents } from './monitor';
