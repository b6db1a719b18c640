/**
 * Generic netlink on the same transport as rtnetlink: a NetlinkSocket opened with
 * NETLINK_GENERIC (sequence numbers, acks, extended acks, strict checking, timeouts, dumps with
 * NLM_F_DUMP_INTR retries, pipelined batches), plus family resolution through the controller.
 *
 * A family's id is looked up by name (CTRL_CMD_GETFAMILY) once per socket and cached. It is
 * not permanent: unloading and loading a module registers the family again under a new id.
 * So the cache is dropped when the controller announces a family change (the socket follows
 * the controller's "notify" group) or when the socket overflows (an announcement may be lost),
 * and a request that fails the way a stale id fails (ENOENT: no family has that id any more;
 * EOPNOTSUPP or EINVAL: another family took it) resolves the name again and, when the id
 * changed, is sent once more. Such a request never reached the family it was meant for, so
 * sending it again cannot apply it twice.
 */
import { EventEmitter } from 'eventemitter3';
import { NetlinkError } from './errors';
import { encodeGetFamily, parseFamilyMessage, readGenlHeader, type GenlFamily, type GenlHeader } from './genl-codec';
import { CTRL_CMD_DELFAMILY, GENL_ID_CTRL, GENL_MIN_ID, GENL_NAMSIZ, NETLINK_GENERIC } from './genl-constants';
import type { NativeSocket } from '../addon';
import type { MessageView } from './reader';
import { BatchResult, NetlinkSocket, type BatchOptions, type DumpOptions, type NetlinkSocketOptions, type RequestOptions } from './socket';
import type { MessageWriter } from './writer';

/** How GenlSocket.open() opens its socket: NetlinkSocket's options (namespace, buffers, acks, timeout) and one more. */
export interface GenlSocketOptions extends Omit<NetlinkSocketOptions, 'protocol' | 'groups'> {
  /**
   * Join the controller's "notify" group so that a family registered again (a module reload)
   * is noticed before a request fails. Default true. Without it, a stale id is still found on
   * the first request that fails because of it.
   */
  followFamilies?: boolean;
}

/** Options of GenlSocket.request(). */
export interface GenlRequestOptions extends RequestOptions {
  /** The request only reads (a family's GET of one object, not a dump): counted in readRequests, not modifyingRequests. */
  readOnly?: boolean;
}

/** Writes one complete generic netlink message for `family` (use beginGenl(w, family.id, ...)). */
export type GenlEncode = (w: MessageWriter, family: GenlFamily) => void;

/** A change the controller announced (its "notify" group). */
export interface GenlFamilyEvent {
  /** 'del' when the family was unregistered (CTRL_CMD_DELFAMILY), 'new' for anything else about it. */
  action: 'new' | 'del';
  /** The family as the announcement describes it. */
  family: GenlFamily;
}

/** The events a GenlSocket emits. */
export interface GenlSocketEvents {
  /** A message nobody asked for (a multicast event of a joined group), with its genlmsghdr. */
  message: (m: MessageView, header: GenlHeader) => void;
  /** The controller announced a family change; the family's cached id was dropped. */
  family: (e: GenlFamilyEvent) => void;
  /** The kernel dropped messages for this socket (ENOBUFS); every cached family was dropped. */
  overflow: () => void;
  /** A malformed datagram or notification (the socket keeps going). */
  error: (e: Error) => void;
}

/** The family a request named is not registered in this kernel (its module is not loaded or not built). */
export class GenlFamilyNotFoundError extends NetlinkError {
  /** The family name that was looked up. */
  readonly family: string;
  /**
   * @param family - the name looked up
   * @param kernelMessage - the controller's extended-ack text, if any
   */
  constructor(family: string, kernelMessage?: string) {
    super(
      2 /* ENOENT */,
      { message: kernelMessage },
      `genl: resolve family "${family}"`,
      `no generic netlink family "${family}" is registered in this kernel (its module is not loaded and could not be, or it is not built)`,
    );
    this.family = family;
  }
}

/** What a generic netlink EPERM means: the family's command needs a capability. */
export const GENL_NEEDS_CAP_NET_ADMIN =
  'this generic netlink command needs CAP_NET_ADMIN in the user namespace that owns the network namespace (run as root); WireGuard asks for it even to read a device';

/** The errors a request with a stale family id gets (see the file comment). */
function maybeStaleFamily(e: unknown): boolean {
  return e instanceof NetlinkError && (e.code === 'ENOENT' || e.code === 'EOPNOTSUPP' || e.code === 'EINVAL');
}

function checkFamilyName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) >= GENL_NAMSIZ) {
    throw new TypeError(`a generic netlink family name is 1..${GENL_NAMSIZ - 1} bytes, got ${JSON.stringify(name)}`);
  }
}

/**
 * A generic netlink socket: requests, dumps and batches addressed to families by name.
 * Rejections are those of NetlinkSocket (NetlinkError, NetlinkTimeoutError, NetlinkClosedError,
 * NetlinkParseError), plus GenlFamilyNotFoundError when a family is not registered.
 *
 * @example
 * ```ts
 * const genl = GenlSocket.open({ netnsPath: '/run/netns/host1' });
 * const fam = await genl.family('nlctrl');            // { id: 16, groups: [{ name: 'notify', id: 16 }], ... }
 * const all = await genl.listFamilies();
 * genl.close();
 * ```
 */
export class GenlSocket extends EventEmitter<GenlSocketEvents> {
  /** The underlying netlink socket (protocol NETLINK_GENERIC). */
  readonly socket: NetlinkSocket;
  private readonly families = new Map<string, Promise<GenlFamily>>();
  private readonly sentPerFamily = new Map<string, number>();
  /**
   * Requests sent to families (retries included; the controller lookups behind family() are
   * not counted): reads are dumps and requests marked readOnly, every other request changes
   * state (generic netlink has no GET/SET in its header: a family's commands say which). The
   * reconciler and the agent's metrics add modifyingRequests to rtnetlink's NEW/DEL/SET.
   */
  readRequests = 0;
  modifyingRequests = 0;

  private constructor(socket: NetlinkSocket, follow: boolean) {
    super();
    this.socket = socket;
    socket.on('message', (m) => this.onMessage(m));
    socket.on('overflow', () => {
      this.families.clear();
      this.emit('overflow');
    });
    socket.on('error', (e) => this.emit('error', e));
    if (follow) socket.joinGroup(GENL_ID_CTRL);
  }

  /** Opens a generic netlink socket (in a namespace when asked). Throws a Node-style error
   * (code, errno, syscall) when it cannot, e.g. ENOENT for a namespace path that does not exist. */
  static open(opts: GenlSocketOptions = {}): GenlSocket {
    const { followFamilies, ...rest } = opts;
    const socket = NetlinkSocket.open({ ...rest, protocol: NETLINK_GENERIC, ref: rest.ref ?? false });
    try {
      return new GenlSocket(socket, followFamilies ?? true);
    } catch (e) {
      socket.close();
      throw e;
    }
  }

  /** Wraps an open native socket (or a stand-in with the same methods, for tests). */
  static fromNative(raw: NativeSocket, opts: GenlSocketOptions = {}): GenlSocket {
    const { followFamilies, ...rest } = opts;
    return new GenlSocket(NetlinkSocket.fromNative(raw, { ...rest, protocol: NETLINK_GENERIC }), followFamilies ?? true);
  }

  /**
   * The family named `name`, from the cache or the controller. Rejects with
   * GenlFamilyNotFoundError when the kernel has no such family (where modules can be loaded,
   * the controller first asks for the family's module: "net-pf-16-proto-16-family-NAME").
   * Throws TypeError for a name that cannot be a family name.
   */
  family(name: string): Promise<GenlFamily> {
    checkFamilyName(name);
    let p = this.families.get(name);
    if (!p) {
      const resolving = this.resolve(name);
      p = resolving;
      this.families.set(name, resolving);
      resolving.catch(() => {
        if (this.families.get(name) === resolving) this.families.delete(name);
      });
    }
    return p;
  }

  /** Drops a family's cached id (the next request resolves it again). */
  forgetFamily(name: string): void {
    this.families.delete(name);
  }

  /** Every family registered in this kernel, as the controller lists them (one dump). */
  listFamilies(opts: DumpOptions = {}): Promise<GenlFamily[]> {
    return this.socket.dump(
      (w) => encodeGetFamily(w),
      (m) => (m.type === GENL_ID_CTRL ? parseFamilyMessage(m) : undefined),
      { what: 'genl: list families', ...opts },
    );
  }

  private async resolve(name: string): Promise<GenlFamily> {
    const what = `genl: resolve family "${name}"`;
    let replies: MessageView[];
    try {
      replies = await this.socket.request((w) => encodeGetFamily(w, name), { what });
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENOENT') throw new GenlFamilyNotFoundError(name, e.kernelMessage);
      throw e;
    }
    for (const m of replies) {
      if (m.type === GENL_ID_CTRL) {
        const f = parseFamilyMessage(m);
        if (f.name === name) return f;
      }
    }
    throw new NetlinkError(2 /* ENOENT */, {}, what, 'the controller answered without describing the family');
  }

  /** Resolves `name` again unless another caller already did since `stale` was handed out. */
  private async refresh(name: string, stale: GenlFamily): Promise<GenlFamily> {
    const cached = this.families.get(name);
    if (cached) {
      const f = await cached.catch(() => undefined);
      if (f && f.id !== stale.id) return f;
    }
    this.families.delete(name);
    return this.family(name);
  }

  private counted(fam: GenlFamily, encode: GenlEncode, modifying: boolean): (w: MessageWriter) => void {
    return (w) => {
      this.sentPerFamily.set(fam.name, (this.sentPerFamily.get(fam.name) ?? 0) + 1);
      if (modifying) this.modifyingRequests++;
      else this.readRequests++;
      encode(w, fam);
    };
  }

  private async withFamily<T>(name: string, run: (fam: GenlFamily) => Promise<T>): Promise<T> {
    const fam = await this.family(name);
    try {
      return await run(fam);
    } catch (e) {
      if (!maybeStaleFamily(e)) throw explain(e);
      const fresh = await this.refresh(name, fam);
      if (fresh.id === fam.id) throw explain(e);
      try {
        return await run(fresh);
      } catch (e2) {
        throw explain(e2);
      }
    }
  }

  /**
   * Sends one request to a family (NLM_F_REQUEST | NLM_F_ACK are added) and resolves with the
   * messages that came back before the acknowledgement. encode gets the resolved family for
   * its id. Rejects with NetlinkError when the kernel refuses (EPERM explained as a missing
   * CAP_NET_ADMIN), GenlFamilyNotFoundError when the family is not registered. Counted as a
   * modifying request unless opts.readOnly says it only reads.
   */
  request(family: string, encode: GenlEncode, opts: GenlRequestOptions = {}): Promise<MessageView[]> {
    const { readOnly, ...rest } = opts;
    return this.withFamily(family, (fam) => this.socket.request(this.counted(fam, encode, readOnly !== true), rest));
  }

  /**
   * A dump request to a family: every reply until NLMSG_DONE goes through parse (undefined
   * skips one); interrupted dumps (NLM_F_DUMP_INTR) are restarted as NetlinkSocket.dump does.
   */
  dump<T>(family: string, encode: GenlEncode, parse: (m: MessageView) => T | undefined, opts: DumpOptions = {}): Promise<T[]> {
    return this.withFamily(family, (fam) => this.socket.dump(this.counted(fam, encode, false), parse, opts));
  }

  /**
   * count requests to a family, pipelined as NetlinkSocket.batch does; encode(i, w, family)
   * writes request i. Requests that failed the way a stale family id fails are sent again once
   * the id was resolved anew and found changed. Resolves with every request's outcome.
   */
  async batch(
    family: string,
    count: number,
    encode: (index: number, w: MessageWriter, family: GenlFamily) => void,
    opts: BatchOptions = {},
  ): Promise<BatchResult> {
    const fam = await this.family(family);
    const run = (f: GenlFamily, which: number[] | undefined, o: BatchOptions) =>
      this.socket.batch(which ? which.length : count, (i, w) => this.counted(f, (ww, ff) => encode(which ? which[i] : i, ww, ff), true)(w), o);
    const first = await run(fam, undefined, opts);
    const errors = Array.from({ length: count }, (_, i) => explainOrUndefined(first.errors[i]));
    const stale: number[] = [];
    for (let i = 0; i < count; i++) if (maybeStaleFamily(errors[i])) stale.push(i);
    if (stale.length) {
      const fresh = await this.refresh(family, fam);
      if (fresh.id !== fam.id) {
        const describe = opts.describe;
        const again = await run(fresh, stale, { ...opts, describe: describe && ((k: number) => describe(stale[k])) });
        stale.forEach((i, k) => (errors[i] = explainOrUndefined(again.errors[k])));
      }
    }
    return new BatchResult(count, errors, errors.filter((e) => e !== undefined).length);
  }

  /**
   * Joins a family's multicast group by name; its events arrive as 'message'. Resolves with
   * the group id. Rejects with NetlinkError ENOENT when the family has no such group.
   */
  async joinGroup(family: string, group: string): Promise<number> {
    const fam = await this.family(family);
    const g = fam.groups.find((x) => x.name === group);
    if (!g) {
      throw new NetlinkError(2 /* ENOENT */, {}, `genl: join ${family}/${group}`, `family "${family}" has no multicast group "${group}" (it has: ${fam.groups.map((x) => x.name).join(', ') || 'none'})`);
    }
    this.socket.joinGroup(g.id);
    return g.id;
  }

  /** How many requests this socket has sent to `family` (retries included). */
  requestsSent(family: string): number {
    return this.sentPerFamily.get(family) ?? 0;
  }

  private onMessage(m: MessageView): void {
    if (m.type < GENL_MIN_ID) return; // a late acknowledgement or error, not an event
    let h: GenlHeader;
    try {
      h = readGenlHeader(m);
      if (m.type === GENL_ID_CTRL && h.cmd !== 0) {
        // Every controller announcement names a family (new/del family, new/del group): what
        // this socket knows about that family may be out of date.
        const family = parseFamilyMessage(m);
        this.families.delete(family.name);
        this.emit('family', { action: h.cmd === CTRL_CMD_DELFAMILY ? 'del' : 'new', family });
      }
    } catch (e) {
      this.emit('error', e as Error);
      return;
    }
    this.emit('message', m, h);
  }

  /** True after close(). */
  get isClosed(): boolean {
    return this.socket.isClosed;
  }

  /** Closes the socket; pending requests reject with NetlinkClosedError. */
  close(): void {
    this.families.clear();
    this.socket.close();
    this.removeAllListeners();
  }
}

/** An EPERM from a generic netlink family says which privilege is missing. */
function explain(e: unknown): unknown {
  if (!(e instanceof NetlinkError) || e.code !== 'EPERM' || e.message.includes(GENL_NEEDS_CAP_NET_ADMIN)) return e;
  return new NetlinkError(
    e.errno,
    { message: e.kernelMessage, badAttributeOffset: e.badAttributeOffset, missingAttributeType: e.missingAttributeType },
    e.operation,
    GENL_NEEDS_CAP_NET_ADMIN,
  );
}

function explainOrUndefined(e: Error | undefined): Error | undefined {
  return e === undefined ? undefined : (explain(e) as Error);
}
