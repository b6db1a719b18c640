/**
 * Interface addresses of the in-memory kernel (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR) and the
 * routes the kernel keeps for them: for IPv4 a local route in table local (always), and, while
 * the device is up, the prefix route in main and the subnet broadcast route (fib_add_ifaddr);
 * for IPv6 the local route and, while up, the prefix route (metric 256), plus the link-local
 * address, fe80::/64 and ff00::/8 when a device becomes ready (addrconf).
 */
import {
  AF_INET,
  AF_INET6,
  IFADDRMSG_LEN,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_CACHEINFO,
  IFA_FLAGS,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFA_F_PERMANENT,
  IFA_F_SECONDARY,
  IFA_LABEL,
  IFA_LOCAL,
  IFA_RT_PRIORITY,
  IFF_LOOPBACK,
  RTM_DELADDR,
  RTM_NEWADDR,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV6_IFADDR,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_UNICAST,
  RTPROT_KERNEL,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
} from '../rtnl/constants';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../wire/constants';
import type { MessageWriter } from '../wire/writer';
import type { Device } from './device';
import { Attrs, E, fail, inPrefix, maskBytes, sameBytes } from './message';
import type { Request } from './request';
import { addKernelRoute, delKernelRoute, flushDeviceRoutes, reviveDeviceRoutes } from './route';
import type { RouteEntry } from './route-store';
import type { NsState } from './state';

/** One address. */
export interface Ifaddr {
  family: 4 | 6;
  dev: Device;
  /** IFA_LOCAL: this host's address. */
  local: Buffer;
  /** IFA_ADDRESS: the peer of a point-to-point link, else the local address again. */
  address: Buffer;
  prefixlen: number;
  /** IFA_F_* flags. */
  flags: number;
  scope: number;
  /** IPv4 label (the device name unless given). */
  label: string | undefined;
  broadcast: Buffer | undefined;
  /** IFA_RT_PRIORITY: the metric of the prefix route. */
  rtPriority: number;
}

function group(family: 4 | 6): number {
  return family === 4 ? RTNLGRP_IPV4_IFADDR : RTNLGRP_IPV6_IFADDR;
}

/** Writes struct ifaddrmsg and the attributes, in the kernel's order. */
export function fillAddress(w: MessageWriter, a: Ifaddr): void {
  const off = w.reserve(IFADDRMSG_LEN);
  w.buf[off] = a.family === 4 ? AF_INET : AF_INET6;
  w.buf[off + 1] = a.prefixlen;
  w.buf[off + 2] = a.flags & 0xff;
  w.buf[off + 3] = a.scope;
  w.buf.writeUInt32LE(a.dev.index, off + 4);
  const cacheinfo = Buffer.alloc(16);
  cacheinfo.writeUInt32LE(0xffffffff, 0); // ifa_prefered: forever
  cacheinfo.writeUInt32LE(0xffffffff, 4); // ifa_valid: forever
  if (a.family === 4) {
    w.binary(IFA_ADDRESS, a.address);
    w.binary(IFA_LOCAL, a.local);
    if (a.broadcast) w.binary(IFA_BROADCAST, a.broadcast);
    if (a.label !== undefined) w.string(IFA_LABEL, a.label);
    w.u32(IFA_FLAGS, a.flags);
    if (a.rtPriority) w.u32(IFA_RT_PRIORITY, a.rtPriority);
    w.binary(IFA_CACHEINFO, cacheinfo);
  } else {
    if (!sameBytes(a.address, a.local)) {
      w.binary(IFA_LOCAL, a.local);
      w.binary(IFA_ADDRESS, a.address);
    } else w.binary(IFA_ADDRESS, a.local);
    w.binary(IFA_CACHEINFO, cacheinfo);
    w.u32(IFA_FLAGS, a.flags);
    if (a.rtPriority) w.u32(IFA_RT_PRIORITY, a.rtPriority);
  }
}

function announce(ns: NsState, type: number, a: Ifaddr): void {
  ns.notify(group(a.family), type, 0, (w) => fillAddress(w, a));
}

// ---------------------------------------------------------------- the routes of an address

function kernelRoute(a: Ifaddr, fields: Partial<RouteEntry> & Pick<RouteEntry, 'table' | 'dst' | 'len' | 'type' | 'scope'>): RouteEntry {
  return {
    family: a.family,
    tos: 0,
    metric: 0,
    protocol: RTPROT_KERNEL,
    prefsrc: undefined,
    metrics: new Map(),
    nhs: [{ dev: a.dev, gw: undefined, weight: 1, flags: 0 }],
    multipath: false,
    pref: 0,
    kernel: 'ifaddr',
    ...fields,
  };
}

/** The primary IPv4 address `a` belongs to (itself when primary). */
function primaryOf(ns: NsState, a: Ifaddr): Ifaddr {
  if (!(a.flags & IFA_F_SECONDARY)) return a;
  return ns.addrs.find((x) => x.family === 4 && x.dev === a.dev && !(x.flags & IFA_F_SECONDARY) && x.prefixlen === a.prefixlen && inPrefix(a.address, x.address, x.prefixlen)) ?? a;
}

function v4Routes(ns: NsState, a: Ifaddr, up: boolean): RouteEntry[] {
  const prim = primaryOf(ns, a);
  const src = prim.local;
  const out = [kernelRoute(a, { table: RT_TABLE_LOCAL, dst: a.local, len: 32, type: RTN_LOCAL, scope: RT_SCOPE_HOST, prefsrc: src })];
  if (!up) return out;
  if (a.broadcast && !a.broadcast.every((b) => b === 0xff)) {
    out.push(kernelRoute(a, { table: RT_TABLE_LOCAL, dst: a.broadcast, len: 32, type: RTN_BROADCAST, scope: RT_SCOPE_LINK, prefsrc: src }));
  }
  const prefix = maskBytes(a.address, a.prefixlen);
  const zeronet = prefix[0] === 0;
  if (!zeronet && !(a.flags & IFA_F_SECONDARY) && (!sameBytes(prefix, a.local) || a.prefixlen < 32)) {
    const loopback = (a.dev.flags & IFF_LOOPBACK) !== 0;
    if (!(a.flags & IFA_F_NOPREFIXROUTE)) {
      out.push(
        kernelRoute(a, {
          table: loopback ? RT_TABLE_LOCAL : RT_TABLE_MAIN,
          dst: prefix,
          len: a.prefixlen,
          type: loopback ? RTN_LOCAL : RTN_UNICAST,
          scope: loopback ? RT_SCOPE_HOST : RT_SCOPE_LINK,
          prefsrc: src,
          metric: a.rtPriority,
        }),
      );
    }
    if (a.prefixlen < 31) {
      const bcast = Buffer.from(prefix);
      for (let i = 0; i < 4; i++) {
        const bits = Math.max(0, Math.min(8, a.prefixlen - i * 8));
        bcast[i] |= 0xff >> bits;
      }
      out.push(kernelRoute(a, { table: RT_TABLE_LOCAL, dst: bcast, len: 32, type: RTN_BROADCAST, scope: RT_SCOPE_LINK, prefsrc: src }));
    }
  }
  return out;
}

function v6Routes(a: Ifaddr, up: boolean): RouteEntry[] {
  const out = [kernelRoute(a, { table: RT_TABLE_LOCAL, dst: a.local, len: 128, type: RTN_LOCAL, scope: RT_SCOPE_UNIVERSE })];
  if (up && !(a.flags & IFA_F_NOPREFIXROUTE) && a.prefixlen < 128 && !(a.dev.flags & IFF_LOOPBACK)) {
    out.push(kernelRoute(a, { table: RT_TABLE_MAIN, dst: maskBytes(a.local, a.prefixlen), len: a.prefixlen, type: RTN_UNICAST, scope: RT_SCOPE_UNIVERSE, metric: a.rtPriority || 256 }));
  }
  return out;
}

function sameRoute(x: RouteEntry, r: RouteEntry): boolean {
  return x.family === r.family && x.table === r.table && x.len === r.len && sameBytes(x.dst, r.dst) && x.type === r.type && x.nhs[0]?.dev === r.nhs[0]?.dev && x.protocol === RTPROT_KERNEL;
}

/** Adds the routes of an address (the ones missing). */
function addRoutesOf(ns: NsState, a: Ifaddr): void {
  const up = a.dev.up;
  for (const r of a.family === 4 ? v4Routes(ns, a, up) : v6Routes(a, up)) addKernelRoute(ns, r);
}

/** Removes the routes of an address that no remaining address needs (fib_del_ifaddr). */
function delRoutesOf(ns: NsState, a: Ifaddr): void {
  const gone = a.family === 4 ? v4Routes(ns, a, true) : v6Routes(a, true);
  const kept: RouteEntry[] = [];
  for (const x of ns.addrs) if (x !== a && x.family === a.family) kept.push(...(x.family === 4 ? v4Routes(ns, x, x.dev.up) : v6Routes(x, x.dev.up)));
  for (const r of gone) {
    if (kept.some((k) => sameRoute(k, r) && (r.type === RTN_LOCAL || k.nhs[0]?.dev === r.nhs[0]?.dev))) continue;
    delKernelRoute(ns, (x) => sameRoute(x, r), a.family);
  }
}

// ---------------------------------------------------------------- requests

interface AddrRequest {
  family: 4 | 6;
  prefixlen: number;
  flags: number;
  scope: number;
  index: number;
  tb: Attrs;
}

function readRequest(req: Request): AddrRequest {
  if (req.end - req.payload < IFADDRMSG_LEN) fail(E.EINVAL, 'Invalid header for address request');
  const b = req.buf;
  const p = req.payload;
  const fam = b[p];
  if (fam !== AF_INET && fam !== AF_INET6) fail(E.EOPNOTSUPP);
  const tb = Attrs.parse(b, p + IFADDRMSG_LEN, req.end);
  return { family: fam === AF_INET ? 4 : 6, prefixlen: b[p + 1], flags: tb.u32(IFA_FLAGS) ?? b[p + 2], scope: b[p + 3], index: b.readUInt32LE(p + 4), tb };
}

/** RTM_NEWADDR. */
export function newAddress(req: Request): void {
  const ns = req.ns;
  const r = readRequest(req);
  const alen = r.family === 4 ? 4 : 16;
  if (r.family === 4) {
    if (r.prefixlen > 32) fail(E.EINVAL, 'ipv4: Invalid prefix length');
    const dev = ns.devices.get(r.index);
    if (!dev) fail(E.ENODEV, 'ipv4: Device not found');
    const local = r.tb.addr(IFA_LOCAL, 4) ?? r.tb.addr(IFA_ADDRESS, 4);
    if (!local) fail(E.EINVAL, 'ipv4: Local address is not supplied');
    const address = r.tb.addr(IFA_ADDRESS, 4) ?? local;
    const existing = ns.addrs.find((x) => x.family === 4 && x.dev === dev && x.prefixlen === r.prefixlen && sameBytes(x.local, local) && inPrefix(x.address, address, r.prefixlen));
    if (existing) {
      if (req.flags & NLM_F_EXCL || !(req.flags & NLM_F_REPLACE)) fail(E.EEXIST, 'ipv4: Address already assigned');
      const prio = r.tb.u32(IFA_RT_PRIORITY) ?? 0;
      if (prio !== existing.rtPriority) {
        delRoutesOf(ns, existing);
        existing.rtPriority = prio;
        addRoutesOf(ns, existing);
      }
      announce(ns, RTM_NEWADDR, existing);
      return;
    }
    const a: Ifaddr = {
      family: 4,
      dev,
      local,
      address,
      prefixlen: r.prefixlen,
      flags: (r.flags & ~(IFA_F_SECONDARY | IFA_F_NODAD)) | IFA_F_PERMANENT,
      scope: r.scope,
      label: r.tb.str(IFA_LABEL) ?? dev.name,
      broadcast: r.tb.addr(IFA_BROADCAST, 4),
      rtPriority: r.tb.u32(IFA_RT_PRIORITY) ?? 0,
    };
    // __inet_insert_ifa(): an address in the subnet of a primary one is secondary.
    let lastPrimary = -1;
    for (let i = 0; i < ns.addrs.length; i++) {
      const x = ns.addrs[i];
      if (x.family !== 4 || x.dev !== dev) continue;
      if (!(x.flags & IFA_F_SECONDARY) && a.scope <= x.scope) lastPrimary = i;
      if (x.prefixlen === a.prefixlen && inPrefix(x.address, a.address, a.prefixlen)) {
        if (x.scope !== a.scope) fail(E.EINVAL, 'ipv4: Invalid scope value');
        a.flags |= IFA_F_SECONDARY;
      }
    }
    if (!(a.flags & IFA_F_SECONDARY) && lastPrimary >= 0) ns.addrs.splice(lastPrimary + 1, 0, a);
    else if (!(a.flags & IFA_F_SECONDARY)) {
      const first = ns.addrs.findIndex((x) => x.family === 4 && x.dev === dev);
      ns.addrs.splice(first < 0 ? ns.addrs.length : first, 0, a);
    } else ns.addrs.push(a);
    announce(ns, RTM_NEWADDR, a);
    addRoutesOf(ns, a);
    return;
  }
  if (r.prefixlen > 128) fail(E.EINVAL, 'Invalid prefix length');
  const dev = ns.devices.get(r.index);
  if (!dev) fail(E.ENODEV, 'Unable to find the interface');
  const peer = r.tb.addr(IFA_ADDRESS, 16);
  const local = r.tb.addr(IFA_LOCAL, 16) ?? peer;
  if (!local || local.length !== alen) fail(E.EINVAL, 'Missing IPv6 address');
  const existing = ns.addrs.find((x) => x.family === 6 && x.dev === dev && sameBytes(x.local, local));
  if (existing) {
    if (req.flags & NLM_F_EXCL || !(req.flags & NLM_F_REPLACE)) fail(E.EEXIST, 'ipv6: address already assigned');
    existing.flags = (existing.flags & ~(IFA_F_NODAD | IFA_F_NOPREFIXROUTE)) | (r.flags & (IFA_F_NODAD | IFA_F_NOPREFIXROUTE)) | IFA_F_PERMANENT;
    if (existing.prefixlen !== r.prefixlen) fail(E.EINVAL, 'ipv6: prefix length can not be changed');
    announce(ns, RTM_NEWADDR, existing);
    return;
  }
  if (!(req.flags & NLM_F_CREATE)) fail(E.ENOENT, 'ipv6: address not found');
  const a: Ifaddr = {
    family: 6,
    dev,
    local,
    address: peer && !sameBytes(peer, local) ? peer : local,
    prefixlen: r.prefixlen,
    flags: (r.flags & (IFA_F_NODAD | IFA_F_NOPREFIXROUTE)) | IFA_F_PERMANENT,
    scope: scope6(local),
    label: undefined,
    broadcast: undefined,
    rtPriority: r.tb.u32(IFA_RT_PRIORITY) ?? 0,
  };
  insert6(ns, a);
  announce(ns, RTM_NEWADDR, a);
  addRoutesOf(ns, a);
}

/** IPv6 addresses of a device are kept by scope: global first; a new one before its peers. */
function insert6(ns: NsState, a: Ifaddr): void {
  const at = ns.addrs.findIndex((x) => x.family === 6 && x.dev === a.dev && x.scope >= a.scope);
  if (at >= 0) ns.addrs.splice(at, 0, a);
  else ns.addrs.push(a);
}

function scope6(a: Buffer): number {
  if (a.every((b, i) => (i === 15 ? b === 1 : b === 0))) return RT_SCOPE_HOST;
  if (a[0] === 0xfe && (a[1] & 0xc0) === 0x80) return RT_SCOPE_LINK;
  return RT_SCOPE_UNIVERSE;
}

/** RTM_DELADDR. */
export function delAddress(req: Request): void {
  const ns = req.ns;
  const r = readRequest(req);
  if (r.family === 4) {
    const dev = ns.devices.get(r.index);
    if (!dev) fail(E.ENODEV, 'ipv4: Device not found');
    const local = r.tb.addr(IFA_LOCAL, 4);
    const address = r.tb.addr(IFA_ADDRESS, 4);
    const label = r.tb.str(IFA_LABEL);
    const a = ns.addrs.find(
      (x) =>
        x.family === 4 &&
        x.dev === dev &&
        (!local || sameBytes(x.local, local)) &&
        (label === undefined || x.label === label) &&
        (!address || (r.prefixlen === x.prefixlen && inPrefix(address, x.address, x.prefixlen))),
    );
    if (!a) fail(E.EADDRNOTAVAIL, 'ipv4: Address not found');
    removeAddress(ns, a);
    return;
  }
  const dev = ns.devices.get(r.index);
  if (!dev) fail(E.ENODEV);
  const local = r.tb.addr(IFA_LOCAL, 16) ?? r.tb.addr(IFA_ADDRESS, 16);
  if (!local) fail(E.EINVAL);
  const a = ns.addrs.find((x) => x.family === 6 && x.dev === dev && sameBytes(x.local, local) && x.prefixlen === r.prefixlen);
  if (!a) fail(E.EADDRNOTAVAIL, 'ipv6: address not found');
  removeAddress(ns, a);
}

/** Removes one address with its routes (and, for an IPv4 primary, its secondaries: the
 * kernel's default without promote_secondaries). */
export function removeAddress(ns: NsState, a: Ifaddr, notify = true): void {
  const doomed = [a];
  if (a.family === 4 && !(a.flags & IFA_F_SECONDARY)) {
    for (const x of ns.addrs) {
      if (x !== a && x.family === 4 && x.dev === a.dev && x.flags & IFA_F_SECONDARY && x.prefixlen === a.prefixlen && inPrefix(x.address, a.address, a.prefixlen)) doomed.push(x);
    }
  }
  for (const x of doomed.reverse()) {
    const i = ns.addrs.indexOf(x);
    if (i < 0) continue;
    ns.addrs.splice(i, 1);
    if (notify) announce(ns, RTM_DELADDR, x);
    delRoutesOf(ns, x);
  }
}

/** RTM_GETADDR dump (strict checking: filtered by family and ifa_index). */
export function dumpAddresses(req: Request): void {
  const ns = req.ns;
  const b = req.buf;
  const p = req.payload;
  const family = req.end - p >= 1 ? b[p] : 0;
  let index = 0;
  if (req.strict) {
    if (req.end - p < IFADDRMSG_LEN) fail(E.EINVAL, 'Invalid header for address dump request');
    if (b[p + 1] || b[p + 2] || b[p + 3]) fail(E.EINVAL, 'Invalid values in header for address dump request');
    index = b.readUInt32LE(p + 4);
    const tb = Attrs.parse(b, p + IFADDRMSG_LEN, req.end);
    for (const a of tb.all) if (a.type !== 10 /* IFA_TARGET_NETNSID */) fail(E.EINVAL, 'Unsupported attribute in dump request');
    if (index && !ns.devices.has(index)) fail(E.ENODEV);
  }
  const fams: Array<4 | 6> = family === AF_INET ? [4] : family === AF_INET6 ? [6] : family === 0 ? [4, 6] : [];
  for (const fam of fams) {
    for (const dev of ns.sortedDevices()) {
      if (index && dev.index !== index) continue;
      for (const a of ns.addrs) if (a.family === fam && a.dev === dev) req.reply(RTM_NEWADDR, 0, (w) => fillAddress(w, a));
    }
  }
}

// ---------------------------------------------------------------- device events

/** The device came up: IPv4 addresses get their prefix and broadcast routes back. */
export function addressesUp(ns: NsState, dev: Device): void {
  reviveDeviceRoutes(ns, dev);
  for (const a of [...ns.addrs]) if (a.dev === dev) addRoutesOf(ns, a);
}

/**
 * addrconf on a device that became ready (up, with an operational state of up or unknown):
 * the loopback gets ::1, others an EUI-64 link-local address with fe80::/64 and ff00::/8.
 * Duplicate address detection ends at once here (see the README's list of differences).
 */
export function addrconfReady(ns: NsState, dev: Device): void {
  if (dev.linkLocal) return;
  dev.linkLocal = true;
  const lo = (dev.flags & IFF_LOOPBACK) !== 0;
  if (lo) {
    if (!ns.addrs.some((a) => a.dev === dev && a.family === 4)) {
      const l = Buffer.from([127, 0, 0, 1]);
      const a: Ifaddr = { family: 4, dev, local: l, address: l, prefixlen: 8, flags: IFA_F_PERMANENT, scope: RT_SCOPE_HOST, label: dev.name, broadcast: undefined, rtPriority: 0 };
      ns.addrs.unshift(a);
      announce(ns, RTM_NEWADDR, a);
      addRoutesOf(ns, a);
    }
    const one = Buffer.alloc(16);
    one[15] = 1;
    const a6: Ifaddr = { family: 6, dev, local: one, address: one, prefixlen: 128, flags: IFA_F_PERMANENT, scope: RT_SCOPE_HOST, label: undefined, broadcast: undefined, rtPriority: 0 };
    insert6(ns, a6);
    announce(ns, RTM_NEWADDR, a6);
    addRoutesOf(ns, a6);
    return;
  }
  if (dev.address.length !== 6) return; // EUI-64 needs a MAC (tunnels: not modelled)
  const ff = Buffer.alloc(16);
  ff[0] = 0xff;
  addKernelRoute(ns, { ...kernelRouteBase(dev, 6), table: RT_TABLE_LOCAL, dst: ff, len: 8, type: RTN_MULTICAST, metric: 256, kernel: 'addrconf' });
  const fe80 = Buffer.alloc(16);
  fe80[0] = 0xfe;
  fe80[1] = 0x80;
  addKernelRoute(ns, { ...kernelRouteBase(dev, 6), table: RT_TABLE_MAIN, dst: fe80, len: 64, type: RTN_UNICAST, metric: 256, kernel: 'addrconf' });
  const ll = Buffer.from(fe80);
  const m = dev.address;
  ll[8] = m[0] ^ 0x02;
  ll[9] = m[1];
  ll[10] = m[2];
  ll[11] = 0xff;
  ll[12] = 0xfe;
  ll[13] = m[3];
  ll[14] = m[4];
  ll[15] = m[5];
  const a: Ifaddr = { family: 6, dev, local: ll, address: ll, prefixlen: 64, flags: IFA_F_PERMANENT, scope: RT_SCOPE_LINK, label: undefined, broadcast: undefined, rtPriority: 0 };
  insert6(ns, a);
  announce(ns, RTM_NEWADDR, a);
  addKernelRoute(ns, kernelRoute(a, { table: RT_TABLE_LOCAL, dst: ll, len: 128, type: RTN_LOCAL, scope: RT_SCOPE_UNIVERSE }));
}

function kernelRouteBase(dev: Device, family: 4 | 6): RouteEntry {
  return {
    family,
    table: RT_TABLE_MAIN,
    dst: Buffer.alloc(family === 4 ? 4 : 16),
    len: 0,
    tos: 0,
    metric: 0,
    protocol: RTPROT_KERNEL,
    scope: RT_SCOPE_UNIVERSE,
    type: RTN_UNICAST,
    prefsrc: undefined,
    metrics: new Map(),
    nhs: [{ dev, gw: undefined, weight: 1, flags: 0 }],
    multipath: false,
    pref: 0,
  };
}

/**
 * The device went down: IPv4 keeps its addresses and their local routes, and loses every other
 * route through the device, silently (fib_flush sends no RTM_DELROUTE); IPv6 removes the
 * device's addresses (keep_addr_on_down is 0) and routes, announcing both.
 */
export function addressesDown(ns: NsState, dev: Device): void {
  for (const a of [...ns.addrs]) {
    if (a.family !== 6 || a.dev !== dev) continue;
    ns.addrs.splice(ns.addrs.indexOf(a), 1);
    announce(ns, RTM_DELADDR, a);
  }
  dev.linkLocal = false;
  flushDeviceRoutes(ns, dev, 6, { keepLocal: false, notify: true });
  flushDeviceRoutes(ns, dev, 4, { keepLocal: true, notify: false });
}

/** The device is going away: every address goes, announced, with its routes. */
export function addressesUnregister(ns: NsState, dev: Device): void {
  for (const a of [...ns.addrs].reverse()) if (a.dev === dev && ns.addrs.includes(a)) removeAddress(ns, a);
  flushDeviceRoutes(ns, dev, 6, { keepLocal: false, notify: true });
  flushDeviceRoutes(ns, dev, 4, { keepLocal: false, notify: false });
}
