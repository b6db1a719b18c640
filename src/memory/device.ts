/**
 * A network device of the in-memory kernel, and what a link kind (veth, vxlan, bridge, macvlan,
 * ipip) supplies to it: its defaults, how IFLA_INFO_DATA creates and changes it, what it
 * reports, its carrier.
 */
import { randomBytes } from 'node:crypto';
import type { MessageWriter } from '../wire/writer';
import { IFF_BROADCAST, IFF_LOOPBACK, IFF_LOWER_UP, IFF_MULTICAST, IFF_RUNNING, IFF_UP, IF_OPER_DOWN, IF_OPER_LOWERLAYERDOWN, IF_OPER_UNKNOWN, IF_OPER_UP } from '../rtnl/constants';
import type { Attrs } from './message';
import type { NsState } from './state';

/** ARPHRD_* device types (include/uapi/linux/if_arp.h). */
export const ARPHRD_ETHER = 1;
/** An IPIP tunnel. */
export const ARPHRD_TUNNEL = 768;
/** The loopback device. */
export const ARPHRD_LOOPBACK = 772;

/** What creating a device gives a kind: the request's attributes and where things resolve. */
export interface NewLinkContext {
  /** The request's top-level attributes. */
  tb: Attrs;
  /** IFLA_INFO_DATA, when sent. */
  data: Attrs | undefined;
  /** The namespace the request came from (devices named by index resolve here). */
  src: NsState;
}

/** A link kind: the kernel's rtnl_link_ops, reduced to what the fake models. */
export interface LinkKind {
  /** IFLA_INFO_KIND. */
  readonly name: string;
  /** The kind's defaults (type, flags, MTU and its range): what the kernel's setup() does,
   * before the request's IFLA_MTU / IFLA_ADDRESS are applied. */
  setup(dev: Device): void;
  /** newlink(): reads IFLA_INFO_DATA and finishes the device. Runs before the device is
   * registered (it has no index yet). Throws KernelError to refuse. */
  create(dev: Device, ctx: NewLinkContext): void;
  /** After the device is registered (it has its index): kind work that needs it (a veth's
   * peer, a vxlan's default FDB entry). */
  registered?(dev: Device, ctx: NewLinkContext): void;
  /** Changes an existing device from IFLA_INFO_DATA; absent: EOPNOTSUPP. */
  change?(dev: Device, data: Attrs, tb: Attrs): void;
  /** Writes IFLA_INFO_DATA's contents; absent: no IFLA_INFO_DATA. */
  fill?(dev: Device, w: MessageWriter): void;
  /** Whether the device has carrier (when up). */
  carrier(dev: Device): boolean;
  /** Whether the kind reports carrier changes (veth, macvlan, bridge ports...); devices that
   * never do stay in operstate "unknown" while up, as vxlan and loopback do. */
  reportsOperstate(dev: Device): boolean;
  /** The MTU a change to `mtu` is refused with (ndo_change_mtu), or undefined to accept. */
  checkMtu?(dev: Device, mtu: number): number | undefined;
  /** The lower device or peer, when there is one (IFLA_LINK, "lowerlayerdown"). */
  lower?(dev: Device): Device | undefined;
  /** IFLA_LINK when it is not the lower device's index (an ipip tunnel without one: 0). */
  iflink?(dev: Device): number | undefined;
  /** Devices that go when this one is deleted (a veth's peer). */
  companions?(dev: Device): Device[];
}

/** One device in one namespace. */
export class Device {
  index = 0;
  /** Admin flags: IFF_UP, IFF_BROADCAST, IFF_MULTICAST, IFF_NOARP, IFF_POINTOPOINT, IFF_LOOPBACK. */
  flags = IFF_BROADCAST | IFF_MULTICAST;
  type = ARPHRD_ETHER;
  mtu = 1500;
  minMtu = 68;
  maxMtu = 65535;
  txqlen = 1000;
  numTxQueues = 1;
  numRxQueues = 1;
  address: Buffer = randomMac();
  broadcast: Buffer = Buffer.alloc(6, 0xff);
  /** NET_ADDR_SET: the address was given (a bridge then keeps it rather than its ports' lowest). */
  addressSetByUser = false;
  alias: string | undefined;
  master: Device | undefined;
  carrierChanges = 0;
  /** BROPT_MTU_SET_BY_USER, for bridges. */
  mtuSetByUser = false;
  /** Kind-specific state. */
  priv: Record<string, unknown> = {};
  /** The IPv6 link-local address was added (on the first up). */
  linkLocal = false;
  /** What the device last reported (flags/operstate/carrier/mtu), for linkwatch. */
  lastState: string | undefined;

  constructor(
    public ns: NsState,
    public name: string,
    readonly kind: LinkKind | undefined,
  ) {}

  get up(): boolean {
    return (this.flags & IFF_UP) !== 0;
  }

  /** netif_carrier_ok(): a device that is down has none. */
  get carrier(): boolean {
    if (!this.up) return false;
    return this.kind ? this.kind.carrier(this) : true;
  }

  /** dev_get_flags(): the admin flags plus IFF_RUNNING and IFF_LOWER_UP. */
  get reportedFlags(): number {
    let f = this.flags;
    if (this.up) {
      const op = this.operstate;
      if (op === IF_OPER_UP || op === IF_OPER_UNKNOWN) f |= IFF_RUNNING;
      if (this.carrier) f |= IFF_LOWER_UP;
    }
    return f;
  }

  /** IFLA_OPERSTATE (RFC 2863), as linkwatch leaves it once things have settled. */
  get operstate(): number {
    if (!this.up) return IF_OPER_DOWN;
    if (this.flags & IFF_LOOPBACK) return IF_OPER_UNKNOWN;
    if (this.kind && !this.kind.reportsOperstate(this)) return IF_OPER_UNKNOWN;
    if (this.carrier) return IF_OPER_UP;
    // default_operstate(): a device whose lower (by index, in its own namespace) has no
    // carrier either is "lowerlayerdown".
    const lower = this.kind?.lower?.(this);
    if (!lower) return IF_OPER_DOWN;
    const same = this.ns.devices.get(lower.index);
    return same && !same.carrier ? IF_OPER_LOWERLAYERDOWN : IF_OPER_DOWN;
  }

  /** Whether this device is a bridge. */
  get isBridge(): boolean {
    return this.kind?.name === 'bridge';
  }
}

/** A random locally administered unicast MAC (eth_hw_addr_random). */
export function randomMac(): Buffer {
  const b = randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02;
  return b;
}
