/**
 * netlink-agent: Linux networking over rtnetlink, from Node.js, without running other programs.
 * This file only re-exports the public surface of each layer.
 */
export * from './values';
export * as wire from './wire';
export {
  NetlinkSocket,
  NetlinkError,
  NetlinkParseError,
  NetlinkTimeoutError,
  NetlinkClosedError,
  BatchResult,
  MessageWriter,
  GenlSocket,
  GenlFamilyNotFoundError,
} from './wire';
export type { NetlinkSocketOptions, RequestOptions, DumpOptions, BatchOptions, MessageView, GenlSocketOptions, GenlRequestOptions, GenlFamily, GenlEncode } from './wire';
export * from './rtnl';
export * from './genl';
export * from './netns';
export * from './reconcile';
export * from './overlay';
export * from './membership';
export * as cni from './cni';
export * from './memory';
export * from './metrics';
