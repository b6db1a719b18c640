/**
 * VXLAN devices: the IFLA_VXLAN_* attribute table (one table for encoding and decoding), the
 * read-back decoder, and what can be changed on an existing device.
 */
import { attr, be16, bool8, defineAttrs, ip, u32, u8, type AttrCodec, type AttrValues } from '../../wire/attrs';
import { readBe32 } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import {
  IFLA_VXLAN_AGEING,
  IFLA_VXLAN_GROUP,
  IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_L2MISS,
  IFLA_VXLAN_L3MISS,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_PORT_RANGE,
  IFLA_VXLAN_PROXY,
  IFLA_VXLAN_TOS,
  IFLA_VXLAN_TTL,
  IFLA_VXLAN_UDP_CSUM,
} from '../constants';
import type { LinkBase, LinkCommonSpec, VxlanLink, VxlanSpec } from '../types';
import { differs, isMulticastIP } from './util';

/** struct ifla_vxlan_port_range { __be16 low, high; }: as one big-endian u32, low half first,
 * so it is written without allocating. */
const portRange: AttrCodec<[number, number]> = {
  encode: (w, t, v) => w.be32(t, ((v[0] << 16) | v[1]) >>> 0),
  decode: (buf, off, len) => {
    const x = readBe32(buf, off, len);
    return [x >>> 16, x & 0xffff];
  },
};

/**
 * IFLA_INFO_DATA of a vxlan device. Encoding writes fields in table order, which is the order
 * iproute2 emits them for `ip link add ... type vxlan id .. dstport .. local .. remote .. dev ..
 * ttl .. tos .. srcport .. .. [no]udpcsum ageing .. [no]proxy [no]l2miss [no]l3miss [no]learning`
 * (options it writes while parsing, then id, local, group, learning and dstport at the end).
 */
export const VXLAN_ATTRS = defineAttrs('IFLA_VXLAN', {
  link: attr(IFLA_VXLAN_LINK, u32),
  ttl: attr(IFLA_VXLAN_TTL, u8),
  tos: attr(IFLA_VXLAN_TOS, u8),
  srcPortRange: attr(IFLA_VXLAN_PORT_RANGE, portRange),
  udpChecksum: attr(IFLA_VXLAN_UDP_CSUM, bool8),
  ageing: attr(IFLA_VXLAN_AGEING, u32),
  proxy: attr(IFLA_VXLAN_PROXY, bool8),
  l2miss: attr(IFLA_VXLAN_L2MISS, bool8),
  l3miss: attr(IFLA_VXLAN_L3MISS, bool8),
  vni: attr(IFLA_VXLAN_ID, u32),
  local: attr(IFLA_VXLAN_LOCAL, ip),
  local6: attr(IFLA_VXLAN_LOCAL6, ip),
  group: attr(IFLA_VXLAN_GROUP, ip),
  group6: attr(IFLA_VXLAN_GROUP6, ip),
  learning: attr(IFLA_VXLAN_LEARNING, bool8),
  port: attr(IFLA_VXLAN_PORT, be16),
});
/** The decoded (or to-be-encoded) values of VXLAN_ATTRS, each optional. */
export type VxlanAttrValues = AttrValues<(typeof VXLAN_ATTRS)['spec']>;

/** The spec fields of a vxlan device (everything but the common link settings). */
export type VxlanField = Exclude<keyof VxlanSpec, 'kind' | keyof LinkCommonSpec>;

/**
 * VXLAN settings the kernel changes in place on an existing device (RTM_NEWLINK without
 * NLM_F_CREATE, IFLA_LINKINFO with IFLA_INFO_DATA holding only the changed attributes), and
 * the ones it refuses, which need delete + add. The reconciler uses these lists to choose
 * "update" or "recreate"; planLinkChange() applies them (plus the address-family rule below).
 *
 * Found by experiment on Linux 6.18; test/rtnl/link-change.test.js proves every entry on each
 * run (each changeable field is changed by links.change() and read back, the rest of the
 * device untouched; each immutable one is sent alone, refused, and the device reads back
 * unchanged):
 *
 * - changeable: remote and group (IFLA_VXLAN_GROUP/GROUP6; unicast <-> multicast too), local,
 *   dev (IFLA_VXLAN_LINK, the underlay), ttl, tos, learning, ageing.
 * - immutable, EOPNOTSUPP with the kernel's text: vni ("Cannot change VNI"), port ("Cannot
 *   change port"), srcPortRange ("Cannot change port range"), udpChecksum ("Cannot change
 *   UDP_CSUM flag"), proxy / l2miss / l3miss ("vxlan: cannot change PROXY flag", ... L2MISS,
 *   L3MISS). port, srcPortRange, udpChecksum and the three flags are refused even when sent
 *   with their current value (vni is accepted then): so a change sends only what differs.
 * - local and remote/group keep the device's address family (IPv4 for a device that has
 *   neither): IPv4 -> IPv6 is EOPNOTSUPP ("New local address family does not match old",
 *   "New group address family does not match old group").
 * - IFLA_MTU in the same request as IFLA_INFO_DATA is refused ("Cannot change mtu"): the MTU
 *   of a vxlan goes in a request of its own (splitLinkChange()).
 *
 * vxlan_nl2conf() starts from the device's current configuration on a change, so attributes
 * left out keep their values.
 */
export const VXLAN_CHANGEABLE: readonly VxlanField[] = ['remote', 'group', 'local', 'dev', 'ttl', 'tos', 'learning', 'ageing'];
/** The vxlan settings that need delete + add to change (see VXLAN_CHANGEABLE). */
export const VXLAN_IMMUTABLE: readonly VxlanField[] = ['vni', 'port', 'srcPortRange', 'udpChecksum', 'proxy', 'l2miss', 'l3miss'];

const isV6 = (s: string | undefined) => s !== undefined && s.includes(':');

/** The attribute values for a spec (or the part of one a change sends). The underlay device
 * must already be an index. learning is always written on creation, as iproute2 does. */
export function vxlanValues(spec: Partial<VxlanSpec>, dev: number | undefined, creating: boolean): VxlanAttrValues {
  const peer = spec.remote ?? spec.group;
  return {
    link: dev,
    ttl: spec.ttl,
    tos: spec.tos,
    srcPortRange: spec.srcPortRange,
    udpChecksum: spec.udpChecksum,
    ageing: spec.ageing,
    proxy: spec.proxy,
    l2miss: spec.l2miss,
    l3miss: spec.l3miss,
    vni: spec.vni,
    local: isV6(spec.local) ? undefined : spec.local,
    local6: isV6(spec.local) ? spec.local : undefined,
    group: isV6(peer) ? undefined : peer,
    group6: isV6(peer) ? peer : undefined,
    learning: spec.learning ?? (creating ? true : undefined),
    port: spec.port,
  };
}

/** Writes IFLA_INFO_DATA's contents for a new vxlan device. */
export function encodeVxlanData(w: MessageWriter, spec: VxlanSpec, dev: number | undefined): void {
  VXLAN_ATTRS.encode(w, vxlanValues(spec, dev, true));
}

/** Decodes IFLA_INFO_DATA of a vxlan device (absent fields read as the kernel's zero values). */
export function decodeVxlan(base: LinkBase, buf: Buffer, start: number, end: number): VxlanLink {
  const v: VxlanAttrValues = start < 0 ? {} : VXLAN_ATTRS.decode(buf, start, end).values;
  const link: VxlanLink = {
    ...base,
    kind: 'vxlan',
    vni: v.vni ?? 0,
    port: v.port ?? 0,
    learning: v.learning ?? false,
    ttl: v.ttl ?? 0,
    tos: v.tos ?? 0,
    udpChecksum: v.udpChecksum ?? false,
    ageing: v.ageing ?? 0,
    proxy: v.proxy ?? false,
    l2miss: v.l2miss ?? false,
    l3miss: v.l3miss ?? false,
  };
  const local = v.local ?? v.local6;
  if (local !== undefined) link.local = local;
  const peer = v.group ?? v.group6;
  if (peer !== undefined) {
    if (isMulticastIP(peer)) link.group = peer;
    else link.remote = peer;
  }
  if (v.link) link.dev = v.link;
  const r = v.srcPortRange;
  if (r && (r[0] !== 0 || r[1] !== 0)) link.srcPortRange = r;
  return link;
}

/** The vxlan fields of spec whose value differs from the device's (dev as a resolved index). */
export function vxlanDiff(current: VxlanLink, spec: VxlanSpec, dev: number | undefined): VxlanField[] {
  const out: VxlanField[] = [];
  const check = (f: VxlanField, want: unknown, have: unknown, address = false) => {
    if (differs(want, have, address)) out.push(f);
  };
  check('vni', spec.vni, current.vni);
  check('port', spec.port, current.port);
  check('local', spec.local, current.local, true);
  check('remote', spec.remote, current.remote, true);
  check('group', spec.group, current.group, true);
  check('dev', dev, current.dev);
  check('learning', spec.learning, current.learning);
  check('ttl', spec.ttl, current.ttl);
  check('tos', spec.tos, current.tos);
  check('srcPortRange', spec.srcPortRange, current.srcPortRange ?? [0, 0]);
  check('udpChecksum', spec.udpChecksum, current.udpChecksum);
  check('ageing', spec.ageing, current.ageing);
  check('proxy', spec.proxy, current.proxy);
  check('l2miss', spec.l2miss, current.l2miss);
  check('l3miss', spec.l3miss, current.l3miss);
  return out;
}

/** Writes only the given fields of spec (a change of an existing device). */
export function encodeVxlanChange(w: MessageWriter, spec: VxlanSpec, fields: readonly VxlanField[], dev: number | undefined): void {
  const part: Partial<VxlanSpec> = {};
  for (const f of fields) (part as Record<string, unknown>)[f] = f === 'dev' ? undefined : spec[f];
  VXLAN_ATTRS.encode(w, vxlanValues(part, fields.includes('dev') ? dev : undefined, false));
}
