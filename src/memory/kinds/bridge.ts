/**
 * Bridges: STP on or off, no VLAN filtering (the kernel this models was built without
 * CONFIG_BRIDGE_VLAN_FILTERING: asking for it is EOPNOTSUPP, and it reads back 0). A bridge has
 * carrier until its ports first change, then while one of its ports is up with carrier; its
 * MTU follows its smallest port unless set by hand, its address its ports' lowest unless set;
 * its FDB holds a local entry for its own address and for each port's (see fdb.ts, link.ts).
 */
import { IFLA_BR_AGEING_TIME, IFLA_BR_FORWARD_DELAY, IFLA_BR_HELLO_TIME, IFLA_BR_MAX_AGE, IFLA_BR_PRIORITY, IFLA_BR_STP_STATE, IFLA_BR_VLAN_FILTERING } from '../../rtnl/constants';
import type { Device, LinkKind } from '../device';
import { bridgeAddLocal } from '../fdb';
import { E, fail, type Attrs } from '../message';

function apply(dev: Device, data: Attrs | undefined): void {
  if (!data) return;
  if (data.has(IFLA_BR_VLAN_FILTERING)) fail(E.EOPNOTSUPP);
  const stp = data.u32(IFLA_BR_STP_STATE);
  if (stp !== undefined) dev.priv.stp = stp !== 0;
  for (const [t, key] of [
    [IFLA_BR_FORWARD_DELAY, 'forwardDelay'],
    [IFLA_BR_HELLO_TIME, 'helloTime'],
    [IFLA_BR_MAX_AGE, 'maxAge'],
    [IFLA_BR_AGEING_TIME, 'ageingTime'],
  ] as const) {
    const v = data.u32(t);
    if (v !== undefined) dev.priv[key] = v;
  }
  const prio = data.u16(IFLA_BR_PRIORITY);
  if (prio !== undefined) dev.priv.priority = prio;
}

function hasPortWithCarrier(br: Device): boolean {
  for (const d of br.ns.devices.values()) if (d.master === br && d.carrier) return true;
  return false;
}

/** The bridge kind. */
export const bridge: LinkKind = {
  name: 'bridge',
  setup(dev) {
    Object.assign(dev.priv, { stp: false, forwardDelay: 1500, helloTime: 200, maxAge: 2000, ageingTime: 30000, priority: 0x8000, portsSeen: false });
  },
  create(dev, ctx) {
    apply(dev, ctx.data);
  },
  registered(dev) {
    bridgeAddLocal(dev, undefined, dev.address);
  },
  change(dev, data) {
    apply(dev, data);
  },
  fill(dev, w) {
    const p = dev.priv as { stp: boolean; forwardDelay: number; helloTime: number; maxAge: number; ageingTime: number; priority: number };
    w.u32(IFLA_BR_FORWARD_DELAY, p.forwardDelay);
    w.u32(IFLA_BR_HELLO_TIME, p.helloTime);
    w.u32(IFLA_BR_MAX_AGE, p.maxAge);
    w.u32(IFLA_BR_AGEING_TIME, p.ageingTime);
    w.u32(IFLA_BR_STP_STATE, p.stp ? 1 : 0);
    w.u16(IFLA_BR_PRIORITY, p.priority);
    w.u8(IFLA_BR_VLAN_FILTERING, 0);
  },
  carrier: (dev) => !dev.priv.portsSeen || hasPortWithCarrier(dev),
  reportsOperstate: (dev) => dev.priv.portsSeen === true,
};
