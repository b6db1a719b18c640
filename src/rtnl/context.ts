import type { NetlinkKernel } from '../addon';
import type { NetlinkSocket } from '../wire/socket';
import type { DeviceResolver } from './resolve';

/** What every object kind (links, routes, ...) shares: one socket in one namespace. */
export interface RtnlContext {
  socket: NetlinkSocket;
  devices: DeviceResolver;
  /** The namespace the socket lives in (a path), when not the caller's own. */
  netnsPath?: string;
  /** The kernel the socket was opened on, when not the real one (RtnlOptions.kernel): other
   * sockets (monitors, a namespace a link is created in) are opened there too. */
  kernel?: NetlinkKernel;
}
