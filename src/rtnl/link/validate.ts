/**
 * Validation of link specs and link changes, before anything is sent. Every problem is
 * reported (not only the first), with its path ("links[2].peer.name").
 *
 * Ranges are the kernel's where it has one (VNI < 2^24, u8 TTL/TOS, u16 ports, IFNAMSIZ).
 * MTU is checked against 68..65535 (ETH_MIN_MTU..ETH_MAX_MTU; 65515 for ipip, IP_MAX_MTU minus
 * the outer header); the kernel also enforces each device's own limits, which depend on state
 * this check cannot see: a vxlan with an underlay device takes at most the underlay's MTU minus
 * its headroom (50 bytes over IPv4, 70 over IPv6). Linux 6.18 refuses more with EINVAL in
 * links.set(), but on creation silently caps it (links.add() returns the MTU it got).
 */
import { checkDevice } from '../validate';
import { isMulticast, isUnspecified, parseAddress, type ParsedAddress } from '../../values/address';
import { checkUnicastMac } from '../../values/mac';
import { checkIfName, checkNetns } from '../../values/names';
import { checkBool, checkInt, checkKeys, describeValue as show, isObject, type Problems } from '../../values/problems';
import type { LinkChanges, LinkSpec } from '../types';
import { validateWireguard, WIREGUARD_KEYS } from './wireguard';

/** ETH_MIN_MTU: the smallest MTU accepted here (IPv4 needs 68). */
export const MIN_MTU = 68;
/** ETH_MAX_MTU. */
export const MAX_MTU = 65535;
/** IP_MAX_MTU (65535) minus the 20-byte outer IPv4 header: ip_tunnel's max_mtu. */
export const IPIP_MAX_MTU = 65515;
/** VXLAN_N_VID - 1: VNIs are 24 bits. */
export const MAX_VNI = 0xffffff;

const COMMON_KEYS = ['kind', 'name', 'mtu', 'address', 'up', 'master', 'txqueuelen', 'netns', 'alias'] as const;
const KIND_KEYS = {
  vxlan: ['vni', 'port', 'local', 'remote', 'group', 'dev', 'learning', 'ttl', 'tos', 'srcPortRange', 'udpChecksum', 'ageing', 'proxy', 'l2miss', 'l3miss'],
  ipip: ['local', 'remote', 'ttl', 'tos', 'pmtudisc', 'dev'],
  veth: ['peer'],
  bridge: ['stp', 'vlanFiltering'],
  wireguard: WIREGUARD_KEYS,
} as const;
const KINDS = Object.keys(KIND_KEYS) as Array<keyof typeof KIND_KEYS>;
const PEER_KEYS = ['name', 'netns', 'address', 'mtu'] as const;
const CHANGE_KEYS = ['name', 'mtu', 'address', 'up', 'master', 'txqueuelen', 'netns', 'alias'] as const;

const at = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** IFLA_IFALIAS: a string of at most IFALIASZ - 1 (255) bytes; '' means none. */
export const MAX_ALIAS_BYTES = 255;
function checkAlias(p: Problems, path: string, v: unknown): void {
  if (typeof v !== 'string') p.add(path, `${show(v)} must be a string`);
  else if (Buffer.byteLength(v) > MAX_ALIAS_BYTES) p.add(path, `is ${Buffer.byteLength(v)} bytes; at most ${MAX_ALIAS_BYTES} (IFALIASZ - 1)`);
  else if (v.includes('\0')) p.add(path, 'must not contain NUL characters');
}

function checkOptional(spec: Record<string, unknown>, key: string, check: (v: unknown) => unknown): void {
  if (spec[key] !== undefined) check(spec[key]);
}

/** The settings all kinds share; master may be null ("no master"). */
function validateCommon(p: Problems, path: string, s: Record<string, unknown>, maxMtu: number): void {
  checkIfName(p, at(path, 'name'), s.name);
  checkOptional(s, 'mtu', (v) => checkInt(p, at(path, 'mtu'), v, MIN_MTU, maxMtu));
  checkOptional(s, 'address', (v) => checkUnicastMac(p, at(path, 'address'), v));
  checkOptional(s, 'up', (v) => checkBool(p, at(path, 'up'), v));
  if (s.master !== undefined && s.master !== null) checkDevice(p, at(path, 'master'), s.master);
  checkOptional(s, 'txqueuelen', (v) => checkInt(p, at(path, 'txqueuelen'), v, 0, 0xffffffff));
  checkOptional(s, 'netns', (v) => checkNetns(p, at(path, 'netns'), v));
  checkOptional(s, 'alias', (v) => checkAlias(p, at(path, 'alias'), v));
}

function validateVxlan(p: Problems, path: string, s: Record<string, unknown>): void {
  if (s.vni === undefined) p.add(at(path, 'vni'), `required: the VXLAN network identifier, 1..${MAX_VNI}`);
  else checkInt(p, at(path, 'vni'), s.vni, 1, MAX_VNI);
  checkOptional(s, 'port', (v) => checkInt(p, at(path, 'port'), v, 1, 65535));
  let local: ParsedAddress | undefined;
  let peer: ParsedAddress | undefined;
  if (s.local !== undefined) {
    local = parseAddress(p, at(path, 'local'), s.local);
    if (local && isMulticast(local)) p.add(at(path, 'local'), `${show(s.local)} is multicast; local must be a unicast address`);
  }
  if (s.remote !== undefined && s.group !== undefined) {
    p.add(at(path, 'remote'), 'remote and group are exclusive: a unicast peer or a multicast group, not both');
  }
  if (s.remote !== undefined) {
    const r = parseAddress(p, at(path, 'remote'), s.remote);
    if (r && isMulticast(r)) p.add(at(path, 'remote'), `${show(s.remote)} is multicast; use group for a multicast group`);
    else if (r && isUnspecified(r)) p.add(at(path, 'remote'), `${show(s.remote)} is the unspecified address; leave remote out instead`);
    peer = r;
  }
  if (s.group !== undefined) {
    const g = parseAddress(p, at(path, 'group'), s.group);
    if (g && !isMulticast(g)) p.add(at(path, 'group'), `${show(s.group)} is not a multicast address; use remote for a unicast peer`);
    if (g && s.dev === undefined) p.add(at(path, 'dev'), 'a multicast group needs dev: the device to join it on');
    peer = peer ?? g;
  }
  if (local && peer && local.family !== peer.family) {
    p.add(at(path, 'local'), `local ${show(s.local)} is IPv${local.family} but ${s.remote !== undefined ? 'remote' : 'group'} is IPv${peer.family}: both must be one family`);
  }
  checkOptional(s, 'dev', (v) => checkDevice(p, at(path, 'dev'), v));
  for (const k of ['learning', 'udpChecksum', 'proxy', 'l2miss', 'l3miss']) checkOptional(s, k, (v) => checkBool(p, at(path, k), v));
  checkOptional(s, 'ttl', (v) => checkInt(p, at(path, 'ttl'), v, 0, 255));
  checkOptional(s, 'tos', (v) => checkInt(p, at(path, 'tos'), v, 0, 255));
  // The kernel reads an ageing of 0 as "the default" (300 s), on creation and on change alike.
  checkOptional(s, 'ageing', (v) => {
    if (v === 0) p.add(at(path, 'ageing'), '0 is read by the kernel as its default (300 s); give the seconds (1..4294967295)');
    else checkInt(p, at(path, 'ageing'), v, 1, 0xffffffff);
  });
  checkOptional(s, 'srcPortRange', (v) => {
    const q = at(path, 'srcPortRange');
    if (!Array.isArray(v) || v.length !== 2) {
      p.add(q, `${show(v)} must be [low, high]`);
      return;
    }
    const okLow = checkInt(p, `${q}[0]`, v[0], 1, 65535);
    const okHigh = checkInt(p, `${q}[1]`, v[1], 1, 65535);
    if (okLow && okHigh && v[0] > v[1]) p.add(q, `${show(v)}: low must not be above high`);
  });
}

function validateIpip(p: Problems, path: string, s: Record<string, unknown>): void {
  if (s.address !== undefined) p.add(at(path, 'address'), 'an ipip device has no MAC address (its link-layer address is the local IP)');
  checkOptional(s, 'local', (v) => {
    const a = parseAddress(p, at(path, 'local'), v, 4);
    if (a && isMulticast(a)) p.add(at(path, 'local'), `${show(v)} is multicast; local must be a unicast address`);
  });
  checkOptional(s, 'remote', (v) => parseAddress(p, at(path, 'remote'), v, 4));
  checkOptional(s, 'ttl', (v) => checkInt(p, at(path, 'ttl'), v, 0, 255));
  checkOptional(s, 'tos', (v) => checkInt(p, at(path, 'tos'), v, 0, 255));
  checkOptional(s, 'pmtudisc', (v) => checkBool(p, at(path, 'pmtudisc'), v));
  checkOptional(s, 'dev', (v) => checkDevice(p, at(path, 'dev'), v));
  // The kernel sets DF whenever the TTL is fixed, whatever pmtudisc says (iproute2 refuses too).
  if (typeof s.ttl === 'number' && s.ttl !== 0 && s.pmtudisc === false) {
    p.add(at(path, 'pmtudisc'), `pmtudisc false needs ttl 0 (inherit): a fixed ttl (${s.ttl}) always sets DF`);
  }
}

function validateVeth(p: Problems, path: string, s: Record<string, unknown>): void {
  const q = at(path, 'peer');
  const peer = s.peer;
  if (!isObject(peer)) {
    p.add(q, `required: the peer end, e.g. { name: "veth1" }, got ${show(peer)}`);
    return;
  }
  checkKeys(p, q, peer, PEER_KEYS);
  const nameOk = checkIfName(p, at(q, 'name'), peer.name);
  checkOptional(peer, 'netns', (v) => checkNetns(p, at(q, 'netns'), v));
  checkOptional(peer, 'address', (v) => checkUnicastMac(p, at(q, 'address'), v));
  checkOptional(peer, 'mtu', (v) => checkInt(p, at(q, 'mtu'), v, MIN_MTU, MAX_MTU));
  if (nameOk && peer.name === s.name && peer.netns === s.netns) {
    p.add(at(q, 'name'), `${show(peer.name)} is the name of the device itself; both ends land in one namespace`);
  }
}

function validateBridge(p: Problems, path: string, s: Record<string, unknown>): void {
  checkOptional(s, 'stp', (v) => checkBool(p, at(path, 'stp'), v));
  checkOptional(s, 'vlanFiltering', (v) => checkBool(p, at(path, 'vlanFiltering'), v));
}

/**
 * Checks a link spec completely: the kind, unknown fields, every setting's type and range, and
 * the rules between settings (vxlan remote XOR group, one address family, group needs dev;
 * ipip ttl vs pmtudisc; veth peer). Appends every problem to p; returns whether there were none
 * from this spec. Used by links.add()/change() and by the reconciler for a whole desired state.
 */
export function validateLinkSpec(p: Problems, path: string, spec: unknown): spec is LinkSpec {
  const before = p.list.length;
  if (!isObject(spec)) {
    p.add(path, `expected a link spec object, got ${show(spec)}`);
    return false;
  }
  const kind = spec.kind;
  if (typeof kind !== 'string' || !(KINDS as string[]).includes(kind)) {
    p.add(at(path, 'kind'), `${show(kind)} is not a link kind this library creates (one of ${KINDS.join(', ')})`);
    checkKeys(p, path, spec, [...COMMON_KEYS, ...new Set(Object.values(KIND_KEYS).flat())]);
    validateCommon(p, path, spec, MAX_MTU);
    return false;
  }
  const k = kind as keyof typeof KIND_KEYS;
  checkKeys(p, path, spec, [...COMMON_KEYS, ...KIND_KEYS[k]]);
  validateCommon(p, path, spec, k === 'ipip' ? IPIP_MAX_MTU : MAX_MTU);
  if (k === 'vxlan') validateVxlan(p, path, spec);
  else if (k === 'ipip') validateIpip(p, path, spec);
  else if (k === 'veth') validateVeth(p, path, spec);
  else if (k === 'wireguard') validateWireguard(p, path, spec);
  else validateBridge(p, path, spec);
  return p.list.length === before;
}

/**
 * Checks the argument of links.set(): known fields only, each well formed; master null means
 * "no master", alias '' removes the alias. Appends every problem to p; returns whether there were none.
 */
export function validateLinkChanges(p: Problems, path: string, c: unknown): c is LinkChanges {
  const before = p.list.length;
  if (!isObject(c)) {
    p.add(path, `expected an object of link changes, got ${show(c)}`);
    return false;
  }
  checkKeys(p, path, c, CHANGE_KEYS);
  checkOptional(c, 'name', (v) => checkIfName(p, at(path, 'name'), v));
  checkOptional(c, 'mtu', (v) => checkInt(p, at(path, 'mtu'), v, MIN_MTU, MAX_MTU));
  checkOptional(c, 'address', (v) => checkUnicastMac(p, at(path, 'address'), v));
  checkOptional(c, 'up', (v) => checkBool(p, at(path, 'up'), v));
  if (c.master !== undefined && c.master !== null) checkDevice(p, at(path, 'master'), c.master);
  checkOptional(c, 'txqueuelen', (v) => checkInt(p, at(path, 'txqueuelen'), v, 0, 0xffffffff));
  checkOptional(c, 'netns', (v) => checkNetns(p, at(path, 'netns'), v));
  checkOptional(c, 'alias', (v) => checkAlias(p, at(path, 'alias'), v));
  return p.list.length === before;
}
