/** The typed rtnetlink layer: links, addresses, routes, neighbours, FDB and events. */
export * as constants from './constants';
export * from './types';
export * from './validate';
export * from './names';
export { DeviceResolver } from './resolve';
export type { RtnlContext } from './context';
export { Rtnl, type RtnlOptions } from './rtnl';
export { Links, parseLinkMessage } from './link';
export { Addresses, parseAddressMessage } from './address';
export { Routes, parseRouteMessage } from './route';
export { Neighbors, parseNeighborMessage } from './neighbor';
export { Fdb, parseFdbMessage } from './fdb';
export { Monitor, type MonitorGroup, type MonitorOptions } from './monitor';
