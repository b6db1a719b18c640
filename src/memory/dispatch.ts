/**
 * How the in-memory kernel answers what a socket sends, as netlink_rcv_skb() and
 * rtnetlink_rcv_msg() do: each message with NLM_F_REQUEST is handled in order; a failure is an
 * NLMSG_ERROR with the errno and (NETLINK_EXT_ACK) the kernel's text, echoing the request's
 * header only (NETLINK_CAP_ACK) or all of it; success is acknowledged only when NLM_F_ACK asks;
 * a dump answers with NLM_F_MULTI parts and NLMSG_DONE, which carries a dump's own error.
 */
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTM_SETLINK,
} from '../rtnl/constants';
import {
  NLMSGERR_ATTR_MSG,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_MIN_TYPE,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_DUMP_FILTERED,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  nlAlign,
} from '../wire/constants';
import { MessageWriter } from '../wire/writer';
import { addressesUnregister, delAddress, dumpAddresses, newAddress } from './address';
import { delFdb, dumpFdb, newFdb } from './fdb';
import { delLink, dumpLinks, getLink, newLink, settle, unregisterDevice } from './link';
import { E, KernelError, fail } from './message';
import { delNeigh, dumpNeigh, newNeigh, readNdmsg } from './neigh';
import type { Request } from './request';
import { delRoute, dumpRoutes, getRoute, newRoute } from './route';
import type { NsState } from './state';

/** What the dispatcher needs of the sending socket. */
export interface Sender {
  readonly port: number;
  readonly ns: NsState;
  readonly extAck: boolean;
  readonly capAck: boolean;
  readonly strict: boolean;
  /** Queues one datagram for the socket (from the kernel, port 0). */
  deliver(datagram: Buffer): void;
}

/** A test control: a request that will be refused. */
export interface PlannedFailure {
  errno: number;
  message: string | undefined;
  /** Only requests of this nlmsg_type; any when undefined. */
  type: number | undefined;
  count: number;
}

/** Per-namespace test controls the dispatcher applies. */
export interface Controls {
  failures: PlannedFailure[];
  /** Dumps still to mark NLM_F_DUMP_INTR. */
  interruptDumps: number;
  /** Requests received, by nlmsg_type. */
  requests: Map<number, number>;
}

/** Largest datagram a dump part is packed into (the kernel's dump skbs are this size). */
const DUMP_DATAGRAM = 32 * 1024;

function doit(req: Request): void {
  switch (req.type) {
    case RTM_NEWLINK:
      return newLink(req);
    case RTM_SETLINK:
      return newLink({ ...req, flags: req.flags & ~NLM_F_CREATE });
    case RTM_DELLINK:
      return delLink(req);
    case RTM_GETLINK:
      return getLink(req);
    case RTM_NEWADDR:
      return newAddress(req);
    case RTM_DELADDR:
      return delAddress(req);
    case RTM_NEWROUTE:
      return newRoute(req);
    case RTM_DELROUTE:
      return delRoute(req);
    case RTM_GETROUTE:
      return getRoute(req);
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: {
      const m = readNdmsg(req);
      if (m.family === AF_BRIDGE) return req.type === RTM_NEWNEIGH ? newFdb(req, m) : delFdb(req, m);
      if (m.family === AF_INET || m.family === AF_INET6) return req.type === RTM_NEWNEIGH ? newNeigh(req, m) : delNeigh(req, m);
      return fail(E.EAFNOSUPPORT);
    }
    default:
      return fail(E.EOPNOTSUPP);
  }
}

function dumpit(req: Request): void {
  const family = req.end > req.payload ? req.buf[req.payload] : AF_UNSPEC;
  switch (req.type) {
    case RTM_GETLINK:
      return dumpLinks(req);
    case RTM_GETADDR:
      return dumpAddresses(req);
    case RTM_GETROUTE:
      return dumpRoutes(req);
    case RTM_GETNEIGH:
      if (family === AF_BRIDGE) return dumpFdb(req);
      if (family === AF_UNSPEC || family === AF_INET || family === AF_INET6) return dumpNeigh(req, family);
      return;
    default:
      return fail(E.EOPNOTSUPP);
  }
}

function header(buf: Buffer, off: number, type: number, flags: number, seq: number, pid: number, len: number): void {
  buf.writeUInt32LE(len, off);
  buf.writeUInt16LE(type, off + 4);
  buf.writeUInt16LE(flags, off + 6);
  buf.writeUInt32LE(seq, off + 8);
  buf.writeUInt32LE(pid, off + 12);
}

/** NLMSG_ERROR for the request at [start, end): errno 0 is an acknowledgement. */
function errorMessage(s: Sender, req: Buffer, start: number, end: number, errno: number, extack: string | undefined): Buffer {
  const capped = errno === 0 || s.capAck;
  const echo = capped ? NLMSG_HDRLEN : end - start;
  const msgBytes = s.extAck && errno && extack ? Buffer.from(extack + '\0', 'utf8') : undefined;
  const tlv = msgBytes ? 4 + nlAlign(msgBytes.length) : 0;
  const len = NLMSG_HDRLEN + 4 + nlAlign(echo) + tlv;
  const out = Buffer.alloc(len);
  const flags = (capped ? NLM_F_CAPPED : 0) | (msgBytes ? NLM_F_ACK_TLVS : 0);
  header(out, 0, NLMSG_ERROR, flags, req.readUInt32LE(start + 8), s.port, len);
  out.writeInt32LE(-errno, NLMSG_HDRLEN);
  req.copy(out, NLMSG_HDRLEN + 4, start, start + echo);
  if (msgBytes) {
    const t = NLMSG_HDRLEN + 4 + nlAlign(echo);
    out.writeUInt16LE(4 + msgBytes.length, t);
    out.writeUInt16LE(NLMSGERR_ATTR_MSG, t + 2);
    msgBytes.copy(out, t + 4);
  }
  return out;
}

/** Handles every message of one datagram a socket sent to the kernel. */
export function receive(s: Sender, controls: Controls, bytes: Buffer): void {
  let off = 0;
  while (bytes.length - off >= NLMSG_HDRLEN) {
    const len = bytes.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > bytes.length - off) return; // the kernel drops the rest
    handle(s, controls, bytes, off, off + len);
    off += nlAlign(len);
  }
}

function handle(s: Sender, controls: Controls, buf: Buffer, start: number, end: number): void {
  const type = buf.readUInt16LE(start + 4);
  const flags = buf.readUInt16LE(start + 6);
  const seq = buf.readUInt32LE(start + 8);
  if (!(flags & NLM_F_REQUEST)) return;
  const ns = s.ns;
  controls.requests.set(type, (controls.requests.get(type) ?? 0) + 1);
  const ack = (errno: number, extack?: string) => {
    if (errno || flags & NLM_F_ACK) s.deliver(errorMessage(s, buf, start, end, errno, extack));
  };
  if (type < NLMSG_MIN_TYPE) return ack(0);
  const planned = controls.failures.find((f) => f.type === undefined || f.type === type);
  if (planned) {
    if (--planned.count <= 0) controls.failures.splice(controls.failures.indexOf(planned), 1);
    return ack(planned.errno, planned.message);
  }
  const isDump = (type & 3) === 2 && (flags & NLM_F_DUMP) === NLM_F_DUMP;
  const parts: Buffer[] = [];
  let answerFlags = 0;
  const req: Request = {
    ns,
    type,
    flags,
    seq,
    pid: buf.readUInt32LE(start + 12),
    buf,
    payload: start + NLMSG_HDRLEN,
    end,
    strict: s.strict,
    reply(rtype, rflags, fill) {
      const w = new MessageWriter(1024);
      w.begin(rtype, rflags | (isDump ? NLM_F_MULTI : 0));
      fill(w);
      w.end();
      const m = Buffer.from(w.bytes());
      m.writeUInt32LE(seq, 8);
      m.writeUInt32LE(s.port, 12);
      parts.push(m);
    },
    filtered() {
      answerFlags |= NLM_F_DUMP_FILTERED;
    },
  };
  ns.cause = { pid: s.port, seq };
  try {
    if (ns.dead) fail(E.ENODEV);
    if (isDump) {
      let errno = 0;
      let extack: string | undefined;
      try {
        dumpit(req);
      } catch (e) {
        if (!(e instanceof KernelError)) throw e;
        errno = e.errno;
        extack = e.extack;
      }
      const intr = controls.interruptDumps > 0 ? (controls.interruptDumps--, NLM_F_DUMP_INTR) : 0;
      deliverDump(s, parts, answerFlags | intr, seq, errno, extack);
      return;
    }
    try {
      doit(req);
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      for (const p of parts) s.deliver(p);
      ack(e.errno, e.extack);
      return;
    }
    for (const p of parts) s.deliver(p);
    ack(0);
  } finally {
    settle(ns.kernel.namespaces);
    ns.cause = undefined;
  }
}

/** The parts of a dump packed into datagrams, then NLMSG_DONE (with the dump's errno). */
function deliverDump(s: Sender, parts: Buffer[], extraFlags: number, seq: number, errno: number, extack: string | undefined): void {
  let batch: Buffer[] = [];
  let size = 0;
  for (const p of parts) {
    p.writeUInt16LE(p.readUInt16LE(6) | extraFlags, 6);
    if (size + nlAlign(p.length) > DUMP_DATAGRAM && batch.length) {
      s.deliver(Buffer.concat(batch));
      batch = [];
      size = 0;
    }
    const padded = Buffer.alloc(nlAlign(p.length));
    p.copy(padded);
    batch.push(padded);
    size += padded.length;
  }
  if (batch.length) s.deliver(Buffer.concat(batch));
  const msgBytes = s.extAck && errno && extack ? Buffer.from(extack + '\0', 'utf8') : undefined;
  const len = NLMSG_HDRLEN + 4 + (msgBytes ? 4 + nlAlign(msgBytes.length) : 0);
  const done = Buffer.alloc(len);
  header(done, 0, NLMSG_DONE, NLM_F_MULTI | extraFlags | (msgBytes ? NLM_F_ACK_TLVS : 0), seq, s.port, len);
  done.writeInt32LE(-errno, NLMSG_HDRLEN);
  if (msgBytes) {
    done.writeUInt16LE(4 + msgBytes.length, NLMSG_HDRLEN + 4);
    done.writeUInt16LE(NLMSGERR_ATTR_MSG, NLMSG_HDRLEN + 6);
    msgBytes.copy(done, NLMSG_HDRLEN + 8);
  }
  s.deliver(done);
}

/** Removes everything of a namespace that is being deleted: its devices go (veth peers
 * elsewhere with them), and its sockets stay open on an empty namespace. */
export function destroyNamespace(ns: NsState): void {
  for (const dev of ns.sortedDevices().reverse()) {
    if (ns.devices.get(dev.index) !== dev) continue;
    if (dev.kind) unregisterDevice(dev);
    else addressesUnregister(ns, dev);
  }
  ns.dead = true;
  settle(ns.kernel.namespaces);
}
