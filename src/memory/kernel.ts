/**
 * MemoryKernel: a Linux kernel at the rtnetlink message level, in memory, for tests without
 * root. It implements the addon's socket interface, so NetlinkSocket, Rtnl, monitors and the
 * reconciler run on it unchanged; and it has namespaces and test controls (fail a request,
 * interrupt a dump, overflow or drop events, count requests).
 */
import { constants as osConstants } from 'node:os';
import { NETLINK_ROUTE, type NativeSocket, type NetlinkKernel } from '../addon';
import { NETNS_RUN_DIR } from '../values/names';
import { destroyNamespace, receive, type Controls } from './dispatch';
import { ARPHRD_LOOPBACK, Device, type LinkKind } from './device';
import { KINDS } from './kinds';
import { registerDevice } from './link';
import { MemorySocket, systemError, type SocketHost } from './socket';
import { NsState, type KernelCore } from './state';
import { IFF_LOOPBACK } from '../rtnl/constants';

const { ENOENT, EEXIST, EPROTONOSUPPORT, EBADF, EINVAL } = osConstants.errno;

/** Options of a MemoryKernel. */
export interface MemoryKernelOptions {
  /** The link kinds it has (IFLA_INFO_KIND names); default all it models: veth, vxlan,
   * bridge, macvlan, ipip. A kind left out is EOPNOTSUPP "Unknown device type", as on a
   * kernel without that module. */
  kinds?: string[];
}

/** Which requests MemoryNamespace.failNext() refuses. */
export interface FailOptions {
  /** Only requests of this nlmsg_type (RTM_NEWROUTE...); default: the next request of any type. */
  type?: number;
  /** The extended-ack text to answer with. */
  message?: string;
  /** How many requests to refuse. Default 1. */
  count?: number;
}

/** The name the initial namespace goes by (the caller's own, for Rtnl.open() without netns). */
export const INITIAL_NAMESPACE = '';

/**
 * One network namespace of a MemoryKernel, with the test controls that act on it. Made by
 * MemoryKernel.createNamespace(); the initial one is MemoryKernel.initial.
 */
export class MemoryNamespace {
  private readonly controls: Controls = { failures: [], interruptDumps: 0, requests: new Map() };

  /** @internal */
  constructor(
    /** The namespace's name ('' for the initial one); Rtnl.open({ netns: name }) opens it. */
    readonly name: string,
    private readonly state: NsState,
    private readonly sockets: () => Iterable<MemorySocket>,
  ) {}

  /** @internal The dispatcher's view. */
  get internals(): { state: NsState; controls: Controls } {
    return { state: this.state, controls: this.controls };
  }

  /** Refuses the next request (of `type`, if given) with errno (a number or a name such as
   * 'EBUSY') and, optionally, an extended-ack text; count requests in a row when given. */
  failNext(errno: number | string, opts: FailOptions = {}): void {
    const n = typeof errno === 'number' ? errno : (osConstants.errno as Record<string, number>)[errno];
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`failNext: unknown errno ${String(errno)}`);
    this.controls.failures.push({ errno: n, message: opts.message, type: opts.type, count: opts.count ?? 1 });
  }

  /** Marks the next `count` dumps NLM_F_DUMP_INTR (as if the table changed during each):
   * NetlinkSocket restarts them. */
  interruptNextDump(count = 1): void {
    this.controls.interruptDumps += count;
  }

  /** Every socket of this namespace that joined a multicast group gets ENOBUFS, as when the
   * kernel could not queue an event for it: monitors report 'overflow' and re-read. */
  overflowMonitors(): void {
    for (const s of this.sockets()) if (s.ns === this.state && s.groups.size) s.overflow();
  }

  /** The next `count` events of this namespace are lost without a trace (no ENOBUFS): what a
   * periodic resync exists for. Replaces an earlier count; dropEvents(0) lets events flow again. */
  dropEvents(count: number): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`dropEvents: ${count} is not a count`);
    this.state.dropEvents = count;
  }

  /** Requests received by this namespace: of one nlmsg_type, or all when type is left out. */
  requests(type?: number): number {
    if (type !== undefined) return this.controls.requests.get(type) ?? 0;
    let n = 0;
    for (const v of this.controls.requests.values()) n += v;
    return n;
  }

  /** Forgets the request counts. */
  resetRequests(): void {
    this.controls.requests.clear();
  }

  /** Names of the devices in index order (a quick look for tests; use Rtnl to read details). */
  deviceNames(): string[] {
    return this.state.sortedDevices().map((d) => d.name);
  }
}

/**
 * An in-memory Linux kernel for tests: rtnetlink (links, addresses, routes, neighbours, FDB,
 * dumps, events) in any number of network namespaces, with no root and no real kernel.
 * It behaves like Linux 6.18 where the contract tests (test/rtnl/contract/) hold it to that, and
 * documents where it does not (README, "Testing your agent without root").
 *
 * @example
 * ```ts
 * const kernel = new MemoryKernel();
 * const host1 = kernel.createNamespace('host1');
 * const nl = await Rtnl.open({ kernel, netns: 'host1' });
 * await nl.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth0p' }, up: true });
 * host1.failNext('EBUSY', { type: constants.RTM_NEWROUTE });   // the next route add fails
 * ```
 */
export class MemoryKernel implements NetlinkKernel {
  /** The initial namespace (Rtnl.open() without netns). */
  readonly initial: MemoryNamespace;
  private readonly byName = new Map<string, MemoryNamespace>();
  private readonly states = new Set<NsState>();
  private readonly socketSet = new Set<MemorySocket>();
  private readonly fds = new Map<number, NsState>();
  private readonly kindMap: Map<string, LinkKind>;
  private nextPort = 0x4000_0000;
  private nextFd = 1_000_000;
  private readonly core: KernelCore;
  private readonly host: SocketHost;

  constructor(options: MemoryKernelOptions = {}) {
    const wanted = options.kinds ? new Set(options.kinds) : undefined;
    this.kindMap = new Map(KINDS.filter((k) => !wanted || wanted.has(k.name)).map((k) => [k.name, k]));
    const self = this;
    this.core = {
      broadcast: (ns, group, msg) => {
        for (const s of this.socketSet) if (s.ns === ns && s.groups.has(group)) s.deliverEvent(Buffer.from(msg));
      },
      namespaceByFd: (fd) => this.fds.get(fd),
      kinds: this.kindMap,
      get namespaces() {
        return self.states;
      },
    };
    this.host = {
      receive: (sock, bytes) => receive(sock, this.namespaceOf(sock.ns).internals.controls, bytes),
      toPort: (port, bytes, from) => {
        for (const s of this.socketSet) {
          if (s.port === port) {
            s.deliverFrom(bytes, from);
            return true;
          }
        }
        return false;
      },
      closed: (sock) => this.socketSet.delete(sock),
    };
    this.initial = this.makeNamespace(INITIAL_NAMESPACE);
  }

  private makeNamespace(name: string): MemoryNamespace {
    const state = new NsState(this.core, name);
    // Every namespace starts with its loopback device, down.
    const lo = new Device(state, 'lo', undefined);
    lo.type = ARPHRD_LOOPBACK;
    lo.flags = IFF_LOOPBACK;
    lo.mtu = 65536;
    lo.minMtu = 0;
    lo.maxMtu = 0;
    lo.address = Buffer.alloc(6);
    lo.broadcast = Buffer.alloc(6);
    registerDevice(state, lo);
    this.states.add(state);
    const ns = new MemoryNamespace(name, state, () => this.socketSet);
    this.byName.set(name, ns);
    return ns;
  }

  private namespaceOf(state: NsState): MemoryNamespace {
    for (const ns of this.byName.values()) if (ns.internals.state === state) return ns;
    // A deleted namespace whose sockets are still open: controls of its own.
    return new MemoryNamespace(state.name, state, () => this.socketSet);
  }

  /** Creates a namespace (what `ip netns add NAME` does): Rtnl.open({ kernel, netns: NAME })
   * and a veth peer's or a link's `netns: NAME` then reach it. Throws a Node-style EEXIST
   * error when it exists. */
  createNamespace(name: string): MemoryNamespace {
    if (typeof name !== 'string' || name === '' || name.includes('/') || name.includes('\0')) {
      throw systemError(EINVAL, 'mkdir', String(name));
    }
    if (this.byName.has(name)) throw systemError(EEXIST, 'mkdir', `${NETNS_RUN_DIR}/${name}`);
    return this.makeNamespace(name);
  }

  /** Deletes a namespace (`ip netns del`): its devices go (a veth's peer elsewhere too); sockets
   * still open on it stay, on an empty namespace. Throws a Node-style ENOENT error when absent. */
  deleteNamespace(name: string): void {
    const ns = this.byName.get(name);
    if (!ns || name === INITIAL_NAMESPACE) throw systemError(ENOENT, 'umount', `${NETNS_RUN_DIR}/${name}`);
    this.byName.delete(name);
    destroyNamespace(ns.internals.state);
    this.states.delete(ns.internals.state);
  }

  /** A namespace by name ('' for the initial one), or undefined. */
  namespace(name: string): MemoryNamespace | undefined {
    return this.byName.get(name);
  }

  /** The names of the namespaces created (not the initial one). */
  namespaces(): string[] {
    return [...this.byName.keys()].filter((n) => n !== INITIAL_NAMESPACE);
  }

  private resolve(path: string | null, fd: number): NsState {
    if (fd >= 0) {
      const s = this.fds.get(fd);
      if (!s) throw systemError(EBADF, 'setns');
      return s;
    }
    if (path === null) return this.initial.internals.state;
    const prefix = `${NETNS_RUN_DIR}/`;
    const name = path.startsWith(prefix) ? path.slice(prefix.length) : path;
    const ns = this.byName.get(name);
    if (!ns || name === INITIAL_NAMESPACE) throw systemError(ENOENT, 'open', path);
    return ns.internals.state;
  }

  /** NetlinkKernel: a socket in the namespace at netnsPath (/run/netns/NAME or NAME) or behind
   * netnsFd, else in the initial one. Only NETLINK_ROUTE (EPROTONOSUPPORT otherwise). */
  openSocket(protocol: number, netnsPath: string | null, netnsFd: number): NativeSocket {
    if (protocol !== NETLINK_ROUTE) throw systemError(EPROTONOSUPPORT, 'socket');
    const state = this.resolve(netnsPath, netnsFd);
    const s = new MemorySocket(this.host, state, this.nextPort++, protocol);
    this.socketSet.add(s);
    return s;
  }

  /** NetlinkKernel: a descriptor for a namespace (IFLA_NET_NS_FD). ENOENT when it does not exist. */
  openNetns(path: string): number {
    const state = this.resolve(path, -1);
    const fd = this.nextFd++;
    this.fds.set(fd, state);
    return fd;
  }

  /** NetlinkKernel: closes a descriptor from openNetns(). */
  closeNetns(fd: number): void {
    this.fds.delete(fd);
  }

  /** How many sockets are open (tests check that monitors and handles close theirs). */
  openSockets(): number {
    return this.socketSet.size;
  }
}
