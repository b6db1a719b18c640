/**
 * The neighbour tables of one namespace (ARP for IPv4, NDP for IPv6) and their proxy entries.
 * FDB entries live with the devices that own them (vxlan, bridge, the default unicast list):
 * see fdb.ts.
 */
import type { Device } from './device';
import { sameBytes } from './message';

/** One neighbour entry. */
export interface NeighEntry {
  family: 4 | 6;
  dev: Device;
  dst: Buffer;
  lladdr: Buffer | undefined;
  /** NUD_* state. */
  state: number;
  /** NTF_* flags (NTF_ROUTER...). */
  flags: number;
  /** NDA_PROTOCOL, when set. */
  protocol: number;
}

/** One proxy entry (pneigh). */
export interface ProxyEntry {
  family: 4 | 6;
  dev: Device | undefined;
  dst: Buffer;
  flags: number;
  protocol: number;
}

/** Neighbour and proxy entries, in creation order (the fake's dump order). */
export class NeighStore {
  readonly entries: NeighEntry[] = [];
  readonly proxies: ProxyEntry[] = [];

  find(family: 4 | 6, dev: Device, dst: Buffer): NeighEntry | undefined {
    return this.entries.find((e) => e.family === family && e.dev === dev && sameBytes(e.dst, dst));
  }

  findProxy(family: 4 | 6, dev: Device | undefined, dst: Buffer): ProxyEntry | undefined {
    return this.proxies.find((e) => e.family === family && e.dev === dev && sameBytes(e.dst, dst));
  }

  remove(e: NeighEntry): void {
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
  }

  /** Removes and returns every entry on a device. */
  removeDevice(dev: Device): { entries: NeighEntry[]; proxies: ProxyEntry[] } {
    const entries = this.entries.filter((e) => e.dev === dev);
    const proxies = this.proxies.filter((e) => e.dev === dev);
    for (const e of entries) this.remove(e);
    for (const p of proxies) this.proxies.splice(this.proxies.indexOf(p), 1);
    return { entries, proxies };
  }
}
