/**
 * IPv6 tunnels (link kind "ip6tnl"): IPv6 in IPv6 (mode ip6ip6, iproute2's default) and IPv4
 * in IPv6 (mode ipip6), as `ip link add NAME type ip6tnl mode ipip6 local A remote B`; the
 * IFLA_IPTUN_* table with 16-byte addresses, and what can be changed on an existing device.
 *
 * This kernel (the project's test host) has no ip6_tunnel module: creating one fails with
 * EOPNOTSUPP "Unknown device type". Debian's kernel has it as a module; the round trip, the
 * in-place changes and the oracle (`ip -d`) run on the VM lane (test/rtnl/link/ip6tnl.test.js).
 * What the kernel does, from net/ipv6/ip6_tunnel.c (Linux 6.x):
 *
 * - ip6_tnl_changelink() parses the parameters from zero (ip6_tnl_netlink_parms()) and
 *   ip6_tnl_update() takes all of them: local, remote, hop limit, encapsulation limit, flow
 *   info, flags, proto (the mode), fwmark and link change in place, and a change must send the
 *   whole set (encodeChange does, keeping what the spec leaves out).
 * - Another tunnel with the same local, remote and link gives EEXIST (create or change).
 * - A collect_md (external) device cannot be changed (EINVAL); this library does not create them.
 * - The encapsulation limit option is sent unless IP6_TNL_F_IGN_ENCAP_LIMIT is set (encapLimit 'none').
 */
import { attr, be16, be32, defineAttrs, ip, u16, u32, u8, type AttrCodec } from '../../wire/attrs';
import { readU8 } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import {
  IFLA_IPTUN_ENCAP_DPORT,
  IFLA_IPTUN_ENCAP_FLAGS,
  IFLA_IPTUN_ENCAP_LIMIT,
  IFLA_IPTUN_ENCAP_SPORT,
  IFLA_IPTUN_ENCAP_TYPE,
  IFLA_IPTUN_FLAGS,
  IFLA_IPTUN_FLOWINFO,
  IFLA_IPTUN_FWMARK,
  IFLA_IPTUN_LINK,
  IFLA_IPTUN_LOCAL,
  IFLA_IPTUN_PROTO,
  IFLA_IPTUN_REMOTE,
  IFLA_IPTUN_TTL,
} from '../constants';
import type { DeviceRef, LinkBase, LinkCommonSpec } from '../types';
import { isMulticast, parseAddress } from '../../values/address';
import { checkInt, describeValue as show, Problems } from '../../values/problems';
import { address, defineFields, device, fieldOf, int, oneOf, type FieldCheck } from '../spec';
import { decodeWith, devDiffers, diffFields, indexOf, writeData } from './generic';
import type { KindData, LinkKindModule, LinkRefs } from './kind';

/** What an ip6tnl device carries: IPv6 (ip6ip6), IPv4 (ipip6) or either (any). */
export type Ip6tnlMode = 'ip6ip6' | 'ipip6' | 'any';

/**
 * An IPv6 tunnel device for links.add().
 *
 * @example
 * ```ts
 * await nl.links.add({ kind: 'ip6tnl', name: 'tun6', mode: 'ipip6', local: 'fd00::1', remote: 'fd00::2', up: true });
 * ```
 */
export interface Ip6tnlSpec extends LinkCommonSpec {
  /** Discriminant: an IPv6 tunnel. */
  kind: 'ip6tnl';
  /** The inner protocol (IFLA_IPTUN_PROTO): ip6ip6 (IPv6 in IPv6, the default), ipip6 (IPv4 in IPv6) or any. */
  mode?: Ip6tnlMode;
  /** Source address of the outer IPv6 packets (IFLA_IPTUN_LOCAL). */
  local?: string;
  /** Destination of the outer IPv6 packets (IFLA_IPTUN_REMOTE); omitted: any. */
  remote?: string;
  /** Hop limit of the outer packets (IFLA_IPTUN_TTL). Linux and iproute2 default to 64. */
  ttl?: number;
  /** The tunnel encapsulation limit option (IFLA_IPTUN_ENCAP_LIMIT), or 'none' to send none. Default 4. */
  encapLimit?: number | 'none';
  /** Underlay device. */
  dev?: DeviceRef;
}

/** An ip6tnl device as read back. */
export interface Ip6tnlLink extends LinkBase {
  /** Discriminant: an IPv6 tunnel. */
  kind: 'ip6tnl';
  /** The inner protocol (a number when the kernel reports one this library does not name). */
  mode: Ip6tnlMode | number;
  /** Source address of the outer packets, when set. */
  local?: string;
  /** Destination of the outer packets, when set. */
  remote?: string;
  /** Hop limit of the outer packets. */
  ttl: number;
  /** The encapsulation limit, or 'none' when IP6_TNL_F_IGN_ENCAP_LIMIT is set. */
  encapLimit: number | 'none';
  /** Flow label and traffic class of the outer packets (IFLA_IPTUN_FLOWINFO). */
  flowinfo: number;
  /** IP6_TNL_F_* flags. */
  flags: number;
  /** Firewall mark of the outer packets. */
  fwmark: number;
  /** Underlay device index. */
  dev?: number;
}

/** IPPROTO_IPV6, IPPROTO_IPIP, 0 (any). */
const PROTOS: Record<Ip6tnlMode, number> = { ip6ip6: 41, ipip6: 4, any: 0 };
const MODE_NAMES = Object.keys(PROTOS) as Ip6tnlMode[];
/** IP6_TNL_F_IGN_ENCAP_LIMIT: send no tunnel encapsulation limit option. */
const IGN_ENCAP_LIMIT = 0x1;
/** IPV6_DEFAULT_TNL_ENCAP_LIMIT and iproute2's DEFAULT_TNL_HOP_LIMIT. */
const DEFAULT_ENCAP_LIMIT = 4;
const DEFAULT_HOP_LIMIT = 64;

/** IFLA_IPTUN_PROTO: a u8 read and written by mode name. */
const modeCodec: AttrCodec<Ip6tnlMode | number> = {
  encode: (w, t, v) => w.u8(t, typeof v === 'number' ? v : PROTOS[v]),
  decode: (buf, off, len) => {
    const n = readU8(buf, off, len);
    return MODE_NAMES.find((m) => PROTOS[m] === n) ?? n;
  },
};

/** IFLA_INFO_DATA of an ip6tnl device, in the order iproute2 (link_ip6tnl.c) writes it. */
export const IP6TNL_ATTRS = defineAttrs('IFLA_IPTUN', {
  dev: attr(IFLA_IPTUN_LINK, u32),
  local: attr(IFLA_IPTUN_LOCAL, ip),
  remote: attr(IFLA_IPTUN_REMOTE, ip),
  ttl: attr(IFLA_IPTUN_TTL, u8),
  encapLimit: attr(IFLA_IPTUN_ENCAP_LIMIT, u8),
  flowinfo: attr(IFLA_IPTUN_FLOWINFO, be32),
  flags: attr(IFLA_IPTUN_FLAGS, u32),
  mode: attr(IFLA_IPTUN_PROTO, modeCodec),
  fwmark: attr(IFLA_IPTUN_FWMARK, u32),
  encapType: attr(IFLA_IPTUN_ENCAP_TYPE, u16),
  encapFlags: attr(IFLA_IPTUN_ENCAP_FLAGS, u16),
  encapSport: attr(IFLA_IPTUN_ENCAP_SPORT, be16),
  encapDport: attr(IFLA_IPTUN_ENCAP_DPORT, be16),
});

/** ip6_tnl's max_mtu: IP6_MAX_MTU (65535 + the 40-byte IPv6 header) minus the outer header (`ip -d` shows maxmtu 65535 on 6.1). */
export const IP6TNL_MAX_MTU = 65535;

/** 0..255, or 'none'. */
const encapLimitCheck: FieldCheck = (p, path, v) => v === 'none' || checkInt(p, path, v, 0, 255);

/** The fields of an Ip6tnlSpec. */
export const IP6TNL_FIELDS = defineFields(
  'Ip6tnlSpec',
  {
    mode: fieldOf(oneOf(MODE_NAMES, 'ip6tnl mode'), 'The inner protocol (IFLA_IPTUN_PROTO): ip6ip6 (IPv6 in IPv6, the default), ipip6 (IPv4 in IPv6) or any.'),
    local: fieldOf(address(6), 'Source address of the outer IPv6 packets (IFLA_IPTUN_LOCAL).'),
    remote: fieldOf(address(6), 'Destination of the outer IPv6 packets (IFLA_IPTUN_REMOTE); omitted: any.'),
    ttl: fieldOf(int(0, 255), 'Hop limit of the outer packets (IFLA_IPTUN_TTL). Linux and iproute2 default to 64.'),
    encapLimit: fieldOf(encapLimitCheck, "The tunnel encapsulation limit option (IFLA_IPTUN_ENCAP_LIMIT), or 'none' to send none. Default 4."),
    dev: fieldOf(device, 'Underlay device.'),
  },
  { link: 'dev', hoplimit: 'ttl', encaplimit: 'encapLimit', proto: 'mode' },
);

/** The spec fields of an ip6tnl device (everything but the common link settings). */
export type Ip6tnlField = Exclude<keyof Ip6tnlSpec, 'kind' | keyof LinkCommonSpec>;

/** Everything changes in place (see the module comment). VM lane only. */
export const IP6TNL_CHANGEABLE: readonly Ip6tnlField[] = ['mode', 'local', 'remote', 'ttl', 'encapLimit', 'dev'];
export const IP6TNL_IMMUTABLE: readonly Ip6tnlField[] = [];

const DEFAULTS = { mode: 'ip6ip6' as Ip6tnlMode, ttl: DEFAULT_HOP_LIMIT, encapLimit: DEFAULT_ENCAP_LIMIT };
const COMPARED: readonly Ip6tnlField[] = ['mode', 'local', 'remote', 'ttl', 'encapLimit'];

function validateIp6tnl(p: Problems, path: string, s: Record<string, unknown>): void {
  if (s.local === undefined) return;
  const a = parseAddress(new Problems(), '', s.local, 6);
  if (a && isMulticast(a)) p.add(path ? `${path}.local` : 'local', `${show(s.local)} is multicast; local must be a unicast address`);
}

/** The flags word for an encapsulation limit, other bits as they are. */
const flagsFor = (encapLimit: number | 'none', flags = 0) => (encapLimit === 'none' ? flags | IGN_ENCAP_LIMIT : flags & ~IGN_ENCAP_LIMIT);
const limitOf = (encapLimit: number | 'none') => (encapLimit === 'none' ? DEFAULT_ENCAP_LIMIT : encapLimit);

/** The ip6tnl kind. */
export const ip6tnl: LinkKindModule<Ip6tnlSpec, Ip6tnlLink> = {
  kind: 'ip6tnl',
  fields: IP6TNL_FIELDS,
  data: IP6TNL_ATTRS,
  mtu: { min: 68, max: IP6TNL_MAX_MTU },
  hasAddress: false,
  changeable: IP6TNL_CHANGEABLE,
  immutable: IP6TNL_IMMUTABLE,
  defaults: DEFAULTS,
  validate: validateIp6tnl,
  deviceOf: (spec) => spec.dev,
  /** As iproute2 on creation: every field, defaults included. */
  encodeData(w: MessageWriter, spec: Ip6tnlSpec, refs: LinkRefs): void {
    const limit = spec.encapLimit ?? DEFAULT_ENCAP_LIMIT;
    writeData(w, IP6TNL_ATTRS, {
      dev: indexOf(spec.dev, refs.dev, 'dev') ?? 0,
      local: spec.local ?? '::',
      remote: spec.remote ?? '::',
      ttl: spec.ttl ?? DEFAULT_HOP_LIMIT,
      encapLimit: limitOf(limit),
      flowinfo: 0,
      flags: flagsFor(limit),
      mode: spec.mode ?? DEFAULTS.mode,
      fwmark: 0,
      encapType: 0,
      encapFlags: 0,
      encapSport: 0,
      encapDport: 0,
    });
  },
  /** :: (unset) addresses read as absent; the encapsulation limit reads 'none' when the flag says so. */
  decode(base: LinkBase, data: KindData): Ip6tnlLink {
    const v = data.values as { local?: string; remote?: string; dev?: number; flags?: number; encapLimit?: number; flowinfo?: number; fwmark?: number };
    const link = decodeWith<Ip6tnlLink>(base, 'ip6tnl', data, ['mode', 'ttl'], DEFAULTS);
    link.flags = v.flags ?? 0;
    link.encapLimit = (link.flags & IGN_ENCAP_LIMIT) !== 0 ? 'none' : (v.encapLimit ?? DEFAULT_ENCAP_LIMIT);
    link.flowinfo = v.flowinfo ?? 0;
    link.fwmark = v.fwmark ?? 0;
    if (v.local && v.local !== '::') link.local = v.local;
    if (v.remote && v.remote !== '::') link.remote = v.remote;
    if (v.dev) link.dev = v.dev;
    return link;
  },
  diff(current: Ip6tnlLink, spec: Ip6tnlSpec, refs: LinkRefs): string[] {
    const out = diffFields(current, spec, COMPARED, ['local', 'remote']);
    if (devDiffers(spec.dev, current.dev, refs)) out.push('dev');
    return out;
  },
  /** The whole parameter set (the kernel resets what is absent): the spec over the device's. */
  encodeChange(w: MessageWriter, current: Ip6tnlLink, spec: Ip6tnlSpec, _fields: readonly string[], refs: LinkRefs): void {
    const limit = spec.encapLimit ?? current.encapLimit;
    IP6TNL_ATTRS.encode(w, {
      dev: indexOf(spec.dev, refs.dev, 'dev') ?? current.dev ?? 0,
      local: spec.local ?? current.local ?? '::',
      remote: spec.remote ?? current.remote ?? '::',
      ttl: spec.ttl ?? current.ttl,
      encapLimit: limitOf(limit),
      flowinfo: current.flowinfo,
      flags: flagsFor(limit, current.flags),
      mode: spec.mode ?? current.mode,
      fwmark: current.fwmark,
    });
  },
};
