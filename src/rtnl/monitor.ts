/**
 * Kernel events: a netlink socket of its own, joined to rtnetlink multicast groups, whose
 * messages come out as typed events. The kernel reports a lost event (a full receive buffer)
 * as ENOBUFS, which comes out as 'overflow': whoever mirrors kernel state must then re-read it.
 */
import { EventEmitter } from 'eventemitter3';
import { constants as osConstants } from 'node:os';
import { NetlinkSocket } from '../wire/socket';
import type { MessageView } from '../wire/reader';
import { parseAddressMessage } from './address';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_IFADDR,
  RTNLGRP_IPV6_ROUTE,
  RTNLGRP_LINK,
  RTNLGRP_NEIGH,
  RTNLGRP_NEXTHOP,
  RTNLGRP_IPV4_RULE,
  RTNLGRP_IPV6_RULE,
  RTM_NEWNEXTHOP,
  RTM_DELNEXTHOP,
  RTM_NEWRULE,
  RTM_DELRULE,
} from './constants';
import type { RtnlContext } from './context';
import { parseFdbMessage } from './fdb';
import { parseLinkMessage } from './link';
import { parseNeighborMessage } from './neighbor';
import { parseRouteMessage } from './route/decode';
import { parseNexthopMessage } from './nexthop/codec';
import { parseRuleMessage } from './rule';
import type { Address, FdbEntry, Link, Neighbor, NexthopObject, Route, Rule } from './types';
import { Problems, checkBool, checkInt, checkKeys, describeValue, own } from '../values/problems';

/** What to listen to: 'neigh' carries both neighbour and FDB (AF_BRIDGE) events; 'nexthop'
 * nexthop objects (RTNLGRP_NEXTHOP); 'rule' IPv4 and IPv6 rules (RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE). */
export type MonitorGroup = 'link' | 'addr' | 'route' | 'neigh' | 'nexthop' | 'rule';

/** The RTNLGRP_* groups each MonitorGroup joins. */
export const MONITOR_GROUPS: Record<MonitorGroup, readonly number[]> = {
  link: [RTNLGRP_LINK],
  addr: [RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR],
  route: [RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE],
  neigh: [RTNLGRP_NEIGH],
  nexthop: [RTNLGRP_NEXTHOP],
  rule: [RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE],
};

/** What Rtnl.monitor() takes. */
export interface MonitorOptions {
  /** The groups to join, at least one. */
  groups: MonitorGroup[];
  /** Receive buffer of the monitor's socket, bytes (the kernel doubles it). Default 4 MiB.
   * Events that do not fit are lost and reported as 'overflow'. */
  receiveBufferBytes?: number;
  /** NETLINK_NO_ENOBUFS: drop events silently instead of reporting overflow. Default false. */
  noEnobufs?: boolean;
  /** Whether the open monitor keeps the Node.js process alive. Default true. */
  ref?: boolean;
}

/** One change the kernel announced: the object as it now is ('new') or as it was ('del'). */
export interface MonitorEvent<T> {
  /** 'new': created or changed; 'del': removed. */
  action: 'new' | 'del';
  /** The decoded object, as list() would return it. */
  object: T;
}

/** The events a Monitor emits, with their listeners' signatures. */
export interface MonitorEvents {
  /** RTM_NEWLINK / RTM_DELLINK (a link's state changes arrive as 'new' too). */
  link: (e: MonitorEvent<Link>) => void;
  /** RTM_NEWADDR / RTM_DELADDR, IPv4 and IPv6 (group 'addr'). */
  address: (e: MonitorEvent<Address>) => void;
  /** RTM_NEWROUTE / RTM_DELROUTE, IPv4 and IPv6 (group 'route'). */
  route: (e: MonitorEvent<Route>) => void;
  /** IPv4/IPv6 neighbour entries. */
  neighbor: (e: MonitorEvent<Neighbor>) => void;
  /** AF_BRIDGE neighbour messages: FDB entries. */
  fdb: (e: MonitorEvent<FdbEntry>) => void;
  /** RTM_NEWNEXTHOP / RTM_DELNEXTHOP (group 'nexthop'). The kernel sends no event for the
   * routes it removes with a deleted nexthop, nor for a group's member change by replace. */
  nexthop: (e: MonitorEvent<NexthopObject>) => void;
  /** RTM_NEWRULE / RTM_DELRULE, IPv4 and IPv6 (group 'rule'). */
  rule: (e: MonitorEvent<Rule>) => void;
  /** The kernel dropped events (ENOBUFS): state mirrored from events is stale, re-read it. */
  overflow: () => void;
  /** A message that could not be decoded (the monitor keeps going). */
  error: (e: Error) => void;
}

const { EBADF, ENOBUFS } = osConstants.errno;

const OPTION_KEYS = ['groups', 'receiveBufferBytes', 'noEnobufs', 'ref'] as const;

/** Checks MonitorOptions; throws ValidationError naming every problem. Returns the options' own fields. */
function validateOptions(opts: unknown): MonitorOptions {
  const p = new Problems();
  if (typeof opts !== 'object' || opts === null) {
    p.add('', `expected monitor options, got ${describeValue(opts)}`);
    p.throwIfAny('monitor');
  }
  const o = opts as Record<string, unknown>;
  checkKeys(p, '', o, OPTION_KEYS);
  const groups = own(o, 'groups');
  const receiveBufferBytes = own(o, 'receiveBufferBytes');
  const noEnobufs = own(o, 'noEnobufs');
  const ref = own(o, 'ref');
  if (!Array.isArray(groups) || groups.length === 0) {
    p.add('groups', `expected a non-empty list of ${Object.keys(MONITOR_GROUPS).join(', ')}`);
  } else {
    groups.forEach((g, i) => {
      if (typeof g !== 'string' || !Object.prototype.hasOwnProperty.call(MONITOR_GROUPS, g)) {
        p.add(`groups[${i}]`, `unknown group ${describeValue(g)} (expected ${Object.keys(MONITOR_GROUPS).join(', ')})`);
      }
    });
  }
  if (receiveBufferBytes !== undefined) checkInt(p, 'receiveBufferBytes', receiveBufferBytes, 1024, 0x7fffffff);
  if (noEnobufs !== undefined) checkBool(p, 'noEnobufs', noEnobufs);
  if (ref !== undefined) checkBool(p, 'ref', ref);
  p.throwIfAny('monitor');
  return { groups: groups as MonitorGroup[], receiveBufferBytes: receiveBufferBytes as number | undefined, noEnobufs: noEnobufs as boolean | undefined, ref: ref as boolean | undefined };
}

/**
 * Typed rtnetlink events of one namespace. Made by Rtnl.monitor(); subscribed from the moment
 * it is constructed.
 *
 * ```ts
 * const mon = nl.monitor({ groups: ['neigh', 'route'] });
 * mon.on('fdb', ({ action, object }) => console.log(action, object.mac, object.dst));
 * mon.on('overflow', () => resync());
 * ```
 */
export class Monitor extends EventEmitter<MonitorEvents> {
  private sock: NetlinkSocket;
  private readonly groups: number[];
  /** The options this monitor was opened with (their own fields, validated). */
  protected readonly opts: MonitorOptions;
  private closed = false;
  private reopenCount = 0;

  /**
   * Opens the socket in ctx's namespace and joins the groups. Throws ValidationError for bad
   * options, a Node-style error (e.g. ENOENT for a namespace that is gone) when the socket cannot open.
   *
   * Rtnl.monitor() makes monitors; onClose lets the Rtnl forget a closed one (so a long-lived
   * handle does not keep every monitor it ever made).
   */
  constructor(
    protected readonly ctx: RtnlContext,
    opts: MonitorOptions,
    private readonly onClose?: (m: Monitor) => void,
  ) {
    super();
    this.opts = validateOptions(opts);
    const groups = new Set<number>();
    for (const g of this.opts.groups) for (const n of MONITOR_GROUPS[g]) groups.add(n);
    this.groups = [...groups];
    this.sock = this.open();
  }

  /** The monitor's current socket (receive buffer size, counters). */
  get socket(): NetlinkSocket {
    return this.sock;
  }

  /** True after close(). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** How many times the socket was replaced after a failed receive (see onSocketError). */
  get reopened(): number {
    return this.reopenCount;
  }

  /** Leaves the groups and closes the socket: no event is emitted afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    this.removeAllListeners();
    this.onClose?.(this);
  }

  private open(): NetlinkSocket {
    const sock = NetlinkSocket.open({
      netnsPath: this.ctx.netnsPath,
      groups: this.groups,
      receiveBufferBytes: this.opts.receiveBufferBytes,
      noEnobufs: this.opts.noEnobufs,
      ref: this.opts.ref ?? true,
      kernel: this.ctx.kernel,
    });
    sock.on('message', (m) => {
      if (sock === this.sock) this.dispatch(m);
    });
    sock.on('overflow', () => {
      if (sock === this.sock && !this.closed) this.emit('overflow');
    });
    sock.on('error', (e) => {
      if (sock === this.sock && !this.closed) this.onSocketError(e);
    });
    return sock;
  }

  /**
   * A failed receive. The kernel flags a netlink socket whose events it had to drop (ENOBUFS)
   * with a socket error; libuv reports that condition (POLLERR) as EBADF and stops watching the
   * socket, so no further event would arrive. Events were lost either way: the monitor
   * subscribes again on a fresh socket, then says 'overflow' so that consumers re-read state
   * (anything that changed in between is covered by that re-read).
   */
  private onSocketError(e: Error): void {
    const errno = (e as { errno?: unknown }).errno;
    if (errno !== EBADF && errno !== ENOBUFS) {
      this.emit('error', e);
      return;
    }
    const old = this.sock;
    try {
      this.sock = this.open();
    } catch (err) {
      // The namespace is gone or the kernel refused a socket: nothing more can be monitored.
      this.closed = true;
      old.close();
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
      return;
    }
    old.close();
    this.reopenCount++;
    this.emit('overflow');
  }

  private dispatch(m: MessageView): void {
    if (this.closed) return;
    const action = (m.type & 3) === 0 ? 'new' : 'del'; // RTM_NEWxxx = 4k, RTM_DELxxx = 4k + 1
    // Decode first, emit afterwards: an exception thrown by a listener is the listener's, not a
    // decoding error.
    let ev: Decoded;
    try {
      ev = decode(m);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.emit('error', Object.assign(err, { messageType: m.type }));
      return;
    }
    switch (ev.kind) {
      case 'link':
        return void this.emit('link', { action, object: ev.object });
      case 'address':
        return void this.emit('address', { action, object: ev.object });
      case 'route':
        return void this.emit('route', { action, object: ev.object });
      case 'neighbor':
        return void this.emit('neighbor', { action, object: ev.object });
      case 'fdb':
        return void this.emit('fdb', { action, object: ev.object });
      case 'nexthop':
        return void this.emit('nexthop', { action, object: ev.object });
      case 'rule':
        return void this.emit('rule', { action, object: ev.object });
    }
  }
}

type Decoded =
  | { kind: 'link'; object: Link }
  | { kind: 'address'; object: Address }
  | { kind: 'route'; object: Route }
  | { kind: 'neighbor'; object: Neighbor }
  | { kind: 'fdb'; object: FdbEntry }
  | { kind: 'nexthop'; object: NexthopObject }
  | { kind: 'rule'; object: Rule }
  | { kind: 'skip' };

/** Decodes an event message; throws for one that cannot be decoded. */
function decode(m: MessageView): Decoded {
  switch (m.type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      // AF_BRIDGE link messages are a bridge's port-state reports, not device changes.
      if (familyOf(m) === AF_BRIDGE) return { kind: 'skip' };
      return { kind: 'link', object: parseLinkMessage(m) };
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return { kind: 'address', object: parseAddressMessage(m) };
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return { kind: 'route', object: parseRouteMessage(m) };
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: {
      const fam = familyOf(m);
      if (fam === AF_BRIDGE) return { kind: 'fdb', object: parseFdbMessage(m) };
      if (fam === AF_INET || fam === AF_INET6) return { kind: 'neighbor', object: parseNeighborMessage(m) };
      return { kind: 'skip' };
    }
    case RTM_NEWNEXTHOP:
    case RTM_DELNEXTHOP:
      return { kind: 'nexthop', object: parseNexthopMessage(m) };
    case RTM_NEWRULE:
    case RTM_DELRULE: {
      const fam = familyOf(m);
      if (fam === AF_INET || fam === AF_INET6) return { kind: 'rule', object: parseRuleMessage(m) };
      return { kind: 'skip' };
    }
    default:
      return { kind: 'skip' };
  }
}

function familyOf(m: MessageView): number {
  return m.end > m.payload ? m.buf[m.payload] : -1;
}
