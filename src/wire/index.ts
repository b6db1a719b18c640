/** The wire layer: bytes, attributes, errors, the netlink socket and generic netlink. Knows nothing of rtnetlink objects. */
export * from './constants';
export * from './errors';
export * from './ip';
export * from './reader';
export * from './writer';
export * from './attrs';
export { parseAckError, type AckError } from './ack';
export { native, type NativeAddon, type NativeFlock, type NativeNetns, type NativeSocket, type ReceivedBatch } from './native';
export * from './socket';
export * from './genl-constants';
export * from './genl-codec';
export * from './genl';
