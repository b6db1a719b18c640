/**
 * Nexthop objects (RTM_NEWNEXTHOP / RTM_DELNEXTHOP / RTM_GETNEXTHOP, Linux 5.3+): add,
 * replace, delete, get and list single nexthops and groups, one at a time or pipelined, and
 * read the buckets of resilient groups (RTM_GETNEXTHOPBUCKET). A route names one with
 * RouteSpec.nhid, a vxlan FDB entry with FdbSpec.nhid: moving every route of a peer to a new
 * gateway is then one replace of its nexthop.
 */
import { constants as osConstants } from 'node:os';
import { NLM_F_CREATE, NLM_F_DUMP_FILTERED, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST } from '../../wire/constants';
import { NetlinkError } from '../../wire/errors';
import type { BatchResult } from '../../wire/socket';
import { familyOf } from '../../values/address';
import { Problems, ValidationError, describeValue, own } from '../../values/problems';
import { AF_INET, AF_INET6, AF_UNSPEC, RTM_DELNEXTHOP, RTM_GETNEXTHOP, RTM_NEWNEXTHOP, RTM_NEWNEXTHOPBUCKET } from '../constants';
import type { RtnlContext } from '../context';
import { resolveForBatch } from '../ndmsg';
import { PROTOCOLS, lookup } from '../names';
import type { DeviceRef } from '../types';
import { encodeNexthop, encodeNexthopBucketDump, encodeNexthopDump, encodeNexthopId, parseNexthopBucketMessage, parseNexthopMessage } from './codec';
import { NH_FILTER_FIELDS, NH_ID_MAX } from './table';
import type { NexthopBucket, NexthopObject, NexthopObjectFilter, NexthopObjectSpec } from './types';
import { checkNexthopRefs, idsToLookUp, isGroupSpec, refOf, validateNexthopSpec, type NexthopRef } from './validate';
export type { NexthopDumpRequest } from './codec';
export type { NexthopRef } from './validate';

export * from './types';

const { ENOENT, ENODEV } = osConstants.errno;

/** "nexthop 10 group 1,2/5" for messages. */
export function describeNexthop(s: unknown): string {
  if (typeof s !== 'object' || s === null) return describeValue(s);
  const o = s as Partial<NexthopObjectSpec> & Record<string, unknown>;
  let t = `nexthop ${describeValue(o.id)}`;
  if (Array.isArray(o.group)) t += ` group ${o.group.map((m: { id?: unknown; weight?: unknown }) => `${String(m?.id)}${m?.weight !== undefined ? `/${String(m.weight)}` : ''}`).join(',')}`;
  if (o.via !== undefined) t += ` via ${String(o.via)}`;
  if (o.dev !== undefined) t += ` dev ${String(o.dev)}`;
  if (o.blackhole === true) t += ' blackhole';
  if (o.fdb === true) t += ' fdb';
  return t;
}

/** Options of Nexthops.addMany. */
export interface NexthopAddManyOptions {
  /** Replace nexthops with the same id (NLM_F_REPLACE) instead of failing with EEXIST. */
  replace?: boolean;
}

/**
 * Looks up nexthop ids in the kernel (RTM_GETNEXTHOP, one request per distinct id): the facts
 * of each, undefined for an id the kernel does not have. Reads only; used to check references
 * before anything is written.
 */
export async function lookUpNexthops(ctx: RtnlContext, ids: Iterable<number>, what: string): Promise<Map<number, NexthopRef | undefined>> {
  const out = new Map<number, NexthopRef | undefined>();
  for (const id of ids) {
    if (out.has(id)) continue;
    try {
      const replies = await ctx.socket.request((w) => encodeNexthopId(w, RTM_GETNEXTHOP, NLM_F_REQUEST, id), { what: `${what}: looking up nexthop ${id}` });
      const m = replies.find((r) => r.type === RTM_NEWNEXTHOP);
      out.set(id, m ? refOf(parseNexthopMessage(m)) : undefined);
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ENOENT) out.set(id, undefined);
      else throw e;
    }
  }
  return out;
}

/**
 * The nexthop objects of one namespace (an Rtnl handle's socket).
 *
 * Every method validates first and rejects with ValidationError (nothing sent) for bad input,
 * including a group whose member does not exist, is a group itself, or disagrees with it on
 * fdb (looked up in the kernel, reads only). The kernel's refusals reject with NetlinkError
 * (EEXIST, ENOENT, EINVAL with the kernel's text).
 *
 * @example
 * ```ts
 * await nl.nexthops.add({ id: 1, via: '10.57.0.2', dev: 'veth0', onlink: true });
 * await nl.nexthops.add({ id: 10, group: [{ id: 1 }] });
 * await nl.routes.add({ dst: '10.244.7.0/24', nhid: 10 });
 * await nl.nexthops.replace({ id: 1, via: '10.57.0.3', dev: 'veth0', onlink: true }); // every route follows
 * ```
 */
export class Nexthops {
  constructor(protected readonly ctx: RtnlContext) {}

  /** Adds a nexthop object (NLM_F_CREATE|NLM_F_EXCL): EEXIST when the id is taken. */
  async add(s: NexthopObjectSpec): Promise<void> {
    await this.one('nexthops.add', NLM_F_CREATE | NLM_F_EXCL, s);
  }

  /** Adds the nexthop or replaces the one with the same id (NLM_F_CREATE|NLM_F_REPLACE), as
   * `ip nexthop replace`: routes using it follow at once. A group cannot become a single
   * nexthop or the other way round (the kernel refuses: delete and add). */
  async replace(s: NexthopObjectSpec): Promise<void> {
    await this.one('nexthops.replace', NLM_F_CREATE | NLM_F_REPLACE, s);
  }

  /** Deletes the nexthop with this id (or of this object): ENOENT when there is none. Routes
   * using it go with it (the kernel removes them); a group loses it as a member. */
  async del(x: number | { id: number }): Promise<void> {
    const id = this.checkId(x, 'nexthops.del');
    await this.ctx.socket.request((w) => encodeNexthopId(w, RTM_DELNEXTHOP, 0, id), { what: `nexthops.del ${id}` });
  }

  /** The nexthop with this id. Rejects with NetlinkError ENOENT when there is none. */
  async get(x: number | { id: number }): Promise<NexthopObject> {
    const id = this.checkId(x, 'nexthops.get');
    const what = `nexthops.get ${id}`;
    const replies = await this.ctx.socket.request((w) => encodeNexthopId(w, RTM_GETNEXTHOP, NLM_F_REQUEST, id), { what });
    const m = replies.find((r) => r.type === RTM_NEWNEXTHOP);
    if (!m) throw new NetlinkError(ENOENT, {}, what, 'the kernel answered without a nexthop');
    return parseNexthopMessage(m);
  }

  /**
   * The nexthops matching the filter (default: all). family, dev, master, groups and fdb are
   * filtered by the kernel; protocol here (the kernel refuses nh_protocol in a dump request).
   * Rejects with ValidationError for a bad filter, NetlinkError ENODEV for an unknown device.
   */
  async list(filter: NexthopObjectFilter = {}): Promise<NexthopObject[]> {
    const p = new Problems();
    NH_FILTER_FIELDS.check(p, 'filter', filter, 'a filter');
    p.throwIfAny('nexthops.list');
    const f = filter as Record<string, unknown>;
    const fam = familyOf(own(f, 'family'));
    const devRef = own(f, 'dev') as DeviceRef | undefined;
    const masterRef = own(f, 'master') as DeviceRef | undefined;
    const protoRef = own(f, 'protocol') as NexthopObjectFilter['protocol'];
    const protocol = protoRef === undefined ? -1 : lookup(PROTOCOLS, protoRef)!;
    const what = 'nexthops.list';
    const dev = devRef === undefined ? 0 : await this.ctx.devices.index(devRef, what);
    const master = masterRef === undefined ? 0 : await this.ctx.devices.index(masterRef, what);
    const req = { family: fam === 6 ? AF_INET6 : fam === 4 ? AF_INET : AF_UNSPEC, dev, master, groups: own(f, 'groups') === true, fdb: own(f, 'fdb') === true };
    return this.ctx.socket.dump(
      (w) => encodeNexthopDump(w, req),
      (m) => {
        if (m.type !== RTM_NEWNEXTHOP) return undefined;
        const n = parseNexthopMessage(m);
        if (protocol >= 0 && n.protocol !== protocol) return undefined;
        // A socket without strict checking ignores the filter attributes: apply them here then.
        if ((m.flags & NLM_F_DUMP_FILTERED) === 0 && !matches(n, req)) return undefined;
        return n;
      },
      { what },
    );
  }

  /** The buckets of resilient group `id` (RTM_GETNEXTHOPBUCKET), in bucket order. Rejects with
   * NetlinkError (ENOENT for no such nexthop, EINVAL for one that is not a resilient group). */
  async buckets(x: number | { id: number }): Promise<NexthopBucket[]> {
    const id = this.checkId(x, 'nexthops.buckets');
    const out = await this.ctx.socket.dump(
      (w) => encodeNexthopBucketDump(w, id),
      (m) => (m.type === RTM_NEWNEXTHOPBUCKET ? parseNexthopBucketMessage(m) : undefined),
      { what: `nexthops.buckets ${id}` },
    );
    return out.sort((a, b) => a.index - b.index);
  }

  /**
   * Adds many nexthops in one pipelined batch, in order (so groups after their members work in
   * one call). Every spec and every group reference is checked first: one ValidationError
   * names every problem and nothing is sent. Then each succeeds or fails on its own:
   * result.errors[i] is the error of specs[i].
   */
  addMany(specs: readonly NexthopObjectSpec[], opts: NexthopAddManyOptions = {}): Promise<BatchResult> {
    const replace = isObjectWith(opts, 'replace');
    return this.many(replace ? 'nexthops.replaceMany' : 'nexthops.addMany', NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), specs);
  }

  /** replace() for many nexthops in one pipelined batch; the contract of addMany(). */
  replaceMany(specs: readonly NexthopObjectSpec[]): Promise<BatchResult> {
    return this.many('nexthops.replaceMany', NLM_F_CREATE | NLM_F_REPLACE, specs);
  }

  /** Deletes many nexthops (ids or objects) in one pipelined batch: every id is checked first
   * (ValidationError, nothing sent); result.errors[i] is the error of items[i] (ENOENT, ...). */
  async delMany(items: ReadonlyArray<number | { id: number }>): Promise<BatchResult> {
    const what = 'nexthops.delMany';
    if (!Array.isArray(items)) throw new ValidationError([{ path: '', message: `expected an array of ids, got ${describeValue(items)}` }], what);
    const p = new Problems();
    const ids = items.map((x, i) => this.idOf(p, `[${i}]`, x));
    p.throwIfAny(what);
    return this.ctx.socket.batch(ids.length, (i, w) => encodeNexthopId(w, RTM_DELNEXTHOP, 0, ids[i]), { what: 'nexthops.del', describe: (i) => `nexthop ${ids[i]}` });
  }

  private async one(what: string, flags: number, s: NexthopObjectSpec): Promise<void> {
    const p = new Problems();
    validateNexthopSpec(p, '', s);
    p.throwIfAny(what);
    const label = `${what} ${describeNexthop(s)}`;
    await this.checkRefs([s], [''], label);
    const dev = !isGroupSpec(s) && s.dev !== undefined ? await this.ctx.devices.index(s.dev, label) : 0;
    await this.ctx.socket.request((w) => encodeNexthop(w, RTM_NEWNEXTHOP, flags, s, dev), { what: label });
  }

  private async many(what: string, flags: number, specs: readonly NexthopObjectSpec[]): Promise<BatchResult> {
    const p = new Problems();
    if (!Array.isArray(specs)) p.add('', `expected an array of nexthop specs, got ${describeValue(specs)}`);
    else specs.forEach((s, i) => validateNexthopSpec(p, `[${i}]`, s));
    p.throwIfAny(what);
    await this.checkRefs(
      specs,
      specs.map((_, i) => `[${i}]`),
      what,
    );
    const refs: DeviceRef[] = [];
    for (const s of specs) if (!isGroupSpec(s) && s.dev !== undefined) refs.push(s.dev);
    const devs = await resolveForBatch(this.ctx, refs, what);
    return this.ctx.socket.batch(
      specs.length,
      (i, w) => {
        const s = specs[i];
        let dev = 0;
        if (!isGroupSpec(s) && s.dev !== undefined) {
          const d = devs.get(s.dev)!;
          if (d instanceof Error) throw new NetlinkError(ENODEV, {}, `${what}: ${describeNexthop(s)}`, `no device ${describeValue(s.dev)}`);
          dev = d;
        }
        encodeNexthop(w, RTM_NEWNEXTHOP, flags, s, dev);
      },
      { what, describe: (i) => describeNexthop(specs[i]) },
    );
  }

  /** Group references checked against the kernel (reads only); ValidationError when one is wrong. */
  private async checkRefs(specs: readonly NexthopObjectSpec[], paths: readonly string[], what: string): Promise<void> {
    const ids = idsToLookUp(specs);
    if (ids.length === 0) return;
    const known = await lookUpNexthops(this.ctx, ids, what);
    const p = new Problems();
    checkNexthopRefs(p, specs, paths, known);
    p.throwIfAny(what);
  }

  private idOf(p: Problems, path: string, x: unknown): number {
    const id = typeof x === 'object' && x !== null ? own(x, 'id') : x;
    const at = typeof x === 'object' && x !== null ? (path ? `${path}.id` : 'id') : path || 'id';
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > NH_ID_MAX) p.add(at, `${describeValue(id)} is not a nexthop id (1..4294967295)`);
    return id as number;
  }

  private checkId(x: unknown, what: string): number {
    const p = new Problems();
    const id = this.idOf(p, '', x);
    p.throwIfAny(what);
    return id;
  }
}

function isObjectWith(o: unknown, key: string): boolean {
  return typeof o === 'object' && o !== null && own(o, key) === true;
}

/** Whether a nexthop satisfies the kernel-side part of a dump request (for unfiltered replies). */
function matches(n: NexthopObject, q: { family: number; dev: number; master: number; groups: boolean; fdb: boolean }): boolean {
  if (q.groups && n.kind !== 'group') return false;
  if (q.fdb && !n.fdb) return false;
  if (q.family || q.dev || q.master) {
    if (n.kind === 'group') return false;
    if (q.family && (n.family === 4 ? AF_INET : AF_INET6) !== q.family) return false;
    if (q.dev && n.dev !== q.dev) return false;
  }
  return true;
}
