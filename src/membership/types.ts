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
import { vtepMacFor, type OverlayMode, type OverlayNode } from '../overlay/modes';
import { maskedText, parseAddress, parsePrefix, type ParsedAddress, type ParsedPrefix } from '../values/address';
import { checkMac, isMulticastMac, ZERO_MAC } from '../values/mac';
import { prefixContains, prefixCovers, prefixesOverlap } from '../values/prefix';
import { Problems, ValidationError, describeValue, own } from '../values/problems';
import { addressOf, isUsableNodeAddress, prefixOf } from './cidr';

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

/** Checks a pod subnet: IPv4 (until dual stack), no host bits, /8../30. */
export function checkPodCIDR(p: Problems, path: string, v: unknown): ParsedPrefix | undefined {
  const pre = parsePrefix(p, path, v, 'reject', 4);
  if (!pre) return undefined;
  if (pre.prefixLength < MIN_POD_PREFIX || pre.prefixLength > MAX_POD_PREFIX) {
    p.add(path, `${pre.prefix}: a pod subnet must be /${MIN_POD_PREFIX}../${MAX_POD_PREFIX}`);
    return undefined;
  }
  return pre;
}

/** Checks a node's underlay address: IPv4 (until dual stack) and usable by a host. */
export function checkNodeIP(p: Problems, path: string, v: unknown): ParsedAddress | undefined {
  const a = parseAddress(p, path, v, 4);
  if (a && !isUsableNodeAddress(a)) {
    p.add(path, `${describeValue(v)} is not a unicast host address`);
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
  const p = new Problems();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    p.add(path, 'a node record must be a JSON object');
    p.throwIfAny('invalid node record');
  }
  const r = raw as object;
  const name = own(r, 'name');
  const nodeIP = own(r, 'nodeIP');
  const podCIDR = own(r, 'podCIDR');
  const vtepMac = own(r, 'vtepMac');
  const mode = own(r, 'mode');
  const version = own(r, 'version');
  checkNodeName(p, `${path}.name`, name);
  const ip = checkNodeIP(p, `${path}.nodeIP`, nodeIP);
  const cidr = checkPodCIDR(p, `${path}.podCIDR`, podCIDR);
  const mac = vtepMac !== undefined ? checkVtepMac(p, `${path}.vtepMac`, vtepMac) : undefined;
  if (mode !== undefined && !OVERLAY_MODES.includes(mode as OverlayMode)) {
    p.add(`${path}.mode`, `unknown mode ${describeValue(mode)} (one of ${OVERLAY_MODES.join(', ')})`);
  }
  if (version !== undefined && (typeof version !== 'string' || version.length > MAX_VERSION_LENGTH)) {
    p.add(`${path}.version`, `must be a string of at most ${MAX_VERSION_LENGTH} characters`);
  }
  p.throwIfAny('invalid node record');
  const out: NodeRecord = { name: name as string, nodeIP: ip!.text, podCIDR: cidr!.prefix };
  if (mac !== undefined) out.vtepMac = mac;
  if (mode !== undefined) out.mode = mode as OverlayMode;
  if (version !== undefined) out.version = version as string;
  return out;
}

/** The VTEP MAC a node's record means: the one it gives, or the one derived from its IPv4
 * nodeIP (what the overlay programs); undefined when there is neither. */
export function effectiveVtepMac(node: Pick<NodeRecord, 'nodeIP' | 'vtepMac'>): string | undefined {
  if (node.vtepMac !== undefined) return node.vtepMac.toLowerCase();
  return addressOf(node.nodeIP, 4) ? vtepMacFor(node.nodeIP) : undefined;
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
  /** When set, every podCIDR must lie inside it (the cluster's pod range). */
  clusterCIDR?: string;
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
}

/** What screenNodes decided: the node list, and every record left out with its reason. */
export interface ScreenResult {
  /** This host and the accepted peers, sorted by name. */
  nodes: NodeRecord[];
  skipped: SkippedRecord[];
  /** Accepted records worth a remark (a different mode than ours). */
  warnings: string[];
}

interface Checked {
  c: CandidateRecord;
  rec?: NodeRecord;
  reason?: string;
  ip?: ParsedAddress;
  net?: ParsedPrefix;
  mac?: string;
}

/**
 * Validates candidates and keeps the ones this host may program: this host's own record is
 * always in the result (`self` is authoritative, whatever the source says about us). The rules
 * are per record: a record that breaks one is skipped with its reason and never blocks the
 * others. A candidate is skipped when it is malformed, claims this host's name with other data,
 * has our nodeIP or our VTEP MAC, has a podCIDR that overlaps ours, covers a node's address,
 * overlaps a protected prefix or lies outside the cluster CIDR, fails the source's own rule
 * (`admit`), or collides (name, nodeIP, podCIDR, VTEP MAC) with a record accepted before it.
 * Candidates are taken in the order given, so earlier ones (older, in etcd) win collisions,
 * with one exception: a VTEP MAC belongs to the node it is derived from (vtepMacFor(nodeIP)),
 * so a record that copies another's derived MAC loses whatever the order.
 */
export function screenNodes(self: NodeRecord, candidates: CandidateRecord[], options: ScreenOptions = {}): ScreenResult {
  const selfNet = prefixOf(self.podCIDR)!;
  const selfIP = addressOf(self.nodeIP)!;
  const selfMac = effectiveVtepMac(self);
  const cluster = options.clusterCIDR !== undefined ? prefixOf(options.clusterCIDR) : undefined;
  const protectedNets = (options.protectedPrefixes ?? []).map((t) => parsePrefix(new Problems(), '', t, 'keep')).filter((x): x is ParsedPrefix => x !== undefined);
  const accepted: Array<Required<Omit<Checked, 'reason' | 'mac'>> & { mac?: string }> = [];
  const skipped: SkippedRecord[] = [];
  const warnings: string[] = [];

  // First pass: validate every candidate, and note whose MAC each derived MAC is.
  const checked: Checked[] = candidates.map((c) => {
    if (c.error) return { c, reason: c.error };
    try {
      const rec = validateNodeRecord(c.value, c.source);
      return { c, rec, ip: addressOf(rec.nodeIP)!, net: prefixOf(rec.podCIDR)!, mac: effectiveVtepMac(rec) };
    } catch (e) {
      return { c, reason: e instanceof ValidationError ? e.problems.map((x) => x.message).join('; ') : String(e) };
    }
  });
  const derivedOwner = new Map<string, string>();
  for (const x of checked) {
    if (x.rec && x.rec.name !== self.name && x.mac !== undefined && x.mac === vtepMacFor(x.rec.nodeIP) && !derivedOwner.has(x.mac)) derivedOwner.set(x.mac, x.rec.name);
  }

  for (const x of checked) {
    const claimed = nameOf(x.c.value);
    const skip = (reason: string) => skipped.push({ source: x.c.source, ...(claimed !== undefined ? { name: claimed } : {}), reason });
    if (!x.rec) {
      skip(x.reason!);
      continue;
    }
    const rec = x.rec;
    const ip = x.ip!;
    const net = x.net!;
    if (x.c.expectedName !== undefined && rec.name !== x.c.expectedName) {
      skip(`the record names "${rec.name}" but is stored under "${x.c.expectedName}"`);
      continue;
    }
    if (rec.name === self.name) {
      if (rec.nodeIP !== self.nodeIP || rec.podCIDR !== self.podCIDR) {
        skip(`claims this host's name with nodeIP ${rec.nodeIP} and podCIDR ${rec.podCIDR}`);
      }
      continue; // our own record: self is authoritative
    }
    const reason = ruleBreak();
    if (reason) {
      skip(reason);
      continue;
    }
    if (rec.mode !== undefined && self.mode !== undefined && rec.mode !== self.mode) {
      warnings.push(`node "${rec.name}" runs mode ${rec.mode}, this host runs ${self.mode}`);
    }
    accepted.push({ c: x.c, rec, ip, net, mac: x.mac });

    function ruleBreak(): string | undefined {
      if (ip.text === selfIP.text) return `nodeIP ${rec.nodeIP} is this host's address`;
      if (prefixesOverlap(net, selfNet)) return `podCIDR ${rec.podCIDR} overlaps this host's podCIDR ${self.podCIDR}`;
      if (prefixContains(net, selfIP.bytes)) return `podCIDR ${rec.podCIDR} covers the node address ${self.nodeIP} (this host's)`;
      if (prefixContains(net, ip.bytes)) return `podCIDR ${rec.podCIDR} covers the node address ${rec.nodeIP} (its own)`;
      if (cluster && !prefixCovers(cluster, net)) return `podCIDR ${rec.podCIDR} is outside the cluster CIDR ${cluster.prefix}`;
      const under = protectedNets.find((u) => prefixesOverlap(u, net));
      if (under) return `podCIDR ${rec.podCIDR} overlaps the underlay subnet ${maskedPrefix(under)} of this host`;
      if (x.mac !== undefined) {
        if (x.mac === selfMac) return `vtepMac ${x.mac} is this host's VTEP MAC`;
        const owner = derivedOwner.get(x.mac);
        if (owner !== undefined && owner !== rec.name && x.mac !== vtepMacFor(rec.nodeIP)) return `vtepMac ${x.mac} belongs to node "${owner}" (derived from its nodeIP)`;
      }
      for (const a of accepted) {
        if (a.rec.name === rec.name) return `its name collides with node "${a.rec.name}" (registered earlier)`;
        if (a.ip.text === ip.text) return `nodeIP ${rec.nodeIP} collides with node "${a.rec.name}" (registered earlier)`;
        if (prefixesOverlap(a.net, net)) return `podCIDR ${rec.podCIDR} collides with node "${a.rec.name}" (registered earlier)`;
        if (prefixContains(net, a.ip.bytes)) return `podCIDR ${rec.podCIDR} covers the node address of "${a.rec.name}" (registered earlier)`;
        if (prefixContains(a.net, ip.bytes)) return `nodeIP ${rec.nodeIP} lies in the podCIDR of "${a.rec.name}" (registered earlier)`;
        if (x.mac !== undefined && a.mac === x.mac) return `vtepMac ${x.mac} collides with node "${a.rec.name}" (registered earlier)`;
      }
      return options.admit?.(rec, x.c);
    }
  }
  const nodes = [self, ...accepted.map((a) => a.rec)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { nodes, skipped, warnings };
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
