/**
 * Forwarding database entries: RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH with a struct ndmsg
 * of family AF_BRIDGE. NTF_SELF addresses the device's own table (a vxlan device: MAC -> remote
 * VTEP), NTF_MASTER the table of the bridge a port belongs to. Requests are laid out as
 * `bridge fdb` lays them out (NDA_LLADDR, NDA_DST, NDA_VLAN, NDA_PORT, NDA_VNI).
 *
 * A vxlan entry can hold several destinations: `append` adds one (mac, dst) pair, which is
 * how the all-zero MAC floods to several VTEPs (head-end replication); `del` with a dst removes
 * exactly that pair, without dst the whole MAC.
 */
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../../wire/constants';
import { NetlinkError, NetlinkParseError } from '../../wire/errors';
import type { MessageView } from '../../wire/reader';
import type { BatchResult } from '../../wire/socket';
import type { MessageWriter } from '../../wire/writer';
import { AF_BRIDGE, NTF_MASTER, NTF_SELF, NUD_NOARP, NUD_PERMANENT, NUD_REACHABLE, RTM_DELNEIGH, RTM_GETNEIGH, RTM_NEWNEIGH } from '../constants';
import type { RtnlContext } from '../context';
import { NDMSG, devText, isReadBack, readNdmsg, getEach, runMany, writeNdmsg, type ManyOptions } from '../ndmsg';
import type { DeviceRef, FdbEntry, FdbFilter, FdbSpec } from '../types';
import { Problems, describeValue, own } from '../../values/problems';
import { Links } from '../link';
import { lookUpNexthops } from '../nexthop';
import { scanNeighFacts, type NeighFacts } from '../neigh-facts';
import { FDB_ATTRS, FDB_FIELDS, FDB_FILTER_FIELDS, FDB_GET_FIELDS } from './table';

/**
 * ndm_state of a permanent entry, as `bridge fdb ... permanent` sends it. The kernel's vxlan
 * driver refuses entries with neither NUD_PERMANENT nor NUD_REACHABLE (EINVAL); NUD_NOARP keeps
 * an entry from ageing out.
 */
export const FDB_STATE_PERMANENT = NUD_NOARP | NUD_PERMANENT;
/** ndm_state of a static entry (`bridge fdb ... static`): a bridge keeps it as static, never ageing. */
export const FDB_STATE_STATIC = NUD_NOARP | NUD_REACHABLE;

/**
 * Checks an FdbSpec, appending every problem to p (under path). Returns whether it is valid.
 * The fields and their checks are FDB_FIELDS' (vni 0..16777215, port 1..65535, vlan
 * 1..4094); the rule between them is here: an entry must go in some table.
 */
export function validateFdbSpec(p: Problems, path: string, x: unknown): boolean {
  const before = p.list.length;
  if (!FDB_FIELDS.check(p, path, x, 'an FDB spec')) return false;
  if (own(x, 'self') === false && own(x, 'master') !== true) {
    p.add(path ? `${path}.self` : 'self', 'self: false needs master: true (an entry must go in some table)');
  }
  if (own(x, 'nhid') !== undefined) {
    for (const f of ['dst', 'vni', 'port']) {
      if (own(x, f) !== undefined) p.add(path ? `${path}.nhid` : 'nhid', `nhid and ${f} are exclusive (the nexthop group holds the remotes)`);
    }
    if (own(x, 'master') === true) p.add(path ? `${path}.nhid` : 'nhid', "a bridge's table takes no nhid (only a vxlan device's own)");
  }
  return p.list.length === before;
}

/** NTF_SELF unless only master was asked for; NTF_MASTER when master. */
function ntfOf(e: FdbSpec): number {
  const self = e.self ?? !e.master;
  return (self ? NTF_SELF : 0) | (e.master ? NTF_MASTER : 0);
}

/**
 * Writes one RTM_NEWNEIGH / RTM_DELNEIGH request (family AF_BRIDGE) for a validated spec on
 * interface devIndex. flags: NLM_F_CREATE|NLM_F_APPEND (append), NLM_F_CREATE|NLM_F_EXCL (add),
 * NLM_F_CREATE|NLM_F_REPLACE (replace), 0 (del).
 */
export function encodeFdb(w: MessageWriter, type: number, flags: number, e: FdbSpec, devIndex: number): void {
  w.begin(type, flags);
  writeNdmsg(w, AF_BRIDGE, devIndex, e.permanent === false ? FDB_STATE_STATIC : FDB_STATE_PERMANENT, ntfOf(e));
  FDB_ATTRS.encode(w, { mac: e.mac, dst: e.dst, vlan: e.vlan, port: e.port, vni: e.vni, nhid: e.nhid });
  w.end();
}

/**
 * Writes an RTM_GETNEIGH dump request of family AF_BRIDGE, filtered in the kernel (strict
 * checking) by the device the entries are on (NDA_IFINDEX) and by bridge (NDA_MASTER).
 */
export function encodeFdbDump(w: MessageWriter, devIndex: number, masterIndex: number): void {
  w.begin(RTM_GETNEIGH, NLM_F_DUMP);
  writeNdmsg(w, AF_BRIDGE, 0, 0, 0);
  FDB_ATTRS.encode(w, { ifindex: devIndex || undefined, masterIndex: masterIndex || undefined });
  w.end();
}

/** One FDB entry to look up (fdb.get()): a MAC in a device's own table or in its bridge's. */
export interface FdbKey {
  /** The device (a name or an index; an index costs no lookup). */
  dev: DeviceRef;
  /** The MAC address. */
  mac: string;
  /** The VLAN (NDA_VLAN), for a bridge's table. */
  vlan?: number;
  /** Look in the table of the bridge dev is a port of (NTF_MASTER) rather than dev's own (NTF_SELF, the default). */
  master?: boolean;
}

/**
 * Writes an RTM_GETNEIGH request for one FDB entry (family AF_BRIDGE, no NLM_F_DUMP), as
 * `bridge fdb get` lays it out: ndm_ifindex the device, NTF_SELF or NTF_MASTER, NDA_LLADDR and
 * NDA_VLAN. Strict checking allows no state and no other flag.
 */
export function encodeFdbGet(w: MessageWriter, key: FdbKey, devIndex: number): void {
  w.begin(RTM_GETNEIGH, 0);
  writeNdmsg(w, AF_BRIDGE, devIndex, 0, key.master ? NTF_MASTER : NTF_SELF);
  FDB_ATTRS.encode(w, { mac: key.mac, vlan: key.vlan });
  w.end();
}

/** What FDB_ATTRS decodes into: every field, so the object has one shape. */
interface FdbValues {
  mac: string | undefined;
  dst: string | undefined;
  vlan: number | undefined;
  port: number | undefined;
  vni: number | undefined;
  ifindex: number | undefined;
  masterIndex: number | undefined;
  srcVni: number | undefined;
  linkNetnsId: number | undefined;
  protocol: number | undefined;
  flagsExt: number | undefined;
  nhid: number | undefined;
}

/**
 * Decodes one RTM_NEWNEIGH or RTM_DELNEIGH message of family AF_BRIDGE (used by list() and the
 * monitor). Attributes FDB_ATTRS does not name are kept in `unknown`. Throws NetlinkParseError
 * for a malformed message, another family or a message without NDA_LLADDR. A vxlan device
 * reports port and vni only where they differ from its own.
 */
export function parseFdbMessage(m: MessageView): FdbEntry {
  const h = readNdmsg(m);
  if (h.family !== AF_BRIDGE) throw new NetlinkParseError(`FDB entry of family ${h.family} (expected AF_BRIDGE)`, m.payload);
  const v: FdbValues = {
    mac: undefined,
    dst: undefined,
    vlan: undefined,
    port: undefined,
    vni: undefined,
    ifindex: undefined,
    masterIndex: undefined,
    srcVni: undefined,
    linkNetnsId: undefined,
    protocol: undefined,
    flagsExt: undefined,
    nhid: undefined,
  };
  const unknown = FDB_ATTRS.decodeInto(m.buf, m.payload + NDMSG.size, m.end, v);
  if (v.mac === undefined) throw new NetlinkParseError('FDB message without NDA_LLADDR', m.payload);
  const out: FdbEntry = {
    index: h.ifindex,
    mac: v.mac,
    state: h.state,
    permanent: (h.state & NUD_PERMANENT) !== 0,
    flags: h.flags,
    self: (h.flags & NTF_SELF) !== 0,
    // The bridge reports its entries with NDA_MASTER, not with NTF_MASTER in ndm_flags.
    master: (h.flags & NTF_MASTER) !== 0 || v.masterIndex !== undefined,
  };
  if (v.dst !== undefined) out.dst = v.dst;
  if (v.vni !== undefined) out.vni = v.vni;
  if (v.port !== undefined) out.port = v.port;
  if (v.vlan !== undefined) out.vlan = v.vlan;
  if (v.masterIndex !== undefined) out.masterIndex = v.masterIndex;
  if (v.ifindex !== undefined) out.ifindex = v.ifindex;
  if (v.srcVni !== undefined) out.srcVni = v.srcVni;
  if (v.linkNetnsId !== undefined) out.linkNetnsId = v.linkNetnsId;
  if (v.protocol !== undefined) out.protocol = v.protocol;
  if (v.nhid !== undefined) out.nhid = v.nhid;
  if (unknown !== undefined) out.unknown = unknown;
  return out;
}

function describe(e: FdbSpec): string {
  let s = e.mac;
  if (e.dst !== undefined) s += ` dst ${e.dst}`;
  if (e.vni !== undefined) s += ` vni ${e.vni}`;
  if (e.port !== undefined) s += ` port ${e.port}`;
  if (e.vlan !== undefined) s += ` vlan ${e.vlan}`;
  if (e.nhid !== undefined) s += ` nhid ${e.nhid}`;
  return s + devText(e.dev);
}

/** An entry read back, as the spec that removes exactly it. An entry of the bridge device
 * itself lives in the bridge's own table, which is reached with NTF_SELF on the bridge. */
function specOf(e: FdbEntry): FdbSpec {
  const onBridgeItself = e.masterIndex !== undefined && e.masterIndex === e.index;
  const master = e.master && !onBridgeItself;
  return {
    dev: e.index,
    mac: e.mac,
    dst: e.dst,
    vni: e.vni,
    port: e.port,
    vlan: e.vlan,
    nhid: e.nhid,
    self: e.self || onBridgeItself || !master,
    master,
  };
}

const CREATE_APPEND = NLM_F_CREATE | NLM_F_APPEND;
const CREATE_EXCL = NLM_F_CREATE | NLM_F_EXCL;
const CREATE_REPLACE = NLM_F_CREATE | NLM_F_REPLACE;

/**
 * Forwarding database entries of one namespace.
 *
 * ```ts
 * // flood unknown frames to two VTEPs
 * await nl.fdb.append({ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: '10.57.4.21' });
 * await nl.fdb.append({ dev: 'vxlan0', mac: '00:00:00:00:00:00', dst: '10.57.4.22' });
 * // flannel: the remote VTEP's MAC lives behind its node's IP
 * await nl.fdb.replace({ dev: 'vxlan0', mac: '0a:58:c0:a8:0b:00', dst: '10.57.4.21' });
 * ```
 */
export class Fdb {
  constructor(protected readonly ctx: RtnlContext) {}

  /** Adds one (mac, dst) destination (NLM_F_CREATE|NLM_F_APPEND), as `bridge fdb append`: several
   * all-zero or multicast entries with different dst can coexist. (For a unicast MAC that already
   * has an entry the vxlan driver answers success and changes nothing: use replace().) Throws
   * ValidationError for a bad spec (nothing sent), NetlinkError ENODEV naming a missing device. */
  async append(e: FdbSpec): Promise<void> {
    await this.modify('fdb.append', e, RTM_NEWNEIGH, CREATE_APPEND);
  }

  /** Adds an entry (NLM_F_CREATE|NLM_F_EXCL). Throws as append(), and EEXIST when the MAC has an entry. */
  async add(e: FdbSpec): Promise<void> {
    await this.modify('fdb.add', e, RTM_NEWNEIGH, CREATE_EXCL);
  }

  /** Adds the entry or overwrites the MAC's destination (NLM_F_CREATE|NLM_F_REPLACE). Throws as append(). */
  async replace(e: FdbSpec): Promise<void> {
    await this.modify('fdb.replace', e, RTM_NEWNEIGH, CREATE_REPLACE);
  }

  /** Removes exactly one (mac, dst) entry (NDA_DST is sent), given as a spec or as read back by
   * list(); without dst the MAC with all its destinations. Throws ValidationError, NetlinkError
   * ENODEV for a missing device, ENOENT when the MAC has no entry. (The vxlan driver answers a
   * dst that the MAC does not have with success, changing nothing.) */
  async del(e: FdbSpec | FdbEntry): Promise<void> {
    const spec = typeof e === 'object' && e !== null && isReadBack<FdbEntry>(e) ? specOf(e) : (e as FdbSpec);
    await this.modify('fdb.del', spec, RTM_DELNEIGH, 0);
  }

  /**
   * The FDB entries of the namespace, filtered in the kernel by device and bridge. With master,
   * only entries of that bridge's table are returned (the kernel's dump also carries its ports'
   * own NTF_SELF entries). Throws ValidationError for a bad filter, NetlinkError ENODEV naming a
   * missing device.
   */
  async list(filter: FdbFilter = {}): Promise<FdbEntry[]> {
    const p = new Problems();
    FDB_FILTER_FIELDS.check(p, 'filter', filter, 'a filter');
    p.throwIfAny('fdb.list');
    const devRef = own(filter, 'dev') as FdbFilter['dev'];
    const masterRef = own(filter, 'master') as FdbFilter['master'];
    let what = 'fdb.list';
    if (devRef !== undefined) what += devText(devRef);
    if (masterRef !== undefined) what += ` master ${masterRef}`;
    const dev = devRef === undefined ? 0 : await this.ctx.devices.index(devRef, what);
    const master = masterRef === undefined ? 0 : await this.ctx.devices.index(masterRef, what);
    return this.ctx.socket.dump(
      (w) => encodeFdbDump(w, dev, master),
      (m) => {
        if (m.end - m.payload < 1 || m.buf[m.payload] !== AF_BRIDGE) return undefined;
        const x = parseFdbMessage(m);
        return master && x.masterIndex !== master ? undefined : x;
      },
      { what, transientView: true },
    );
  }

  /**
   * Like list(), but hands visit the numbers of each entry (one reused NeighFacts, see
   * neigh-facts.ts) instead of an FdbEntry: the way to compare a big table against a wanted set
   * cheaply; parseFdbMessage(facts.msg) gives the whole entry of the message being visited.
   * Filtered in the kernel by device and bridge (with master, entries of other tables are
   * still visited: compare NDA_MASTER yourself, or use list()). A dump the kernel restarts
   * (NLM_F_DUMP_INTR) calls onRestart before it starts over. Resolves with the number of
   * entries visited.
   */
  async scan(filter: FdbFilter, visit: (facts: NeighFacts) => void, onRestart?: () => void): Promise<number> {
    const p = new Problems();
    FDB_FILTER_FIELDS.check(p, 'filter', filter, 'a filter');
    p.throwIfAny('fdb.scan');
    const devRef = own(filter, 'dev') as FdbFilter['dev'];
    const masterRef = own(filter, 'master') as FdbFilter['master'];
    let what = 'fdb.scan';
    if (devRef !== undefined) what += devText(devRef);
    if (masterRef !== undefined) what += ` master ${masterRef}`;
    const dev = devRef === undefined ? 0 : await this.ctx.devices.index(devRef, what);
    const master = masterRef === undefined ? 0 : await this.ctx.devices.index(masterRef, what);
    return scanNeighFacts(this.ctx.socket, what, (w) => encodeFdbDump(w, dev, master), dev, (f) => f === AF_BRIDGE, visit, onRestart);
  }

  /**
   * One entry, asked of the kernel by device and MAC (RTM_GETNEIGH without NLM_F_DUMP): undefined
   * when the MAC has none (ENOENT). A vxlan MAC with several destinations (the all-zero MAC's
   * flood list) is answered with its first one only: list() reads them all. Throws
   * ValidationError for a bad key, NetlinkError ENODEV for a missing device.
   */
  async get(key: FdbKey): Promise<FdbEntry | undefined> {
    const [r] = await this.getMany([key]);
    if (r instanceof Error) throw r;
    return r;
  }

  /**
   * get() for many entries: every request is sent before any answer is awaited. Resolves with
   * each key's entry, undefined where there is none, or the NetlinkError the kernel gave for
   * that key (ENODEV, EOPNOTSUPP for a device without a table to ask). Throws ValidationError
   * naming every bad key before anything is sent.
   */
  getMany(keys: readonly FdbKey[]): Promise<Array<FdbEntry | undefined | NetlinkError>> {
    return getEach(
      this.ctx,
      'fdb.getMany',
      keys,
      (p, path, k) => FDB_GET_FIELDS.check(p, path, k, 'an FDB key'),
      encodeFdbGet,
      parseFdbMessage,
      (k) => `fdb.get ${k.mac}`,
    );
  }

  /** append() for many entries in one pipelined batch. Throws ValidationError naming every bad
   * spec before anything is sent; otherwise resolves with each entry's outcome (an entry whose
   * device does not exist carries ENODEV; the others still go ahead). */
  appendMany(specs: readonly FdbSpec[], opts: ManyOptions = {}): Promise<BatchResult> {
    return runMany(this.ctx, 'fdb.appendMany', specs, validateFdbSpec, (w, e, i) => encodeFdb(w, RTM_NEWNEIGH, CREATE_APPEND, e, i), describe, opts);
  }

  /** replace() for many entries in one pipelined batch; the contract of appendMany(). */
  replaceMany(specs: readonly FdbSpec[], opts: ManyOptions = {}): Promise<BatchResult> {
    return runMany(this.ctx, 'fdb.replaceMany', specs, validateFdbSpec, (w, e, i) => encodeFdb(w, RTM_NEWNEIGH, CREATE_REPLACE, e, i), describe, opts);
  }

  /** del() for many entries (specs or entries read back) in one pipelined batch; the contract of appendMany(). */
  delMany(specs: readonly (FdbSpec | FdbEntry)[]): Promise<BatchResult> {
    const all = Array.isArray(specs) ? specs.map((e) => (typeof e === 'object' && e !== null && isReadBack<FdbEntry>(e) ? specOf(e) : (e as FdbSpec))) : (specs as FdbSpec[]);
    return runMany(this.ctx, 'fdb.delMany', all, validateFdbSpec, (w, e, i) => encodeFdb(w, RTM_DELNEIGH, 0, e, i), describe);
  }

  /**
   * An entry with nhid: the device must be a vxlan device and the nexthop an FDB nexthop group
   * (what the vxlan driver accepts). Looked up before anything is written (reads only): a
   * ValidationError naming the field otherwise.
   */
  private async checkNhid(e: FdbSpec, index: number, what: string): Promise<void> {
    const p = new Problems();
    const link = await new Links(this.ctx).get(index);
    if (link.kind !== 'vxlan') p.add('nhid', `${describeValue(e.dev)} is ${link.kind === null ? 'a device without kind' : `a ${link.kind} device`}: only vxlan devices take FDB entries with nhid`);
    const ref = (await lookUpNexthops(this.ctx, [e.nhid!], what)).get(e.nhid!);
    if (ref === undefined) p.add('nhid', `no nexthop with id ${e.nhid}`);
    else if (!ref.fdb || !ref.group) p.add('nhid', `nexthop ${e.nhid} is not an FDB nexthop group (add one with { id, group, fdb: true })`);
    p.throwIfAny(what);
  }

  private async modify(op: string, e: FdbSpec, type: number, flags: number): Promise<void> {
    const p = new Problems();
    validateFdbSpec(p, '', e);
    p.throwIfAny(op);
    const what = `${op} ${describe(e)}`;
    const index = await this.ctx.devices.index(e.dev, what);
    if (own(e, 'nhid') !== undefined && type === RTM_NEWNEIGH) await this.checkNhid(e, index, what);
    await this.ctx.socket.request((w) => encodeFdb(w, type, flags, e, index), { what });
  }
}
