/**
 * macvlan devices on a lower device (IFLA_LINK, required): modes private, vepa (the default),
 * bridge, passthru (one per lower, with its address) and source. A macvlan follows its lower's
 * carrier, starts with its MTU and never exceeds it, and goes when the lower goes; a lower with
 * macvlans cannot become a bridge port (EBUSY), nor a bridge port a lower.
 */
import { IFLA_LINK, IFLA_MTU } from '../../rtnl/constants';
import type { Device, LinkKind } from '../device';
import { E, fail, type Attrs } from '../message';

const IFLA_MACVLAN_MODE = 1;
const IFLA_MACVLAN_FLAGS = 2;
const IFLA_MACVLAN_MACADDR_COUNT = 6;
const IFLA_MACVLAN_BC_QUEUE_LEN = 7;
const IFLA_MACVLAN_BC_QUEUE_LEN_USED = 8;
const MODE_VEPA = 2;
const MODE_PASSTHRU = 8;
const MODES = new Set([1, 2, 4, 8, 16]);

function lowerOf(dev: Device): Device | undefined {
  const l = dev.priv.lower as Device | undefined;
  return l && l.ns.devices.get(l.index) === l ? l : undefined;
}

function siblings(lower: Device): Device[] {
  const out: Device[] = [];
  for (const ns of lower.ns.kernel.namespaces) for (const d of ns.devices.values()) if (d.kind === macvlan && lowerOf(d) === lower) out.push(d);
  return out;
}

function readMode(data: Attrs | undefined): number | undefined {
  const mode = data?.u32(IFLA_MACVLAN_MODE);
  if (mode !== undefined && !MODES.has(mode)) fail(E.EINVAL);
  return mode;
}

/** The macvlan kind. */
export const macvlan: LinkKind = {
  name: 'macvlan',
  setup(dev) {
    dev.priv.mode = MODE_VEPA;
    dev.priv.flags = 0;
  },
  create(dev, ctx) {
    const index = ctx.tb.u32(IFLA_LINK);
    if (index === undefined) fail(E.EINVAL);
    let lower = ctx.src.devices.get(index);
    if (!lower) fail(E.ENODEV);
    if (lower.kind === macvlan) lower = lowerOf(lower)!;
    if (lower.master?.isBridge) fail(E.EBUSY);
    const mode = readMode(ctx.data) ?? MODE_VEPA;
    const others = siblings(lower);
    if (others.some((d) => d.priv.mode === MODE_PASSTHRU) || (mode === MODE_PASSTHRU && others.length)) fail(E.EINVAL);
    dev.priv.mode = mode;
    dev.priv.flags = ctx.data?.u16(IFLA_MACVLAN_FLAGS) ?? 0;
    dev.priv.lower = lower;
    dev.maxMtu = lower.maxMtu;
    if (!ctx.tb.has(IFLA_MTU)) dev.mtu = lower.mtu;
    else if (dev.mtu > lower.mtu) fail(E.EINVAL);
    if (mode === MODE_PASSTHRU) dev.address = Buffer.from(lower.address);
  },
  change(dev, data) {
    const mode = readMode(data);
    if (mode !== undefined) {
      if ((mode === MODE_PASSTHRU) !== (dev.priv.mode === MODE_PASSTHRU)) fail(E.EINVAL);
      dev.priv.mode = mode;
    }
    const flags = data.u16(IFLA_MACVLAN_FLAGS);
    if (flags !== undefined) dev.priv.flags = flags;
  },
  fill(dev, w) {
    w.u32(IFLA_MACVLAN_MODE, dev.priv.mode as number);
    w.u16(IFLA_MACVLAN_FLAGS, dev.priv.flags as number);
    w.u32(IFLA_MACVLAN_MACADDR_COUNT, 0);
    w.u32(IFLA_MACVLAN_BC_QUEUE_LEN, 1000);
    w.u32(IFLA_MACVLAN_BC_QUEUE_LEN_USED, 1000);
  },
  carrier: (dev) => lowerOf(dev)?.carrier ?? false,
  reportsOperstate: () => true,
  checkMtu(dev, mtu) {
    const lower = lowerOf(dev);
    return lower && mtu > lower.mtu ? E.EINVAL : undefined;
  },
  lower: lowerOf,
};
