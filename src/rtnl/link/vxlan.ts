/**
 * VXLAN devices (link kind "vxlan"): the spec and read-back types, the IFLA_VXLAN_* table (one
 * table for encoding, decoding, the fields validation accepts and their docs), and what can be
 * changed on an existing device.
 */
import { attr, be16, bool8, defineAttrs, ip, u32, u8, type AttrCodec } from '../../wire/attrs';
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
import type { DeviceRef, LinkBase, LinkCommonSpec } from '../types';
import { isMulticast, isUnspecified, parseAddress, type ParsedAddress } from '../../values/address';
import { checkInt, describeValue as show, Problems } from '../../values/problems';
import { address, bool, defineFields, device, fieldOf, int, type FieldCheck } from '../spec';
import { decodeWith, diffFields, indexOf, isMulticastIP, writeData } from './generic';
import type { KindData, LinkKindModule, LinkRefs } from './kind';

/**
 * A VXLAN device for links.add().
 *
 * @example
 * ```ts
 * await nl.links.add({ kind: 'vxlan', name: 'vxlan0', vni: 100, port: 4789,
 *                      local: '10.57.4.20', dev: 'eth0', learning: false, up: true });
 * ```
 */
export interface VxlanSpec extends LinkCommonSpec {
  /** Discriminant: a VXLAN device. */
  kind: 'vxlan';
  /** VXLAN network identifier, 1..16777215 (IFLA_VXLAN_ID). */
  vni: number;
  /** UDP destination port (IFLA_VXLAN_PORT). Linux defaults to 8472; IANA's is 4789. */
  port?: number;
  /** Source address of the outer packets, IPv4 or IPv6. */
  local?: string;
  /** Unicast peer (point-to-point). Exclusive with group. */
  remote?: string;
  /** Multicast group for flooding. Exclusive with remote. */
  group?: string;
  /** Underlay device. */
  dev?: DeviceRef;
  /** Learn remote MACs from received packets. Linux defaults to true. */
  learning?: boolean;
  /** TTL of the outer packets; 0 inherits (IFLA_VXLAN_TTL). */
  ttl?: number;
  /** TOS of the outer packets; 1 inherits (IFLA_VXLAN_TOS). */
  tos?: number;
  /** UDP source port range [low, high]. */
  srcPortRange?: [number, number];
  /** Checksum outer UDP (IPv4). */
  udpChecksum?: boolean;
  /** FDB ageing, seconds. */
  ageing?: number;
  /** Answer ARP/ND from the FDB and neighbour table (proxy). */
  proxy?: boolean;
  /** Send netlink notifications for FDB misses (IFLA_VXLAN_L2MISS). */
  l2miss?: boolean;
  /** Send netlink notifications for neighbour-table misses (IFLA_VXLAN_L3MISS). */
  l3miss?: boolean;
}

/** A VXLAN device as read back; fields as in VxlanSpec, with the kernel's defaults filled in. */
export interface VxlanLink extends LinkBase {
  /** Discriminant: a VXLAN device. */
  kind: 'vxlan';
  /** VXLAN network identifier. */
  vni: number;
  /** UDP destination port. */
  port: number;
  /** Source address of the outer packets, when set. */
  local?: string;
  /** Unicast peer, when set. */
  remote?: string;
  /** Multicast group, when set. */
  group?: string;
  /** Underlay device index. */
  dev?: number;
  /** Whether remote MACs are learnt from received packets. */
  learning: boolean;
  /** TTL of the outer packets (0: inherit). */
  ttl: number;
  /** TOS of the outer packets. */
  tos: number;
  /** UDP source port range [low, high], when reported. */
  srcPortRange?: [number, number];
  /** Whether outer UDP is checksummed. */
  udpChecksum: boolean;
  /** FDB ageing, seconds. */
  ageing: number;
  /** Whether ARP/ND proxying is on. */
  proxy: boolean;
  /** Whether FDB misses are notified. */
  l2miss: boolean;
  /** Whether neighbour misses are notified. */
  l3miss: boolean;
}

/** VXLAN_N_VID - 1: VNIs are 24 bits. */
export const MAX_VNI = 0xffffff;

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
 * An IPv6 local or peer goes in IFLA_VXLAN_LOCAL6 / GROUP6; `peer` is remote or group (the
 * kernel keeps both in one attribute and tells them apart by the address).
 */
export const VXLAN_ATTRS = defineAttrs('IFLA_VXLAN', {
  dev: attr(IFLA_VXLAN_LINK, u32),
  ttl: attr(IFLA_VXLAN_TTL, u8),
  tos: attr(IFLA_VXLAN_TOS, u8),
  srcPortRange: attr(IFLA_VXLAN_PORT_RANGE, portRange),
  udpChecksum: attr(IFLA_VXLAN_UDP_CSUM, bool8),
  ageing: attr(IFLA_VXLAN_AGEING, u32),
  proxy: attr(IFLA_VXLAN_PROXY, bool8),
  l2miss: attr(IFLA_VXLAN_L2MISS, bool8),
  l3miss: attr(IFLA_VXLAN_L3MISS, bool8),
  vni: attr(IFLA_VXLAN_ID, u32),
  local: attr(IFLA_VXLAN_LOCAL, ip, { type6: IFLA_VXLAN_LOCAL6 }),
  peer: attr(IFLA_VXLAN_GROUP, ip, { type6: IFLA_VXLAN_GROUP6 }),
  learning: attr(IFLA_VXLAN_LEARNING, bool8),
  port: attr(IFLA_VXLAN_PORT, be16),
});

/** [low, high], both 1..65535, low not above high. */
const srcPortRangeCheck: FieldCheck = (p, path, v) => {
  if (!Array.isArray(v) || v.length !== 2) {
    p.add(path, `${show(v)} must be [low, high]`);
    return false;
  }
  const okLow = checkInt(p, `${path}[0]`, v[0], 1, 65535);
  const okHigh = checkInt(p, `${path}[1]`, v[1], 1, 65535);
  if (okLow && okHigh && v[0] > v[1]) p.add(path, `${show(v)}: low must not be above high`);
  return okLow && okHigh;
};

/** The kernel reads an ageing of 0 as "the default" (300 s), on creation and on change alike. */
const ageingCheck: FieldCheck = (p, path, v) => {
  if (v === 0) {
    p.add(path, '0 is read by the kernel as its default (300 s); give the seconds (1..4294967295)');
    return false;
  }
  return checkInt(p, path, v, 1, 0xffffffff);
};

/** The fields of a VxlanSpec (the rules between them are in validateVxlan). */
export const VXLAN_FIELDS = defineFields(
  'VxlanSpec',
  {
    vni: fieldOf(int(1, MAX_VNI), 'VXLAN network identifier, 1..16777215 (IFLA_VXLAN_ID).', `required: the VXLAN network identifier, 1..${MAX_VNI}`),
    port: fieldOf(int(1, 65535), "UDP destination port (IFLA_VXLAN_PORT). Linux defaults to 8472; IANA's is 4789."),
    local: fieldOf(address(), 'Source address of the outer packets, IPv4 or IPv6.'),
    remote: fieldOf(address(), 'Unicast peer (point-to-point). Exclusive with group.'),
    group: fieldOf(address(), 'Multicast group for flooding. Exclusive with remote.'),
    dev: fieldOf(device, 'Underlay device.'),
    learning: fieldOf(bool, 'Learn remote MACs from received packets. Linux defaults to true.'),
    ttl: fieldOf(int(0, 255), 'TTL of the outer packets; 0 inherits (IFLA_VXLAN_TTL).'),
    tos: fieldOf(int(0, 255), 'TOS of the outer packets; 1 inherits (IFLA_VXLAN_TOS).'),
    srcPortRange: fieldOf(srcPortRangeCheck, 'UDP source port range [low, high].'),
    udpChecksum: fieldOf(bool, 'Checksum outer UDP (IPv4).'),
    ageing: fieldOf(ageingCheck, 'FDB ageing, seconds.'),
    proxy: fieldOf(bool, 'Answer ARP/ND from the FDB and neighbour table (proxy).'),
    l2miss: fieldOf(bool, 'Send netlink notifications for FDB misses (IFLA_VXLAN_L2MISS).'),
    l3miss: fieldOf(bool, 'Send netlink notifications for neighbour-table misses (IFLA_VXLAN_L3MISS).'),
  },
  { id: 'vni', vxlan_id: 'vni', dstport: 'port', vxlan_port: 'port', link: 'dev', vxlan_link: 'dev', srcport: 'srcPortRange', udpcsum: 'udpChecksum' },
);

/** The spec fields of a vxlan device (everything but the common link settings). */
export type VxlanField = Exclude<keyof VxlanSpec, 'kind' | keyof LinkCommonSpec>;

/**
 * VXLAN settings the kernel changes in place on an existing device (RTM_NEWLINK without
 * NLM_F_CREATE, IFLA_LINKINFO with IFLA_INFO_DATA holding only the changed attributes), and
 * the ones it refuses, which need delete + add. The reconciler uses these lists to choose
 * "update" or "recreate"; planLinkChange() applies them (plus the address-family rule below).
 *
 * Found by experiment on Linux 6.18; test/rtnl/link/change.test.js proves every entry on each
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

/** What the kernel reports for a field the spec leaves out (or when it sends no attribute). */
const DEFAULTS = { vni: 0, port: 0, learning: false, ttl: 0, tos: 0, udpChecksum: false, ageing: 0, proxy: false, l2miss: false, l3miss: false };
const READ_FIELDS = ['vni', 'port', 'learning', 'ttl', 'tos', 'udpChecksum', 'ageing', 'proxy', 'l2miss', 'l3miss'] as const;
const COMPARED: readonly VxlanField[] = ['vni', 'port', 'local', 'remote', 'group'];
const COMPARED_AFTER_DEV: readonly VxlanField[] = ['learning', 'ttl', 'tos', 'srcPortRange', 'udpChecksum', 'ageing', 'proxy', 'l2miss', 'l3miss'];

/** The rules between a vxlan spec's fields: remote XOR group, one address family, group needs dev. */
function validateVxlan(p: Problems, path: string, s: Record<string, unknown>): void {
  const at = (k: string) => (path ? `${path}.${k}` : k);
  const quiet = new Problems(); // the fields' own problems are reported by VXLAN_FIELDS
  let local: ParsedAddress | undefined;
  let peer: ParsedAddress | undefined;
  if (s.local !== undefined) {
    local = parseAddress(quiet, '', s.local);
    if (local && isMulticast(local)) p.add(at('local'), `${show(s.local)} is multicast; local must be a unicast address`);
  }
  if (s.remote !== undefined && s.group !== undefined) {
    p.add(at('remote'), 'remote and group are exclusive: a unicast peer or a multicast group, not both');
  }
  if (s.remote !== undefined) {
    const r = parseAddress(quiet, '', s.remote);
    if (r && isMulticast(r)) p.add(at('remote'), `${show(s.remote)} is multicast; use group for a multicast group`);
    else if (r && isUnspecified(r)) p.add(at('remote'), `${show(s.remote)} is the unspecified address; leave remote out instead`);
    peer = r;
  }
  if (s.group !== undefined) {
    const g = parseAddress(quiet, '', s.group);
    if (g && !isMulticast(g)) p.add(at('group'), `${show(s.group)} is not a multicast address; use remote for a unicast peer`);
    if (g && s.dev === undefined) p.add(at('dev'), 'a multicast group needs dev: the device to join it on');
    peer = peer ?? g;
  }
  if (local && peer && local.family !== peer.family) {
    p.add(at('local'), `local ${show(s.local)} is IPv${local.family} but ${s.remote !== undefined ? 'remote' : 'group'} is IPv${peer.family}: both must be one family`);
  }
}

/** The attribute values for a spec (or the part of one a change sends); learning is always
 * written on creation, as iproute2 does. */
function vxlanValues(spec: Partial<VxlanSpec>, dev: number | undefined, creating: boolean): Record<string, unknown> {
  return {
    dev,
    ttl: spec.ttl,
    tos: spec.tos,
    srcPortRange: spec.srcPortRange,
    udpChecksum: spec.udpChecksum,
    ageing: spec.ageing,
    proxy: spec.proxy,
    l2miss: spec.l2miss,
    l3miss: spec.l3miss,
    vni: spec.vni,
    local: spec.local,
    peer: spec.remote ?? spec.group,
    learning: spec.learning ?? (creating ? true : undefined),
    port: spec.port,
  };
}

const fam = (s: string | undefined) => (s === undefined ? 0 : s.includes(':') ? 6 : 4);

/** The vxlan kind. */
export const vxlan: LinkKindModule<VxlanSpec, VxlanLink> = {
  kind: 'vxlan',
  fields: VXLAN_FIELDS,
  data: VXLAN_ATTRS,
  mtu: { min: 68, max: 65535 },
  hasAddress: true,
  changeable: VXLAN_CHANGEABLE,
  immutable: VXLAN_IMMUTABLE,
  defaults: DEFAULTS,
  validate: validateVxlan,
  deviceOf: (spec) => spec.dev,
  encodeData(w: MessageWriter, spec: VxlanSpec, refs: LinkRefs): void {
    writeData(w, VXLAN_ATTRS, vxlanValues(spec, indexOf(spec.dev, refs.dev, 'dev'), true));
  },
  decode(base: LinkBase, data: KindData): VxlanLink {
    const v = data.values as { local?: string; peer?: string; dev?: number; srcPortRange?: [number, number] };
    const link = decodeWith<VxlanLink>(base, 'vxlan', { values: data.values, raw: undefined }, READ_FIELDS, DEFAULTS);
    if (v.local !== undefined) link.local = v.local;
    if (v.peer !== undefined) {
      if (isMulticastIP(v.peer)) link.group = v.peer;
      else link.remote = v.peer;
    }
    if (v.dev) link.dev = v.dev;
    const r = v.srcPortRange;
    if (r && (r[0] !== 0 || r[1] !== 0)) link.srcPortRange = r;
    if (data.raw !== undefined) link.raw = data.raw;
    return link;
  },
  diff(current: VxlanLink, spec: VxlanSpec, refs: LinkRefs): string[] {
    const out = diffFields(current, spec, COMPARED, ['local', 'remote', 'group']);
    const dev = indexOf(spec.dev, refs.dev, 'dev');
    if (dev !== undefined && dev !== current.dev) out.push('dev');
    const c = { ...current, srcPortRange: current.srcPortRange ?? [0, 0] } as VxlanLink;
    out.push(...diffFields(c, spec, COMPARED_AFTER_DEV));
    return out;
  },
  recreate(current: VxlanLink, spec: VxlanSpec, changed: readonly string[]): string[] {
    // The kernel keeps the device's address family (that of its local or remote/group, IPv4
    // when it has neither: vxlan_config_validate()) for both local and remote/group.
    const family = fam(current.local ?? current.remote ?? current.group) || 4;
    const out: string[] = [];
    if (changed.includes('local') && fam(spec.local) !== family) out.push('local');
    for (const f of ['remote', 'group'] as const) if (changed.includes(f) && fam(spec[f]) !== family) out.push(f);
    return out;
  },
  encodeChange(w: MessageWriter, _current: VxlanLink, spec: VxlanSpec, fields: readonly string[], refs: LinkRefs): void {
    const part: Partial<VxlanSpec> = {};
    for (const f of fields) if (f !== 'dev') (part as Record<string, unknown>)[f] = spec[f as VxlanField];
    VXLAN_ATTRS.encode(w, vxlanValues(part, fields.includes('dev') ? indexOf(spec.dev, refs.dev, 'dev') : undefined, false));
  },
  splitChange(changed: readonly string[]): string[][] {
    // vxlan_nl2conf() refuses IFLA_MTU in a request that also carries IFLA_INFO_DATA ("Cannot
    // change mtu", EOPNOTSUPP, Linux 6.18): the MTU goes in a second request, after the rest
    // (a new underlay changes what MTU it takes).
    if (changed.includes('mtu') && changed.some((f) => VXLAN_FIELDS.names.includes(f))) return [changed.filter((f) => f !== 'mtu'), ['mtu']];
    return [[...changed]];
  },
};
