/**
 * IPIP tunnels: the IFLA_IPTUN_* attribute table, the read-back decoder, and what can be
 * changed on an existing device.
 *
 * This kernel (the project's test host) has no ipip module: creating one fails with
 * EOPNOTSUPP "Unknown device type". Encoding is proven against iproute2's captured bytes;
 * the kernel behaviour described here is from the kernel source and runs only on the VM lane.
 */
import { attr, be16, bool8, defineAttrs, ip, u16, u32, u8, type AttrValues } from '../../wire/attrs';
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
import type { IpipLink, IpipSpec, LinkBase, LinkCommonSpec } from '../types';
import { differs, isMulticastIP } from './util';

/**
 * IFLA_INFO_DATA of an ipip device, in the order iproute2 (link_iptunnel.c) writes it. On
 * creation iproute2 writes every field, defaults included (proto 0 = "any": IPIP and MPLS-in-IP,
 * pmtudisc 1, fwmark and the FOU/GUE encapsulation 0); encodeIpipData does the same.
 */
export const IPTUN_ATTRS = defineAttrs('IFLA_IPTUN', {
  proto: attr(IFLA_IPTUN_PROTO, u8),
  local: attr(IFLA_IPTUN_LOCAL, ip),
  remote: attr(IFLA_IPTUN_REMOTE, ip),
  pmtudisc: attr(IFLA_IPTUN_PMTUDISC, bool8),
  tos: attr(IFLA_IPTUN_TOS, u8),
  ttl: attr(IFLA_IPTUN_TTL, u8),
  link: attr(IFLA_IPTUN_LINK, u32),
  fwmark: attr(IFLA_IPTUN_FWMARK, u32),
  encapType: attr(IFLA_IPTUN_ENCAP_TYPE, u16),
  encapFlags: attr(IFLA_IPTUN_ENCAP_FLAGS, u16),
  encapSport: attr(IFLA_IPTUN_ENCAP_SPORT, be16),
  encapDport: attr(IFLA_IPTUN_ENCAP_DPORT, be16),
});
/** The decoded (or to-be-encoded) values of IPTUN_ATTRS, each optional. */
export type IpipAttrValues = AttrValues<(typeof IPTUN_ATTRS)['spec']>;

/** The spec fields of an ipip device (everything but the common link settings). */
export type IpipField = Exclude<keyof IpipSpec, 'kind' | keyof LinkCommonSpec>;

/**
 * What ipip_changelink() (net/ipv4/ipip.c, Linux 6.x) can change on an existing device.
 * From the kernel source, verified only on the VM lane (this kernel has no ipip):
 *
 * - ipip_netlink_parms() starts from zero, not from the device's settings, and
 *   ip_tunnel_update() then takes local, remote, ttl, tos, DF (pmtudisc) and link (dev) from
 *   it: all are changeable, and a change must send the whole set (encodeIpipChange does).
 * - remote can change between two unicast addresses, but not from none to one, nor between
 *   unicast and multicast: ipip_changelink() / ip_tunnel_changelink() return EINVAL when
 *   IFF_POINTOPOINT or IFF_BROADCAST (fixed at creation from the remote) would flip.
 *   ipipNeedsRecreate() reports those cases; planLinkChange() lists them under recreate.
 * - collect_md (external mode) cannot be turned on by a change (EINVAL); this library does
 *   not create such devices.
 * - another tunnel with the same local/remote/link already existing gives EEXIST.
 */
export const IPIP_CHANGEABLE: readonly IpipField[] = ['local', 'remote', 'ttl', 'tos', 'pmtudisc', 'dev'];
/** None by field; some remote changes need recreate (ipipNeedsRecreate). VM lane only. */
export const IPIP_IMMUTABLE: readonly IpipField[] = [];

/** Writes IFLA_INFO_DATA's contents for a new ipip device (dev already an index). */
export function encodeIpipData(w: MessageWriter, spec: IpipSpec, dev: number | undefined): void {
  IPTUN_ATTRS.encode(w, {
    proto: 0,
    local: spec.local,
    remote: spec.remote,
    pmtudisc: spec.pmtudisc ?? true,
    tos: spec.tos ?? 0,
    ttl: spec.ttl ?? 0,
    link: dev ?? 0,
    fwmark: 0,
    encapType: 0,
    encapFlags: 0,
    encapSport: 0,
    encapDport: 0,
  });
}

/**
 * Writes a change: the device's current settings overlaid with the spec, every field the
 * kernel resets when absent. fwmark and encapsulation are left out, so they keep their values.
 */
export function encodeIpipChange(w: MessageWriter, current: IpipLink, spec: IpipSpec, dev: number | undefined): void {
  IPTUN_ATTRS.encode(w, {
    local: spec.local ?? current.local,
    remote: spec.remote ?? current.remote,
    pmtudisc: spec.pmtudisc ?? current.pmtudisc,
    tos: spec.tos ?? current.tos,
    ttl: spec.ttl ?? current.ttl,
    link: dev ?? current.dev ?? 0,
  });
}

/** Decodes IFLA_INFO_DATA of an ipip device; 0.0.0.0 (unset) addresses read as absent. */
export function decodeIpip(base: LinkBase, buf: Buffer, start: number, end: number): IpipLink {
  const v: IpipAttrValues = start < 0 ? {} : IPTUN_ATTRS.decode(buf, start, end).values;
  const link: IpipLink = { ...base, kind: 'ipip', ttl: v.ttl ?? 0, tos: v.tos ?? 0, pmtudisc: v.pmtudisc ?? false };
  if (v.local && v.local !== '0.0.0.0') link.local = v.local;
  if (v.remote && v.remote !== '0.0.0.0') link.remote = v.remote;
  if (v.link) link.dev = v.link;
  return link;
}

/** The ipip fields of spec that differ from the device's. */
export function ipipDiff(current: IpipLink, spec: IpipSpec, dev: number | undefined): IpipField[] {
  const out: IpipField[] = [];
  if (differs(spec.local, current.local, true)) out.push('local');
  if (differs(spec.remote, current.remote, true)) out.push('remote');
  if (differs(spec.ttl, current.ttl)) out.push('ttl');
  if (differs(spec.tos, current.tos)) out.push('tos');
  if (differs(spec.pmtudisc, current.pmtudisc)) out.push('pmtudisc');
  if (differs(dev, current.dev)) out.push('dev');
  return out;
}

/**
 * Fields whose change the kernel refuses in place: a remote appearing, or changing between
 * unicast and multicast (ip_tunnel_changelink(): IFF_POINTOPOINT / IFF_BROADCAST, fixed at
 * creation from the remote, must not flip: EINVAL).
 */
export function ipipNeedsRecreate(current: IpipLink, spec: IpipSpec): IpipField[] {
  if (spec.remote === undefined) return [];
  if (current.remote === undefined || isMulticastIP(spec.remote) !== isMulticastIP(current.remote)) return ['remote'];
  return [];
}
