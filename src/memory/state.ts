/**
 * One network namespace of the in-memory kernel: its devices (with ifindex allocation as the
 * kernel does it), addresses, routing tables, neighbours, namespace ids, and how it announces
 * changes to the sockets that joined its multicast groups.
 */
import { MessageWriter } from '../wire/writer';
import type { Device, LinkKind } from './device';
import type { Ifaddr } from './address';
import { RouteStore } from './route-store';
import { NeighStore } from './neigh-store';

/** What a namespace needs from the kernel it lives in. */
export interface KernelCore {
  /** Delivers one notification to every socket of `ns` that joined `group`. */
  broadcast(ns: NsState, group: number, msg: Buffer): void;
  /** The namespace behind an fd from openNetns() (IFLA_NET_NS_FD), if any. */
  namespaceByFd(fd: number): NsState | undefined;
  /** The link kinds this kernel has, by IFLA_INFO_KIND. */
  readonly kinds: ReadonlyMap<string, LinkKind>;
  /** Every namespace (for link-state settling across veth pairs). */
  readonly namespaces: Iterable<NsState>;
}

/** The request being handled: notifications it causes carry its port id and sequence number. */
export interface Cause {
  pid: number;
  seq: number;
}

/** One namespace's state. */
export class NsState {
  /** Devices by ifindex. */
  readonly devices = new Map<number, Device>();
  /** Devices by name. */
  readonly names = new Map<string, Device>();
  /** Addresses of every family, in the order the kernel lists them per device. */
  readonly addrs: Ifaddr[] = [];
  /** Routing tables of both families. */
  readonly routes: RouteStore;
  /** Neighbour (ARP/NDP) tables and proxy entries. */
  readonly neigh = new NeighStore();
  /** Peer namespaces by the id this one knows them by (peernet2id). */
  readonly nsids = new Map<NsState, number>();
  /** The request being handled, if any. */
  cause: Cause | undefined;
  /** Notifications still to drop (a test control: events lost without ENOBUFS). */
  dropEvents = 0;
  /** Whether the namespace was deleted (its sockets live on, empty). */
  dead = false;
  private nextIndex = 1;

  constructor(
    readonly kernel: KernelCore,
    readonly name: string,
  ) {
    this.routes = new RouteStore(this);
  }

  /** dev_index_reserve(): the next free index after the last one given (cyclic), as Linux 6.x. */
  allocIndex(): number {
    for (;;) {
      const i = this.nextIndex;
      this.nextIndex = i >= 0x7fffffff ? 1 : i + 1;
      if (!this.devices.has(i)) return i;
    }
  }

  /** Takes a specific index if it is free (a device moving in keeps its index when it can). */
  reserveIndex(i: number): boolean {
    return i > 0 && !this.devices.has(i);
  }

  /** The devices in index order (how dumps list them). */
  sortedDevices(): Device[] {
    return [...this.devices.values()].sort((a, b) => a.index - b.index);
  }

  /** The id this namespace gives `other` (peernet2id_alloc: the lowest free, from 0). */
  nsidOf(other: NsState): number {
    let id = this.nsids.get(other);
    if (id === undefined) {
      const used = new Set(this.nsids.values());
      id = 0;
      while (used.has(id)) id++;
      this.nsids.set(other, id);
    }
    return id;
  }

  /** Builds one message and announces it to `group` (pid/seq of the request that caused it). */
  notify(group: number, type: number, flags: number, fill: (w: MessageWriter) => void): void {
    if (this.dead) return;
    if (this.dropEvents > 0) {
      this.dropEvents--;
      return;
    }
    const w = new MessageWriter(512);
    w.begin(type, flags);
    fill(w);
    w.end();
    const msg = Buffer.from(w.bytes());
    msg.writeUInt32LE(this.cause?.seq ?? 0, 8);
    msg.writeUInt32LE(this.cause?.pid ?? 0, 12);
    this.kernel.broadcast(this, group, msg);
  }
}
