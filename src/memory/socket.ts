/**
 * A netlink socket of the in-memory kernel, with the addon's socket interface (NativeSocket), so
 * that NetlinkSocket.fromNative() and everything above it run unchanged: sends are handled at
 * once (rtnetlink answers inside sendmsg), answers wait in a receive queue that drain() empties,
 * and multicast events arrive through the start() callback on a later turn of the event loop.
 * The receive buffer is accounted: events that do not fit are lost and reported as ENOBUFS
 * (unless NETLINK_NO_ENOBUFS), as the kernel does.
 */
import { constants as osConstants } from 'node:os';
import { errnoMessage, errnoName } from '../addon/errno';
import type { NativeSocket, ReceivedBatch } from '../addon';
import {
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_CAP_ACK,
  NETLINK_DROP_MEMBERSHIP,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_NO_ENOBUFS,
  SOL_NETLINK,
  SOL_SOCKET,
} from '../wire/constants';
import type { Sender } from './dispatch';
import type { NsState } from './state';

const { EBADF, EINVAL, ENOBUFS, ENOPROTOOPT, ECONNREFUSED } = osConstants.errno;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;
/** net.core.rmem_default / wmem_default. */
const DEFAULT_BUFFER = 212992;
/** Highest RTNLGRP_* group number (RTNLGRP_MAX, Linux 6.18). */
const GROUP_MAX = 37;
/** What a queued event costs the receive buffer beyond its bytes (skb overhead, as truesize). */
const EVENT_OVERHEAD = 768;

/** A Node-style error as the addon throws it (code, errno, syscall). */
export function systemError(errno: number, syscall: string, path?: string): Error {
  const code = errnoName(errno);
  const msg = `${syscall} ${code}: ${errnoMessage(errno).toLowerCase()}${path ? ` (${path})` : ''}`;
  return Object.assign(new Error(msg), { code, errno, syscall, ...(path ? { path } : {}) });
}

/** What a socket needs of its kernel. */
export interface SocketHost {
  /** Handles what the socket sent to the kernel. */
  receive(sock: MemorySocket, bytes: Buffer): void;
  /** Delivers bytes to another port (NetlinkSocket.sendToPort). */
  toPort(port: number, bytes: Buffer, from: number): boolean;
  /** Forgets a closed socket. */
  closed(sock: MemorySocket): void;
}

interface Queued {
  data: Buffer;
  sender: number;
  /** Bytes charged to the receive buffer (events only). */
  cost: number;
}

/** One socket of a MemoryKernel (an implementation of the addon's NativeSocket). */
export class MemorySocket implements NativeSocket, Sender {
  readonly groups = new Set<number>();
  extAck = false;
  capAck = false;
  strict = false;
  noEnobufs = false;
  private rcvbuf = DEFAULT_BUFFER;
  private sndbuf = DEFAULT_BUFFER;
  private readonly queue: Queued[] = [];
  private charged = 0;
  private pendingErrno = 0;
  private callback: ((data: Buffer | null, meta: Buffer | null, errno: number) => void) | undefined;
  private polling = false;
  private scheduled = false;
  private isClosed = false;

  constructor(
    private readonly host: SocketHost,
    /** The namespace the socket lives in. */
    readonly ns: NsState,
    /** nl_pid. */
    readonly port: number,
    /** The socket's protocol (NETLINK_ROUTE). */
    readonly protocol: number,
  ) {}

  private check(): void {
    if (this.isClosed) throw systemError(EBADF, 'netlink', 'socket is closed');
  }

  /** The socket's netlink port id. */
  portId(): number {
    this.check();
    return this.port;
  }

  /** There is no descriptor: -1. */
  fd(): number {
    return -1;
  }

  /** setsockopt(): memberships and the NETLINK_* flags; other options are accepted and ignored. */
  setOption(level: number, name: number, value: number): void {
    this.check();
    if (level === SOL_NETLINK) {
      switch (name) {
        case NETLINK_ADD_MEMBERSHIP:
        case NETLINK_DROP_MEMBERSHIP:
          if (value < 1 || value > GROUP_MAX) throw systemError(EINVAL, 'setsockopt');
          if (name === NETLINK_ADD_MEMBERSHIP) this.groups.add(value);
          else this.groups.delete(value);
          return;
        case NETLINK_EXT_ACK:
          this.extAck = value !== 0;
          return;
        case NETLINK_CAP_ACK:
          this.capAck = value !== 0;
          return;
        case NETLINK_GET_STRICT_CHK:
          this.strict = value !== 0;
          return;
        case NETLINK_NO_ENOBUFS:
          this.noEnobufs = value !== 0;
          return;
        default:
          return;
      }
    }
    if (level === SOL_SOCKET) {
      if (name === SO_RCVBUF || name === SO_RCVBUFFORCE) this.rcvbuf = value * 2;
      else if (name === SO_SNDBUF || name === SO_SNDBUFFORCE) this.sndbuf = value * 2;
      return;
    }
    throw systemError(ENOPROTOOPT, 'setsockopt');
  }

  /** getsockopt(). */
  getOption(level: number, name: number): number {
    this.check();
    if (level === SOL_SOCKET && name === SO_RCVBUF) return this.rcvbuf;
    if (level === SOL_SOCKET && name === SO_SNDBUF) return this.sndbuf;
    if (level === SOL_NETLINK) {
      if (name === NETLINK_EXT_ACK) return this.extAck ? 1 : 0;
      if (name === NETLINK_CAP_ACK) return this.capAck ? 1 : 0;
      if (name === NETLINK_GET_STRICT_CHK) return this.strict ? 1 : 0;
      if (name === NETLINK_NO_ENOBUFS) return this.noEnobufs ? 1 : 0;
    }
    throw systemError(ENOPROTOOPT, 'getsockopt');
  }

  /** SO_RCVBUF / SO_SNDBUF: the kernel doubles what is asked. */
  setBuffer(which: 0 | 1, bytes: number): number {
    this.check();
    if (which === 0) return (this.rcvbuf = bytes * 2);
    return (this.sndbuf = bytes * 2);
  }

  /** sendto(): to the kernel (port 0), handled before this returns; or to another socket. */
  send(buf: Buffer, offset: number, length: number, portId = 0): number {
    this.check();
    const bytes = Buffer.from(buf.subarray(offset, offset + length));
    if (portId !== 0) {
      if (!this.host.toPort(portId, bytes, this.port)) throw systemError(ECONNREFUSED, 'sendto');
      return length;
    }
    this.host.receive(this, bytes);
    return length;
  }

  /** Everything queued, up to maxBytes (at least one datagram); null when nothing is. */
  drain(maxBytes = 256 * 1024): ReceivedBatch | null {
    if (this.isClosed) return null;
    if (!this.queue.length) {
      if (!this.pendingErrno) return null;
      const errno = this.pendingErrno;
      this.pendingErrno = 0;
      return [null, null, errno];
    }
    const take: Queued[] = [];
    let size = 0;
    while (this.queue.length && (take.length === 0 || size + this.queue[0].data.length <= maxBytes)) {
      const q = this.queue.shift()!;
      take.push(q);
      size += q.data.length;
      this.charged -= q.cost;
    }
    const data = Buffer.alloc(size);
    const meta = Buffer.alloc(take.length * 16);
    let off = 0;
    take.forEach((q, i) => {
      q.data.copy(data, off);
      meta.writeUInt32LE(off, i * 16);
      meta.writeUInt32LE(q.data.length, i * 16 + 4);
      meta.writeUInt32LE(q.sender, i * 16 + 8);
      off += q.data.length;
    });
    const errno = this.pendingErrno;
    this.pendingErrno = 0;
    return [data, meta, errno];
  }

  /** Delivers every ready batch to callback from the event loop. */
  start(callback: (data: Buffer | null, meta: Buffer | null, errno: number) => void): void {
    this.check();
    this.callback = callback;
    this.polling = true;
    this.schedule();
  }

  /** Stops delivering (the socket stays open). */
  stop(): void {
    this.polling = false;
  }

  /** Nothing holds the event loop open here. */
  ref(): void {}

  /** Closes the socket: its memberships end and nothing is delivered any more. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.polling = false;
    this.queue.length = 0;
    this.host.closed(this);
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** An answer from the kernel to this socket's request. */
  deliver(datagram: Buffer): void {
    this.enqueue({ data: datagram, sender: 0, cost: 0 });
  }

  /** A datagram from another socket. */
  deliverFrom(datagram: Buffer, sender: number): void {
    this.enqueue({ data: datagram, sender, cost: 0 });
  }

  /** A multicast event: dropped (and ENOBUFS reported) when the receive buffer is full. */
  deliverEvent(msg: Buffer): void {
    if (this.isClosed) return;
    const cost = msg.length + EVENT_OVERHEAD;
    if (this.charged + cost > this.rcvbuf) {
      this.overflow();
      return;
    }
    this.charged += cost;
    this.enqueue({ data: msg, sender: 0, cost });
  }

  /** Reports ENOBUFS on the next read (a test control, and what a full buffer does). */
  overflow(): void {
    if (this.isClosed || this.noEnobufs) return;
    this.pendingErrno = ENOBUFS;
    this.schedule();
  }

  private enqueue(q: Queued): void {
    if (this.isClosed) return;
    this.queue.push(q);
    this.schedule();
  }

  private schedule(): void {
    if (!this.polling || this.scheduled) return;
    if (!this.queue.length && !this.pendingErrno) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.polling && this.callback) {
        const r = this.drain();
        if (r === null) return;
        this.callback(r[0], r[1], r[2]);
      }
    });
  }
}
