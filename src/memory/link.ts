/**
 * Links of the in-memory kernel: RTM_NEWLINK (create, or change an existing device),
 * RTM_DELLINK, RTM_GETLINK and link dumps, and the device lifecycle behind them (register,
 * up/down, MTU, master, rename, namespace moves, unregister) with the notifications and the
 * side effects on addresses, routes, neighbours and FDB that the kernel has.
 */
import {
  AF_UNSPEC,
  IFF_LOOPBACK,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_BROADCAST,
  IFLA_CARRIER,
  IFLA_CARRIER_CHANGES,
  IFLA_EXT_MASK,
  IFLA_GROUP,
  IFLA_GSO_MAX_SEGS,
  IFLA_GSO_MAX_SIZE,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_LINK,
  IFLA_LINKINFO,
  IFLA_LINKMODE,
  IFLA_LINK_NETNSID,
  IFLA_MASTER,
  IFLA_MAX_MTU,
  IFLA_MIN_MTU,
  IFLA_MTU,
  IFLA_NET_NS_FD,
  IFLA_NUM_RX_QUEUES,
  IFLA_NUM_TX_QUEUES,
  IFLA_OPERSTATE,
  IFLA_PROMISCUITY,
  IFLA_PROTO_DOWN,
  IFLA_TARGET_NETNSID,
  IFLA_TXQLEN,
  RTM_DELLINK,
  RTM_NEWLINK,
  RTNLGRP_LINK,
} from '../rtnl/constants';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../wire/constants';
import type { MessageWriter } from '../wire/writer';
import { addressesDown, addressesUnregister, addressesUp, addrconfReady } from './address';
import { ARPHRD_ETHER, Device, type LinkKind, type NewLinkContext } from './device';
import { bridgeAddLocal, bridgeForgetPort, bridgeOwnAddressChanged } from './fdb';
import { Attrs, E, fail, sameBytes } from './message';
import { neighFlushDevice } from './neigh';
import type { Request } from './request';
import type { NsState } from './state';

// ---------------------------------------------------------------- messages

/** Writes struct ifinfomsg and the attributes of a device, in the kernel's order. */
export function fillLink(w: MessageWriter, ns: NsState, dev: Device, change = 0): void {
  const off = w.reserve(IFINFOMSG_LEN);
  const b = w.buf;
  b[off] = AF_UNSPEC;
  b.writeUInt16LE(dev.type, off + 2);
  b.writeInt32LE(dev.index, off + 4);
  b.writeUInt32LE(dev.reportedFlags >>> 0, off + 8);
  b.writeUInt32LE(change >>> 0, off + 12);
  w.string(IFLA_IFNAME, dev.name);
  w.u32(IFLA_TXQLEN, dev.txqlen);
  w.u8(IFLA_OPERSTATE, dev.operstate);
  w.u8(IFLA_LINKMODE, 0);
  w.u32(IFLA_MTU, dev.mtu);
  w.u32(IFLA_MIN_MTU, dev.minMtu);
  w.u32(IFLA_MAX_MTU, dev.maxMtu);
  w.u32(IFLA_GROUP, 0);
  w.u32(IFLA_PROMISCUITY, 0);
  w.u32(IFLA_NUM_TX_QUEUES, dev.numTxQueues);
  w.u32(IFLA_GSO_MAX_SEGS, 65535);
  w.u32(IFLA_GSO_MAX_SIZE, 65536);
  w.u32(IFLA_NUM_RX_QUEUES, dev.numRxQueues);
  w.u8(IFLA_CARRIER, dev.carrier ? 1 : 0);
  w.u32(IFLA_CARRIER_CHANGES, dev.carrierChanges);
  w.u8(IFLA_PROTO_DOWN, 0);
  if (dev.master) w.u32(IFLA_MASTER, dev.master.index);
  if (dev.address.length) {
    w.binary(IFLA_ADDRESS, dev.address);
    w.binary(IFLA_BROADCAST, dev.broadcast);
  }
  if (dev.kind) {
    const li = w.nestStart(IFLA_LINKINFO);
    w.string(IFLA_INFO_KIND, dev.kind.name);
    if (dev.kind.fill) {
      const d = w.nestStart(IFLA_INFO_DATA);
      dev.kind.fill(dev, w);
      w.nestEnd(d);
    }
    w.nestEnd(li);
  }
  const lower = dev.kind?.lower?.(dev);
  const iflink = dev.kind?.iflink?.(dev);
  if (lower) {
    w.s32(IFLA_LINK, lower.index);
    if (lower.ns !== ns) w.s32(IFLA_LINK_NETNSID, ns.nsidOf(lower.ns));
  } else if (iflink !== undefined) w.s32(IFLA_LINK, iflink);
  if (dev.alias !== undefined) w.string(IFLA_IFALIAS, dev.alias);
}

/** Announces a device (RTM_NEWLINK or RTM_DELLINK) to its namespace. */
export function announceLink(dev: Device, type = RTM_NEWLINK, change = 0): void {
  dev.ns.notify(RTNLGRP_LINK, type, 0, (w) => fillLink(w, dev.ns, dev, change));
}

// ---------------------------------------------------------------- lifecycle

/** register_netdevice(): gives the device an index (its own if free, when moving) and announces it. */
export function registerDevice(ns: NsState, dev: Device, wantIndex = 0): void {
  if (ns.names.has(dev.name)) fail(E.EEXIST);
  dev.ns = ns;
  dev.index = wantIndex && ns.reserveIndex(wantIndex) ? wantIndex : ns.allocIndex();
  ns.devices.set(dev.index, dev);
  ns.names.set(dev.name, dev);
  dev.lastState = undefined;
  announceLink(dev);
  dev.lastState = linkState(dev);
}

/** Devices stacked on `dev` (macvlans on their lower, vxlans on their underlay) that go with it. */
function uppers(dev: Device): Device[] {
  const out: Device[] = [];
  for (const ns of dev.ns.kernel.namespaces) {
    for (const d of ns.devices.values()) {
      if (d === dev) continue;
      if (d.kind?.name === 'macvlan' && d.kind.lower?.(d) === dev) out.push(d);
      if (d.kind?.name === 'vxlan' && (d.priv.cfg as { link?: number; linkNs?: NsState }).link === dev.index && (d.priv.cfg as { linkNs?: NsState }).linkNs === dev.ns) out.push(d);
    }
  }
  return out;
}

/** unregister_netdevice(): down, detached, its addresses/routes/neighbours gone, announced. */
export function unregisterDevice(dev: Device): void {
  const ns = dev.ns;
  if (!ns.devices.has(dev.index) || ns.devices.get(dev.index) !== dev) return;
  for (const u of uppers(dev)) unregisterDevice(u);
  if (dev.up) closeDevice(dev);
  if (dev.master) releasePort(dev);
  if (dev.isBridge) for (const d of [...ns.devices.values()]) if (d.master === dev) releasePort(d);
  addressesUnregister(ns, dev);
  neighFlushDevice(ns, dev);
  ns.devices.delete(dev.index);
  ns.names.delete(dev.name);
  announceLink(dev, RTM_DELLINK);
  for (const c of dev.kind?.companions?.(dev) ?? []) unregisterDevice(c);
}

/** dev_open(). */
export function openDevice(dev: Device): void {
  if (dev.up) return;
  dev.flags |= IFF_UP;
  addressesUp(dev.ns, dev);
  if (dev.flags & IFF_LOOPBACK) addrconfReady(dev.ns, dev);
}

/** dev_close(): IPv6 addresses and the routes through the device go, and every neighbour. */
export function closeDevice(dev: Device): void {
  if (!dev.up) return;
  dev.flags &= ~IFF_UP;
  addressesDown(dev.ns, dev);
  neighFlushDevice(dev.ns, dev);
}

/** dev_set_mtu(): the device's range, then the kind's own rule (vxlan: its underlay). */
export function setMtu(dev: Device, mtu: number): void {
  if (mtu < dev.minMtu) fail(E.EINVAL, 'mtu less than device minimum');
  if (mtu > dev.maxMtu) fail(E.EINVAL, 'mtu greater than device maximum');
  const refused = dev.kind?.checkMtu?.(dev, mtu);
  if (refused !== undefined) fail(refused);
  if (dev.mtu === mtu) return;
  dev.mtu = mtu;
  if (dev.isBridge) dev.mtuSetByUser = true;
  lowerMtuChanged(dev);
}

/** What follows a device's MTU: its bridge (unless set by hand) and its macvlans. */
function lowerMtuChanged(dev: Device): void {
  if (dev.master?.isBridge) bridgeAutoMtu(dev.master);
  for (const u of uppers(dev)) {
    if (u.kind?.name === 'macvlan') {
      if (u.mtu > dev.mtu) {
        u.mtu = dev.mtu;
        announceLink(u);
      }
    }
  }
}

/** br_mtu_auto_adjust(): a bridge whose MTU nobody set follows its smallest port. */
function bridgeAutoMtu(br: Device): void {
  if (br.mtuSetByUser) return;
  let min = 0;
  for (const d of br.ns.devices.values()) if (d.master === br && (!min || d.mtu < min)) min = d.mtu;
  const mtu = min || 1500;
  if (mtu !== br.mtu) {
    br.mtu = mtu;
    announceLink(br);
  }
}

/** br_stp_recalculate_bridge_id(): a bridge without a set address takes its ports' lowest. */
function bridgeAutoAddress(br: Device): void {
  if (br.addressSetByUser) return;
  let min: Buffer | undefined;
  for (const d of br.ns.devices.values()) if (d.master === br && (!min || Buffer.compare(d.address, min) < 0)) min = d.address;
  if (min && !sameBytes(min, br.address)) {
    const old = br.address;
    br.address = Buffer.from(min);
    bridgeOwnAddressChanged(br, old);
  }
}

/** do_set_master(): enslave to a bridge (0: release). */
export function setMaster(dev: Device, index: number): void {
  const ns = dev.ns;
  if (index === 0) {
    if (dev.master) releasePort(dev);
    return;
  }
  const upper = ns.devices.get(index);
  if (!upper) fail(E.EINVAL);
  if (dev.master === upper) return;
  if (dev.master) releasePort(dev);
  if (!upper.isBridge) fail(E.EOPNOTSUPP);
  if (dev === upper) fail(E.ELOOP);
  if (dev.flags & IFF_LOOPBACK) fail(E.EINVAL, 'Can not enslave loopback device');
  if (dev.type !== ARPHRD_ETHER) fail(E.EINVAL, 'Can not enslave a non-Ethernet device');
  if (dev.isBridge) fail(E.ELOOP, 'Can not enslave a bridge to a bridge');
  if (uppers(dev).some((u) => u.kind?.name === 'macvlan')) fail(E.EBUSY);
  dev.master = upper;
  upper.priv.portsSeen = true;
  bridgeAddLocal(upper, dev, dev.address);
  bridgeAutoMtu(upper);
  bridgeAutoAddress(upper);
  announceLink(dev);
}

function releasePort(dev: Device): void {
  const br = dev.master!;
  dev.master = undefined;
  bridgeForgetPort(br, dev);
  bridgeAutoMtu(br);
  bridgeAutoAddress(br);
  announceLink(dev);
}

/** dev_change_name(): IPv4 labels that carried the old name follow. */
function rename(dev: Device, name: string): void {
  if (name === dev.name) return;
  const ns = dev.ns;
  if (ns.names.has(name)) fail(E.EEXIST);
  ns.names.delete(dev.name);
  const old = dev.name;
  dev.name = name;
  ns.names.set(name, dev);
  for (const a of ns.addrs) {
    if (a.dev !== dev || a.label === undefined) continue;
    if (a.label === old) a.label = name;
    else if (a.label.startsWith(old + ':')) a.label = name + a.label.slice(old.length);
  }
}

/** dev_change_net_namespace(): down, detached, addresses and routes gone, re-registered there. */
function moveToNamespace(dev: Device, target: NsState): void {
  if (target === dev.ns) return;
  if (dev.flags & IFF_LOOPBACK || dev.isBridge) fail(E.EINVAL, 'The interface netns is immutable');
  if (target.names.has(dev.name)) fail(E.EEXIST);
  const index = dev.index;
  const old = dev.ns;
  if (dev.up) closeDevice(dev);
  if (dev.master) releasePort(dev);
  addressesUnregister(old, dev);
  neighFlushDevice(old, dev);
  old.devices.delete(dev.index);
  old.names.delete(dev.name);
  announceLink(dev, RTM_DELLINK);
  registerDevice(target, dev, index);
}

// ---------------------------------------------------------------- link state (linkwatch)

/** What a device reports that changes without a request of its own (carrier, operstate). */
function linkState(dev: Device): string {
  return `${dev.reportedFlags}/${dev.operstate}/${dev.carrier}/${dev.mtu}`;
}

/**
 * What linkwatch and addrconf do after a change: every device whose carrier or operational
 * state moved is announced (RTM_NEWLINK), and a device that became ready gets its IPv6
 * link-local address. The kernel does this asynchronously (up to a second later); here it
 * happens before the request's answer.
 */
export function settle(namespaces: Iterable<NsState>): void {
  for (let round = 0; round < 4; round++) {
    let changed = false;
    for (const ns of namespaces) {
      for (const dev of ns.sortedDevices()) {
        const st = linkState(dev);
        const carrier = dev.carrier;
        if (dev.lastState !== st) {
          const wasCarrier = dev.lastState?.split('/')[2] === 'true';
          if (dev.lastState !== undefined && wasCarrier !== carrier) dev.carrierChanges++;
          dev.lastState = st;
          announceLink(dev);
          changed = true;
        }
        const op = dev.operstate;
        if (dev.up && (op === 6 || op === 0) && !dev.linkLocal) {
          addrconfReady(ns, dev);
          changed = true;
        }
      }
    }
    if (!changed) return;
  }
}

// ---------------------------------------------------------------- requests

interface Ifinfo {
  index: number;
  flags: number;
  change: number;
  tb: Attrs;
}

function readIfinfo(req: Request): Ifinfo {
  if (req.end - req.payload < IFINFOMSG_LEN) fail(E.EINVAL, 'Invalid header for link request');
  const b = req.buf;
  const p = req.payload;
  return { index: b.readInt32LE(p + 4), flags: b.readUInt32LE(p + 8), change: b.readUInt32LE(p + 12), tb: Attrs.parse(b, p + IFINFOMSG_LEN, req.end) };
}

function findDevice(ns: NsState, m: Ifinfo): Device | undefined {
  if (m.index > 0) return ns.devices.get(m.index);
  const name = m.tb.str(IFLA_IFNAME);
  return name !== undefined ? ns.names.get(name) : undefined;
}

function targetNamespace(req: Request, tb: Attrs): NsState {
  const fd = tb.u32(IFLA_NET_NS_FD);
  if (fd === undefined) return req.ns;
  const ns = req.ns.kernel.namespaceByFd(fd);
  if (!ns || ns.dead) fail(E.EBADF);
  return ns;
}

/** The name for a new device: IFLA_IFNAME, or a "kind%d" template's first free instance. */
export function deviceName(ns: NsState, tb: Attrs, template: string): string {
  const given = tb.str(IFLA_IFNAME);
  const pattern = given ?? template;
  if (!pattern.includes('%d')) return pattern;
  for (let i = 0; ; i++) {
    const n = pattern.replace('%d', String(i));
    if (!ns.names.has(n)) return n;
  }
}

/** Applies IFLA_MTU / IFLA_ADDRESS / IFLA_BROADCAST / IFLA_TXQLEN to a device being created. */
export function applyCreateAttrs(dev: Device, tb: Attrs): void {
  const mtu = tb.u32(IFLA_MTU);
  if (mtu !== undefined) {
    if (mtu < dev.minMtu) fail(E.EINVAL, 'mtu less than device minimum');
    if (mtu > dev.maxMtu) fail(E.EINVAL, 'mtu greater than device maximum');
    dev.mtu = mtu;
  }
  const addr = tb.bytes(IFLA_ADDRESS);
  if (addr) {
    if (addr.length < dev.address.length) fail(E.EINVAL);
    dev.address = addr.subarray(0, dev.address.length);
    dev.addressSetByUser = true;
  }
  const brd = tb.bytes(IFLA_BROADCAST);
  if (brd) dev.broadcast = brd;
  const txq = tb.u32(IFLA_TXQLEN);
  if (txq !== undefined) dev.txqlen = txq;
}

/** RTM_NEWLINK. */
export function newLink(req: Request): void {
  const ns = req.ns;
  const m = readIfinfo(req);
  const dev = findDevice(ns, m);
  const info = m.tb.nest(IFLA_LINKINFO);
  const kindName = info?.str(IFLA_INFO_KIND);
  const kind = kindName !== undefined ? ns.kernel.kinds.get(kindName) : undefined;
  const data = info?.nest(IFLA_INFO_DATA);
  if (dev) {
    if (req.flags & NLM_F_EXCL) fail(E.EEXIST);
    if (req.flags & NLM_F_REPLACE) fail(E.EOPNOTSUPP);
    if (data) {
      if (!kind || kind !== dev.kind || !kind.change) fail(E.EOPNOTSUPP);
      kind.change(dev, data, m.tb);
    }
    setLink(req, dev, m);
    return;
  }
  if (!(req.flags & NLM_F_CREATE)) fail(E.ENODEV);
  if (!kind) fail(E.EOPNOTSUPP, 'Unknown device type');
  createLink(req, m, kind, data);
}

function createLink(req: Request, m: Ifinfo, kind: LinkKind, data: Attrs | undefined): void {
  const target = targetNamespace(req, m.tb);
  const name = deviceName(target, m.tb, `${kind.name}%d`);
  if (target.names.has(name)) fail(E.EEXIST);
  const dev = new Device(target, name, kind);
  const ctx: NewLinkContext = { tb: m.tb, data, src: req.ns };
  kind.setup(dev);
  applyCreateAttrs(dev, m.tb);
  kind.create(dev, ctx);
  try {
    registerDevice(target, dev);
    kind.registered?.(dev, ctx);
    if (m.change & IFF_UP || (m.flags & IFF_UP && m.change === 0)) {
      if (m.flags & IFF_UP) openDevice(dev);
    }
    const master = m.tb.u32(IFLA_MASTER);
    if (master) setMaster(dev, master);
  } catch (e) {
    unregisterDevice(dev);
    for (const c of kind.companions?.(dev) ?? []) unregisterDevice(c);
    throw e;
  }
}

/** do_setlink(): the common attributes of an existing device, in the kernel's order. */
function setLink(req: Request, dev: Device, m: Ifinfo): void {
  const tb = m.tb;
  if (tb.has(IFLA_NET_NS_FD)) moveToNamespace(dev, targetNamespace(req, tb));
  const addr = tb.bytes(IFLA_ADDRESS);
  if (addr) {
    if (addr.length < dev.address.length) fail(E.EINVAL);
    const next = addr.subarray(0, dev.address.length);
    if (!sameBytes(next, dev.address)) {
      const old = dev.address;
      dev.address = Buffer.from(next);
      dev.addressSetByUser = true;
      if (dev.isBridge) bridgeOwnAddressChanged(dev, old);
      if (dev.master?.isBridge) bridgeAutoAddress(dev.master);
    }
  }
  const mtu = tb.u32(IFLA_MTU);
  if (mtu !== undefined) setMtu(dev, mtu);
  const name = tb.str(IFLA_IFNAME);
  if (m.index > 0 && name !== undefined) rename(dev, name);
  if (tb.has(IFLA_IFALIAS)) {
    const alias = tb.str(IFLA_IFALIAS) ?? '';
    dev.alias = alias === '' ? undefined : alias;
  }
  const brd = tb.bytes(IFLA_BROADCAST);
  if (brd) dev.broadcast = brd;
  if (m.change & IFF_UP || (m.change === 0 && m.flags)) {
    if (m.flags & IFF_UP) openDevice(dev);
    else closeDevice(dev);
  }
  const master = tb.u32(IFLA_MASTER);
  if (master !== undefined) setMaster(dev, master);
  const txq = tb.u32(IFLA_TXQLEN);
  if (txq !== undefined) dev.txqlen = txq;
  announceLink(dev);
}

/** RTM_DELLINK. */
export function delLink(req: Request): void {
  const m = readIfinfo(req);
  const dev = findDevice(req.ns, m);
  if (!dev) fail(E.ENODEV);
  if (!dev.kind) fail(E.EOPNOTSUPP);
  unregisterDevice(dev);
}

/** RTM_GETLINK of one device. */
export function getLink(req: Request): void {
  const m = readIfinfo(req);
  if (req.strict) {
    for (const a of m.tb.all) {
      if (![IFLA_IFNAME, IFLA_EXT_MASK, IFLA_TARGET_NETNSID, 53 /* IFLA_ALT_IFNAME */].includes(a.type)) fail(E.EINVAL, 'Unsupported attribute in link get request');
    }
  }
  const dev = findDevice(req.ns, m);
  if (!dev) fail(E.ENODEV);
  req.reply(RTM_NEWLINK, 0, (w) => fillLink(w, req.ns, dev));
}

/** RTM_GETLINK dump: every device by index, filtered by master and kind (strict checking). */
export function dumpLinks(req: Request): void {
  const ns = req.ns;
  let master = 0;
  let kind: LinkKind | undefined;
  if (req.strict) {
    if (req.end - req.payload < IFINFOMSG_LEN) fail(E.EINVAL, 'Invalid header for link dump');
    const b = req.buf;
    const p = req.payload;
    if (b[p + 1] || b.readUInt16LE(p + 2) || b.readInt32LE(p + 4) || b.readUInt32LE(p + 8) || b.readUInt32LE(p + 12)) fail(E.EINVAL, 'Invalid values in header for link dump request');
    const tb = Attrs.parse(b, p + IFINFOMSG_LEN, req.end);
    for (const a of tb.all) {
      if (a.type === IFLA_MASTER) master = tb.u32(IFLA_MASTER)!;
      else if (a.type === IFLA_LINKINFO) kind = ns.kernel.kinds.get(tb.nest(IFLA_LINKINFO)?.str(IFLA_INFO_KIND) ?? '');
      else if (a.type !== IFLA_EXT_MASK && a.type !== IFLA_TARGET_NETNSID) fail(E.EINVAL, 'Unsupported attribute in link dump request');
    }
    if (master || kind) req.filtered();
  }
  for (const dev of ns.sortedDevices()) {
    if (master && dev.master?.index !== master) continue;
    if (kind && dev.kind !== kind) continue;
    req.reply(RTM_NEWLINK, 0, (w) => fillLink(w, ns, dev));
  }
}
