import { EventEmitter } from 'eventemitter3';
import { constants as osConstants } from 'node:os';
import {
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_CAP_ACK,
  NETLINK_DROP_MEMBERSHIP,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_NO_ENOBUFS,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  SOL_NETLINK,
} from './constants';
import { NetlinkClosedError, NetlinkError, NetlinkParseError, NetlinkTimeoutError, privilegeAdvice } from './errors';
import { parseAckError, type AckError } from './ack';
import { errnoMessage, errnoName } from '../addon/errno';
import { META_FLAG_TRUNC, NETLINK_ROUTE, nativeKernel, type NativeSocket, type NetlinkKernel, type ReceivedBatch } from '../addon';
import { copyView, forEachMessage, type MessageView } from './reader';
import { MessageWriter } from './writer';

const ENOBUFS = osConstants.errno.ENOBUFS;
/** RTM_BASE: rtnetlink message types start here, in groups of four (NEW, DEL, GET, SET). */
const RTM_BASE = 16;

/** How NetlinkSocket.open() opens and configures a socket. */
export interface NetlinkSocketOptions {
  /** Netlink family; NETLINK_ROUTE (0) by default. */
  protocol?: number;
  /** Open the socket inside this network namespace: a path such as /run/netns/NAME or
   * /proc/PID/ns/net. The socket stays there; the calling thread never changes namespace. */
  netnsPath?: string;
  /** Same, as an open namespace file descriptor. */
  netnsFd?: number;
  /** Multicast groups to join (RTNLGRP_* numbers), for event monitoring. */
  groups?: number[];
  /** Receive buffer size; forced past the sysctl limit when privileged. Default 4 MiB. */
  receiveBufferBytes?: number;
  /** Send buffer size (SO_SNDBUF, forced when privileged). Default: the system's. */
  sendBufferBytes?: number;
  /** NETLINK_EXT_ACK: kernel error text in replies. Default true. */
  extendedAck?: boolean;
  /** NETLINK_GET_STRICT_CHK: strict header checks, which enable kernel-side dump filtering. Default true. */
  strictCheck?: boolean;
  /** NETLINK_CAP_ACK: errors echo only the request header, not the whole request. Default true. */
  capAck?: boolean;
  /** NETLINK_NO_ENOBUFS: never report overflow (events may be lost silently). Default false. */
  noEnobufs?: boolean;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
  /** Whether a listening socket keeps the event loop alive. Default: true when groups are joined. */
  ref?: boolean;
  /** Where the socket is opened: the real kernel (the default) or a stand-in such as a
   * MemoryKernel, for tests without root. netnsPath/netnsFd are resolved by it. */
  kernel?: NetlinkKernel;
  /**
   * Helper threads of the socket's own, so that the kernel's work overlaps ours: rtnetlink
   * does a request's work inside sendmsg() and a dump's inside recvmsg(), on the calling
   * thread. A batch of more than one send hands its sends to a send thread while the next
   * requests are encoded; a dump of more than one slice is read ahead on a read thread while
   * the previous slice is parsed. Outcomes, order and errors are the same either way.
   * Default: false. Measured (bench/results/after-wave2-iothreads.txt) it pays only when a
   * second core is free: on a loaded machine the extra thread costs CPU and time, so it is the
   * caller's choice.
   */
  ioThreads?: boolean;
}

/** Per-call options of NetlinkSocket.request() (and the base of dump and batch options). */
export interface RequestOptions {
  /** What is being done, for error messages ("links.add vxlan0"). */
  what?: string;
  /** Timeout for this call, ms; then NetlinkTimeoutError. Default: the socket's timeoutMs. */
  timeoutMs?: number;
  /**
   * The request or its replies carry a secret (a WireGuard private key): the socket's reused
   * send buffer is zeroed as soon as it is sent, and every reply is zeroed once handled, in the
   * copy JavaScript got and in the addon's receive scratch, so the bytes do not linger until
   * they happen to be overwritten. A dump's parse must copy what it keeps (the reply it reads
   * is zeroed when it returns); a request's replies other than its ack are the caller's.
   */
  secret?: boolean;
}

/** Per-call options of NetlinkSocket.dump(). */
export interface DumpOptions extends RequestOptions {
  /** How many times a dump interrupted by concurrent changes (NLM_F_DUMP_INTR) is restarted. Default 5. */
  maxRetries?: number;
  /**
   * parse reads the view it is handed only while it runs and keeps neither the view nor
   * anything that refers to it: the socket then hands every reply of the dump in one reused
   * MessageView instead of a new object per message. Default false.
   */
  transientView?: boolean;
}

/** Per-call options of NetlinkSocket.batch(). */
export interface BatchOptions extends RequestOptions {
  /** Most requests sent but not yet acknowledged. Default 512 (each queued ack costs receive buffer). */
  window?: number;
  /** Bytes of messages per send. Default 16 KiB. */
  chunkBytes?: number;
  /** Describes request i in its error message. */
  describe?: (index: number) => string;
}

/**
 * Outcome of a batch: errors[i] is undefined when request i succeeded. The errors carry no
 * stack trace (it would only show the socket's receive loop, and building 100k of them cost
 * more than the batch): code, errno, kernelMessage and the message naming the object do.
 *
 * @example
 * ```ts
 * const r = await sock.batch(routes.length, (i, w) => encodeRoute(w, routes[i]));
 * if (r.failed) for (let i = 0; i < r.count; i++) if (!r.ok(i)) console.log(i, r.errors[i]);
 * ```
 */
export class BatchResult {
  /**
   * @param count - how many requests the batch had
   * @param errors - per request: undefined on success, else the error (usually a NetlinkError)
   * @param failed - how many entries of errors are set
   */
  constructor(
    readonly count: number,
    readonly errors: Array<Error | undefined>,
    readonly failed: number,
  ) {}
  /** How many requests succeeded (count - failed). */
  get succeeded(): number {
    return this.count - this.failed;
  }
  /** Whether request i succeeded. */
  ok(i: number): boolean {
    return this.errors[i] === undefined;
  }
}

/** Bytes per drain() call (the addon's scratch is this big at least; see pump()). */
const DRAIN_SLICE_BYTES = 256 * 1024;
/** drainIntoRx()'s first datagram table: 1,024 datagrams (a dump's are ~32 KiB each; a slice
 * of small acks can hold more, and the table then grows). */
const RX_META_INITIAL = 1024 * 16;

/** Writes one complete message (begin ... end) into the writer. */
export type Encode = (w: MessageWriter) => void;

interface Pending {
  what: string;
  dump: boolean;
  replies: MessageView[];
  parse?: (m: MessageView) => unknown;
  /** parse keeps nothing of its view (DumpOptions.transientView). */
  transient: boolean;
  results: unknown[];
  interrupted: boolean;
  secret: boolean;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

interface ActiveBatch {
  base: number;
  count: number;
  errors: Array<Error | undefined>;
  failed: number;
  /** Index of the last request of each sent, not yet acknowledged chunk (oldest first). */
  chunkLast: number[];
  chunkFirst: number[];
  outstanding: number;
  what: string;
  describe?: (index: number) => string;
  wake?: () => void;
}

/** The events a NetlinkSocket emits (it is an EventEmitter). */
export interface NetlinkSocketEvents {
  /** A message nobody asked for: a multicast event, or a late reply. */
  message: (m: MessageView) => void;
  /** The kernel dropped messages for this socket (ENOBUFS): whoever keeps state must re-read it. */
  overflow: () => void;
  /** A malformed datagram (the socket keeps going). */
  error: (e: Error) => void;
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The error of a chunk the send thread could not send, shaped like the addon's errors. */
function sendError(errno: number): Error {
  const code = errnoName(errno);
  return Object.assign(new Error(`sendto ${code}: ${errnoMessage(errno)}`), { code, errno, syscall: 'sendto' });
}

/**
 * A netlink socket with sequence numbers, acknowledgements, dumps and pipelined batches.
 *
 * rtnetlink handles a request inside the sendmsg() call, so after every send the socket drains
 * what is ready right away: most requests resolve without a trip through the event loop. The
 * libuv poll catches the rest (events, dump tails).
 *
 * Requests reject with NetlinkError (errno code, kernel text) when the kernel refuses,
 * NetlinkTimeoutError when no answer comes in time, NetlinkClosedError once the socket is
 * closed, and NetlinkParseError for malformed replies.
 *
 * @example
 * ```ts
 * const sock = NetlinkSocket.open({ netnsPath: '/run/netns/host1' });
 * const types = await sock.dump(
 *   (w) => { w.begin(RTM_GETLINK, NLM_F_DUMP); w.reserve(16); w.end(); },   // ifinfomsg
 *   (m) => m.type,
 *   { what: 'list links' },
 * );
 * sock.close();
 * ```
 */
export class NetlinkSocket extends EventEmitter<NetlinkSocketEvents> {
  /** This socket's netlink port id (nl_pid), assigned by the kernel. */
  readonly portId: number;
  /** Datagrams ignored because they did not come from the kernel. */
  droppedForeign = 0;
  /** Messages sent, by nlmsg_type (types above 255 are counted at 255). Tests and the
   * reconciler use it to prove how many modifying requests something cost. */
  readonly sentByType = new Uint32Array(256);
  /** Requests that failed, by errno name ('EEXIST', 'ETIMEDOUT' for no answer in time, 'ENOBUFS'
   * for answers lost to an overflow): counted as they happen, read by metrics. */
  readonly errorsByCode = new Map<string, number>();
  /** Dumps that completed, and the objects they returned in all (their sizes, for metrics). */
  dumpsCompleted = 0;
  dumpObjects = 0;
  private peakUnacked = 0;

  private readonly sock: NativeSocket;
  private readonly writer = new MessageWriter(64 * 1024);
  private readonly pending = new Map<number, Pending>();
  /** Sequence numbers of secret requests whose last reply has not come yet: whether each is a
   * dump. Their replies are zeroed even after the request timed out or its parse failed. */
  private readonly secretSeqs = new Map<number, boolean>();
  /** A secret reply was handled in this receive batch: the addon's scratch is wiped after it. */
  private wipeAfterBatch = false;
  private readonly batches: ActiveBatch[] = [];
  private seq = 1;
  private closed = false;
  private dumpChain: Promise<unknown> = Promise.resolve();
  private readonly timeoutMs: number;
  private readonly refWhenListening: boolean;
  private readonly protocol: number;
  /** Whether batches may use the send thread, and dumps the read-ahead thread (ioThreads). */
  private readonly sendThread: boolean;
  private readonly readAhead: boolean;
  /** Whether any chunk went through the send thread (whose failures must then be collected). */
  private threadUsed = false;

  private constructor(sock: NativeSocket, opts: NetlinkSocketOptions) {
    super();
    this.sock = sock;
    this.portId = sock.portId();
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.protocol = opts.protocol ?? NETLINK_ROUTE;
    this.refWhenListening = opts.ref ?? (opts.groups !== undefined && opts.groups.length > 0);
    this.readAhead = opts.ioThreads ?? false;
    this.sendThread =
      this.readAhead && typeof sock.queueSend === 'function' && typeof sock.flushSend === 'function' && typeof sock.sendFailures === 'function';
  }

  /** Opens and configures a socket. Throws a Node-style error (code, errno, syscall) on failure,
   * e.g. ENOENT for a namespace path that does not exist. */
  static open(opts: NetlinkSocketOptions = {}): NetlinkSocket {
    const raw = (opts.kernel ?? nativeKernel()).openSocket(opts.protocol ?? NETLINK_ROUTE, opts.netnsPath ?? null, opts.netnsFd ?? -1);
    try {
      const bool = (v: boolean | undefined, dflt: boolean) => ((v ?? dflt) ? 1 : 0);
      raw.setOption(SOL_NETLINK, NETLINK_EXT_ACK, bool(opts.extendedAck, true));
      raw.setOption(SOL_NETLINK, NETLINK_CAP_ACK, bool(opts.capAck, true));
      if (opts.strictCheck ?? true) raw.setOption(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
      if (opts.noEnobufs) raw.setOption(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1);
      raw.setBuffer(0, opts.receiveBufferBytes ?? 4 * 1024 * 1024, true);
      if (opts.sendBufferBytes) raw.setBuffer(1, opts.sendBufferBytes, true);
      for (const g of opts.groups ?? []) raw.setOption(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g);
    } catch (e) {
      raw.close();
      throw e;
    }
    return NetlinkSocket.fromNative(raw, opts);
  }

  /** Wraps an already open native socket (or a stand-in with the same methods, for tests). */
  static fromNative(raw: NativeSocket, opts: NetlinkSocketOptions = {}): NetlinkSocket {
    const s = new NetlinkSocket(raw, opts);
    raw.ref(s.refWhenListening);
    raw.start((data, meta, errno) => {
      s.collectSendFailures(); // after the read, before its acks are handled: see pump()
      s.onBatch(data, meta, errno);
    });
    return s;
  }

  /** Sends raw bytes to another netlink port (not the kernel). For tests of foreign senders. */
  sendToPort(bytes: Buffer, portId: number): void {
    this.assertOpen('sendToPort');
    this.sock.send(bytes, 0, bytes.length, portId);
  }

  /** The most batch requests this socket has had sent but not yet acknowledged at one time
   * (summed over concurrent batches): the in-flight window's high-water mark, which tests use
   * to prove the window holds. */
  get peakUnackedRequests(): number {
    return this.peakUnacked;
  }

  /** True after close(). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The receive buffer size the kernel granted (it doubles what was asked). */
  receiveBufferBytes(): number {
    return this.sock.getOption(1 /* SOL_SOCKET */, 8 /* SO_RCVBUF */);
  }

  /** Sets SO_RCVBUF (forced past the sysctl limit when privileged); returns the size granted.
   * Throws a Node-style error (code, errno) if the kernel refuses. */
  setReceiveBuffer(bytes: number): number {
    return this.sock.setBuffer(0, bytes, true);
  }

  /** Joins a multicast group (RTNLGRP_* number) to receive its events as 'message'.
   * Throws a Node-style error (code, errno), e.g. EINVAL for an unknown group. */
  joinGroup(group: number): void {
    this.sock.setOption(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group);
  }

  /** Leaves a multicast group. Throws a Node-style error (code, errno) if the kernel refuses. */
  leaveGroup(group: number): void {
    this.sock.setOption(SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, group);
  }

  /** Whether an open socket keeps the process alive. */
  ref(on: boolean): void {
    this.sock.ref(on);
  }

  private nextSeq(n = 1): number {
    // Never hand out 0 (kernel notifications use it) and keep a range from wrapping through it.
    if (this.seq + n > 0xffffffff) this.seq = 1;
    const s = this.seq;
    this.seq += n;
    return s;
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new NetlinkClosedError(what);
  }

  /**
   * Sends one request (NLM_F_REQUEST | NLM_F_ACK are added) and resolves with the messages the
   * kernel sent back before its acknowledgement (empty for NEW/DEL/SET, the object for a GET).
   * Rejects with NetlinkError (errno code and the kernel's text) when the kernel refuses.
   */
  request(encode: Encode, opts: RequestOptions = {}): Promise<MessageView[]> {
    return this.start(encode, false, undefined, opts) as Promise<MessageView[]>;
  }

  /**
   * Sends a dump request and collects every reply until NLMSG_DONE, passing each to parse
   * (return undefined to skip one). A dump that the kernel marks NLM_F_DUMP_INTR (the table
   * changed underneath) is restarted up to maxRetries times, then rejects with EINTR.
   * Dumps on one socket run one after another (the kernel allows one at a time).
   */
  dump<T>(encode: Encode, parse: (m: MessageView) => T | undefined, opts: DumpOptions = {}): Promise<T[]> {
    const run = async (): Promise<T[]> => {
      const maxRetries = opts.maxRetries ?? 5;
      for (let attempt = 0; ; attempt++) {
        const r = (await this.start(encode, true, parse as (m: MessageView) => unknown, opts)) as {
          results: T[];
          interrupted: boolean;
        };
        if (!r.interrupted) return r.results;
        if (attempt >= maxRetries) {
          throw new NetlinkError(
            osConstants.errno.EINTR,
            {},
            opts.what ?? 'dump',
            `the dump was interrupted by concurrent changes ${attempt + 1} times (NLM_F_DUMP_INTR); giving up`,
          );
        }
      }
    };
    const p = this.dumpChain.then(run, run);
    this.dumpChain = p.catch(() => undefined);
    return p;
  }

  private start(
    encode: Encode,
    dump: boolean,
    parse: ((m: MessageView) => unknown) | undefined,
    opts: DumpOptions,
  ): Promise<unknown> {
    const what = opts.what ?? (dump ? 'dump' : 'request');
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new NetlinkClosedError(what));
      const w = this.writer;
      w.reset();
      try {
        encode(w);
      } catch (e) {
        return reject(e);
      }
      if (w.length < NLMSG_HDRLEN) return reject(new Error(`${what}: the encoder wrote no message`));
      const seq = this.nextSeq();
      this.sentByType[Math.min(w.buf.readUInt16LE(4), 255)]++;
      const flags = w.buf.readUInt16LE(6) | NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK);
      w.buf.writeUInt16LE(flags, 6);
      w.buf.writeUInt32LE(seq, 8);
      w.buf.writeUInt32LE(this.portId, 12);
      const secret = opts.secret === true;
      const transient = dump && opts.transientView === true;
      const p: Pending = { what, dump, replies: [], parse, transient, results: [], interrupted: false, secret, resolve, reject };
      if (secret) this.secretSeqs.set(seq, dump);
      const ms = opts.timeoutMs ?? this.timeoutMs;
      p.timer = setTimeout(() => {
        if (this.pending.get(seq) === p) {
          this.pending.delete(seq);
          this.countError('ETIMEDOUT');
          reject(new NetlinkTimeoutError(what, ms));
        }
      }, ms);
      this.pending.set(seq, p);
      try {
        this.sock.send(w.buf, 0, w.length);
      } catch (e) {
        this.pending.delete(seq);
        clearTimeout(p.timer);
        return reject(this.closed ? new NetlinkClosedError(what) : e);
      } finally {
        if (opts.secret) w.buf.fill(0, 0, w.length);
      }
      this.pump();
    });
  }

  /**
   * Sends count requests, pipelined: many messages per send, at most `window` unacknowledged,
   * an acknowledgement asked only for the last message of each send (the kernel still reports
   * every failure, by sequence number). encode(i, w) writes request i as one message.
   * Resolves when every request is answered; one failure does not stop the others. A request
   * that got no answer (socket closed meanwhile, timeout, lost ack) carries that error; the
   * promise itself rejects only with NetlinkClosedError when the socket is already closed.
   */
  async batch(count: number, encode: (index: number, w: MessageWriter) => void, opts: BatchOptions = {}): Promise<BatchResult> {
    const what = opts.what ?? 'batch';
    this.assertOpen(what);
    const window = Math.max(1, opts.window ?? 512);
    const chunkBytes = Math.max(1024, opts.chunkBytes ?? 16 * 1024);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const b: ActiveBatch = {
      base: this.nextSeq(Math.max(count, 1)),
      count,
      errors: new Array<Error | undefined>(count),
      failed: 0,
      chunkLast: [],
      chunkFirst: [],
      outstanding: 0,
      what,
      describe: opts.describe,
    };
    this.batches.push(b);
    const w = new MessageWriter(chunkBytes + 4096);
    // Chunks go through the send thread when more are to come (JS encodes the next ones
    // meanwhile), and once one has, all later ones do (they must go out in order).
    let threaded = false;
    let i = 0;
    try {
      let sliceStart = Date.now();
      while (i < count || b.outstanding > 0) {
        if (this.closed) throw new NetlinkClosedError(what);
        let sliceOver = false;
        // Fill the window with sends of ~chunkBytes each.
        while (i < count && b.outstanding < window && !this.closed) {
          // rtnetlink answers inside sendmsg, so this loop rarely waits: give the event loop a
          // turn every few milliseconds of a long batch.
          if (Date.now() - sliceStart > 10) {
            sliceOver = true;
            break;
          }
          w.reset();
          const first = i;
          let last = -1;
          let lastOff = -1;
          while (i < count && w.length < chunkBytes && b.outstanding + (i - first) < window) {
            const off = w.length;
            try {
              encode(i, w);
              if (w.length - off < NLMSG_HDRLEN) throw new Error('the encoder wrote no message');
              w.buf.writeUInt16LE(w.buf.readUInt16LE(off + 6) | NLM_F_REQUEST, off + 6);
              w.buf.writeUInt32LE((b.base + i) >>> 0, off + 8);
              w.buf.writeUInt32LE(this.portId, off + 12);
              this.sentByType[Math.min(w.buf.readUInt16LE(off + 4), 255)]++;
              last = i;
              lastOff = off;
            } catch (e) {
              w.truncate(off);
              b.errors[i] = e instanceof Error ? e : new Error(String(e));
              b.failed++;
            }
            i++;
          }
          if (last < 0) continue; // every request of this chunk failed to encode
          w.buf.writeUInt16LE(w.buf.readUInt16LE(lastOff + 6) | NLM_F_ACK, lastOff + 6);
          b.chunkFirst.push(first);
          b.chunkLast.push(last);
          b.outstanding += last - first + 1;
          this.notePeakUnacked();
          try {
            if (this.sendThread && (threaded || i < count)) {
              this.sock.queueSend!(w.buf, 0, w.length, (b.base + first) >>> 0);
              threaded = this.threadUsed = true;
            } else {
              this.sock.send(w.buf, 0, w.length);
            }
          } catch (e) {
            this.failChunks(b, b.chunkLast.length - 1, this.closed ? new NetlinkClosedError(what) : (e as Error));
          }
          this.pump();
        }
        if (threaded && !this.closed) {
          if (sliceOver) {
            // Let the rest of the process run while the thread sends; acks are read meanwhile.
            await nextTick();
            sliceStart = Date.now();
            continue;
          }
          // The window is full or everything is queued: wait for the oldest chunk first (the
          // thread keeps sending the next meanwhile), then for the rest; their acks are
          // queued by the time a send returns.
          for (let max = 1; max >= 0 && b.outstanding > 0 && (i >= count || b.outstanding >= window); max--) {
            this.sock.flushSend!(max);
            this.pump();
          }
          if (i < count && b.outstanding < window) continue;
        }
        if (this.closed) throw new NetlinkClosedError(what);
        if (b.outstanding > 0) {
          // Normally the acks were already drained above; wait for the loop if not.
          await this.waitForProgress(b, timeoutMs);
          sliceStart = Date.now();
        } else if (Date.now() - sliceStart > 10) {
          await nextTick(); // let the rest of the process run during long batches
          sliceStart = Date.now();
        }
      }
    } catch (e) {
      // Closed or timed out: every request without an answer, sent or not, gets this error.
      const error = e instanceof Error ? e : new Error(String(e));
      if (b.outstanding > 0) this.failChunks(b, 0, error);
      for (; i < count; i++) {
        if (b.errors[i] === undefined) {
          b.errors[i] = error;
          b.failed++;
        }
      }
    } finally {
      const k = this.batches.indexOf(b);
      if (k >= 0) this.batches.splice(k, 1);
    }
    return new BatchResult(count, b.errors, b.failed);
  }

  /** Raises the high-water mark of un-acked batch requests (once per send, not per message). */
  private notePeakUnacked(): void {
    let n = 0;
    for (const other of this.batches) n += other.outstanding;
    if (n > this.peakUnacked) this.peakUnacked = n;
  }

  private waitForProgress(b: ActiveBatch, ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        b.wake = undefined;
        reject(new NetlinkTimeoutError(b.what, ms));
      }, ms);
      b.wake = () => {
        clearTimeout(timer);
        b.wake = undefined;
        resolve();
      };
      this.pump();
      if (b.outstanding === 0) b.wake?.();
    });
  }

  /** Fails the requests of every chunk whose send on the send thread failed (they never
   * reached the kernel, so no answer will come for them). */
  private collectSendFailures(): void {
    if (!this.threadUsed || this.closed) return;
    for (let f = this.sock.sendFailures!(); f !== null; f = this.sock.sendFailures!()) {
      for (let k = 0; k + 1 < f.length; k += 2) {
        for (const b of this.batches) {
          const idx = (f[k] - b.base) >>> 0;
          if (idx < b.count) {
            this.failChunkAt(b, idx, sendError(f[k + 1]));
            break;
          }
        }
      }
    }
  }

  /** Marks the requests of the one chunk that starts at request `first` as failed (its send
   * failed, so none of them reached the kernel), if that chunk is still unanswered. */
  private failChunkAt(b: ActiveBatch, first: number, error: Error): void {
    const c = b.chunkFirst.indexOf(first);
    if (c < 0) return;
    for (let k = first; k <= b.chunkLast[c]; k++) {
      if (b.errors[k] === undefined) {
        b.errors[k] = error;
        b.failed++;
      }
    }
    b.outstanding -= b.chunkLast[c] - first + 1;
    b.chunkFirst.splice(c, 1);
    b.chunkLast.splice(c, 1);
    if (b.outstanding === 0) b.wake?.();
  }

  /** Marks every request of the chunks from `fromChunk` on that has no answer yet as failed. */
  private failChunks(b: ActiveBatch, fromChunk: number, error: Error): void {
    for (let c = fromChunk; c < b.chunkLast.length; c++) {
      for (let k = b.chunkFirst[c]; k <= b.chunkLast[c]; k++) {
        if (b.errors[k] === undefined) {
          b.errors[k] = error;
          b.failed++;
        }
      }
      b.outstanding -= b.chunkLast[c] - b.chunkFirst[c] + 1;
    }
    b.chunkLast.length = fromChunk;
    b.chunkFirst.length = fromChunk;
    b.wake?.();
  }

  /**
   * Reads everything the kernel has queued for us, synchronously, in slices of at most
   * DRAIN_SLICE_BYTES: each slice is a Buffer copied out of the addon and parsed at once, so
   * small slices keep a 100k-route dump from holding megabytes of them until the next GC.
   *
   * Not reentrant: a handler that sends (a parse or an event listener calling request()) calls
   * pump() from inside onBatch, and a nested read would hand on later datagrams before the rest
   * of the slice being handled (a dump's NLMSG_DONE before its last entries). The outer loop
   * reads those when the handler returns.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        if (this.closed) return;
        const r = this.sock.drainInto !== undefined ? this.drainIntoRx() : this.sock.drain(DRAIN_SLICE_BYTES, this.readAhead);
        // A chunk's failed send is recorded before the next chunk is sent: collected after the
        // read and before its acks are handled, no ack of a later chunk can mark it answered.
        this.collectSendFailures();
        if (r === null) return;
        if (typeof r === 'number') this.onBatch(this.rxData!, this.rxMeta!, r >>> 16, (r & 0xffff) * 16);
        else this.onBatch(r[0], r[1], r[2]);
      }
    } finally {
      this.pumping = false;
    }
  }
  private pumping = false;

  /**
   * One drain() into this socket's own two buffers, kept from read to read (pump() does not
   * nest and onMessage copies what it keeps, so nothing refers to them between reads). A
   * Buffer per slice would leave a 100k-route dump's 6 MB of them dead on the external heap
   * until a GC found them: W7's peak RSS. Returns drainInto()'s result; when the read did not
   * fit (more datagrams than the table holds) the table is grown for the next such read.
   */
  private drainIntoRx(): number | ReceivedBatch | null {
    if (this.rxData === undefined) {
      this.rxData = Buffer.allocUnsafeSlow(DRAIN_SLICE_BYTES);
      this.rxMeta = Buffer.allocUnsafeSlow(RX_META_INITIAL);
    }
    const r = this.sock.drainInto!(this.rxData, this.rxMeta!, DRAIN_SLICE_BYTES, this.readAhead);
    // The data never outgrows the buffer: a read is at most DRAIN_SLICE_BYTES.
    const meta = Array.isArray(r) ? r[1] : null;
    if (meta !== null && meta.length > this.rxMeta!.length) this.rxMeta = Buffer.allocUnsafeSlow(Math.max(meta.length, this.rxMeta!.length * 2));
    return r;
  }
  /** drainIntoRx()'s buffers, made at the first read (an idle socket holds none). */
  private rxData: Buffer | undefined;
  private rxMeta: Buffer | undefined;

  /**
   * A view of m to keep past this read. In drainIntoRx()'s buffer, which the next read
   * overwrites, its bytes are copied out: a kept reply is a few hundred bytes, while giving the
   * whole 256 KiB buffer to its holder (and making another) cost each small read 256 KiB of
   * external memory, and an agent's event loop its full GCs. Elsewhere a view of its own.
   */
  private keep(m: MessageView): MessageView {
    const v = copyView(m);
    if (m.buf !== this.rxData) return v;
    v.buf = Buffer.allocUnsafe(m.end - m.start);
    m.buf.copy(v.buf, 0, m.start, m.end);
    v.start = 0;
    v.payload = m.payload - m.start;
    v.end = m.end - m.start;
    return v;
  }

  private onBatch(data: Buffer | null, meta: Buffer | null, errno: number, metaBytes = meta === null ? 0 : meta.length): void {
    if (data && meta) {
      for (let k = 0; k + 16 <= metaBytes; k += 16) {
        const off = meta.readUInt32LE(k);
        const len = meta.readUInt32LE(k + 4);
        const sender = meta.readUInt32LE(k + 8);
        const flags = meta.readUInt32LE(k + 12);
        if (sender !== 0) {
          this.droppedForeign++; // only the kernel (port 0) may answer or notify
          continue;
        }
        if (flags & META_FLAG_TRUNC) {
          this.emit('error', new NetlinkParseError(`truncated datagram of more than ${len} bytes`, off));
          continue;
        }
        try {
          // One view for every message: onMessage copies it where it is kept (a request's
          // replies, an event, a dump whose parse did not say it keeps nothing). pump() does
          // not nest, so no handler's read overwrites it.
          forEachMessage(data, off, off + len, this.onView, this.view);
        } catch (e) {
          this.emit('error', e as Error);
        }
      }
    }
    if (this.wipeAfterBatch) {
      this.wipeAfterBatch = false;
      this.sock.wipeReceive?.();
      // The secret's datagram was copied here too (what is kept of it was copied out).
      if (data !== null && data === this.rxData) data.fill(0);
    }
    if (errno === ENOBUFS) this.onOverflow();
    else if (errno) this.emit('error', Object.assign(new Error(`netlink receive failed: errno ${errno}`), { errno }));
  }

  /** The view onBatch hands every message in (see forEachMessage's reuse). */
  private readonly view: MessageView = { type: 0, flags: 0, seq: 0, pid: 0, buf: Buffer.alloc(0), start: 0, payload: 0, end: 0 };
  private readonly onView = (m: MessageView): void => this.onMessage(m);

  private onMessage(m: MessageView): void {
    if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) return;
    const mine = m.pid === this.portId;
    if (mine && this.secretSeqs.size !== 0 && this.secretSeqs.has(m.seq)) return this.onSecretReply(m);
    const p = mine ? this.pending.get(m.seq) : undefined;
    if (p) return this.onReply(p, m);
    if (mine && this.batches.length) {
      for (const b of this.batches) {
        const idx = (m.seq - b.base) >>> 0;
        if (idx < b.count) return this.onBatchReply(b, idx, m);
      }
    }
    this.emit('message', this.keep(m));
  }

  /**
   * A reply to a secret request: handled as any reply (or dropped when its request is gone),
   * then its bytes zeroed, except a request's non-ack replies, which its caller reads later.
   */
  private onSecretReply(m: MessageView): void {
    const dump = this.secretSeqs.get(m.seq)!;
    const p = this.pending.get(m.seq);
    const last = m.type === NLMSG_DONE || (m.type === NLMSG_ERROR && (!dump || (m.end - m.payload >= 4 && m.buf.readInt32LE(m.payload) !== 0)));
    try {
      if (p) this.onReply(p, m);
    } finally {
      if (!(p && !dump && m.type !== NLMSG_ERROR)) m.buf.fill(0, m.start, m.end);
      this.wipeAfterBatch = true;
      if (last) this.secretSeqs.delete(m.seq);
    }
  }

  private onReply(p: Pending, m: MessageView): void {
    if (m.type === NLMSG_ERROR) {
      const ack = parseAckError(m);
      if (ack.errno === 0 && !p.dump) return this.finish(p, m.seq, null, p.replies);
      if (ack.errno === 0) return; // a stray ack during a dump
      return this.finish(p, m.seq, this.toError(ack, p.what, m));
    }
    if (m.flags & NLM_F_DUMP_INTR) p.interrupted = true;
    if (m.type === NLMSG_DONE) {
      if (!p.dump) return;
      const ack = m.end - m.payload >= 4 ? parseAckError(m, true) : { errno: 0, ack: {} };
      if (ack.errno !== 0) return this.finish(p, m.seq, this.toError(ack, p.what));
      if (!p.interrupted) {
        this.dumpsCompleted++;
        this.dumpObjects += p.results.length;
      }
      return this.finish(p, m.seq, null, { results: p.results, interrupted: p.interrupted });
    }
    if (p.dump) {
      const view = p.transient ? m : this.keep(m);
      try {
        const v = p.parse!(view);
        if (v !== undefined) p.results.push(v);
      } catch (e) {
        p.reject(e as Error); // the dump goes on in the kernel; later replies find no pending entry
        this.pending.delete(m.seq);
        clearTimeout(p.timer);
      } finally {
        // A secret dump's message is zeroed once parsed (onSecretReply): its copy too.
        if (p.secret && view.buf !== m.buf) view.buf.fill(0, view.start, view.end);
      }
    } else {
      p.replies.push(this.keep(m));
    }
  }

  private finish(p: Pending, seq: number, error: Error | null, value?: unknown): void {
    this.pending.delete(seq);
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(value);
  }

  private onBatchReply(b: ActiveBatch, idx: number, m: MessageView): void {
    if (m.type !== NLMSG_ERROR) return; // batches carry NEW/DEL/SET requests: only acks come back
    const ack = parseAckError(m);
    if (ack.errno !== 0 && b.errors[idx] === undefined) {
      const what = b.describe ? `${b.what}: ${b.describe(idx)}` : `${b.what} [${idx}]`;
      // A batch error is a value in BatchResult.errors, not a throw, and its stack would only
      // show this receive loop: without one it costs a sixth (100k failures: 0.6 s less CPU).
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        b.errors[idx] = this.toError(ack, what, m);
      } finally {
        Error.stackTraceLimit = limit;
      }
      b.failed++;
    }
    // Replies come in order: an answer for idx completes every chunk that ends at or before it.
    let done = 0;
    while (done < b.chunkLast.length && b.chunkLast[done] <= idx) {
      b.outstanding -= b.chunkLast[done] - b.chunkFirst[done] + 1;
      done++;
    }
    if (done) {
      b.chunkLast.splice(0, done);
      b.chunkFirst.splice(0, done);
      if (b.outstanding === 0) b.wake?.();
    }
  }

  /** m: the NLMSG_ERROR that carried the failure (it echoes the request's header), if any. */
  private toError(ack: AckError, what: string, m?: MessageView): NetlinkError {
    this.countError(errnoName(-ack.errno));
    return new NetlinkError(-ack.errno, ack.ack, what, privilegeAdvice(ack.errno, m !== undefined && this.wasModifying(m)));
  }

  private countError(code: string): void {
    this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1);
  }

  /** Whether the request an NLMSG_ERROR answers changed state: an rtnetlink NEW, DEL or SET
   * (a GET is type 4k + 2). struct nlmsgerr echoes the request's nlmsghdr after the errno. */
  private wasModifying(m: MessageView): boolean {
    if (this.protocol !== NETLINK_ROUTE || m.end - m.payload < 4 + NLMSG_HDRLEN) return false;
    const type = m.buf.readUInt16LE(m.payload + 4 + 4);
    return type >= RTM_BASE && (type & 3) !== 2;
  }

  private onOverflow(): void {
    // Replies may be lost: a pending request cannot know whether it was applied.
    const lost = (what: string) =>
      new NetlinkError(
        ENOBUFS,
        {},
        what,
        'the receive buffer overflowed and the answer was lost; the request may have been applied, re-read the state',
      );
    for (const [seq, p] of this.pending) {
      if (!p.dump) {
        this.countError('ENOBUFS');
        this.finish(p, seq, lost(p.what));
      }
    }
    for (const b of this.batches) this.failChunks(b, 0, lost(b.what));
    this.emit('overflow');
  }

  /** Closes the socket; everything pending rejects with NetlinkClosedError. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close(); // the addon frees its receive scratch zeroed
    this.secretSeqs.clear();
    for (const [seq, p] of this.pending) this.finish(p, seq, new NetlinkClosedError(p.what));
    for (const b of this.batches) this.failChunks(b, 0, new NetlinkClosedError(b.what));
    this.removeAllListeners();
  }
}
