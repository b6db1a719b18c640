/**
 * IPIP tunnels (link kind "ipip"): the spec and read-back types, the IFLA_IPTUN_* table, and
 * what can be changed on an existing device.
 *
 * This kernel (the project's test host) has no ipip module: creating one fails with
 * EOPNOTSUPP "Unknown device type". Encoding is proven against iproute2's captured bytes;
 * the kernel behaviour described here is from the kernel source and runs only on the VM lane.
 */
import { attr, be16, bool8, defineAttrs, ip, u16, u32, u8 } from '../../wire/attrs';
import type { MessageWriter } from '../../wire/writer';
import {
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
} from '../constants';
import type { DeviceRef, LinkBase, LinkCommonSpec } from '../types';
import { isMulticast, parseAddress } from '../../values/address';
import { describeValue as show, Problems } from '../../values/problems';
import { address, bool, defineFields, device, fieldOf, int } from '../spec';
import { decodeWith, diffFields, indexOf, isMulticastIP, writeData } from './generic';
import type { KindData, LinkKindModule, LinkRefs } from './kind';

/** An IPv4-in-IPv4 tunnel device for links.add(). */
export interface IpipSpec extends LinkCommonSpec {
  /** Discriminant: an ipip tunnel. */
  kind: 'ipip';
  /** Source address of the outer packets (IFLA_IPTUN_LOCAL). */
  local?: string;
  /** Omitted: a one-to-many device that takes each route's next hop as the outer destination. */
  remote?: string;
  /** TTL of the outer packets; 0 inherits (IFLA_IPTUN_TTL). */
  ttl?: number;
  /** TOS of the outer packets (IFLA_IPTUN_TOS). */
  tos?: number;
  /** Path MTU discovery (DF on outer packets). Linux defaults to true. */
  pmtudisc?: boolean;
  /** Underlay device. */
  dev?: DeviceRef;
}

/** An ipip tunnel as read back. */
export interface IpipLink extends LinkBase {
  /** Discriminant: an ipip tunnel. */
  kind: 'ipip';
  /** Source address of the outer packets, when set. */
  local?: string;
  /** Fixed outer destination; absent for a one-to-many device. */
  remote?: string;
  /** TTL of the outer packets (0: inherit). */
  ttl: number;
  /** TOS of the outer packets. */
  tos: number;
  /** Whether path MTU discovery is on. */
  pmtudisc: boolean;
  /** Underlay device index. */
  dev?: number;
}

/**
 * IFLA_INFO_DATA of an ipip device, in the order iproute2 (link_iptunnel.c) writes it. On
 * creation iproute2 writes every field, defaults included (proto 0 = "any": IPIP and MPLS-in-IP,
 * pmtudisc 1, fwmark and the FOU/GUE encapsulation 0); the ipip kind does the same.
 */
export const IPTUN_ATTRS = defineAttrs('IFLA_IPTUN', {
  proto: attr(IFLA_IPTUN_PROTO, u8),
  local: attr(IFLA_IPTUN_LOCAL, ip),
  remote: attr(IFLA_IPTUN_REMOTE, ip),
  pmtudisc: attr(IFLA_IPTUN_PMTUDISC, bool8),
  tos: attr(IFLA_IPTUN_TOS, u8),
  ttl: attr(IFLA_IPTUN_TTL, u8),
  dev: attr(IFLA_IPTUN_LINK, u32),
  fwmark: attr(IFLA_IPTUN_FWMARK, u32),
  encapType: attr(IFLA_IPTUN_ENCAP_TYPE, u16),
  encapFlags: attr(IFLA_IPTUN_ENCAP_FLAGS, u16),
  encapSport: attr(IFLA_IPTUN_ENCAP_SPORT, be16),
  encapDport: attr(IFLA_IPTUN_ENCAP_DPORT, be16),
});

/** IP_MAX_MTU (65535) minus the 20-byte outer IPv4 header: ip_tunnel's max_mtu. */
export const IPIP_MAX_MTU = 65515;

/** The fields of an IpipSpec (the rule between ttl and pmtudisc is in the kind's validate). */
export const IPIP_FIELDS = defineFields(
  'IpipSpec',
  {
    local: fieldOf(address(4), 'Source address of the outer packets (IFLA_IPTUN_LOCAL).'),
    remote: fieldOf(address(4), "Omitted: a one-to-many device that takes each route's next hop as the outer destination."),
    ttl: fieldOf(int(0, 255), 'TTL of the outer packets; 0 inherits (IFLA_IPTUN_TTL).'),
    tos: fieldOf(int(0, 255), 'TOS of the outer packets (IFLA_IPTUN_TOS).'),
    pmtudisc: fieldOf(bool, 'Path MTU discovery (DF on outer packets). Linux defaults to true.'),
    dev: fieldOf(device, 'Underlay device.'),
  },
  { link: 'dev', df: 'pmtudisc' },
);

/** The spec fields of an ipip device (everything but the common link settings). */
export type IpipField = Exclude<keyof IpipSpec, 'kind' | keyof LinkCommonSpec>;

/**
 * What ipip_changelink() (net/ipv4/ipip.c, Linux 6.x) can change on an existing device.
 * From the kernel source, verified only on the VM lane (this kernel has no ipip):
 *
 * - ipip_netlink_parms() starts from zero, not from the device's settings, and
 *   ip_tunnel_update() then takes local, remote, ttl, tos, DF (pmtudisc) and link (dev) from
 *   it: all are changeable, and a change must send the whole set (the kind's encodeChange does).
 * - remote can change between two unicast addresses, but not from none to one, nor between
 *   unicast and multicast: ipip_changelink() / ip_tunnel_changelink() return EINVAL when
 *   IFF_POINTOPOINT or IFF_BROADCAST (fixed at creation from the remote) would flip.
 *   The kind's recreate() reports those cases; planLinkChange() lists them under recreate.
 * - collect_md (external mode) cannot be turned on by a change (EINVAL); this library does
 *   not create such devices.
 * - another tunnel with the same local/remote/link already existing gives EEXIST.
 */
export const IPIP_CHANGEABLE: readonly IpipField[] = ['local', 'remote', 'ttl', 'tos', 'pmtudisc', 'dev'];
/** None by field; some remote changes need recreate (see IPIP_CHANGEABLE). VM lane only. */
export const IPIP_IMMUTABLE: readonly IpipField[] = [];

const DEFAULTS = { ttl: 0, tos: 0, pmtudisc: false };
const COMPARED: readonly IpipField[] = ['local', 'remote', 'ttl', 'tos', 'pmtudisc'];

/** The kernel sets DF whenever the TTL is fixed, whatever pmtudisc says (iproute2 refuses too). */
function validateIpip(p: Problems, path: string, s: Record<string, unknown>): void {
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (s.local !== undefined) {
    const a = parseAddress(new Problems(), '', s.local, 4);
    if (a && isMulticast(a)) p.add(at('local'), `${show(s.local)} is multicast; local must be a unicast address`);
  }
  if (typeof s.ttl === 'number' && s.ttl !== 0 && s.pmtudisc === false) {
    p.add(at('pmtudisc'), `pmtudisc false needs ttl 0 (inherit): a fixed ttl (${s.ttl}) always sets DF`);
  }
}

/** The ipip kind. */
export const ipip: LinkKindModule<IpipSpec, IpipLink> = {
  kind: 'ipip',
  fields: IPIP_FIELDS,
  data: IPTUN_ATTRS,
  mtu: { min: 68, max: IPIP_MAX_MTU },
  hasAddress: false,
  changeable: IPIP_CHANGEABLE,
  immutable: IPIP_IMMUTABLE,
  defaults: DEFAULTS,
  validate: validateIpip,
  deviceOf: (spec) => spec.dev,
  encodeData(w: MessageWriter, spec: IpipSpec, refs: LinkRefs): void {
    writeData(w, IPTUN_ATTRS, {
      proto: 0,
      local: spec.local,
      remote: spec.remote,
      pmtudisc: spec.pmtudisc ?? true,
      tos: spec.tos ?? 0,
      ttl: spec.ttl ?? 0,
      dev: indexOf(spec.dev, refs.dev, 'dev') ?? 0,
      fwmark: 0,
      encapType: 0,
      encapFlags: 0,
      encapSport: 0,
      encapDport: 0,
    });
  },
  /** 0.0.0.0 (unset) addresses read as absent. */
  decode(base: LinkBase, data: KindData): IpipLink {
    const v = data.values as { local?: string; remote?: string; dev?: number };
    const link = decodeWith<IpipLink>(base, 'ipip', data, ['ttl', 'tos', 'pmtudisc'], DEFAULTS);
    if (v.local && v.local !== '0.0.0.0') link.local = v.local;
    if (v.remote && v.remote !== '0.0.0.0') link.remote = v.remote;
    if (v.dev) link.dev = v.dev;
    return link;
  },
  diff(current: IpipLink, spec: IpipSpec, refs: LinkRefs): string[] {
    const out = diffFields(current, spec, COMPARED, ['local', 'remote']);
    const dev = indexOf(spec.dev, refs.dev, 'dev');
    if (dev !== undefined && dev !== current.dev) out.push('dev');
    return out;
  },
  /**
   * A remote appearing, or changing between unicast and multicast, is refused in place
   * (ip_tunnel_changelink(): IFF_POINTOPOINT / IFF_BROADCAST, fixed at creation from the
   * remote, must not flip: EINVAL).
   */
  recreate(current: IpipLink, spec: IpipSpec): string[] {
    if (spec.remote === undefined) return [];
    if (current.remote === undefined || isMulticastIP(spec.remote) !== isMulticastIP(current.remote)) return ['remote'];
    return [];
  },
  /**
   * The device's current settings overlaid with the spec, every field the kernel resets when
   * absent. fwmark and encapsulation are left out, so they keep their values.
   */
  encodeChange(w: MessageWriter, current: IpipLink, spec: IpipSpec, _fields: readonly string[], refs: LinkRefs): void {
    IPTUN_ATTRS.encode(w, {
      local: spec.local ?? current.local,
      remote: spec.remote ?? current.remote,
      pmtudisc: spec.pmtudisc ?? current.pmtudisc,
      tos: spec.tos ?? current.tos,
      ttl: spec.ttl ?? current.ttl,
      dev: indexOf(spec.dev, refs.dev, 'dev') ?? current.dev ?? 0,
    });
  },
};
