/**
 * IPv4/IPv6 neighbour entries (ARP and NDP caches): RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH
 * with a struct ndmsg of family AF_INET or AF_INET6. Requests are laid out as `ip neigh`
 * lays them out (NDA_DST then NDA_LLADDR, ndm_state NUD_PERMANENT unless told otherwise).
 *
 * Proxy entries (NTF_PROXY) live in a separate kernel table: they are added and removed with
 * the flag, and listed by a dump whose ndm_flags is NTF_PROXY.
 */
import { NLA_HDRLEN, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../../wire/constants';
import { NetlinkError, NetlinkParseError } from '../../wire/errors';
import { parseIPv4 } from '../../values/ip';
import { parseMacInto } from '../../values/mac';
import type { MessageView } from '../../wire/reader';
import type { BatchResult } from '../../wire/socket';
import type { MessageWriter } from '../../wire/writer';
import { AF_INET, AF_INET6, AF_UNSPEC, NDA_DST, NDA_LLADDR, NDMSG_LEN, NTF_PROXY, NTF_ROUTER, NUD_PERMANENT, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH } from '../constants';
import type { RtnlContext } from '../context';
import { NDMSG, devText, fillNdmsg, isReadBack, readNdmsg, getEach, runMany, writeNdmsg, type ManyOptions } from '../ndmsg';
import { NUD_STATES, nudStateNames } from '../names';
import { scanNeighFacts, type NeighFacts } from '../neigh-facts';
import type { DeviceRef, IpFamily, Neighbor, NeighborFilter, NeighborSpec } from '../types';
import { familyOf } from '../../values/address';
import { Problems, own } from '../../values/problems';
import { quickNeighborSpec } from './quick';
import { NEIGHBOR_ATTRS, NEIGHBOR_FIELDS, NEIGHBOR_FILTER_FIELDS, NEIGHBOR_GET_FIELDS } from './table';

/**
 * Checks a NeighborSpec, appending every problem to p (under path). Returns whether it is valid.
 * The fields and their checks are NEIGHBOR_FIELDS'; the rule between them is here: a proxy
 * entry has no link-layer address and no state of its own, so lladdr is refused there.
 */
export function validateNeighborSpec(p: Problems, path: string, x: unknown): boolean {
  const before = p.list.length;
  if (!NEIGHBOR_FIELDS.check(p, path, x, 'a neighbour spec')) return false;
  if (own(x, 'proxy') === true && own(x, 'lladdr') !== undefined) {
    p.add(path ? `${path}.lladdr` : 'lladdr', "a proxy entry has no link-layer address (it answers with the device's own)");
  }
  return p.list.length === before;
}

/**
 * Writes one RTM_NEWNEIGH / RTM_DELNEIGH request for a validated spec on interface devIndex:
 * ndm_state is the spec's state (NUD_PERMANENT by default, also in deletes, as iproute2 sends),
 * ndm_flags NTF_PROXY / NTF_ROUTER as asked; then NDA_DST and NDA_LLADDR, in NEIGHBOR_ATTRS'
 * order. Throws TypeError for an address or MAC that does not parse (validation refuses them).
 */
export function encodeNeighbor(w: MessageWriter, type: number, flags: number, n: NeighborSpec, devIndex: number): void {
  const v4 = parseIPv4(n.ip);
  const state = n.state === undefined ? NUD_PERMANENT : (NUD_STATES[n.state] ?? 0);
  const ntf = (n.proxy ? NTF_PROXY : 0) | (n.router ? NTF_ROUTER : 0);
  w.begin(type, flags);
  if (v4 >= 0) encodeV4Body(w, v4, n.lladdr, devIndex, state, ntf);
  else {
    writeNdmsg(w, AF_INET6, devIndex, state, ntf);
    w.ip(NDA_DST, n.ip);
    if (n.lladdr !== undefined) w.mac(NDA_LLADDR, n.lladdr);
  }
  w.end();
}

/** NDA_DST's 4-byte and NDA_LLADDR's 6-byte attribute, header and pads included. */
const DST4_BYTES = NLA_HDRLEN + 4;
const LLADDR_BYTES = NLA_HDRLEN + 8;

/**
 * The body of the common request (an IPv4 entry) in one claim, every byte written here: a
 * batch writes 10k of them, and the generic path parsed the address twice and zeroed each
 * part with a native fill(). The golden tests pin these bytes to `ip neigh`'s.
 */
function encodeV4Body(w: MessageWriter, v4: number, lladdr: string | undefined, devIndex: number, state: number, ntf: number): void {
  const off = w.claim(NDMSG_LEN + DST4_BYTES + (lladdr === undefined ? 0 : LLADDR_BYTES));
  const b = w.buf;
  fillNdmsg(b, off, AF_INET, devIndex, state, ntf);
  let at = off + NDMSG_LEN;
  b.writeUInt16LE(DST4_BYTES, at);
  b.writeUInt16LE(NDA_DST, at + 2);
  b.writeUInt32BE(v4, at + 4);
  if (lladdr === undefined) return;
  at += DST4_BYTES;
  b.writeUInt16LE(NLA_HDRLEN + 6, at);
  b.writeUInt16LE(NDA_LLADDR, at + 2);
  if (!parseMacInto(lladdr, b, at + 4)) throw new TypeError(`not a MAC address: ${JSON.stringify(lladdr)}`);
  b[at + 10] = 0;
  b[at + 11] = 0;
}

/**
 * Writes an RTM_GETNEIGH dump request. With strict checking the kernel filters by family
 * (ndm_family) and interface (NDA_IFINDEX; ndm_ifindex must stay 0 in a strict dump);
 * proxy selects the proxy table instead of the cache.
 */
export function encodeNeighborDump(w: MessageWriter, family: number, devIndex: number, proxy: boolean): void {
  w.begin(RTM_GETNEIGH, NLM_F_DUMP);
  writeNdmsg(w, family, 0, 0, proxy ? NTF_PROXY : 0);
  NEIGHBOR_ATTRS.encode(w, { ifindex: devIndex || undefined });
  w.end();
}

/**
 * Writes an RTM_GETNEIGH request for one entry (no NLM_F_DUMP; kernel 4.20 and later): ndm_family
 * of the address, ndm_ifindex the device, NDA_DST the address. Strict checking allows nothing
 * else (no state, no flags but NTF_PROXY, no other attribute).
 */
export function encodeNeighborGet(w: MessageWriter, ip: string, devIndex: number): void {
  w.begin(RTM_GETNEIGH, 0);
  writeNdmsg(w, parseIPv4(ip) >= 0 ? AF_INET : AF_INET6, devIndex, 0, 0);
  NEIGHBOR_ATTRS.encode(w, { ip });
  w.end();
}

/** One neighbour entry to look up: the device it is on and its address. */
export interface NeighborKey {
  /** The device (a name or an index; an index costs no lookup). */
  dev: DeviceRef;
  /** The neighbour's IPv4 or IPv6 address. */
  ip: string;
}

/** What NEIGHBOR_ATTRS decodes into: every field, so the object has one shape. */
interface NdaValues {
  ip: string | undefined;
  lladdr: string | undefined;
  ifindex: number | undefined;
  protocol: number | undefined;
  flagsExt: number | undefined;
}

/**
 * Decodes one RTM_NEWNEIGH or RTM_DELNEIGH message of family AF_INET/AF_INET6 (used by list()
 * and the monitor). Attributes NEIGHBOR_ATTRS does not name are kept in `unknown`. Throws
 * NetlinkParseError for a malformed message, another family (FDB entries are AF_BRIDGE: see
 * parseFdbMessage) or a message without NDA_DST.
 */
export function parseNeighborMessage(m: MessageView): Neighbor {
  const h = readNdmsg(m);
  if (h.family !== AF_INET && h.family !== AF_INET6) {
    throw new NetlinkParseError(`neighbour of family ${h.family} (expected AF_INET or AF_INET6)`, m.payload);
  }
  const v: NdaValues = { ip: undefined, lladdr: undefined, ifindex: undefined, protocol: undefined, flagsExt: undefined };
  const unknown = NEIGHBOR_ATTRS.decodeInto(m.buf, m.payload + NDMSG.size, m.end, v);
  if (v.ip === undefined) throw new NetlinkParseError('neighbour message without NDA_DST', m.payload);
  const out: Neighbor = {
    index: h.ifindex,
    family: h.family === AF_INET ? 4 : 6,
    ip: v.ip,
    state: h.state,
    states: nudStateNames(h.state),
    flags: h.flags,
    proxy: (h.flags & NTF_PROXY) !== 0,
    router: (h.flags & NTF_ROUTER) !== 0,
  };
  if (v.lladdr !== undefined) out.lladdr = v.lladdr;
  if (v.protocol !== undefined) out.protocol = v.protocol;
  if (unknown !== undefined) out.unknown = unknown;
  return out;
}

function describe(n: NeighborSpec): string {
  return `${n.proxy ? 'proxy ' : ''}${n.ip}${n.lladdr ? ` lladdr ${n.lladdr}` : ''}${devText(n.dev)}`;
}

/** A Neighbor read back, as the spec that names it (for del()). */
function specOf(n: Neighbor): NeighborSpec {
  return { dev: n.index, ip: n.ip, proxy: n.proxy || undefined };
}

const CREATE_EXCL = NLM_F_CREATE | NLM_F_EXCL;
const CREATE_REPLACE = NLM_F_CREATE | NLM_F_REPLACE;

/**
 * The ARP/NDP neighbour tables of one namespace.
 *
 * ```ts
 * // flannel: the remote VTEP's IP answers with the remote VTEP's MAC, permanently
 * await nl.neighbors.replace({ dev: 'vxlan0', ip: '192.168.11.0', lladdr: '0a:58:c0:a8:0b:00' });
 * ```
 */
export class Neighbors {
  constructor(protected readonly ctx: RtnlContext) {}

  /** Adds an entry (NLM_F_CREATE|NLM_F_EXCL). Throws ValidationError for a bad spec (nothing
   * sent), NetlinkError ENODEV naming a missing device, EEXIST when the entry exists. */
  async add(n: NeighborSpec): Promise<void> {
    await this.modify('neighbors.add', n, RTM_NEWNEIGH, CREATE_EXCL);
  }

  /** Adds or overwrites an entry (NLM_F_CREATE|NLM_F_REPLACE). Throws as add() does, bar EEXIST. */
  async replace(n: NeighborSpec): Promise<void> {
    await this.modify('neighbors.replace', n, RTM_NEWNEIGH, CREATE_REPLACE);
  }

  /** Removes an entry, given as a spec or as read back by list(). Throws ValidationError,
   * NetlinkError ENODEV for a missing device, ENOENT when there is no such entry. */
  async del(n: NeighborSpec | Neighbor): Promise<void> {
    const spec = typeof n === 'object' && n !== null && isReadBack<Neighbor>(n) ? specOf(n) : (n as NeighborSpec);
    await this.modify('neighbors.del', spec, RTM_DELNEIGH, 0);
  }

  /**
   * Entries of the neighbour cache, filtered in the kernel by interface and family; with
   * proxy: true the proxy entries too (a second dump of the proxy table). Throws
   * ValidationError for a bad filter, NetlinkError ENODEV naming a missing device.
   */
  async list(filter: NeighborFilter = {}): Promise<Neighbor[]> {
    const p = new Problems();
    NEIGHBOR_FILTER_FIELDS.check(p, 'filter', filter, 'a filter');
    p.throwIfAny('neighbors.list');
    const dev = own(filter, 'dev') as NeighborFilter['dev'];
    const what = `neighbors.list${dev !== undefined ? devText(dev) : ''}`;
    const index = dev === undefined ? 0 : await this.ctx.devices.index(dev, what);
    const f: IpFamily | undefined = familyOf(own(filter, 'family'));
    const family = f === 4 ? AF_INET : f === 6 ? AF_INET6 : AF_UNSPEC;
    const out = await this.ctx.socket.dump((w) => encodeNeighborDump(w, family, index, false), parseKnown, { what, transientView: true });
    if (own(filter, 'proxy') === true) {
      const proxies = await this.ctx.socket.dump((w) => encodeNeighborDump(w, family, index, true), parseKnown, {
        what: `${what} (proxy)`,
        transientView: true,
      });
      for (const x of proxies) out.push(x);
    }
    return out;
  }

  /**
   * Like list() without proxy entries, but hands visit the numbers of each IPv4/IPv6 entry
   * (one reused NeighFacts, see neigh-facts.ts) instead of a Neighbor: the way to compare a big
   * table against a wanted set cheaply; parseNeighborMessage(facts.msg) gives the whole entry
   * of the message being visited. Filtered in the kernel by device and family; a dump the
   * kernel restarts (NLM_F_DUMP_INTR) calls onRestart before it starts over. Resolves with
   * the number of entries visited.
   */
  async scan(filter: Omit<NeighborFilter, 'proxy'>, visit: (facts: NeighFacts) => void, onRestart?: () => void): Promise<number> {
    const p = new Problems();
    NEIGHBOR_FILTER_FIELDS.check(p, 'filter', filter, 'a filter');
    if (own(filter, 'proxy') !== undefined) p.add('filter.proxy', 'scan() reads the neighbour cache only (list({ proxy: true }) reads proxy entries)');
    p.throwIfAny('neighbors.scan');
    const dev = own(filter, 'dev') as NeighborFilter['dev'];
    const what = `neighbors.scan${dev !== undefined ? devText(dev) : ''}`;
    const index = dev === undefined ? 0 : await this.ctx.devices.index(dev, what);
    const f: IpFamily | undefined = familyOf(own(filter, 'family'));
    const family = f === 4 ? AF_INET : f === 6 ? AF_INET6 : AF_UNSPEC;
    return scanNeighFacts(this.ctx.socket, what, (w) => encodeNeighborDump(w, family, index, false), index, (f) => f === AF_INET || f === AF_INET6, visit, onRestart);
  }

  /**
   * One entry of the neighbour cache (not a proxy entry), asked of the kernel by device and
   * address (RTM_GETNEIGH without NLM_F_DUMP, kernel 4.20 or later): undefined when there is
   * none (ENOENT). Throws ValidationError for a bad key, NetlinkError ENODEV for a missing device.
   */
  async get(key: NeighborKey): Promise<Neighbor | undefined> {
    const [r] = await this.getMany([key]);
    if (r instanceof Error) throw r;
    return r;
  }

  /**
   * get() for many entries: every request is sent before any answer is awaited (the kernel
   * answers each inside its send, so n entries cost n sends and no round trip each). Resolves
   * with each key's entry, undefined where there is none, or the NetlinkError the kernel gave
   * for that key (ENODEV, EINVAL on a kernel without the single-entry get). Throws
   * ValidationError naming every bad key before anything is sent.
   */
  getMany(keys: readonly NeighborKey[]): Promise<Array<Neighbor | undefined | NetlinkError>> {
    return getEach(
      this.ctx,
      'neighbors.getMany',
      keys,
      (p, path, k) => NEIGHBOR_GET_FIELDS.check(p, path, k, 'a neighbour key'),
      (w, k, index) => encodeNeighborGet(w, k.ip, index),
      parseNeighborMessage,
      (k) => `neighbors.get ${k.ip}`,
    );
  }

  /** replace() for many entries in one pipelined batch. Throws ValidationError naming every bad
   * spec before anything is sent; otherwise resolves with each entry's outcome (an entry whose
   * device does not exist carries ENODEV; the others still go ahead). */
  replaceMany(specs: readonly NeighborSpec[], opts: ManyOptions = {}): Promise<BatchResult> {
    return runMany(this.ctx, 'neighbors.replaceMany', specs, validateNeighborSpec, (w, n, i) => encodeNeighbor(w, RTM_NEWNEIGH, CREATE_REPLACE, n, i), describe, opts, quickNeighborSpec);
  }

  /** Removes many entries (specs or entries read back) in one pipelined batch; each failure, e.g.
   * ENOENT, is reported per entry. */
  delMany(specs: readonly (NeighborSpec | Neighbor)[]): Promise<BatchResult> {
    const all = Array.isArray(specs) ? specs.map((n) => (typeof n === 'object' && n !== null && isReadBack<Neighbor>(n) ? specOf(n) : (n as NeighborSpec))) : (specs as NeighborSpec[]);
    return runMany(this.ctx, 'neighbors.delMany', all, validateNeighborSpec, (w, n, i) => encodeNeighbor(w, RTM_DELNEIGH, 0, n, i), describe);
  }

  private async modify(op: string, n: NeighborSpec, type: number, flags: number): Promise<void> {
    const p = new Problems();
    validateNeighborSpec(p, '', n);
    p.throwIfAny(op);
    const what = `${op} ${describe(n)}`;
    const index = await this.ctx.devices.index(n.dev, what);
    await this.ctx.socket.request((w) => encodeNeighbor(w, type, flags, n, index), { what });
  }
}

/** Dumps of family AF_UNSPEC cover every neighbour table; keep the IPv4/IPv6 ones. */
function parseKnown(m: MessageView): Neighbor | undefined {
  const fam = m.end - m.payload >= 1 ? m.buf[m.payload] : -1;
  return fam === AF_INET || fam === AF_INET6 ? parseNeighborMessage(m) : undefined;
}
