/**
 * Cluster membership: the node records hosts publish about themselves, how a record is checked
 * before it may reach the kernel, and the interface every membership source (etcd, a static
 * file) implements.
 *
 * A record from the store is input from another machine: it is validated like a desired state
 * (every field), then screened against this host and the records already accepted. A record
 * that fails is skipped with a reason and never becomes a route, FDB or neighbour entry.
 */
import type { EventEmitter } from 'eventemitter3';
import type { OverlayMode, OverlayNode } from '../overlay/modes';
import { checkMac } from '../values/mac';
import { Problems, ValidationError } from '../values/problems';
import {
  containsAddress,
  containsPrefix,
  isUsableNodeAddress,
  overlaps,
  parseIPv4Number,
  parsePrefix4,
  type Prefix4,
} from './cidr';

/** What one host publishes about itself. */
export interface NodeRecord extends OverlayNode {
  /** The host's name: 1..253 characters of [A-Za-z0-9._-], starting and ending alphanumeric. */
  name: string;
  nodeIP: string;
  podCIDR: string;
  /** The MAC of the host's VTEP (vxlan). Agents always publish it. */
  vtepMac?: string;
  /** The overlay mode the host runs. */
  mode?: OverlayMode;
  /** The netlink-agent version the host runs. */
  version?: string;
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
  /** Something worth a log line that is not an error (e.g. another agent uses our name). */
  warning: (message: string) => void;
  /** A failure that the source retries by itself. */
  error: (error: Error) => void;
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
  /** Stops watching. The kernel is not touched. */
  stop(): Promise<void>;
}

export const OVERLAY_MODES: readonly OverlayMode[] = ['host-gw', 'ipip', 'vxlan', 'hybrid'];

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

/** Checks a pod subnet: IPv4, no host bits, /8../30. */
export function checkPodCIDR(p: Problems, path: string, v: unknown): Prefix4 | undefined {
  const pre = parsePrefix4(p, path, v);
  if (!pre) return undefined;
  if (pre.length < MIN_POD_PREFIX || pre.length > MAX_POD_PREFIX) {
    p.add(path, `${pre.text}: a pod subnet must be /${MIN_POD_PREFIX}../${MAX_POD_PREFIX}`);
    return undefined;
  }
  return pre;
}

/**
 * Validates one record as read from a store or a file and returns it normalized (canonical
 * address and prefix text, lower-case MAC, only the known fields). Throws ValidationError
 * listing every problem. `path` prefixes the problem paths.
 */
export function validateNodeRecord(raw: unknown, path = 'node'): NodeRecord {
  const p = new Problems();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    p.add(path, 'a node record must be a JSON object');
    p.throwIfAny('invalid node record');
  }
  const r = raw as Record<string, unknown>;
  checkNodeName(p, `${path}.name`, r.name);
  const ip = parseIPv4Number(p, `${path}.nodeIP`, r.nodeIP);
  if (ip !== undefined && !isUsableNodeAddress(ip)) p.add(`${path}.nodeIP`, `${String(r.nodeIP)} is not a unicast host address`);
  const cidr = checkPodCIDR(p, `${path}.podCIDR`, r.podCIDR);
  let mac: string | undefined;
  if (r.vtepMac !== undefined) {
    mac = checkMac(p, `${path}.vtepMac`, r.vtepMac);
    if (mac) {
      const first = parseInt(mac.slice(0, 2), 16);
      if (first & 1) p.add(`${path}.vtepMac`, `${mac} is a multicast address, a VTEP needs a unicast one`);
      else if (mac === '00:00:00:00:00:00') p.add(`${path}.vtepMac`, 'the all-zero MAC is not a VTEP address');
    }
  }
  if (r.mode !== undefined && !OVERLAY_MODES.includes(r.mode as OverlayMode)) {
    p.add(`${path}.mode`, `unknown mode ${JSON.stringify(r.mode)} (one of ${OVERLAY_MODES.join(', ')})`);
  }
  if (r.version !== undefined && (typeof r.version !== 'string' || r.version.length > 64)) {
    p.add(`${path}.version`, 'must be a string of at most 64 characters');
  }
  p.throwIfAny('invalid node record');
  const out: NodeRecord = { name: r.name as string, nodeIP: formatIP(ip!), podCIDR: cidr!.text };
  if (mac !== undefined) out.vtepMac = mac;
  if (r.mode !== undefined) out.mode = r.mode as OverlayMode;
  if (r.version !== undefined) out.version = r.version as string;
  return out;
}

function formatIP(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
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

export interface ScreenOptions {
  /** When set, every podCIDR must lie inside it. */
  clusterCIDR?: string;
}

export interface ScreenResult {
  /** This host and the accepted peers, sorted by name. */
  nodes: NodeRecord[];
  skipped: SkippedRecord[];
  /** Accepted records worth a remark (a different mode than ours). */
  warnings: string[];
}

/**
 * Validates candidates and keeps the ones this host may program: this host's own record is
 * always in the result (`self` is authoritative, whatever the source says about us). A
 * candidate is skipped when it is malformed, claims this host's name with other data, has our
 * nodeIP, a podCIDR overlapping ours or covering a node's address, lies outside the cluster
 * CIDR, or collides (name, nodeIP, podCIDR) with a candidate accepted before it. Candidates are
 * taken in the order given, so earlier ones (older, in etcd) win collisions.
 */
export function screenNodes(self: NodeRecord, candidates: CandidateRecord[], options: ScreenOptions = {}): ScreenResult {
  const selfNet = parsePrefix4(new Problems(), 'self.podCIDR', self.podCIDR)!;
  const selfIP = parseIPv4Number(new Problems(), 'self.nodeIP', self.nodeIP)!;
  const cluster = options.clusterCIDR ? parsePrefix4(new Problems(), 'clusterCIDR', options.clusterCIDR) : undefined;
  const accepted: Array<{ rec: NodeRecord; ip: number; net: Prefix4 }> = [];
  const skipped: SkippedRecord[] = [];
  const warnings: string[] = [];
  for (const c of candidates) {
    const claimed = nameOf(c.value);
    const skip = (reason: string) => skipped.push({ source: c.source, ...(claimed !== undefined ? { name: claimed } : {}), reason });
    if (c.error) {
      skip(c.error);
      continue;
    }
    let rec: NodeRecord;
    try {
      rec = validateNodeRecord(c.value, c.source);
    } catch (e) {
      skip(e instanceof ValidationError ? e.problems.map((x) => x.message).join('; ') : String(e));
      continue;
    }
    if (c.expectedName !== undefined && rec.name !== c.expectedName) {
      skip(`the record names "${rec.name}" but is stored under "${c.expectedName}"`);
      continue;
    }
    const ip = parseIPv4Number(new Problems(), '', rec.nodeIP)!;
    const net = parsePrefix4(new Problems(), '', rec.podCIDR)!;
    if (rec.name === self.name) {
      if (rec.nodeIP !== self.nodeIP || rec.podCIDR !== self.podCIDR) {
        skip(`claims this host's name with nodeIP ${rec.nodeIP} and podCIDR ${rec.podCIDR}`);
      }
      continue; // our own record: self is authoritative
    }
    if (ip === selfIP) {
      skip(`nodeIP ${rec.nodeIP} is this host's address`);
      continue;
    }
    if (overlaps(net, selfNet)) {
      skip(`podCIDR ${rec.podCIDR} overlaps this host's podCIDR ${self.podCIDR}`);
      continue;
    }
    if (containsAddress(net, selfIP) || containsAddress(net, ip)) {
      skip(`podCIDR ${rec.podCIDR} covers the node address ${containsAddress(net, selfIP) ? self.nodeIP : rec.nodeIP}`);
      continue;
    }
    if (cluster && !containsPrefix(cluster, net)) {
      skip(`podCIDR ${rec.podCIDR} is outside the cluster CIDR ${cluster.text}`);
      continue;
    }
    const clash = accepted.find((a) => a.rec.name === rec.name || a.ip === ip || overlaps(a.net, net) || containsAddress(net, a.ip) || containsAddress(a.net, ip));
    if (clash) {
      const what =
        clash.rec.name === rec.name ? 'its name' : clash.ip === ip ? `nodeIP ${rec.nodeIP}` : overlaps(clash.net, net) ? `podCIDR ${rec.podCIDR}` : 'a node address inside a podCIDR';
      skip(`${what} collides with node "${clash.rec.name}" (registered earlier)`);
      continue;
    }
    if (rec.mode !== undefined && self.mode !== undefined && rec.mode !== self.mode) {
      warnings.push(`node "${rec.name}" runs mode ${rec.mode}, this host runs ${self.mode}`);
    }
    accepted.push({ rec, ip, net });
  }
  const nodes = [self, ...accepted.map((a) => a.rec)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { nodes, skipped, warnings };
}

function nameOf(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const n = (v as { name?: unknown }).name;
  return typeof n === 'string' && n.length <= 253 ? n : undefined;
}

/** The node list as the overlay takes it (only the fields it uses). */
export function toOverlayNodes(nodes: NodeRecord[]): OverlayNode[] {
  return nodes.map(({ name, nodeIP, podCIDR, vtepMac }) => (vtepMac ? { name, nodeIP, podCIDR, vtepMac } : { name, nodeIP, podCIDR }));
}

/** Stable identity of a node list, to emit 'nodes' only on change. */
export function nodesKey(nodes: NodeRecord[]): string {
  return JSON.stringify(nodes.map((n) => [n.name, n.nodeIP, n.podCIDR, n.vtepMac ?? '', n.mode ?? '', n.version ?? '']));
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
  private listKey = '';
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

  /** Reports a screening result's new warnings, and its skipped and node lists when changed. */
  publish(result: ScreenResult): void {
    for (const w of result.warnings) this.warnOnce(w);
    const sk = skippedKey(result.skipped);
    if (sk !== this.skipKey) {
      this.skipKey = sk;
      this.report.skipped(result.skipped);
    }
    const key = nodesKey(result.nodes);
    if (key !== this.listKey) {
      this.listKey = key;
      this.report.nodes(result.nodes);
    }
  }
}
