/**
 * VXLAN devices: vxlan_nl2conf() and vxlan_config_validate()/apply() as Linux 6.18 has them.
 * What a change may touch (remote/group, local, dev, ttl, tos, learning, ageing) and the
 * refusals with the kernel's texts ("Cannot change VNI", "vxlan: cannot change PROXY flag",
 * "Cannot change mtu" beside IFLA_INFO_DATA...); the MTU capped at the underlay's minus 50
 * (IPv4) or 70 (IPv6) bytes when created, refused above it later; the all-zero FDB entry towards
 * the remote; a device whose underlay goes away goes with it.
 */
import {
  IFLA_MTU,
  IFLA_VXLAN_AGEING,
  IFLA_VXLAN_COLLECT_METADATA,
  IFLA_VXLAN_DF,
  IFLA_VXLAN_GBP,
  IFLA_VXLAN_GPE,
  IFLA_VXLAN_GROUP,
  IFLA_VXLAN_GROUP6,
  IFLA_VXLAN_ID,
  IFLA_VXLAN_L2MISS,
  IFLA_VXLAN_L3MISS,
  IFLA_VXLAN_LABEL,
  IFLA_VXLAN_LEARNING,
  IFLA_VXLAN_LIMIT,
  IFLA_VXLAN_LINK,
  IFLA_VXLAN_LOCAL,
  IFLA_VXLAN_LOCAL6,
  IFLA_VXLAN_PORT,
  IFLA_VXLAN_PORT_RANGE,
  IFLA_VXLAN_PROXY,
  IFLA_VXLAN_REMCSUM_NOPARTIAL,
  IFLA_VXLAN_REMCSUM_RX,
  IFLA_VXLAN_REMCSUM_TX,
  IFLA_VXLAN_RSC,
  IFLA_VXLAN_TOS,
  IFLA_VXLAN_TTL,
  IFLA_VXLAN_TTL_INHERIT,
  IFLA_VXLAN_UDP_CSUM,
  IFLA_VXLAN_UDP_ZERO_CSUM6_RX,
  IFLA_VXLAN_UDP_ZERO_CSUM6_TX,
  NTF_SELF,
  NUD_PERMANENT,
  NUD_REACHABLE,
} from '../../rtnl/constants';
import { NLM_F_APPEND, NLM_F_CREATE } from '../../wire/constants';
import type { Device, LinkKind } from '../device';
import { vxlanFdbDelete, vxlanFdbUpdate, vxlanTable, type VxlanFdbConfig } from '../fdb';
import { Attrs, E, fail, sameBytes } from '../message';
import type { NsState } from '../state';

const IFLA_VXLAN_LOCALBYPASS = 31;
const IFLA_VXLAN_LABEL_POLICY = 32;
const IFLA_VXLAN_RESERVED_BITS = 33;

/** A vxlan device's configuration (struct vxlan_config). */
interface VxlanConfig extends VxlanFdbConfig {
  remote: Buffer | undefined;
  /** The families of remote and local as given (0: not given). */
  remoteFamily: number;
  localFamily: number;
  local: Buffer | undefined;
  /** Underlay ifindex (IFLA_VXLAN_LINK), 0 for none, in namespace linkNs. */
  link: number;
  linkNs: NsState;
  ttl: number;
  ttlInherit: boolean;
  tos: number;
  df: number;
  label: number;
  learning: boolean;
  ageing: number;
  limit: number;
  portMin: number;
  portMax: number;
  /** Boolean flags by IFLA_VXLAN_* attribute type (proxy, rsc, l2miss, ...). */
  flags: Map<number, boolean>;
  udpCsum: boolean;
  localBypass: boolean;
}

/** Flags a change refuses, with the name the kernel's message uses. */
const FIXED_FLAGS: Record<number, string> = {
  [IFLA_VXLAN_TTL_INHERIT]: 'TTL_INHERIT',
  [IFLA_VXLAN_PROXY]: 'PROXY',
  [IFLA_VXLAN_RSC]: 'RSC',
  [IFLA_VXLAN_L2MISS]: 'L2MISS',
  [IFLA_VXLAN_L3MISS]: 'L3MISS',
  [IFLA_VXLAN_COLLECT_METADATA]: 'COLLECT_METADATA',
  [IFLA_VXLAN_UDP_ZERO_CSUM6_TX]: 'UDP_ZERO_CSUM6_TX',
  [IFLA_VXLAN_UDP_ZERO_CSUM6_RX]: 'UDP_ZERO_CSUM6_RX',
  [IFLA_VXLAN_REMCSUM_TX]: 'REMCSUM_TX',
  [IFLA_VXLAN_REMCSUM_RX]: 'REMCSUM_RX',
  [IFLA_VXLAN_GBP]: 'GBP',
  [IFLA_VXLAN_GPE]: 'GPE',
  [IFLA_VXLAN_REMCSUM_NOPARTIAL]: 'REMCSUM_NOPARTIAL',
};

const ZERO_MAC = Buffer.alloc(6);

function cfg(dev: Device): VxlanConfig {
  return dev.priv.cfg as VxlanConfig;
}

const isMulticast = (a: Buffer | undefined) => a !== undefined && (a.length === 4 ? (a[0] & 0xf0) === 0xe0 : a[0] === 0xff);

/** vxlan_nl2conf(): the request's settings over the current ones (a change) or the defaults. */
function nl2conf(data: Attrs, tb: Attrs, base: VxlanConfig, changelink: boolean): VxlanConfig {
  const c: VxlanConfig = { ...base, flags: new Map(base.flags) };
  const vni = data.u32(IFLA_VXLAN_ID);
  if (vni !== undefined) {
    if (changelink && vni !== c.vni) fail(E.EOPNOTSUPP, 'Cannot change VNI');
    c.vni = vni;
  }
  const group = data.addr(IFLA_VXLAN_GROUP, 4);
  const group6 = data.addr(IFLA_VXLAN_GROUP6, 16);
  if (group || group6) {
    const fam = group ? 4 : 6;
    if (changelink && c.remoteFamily !== fam) fail(E.EOPNOTSUPP, 'New group address family does not match old group');
    c.remote = group ?? group6;
    c.remoteFamily = fam;
  }
  const local = data.addr(IFLA_VXLAN_LOCAL, 4);
  const local6 = data.addr(IFLA_VXLAN_LOCAL6, 16);
  if (local || local6) {
    const fam = local ? 4 : 6;
    if (changelink && c.localFamily !== fam) fail(E.EOPNOTSUPP, 'New local address family does not match old');
    c.local = local ?? local6;
    c.localFamily = fam;
  }
  const link = data.u32(IFLA_VXLAN_LINK);
  if (link !== undefined) c.link = link;
  const tos = data.u8(IFLA_VXLAN_TOS);
  if (tos !== undefined) c.tos = tos;
  const ttl = data.u8(IFLA_VXLAN_TTL);
  if (ttl !== undefined) c.ttl = ttl;
  const label = data.range(IFLA_VXLAN_LABEL);
  if (label && label.end - label.off >= 4) c.label = data.buf.readUInt32BE(label.off) & 0xfffff;
  const learning = data.u8(IFLA_VXLAN_LEARNING);
  if (learning !== undefined) c.learning = learning !== 0;
  const ageing = data.u32(IFLA_VXLAN_AGEING);
  if (ageing !== undefined) c.ageing = ageing;
  for (const [t, name] of Object.entries(FIXED_FLAGS)) {
    const type = Number(t);
    if (!data.has(type)) continue;
    if (changelink) fail(E.EOPNOTSUPP, `vxlan: cannot change ${name} flag`);
    const v = data.len(type) === 0 ? true : data.u8(type) !== 0;
    if (type === IFLA_VXLAN_TTL_INHERIT) c.ttlInherit = v;
    else c.flags.set(type, v);
  }
  if (data.has(IFLA_VXLAN_LIMIT)) {
    if (changelink) fail(E.EOPNOTSUPP, 'Cannot change limit');
    c.limit = data.u32(IFLA_VXLAN_LIMIT)!;
  }
  const range = data.range(IFLA_VXLAN_PORT_RANGE);
  if (range) {
    if (changelink) fail(E.EOPNOTSUPP, 'Cannot change port range');
    if (range.end - range.off < 4) fail(E.EINVAL);
    c.portMin = data.buf.readUInt16BE(range.off);
    c.portMax = data.buf.readUInt16BE(range.off + 2);
  }
  if (data.has(IFLA_VXLAN_PORT)) {
    if (changelink) fail(E.EOPNOTSUPP, 'Cannot change port');
    c.port = data.be16(IFLA_VXLAN_PORT)!;
  }
  if (data.has(IFLA_VXLAN_UDP_CSUM)) {
    if (changelink) fail(E.EOPNOTSUPP, 'Cannot change UDP_CSUM flag');
    c.udpCsum = data.u8(IFLA_VXLAN_UDP_CSUM) !== 0;
  }
  if (tb.has(IFLA_MTU) && changelink) fail(E.EOPNOTSUPP, 'Cannot change mtu');
  const df = data.u8(IFLA_VXLAN_DF);
  if (df !== undefined) c.df = df;
  const bypass = data.u8(IFLA_VXLAN_LOCALBYPASS);
  if (bypass !== undefined) c.localBypass = bypass !== 0;
  return c;
}

/** vxlan_config_validate(): families, the underlay, and one device per VNI and port. */
function validate(dev: Device, c: VxlanConfig, src: NsState): Device | undefined {
  if (!c.remoteFamily && !c.localFamily) {
    c.remoteFamily = 4;
    c.localFamily = 4;
  } else if (!c.remoteFamily) c.remoteFamily = c.localFamily;
  else if (!c.localFamily) c.localFamily = c.remoteFamily;
  if (c.remoteFamily !== c.localFamily) fail(E.EINVAL, 'Local and remote address must be from the same family');
  c.family = c.remoteFamily as 4 | 6;
  if (isMulticast(c.local)) fail(E.EINVAL, 'Local address cannot be multicast');
  let lower: Device | undefined;
  if (c.link) {
    lower = src.devices.get(c.link);
    if (!lower) fail(E.ENODEV, 'Invalid local interface, device not found');
    c.linkNs = src;
  }
  for (const other of dev.ns.devices.values()) {
    if (other === dev || other.kind !== vxlan) continue;
    const o = cfg(other);
    if (o.vni === c.vni && o.port === c.port && o.family === c.family) fail(E.EEXIST, 'A VXLAN device with the specified VNI already exists');
  }
  return lower;
}

function headroom(c: VxlanConfig): number {
  return c.family === 6 ? 70 : 50;
}

function lowerOf(dev: Device): Device | undefined {
  const c = cfg(dev);
  if (!c.link) return undefined;
  const d = c.linkNs.devices.get(c.link);
  return d;
}

function defaults(ns: NsState): VxlanConfig {
  return {
    vni: 0,
    port: 8472,
    family: 4,
    remote: undefined,
    remoteFamily: 0,
    localFamily: 0,
    local: undefined,
    link: 0,
    linkNs: ns,
    ttl: 0,
    ttlInherit: false,
    tos: 0,
    df: 0,
    label: 0,
    learning: true,
    ageing: 300,
    limit: 0,
    portMin: 0,
    portMax: 0,
    flags: new Map(),
    udpCsum: true,
    localBypass: true,
  };
}

/** The vxlan kind. */
export const vxlan: LinkKind = {
  name: 'vxlan',
  setup() {},
  create(dev, ctx) {
    const c = nl2conf(ctx.data ?? Attrs.parse(Buffer.alloc(0), 0, 0), ctx.tb, defaults(ctx.src), false);
    const lower = validate(dev, c, ctx.src);
    dev.priv.cfg = c;
    // The MTU: asked for, or the underlay's minus the encapsulation; capped at the latter.
    let max = 65535;
    if (lower) max = Math.max(68, lower.mtu - headroom(c));
    const asked = ctx.tb.u32(IFLA_MTU);
    if (asked !== undefined) dev.mtu = Math.min(asked, max);
    else if (lower) dev.mtu = max;
  },
  registered(dev) {
    const c = cfg(dev);
    if (c.remote && !c.remote.every((b) => b === 0)) {
      vxlanFdbUpdate(dev, ZERO_MAC, { ip: c.remote, port: c.port, vni: c.vni, ifindex: c.link }, NUD_REACHABLE | NUD_PERMANENT, NLM_F_CREATE | NLM_F_APPEND, NTF_SELF);
    }
  },
  change(dev, data, tb) {
    const old = cfg(dev);
    const c = nl2conf(data, tb, old, true);
    const lower = validate(dev, c, c.link !== old.link ? dev.ns : old.linkNs);
    if (!sameBytes(c.remote, old.remote)) {
      if (c.remote && !c.remote.every((b) => b === 0)) {
        vxlanFdbUpdate(dev, ZERO_MAC, { ip: c.remote, port: old.port, vni: c.vni, ifindex: c.link }, NUD_REACHABLE | NUD_PERMANENT, NLM_F_CREATE | NLM_F_APPEND, NTF_SELF);
      }
      if (old.remote && vxlanTable(dev).has(ZERO_MAC.toString('hex'))) {
        vxlanFdbDelete(dev, ZERO_MAC, { ip: old.remote, port: old.port, vni: old.vni, ifindex: old.link });
      }
    }
    dev.priv.cfg = c;
    if (lower) dev.mtu = Math.min(dev.mtu, Math.max(68, lower.mtu - headroom(c)));
  },
  fill(dev, w) {
    const c = cfg(dev);
    w.u32(IFLA_VXLAN_ID, c.vni);
    if (c.remote) w.binary(c.remote.length === 4 ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, c.remote);
    if (c.link) w.u32(IFLA_VXLAN_LINK, c.link);
    if (c.local) w.binary(c.local.length === 4 ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, c.local);
    w.u8(IFLA_VXLAN_TTL, c.ttl);
    w.u8(IFLA_VXLAN_TTL_INHERIT, c.ttlInherit ? 1 : 0);
    w.u8(IFLA_VXLAN_TOS, c.tos);
    w.u8(IFLA_VXLAN_DF, c.df);
    w.be32(IFLA_VXLAN_LABEL, c.label);
    w.u32(IFLA_VXLAN_LABEL_POLICY, 0);
    w.u8(IFLA_VXLAN_LEARNING, c.learning ? 1 : 0);
    for (const t of [IFLA_VXLAN_PROXY, IFLA_VXLAN_RSC, IFLA_VXLAN_L2MISS, IFLA_VXLAN_L3MISS, IFLA_VXLAN_COLLECT_METADATA]) w.u8(t, c.flags.get(t) ? 1 : 0);
    w.u32(IFLA_VXLAN_AGEING, c.ageing);
    w.u32(IFLA_VXLAN_LIMIT, c.limit);
    w.be16(IFLA_VXLAN_PORT, c.port);
    w.u8(IFLA_VXLAN_UDP_CSUM, c.udpCsum ? 1 : 0);
    for (const t of [IFLA_VXLAN_UDP_ZERO_CSUM6_TX, IFLA_VXLAN_UDP_ZERO_CSUM6_RX, IFLA_VXLAN_REMCSUM_TX, IFLA_VXLAN_REMCSUM_RX]) w.u8(t, c.flags.get(t) ? 1 : 0);
    w.u8(IFLA_VXLAN_LOCALBYPASS, c.localBypass ? 1 : 0);
    w.be32(IFLA_VXLAN_PORT_RANGE, ((c.portMin << 16) | c.portMax) >>> 0);
    w.binary(IFLA_VXLAN_RESERVED_BITS, Buffer.from('f7ffffff000000ff', 'hex'));
  },
  carrier: () => true,
  reportsOperstate: () => false,
  checkMtu(dev, mtu) {
    const lower = lowerOf(dev);
    if (lower && mtu > lower.mtu - headroom(cfg(dev))) return E.EINVAL;
    return undefined;
  },
  lower: lowerOf,
};
