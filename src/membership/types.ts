/**
 * Cluster membership: the node records hosts publish about themselves, how a record is checked
 * before it may reach the kernel, and the interface every membership source (etcd, a static
 * file) implements.
 *
 * A record from the store is input from another machine: it is validated like a desired state
 * (every field), then screened against this host and the records already accepted. A record
 * that fails is skipped with a reason and never becomes a route, FDB or neighbour entry.
 */
import { AcceptedIndex, type IndexedRecord } from './accepted-index';
import type { EventEmitter } from 'eventemitter3';
import { checkNodeWireGuard, vtepMacFor, type NodeWireGuard, type OverlayMode, type OverlayNode } from '../overlay/modes';
import { FAMILIES, MAX_POD_PREFIX6, MIN_POD_PREFIX6, checkLinkLocal6, checkStack, normalStack, stackOf, type NodeStack } from '../overlay/stack';
import { maskedText, parseAddress, parsePrefix, type ParsedAddress, type ParsedPrefix } from '../values/address';
import { canonicalMac, checkMac, formatMac, isMulticastMac, ZERO_MAC } from '../values/mac';
import { parseIPv4 } from '../values/ip';
import { V4PrefixParser, prefixContains, prefixCovers, prefixesOverlap, v4HostBits } from '../values/prefix';
import { Problems, ValidationError, describeValue, own } from '../values/problems';
import { addressOf, prefixOf } from './cidr';
import { isUsableNodeAddress } from '../overlay/stack';
import { isLinkLocal6, isV4Mapped } from '../values/address';

/** What one host publishes about itself. */
export interface NodeRecord extends OverlayNode {
  /** The host's name: 1..253 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
  name: string;
  /** The primary underlay address (IPv4 or IPv6). */
  nodeIP: string;
  /** The primary pod subnet (IPv4 or IPv6). */
  podCIDR: string;
  /** Dual-stack underlay: both addresses, primary first (absent for a single family). */
  nodeIPs?: string[];
  /** Dual-stack pods: both subnets, primary first (absent for a single family). */
  podCIDRs?: string[];
  /** The MAC of the host's VTEP on the IPv4 underlay (vxlan). Agents always publish it. */
  vtepMac?: string;
  /** The MAC of the host's VTEP on the IPv6 underlay (vxlan). Agents with an IPv6 node IP publish it. */
  vtepMac6?: string;
  /** The overlay mode the host runs. */
  mode?: OverlayMode;
  /** The netlink-agent version the host runs. */
  version?: string;
  /** Its WireGuard public key and port (wireguard mode). */
  wireguard?: NodeWireGuard;
  /** Its IPv6 link-local address on the underlay segment (host-gw with IPv6 pods and no global IPv6 node IP). */
  linkLocal6?: string;
}

/** A record that was not accepted, and why. */
export interface SkippedRecord {
  /** Where it came from: an etcd key or "FILE#index". */
  source: string;
  /** The name it claims, when it has a readable one. */
  name?: string;
  reason: string;
}

/** Connection state of a membership source. */
export type MembershipStatus =
  | { state: 'connected' }
  /** The source cannot be read; the last known node list stays in force. */
  | { state: 'disconnected'; error: Error; retryInMs: number };

export interface MembershipEvents {
  /** The full, validated node list (this host included), sorted by name; only when it changed. */
  nodes: (nodes: NodeRecord[]) => void;
  /** The set of skipped records changed: every record skipped now (empty when none is). */
  skipped: (skipped: SkippedRecord[]) => void;
  /** Connection changes (only transitions are reported). */
  status: (status: MembershipStatus) => void;
  /** The source was read in full and the node list is in sync with it (etcd: at this store
   * revision; a node file: read, or checked unchanged). For metrics: how stale the list may be. */
  read: (info: { revision?: string }) => void;
  /** Something worth a log line that is not an error (e.g. another agent uses our name). */
  warning: (message: string) => void;
  /** A failure that the source retries by itself. */
  error: (error: Error) => void;
  /**
   * A failure that stopped the source for good (another live agent took this host's name):
   * the node list stays as it was, and the caller should stop (the CLI exits 1).
   */
  fatal: (error: Error) => void;
}

/**
 * A source of cluster membership. start() registers this host (where the source can) and
 * resolves with this host's record once the first complete node list is known; from then on
 * 'nodes' is emitted whenever the list changes. A source never emits a shorter list because it
 * cannot reach its store: it keeps the last known one and reports 'status'.
 */
export interface Membership extends EventEmitter<MembershipEvents> {
  /** Registers this host (where the source can) and resolves with its record once the first
   * complete node list is known. */
  start(): Promise<NodeRecord>;
  /** The last node list (empty before start() resolved). */
  nodes(): NodeRecord[];
  /** This host's record (undefined before start() resolved). */
  self(): NodeRecord | undefined;
  /** Reads the source again now, as after a change (e.g. on SIGHUP). */
  resync(): void;
  /** Stops watching. The kernel is not touched. */
  stop(): Promise<void>;
}

export const OVERLAY_MODES: readonly OverlayMode[] = ['host-gw', 'ipip', 'vxlan', 'hybrid', 'wireguard'];

const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/;
/** Pod subnets shorter than /8 would capture most of the address space: refused. */
export const MIN_POD_PREFIX = 8;
/** A pod subnet needs a gateway address and room for pods. */
export const MAX_POD_PREFIX = 30;
/** The largest record value read from a store; anything bigger is skipped unread. */
export const MAX_RECORD_BYTES = 4096;

/** Checks a node name; adds a problem when it is not usable as a name and an etcd key part. */
export function checkNodeName(p: Problems, path: string, v: unknown): v is string {
  if (typeof v !== 'string' || !NAME_RE.test(v)) {
    p.add(path, `${JSON.stringify(v)} is not a node name (1..253 of A-Z a-z 0-9 . _ -, alphanumeric at both ends)`);
    return false;
  }
  return true;
}

/** Checks a pod subnet (of `family` when given): no host bits, IPv4 /8../30, IPv6 /48../120. */
export function checkPodCIDR(p: Problems, path: string, v: unknown, family?: 4 | 6): ParsedPrefix | undefined {
  const pre = parsePrefix(p, path, v, 'reject', family);
  if (!pre) return undefined;
  const [min, max] = pre.family === 4 ? [MIN_POD_PREFIX, MAX_POD_PREFIX] : [MIN_POD_PREFIX6, MAX_POD_PREFIX6];
  if (pre.prefixLength < min || pre.prefixLength > max) {
    p.add(path, `${pre.prefix}: ${pre.family === 6 ? 'an IPv6 pod subnet' : 'a pod subnet'} must be /${min}../${max}`);
    return undefined;
  }
  return pre;
}

/** Checks a node's underlay address (of `family` when given): usable by a host (no loopback,
 * multicast, unspecified; for IPv6 no link-local and no IPv4-mapped address). */
export function checkNodeIP(p: Problems, path: string, v: unknown, family?: 4 | 6): ParsedAddress | undefined {
  const a = parseAddress(p, path, v, family);
  if (a && !isUsableNodeAddress(a)) {
    p.add(path, isV4Mapped(a) ? `${a.text} is an IPv4-mapped address: give the IPv4 address itself` : isLinkLocal6(a) ? `${a.text} is link-local: a node needs a global or unique-local address` : `${describeValue(v)} is not a unicast host address`);
    return undefined;
  }
  return a;
}

/** Checks a VTEP MAC: unicast and not all zeros. Returns it canonical (lower case). */
export function checkVtepMac(p: Problems, path: string, v: unknown): string | undefined {
  const mac = checkMac(p, path, v);
  if (mac === undefined) return undefined;
  if (isMulticastMac(mac)) p.add(path, `${mac} is a multicast address, a VTEP needs a unicast one`);
  else if (mac === ZERO_MAC) p.add(path, 'the all-zero MAC is not a VTEP address');
  else return mac;
  return undefined;
}

/** The largest version string a record may carry. */
export const MAX_VERSION_LENGTH = 64;

/**
 * Validates one record as read from a store or a file and returns it normalized (canonical
 * address and prefix text, lower-case MAC, only the known fields; only own properties are
 * read). Throws ValidationError listing every problem. `path` prefixes the problem paths.
 */
export function validateNodeRecord(raw: unknown, path = 'node'): NodeRecord {
  return validatedRecord(raw, path).rec;
}

/** @internal validateNodeRecord, with the stack it parsed on the way (screening needs both:
 * parsing the normalized record again cost a third of a cold screening of 10,000 records). */
export function validatedRecord(raw: unknown, path: string): { rec: NodeRecord; stack: NodeStack } {
  return quickRecord(raw) ?? fullyValidatedRecord(raw, path);
}

/** The prefix parser of quickRecord (it reads the fields right after each parse). */
const v4Prefix = new V4PrefixParser();

/**
 * @internal validatedRecord for the record nearly every agent publishes: an IPv4 node IP and
 * pod subnet, and at most vtepMac, mode, version and wireguard besides its name. It checks that
 * record in one pass, without problem paths or messages, and returns exactly what the full
 * validation returns for it; anything else (any problem, any other field or family) gives
 * undefined, and the full validation decides and words the problems. A cold start screens
 * 10,000 such records, and the generic checks were most of its time.
 */
export function quickRecord(raw: unknown): { rec: NodeRecord; stack: NodeStack } | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const r = raw as object;
  if (own(r, 'nodeIPs') !== undefined || own(r, 'podCIDRs') !== undefined || own(r, 'vtepMac6') !== undefined || own(r, 'linkLocal6') !== undefined) return undefined;
  const name = own(r, 'name');
  const nodeIP = own(r, 'nodeIP');
  const podCIDR = own(r, 'podCIDR');
  if (typeof name !== 'string' || typeof nodeIP !== 'string' || typeof podCIDR !== 'string' || !NAME_RE.test(name)) return undefined;
  // The node IP: a dotted quad (parseIPv4 takes the canonical form only) that a host may have
  // (isUsableNodeAddress for IPv4: not 0/8, loopback, multicast nor 240/4).
  const ip = parseIPv4(nodeIP);
  const first = ip >>> 24;
  if (ip < 0 || first === 0 || first === 127 || first >= 224) return undefined;
  // The pod subnet: "a.b.c.d/n" as parsePrefix reads it (no leading zeros: canonical as written),
  // /MIN_POD_PREFIX../MAX_POD_PREFIX, no host bits.
  if (!v4Prefix.parse(podCIDR) || !v4Prefix.slashed) return undefined;
  const net = v4Prefix.address;
  const length = v4Prefix.length;
  if (length < MIN_POD_PREFIX || length > MAX_POD_PREFIX || v4HostBits(net, length)) return undefined;
  const vtepMac = own(r, 'vtepMac');
  const mac = vtepMac === undefined ? undefined : canonicalMac(vtepMac);
  if (vtepMac !== undefined && (mac === undefined || isMulticastMac(mac) || mac === ZERO_MAC)) return undefined;
  const mode = own(r, 'mode');
  if (mode !== undefined && !OVERLAY_MODES.includes(mode as OverlayMode)) return undefined;
  const version = own(r, 'version');
  if (version !== undefined && (typeof version !== 'string' || version.length > MAX_VERSION_LENGTH)) return undefined;
  const wireguard = own(r, 'wireguard');
  if (wireguard !== undefined && !checkNodeWireGuard(new Problems(), '', wireguard)) return undefined;
  const ipBytes = Buffer.allocUnsafe(4);
  ipBytes.writeUInt32BE(ip, 0);
  const netBytes = Buffer.allocUnsafe(4);
  netBytes.writeUInt32BE(net, 0);
  const stack: NodeStack = {
    ip: { 4: { family: 4, bytes: ipBytes, text: nodeIP } },
    cidr: { 4: { family: 4, bytes: netBytes, text: podCIDR.slice(0, podCIDR.indexOf('/')), prefixLength: length, prefix: podCIDR } },
  };
  const out = { name, nodeIP, podCIDR } as NodeRecord;
  if (mac !== undefined) out.vtepMac = mac;
  if (mode !== undefined) out.mode = mode as OverlayMode;
  if (version !== undefined) out.version = version as string;
  if (wireguard !== undefined) {
    const wg = wireguard as NodeWireGuard;
    out.wireguard = { publicKey: wg.publicKey, ...(wg.port !== undefined ? { port: wg.port } : {}) };
  }
  return { rec: out, stack };
}

/** @internal validatedRecord by the generic checks: every record, every problem worded. */
export function fullyValidatedRecord(raw: unknown, path: string): { rec: NodeRecord; stack: NodeStack } {
  const p = new Problems();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    p.add(path, 'a node record must be a JSON object');
    p.throwIfAny('invalid node record');
  }
  const r = raw as object;
  const name = own(r, 'name');
  const nodeIP = own(r, 'nodeIP');
  const podCIDR = own(r, 'podCIDR');
  const nodeIPs = own(r, 'nodeIPs');
  const podCIDRs = own(r, 'podCIDRs');
  const vtepMac = own(r, 'vtepMac');
  const vtepMac6 = own(r, 'vtepMac6');
  const mode = own(r, 'mode');
  const version = own(r, 'version');
  const wireguard = own(r, 'wireguard');
  const linkLocal6Raw = own(r, 'linkLocal6');
  const linkLocal6 = linkLocal6Raw !== undefined ? checkLinkLocal6(p, `${path}.linkLocal6`, linkLocal6Raw) : undefined;
  const wg = wireguard !== undefined && checkNodeWireGuard(p, `${path}.wireguard`, wireguard) ? (wireguard as NodeWireGuard) : undefined;
  checkNodeName(p, `${path}.name`, name);
  const stack = checkStack(p, path, { nodeIP, podCIDR, nodeIPs, podCIDRs }, { usableAddresses: true, podLength4: [MIN_POD_PREFIX, MAX_POD_PREFIX], allowOwnAddress: true });
  const mac = vtepMac !== undefined ? checkVtepMac(p, `${path}.vtepMac`, vtepMac) : undefined;
  const mac6 = vtepMac6 !== undefined ? checkVtepMac(p, `${path}.vtepMac6`, vtepMac6) : undefined;
  if (stack && mac !== undefined && !stack.ip[4]) p.add(`${path}.vtepMac`, 'is the MAC of the VTEP on the IPv4 underlay, and the record has no IPv4 node IP');
  if (stack && mac6 !== undefined && !stack.ip[6]) p.add(`${path}.vtepMac6`, 'is the MAC of the VTEP on the IPv6 underlay, and the record has no IPv6 node IP');
  if (mode !== undefined && !OVERLAY_MODES.includes(mode as OverlayMode)) {
    p.add(`${path}.mode`, `unknown mode ${describeValue(mode)} (one of ${OVERLAY_MODES.join(', ')})`);
  }
  if (version !== undefined && (typeof version !== 'string' || version.length > MAX_VERSION_LENGTH)) {
    p.add(`${path}.version`, `must be a string of at most ${MAX_VERSION_LENGTH} characters`);
  }
  p.throwIfAny('invalid node record');
  // Both parsed as an address / a prefix above: only an IPv6 one has a ':'.
  const primaryIP = (nodeIP as string).includes(':') ? 6 : 4;
  const primaryCIDR = (podCIDR as string).includes(':') ? 6 : 4;
  const out: NodeRecord = { name: name as string, ...normalStack(stack!, primaryIP, primaryCIDR) } as NodeRecord;
  if (mac !== undefined) out.vtepMac = mac;
  if (mac6 !== undefined) out.vtepMac6 = mac6;
  if (mode !== undefined) out.mode = mode as OverlayMode;
  if (version !== undefined) out.version = version as string;
  if (wg) out.wireguard = { publicKey: wg.publicKey, ...(wg.port !== undefined ? { port: wg.port } : {}) };
  if (linkLocal6 !== undefined) out.linkLocal6 = linkLocal6;
  return { rec: out, stack: stack! };
}

/** The VTEP MAC a node's record means on the IPv4 underlay: the one it gives, or the one
 * derived from its IPv4 node IP (what the overlay programs); undefined when there is neither. */
export function effectiveVtepMac(node: Pick<NodeRecord, 'nodeIP' | 'vtepMac' | 'nodeIPs'>): string | undefined {
  if (node.vtepMac !== undefined) return node.vtepMac.toLowerCase();
  const v4 = [node.nodeIP, ...(node.nodeIPs ?? [])].find((x) => addressOf(x, 4));
  return v4 !== undefined ? vtepMacFor(v4) : undefined;
}

/** Every VTEP MAC a validated record means (per underlay family it has), with whether it is the derived one. */
function vtepMacsOf(rec: NodeRecord, s: NodeStack): Array<{ mac: string; derived: boolean }> {
  return listOf(vtepMacOn(rec, s, 4), vtepMacOn(rec, s, 6));
}

/** vtepMacOf(rec, s, f) and whether it is the derived one, without parsing the node IP's text
 * again for vtepMacFor; undefined without a node IP of family f. */
function vtepMacOn(rec: NodeRecord, s: NodeStack, f: 4 | 6): { mac: string; derived: boolean } | undefined {
  const ip = s.ip[f];
  if (!ip) return undefined;
  const derived = derivedVtepMac(ip);
  const mac = ((f === 4 ? rec.vtepMac : rec.vtepMac6) ?? derived).toLowerCase();
  return { mac, derived: mac === derived };
}

/** vtepMacFor(a.text), from the parsed address: "0e:6e:" and the 4 IPv4 bytes, or "0e:6f:" and
 * the last 4 bytes of an IPv6 address. */
function derivedVtepMac(a: ParsedAddress): string {
  return (a.family === 4 ? '0e:6e:' : '0e:6f:') + formatMac(a.bytes, a.bytes.length - 4, 4);
}

/** Checks ScreenOptions.protectedPrefixes: an array of prefixes (interface addresses with
 * their length are fine: "10.57.4.20/24" protects 10.57.4.0/24). */
export function checkProtectedPrefixes(p: Problems, v: unknown, path = 'protectedPrefixes'): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) p.add(path, `expected an array of prefixes, got ${describeValue(v)}`);
  else v.forEach((x, i) => parsePrefix(p, `${path}[${i}]`, x, 'keep'));
}

/** A record as found in a source, before validation. */
export interface CandidateRecord {
  source: string;
  /** The parsed JSON value (or undefined when the source could not parse it). */
  value: unknown;
  /** Set when the source already knows the record is unusable (unparsable JSON, too big). */
  error?: string;
  /** The name the location implies (an etcd key's last part): the record must agree. */
  expectedName?: string;
}

/** The host-specific and source-specific rules screenNodes applies besides its own. */
export interface ScreenOptions {
  /** When set, every podCIDR of its family must lie inside it (the cluster's pod range). */
  clusterCIDR?: string;
  /** The cluster's pod ranges, at most one per family (dual stack); each binds its family. */
  clusterCIDRs?: readonly string[];
  /**
   * Prefixes no podCIDR may overlap: this host's underlay subnets (a peer's podCIDR that
   * covers part of the underlay would take that part away from the underlay).
   */
  protectedPrefixes?: readonly string[];
  /**
   * A rule of the source, asked for every record that passed the others (e.g. "its podCIDR is
   * reserved for it"): returns the reason to skip it, or undefined to accept it.
   */
  admit?: (record: NodeRecord, candidate: CandidateRecord) => string | undefined;
  /**
   * Validation results kept between screenings: a candidate object seen before (the same
   * object, i.e. the same stored version of a record) is not validated again.
   */
  cache?: ScreenCache;
}

/**
 * What screenNodes learned about each candidate object (its validated record, or why it is
 * unusable), kept for as long as the candidate object lives. A source that keeps the candidate
 * of an unchanged record (EtcdMembership's incremental reads) screens 10,000 records without
 * validating 9,999 of them again.
 */
export class ScreenCache {
  private readonly checked = new WeakMap<CandidateRecord, Checked>();

  /** @internal */
  get(c: CandidateRecord): Checked | undefined {
    return this.checked.get(c);
  }

  /** @internal */
  set(c: CandidateRecord, x: Checked): void {
    this.checked.set(c, x);
  }
}

/** What screenNodes decided: the node list, and every record left out with its reason. */
export interface ScreenResult {
  /** This host and the accepted peers, sorted by name. */
  nodes: NodeRecord[];
  skipped: SkippedRecord[];
  /** Accepted records worth a remark (a different mode than ours). */
  warnings: string[];
}

/** @internal What screenNodes made of one candidate before comparing it with others. */
export interface Checked {
  c: CandidateRecord;
  rec?: NodeRecord;
  reason?: string;
  macs?: Array<{ mac: string; derived: boolean }>;
  /** What the index of accepted records takes (made with the record: the parsed stack it comes
   * from is not kept, 10,000 records' worth of objects the collector would copy). */
  indexed?: IndexedRecord;
}

/**
 * The values given, in order, as an array of exactly their length. A record's lists hold one or
 * two values, and an array grown by push() from [] takes room for 17 (152 bytes): those were half
 * of what 10,000 screened records kept in memory, and the collector copied them.
 */
function listOf<T>(a: T | undefined, b: T | undefined): T[] {
  if (a === undefined) return b === undefined ? [] : [b];
  return b === undefined ? [a] : [a, b];
}

/** A stack's addresses, IPv4 first. */
function addressesOf(s: NodeStack): ParsedAddress[] {
  return listOf(s.ip[4], s.ip[6]);
}

/** A stack's pod subnets, IPv4 first. */
function netsOf(s: NodeStack): ParsedPrefix[] {
  return listOf(s.cidr[4], s.cidr[6]);
}

/** @internal What the rules of one screening take from this host and the options (made once per screening). */
export interface ScreenContext {
  self: NodeRecord;
  selfIPs: ParsedAddress[];
  selfNets: ParsedPrefix[];
  selfMacs: Set<string>;
  clusters: ParsedPrefix[];
  protectedNets: ParsedPrefix[];
}

/** @internal */
export function screenContext(self: NodeRecord, options: ScreenOptions): ScreenContext {
  const selfStack = stackOf(self);
  return {
    self,
    selfIPs: addressesOf(selfStack),
    selfNets: netsOf(selfStack),
    selfMacs: new Set(vtepMacsOf(self, selfStack).map((m) => m.mac)),
    clusters: [options.clusterCIDR, ...(options.clusterCIDRs ?? [])].filter((x): x is string => x !== undefined).map((t) => prefixOf(t)).filter((x): x is ParsedPrefix => x !== undefined),
    protectedNets: (options.protectedPrefixes ?? []).map((t) => parsePrefix(new Problems(), '', t, 'keep')).filter((x): x is ParsedPrefix => x !== undefined),
  };
}

/** @internal A candidate validated (once per candidate object when a cache is given). */
export function checkedOf(c: CandidateRecord, cache: ScreenCache | undefined): Checked {
  const known = cache?.get(c);
  if (known) return known;
  const x = checkCandidate(c);
  cache?.set(c, x);
  return x;
}

/** @internal The MACs a valid candidate derives from its node IPs, which it may own (none for a
 * record claiming this host's name). */
export function derivedMacsOf(x: Checked, self: NodeRecord): string[] {
  if (!x.rec || x.rec.name === self.name) return [];
  const [a, b] = x.macs!;
  return listOf(a?.derived ? a.mac : undefined, b?.derived ? b.mac : undefined);
}

/** @internal What a valid candidate brings to the indexes (made with its record, see checkCandidate). */
export function indexedOf(x: Checked): IndexedRecord {
  return x.indexed!;
}

// The first element of a list meeting a condition, as plain loops: fixedVerdict runs them for
// every record of a screening, and closures per record were a measurable part of it.

/** The first address in `list` with the text of `a`. */
function sameText(list: readonly ParsedAddress[], a: ParsedAddress): ParsedAddress | undefined {
  for (const b of list) if (b.text === a.text) return b;
  return undefined;
}

/** The first prefix in `list` overlapping `net`. */
function firstOverlapping(list: readonly ParsedPrefix[], net: ParsedPrefix): ParsedPrefix | undefined {
  for (const n of list) if (prefixesOverlap(n, net)) return n;
  return undefined;
}

/** The first address in `list` inside `net`. */
function firstInside(net: ParsedPrefix, list: readonly ParsedAddress[]): ParsedAddress | undefined {
  for (const a of list) if (prefixContains(net, a.bytes)) return a;
  return undefined;
}

/** The first prefix in `list` of `net`'s family. */
function firstOfFamily(list: readonly ParsedPrefix[], net: ParsedPrefix): ParsedPrefix | undefined {
  for (const n of list) if (n.family === net.family) return n;
  return undefined;
}

/** @internal The part of a decision that depends on no other record: `{ reason }` to skip it,
 * 'own' for our own record as we publish it (left out silently), undefined when the others
 * (and the source's rule) decide. */
export function fixedVerdict(ctx: ScreenContext, x: Checked): { reason: string } | 'own' | undefined {
  if (!x.rec) return { reason: x.reason! };
  const rec = x.rec;
  const self = ctx.self;
  if (x.c.expectedName !== undefined && rec.name !== x.c.expectedName) return { reason: `the record names "${rec.name}" but is stored under "${x.c.expectedName}"` };
  if (rec.name === self.name) {
    if (stackKey(rec) !== stackKey(self)) return { reason: `claims this host's name with nodeIP ${(rec.nodeIPs ?? [rec.nodeIP]).join(',')} and podCIDR ${(rec.podCIDRs ?? [rec.podCIDR]).join(',')}` };
    return 'own'; // our own record: self is authoritative
  }
  const { ips, nets } = indexedOf(x);
  for (const ip of ips) if (sameText(ctx.selfIPs, ip)) return { reason: `nodeIP ${ip.text} is this host's address` };
  if (rec.wireguard && rec.wireguard.publicKey === self.wireguard?.publicKey) return { reason: 'its WireGuard public key is this host\'s' };
  for (const net of nets) {
    const mine = firstOverlapping(ctx.selfNets, net);
    if (mine) return { reason: `podCIDR ${net.prefix} overlaps this host's podCIDR ${mine.prefix}` };
    const selfIP = firstInside(net, ctx.selfIPs);
    if (selfIP) return { reason: `podCIDR ${net.prefix} covers the node address ${selfIP.text} (this host's)` };
    const ownIP = firstInside(net, ips);
    if (ownIP) return { reason: `podCIDR ${net.prefix} covers the node address ${ownIP.text} (its own)` };
    const cluster = firstOfFamily(ctx.clusters, net);
    if (cluster && !prefixCovers(cluster, net)) return { reason: `podCIDR ${net.prefix} is outside the cluster CIDR ${cluster.prefix}` };
    const under = firstOverlapping(ctx.protectedNets, net);
    if (under) return { reason: `podCIDR ${net.prefix} overlaps the underlay subnet ${maskedPrefix(under)} of this host` };
  }
  return undefined;
}

/** @internal The VTEP MAC rules of a candidate that passed fixedVerdict: `ownerOf(mac)` names
 * the first record (in screening order) deriving that MAC. */
export function macRule(ctx: ScreenContext, x: Checked, ownerOf: (mac: string) => string | undefined): string | undefined {
  for (const m of x.macs!) {
    if (ctx.selfMacs.has(m.mac)) return `vtepMac ${m.mac} is this host's VTEP MAC`;
    const owner = ownerOf(m.mac);
    if (owner !== undefined && owner !== x.rec!.name && !m.derived) return `vtepMac ${m.mac} belongs to node "${owner}" (derived from its nodeIP)`;
  }
  return undefined;
}

/** @internal Why candidate x may not be accepted after the accepted record `a` (earlier in
 * screening order), or undefined when they do not collide. */
export function collisionReason(x: Checked, a: Checked): string | undefined {
  const rec = x.rec!;
  const { ips, nets, macs } = indexedOf(x);
  const o = indexedOf(a);
  const earlier = `node "${o.name}" (registered earlier)`;
  if (o.name === rec.name) return `its name collides with ${earlier}`;
  for (const ip of ips) if (o.ips.some((b) => b.text === ip.text)) return `nodeIP ${ip.text} collides with ${earlier}`;
  for (const net of nets) {
    if (o.nets.some((b) => prefixesOverlap(b, net))) return `podCIDR ${net.prefix} collides with ${earlier}`;
    if (o.ips.some((b) => prefixContains(net, b.bytes))) return `podCIDR ${net.prefix} covers the node address of ${earlier}`;
  }
  for (const ip of ips) if (o.nets.some((b) => prefixContains(b, ip.bytes))) return `nodeIP ${ip.text} lies in the podCIDR of ${earlier}`;
  for (const m of macs) if (o.macs.includes(m)) return `vtepMac ${m} collides with ${earlier}`;
  if (rec.wireguard && a.rec!.wireguard?.publicKey === rec.wireguard.publicKey) return `its WireGuard public key is node "${o.name}"'s (registered earlier)`;
  return undefined;
}

/** @internal A skipped candidate as screenNodes reports it. */
export function skippedOf(x: Checked, reason: string): SkippedRecord {
  const claimed = nameOf(x.c.value);
  return { source: x.c.source, ...(claimed !== undefined ? { name: claimed } : {}), reason };
}

/** @internal The remark on an accepted record, if any. */
export function modeWarning(ctx: ScreenContext, rec: NodeRecord): string | undefined {
  const self = ctx.self;
  return rec.mode !== undefined && self.mode !== undefined && rec.mode !== self.mode ? `node "${rec.name}" runs mode ${rec.mode}, this host runs ${self.mode}` : undefined;
}

/** @internal The order of the node list (names are unique in it). */
export const byName = (a: NodeRecord, b: NodeRecord): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Validates candidates and keeps the ones this host may program: this host's own record is
 * always in the result (`self` is authoritative, whatever the source says about us). The rules
 * are per record: a record that breaks one is skipped with its reason and never blocks the
 * others. A candidate is skipped when it is malformed, claims this host's name with other data,
 * has one of our node IPs or VTEP MACs, has a podCIDR that overlaps ours, covers a node's
 * address, overlaps a protected prefix or lies outside the cluster CIDR of its family, fails
 * the source's own rule (`admit`), or collides (name, a node IP, a podCIDR, a VTEP MAC) with a
 * record accepted before it. Every rule holds per family (IPv4 and IPv6 alike). Candidates are
 * taken in the order given, so earlier ones (older, in etcd) win collisions, with one
 * exception: a VTEP MAC belongs to the node it is derived from (vtepMacFor(nodeIP)), so a
 * record that copies another's derived MAC loses whatever the order.
 *
 * IncrementalScreener (incremental-screen.ts) gives the same result and keeps its state between
 * changes, so that one changed record costs a few lookups.
 */
export function screenNodes(self: NodeRecord, candidates: CandidateRecord[], options: ScreenOptions = {}): ScreenResult {
  const ctx = screenContext(self, options);
  const accepted: Checked[] = [];
  const index = new AcceptedIndex();
  const skipped: SkippedRecord[] = [];
  const warnings: string[] = [];

  // First pass: validate every candidate, and note whose MAC each derived MAC is.
  const checked: Checked[] = candidates.map((c) => checkedOf(c, options.cache));
  const derivedOwner = new Map<string, string>();
  for (const x of checked) {
    for (const mac of derivedMacsOf(x, self)) if (!derivedOwner.has(mac)) derivedOwner.set(mac, x.rec!.name);
  }
  const ownerOf = (mac: string) => derivedOwner.get(mac);

  const ruleBreak = (x: Checked): string | undefined => {
    const why = macRule(ctx, x, ownerOf);
    if (why) return why;
    // Only the accepted records the index says may collide, in acceptance order: the same
    // first collision, with the same message, as comparing with every one of them.
    for (const k of index.mayCollide(indexedOf(x))) {
      const c = collisionReason(x, accepted[k]);
      if (c) return c;
    }
    return options.admit?.(x.rec!, x.c);
  };

  for (const x of checked) {
    const fixed = fixedVerdict(ctx, x);
    if (fixed === 'own') continue;
    const reason = fixed ? fixed.reason : ruleBreak(x);
    if (reason) {
      skipped.push(skippedOf(x, reason));
      continue;
    }
    const warning = modeWarning(ctx, x.rec!);
    if (warning) warnings.push(warning);
    index.add(accepted.length, indexedOf(x));
    accepted.push(x);
  }
  const nodes = [self, ...accepted.map((a) => a.rec!)].sort(byName);
  return { nodes, skipped, warnings };
}

/** Validates one candidate on its own (the part of screening that does not depend on others). */
function checkCandidate(c: CandidateRecord): Checked {
  if (c.error) return { c, reason: c.error };
  try {
    const { rec, stack } = validatedRecord(c.value, c.source);
    const macs = vtepMacsOf(rec, stack);
    return { c, rec, macs, indexed: { name: rec.name, ips: addressesOf(stack), nets: netsOf(stack), macs: macs.map((m) => m.mac), wireguardKey: rec.wireguard?.publicKey, values: undefined } };
  } catch (e) {
    return { c, reason: e instanceof ValidationError ? e.problems.map((x) => x.message).join('; ') : String(e) };
  }
}

/** A record's addresses and subnets, for comparing two records of one node. */
function stackKey(n: NodeRecord): string {
  const s = stackOf(n);
  return FAMILIES.map((f) => `${s.ip[f]?.text ?? ''}|${s.cidr[f]?.prefix ?? ''}`).join(' ');
}

/** "10.57.4.20/24" (an interface address) as the subnet "10.57.4.0/24". */
function maskedPrefix(p: ParsedPrefix): string {
  return `${maskedText(p, p.prefixLength)}/${p.prefixLength}`;
}

function nameOf(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const n = (v as { name?: unknown }).name;
  return typeof n === 'string' && n.length <= 253 ? n : undefined;
}

/** The node list as the overlay takes it (only the fields it uses). */
export function toOverlayNodes(nodes: NodeRecord[]): OverlayNode[] {
  return nodes.map(({ name, nodeIP, podCIDR, nodeIPs, podCIDRs, vtepMac, vtepMac6, wireguard, linkLocal6 }) => ({
    name,
    nodeIP,
    podCIDR,
    ...(nodeIPs ? { nodeIPs: [...nodeIPs] } : {}),
    ...(podCIDRs ? { podCIDRs: [...podCIDRs] } : {}),
    ...(vtepMac ? { vtepMac } : {}),
    ...(vtepMac6 ? { vtepMac6 } : {}),
    ...(wireguard ? { wireguard } : {}),
    ...(linkLocal6 ? { linkLocal6 } : {}),
  }));
}

/** Stable identity of a node list, to emit 'nodes' only on change. */
export function nodesKey(nodes: NodeRecord[]): string {
  return JSON.stringify(nodes.map((n) => [n.name, n.nodeIP, n.podCIDR, n.vtepMac ?? '', n.mode ?? '', n.version ?? '', n.nodeIPs ?? [], n.podCIDRs ?? [], n.vtepMac6 ?? '', n.wireguard?.publicKey ?? '', n.wireguard?.port ?? 0, n.linkLocal6 ?? '']));
}

/** Stable identity of a skipped set. */
export function skippedKey(skipped: SkippedRecord[]): string {
  return JSON.stringify(skipped.map((s) => [s.source, s.reason]).sort());
}

/**
 * What both memberships do with a screening result: each warning once, and 'skipped' and
 * 'nodes' only when they differ from the last ones reported.
 */
export class ScreenedChanges {
  /** The key of the last list reported; undefined when not computed yet (see publish). */
  private listKey: string | undefined = '';
  private lastNodes: NodeRecord[] = [];
  private skipKey = '[]';
  private readonly warned = new Set<string>();

  constructor(
    private readonly report: {
      warning(message: string): void;
      skipped(skipped: SkippedRecord[]): void;
      nodes(nodes: NodeRecord[]): void;
    },
  ) {}

  /** Reports a warning the first time it is seen. */
  warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.report.warning(message);
  }

  /**
   * Reports a screening result's new warnings, and its skipped and node lists when changed.
   * `nodesChanged`, when the caller knows it (an IncrementalScreener's delta since the result
   * reported last), says whether the node list differs from the last one reported: the list's
   * key, O(n) at every screening, is then not computed.
   */
  publish(result: ScreenResult, nodesChanged?: boolean): void {
    for (const w of result.warnings) this.warnOnce(w);
    const sk = skippedKey(result.skipped);
    if (sk !== this.skipKey) {
      this.skipKey = sk;
      this.report.skipped(result.skipped);
    }
    if (nodesChanged === false) return;
    if (nodesChanged === undefined) {
      const key = nodesKey(result.nodes);
      this.listKey ??= nodesKey(this.lastNodes);
      if (key === this.listKey) return;
      this.listKey = key;
    } else this.listKey = undefined;
    this.lastNodes = result.nodes;
    this.report.nodes(result.nodes);
  }
}
