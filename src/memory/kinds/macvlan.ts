/**
 * macvlan devices on a lower device (IFLA_LINK, required): modes private, vepa (the default),
 * bridge, passthru (one per lower, with its address) and source; the flags NOPROMISC (passthru
 * only) and NODST (source only); the broadcast queue length. A macvlan follows its lower's
 * carrier, starts with its MTU and never exceeds it, and goes when the lower goes; a lower with
 * macvlans cannot become a bridge port (EBUSY), nor a bridge port a lower.
 */
import {
  IFLA_LINK,
  IFLA_MACVLAN_BC_QUEUE_LEN,
  IFLA_MACVLAN_BC_QUEUE_LEN_USED,
  IFLA_MACVLAN_FLAGS,
  IFLA_MACVLAN_MACADDR_COUNT,
  IFLA_MACVLAN_MODE,
  IFLA_MTU,
  MACVLAN_FLAG_NODST,
  MACVLAN_FLAG_NOPROMISC,
  MACVLAN_MODE_PASSTHRU,
  MACVLAN_MODE_SOURCE,
  MACVLAN_MODE_VEPA,
} from '../../rtnl/constants';
import type { Device, LinkKind } from '../device';
import { E, fail, type Attrs } from '../message';

const MODES = new Set([1, 2, 4, 8, 16]);

interface MacvlanPriv {
  lower: Device;
  mode: number;
  flags: number;
  bcQueueLen: number;
}

function priv(dev: Device): MacvlanPriv {
  return dev.priv as unknown as MacvlanPriv;
}

function lowerOf(dev: Device): Device | undefined {
  const l = priv(dev).lower;
  return l && l.ns.devices.get(l.index) === l ? l : undefined;
}

function siblings(lower: Device): Device[] {
  const out: Device[] = [];
  for (const ns of lower.ns.kernel.namespaces) for (const d of ns.devices.values()) if (d.kind === macvlan && lowerOf(d) === lower) out.push(d);
  return out;
}

/** macvlan_validate(): known mode; each flag in its mode. */
function readConfig(data: Attrs | undefined, mode: number, flags: number): { mode: number; flags: number } {
  const m = data?.u32(IFLA_MACVLAN_MODE);
  if (m !== undefined) {
    if (!MODES.has(m)) fail(E.EINVAL);
    mode = m;
  }
  const f = data?.u16(IFLA_MACVLAN_FLAGS);
  if (f !== undefined) {
    if (f & ~(MACVLAN_FLAG_NOPROMISC | MACVLAN_FLAG_NODST)) fail(E.EINVAL);
    flags = f;
  }
  if (flags & MACVLAN_FLAG_NOPROMISC && mode !== MACVLAN_MODE_PASSTHRU) fail(E.EINVAL);
  if (flags & MACVLAN_FLAG_NODST && mode !== MACVLAN_MODE_SOURCE) fail(E.EINVAL);
  return { mode, flags };
}

/** The macvlan kind. */
export const macvlan: LinkKind = {
  name: 'macvlan',
  setup(dev) {
    Object.assign(dev.priv, { mode: MACVLAN_MODE_VEPA, flags: 0, bcQueueLen: 1000 });
  },
  create(dev, ctx) {
    const index = ctx.tb.u32(IFLA_LINK);
    if (index === undefined) fail(E.EINVAL);
    let lower = ctx.src.devices.get(index);
    if (!lower) fail(E.ENODEV);
    if (lower.kind === macvlan) lower = lowerOf(lower)!;
    const { mode, flags } = readConfig(ctx.data, MACVLAN_MODE_VEPA, 0);
    if (lower.master?.isBridge) fail(E.EBUSY);
    const others = siblings(lower);
    if (others.some((d) => priv(d).mode === MACVLAN_MODE_PASSTHRU) || (mode === MACVLAN_MODE_PASSTHRU && others.length)) fail(E.EINVAL);
    const p = priv(dev);
    p.mode = mode;
    p.flags = flags;
    p.lower = lower;
    p.bcQueueLen = ctx.data?.u32(IFLA_MACVLAN_BC_QUEUE_LEN) ?? 1000;
    dev.maxMtu = lower.maxMtu;
    if (!ctx.tb.has(IFLA_MTU)) dev.mtu = lower.mtu;
    else if (dev.mtu > lower.mtu) fail(E.EINVAL);
    if (mode === MACVLAN_MODE_PASSTHRU) dev.address = Buffer.from(lower.address);
  },
  change(dev, data) {
    const p = priv(dev);
    const { mode, flags } = readConfig(data, p.mode, p.flags);
    if ((mode === MACVLAN_MODE_PASSTHRU) !== (p.mode === MACVLAN_MODE_PASSTHRU)) fail(E.EINVAL);
    p.mode = mode;
    p.flags = flags;
    const q = data.u32(IFLA_MACVLAN_BC_QUEUE_LEN);
    if (q !== undefined) p.bcQueueLen = q;
  },
  fill(dev, w) {
    const p = priv(dev);
    const lower = lowerOf(dev);
    const used = Math.max(p.bcQueueLen, ...(lower ? siblings(lower).map((d) => priv(d).bcQueueLen) : []));
    w.u32(IFLA_MACVLAN_MODE, p.mode);
    w.u16(IFLA_MACVLAN_FLAGS, p.flags);
    w.u32(IFLA_MACVLAN_MACADDR_COUNT, 0);
    w.u32(IFLA_MACVLAN_BC_QUEUE_LEN, p.bcQueueLen);
    w.u32(IFLA_MACVLAN_BC_QUEUE_LEN_USED, used);
  },
  carrier: (dev) => lowerOf(dev)?.carrier ?? false,
  reportsOperstate: () => true,
  checkMtu(dev, mtu) {
    const lower = lowerOf(dev);
    return lower && mtu > lower.mtu ? E.EINVAL : undefined;
  },
  lower: lowerOf,
};
