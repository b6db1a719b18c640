/**
 * Forwarding database entries of the in-memory kernel (RTM_*NEIGH of family AF_BRIDGE), in the
 * three places the kernel keeps them: a vxlan device's own table (MAC -> one or more remote
 * destinations; several for the all-zero or a multicast MAC, by NLM_F_APPEND), a bridge's table
 * (entries of its ports and of itself), and any other device's unicast address list (the
 * kernel's default FDB handlers).
 */
import {
  AF_BRIDGE,
  NDA_CACHEINFO,
  NDA_DST,
  NDA_IFINDEX,
  NDA_LLADDR,
  NDA_MASTER,
  NDA_PORT,
  NDA_VLAN,
  NDA_VNI,
  NDMSG_LEN,
  NTF_MASTER,
  NTF_SELF,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_REACHABLE,
  RTM_DELNEIGH,
  RTM_NEWNEIGH,
  RTNLGRP_NEIGH,
  RTN_UNICAST,
} from '../rtnl/constants';
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../wire/constants';
import type { MessageWriter } from '../wire/writer';
import { ARPHRD_ETHER, type Device } from './device';
import { Attrs, E, fail, sameBytes } from './message';
import { writeNdmsg, type Ndmsg } from './neigh';
import type { Request } from './request';
import type { NsState } from './state';

/** One remote destination of a vxlan FDB entry. */
export interface Rdst {
  ip: Buffer;
  port: number;
  vni: number;
  ifindex: number;
}

/** A vxlan FDB entry: a MAC and its destinations. */
export interface VxFdb {
  mac: Buffer;
  state: number;
  flags: number;
  remotes: Rdst[];
}

/** A bridge FDB entry: local (the bridge's or a port's own address), static or learnt. */
export interface BrFdb {
  mac: Buffer;
  vlan: number;
  /** The port it points to; undefined for the bridge's own entries. */
  port: Device | undefined;
  state: number;
}

/** The vxlan configuration the FDB needs (set by the vxlan kind). */
export interface VxlanFdbConfig {
  family: 4 | 6;
  port: number;
  vni: number;
}

const ZERO = Buffer.alloc(6);
const isMulticastMac = (m: Buffer) => (m[0] & 1) === 1;
const isZeroMac = (m: Buffer) => sameBytes(m, ZERO);
const CACHEINFO = Buffer.alloc(16);

/** A vxlan device's table (created on first use). */
export function vxlanTable(dev: Device): Map<string, VxFdb> {
  let t = dev.priv.fdb as Map<string, VxFdb> | undefined;
  if (!t) dev.priv.fdb = t = new Map();
  return t;
}

/** A bridge's table (created on first use). */
export function bridgeTable(br: Device): BrFdb[] {
  let t = br.priv.brfdb as BrFdb[] | undefined;
  if (!t) br.priv.brfdb = t = [];
  return t;
}

/** A device's unicast address list (the default FDB). */
function ucList(dev: Device): Buffer[] {
  let t = dev.priv.uc as Buffer[] | undefined;
  if (!t) dev.priv.uc = t = [];
  return t;
}

function vxcfg(dev: Device): VxlanFdbConfig {
  return dev.priv.cfg as VxlanFdbConfig;
}

// ---------------------------------------------------------------- messages

function fillVxlan(w: MessageWriter, dev: Device, f: VxFdb, rd: Rdst): void {
  const cfg = vxcfg(dev);
  writeNdmsg(w, AF_BRIDGE, dev.index, f.state, f.flags, RTN_UNICAST);
  w.binary(NDA_LLADDR, f.mac);
  w.binary(NDA_DST, rd.ip);
  if (rd.port && rd.port !== cfg.port) w.be16(NDA_PORT, rd.port);
  if (rd.vni !== cfg.vni) w.u32(NDA_VNI, rd.vni);
  if (rd.ifindex) w.u32(NDA_IFINDEX, rd.ifindex);
  w.binary(NDA_CACHEINFO, CACHEINFO);
}

function fillBridge(w: MessageWriter, br: Device, e: BrFdb): void {
  writeNdmsg(w, AF_BRIDGE, e.port ? e.port.index : br.index, e.state, 0, 0);
  w.binary(NDA_LLADDR, e.mac);
  w.u32(NDA_MASTER, br.index);
  w.binary(NDA_CACHEINFO, CACHEINFO);
  if (e.vlan) w.u16(NDA_VLAN, e.vlan);
}

function fillDefault(w: MessageWriter, dev: Device, mac: Buffer, state = NUD_PERMANENT): void {
  writeNdmsg(w, AF_BRIDGE, dev.index, state, NTF_SELF, 0);
  w.binary(NDA_LLADDR, mac);
}

function notifyVxlan(dev: Device, type: number, f: VxFdb, rd: Rdst): void {
  dev.ns.notify(RTNLGRP_NEIGH, type, 0, (w) => fillVxlan(w, dev, f, rd));
}

function notifyBridge(br: Device, type: number, e: BrFdb): void {
  br.ns.notify(RTNLGRP_NEIGH, type, 0, (w) => fillBridge(w, br, e));
}

// ---------------------------------------------------------------- vxlan

interface Parsed {
  ip: Buffer | undefined;
  port: number;
  vni: number;
  ifindex: number;
}

function parseVxlan(ns: NsState, dev: Device, tb: Attrs): Parsed {
  const cfg = vxcfg(dev);
  let ip: Buffer | undefined;
  const dst = tb.bytes(NDA_DST);
  if (dst) {
    if (dst.length !== 4 && dst.length !== 16) fail(E.EAFNOSUPPORT, 'Unsupported address family');
    ip = dst;
  }
  let port = cfg.port;
  if (tb.has(NDA_PORT)) {
    if (tb.len(NDA_PORT) !== 2) fail(E.EINVAL, 'Invalid vxlan port');
    port = tb.be16(NDA_PORT)!;
  }
  let vni = cfg.vni;
  if (tb.has(NDA_VNI)) {
    if (tb.len(NDA_VNI) !== 4) fail(E.EINVAL, 'Invalid vni');
    vni = tb.u32(NDA_VNI)!;
  }
  const ifindex = tb.u32(NDA_IFINDEX) ?? 0;
  if (ifindex && !ns.devices.has(ifindex)) fail(E.EADDRNOTAVAIL, 'Device not found');
  return { ip, port, vni, ifindex };
}

function findRdst(f: VxFdb, p: Parsed): Rdst | undefined {
  return f.remotes.find((r) => sameBytes(r.ip, p.ip) && r.port === p.port && r.vni === p.vni && r.ifindex === p.ifindex);
}

/** vxlan_fdb_update(): create, or change an existing entry per NLM_F_REPLACE / NLM_F_APPEND. */
export function vxlanFdbUpdate(dev: Device, mac: Buffer, p: Parsed & { ip: Buffer }, state: number, nlflags: number, ndmFlags: number): void {
  const table = vxlanTable(dev);
  const key = mac.toString('hex');
  const f = table.get(key);
  if (!f) {
    if (!(nlflags & NLM_F_CREATE)) fail(E.ENOENT);
    if (nlflags & NLM_F_REPLACE && (isMulticastMac(mac) || isZeroMac(mac))) fail(E.EOPNOTSUPP);
    const nf: VxFdb = { mac: Buffer.from(mac), state, flags: ndmFlags, remotes: [{ ip: p.ip, port: p.port, vni: p.vni, ifindex: p.ifindex }] };
    table.set(key, nf);
    notifyVxlan(dev, RTM_NEWNEIGH, nf, nf.remotes[0]);
    return;
  }
  if (nlflags & NLM_F_EXCL) fail(E.EEXIST);
  let notify = false;
  let rd: Rdst | undefined;
  if (f.state !== state) {
    f.state = state;
    notify = true;
  }
  if (f.flags !== ndmFlags) {
    f.flags = ndmFlags;
    notify = true;
  }
  if (nlflags & NLM_F_REPLACE) {
    if (isMulticastMac(f.mac) || isZeroMac(f.mac)) fail(E.EOPNOTSUPP, 'vxlan: Cannot replace non-unicast FDB entries');
    if (!findRdst(f, p)) {
      const first = f.remotes[0];
      Object.assign(first, { ip: p.ip, port: p.port, vni: p.vni, ifindex: p.ifindex });
      rd = first;
      notify = true;
    }
  }
  if (nlflags & NLM_F_APPEND && (isMulticastMac(f.mac) || isZeroMac(f.mac))) {
    if (!findRdst(f, p)) {
      rd = { ip: p.ip, port: p.port, vni: p.vni, ifindex: p.ifindex };
      f.remotes.push(rd);
      notify = true;
    }
  }
  if (notify) notifyVxlan(dev, RTM_NEWNEIGH, f, rd ?? f.remotes[0]);
}

/** __vxlan_fdb_delete(): one destination (the entry goes with its last), or the whole MAC. A
 * destination the MAC does not have is not an error. */
export function vxlanFdbDelete(dev: Device, mac: Buffer, p: Parsed): void {
  const table = vxlanTable(dev);
  const key = mac.toString('hex');
  const f = table.get(key);
  if (!f) fail(E.ENOENT);
  if (p.ip) {
    const rd = findRdst(f, p);
    if (!rd) return;
    if (f.remotes.length > 1) {
      f.remotes.splice(f.remotes.indexOf(rd), 1);
      notifyVxlan(dev, RTM_DELNEIGH, f, rd);
      return;
    }
  }
  table.delete(key);
  for (const rd of f.remotes) notifyVxlan(dev, RTM_DELNEIGH, f, rd);
}

// ---------------------------------------------------------------- bridge

/** Adds (or refreshes) a bridge's local entry for an address: its own, or a port's. */
export function bridgeAddLocal(br: Device, port: Device | undefined, mac: Buffer): void {
  const t = bridgeTable(br);
  if (t.some((e) => sameBytes(e.mac, mac) && e.vlan === 0)) return;
  const e: BrFdb = { mac: Buffer.from(mac), vlan: 0, port, state: NUD_PERMANENT };
  t.push(e);
  notifyBridge(br, RTM_NEWNEIGH, e);
}

/** Removes a port's entries from its bridge (the port leaves or goes away). */
export function bridgeForgetPort(br: Device, port: Device): void {
  const t = bridgeTable(br);
  for (let i = t.length - 1; i >= 0; i--) {
    if (t[i].port === port) notifyBridge(br, RTM_DELNEIGH, t.splice(i, 1)[0]);
  }
}

/** Replaces the bridge's own local entry when its address changes. */
export function bridgeOwnAddressChanged(br: Device, old: Buffer): void {
  const t = bridgeTable(br);
  const i = t.findIndex((e) => !e.port && e.state === NUD_PERMANENT && sameBytes(e.mac, old));
  if (i >= 0) notifyBridge(br, RTM_DELNEIGH, t.splice(i, 1)[0]);
  bridgeAddLocal(br, undefined, br.address);
}

function bridgeAdd(br: Device, port: Device | undefined, mac: Buffer, vlan: number, state: number, nlflags: number): void {
  if (!(state & (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE))) fail(E.EINVAL);
  if (isZeroMac(mac)) fail(E.EINVAL);
  if (!port && !(state & NUD_PERMANENT)) fail(E.EINVAL);
  const t = bridgeTable(br);
  let e = t.find((x) => sameBytes(x.mac, mac) && x.vlan === vlan);
  let modified = false;
  if (!e) {
    if (!(nlflags & NLM_F_CREATE)) fail(E.ENOENT);
    t.push((e = { mac: Buffer.from(mac), vlan, port, state: 0 }));
    modified = true;
  } else {
    if (nlflags & NLM_F_EXCL) fail(E.EEXIST);
    if (e.port !== port) {
      e.port = port;
      modified = true;
    }
  }
  const nud = state & NUD_PERMANENT ? NUD_PERMANENT : state & NUD_NOARP ? NUD_NOARP : NUD_REACHABLE;
  if (e.state !== nud) {
    e.state = nud;
    modified = true;
  }
  if (modified) notifyBridge(br, RTM_NEWNEIGH, e);
}

function bridgeDel(br: Device, port: Device | undefined, mac: Buffer, vlan: number): void {
  const t = bridgeTable(br);
  const i = t.findIndex((x) => sameBytes(x.mac, mac) && x.vlan === vlan);
  if (i < 0 || t[i].port !== port) fail(E.ENOENT);
  notifyBridge(br, RTM_DELNEIGH, t.splice(i, 1)[0]);
}

// ---------------------------------------------------------------- requests

function checkCommon(ns: NsState, m: Ndmsg, verb: 'add' | 'delete'): { dev: Device; mac: Buffer; vlan: number } {
  if (m.ifindex === 0) fail(E.EINVAL, 'invalid ifindex');
  const dev = ns.devices.get(m.ifindex);
  if (!dev) fail(E.ENODEV, 'unknown ifindex');
  const mac = m.tb.bytes(NDA_LLADDR);
  if (!mac || mac.length !== 6) fail(E.EINVAL, 'invalid address');
  if (dev.type !== ARPHRD_ETHER) fail(E.EINVAL, `FDB ${verb} only supported for Ethernet devices`);
  let vlan = 0;
  if (m.tb.has(NDA_VLAN)) {
    if (m.tb.len(NDA_VLAN) !== 2) fail(E.EINVAL, 'invalid vlan attribute size');
    vlan = m.tb.u16(NDA_VLAN)!;
    if (!vlan || vlan >= 4095) fail(E.EINVAL, 'invalid vlan id');
  }
  return { dev, mac, vlan };
}

/** RTM_NEWNEIGH of family AF_BRIDGE (rtnl_fdb_add). */
export function newFdb(req: Request, m: Ndmsg): void {
  const ns = req.ns;
  const { dev, mac, vlan } = checkCommon(ns, m, 'add');
  let flags = m.flags;
  let err = E.EOPNOTSUPP;
  if ((!flags || flags & NTF_MASTER) && dev.master?.isBridge) {
    bridgeAdd(dev.master, dev, mac, vlan, m.state, req.flags);
    flags &= ~NTF_MASTER;
    err = 0;
  }
  if (flags & NTF_SELF) {
    if (dev.kind?.name === 'vxlan') {
      if (!(m.state & (NUD_PERMANENT | NUD_REACHABLE))) fail(E.EINVAL);
      const p = parseVxlan(ns, dev, m.tb);
      if (!p.ip) fail(E.EINVAL);
      if ((p.ip.length === 4 ? 4 : 6) !== vxcfg(dev).family) fail(E.EAFNOSUPPORT);
      vxlanFdbUpdate(dev, mac, { ...p, ip: p.ip }, m.state, req.flags, m.flags & ~NTF_MASTER);
    } else if (dev.isBridge) {
      bridgeAdd(dev, undefined, mac, vlan, m.state, req.flags);
    } else {
      if (m.state && !(m.state & NUD_PERMANENT)) fail(E.EINVAL);
      if (vlan) fail(E.EINVAL);
      const uc = ucList(dev);
      if (uc.some((x) => sameBytes(x, mac))) {
        if (req.flags & NLM_F_EXCL) fail(E.EEXIST);
      } else {
        uc.push(Buffer.from(mac));
        ns.notify(RTNLGRP_NEIGH, RTM_NEWNEIGH, 0, (w) => fillDefault(w, dev, mac, m.state));
      }
    }
    err = 0;
  }
  if (err) fail(err);
}

/** RTM_DELNEIGH of family AF_BRIDGE (rtnl_fdb_del). */
export function delFdb(req: Request, m: Ndmsg): void {
  const ns = req.ns;
  const { dev, mac, vlan } = checkCommon(ns, m, 'delete');
  let flags = m.flags;
  let err = E.EOPNOTSUPP;
  if ((!flags || flags & NTF_MASTER) && dev.master?.isBridge) {
    bridgeDel(dev.master, dev, mac, vlan);
    flags &= ~NTF_MASTER;
    err = 0;
  }
  if (flags & NTF_SELF) {
    if (dev.kind?.name === 'vxlan') vxlanFdbDelete(dev, mac, parseVxlan(ns, dev, m.tb));
    else if (dev.isBridge) bridgeDel(dev, undefined, mac, vlan);
    else {
      if (!(m.state & NUD_PERMANENT)) fail(E.EINVAL);
      const uc = ucList(dev);
      const i = uc.findIndex((x) => sameBytes(x, mac));
      if (i < 0) fail(E.ENOENT);
      uc.splice(i, 1);
      ns.notify(RTNLGRP_NEIGH, RTM_DELNEIGH, 0, (w) => fillDefault(w, dev, mac, m.state));
    }
    err = 0;
  }
  if (err) fail(err);
}

/** RTM_GETNEIGH dump of family AF_BRIDGE (rtnl_fdb_dump), filtered by NDA_IFINDEX / NDA_MASTER. */
export function dumpFdb(req: Request): void {
  const ns = req.ns;
  const b = req.buf;
  const p = req.payload;
  let brport = 0;
  let brIdx = 0;
  if (req.strict && req.end - p >= NDMSG_LEN) {
    if (b[p + 1] || b[p + 2] || b.readUInt16LE(p + 8) || b[p + 10] || b[p + 11]) fail(E.EINVAL, 'Invalid values in header for fdb dump request');
    if (b.readInt32LE(p + 4)) fail(E.EINVAL, 'Invalid values in header for fdb dump request');
    const tb = Attrs.parse(b, p + NDMSG_LEN, req.end);
    for (const a of tb.all) {
      if (a.type === NDA_IFINDEX) brport = tb.u32(NDA_IFINDEX)!;
      else if (a.type === NDA_MASTER) brIdx = tb.u32(NDA_MASTER)!;
      else fail(E.EINVAL, 'Unsupported attribute in fdb dump request');
    }
  }
  let brDev: Device | undefined;
  if (brIdx) {
    brDev = ns.devices.get(brIdx);
    if (!brDev) fail(E.ENODEV);
  }
  for (const dev of ns.sortedDevices()) {
    if (brport && dev.index !== brport) continue;
    const port = dev.master?.isBridge ? dev.master : undefined;
    if (brDev) {
      if (dev !== brDev && !port) continue;
      if (port !== brDev && !dev.isBridge) continue;
    }
    if (port) for (const e of bridgeTable(port)) if (e.port === dev) req.reply(RTM_NEWNEIGH, 0, (w) => fillBridge(w, port, e));
    if (dev.kind?.name === 'vxlan') {
      for (const f of vxlanTable(dev).values()) for (const rd of f.remotes) req.reply(RTM_NEWNEIGH, 0, (w) => fillVxlan(w, dev, f, rd));
      continue;
    }
    for (const mac of ucList(dev)) req.reply(RTM_NEWNEIGH, 0, (w) => fillDefault(w, dev, mac));
    if (dev.isBridge) for (const e of bridgeTable(dev)) if (!e.port) req.reply(RTM_NEWNEIGH, 0, (w) => fillBridge(w, dev, e));
  }
}
