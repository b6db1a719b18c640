/**
 * The wire layer: bytes, attributes, errors, the netlink socket and generic netlink. Knows
 * nothing of rtnetlink objects.
 *
 * @module
 */
export * from './constants';
export * from './errors';
export { errnoMessage, errnoName } from '../addon/errno';
// Deprecated aliases (one release): the address codecs now live in the values layer.
export * from '../values/ip';
export { parseMacInto, formatMac } from '../values/mac';
export * from './reader';
export * from './writer';
export * from './attrs';
export * from './struct';
export { parseAckError, type AckError } from './ack';
export { NETLINK_ROUTE, native, nativeKernel, type NativeAddon, type NativeFlock, type NativeNetns, type NativeSocket, type NetlinkKernel, type ReceivedBatch } from '../addon';
export * from './socket';
export * from './genl-constants';
export * from './genl-codec';
export * from './genl';
