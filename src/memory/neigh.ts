/**
 * Neighbour entries of the in-memory kernel (RTM_*NEIGH of family AF_INET / AF_INET6): add,
 * replace, delete and dump with the kernel's rules (EEXIST, ENOENT, "No link layer address
 * given", proxy entries in their own table), and their flush when a device goes down.
 */
import {
  AF_INET,
  AF_INET6,
  NDA_CACHEINFO,
  NDA_DST,
  NDA_IFINDEX,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_PROBES,
  NDA_PROTOCOL,
  NDMSG_LEN,
  NTF_PROXY,
  NTF_ROUTER,
  NUD_DELAY,
  NUD_FAILED,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
  RTM_DELNEIGH,
  RTM_NEWNEIGH,
  RTNLGRP_NEIGH,
  RTN_BROADCAST,
  RTN_MULTICAST,
  RTN_UNICAST,
  RT_TABLE_LOCAL,
} from '../rtnl/constants';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../wire/constants';
import type { MessageWriter } from '../wire/writer';
import type { Device } from './device';
import { Attrs, E, fail } from './message';
import type { NeighEntry, ProxyEntry } from './neigh-store';
import type { Request } from './request';
import type { NsState } from './state';

/** NUD_VALID: states with a usable link-layer address. */
const NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;

/** The parsed struct ndmsg of a request. */
export interface Ndmsg {
  family: number;
  ifindex: number;
  state: number;
  flags: number;
  type: number;
  tb: Attrs;
}

/** Reads struct ndmsg and the attributes (EINVAL when too short). */
export function readNdmsg(req: Request): Ndmsg {
  if (req.end - req.payload < NDMSG_LEN) fail(E.EINVAL, 'Invalid header for neighbor request');
  const b = req.buf;
  const p = req.payload;
  return { family: b[p], ifindex: b.readInt32LE(p + 4), state: b.readUInt16LE(p + 8), flags: b[p + 10], type: b[p + 11], tb: Attrs.parse(b, p + NDMSG_LEN, req.end) };
}

/** Writes struct ndmsg. */
export function writeNdmsg(w: MessageWriter, family: number, ifindex: number, state: number, flags: number, type: number): void {
  const off = w.reserve(NDMSG_LEN);
  w.buf[off] = family;
  w.buf.writeInt32LE(ifindex, off + 4);
  w.buf.writeUInt16LE(state, off + 8);
  w.buf[off + 10] = flags;
  w.buf[off + 11] = type;
}

const CACHEINFO = Buffer.alloc(16);

function typeOf(ns: NsState, e: { family: 4 | 6; dst: Buffer; dev: Device }): number {
  if (e.family === 6) return e.dst[0] === 0xff ? RTN_MULTICAST : RTN_UNICAST;
  if ((e.dst[0] & 0xf0) === 0xe0) return RTN_MULTICAST;
  if (e.dst.every((b) => b === 0xff) || e.dst.every((b) => b === 0)) return RTN_BROADCAST;
  // inet_addr_type_dev_table(): without a local table every address is "broadcast".
  if (!ns.routes.table(4, RT_TABLE_LOCAL)) return RTN_BROADCAST;
  const hit = ns.routes.lookup(4, e.dst, { tableId: RT_TABLE_LOCAL });
  return hit && hit.nh?.dev === e.dev ? hit.route.type : RTN_UNICAST;
}

function fillNeigh(w: MessageWriter, ns: NsState, e: NeighEntry): void {
  writeNdmsg(w, e.family === 4 ? AF_INET : AF_INET6, e.dev.index, e.state, e.flags, typeOf(ns, e));
  w.binary(NDA_DST, e.dst);
  if (e.state & NUD_VALID && e.lladdr) w.binary(NDA_LLADDR, e.lladdr);
  w.u32(NDA_PROBES, 0);
  w.binary(NDA_CACHEINFO, CACHEINFO);
  if (e.protocol) w.u8(NDA_PROTOCOL, e.protocol);
}

function fillProxy(w: MessageWriter, p: ProxyEntry): void {
  writeNdmsg(w, p.family === 4 ? AF_INET : AF_INET6, p.dev?.index ?? 0, 0, p.flags | NTF_PROXY, RTN_UNICAST);
  w.binary(NDA_DST, p.dst);
  if (p.protocol) w.u8(NDA_PROTOCOL, p.protocol);
}

function announce(ns: NsState, type: number, e: NeighEntry): void {
  ns.notify(RTNLGRP_NEIGH, type, 0, (w) => fillNeigh(w, ns, e));
}

/** arp_constructor / ndisc_constructor: the state and address an entry starts with. */
function initial(ns: NsState, e: NeighEntry): void {
  const t = typeOf(ns, e);
  const dev = e.dev;
  if (t === RTN_MULTICAST) {
    e.state = NUD_NOARP;
    e.lladdr = e.family === 4 ? Buffer.from([0x01, 0x00, 0x5e, e.dst[1] & 0x7f, e.dst[2], e.dst[3]]) : Buffer.from([0x33, 0x33, ...e.dst.subarray(12, 16)]);
  } else if (dev.flags & (0x80 /* IFF_NOARP */ | 0x8 /* IFF_LOOPBACK */)) {
    e.state = NUD_NOARP;
    e.lladdr = Buffer.from(dev.address);
  } else if (t === RTN_BROADCAST || dev.flags & 0x10 /* IFF_POINTOPOINT */) {
    e.state = NUD_NOARP;
    e.lladdr = Buffer.from(dev.broadcast);
  }
}

/** RTM_NEWNEIGH (AF_INET / AF_INET6). */
export function newNeigh(req: Request, m: Ndmsg): void {
  const ns = req.ns;
  const family: 4 | 6 = m.family === AF_INET ? 4 : 6;
  let dev: Device | undefined;
  const lladdr = m.tb.bytes(NDA_LLADDR);
  if (m.ifindex) {
    dev = ns.devices.get(m.ifindex);
    if (!dev) fail(E.ENODEV);
    if (lladdr && lladdr.length < dev.address.length) fail(E.EINVAL, 'Invalid link address');
  }
  const dst = m.tb.bytes(NDA_DST);
  if (!dst || dst.length < (family === 4 ? 4 : 16)) fail(E.EINVAL, 'Invalid network address');
  const protocol = m.tb.u8(NDA_PROTOCOL) ?? 0;
  if (m.flags & NTF_PROXY) {
    let p = ns.neigh.findProxy(family, dev, dst);
    if (!p) ns.neigh.proxies.push((p = { family, dev, dst, flags: m.flags, protocol }));
    p.flags = m.flags;
    if (protocol) p.protocol = protocol;
    return;
  }
  if (!dev) fail(E.EINVAL, 'Device not specified');
  let e = ns.neigh.find(family, dev, dst);
  let override = true;
  if (!e) {
    if (!(req.flags & NLM_F_CREATE)) fail(E.ENOENT);
    e = { family, dev, dst, lladdr: undefined, state: 0, flags: 0, protocol: 0 };
    initial(ns, e);
    ns.neigh.entries.push(e);
  } else {
    if (req.flags & NLM_F_EXCL) fail(E.EEXIST);
    if (!(req.flags & NLM_F_REPLACE)) override = false;
  }
  if (protocol) e.protocol = protocol;
  // __neigh_update(): without an address the entry must already have one. (An entry created
  // by a refused add stays, unresolved, as it does in the kernel until garbage collection.)
  let ha = lladdr;
  if (!ha) {
    if (!(e.state & NUD_VALID)) fail(E.EINVAL, 'No link layer address given');
    ha = e.lladdr;
  } else if (!override && e.state & (NUD_PERMANENT | NUD_REACHABLE | NUD_NOARP) && e.lladdr) {
    ha = e.lladdr;
  }
  const before = `${e.state}/${e.flags}/${e.lladdr?.toString('hex')}`;
  e.lladdr = ha;
  e.state = m.state;
  if (family === 6) e.flags = (e.flags & ~NTF_ROUTER) | (m.flags & NTF_ROUTER);
  if (`${e.state}/${e.flags}/${e.lladdr?.toString('hex')}` !== before) announce(ns, RTM_NEWNEIGH, e);
}

/** RTM_DELNEIGH (AF_INET / AF_INET6). */
export function delNeigh(req: Request, m: Ndmsg): void {
  const ns = req.ns;
  const family: 4 | 6 = m.family === AF_INET ? 4 : 6;
  let dev: Device | undefined;
  if (m.ifindex) {
    dev = ns.devices.get(m.ifindex);
    if (!dev) fail(E.ENODEV);
  }
  const dst = m.tb.bytes(NDA_DST);
  if (!dst || dst.length < (family === 4 ? 4 : 16)) fail(E.EINVAL, 'Network address not specified');
  if (m.flags & NTF_PROXY) {
    const p = ns.neigh.findProxy(family, dev, dst);
    if (!p) fail(E.ENOENT);
    ns.neigh.proxies.splice(ns.neigh.proxies.indexOf(p), 1);
    return;
  }
  if (!dev) fail(E.EINVAL);
  const e = ns.neigh.find(family, dev, dst);
  if (!e) fail(E.ENOENT);
  ns.neigh.remove(e);
  e.state = NUD_FAILED;
  announce(ns, RTM_DELNEIGH, e);
}

/** RTM_GETNEIGH dump of families AF_UNSPEC, AF_INET, AF_INET6 (NTF_PROXY: the proxy table). */
export function dumpNeigh(req: Request, family: number): void {
  const ns = req.ns;
  const b = req.buf;
  const p = req.payload;
  let dev = 0;
  let master = 0;
  let proxy = false;
  if (req.end - p >= NDMSG_LEN) proxy = (b[p + 10] & NTF_PROXY) !== 0;
  if (req.strict) {
    if (req.end - p < NDMSG_LEN) fail(E.EINVAL, 'Invalid header for neighbor dump request');
    if (b[p + 1] || b[p + 2] || b.readInt32LE(p + 4) || b.readUInt16LE(p + 8) || b[p + 11]) fail(E.EINVAL, 'Invalid values in header for neighbor dump request');
    if (b[p + 10] & ~NTF_PROXY) fail(E.EINVAL, 'Invalid flags in header for neighbor dump request');
    const tb = Attrs.parse(b, p + NDMSG_LEN, req.end);
    for (const a of tb.all) {
      if (a.type === NDA_IFINDEX) dev = tb.u32(NDA_IFINDEX)!;
      else if (a.type === NDA_MASTER) master = tb.u32(NDA_MASTER)!;
      else fail(E.EINVAL, 'Unsupported attribute in neighbor dump request');
    }
    if (dev || master) req.filtered();
  }
  const keep = (d: Device | undefined) => (!dev || d?.index === dev) && (!master || d?.master?.index === master);
  for (const fam of [4, 6] as const) {
    if (family && family !== (fam === 4 ? AF_INET : AF_INET6)) continue;
    if (proxy) {
      for (const x of ns.neigh.proxies) if (x.family === fam && keep(x.dev)) req.reply(RTM_NEWNEIGH, 0, (w) => fillProxy(w, x));
      continue;
    }
    for (const e of ns.neigh.entries) if (e.family === fam && keep(e.dev)) req.reply(RTM_NEWNEIGH, 0, (w) => fillNeigh(w, ns, e));
  }
}

/** neigh_ifdown(): a device that goes down or away loses every entry, permanent ones too. */
export function neighFlushDevice(ns: NsState, dev: Device): void {
  const { entries } = ns.neigh.removeDevice(dev);
  for (const e of entries) announce(ns, RTM_DELNEIGH, e);
}
