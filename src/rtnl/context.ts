import type { NetlinkSocket } from '../wire/socket';
import type { DeviceResolver } from './resolve';

/** What every object kind (links, routes, ...) shares: one socket in one namespace. */
export interface RtnlContext {
  socket: NetlinkSocket;
  devices: DeviceResolver;
  /** The namespace the socket lives in (a path), when not the caller's own. */
  netnsPath?: string;
}
