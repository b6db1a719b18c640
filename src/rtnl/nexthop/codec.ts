/**
 * Nexthop messages (struct nhmsg + NHA_* attributes) to bytes and back, on NHA_ATTRS. Requests
 * are byte for byte what `ip nexthop` sends (test/rtnl/nexthop/golden.test.js).
 */
import { NLM_F_DUMP, NLM_F_REQUEST } from '../../wire/constants';
import { NetlinkParseError } from '../../wire/errors';
import type { MessageView } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import { familyOf } from '../../values/address';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NEXTHOP_GRP_TYPE_MPATH,
  NEXTHOP_GRP_TYPE_RES,
  NHMSG_LEN,
  RTM_GETNEXTHOP,
  RTM_GETNEXTHOPBUCKET,
  RTNH_F_ONLINK,
} from '../constants';
import { PROTOCOLS, lookup } from '../names';
import type { NexthopBucket, NexthopGroupSpec, NexthopObject, NexthopObjectSpec, SingleNexthopSpec } from './types';
import { NHA_ATTRS, NHMSG } from './table';
import { isGroupSpec } from './validate';

/** The kernel-side part of a nexthop dump (0 / false: any). */
export interface NexthopDumpRequest {
  /** AF_UNSPEC, AF_INET or AF_INET6. */
  family: number;
  /** Interface index (NHA_OIF). */
  dev: number;
  /** Master interface index (NHA_MASTER). */
  master: number;
  /** NHA_GROUPS. */
  groups: boolean;
  /** NHA_FDB. */
  fdb: boolean;
}

/** nh_family of a single spec: its gateway's, else its family field's, else IPv4 (as iproute2). */
function singleFamily(s: SingleNexthopSpec): number {
  if (s.via !== undefined) return s.via.includes(':') ? AF_INET6 : AF_INET;
  return familyOf(s.family) === 6 ? AF_INET6 : AF_INET;
}

/**
 * Writes one RTM_NEWNEXTHOP request for a validated spec (flags: NLM_F_CREATE|NLM_F_EXCL to
 * add, NLM_F_CREATE|NLM_F_REPLACE to replace). devIndex is the resolved index of spec.dev (0
 * when it has none). A group goes with family AF_UNSPEC; protocol defaults to 0, as iproute2.
 */
export function encodeNexthop(w: MessageWriter, type: number, flags: number, s: NexthopObjectSpec, devIndex: number): void {
  const protocol = s.protocol === undefined ? 0 : lookup(PROTOCOLS, s.protocol)!;
  w.begin(type, flags);
  if (isGroupSpec(s)) {
    NHMSG.write(w, { family: AF_UNSPEC, protocol });
    NHA_ATTRS.encode(w, { id: s.id, group: s.group.map((m) => ({ id: m.id, weight: m.weight ?? 1 })), ...groupAttrs(s) });
  } else {
    NHMSG.write(w, { family: singleFamily(s), protocol, flags: s.onlink ? RTNH_F_ONLINK : 0 });
    NHA_ATTRS.encode(w, {
      id: s.id,
      blackhole: s.blackhole === true ? true : undefined,
      gateway: s.via,
      oif: s.dev !== undefined ? devIndex : undefined,
      fdb: s.fdb === true ? true : undefined,
    });
  }
  w.end();
}

function groupAttrs(s: NexthopGroupSpec): { resGroup?: { buckets?: number; idleTimer?: number; unbalancedTimer?: number }; groupType?: number; fdb?: boolean } {
  const out: { resGroup?: { buckets?: number; idleTimer?: number; unbalancedTimer?: number }; groupType?: number; fdb?: boolean } = {};
  if (s.type === 'resilient') {
    if (s.buckets !== undefined || s.idleTimer !== undefined || s.unbalancedTimer !== undefined) {
      out.resGroup = { buckets: s.buckets, idleTimer: s.idleTimer, unbalancedTimer: s.unbalancedTimer };
    }
    out.groupType = NEXTHOP_GRP_TYPE_RES;
  }
  if (s.fdb === true) out.fdb = true;
  return out;
}

/** Writes an RTM_DELNEXTHOP (or, with type RTM_GETNEXTHOP, a get) request for one id. */
export function encodeNexthopId(w: MessageWriter, type: number, flags: number, id: number): void {
  w.begin(type, flags);
  NHMSG.write(w, { family: AF_UNSPEC });
  NHA_ATTRS.encode(w, { id });
  w.end();
}

/** Writes an RTM_GETNEXTHOP dump request filtered in the kernel (NHA_OIF, NHA_GROUPS, NHA_MASTER, NHA_FDB). */
export function encodeNexthopDump(w: MessageWriter, f: NexthopDumpRequest): void {
  w.begin(RTM_GETNEXTHOP, NLM_F_REQUEST | NLM_F_DUMP);
  NHMSG.write(w, { family: f.family });
  NHA_ATTRS.encode(w, {
    oif: f.dev || undefined,
    groups: f.groups || undefined,
    master: f.master || undefined,
    fdb: f.fdb || undefined,
  });
  w.end();
}

/** Writes an RTM_GETNEXTHOPBUCKET dump request for the buckets of group `id`. */
export function encodeNexthopBucketDump(w: MessageWriter, id: number): void {
  w.begin(RTM_GETNEXTHOPBUCKET, NLM_F_REQUEST | NLM_F_DUMP);
  NHMSG.write(w, { family: AF_UNSPEC });
  NHA_ATTRS.encode(w, { id });
  w.end();
}

/** What NHA_ATTRS decodes into: every field, so the object has one shape. */
interface NhaValues {
  id: number | undefined;
  group: Array<{ id: number; weight: number }> | undefined;
  resGroup: { buckets?: number; idleTimer?: number; unbalancedTimer?: number; unbalancedTime?: number } | undefined;
  groupType: number | undefined;
  blackhole: boolean | undefined;
  gateway: string | undefined;
  oif: number | undefined;
  fdb: boolean | undefined;
  groups: boolean | undefined;
  master: number | undefined;
  resBucket: { index?: number; idleTime?: number; nexthop?: number } | undefined;
}

function readAttrs(m: MessageView, what: string): { h: { family: number; scope: number; protocol: number; flags: number }; v: NhaValues; unknown: ReturnType<typeof NHA_ATTRS.decodeInto> } {
  const h = NHMSG.read(m.buf, m.payload, m.end, what);
  const v: NhaValues = {
    id: undefined,
    group: undefined,
    resGroup: undefined,
    groupType: undefined,
    blackhole: undefined,
    gateway: undefined,
    oif: undefined,
    fdb: undefined,
    groups: undefined,
    master: undefined,
    resBucket: undefined,
  };
  const unknown = NHA_ATTRS.decodeInto(m.buf, m.payload + NHMSG_LEN, m.end, v);
  if (v.id === undefined) throw new NetlinkParseError(`${what} without NHA_ID`, m.payload);
  return { h, v, unknown };
}

/**
 * Decodes one RTM_NEWNEXTHOP / RTM_DELNEXTHOP message (list(), get() and the monitor).
 * Attributes NHA_ATTRS does not name (NHA_ENCAP, newer kernels' statistics) are kept in
 * `unknown`. Throws NetlinkParseError for a malformed message, one without NHA_ID, or a single
 * nexthop of a family other than AF_INET/AF_INET6.
 */
export function parseNexthopMessage(m: MessageView): NexthopObject {
  const { h, v, unknown } = readAttrs(m, 'nexthop message');
  const base = { id: v.id!, protocol: h.protocol, scope: h.scope, flags: h.flags, fdb: v.fdb === true };
  let out: NexthopObject;
  if (v.group !== undefined) {
    const type = v.groupType === undefined || v.groupType === NEXTHOP_GRP_TYPE_MPATH ? 'mpath' : v.groupType === NEXTHOP_GRP_TYPE_RES ? 'resilient' : undefined;
    if (type === undefined) throw new NetlinkParseError(`nexthop group of unknown type ${v.groupType}`, m.payload);
    out = { kind: 'group', ...base, group: v.group, type };
    const r = v.resGroup;
    if (r !== undefined) {
      if (r.buckets !== undefined) out.buckets = r.buckets;
      if (r.idleTimer !== undefined) out.idleTimer = r.idleTimer;
      if (r.unbalancedTimer !== undefined) out.unbalancedTimer = r.unbalancedTimer;
      if (r.unbalancedTime !== undefined) out.unbalancedTime = r.unbalancedTime;
    }
  } else {
    if (h.family !== AF_INET && h.family !== AF_INET6) throw new NetlinkParseError(`nexthop of address family ${h.family}`, m.payload);
    const family = h.family === AF_INET ? 4 : 6;
    if (v.gateway !== undefined && v.gateway.includes(':') !== (family === 6)) throw new NetlinkParseError(`NHA_GATEWAY ${v.gateway} in a nexthop of family IPv${family}`, m.payload);
    out = { kind: 'single', ...base, family, onlink: (h.flags & RTNH_F_ONLINK) !== 0, blackhole: v.blackhole === true };
    if (v.gateway !== undefined) out.via = v.gateway;
    if (v.oif !== undefined) out.dev = v.oif;
  }
  if (unknown !== undefined) out.unknown = unknown;
  return out;
}

/** Decodes one RTM_NEWNEXTHOPBUCKET message. Throws NetlinkParseError for a malformed one or one without a bucket. */
export function parseNexthopBucketMessage(m: MessageView): NexthopBucket {
  const { h, v } = readAttrs(m, 'nexthop bucket message');
  const b = v.resBucket;
  if (b === undefined || b.index === undefined || b.nexthop === undefined) throw new NetlinkParseError('nexthop bucket message without NHA_RES_BUCKET index and nexthop', m.payload);
  return { group: v.id!, index: b.index, nexthop: b.nexthop, idleTime: b.idleTime ?? 0, flags: h.flags };
}
