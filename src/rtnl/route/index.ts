/**
 * Routes: add, replace, append, delete, look up and list IPv4/IPv6 routes, one at a time or
 * pipelined in batches of any size (the fast path the reconciler uses).
 */
import { constants as osConstants } from 'node:os';
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP_FILTERED, NLM_F_EXCL, NLM_F_REPLACE } from '../../wire/constants';
import { NetlinkError } from '../../wire/errors';
import { familyOf, readAddress } from '../../values/address';
import { prefixContains } from '../../values/prefix';
import type { MessageView } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import type { BatchResult } from '../../wire/socket';
import { AF_INET, AF_INET6, AF_UNSPEC, RTMSG_LEN, RTM_DELROUTE, RTM_F_CLONED, RTM_NEWROUTE, RT_TABLE_MAIN } from '../constants';
import type { RtnlContext } from '../context';
import { lookup, PROTOCOLS, ROUTE_TYPES, SCOPES, TABLES } from '../names';
import type { DeviceRef, IpFamily, ProtocolName, Route, RouteFilter, RouteLookup, RouteSpec } from '../types';
import { Problems, ValidationError, describeValue, own } from '../../values/problems';
import { RouteFacts } from './facts';
import { RouteDecoder } from './decode';
import { RouteSpecReader } from './fields';
import { ParsedDsts, RouteEncoder, encodeRouteDump, encodeRouteGet, isRoute, routeTypeOf, type DevIndex, type RouteDumpRequest } from './codec';
import { RouteValidator } from './validate';
import { RouteText } from './text';
import { lookUpNexthops } from '../nexthop';
export type { DevIndex, RouteDumpRequest } from './codec';
export type { SpecFields } from './fields';


const { ENODEV, ENOENT, ENETUNREACH, ESRCH } = osConstants.errno;

/** A short human description of a route for error messages: "10.1.0.0/16 via 10.0.0.1 dev eth0 table 1000". */
export function describeRoute(r: unknown): string {
  if (typeof r !== 'object' || r === null) return String(r);
  const o = r as Partial<RouteSpec>;
  let s = typeof o.dst === 'string' ? o.dst : '(no dst)';
  if (typeof o.type === 'string' && o.type !== 'unicast') s = `${o.type} ${s}`;
  if (o.via !== undefined) s += ` via ${String(o.via)}`;
  if (o.dev !== undefined) s += ` dev ${String(o.dev)}`;
  if (Array.isArray(o.nexthops)) s += ` (${o.nexthops.length} nexthops)`;
  if (o.table !== undefined && o.table !== 'main' && o.table !== RT_TABLE_MAIN) s += ` table ${String(o.table)}`;
  if (o.metric) s += ` metric ${String(o.metric)}`;
  if (o.nhid !== undefined) s += ` nhid ${String(o.nhid)}`;
  return s;
}

/** Options of Routes.addMany. */
export interface AddManyOptions {
  /** Replace routes on the same key (NLM_F_REPLACE) instead of failing with EEXIST. */
  replace?: boolean;
  /** Every spec already passed validation (skips it; a bad spec still fails alone). */
  validated?: boolean;
  /** With validated: the destinations that validation parsed (checkRouteSpecAt's `parsed`),
   * so they are not parsed again. */
  parsed?: ParsedDsts;
  /** The protocol of specs that name none (default: boot, as `ip route add`). */
  protocol?: number | ProtocolName;
}

/** Options of Routes.delMany. */
export interface DelManyOptions {
  /** Every item already passed validation, or is a Route this library decoded (skips the
   * check; an item that cannot be encoded still fails alone). */
  validated?: boolean;
}

/**
 * The routes of one namespace (an Rtnl handle's socket).
 *
 * Every method validates its input first and rejects with ValidationError (nothing sent) when
 * it is wrong; the kernel's refusals reject with NetlinkError carrying the errno code
 * (EEXIST, ESRCH, ENODEV, ENETUNREACH, ...) and the kernel's own text, and a message that
 * names the route.
 */
export class Routes {
  // This handle's own validator, encoder and decoder: what one call carries between its steps
  // stays in objects of this handle (no module state shared between handles).
  private readonly validator = new RouteValidator();
  private readonly encoder = new RouteEncoder();
  private readonly fields = new RouteSpecReader();
  private readonly text = new RouteText();
  private readonly facts = new RouteFacts(this.text);
  /** list() and get()'s decoder (decode.ts), on the same string caches. */
  private readonly decoder = new RouteDecoder(this.text);

  constructor(protected readonly ctx: RtnlContext) {}

  /** Adds a route (RTM_NEWROUTE, NLM_F_CREATE|NLM_F_EXCL): EEXIST when it is there already. */
  add(r: RouteSpec): Promise<void> {
    return this.modify(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, r, 'routes.add', false);
  }

  /** Adds the route or replaces the one with the same destination, table, tos and metric
   * (NLM_F_CREATE|NLM_F_REPLACE), as `ip route replace`. */
  replace(r: RouteSpec): Promise<void> {
    return this.modify(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, r, 'routes.replace', false);
  }

  /** Adds a route next to existing ones for the same destination (NLM_F_CREATE|NLM_F_APPEND).
   * For IPv6 that adds a path to an ECMP (multipath) route, as `ip -6 route append`. */
  append(r: RouteSpec): Promise<void> {
    return this.modify(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_APPEND, r, 'routes.append', false);
  }

  /**
   * Deletes a route: ESRCH when none matches. A spec matches on what it names (unset protocol,
   * type, scope, metric, gateway and device match any); a Route from list() is deleted with all
   * its own values, so exactly that route goes.
   */
  del(r: RouteSpec | Route): Promise<void> {
    return this.modify(RTM_DELROUTE, 0, r, 'routes.del', true);
  }

  private async modify(type: number, flags: number, r: RouteSpec | Route, verb: string, readBackOk: boolean): Promise<void> {
    const p = new Problems();
    if (readBackOk && typeof r === 'object' && r !== null && isRoute(r)) this.validator.route(p, 'route', -1, r);
    else this.validator.spec(p, 'route', -1, r, readBackOk);
    const what = `${verb} ${describeRoute(r)}`;
    p.throwIfAny(what);
    if (!readBackOk) await this.checkNhids([r], 'route', what);
    const devIndex = await this.deviceIndexes([r], what, undefined);
    try {
      await this.ctx.socket.request((w) => this.encoder.encode(w, type, flags, r, devIndex), { what });
    } catch (e) {
      throw type === RTM_DELROUTE ? noSuchRoute(e) : e;
    }
  }

  /**
   * Adds many routes, pipelined (NLM_F_CREATE|NLM_F_EXCL, or NLM_F_REPLACE with replace).
   * Every spec is validated first: one ValidationError lists every problem and nothing is sent.
   * Then each route succeeds or fails on its own: result.errors[i] is the NetlinkError of
   * specs[i] (EEXIST, ENODEV for a device that does not exist, ...), undefined when it was added.
   * opts.protocol is the protocol of the specs that name none (instead of boot): a program that
   * marks its routes need not copy 100k specs to add one field.
   */
  async addMany(specs: RouteSpec[], opts: AddManyOptions = {}): Promise<BatchResult> {
    const verb = opts.replace ? 'routes.replace' : 'routes.add';
    let protocol: number | undefined;
    if (opts.protocol !== undefined) {
      protocol = lookup(PROTOCOLS, opts.protocol);
      if (protocol === undefined || !Number.isInteger(protocol) || protocol < 0 || protocol > 255) {
        throw new ValidationError([{ path: 'protocol', message: `must be 0..255 or a protocol name, got ${describeValue(opts.protocol)}` }], `${verb}Many`);
      }
    }
    // validated: every spec already passed validateRouteSpec (the reconciler's do). A spec that
    // did not still cannot reach the kernel half-encoded: the encoder throws and that one
    // request fails on its own.
    const parsed = opts.validated ? opts.parsed : this.checkMany(specs, `${verb}Many`, false);
    if (!opts.validated) await this.checkNhids(specs, 'routes', `${verb}Many`);
    return this.batch(RTM_NEWROUTE, NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : NLM_F_EXCL), specs, verb, protocol, parsed);
  }

  /** Deletes many routes (specs or Routes from list()), pipelined; validation and results as addMany. */
  async delMany(routes: Array<RouteSpec | Route>, opts: DelManyOptions = {}): Promise<BatchResult> {
    // validated: the reconciler deletes the Routes its own read decoded; checking 100k of them
    // again cost a tenth of deleting them.
    const parsed = opts.validated ? undefined : this.checkMany(routes, 'routes.delMany', true);
    return this.batch(RTM_DELROUTE, 0, routes, 'routes.del', undefined, parsed);
  }

  /**
   * The nexthop objects routes name (nhid) must exist and must not be FDB nexthops (those are
   * for vxlan FDB entries only; the kernel refuses a route on one): looked up once per distinct
   * id (reads only), a ValidationError naming each route's nhid otherwise, nothing written.
   */
  private async checkNhids(items: ReadonlyArray<RouteSpec | Route>, base: string, what: string): Promise<void> {
    let ids: Set<number> | undefined;
    for (const r of items) {
      const id = own(r, 'nhid');
      if (typeof id === 'number') (ids ??= new Set()).add(id);
    }
    if (ids === undefined) return;
    const known = await lookUpNexthops(this.ctx, ids, what);
    const p = new Problems();
    items.forEach((r, i) => {
      const id = own(r, 'nhid');
      if (typeof id !== 'number') return;
      const path = base === 'route' ? 'route.nhid' : `${base}[${i}].nhid`;
      const ref = known.get(id);
      if (ref === undefined) p.add(path, `no nexthop with id ${id}`);
      else if (ref.fdb) p.add(path, `nexthop ${id} is an FDB nexthop: only FDB entries on vxlan devices may use it, not routes`);
    });
    p.throwIfAny(what);
  }

  /** Validates every item (one ValidationError for all); returns the destinations it parsed. */
  private checkMany(items: unknown, what: string, readBackOk: boolean): ParsedDsts {
    if (!Array.isArray(items)) throw new ValidationError([{ path: 'routes', message: `expected an array of routes, got ${describeValue(items)}` }], what);
    const p = new Problems();
    const parsed = new ParsedDsts(items.length);
    for (let i = 0; i < items.length; i++) {
      const r = items[i];
      if (readBackOk && typeof r === 'object' && r !== null && isRoute(r)) this.validator.route(p, 'routes', i, r);
      else this.validator.spec(p, 'routes', i, r, readBackOk, parsed);
    }
    p.throwIfAny(`${what}: ${p.list.length} problem(s) in ${items.length} routes, nothing was sent`);
    return parsed;
  }

  private async batch(type: number, flags: number, items: Array<RouteSpec | Route>, verb: string, protocol?: number, parsed?: ParsedDsts): Promise<BatchResult> {
    let current = 0;
    const describe = (i: number) => describeRoute(items[i]);
    // A device that does not exist fails only the routes that use it.
    const devIndex = await this.deviceIndexes(items, verb, (ref, e) => new NetlinkError(e.errno, { message: e.kernelMessage }, `${verb}: ${describe(current)}`, `no device "${ref}"`));
    const result = await this.ctx.socket.batch(
      items.length,
      (i, w) => {
        current = i;
        this.encoder.encode(w, type, flags, items[i], devIndex, protocol, parsed, i);
      },
      { what: verb, describe },
    );
    if (type === RTM_DELROUTE && result.failed) {
      const errors = result.errors;
      for (let i = 0; i < errors.length; i++) if (errors[i] !== undefined) errors[i] = noSuchRoute(errors[i]);
    }
    return result;
  }

  /**
   * Resolves each distinct device name once. Without onMissing an unknown device rejects with
   * the resolver's ENODEV (naming it); with it, the returned function throws onMissing's error
   * for the routes that use that device.
   */
  private async deviceIndexes(
    items: ReadonlyArray<RouteSpec | Route>,
    what: string,
    onMissing: ((ref: string, e: NetlinkError) => Error) | undefined,
  ): Promise<DevIndex> {
    const names = new Set<string>();
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      // A Route names its devices by index (validated, or decoded here): nothing to resolve.
      if (isRoute(item)) continue;
      const r = this.fields.read(item, false); // fast for spread-made specs too (fields.ts)
      if (typeof r.dev === 'string') names.add(r.dev);
      const nexthops = r.nexthops as Array<{ dev?: DeviceRef }> | undefined;
      if (nexthops !== undefined) for (const nh of nexthops) if (typeof nh.dev === 'string') names.add(nh.dev);
    }
    const found = new Map<string, number>();
    const missing = new Map<string, NetlinkError>();
    for (const name of names) {
      try {
        found.set(name, await this.ctx.devices.index(name, what));
      } catch (e) {
        if (onMissing && e instanceof NetlinkError && e.errno === ENODEV) missing.set(name, e);
        else throw e;
      }
    }
    return (ref: DeviceRef): number => {
      if (typeof ref === 'number') return ref;
      const index = found.get(ref);
      if (index !== undefined) return index;
      const e = missing.get(ref);
      throw e && onMissing ? onMissing(ref, e) : new Error(`device "${ref}" was not resolved`);
    };
  }

  /**
   * Routes matching the filter. Default: the main table of both families, as `ip route` (and
   * `ip -6 route`) show; `table: 'all'` for every table. Table, protocol, type and device are
   * filtered by the kernel (strict-checked dump); whatever a reply does not say was filtered
   * (NLM_F_DUMP_FILTERED, e.g. on a socket without strict checking) is filtered here, and so is
   * scope. Cached clones (RTM_F_CLONED) are skipped. A table that does not exist is empty.
   * Rejects with ValidationError for a bad filter, NetlinkError ENODEV for an unknown dev.
   */
  async list(filter: RouteFilter = {}): Promise<Route[]> {
    return this.dump(filter, 'routes.list', (r) => r, undefined);
  }

  /**
   * Like list(), but hands each route to visit as the dump arrives and keeps none: the way to
   * look through a huge table (diff it against a desired set, count it) without holding every
   * Route in memory at once. If the kernel interrupts the dump because the table changed
   * (NLM_F_DUMP_INTR), the dump starts over: onRestart is called first, and visit sees every
   * route again. Resolves with the number of routes visited in the dump that completed.
   */
  async forEach(filter: RouteFilter, visit: (r: Route) => void, onRestart?: () => void): Promise<number> {
    let n = 0;
    await this.dump(
      filter,
      'routes.forEach',
      (r) => {
        n++;
        visit(r);
        return undefined;
      },
      () => {
        n = 0;
        onRestart?.();
      },
    );
    return n;
  }

  /**
   * Like forEach(), but hands visit the numbers of each route instead of a Route: one reused
   * RouteFacts, read without making strings or objects (see facts.ts). The way to compare a
   * huge table against a wanted set cheaply: call facts.route() for the routes that need a
   * closer look. Filtering, cloned-route skipping and dump restarts are as in forEach().
   */
  async scan(filter: RouteFilter, visit: (facts: RouteFacts) => void, onRestart?: () => void): Promise<number> {
    const facts = new RouteFacts(this.text);
    let n = 0;
    await this.dumpMessages<never>(
      filter,
      'routes.scan',
      (m, req, scope) => {
        facts.read(m);
        if ((m.flags & NLM_F_DUMP_FILTERED) === 0 && !matchesDumpRequest(facts.route(), req)) return undefined;
        if (scope >= 0 && facts.scope !== scope) return undefined;
        n++;
        visit(facts);
        return undefined;
      },
      () => {
        n = 0;
        onRestart?.();
      },
    );
    return n;
  }

  private dump<T>(filter: RouteFilter, verb: string, take: (r: Route) => T | undefined, onRestart: (() => void) | undefined): Promise<T[]> {
    return this.dumpMessages(
      filter,
      verb,
      (m, req, scope) => {
        const r = this.decoder.decode(m);
        if ((m.flags & NLM_F_DUMP_FILTERED) === 0 && !matchesDumpRequest(r, req)) return undefined;
        if (scope >= 0 && r.scope !== scope) return undefined;
        return take(r);
      },
      onRestart,
    );
  }

  /** A route dump: the filter checked and sent, each IPv4/IPv6 RTM_NEWROUTE that is not a
   * cached clone handed to take with the request and the scope to filter on (-1: any). */
  private async dumpMessages<T>(
    filter: RouteFilter,
    verb: string,
    take: (m: MessageView, req: RouteDumpRequest, scope: number) => T | undefined,
    onRestart: (() => void) | undefined,
  ): Promise<T[]> {
    const p = new Problems();
    this.validator.filter(p, filter);
    p.throwIfAny(verb);
    // Only own fields (validated above); the family as users write it.
    const given = filter as Record<string, unknown>;
    const f = {
      family: familyOf(own(given, 'family')),
      table: own(given, 'table') as RouteFilter['table'],
      protocol: own(given, 'protocol') as RouteFilter['protocol'],
      type: own(given, 'type') as RouteFilter['type'],
      scope: own(given, 'scope') as RouteFilter['scope'],
      dev: own(given, 'dev') as RouteFilter['dev'],
    };
    const t = f.table;
    const req: RouteDumpRequest = {
      family: f.family === 4 ? AF_INET : f.family === 6 ? AF_INET6 : AF_UNSPEC,
      table: t === undefined ? RT_TABLE_MAIN : t === 'all' ? 0 : typeof t === 'number' ? t : TABLES[t],
      protocol: f.protocol === undefined ? 0 : lookup(PROTOCOLS, f.protocol)!,
      type: f.type === undefined ? 0 : ROUTE_TYPES[f.type],
      dev: 0,
    };
    const scope = f.scope === undefined ? -1 : lookup(SCOPES, f.scope)!;
    const what = `${verb} ${describeFilter({ ...f, family: f.family })}`;
    if (f.dev !== undefined) req.dev = await this.ctx.devices.index(f.dev, what);
    const parse = (m: MessageView): T | undefined => {
      if (m.type !== RTM_NEWROUTE) return undefined;
      const b = m.buf;
      const at = m.payload;
      if (m.end - at < RTMSG_LEN) this.facts.read(m); // throws NetlinkParseError
      // An AF_UNSPEC dump also brings multicast routing tables (RTNL_FAMILY_IPMR, ...).
      if (b[at] !== AF_INET && b[at] !== AF_INET6) return undefined;
      if (b.readUInt32LE(at + 8) & RTM_F_CLONED) return undefined;
      return take(m, req, scope);
    };
    let attempts = 0;
    const encode = (w: MessageWriter) => {
      // The socket encodes the request again for each attempt of an interrupted dump.
      if (attempts++ > 0) onRestart?.();
      encodeRouteDump(w, req);
    };
    try {
      return await this.ctx.socket.dump(encode, parse, { what, transientView: true });
    } catch (e) {
      // Asked for one family, the kernel answers ENOENT "FIB table does not exist".
      if (req.table && e instanceof NetlinkError && e.errno === ENOENT) return [];
      throw e;
    }
  }

  /**
   * Looks a destination address up as the kernel would route a packet to it (RTM_GETROUTE) and
   * returns the route that matched (RTM_F_FIB_MATCH; fibMatch: false returns the resolved host
   * route instead, as `ip route get`). dev and src narrow the lookup (RTA_OIF, RTA_SRC).
   * With table, the longest prefix (then lowest metric) among that table's tos-0 routes is
   * returned instead: the kernel's lookup takes no table (it refuses RTA_TABLE under strict
   * checking, and policy rules choose the tables). Rejects with NetlinkError ENETUNREACH when no
   * route matches.
   */
  async get(dst: string, opts: RouteLookup = {}): Promise<Route> {
    const p = new Problems();
    const family = this.validator.lookup(p, dst, opts);
    const what = `routes.get ${String(dst)}`;
    p.throwIfAny(what);
    if (family === 0) throw new ValidationError([{ path: 'dst', message: 'not an address' }], what); // unreachable: reported above
    // Only the options' own fields (validated above).
    const o = opts as Record<string, unknown>;
    opts = { table: own(o, 'table') as RouteLookup['table'], dev: own(o, 'dev') as RouteLookup['dev'], src: own(o, 'src') as string | undefined, fibMatch: own(o, 'fibMatch') as boolean | undefined };
    if (opts.table !== undefined) return this.lookupInTable(dst, family, opts, what);
    const oif = opts.dev === undefined ? 0 : await this.ctx.devices.index(opts.dev, what);
    const replies = await this.ctx.socket.request((w) => encodeRouteGet(w, family, dst, opts.src, oif, opts.fibMatch ?? true), { what });
    for (const m of replies) if (m.type === RTM_NEWROUTE) return this.decoder.decode(m);
    throw new NetlinkError(ENETUNREACH, {}, what, 'the kernel answered without a route');
  }

  /**
   * get() for many addresses, each looked up as the kernel routes a packet (RTM_GETROUTE with
   * RTM_F_FIB_MATCH; no table, device or source): every request is sent before any answer is
   * awaited. Resolves with the route each lookup matched, or the NetlinkError it ended in:
   * ENETUNREACH when no route matches; EHOSTUNREACH, EINVAL or EACCES when the match is an
   * unreachable, blackhole or prohibit route (the kernel reports no route then). Throws
   * ValidationError naming every address that is not one, before anything is sent.
   */
  async getMany(dsts: readonly string[]): Promise<Array<Route | NetlinkError>> {
    const p = new Problems();
    const families = dsts.map((dst) => this.validator.lookup(p, dst, {}));
    p.throwIfAny('routes.getMany');
    // Decoded one at a time as each answer comes (the shared decoder is not reentrant across awaits).
    return Promise.all(
      dsts.map(async (dst, i) => {
        const what = `routes.get ${dst}`;
        try {
          const replies = await this.ctx.socket.request((w) => encodeRouteGet(w, families[i] as IpFamily, dst, undefined, 0, true), { what });
          for (const m of replies) if (m.type === RTM_NEWROUTE) return this.decoder.decode(m);
          return new NetlinkError(ENETUNREACH, {}, what, 'the kernel answered without a route');
        } catch (e) {
          if (e instanceof NetlinkError) return e;
          throw e;
        }
      }),
    );
  }

  private async lookupInTable(dst: string, family: IpFamily, opts: RouteLookup, what: string): Promise<Route> {
    const routes = await this.list({ family, table: opts.table, ...(opts.dev !== undefined ? { dev: opts.dev } : {}) });
    const want = readAddress(dst)!.bytes; // validated above
    let best: Route | undefined;
    let bestLen = -1;
    for (const r of routes) {
      if (r.tos !== 0) continue;
      const len = r.dst === 'default' ? 0 : prefixLengthContaining(r.dst, want);
      if (len < 0 || len < bestLen) continue;
      if (len > bestLen || (r.metric ?? 0) < (best!.metric ?? 0)) {
        best = r;
        bestLen = len;
      }
    }
    if (!best) throw new NetlinkError(ENETUNREACH, {}, what, `no route in table ${String(opts.table)} contains it`);
    return best;
  }
}

/** The kernel says only "No such process" (and no text) when no route matches a delete. */
function noSuchRoute<E>(e: E): E | NetlinkError {
  if (!(e instanceof NetlinkError) || e.errno !== ESRCH || e.kernelMessage) return e;
  return new NetlinkError(ESRCH, {}, e.operation, 'no such route');
}

/** Whether a route satisfies the kernel-side part of a dump request (for unfiltered replies). */
function matchesDumpRequest(r: Route, q: RouteDumpRequest): boolean {
  if (q.family && (r.family === 4 ? AF_INET : AF_INET6) !== q.family) return false;
  if (q.table && r.table !== q.table) return false;
  if (q.protocol && r.protocol !== q.protocol) return false;
  if (q.type && routeTypeOf(r.type, false) !== q.type) return false;
  if (q.dev && r.dev !== q.dev && !(r.nexthops?.some((nh) => nh.dev === q.dev) ?? false)) return false;
  return true;
}

function describeFilter(f: RouteFilter): string {
  const parts: string[] = [];
  if (f.family) parts.push(`family ${f.family}`);
  parts.push(`table ${f.table ?? 'main'}`);
  if (f.protocol !== undefined) parts.push(`proto ${f.protocol}`);
  if (f.type !== undefined) parts.push(`type ${f.type}`);
  if (f.dev !== undefined) parts.push(`dev ${f.dev}`);
  if (f.scope !== undefined) parts.push(`scope ${f.scope}`);
  return parts.join(' ');
}

/** The prefix length of a canonical "a/len" prefix when it contains the address, else -1. */
function prefixLengthContaining(prefix: string, addr: Uint8Array): number {
  const slash = prefix.indexOf('/');
  const base = readAddress(prefix.slice(0, slash));
  const prefixLength = Number(prefix.slice(slash + 1));
  return base && prefixContains({ bytes: base.bytes, prefixLength }, addr) ? prefixLength : -1;
}
