import { NetlinkClosedError } from '../wire/errors';
import { GenlSocket } from '../wire/genl';
import { NetlinkSocket, type NetlinkSocketOptions } from '../wire/socket';
import type { RtnlContext } from './context';
import { Addresses } from './address';
import { Fdb } from './fdb';
import { Links } from './link';
import { Monitor, type MonitorOptions } from './monitor';
import { Neighbors } from './neighbor';
import { Nexthops } from './nexthop';
import { Rules } from './rule';
import { DeviceResolver } from './resolve';
import { Routes } from './route';
import { checkNetns, netnsPath } from '../values/names';
import { Problems } from '../values/problems';

/** How Rtnl.open() opens its socket: the namespace, plus NetlinkSocket's options (buffer sizes, acks, timeout). */
export interface RtnlOptions extends Omit<NetlinkSocketOptions, 'netnsPath' | 'protocol' | 'groups'> {
  /** Work inside this network namespace: a name under /run/netns ("host1") or an absolute
   * path (/proc/PID/ns/net). Left out (undefined): the caller's own namespace. Anything else
   * (an empty string from an unset variable, a relative path, a number) is a ValidationError,
   * never the caller's namespace. */
  netns?: string;
  // kernel (from NetlinkSocketOptions): a MemoryKernel here runs this handle, its monitors and
  // the namespaces its links go to on that in-memory kernel instead of the real one.
}

/**
 * An rtnetlink handle: one socket in one namespace, and the object kinds on it.
 *
 * Its methods throw ValidationError (every problem, before anything is sent) for bad specs and
 * NetlinkError (code such as 'EEXIST', errno, kernelMessage) when the kernel refuses.
 *
 * @example
 * ```ts
 * const nl = await Rtnl.open({ netns: 'host1' });
 * await nl.links.add({ kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789, dev: 'eth0', learning: false });
 * await nl.routes.replace({ dst: '192.168.11.0/24', via: '192.168.11.0', dev: 'vxlan0', onlink: true });
 * nl.close();
 * ```
 */
export class Rtnl {
  /** Links: add, set, change, del, get, list. */
  readonly links: Links;
  /** Interface addresses. */
  readonly addresses: Addresses;
  /** Routes, single and multipath, in any table. */
  readonly routes: Routes;
  /** Bridge / vxlan forwarding database entries. */
  readonly fdb: Fdb;
  /** Neighbour (ARP / NDP) entries. */
  readonly neighbors: Neighbors;
  /** Nexthop objects: single nexthops and groups that routes and vxlan FDB entries name by id. */
  readonly nexthops: Nexthops;
  /** Policy routing rules (IPv4 and IPv6). */
  readonly rules: Rules;
  /** Device name <-> index lookups used by the others. */
  readonly devices: DeviceResolver;
  private readonly ctx: RtnlContext;
  private readonly monitors = new Set<Monitor>();
  private genlSocket: GenlSocket | undefined;

  private constructor(
    readonly socket: NetlinkSocket,
    private readonly options: RtnlOptions,
  ) {
    this.devices = new DeviceResolver(socket);
    this.ctx = { socket, devices: this.devices, netnsPath: options.netns !== undefined ? netnsPath(options.netns) : undefined, kernel: options.kernel };
    this.links = new Links(this.ctx);
    this.addresses = new Addresses(this.ctx);
    this.routes = new Routes(this.ctx);
    this.fdb = new Fdb(this.ctx);
    this.neighbors = new Neighbors(this.ctx);
    this.nexthops = new Nexthops(this.ctx);
    this.rules = new Rules(this.ctx);
  }

  /** Opens a socket in the namespace asked for. Rejects with ValidationError for a netns that
   * is not a name or an absolute path (see RtnlOptions.netns), and with a Node-style error
   * (code, errno, syscall) when it cannot open, e.g. ENOENT naming the namespace when it does
   * not exist, or EPERM saying that entering another namespace needs CAP_SYS_ADMIN. */
  static async open(options: RtnlOptions = {}): Promise<Rtnl> {
    const { netns, ...sock } = options;
    if (netns !== undefined) {
      const p = new Problems();
      checkNetns(p, 'netns', netns);
      p.throwIfAny('Rtnl.open');
    }
    const path = netns !== undefined ? netnsPath(netns) : undefined;
    let socket: NetlinkSocket;
    try {
      socket = NetlinkSocket.open({ ...sock, netnsPath: path });
    } catch (e) {
      throw explainOpenError(e, path);
    }
    return new Rtnl(socket, options);
  }

  /** The namespace path this handle works in, or undefined for the caller's own. */
  get netnsPath(): string | undefined {
    return this.ctx.netnsPath;
  }

  /** Subscribes to kernel events on a socket of its own in the same namespace. Throws
   * ValidationError for bad options, NetlinkClosedError after close(), a Node-style error when
   * the socket cannot open.
   *
   * @example
   * ```ts
   * const mon = nl.monitor({ groups: ['route'] });
   * mon.on('route', ({ action, object }) => console.log(action, object.dst));
   * ```
   */
  monitor(opts: MonitorOptions): Monitor {
    // A monitor opens a socket of its own: on a closed handle it would be an orphan.
    if (this.socket.isClosed) throw new NetlinkClosedError('monitor');
    const m = new Monitor({ ...this.ctx }, opts, (closed) => this.monitors.delete(closed));
    this.monitors.add(m);
    return m;
  }

  /**
   * A generic netlink socket in this handle's namespace, for families such as WireGuard
   * (WireGuard.on(nl.genl())): opened on first use with this handle's socket options, kept
   * (its family ids cached) and closed with the handle. Throws NetlinkClosedError after
   * close(), Error on an in-memory kernel (it has no generic netlink), a Node-style error when
   * the socket cannot open.
   */
  genl(): GenlSocket {
    if (this.socket.isClosed) throw new NetlinkClosedError('genl');
    if (!this.genlSocket) {
      const { netns: _netns, kernel, ...rest } = this.options;
      if (kernel !== undefined) throw new Error('genl: generic netlink needs the real kernel; this Rtnl works on an in-memory kernel');
      this.genlSocket = GenlSocket.open({ ...rest, netnsPath: this.ctx.netnsPath });
    }
    return this.genlSocket;
  }

  /** The generic netlink socket genl() opened, if it did (for counters: opens nothing). */
  genlIfOpen(): GenlSocket | undefined {
    return this.genlSocket;
  }

  /** Requests sent so far that change state (NEW/DEL/SET, and generic netlink requests such as
   * WireGuard's SET_DEVICE on genl()), as opposed to reads (GET, dumps). */
  modifyingRequests(): number {
    let n = this.genlSocket?.modifyingRequests ?? 0;
    const t = this.socket.sentByType;
    for (let type = 16; type < t.length; type++) if ((type & 3) !== 2) n += t[type];
    return n;
  }

  /** Closes the socket and every monitor made from this handle; pending requests reject with NetlinkClosedError. */
  close(): void {
    for (const m of [...this.monitors]) m.close();
    this.genlSocket?.close();
    this.socket.close();
  }

  /** Options this handle was opened with (a monitor opens its socket with the same). */
  get openOptions(): RtnlOptions {
    return this.options;
  }
}

/** setns() into another namespace fails with a bare EPERM without CAP_SYS_ADMIN: say so. */
function explainOpenError(e: unknown, path: string | undefined): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err instanceof Error && err.code === 'EPERM' && err.syscall === 'setns') {
    err.message = `Rtnl.open: entering the network namespace ${path ?? ''} needs CAP_SYS_ADMIN (run as root): ${err.message}`;
  }
  return e;
}
