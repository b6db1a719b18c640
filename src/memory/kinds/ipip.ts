/**
 * IPv4-in-IPv4 tunnels (ipip), modelled on Linux 6.1's net/ipv4/ipip.c and ip_tunnel.c (the
 * project's VM lane; the 6.18 test host has no ipip module). Point-to-point when a remote is
 * set; MTU 1480, or the underlay's minus 20; one tunnel per local/remote/link. No fallback
 * tunl0 device, as with net.core.fb_tunnels_only_for_init_net=2 (the VM lane's setting): a
 * namespace lists only what was created in it. A change starts from zero, as
 * ipip_netlink_parms() does, and cannot flip point-to-point.
 */
import {
  IFF_BROADCAST,
  IFF_NOARP,
  IFF_POINTOPOINT,
  IFLA_IPTUN_COLLECT_METADATA,
  IFLA_IPTUN_ENCAP_DPORT,
  IFLA_IPTUN_ENCAP_FLAGS,
  IFLA_IPTUN_ENCAP_SPORT,
  IFLA_IPTUN_ENCAP_TYPE,
  IFLA_IPTUN_FWMARK,
  IFLA_IPTUN_LINK,
  IFLA_IPTUN_LOCAL,
  IFLA_IPTUN_PMTUDISC,
  IFLA_IPTUN_PROTO,
  IFLA_IPTUN_REMOTE,
  IFLA_IPTUN_TOS,
  IFLA_IPTUN_TTL,
  IFLA_MTU,
} from '../../rtnl/constants';
import { ARPHRD_TUNNEL, type Device, type LinkKind } from '../device';
import { E, fail, sameBytes, type Attrs } from '../message';

const IPPROTO_IPIP = 4;
const IPPROTO_MPLS = 137;
const ZERO4 = Buffer.alloc(4);

interface Parms {
  link: number;
  local: Buffer;
  remote: Buffer;
  ttl: number;
  tos: number;
  proto: number;
  pmtudisc: boolean;
  fwmark: number;
  encap: [type: number, flags: number, sport: number, dport: number];
  collectMd: boolean;
}

/** ipip_netlink_parms(): from zero (pmtudisc on, proto IPIP), fwmark kept from `fwmark`. */
function parse(data: Attrs | undefined, fwmark: number): Parms {
  const p: Parms = { link: 0, local: ZERO4, remote: ZERO4, ttl: 0, tos: 0, proto: IPPROTO_IPIP, pmtudisc: true, fwmark, encap: [0, 0, 0, 0], collectMd: false };
  if (!data) return p;
  p.link = data.u32(IFLA_IPTUN_LINK) ?? 0;
  p.local = data.addr(IFLA_IPTUN_LOCAL, 4) ?? ZERO4;
  p.remote = data.addr(IFLA_IPTUN_REMOTE, 4) ?? ZERO4;
  p.ttl = data.u8(IFLA_IPTUN_TTL) ?? 0;
  p.tos = data.u8(IFLA_IPTUN_TOS) ?? 0;
  const proto = data.u8(IFLA_IPTUN_PROTO);
  if (proto !== undefined) {
    if (proto !== IPPROTO_IPIP && proto !== IPPROTO_MPLS && proto !== 0) fail(E.EINVAL);
    p.proto = proto;
  }
  const pm = data.u8(IFLA_IPTUN_PMTUDISC);
  if (pm !== undefined) p.pmtudisc = pm !== 0;
  p.fwmark = data.u32(IFLA_IPTUN_FWMARK) ?? fwmark;
  p.encap = [data.u16(IFLA_IPTUN_ENCAP_TYPE) ?? 0, data.u16(IFLA_IPTUN_ENCAP_FLAGS) ?? 0, data.be16(IFLA_IPTUN_ENCAP_SPORT) ?? 0, data.be16(IFLA_IPTUN_ENCAP_DPORT) ?? 0];
  p.collectMd = data.has(IFLA_IPTUN_COLLECT_METADATA);
  return p;
}

function parms(dev: Device): Parms {
  return dev.priv.parms as Parms;
}

const isZero = (b: Buffer) => b.every((x) => x === 0);
const isMulticast = (b: Buffer) => (b[0] & 0xf0) === 0xe0;

/** ip_tunnel_find(): another tunnel with the same endpoints and link. */
function clash(dev: Device, p: Parms): Device | undefined {
  for (const d of dev.ns.devices.values()) {
    if (d === dev || d.kind !== ipip) continue;
    const o = parms(d);
    if (sameBytes(o.local, p.local) && sameBytes(o.remote, p.remote) && o.link === p.link) return d;
  }
  return undefined;
}

/** ip_tunnel_bind_dev(): 1500 or the underlay's MTU (route to the remote, else the link), minus 20. */
function boundMtu(dev: Device, p: Parms): number {
  let mtu = 1500;
  let under: Device | undefined;
  if (!isZero(p.remote)) under = dev.ns.routes.lookup(4, p.remote, { oif: p.link || undefined })?.nh?.dev;
  if (!under && p.link) under = dev.ns.devices.get(p.link);
  if (under) mtu = Math.min(under.mtu, 65535);
  return Math.max(68, mtu - 20);
}

function applyAddresses(dev: Device, p: Parms): void {
  dev.address = Buffer.from(p.local);
  dev.broadcast = Buffer.from(p.remote);
}

/** The ipip kind. */
export const ipip: LinkKind = {
  name: 'ipip',
  setup(dev) {
    dev.type = ARPHRD_TUNNEL;
    dev.flags = IFF_NOARP;
    dev.maxMtu = 65535 - 20;
    dev.address = Buffer.from(ZERO4);
    dev.broadcast = Buffer.from(ZERO4);
  },
  create(dev, ctx) {
    const p = parse(ctx.data, 0);
    if (!p.collectMd && clash(dev, p)) fail(E.EEXIST);
    dev.priv.parms = p;
    if (!isZero(p.remote)) dev.flags |= IFF_POINTOPOINT;
    applyAddresses(dev, p);
    const asked = ctx.tb.u32(IFLA_MTU);
    dev.mtu = asked !== undefined ? Math.min(Math.max(asked, 68), dev.maxMtu) : boundMtu(dev, p);
  },
  change(dev, data, tb) {
    const old = parms(dev);
    if (old.collectMd) fail(E.EINVAL);
    const p = parse(data, old.fwmark);
    const ptp = (dev.flags & IFF_POINTOPOINT) !== 0;
    if ((ptp && isZero(p.remote)) || (!ptp && !isZero(p.remote))) fail(E.EINVAL);
    const other = clash(dev, p);
    if (other && other !== dev) fail(E.EEXIST);
    const want = isMulticast(p.remote) ? IFF_BROADCAST : isZero(p.remote) ? 0 : IFF_POINTOPOINT;
    if ((dev.flags ^ want) & (IFF_POINTOPOINT | IFF_BROADCAST)) fail(E.EINVAL);
    dev.priv.parms = p;
    applyAddresses(dev, p);
    if ((old.link !== p.link || old.fwmark !== p.fwmark) && !tb.has(IFLA_MTU)) dev.mtu = boundMtu(dev, p);
  },
  fill(dev, w) {
    const p = parms(dev);
    w.u32(IFLA_IPTUN_LINK, p.link);
    w.binary(IFLA_IPTUN_LOCAL, p.local);
    w.binary(IFLA_IPTUN_REMOTE, p.remote);
    w.u8(IFLA_IPTUN_TTL, p.ttl);
    w.u8(IFLA_IPTUN_TOS, p.tos);
    w.u8(IFLA_IPTUN_PROTO, p.proto);
    w.u8(IFLA_IPTUN_PMTUDISC, p.pmtudisc ? 1 : 0);
    w.u32(IFLA_IPTUN_FWMARK, p.fwmark);
    w.u16(IFLA_IPTUN_ENCAP_TYPE, p.encap[0]);
    w.be16(IFLA_IPTUN_ENCAP_SPORT, p.encap[2]);
    w.be16(IFLA_IPTUN_ENCAP_DPORT, p.encap[3]);
    w.u16(IFLA_IPTUN_ENCAP_FLAGS, p.encap[1]);
    if (p.collectMd) w.flag(IFLA_IPTUN_COLLECT_METADATA);
  },
  carrier: () => true,
  reportsOperstate: () => false,
  iflink: (dev) => parms(dev).link,
};
