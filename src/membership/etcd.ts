/**
 * Cluster membership in etcd: each agent keeps its node record under <prefix>nodes/<name> with
 * a lease (TTL + keepalive), watches the prefix, and reports the validated node list.
 *
 * Reads (issue 24), `reads: 'incremental'` (the default): one consistent read of the records,
 * reservations and name lock (in pages at one revision), then a watch from the next revision
 * whose events are applied key by key to a copy of them (mirror.ts); each change is screened
 * again (debounced) without reading anything, by a screener that follows the copy
 * (mirror-screen.ts): only the records the changed keys may affect are decided again, and records
 * that did not change are not validated again (ScreenCache). The copy is read again in full only on start, when the watch
 * cannot resume (its revision was compacted, the watch was cancelled), when the store turns out
 * to be another one, on resync(), and when the periodic check (a count of the records and of the
 * reservations at the copy's revision, every resyncIntervalMs) disagrees with the copy.
 * `reads: 'full'` is the former design, kept for comparison: a watch event only says "something
 * changed", and the list is computed from a full read of the prefix (debounced), also after
 * every reconnect and on the resync interval. Both hand the same list to the agent.
 * When etcd cannot be reached the last list stays in force (nothing is emitted), the status
 * says so, and reads are retried with exponential backoff until etcd answers again.
 *
 * Besides its record (<prefix>nodes/<name>, node lease) an agent holds its name
 * (<prefix>lock/<name>, lock lease: one agent per name, see name-lock.ts) and its subnet
 * reservation (<prefix>alloc/..., reservation lease, see allocate.ts). A peer's record is
 * accepted only when it is attached to a lease and its podCIDR is reserved for it. When etcd
 * turns out to be another store than before (data lost, restored: store-identity.ts), all
 * three are taken again at once and the watch starts anew.
 *
 * TLS, client certificates and etcd users: see etcd-access.ts. What etcd refuses (an untrusted
 * certificate, a wrong password, a key this agent's etcd user may not write) is an
 * EtcdAccessError: start() rejects with it; later, a refused write stops the membership
 * ('fatal', like a lost name) instead of retrying it forever, and other refusals are reported
 * while the last node list stays in force.
 */
import type * as Etcd3Module from 'etcd3';
import type { Etcd3, IKeyValue, IOptions, IResponseHeader, Lease, Watcher } from 'etcd3';
import type * as CockatielModule from 'cockatiel';
import { EventEmitter } from 'eventemitter3';
import { checkNodeWireGuard, vtepMacFor, type NodeWireGuard, type OverlayMode } from '../overlay/modes';
import { checkLinkLocal6 } from '../overlay/stack';
import { Problems, ValidationError } from '../values/problems';
import { EtcdAccessError, checkEtcdAccess, etcd3AccessOptions, etcdIdentity, explainEtcdError, redactEndpoint, type EtcdAuthOptions, type EtcdTlsOptions } from './etcd-access';
import { AllocationError, allocKeys, claimSubnets, parseAllocKeys, releaseSubnet, validateClaims, type AllocSnapshot, type ClaimOptions } from './allocate';
import { addressOf, prefixOf } from './cidr';
import type { IpFamily } from '../values/ip';
import { prefixEnd, readPrefix } from './etcd-range';
import { ReservationIndex } from './admit';
import { MirrorScreening } from './mirror-screen';
import { MembershipMirror, candidateOf, orderNodeKvs, tooBigCandidate, type MirrorSnapshot } from './mirror';
import { acquireNameLock, NameTakenError } from './name-lock';
import { StoreIdentity } from './store-identity';
import {
  MAX_RECORD_BYTES,
  MAX_VERSION_LENGTH,
  OVERLAY_MODES,
  checkNodeIP,
  checkNodeName,
  checkPodCIDR,
  checkProtectedPrefixes,
  checkVtepMac,
  screenNodes,
  ScreenCache,
  ScreenedChanges,
  type CandidateRecord,
  type Membership,
  type MembershipEvents,
  type NodeRecord,
  type ScreenOptions,
  type ScreenResult,
} from './types';
import { agentVersion } from './version';

// The etcd client (gRPC) is loaded when the first EtcdMembership is made, not when the library
// is: programs that never use etcd do not pay for it.
let libs: { etcd3: typeof Etcd3Module; cockatiel: typeof CockatielModule } | undefined;
function load(): { etcd3: typeof Etcd3Module; cockatiel: typeof CockatielModule } {
  libs ??= { etcd3: require('etcd3') as typeof Etcd3Module, cockatiel: require('cockatiel') as typeof CockatielModule };
  return libs;
}
const isLeaseInvalid = (e: unknown): boolean => libs !== undefined && e instanceof libs.etcd3.EtcdLeaseInvalidError;

/**
 * The etcd client's fault handling for several endpoints. It picks an endpoint per call at
 * random and, on its own, does not try another when the call fails there: with one of two
 * endpoints down, half the calls failed (the status flapping between connected and
 * disconnected, a watch coming back at another revision and the copy read again) until chance
 * picked the live one, 0.3-5.8 s in test/membership/grpc-proxy.test.js. Here an endpoint whose
 * call failed on the network or server side is skipped for a pause (a breaker that opens on
 * one failure; then one call tries it again), and the failed call is made again at once on
 * the next endpoint, at most once per other endpoint. When every endpoint is skipped, the call
 * fails at once and the membership's own loop backs off, as with one endpoint.
 */
function failover(
  c: typeof CockatielModule,
  recoverable: (e: Error) => boolean,
  o: { count: number; minBackoffMs: number; maxBackoffMs: number },
  failures: Map<string, string>,
): { host: (endpoint: string) => CockatielModule.IPolicy; global: CockatielModule.IPolicy } {
  const failed = c.handleWhen(recoverable);
  return {
    host: (endpoint) => {
      const breaker = c.circuitBreaker(failed, { halfOpenAfter: endpointPause(o.minBackoffMs, o.maxBackoffMs), breaker: new c.ConsecutiveBreaker(1) });
      // Why each endpoint was paused, for the error of a call none could take (explain()).
      breaker.onBreak((r) => failures.set(endpoint, 'error' in r ? firstLine(r.error.message) : 'failed'));
      return breaker;
    },
    global: c.retry(failed, { maxAttempts: o.count - 1 }),
  };
}

/**
 * How long an endpoint is left out after a failure: minBackoffMs after a first one (a blip on
 * every endpoint, an etcd election, costs little), doubling with each failure that follows
 * within twice maxBackoffMs of the last, up to twice maxBackoffMs. It grows by time, not until a
 * success: opening a watch stream on a dead endpoint succeeds (the stream fails a moment
 * later), and resetting on that kept a watch going back to the dead endpoint. Capped above the
 * watch's own retry delay (at most maxBackoffMs), so a retried watch finds the endpoint still
 * left out and goes to another.
 */
function endpointPause(minMs: number, maxMs: number): CockatielModule.IBackoffFactory<unknown> {
  const cap = longestEndpointPause(maxMs);
  let level = 0;
  let last = -Infinity;
  const next = (): CockatielModule.IBackoff<unknown> => {
    const now = Date.now();
    level = now - last > cap ? 0 : level + 1;
    last = now;
    return { duration: Math.min(minMs * 2 ** Math.min(level, 30), cap), next };
  };
  return { next };
}

/** The longest an endpoint is left out (endpointPause), which explain() also names: twice
 * maxBackoffMs, above the watch's own retry delay. */
function longestEndpointPause(maxMs: number): number {
  return 2 * maxMs;
}

/** A gRPC error's reason: its first line, without grpc-js's empty resolution note. */
function firstLine(text: string): string {
  return text.split('\n')[0].replace(/\.?\s*Resolution note:\s*$/, '').slice(0, 200);
}

/** This host, as EtcdMembership publishes it. */
export interface EtcdSelf {
  name: string;
  /** The primary underlay address (IPv4 or IPv6). */
  nodeIP: string;
  /** Dual stack: both underlay addresses (one per family, nodeIP among them). */
  nodeIPs?: string[];
  /** Omit to have one allocated (see EtcdMembershipOptions.allocation). */
  podCIDR?: string;
  /** Dual stack: the pod subnets given (one per family); a family with a cluster range but
   * no subnet here gets one allocated. */
  podCIDRs?: string[];
  /** Default: derived from the IPv4 node IP (vtepMacFor), as the overlay does. */
  vtepMac?: string;
  /** Default: derived from the IPv6 node IP (vtepMacFor), as the overlay does. */
  vtepMac6?: string;
  mode: OverlayMode;
  /** Default: this package's version. */
  version?: string;
  /** wireguard mode: this host's public key (and port) for the others' peers. */
  wireguard?: NodeWireGuard;
  /** host-gw: this host's IPv6 link-local address on the underlay, when it has IPv6 pods and no global IPv6 node IP. */
  linkLocal6?: string;
}

/** How EtcdMembership reaches etcd, publishes this host and paces itself. */
export interface EtcdMembershipOptions {
  /**
   * etcd client URLs ("https://10.0.0.2:2379", "http://127.0.0.1:2379"); several for a
   * cluster (or a rack's gRPC proxy and another). http:// to a host other than this one is
   * refused unless `insecure`. With several, each call goes to one of them; a call that fails
   * there on the network or server side is made again at once on the next, and the one that
   * failed is left out for a pause from minBackoffMs, growing while it keeps failing, up to
   * twice maxBackoffMs.
   */
  endpoints: string | string[];
  /** TLS: the CA of etcd's certificate, and a client certificate and key (PEM). */
  tls?: EtcdTlsOptions;
  /** An etcd user and its password (etcd's auth enabled). Without it and with tls.cert, etcd
   * takes the certificate's CN as the user. */
  auth?: EtcdAuthOptions;
  /** Allow plain http:// to a non-loopback etcd (records readable and forgeable on the way). */
  insecure?: boolean;
  self: EtcdSelf;
  /**
   * The cluster's pod range: self.podCIDR is allocated from it when absent (and must lie in it
   * when given), and peers' records whose podCIDR lies outside it are skipped.
   */
  allocation?: {
    /** The pod range of either family. */
    clusterCIDR?: string;
    /** Default 24 (IPv4). */
    subnetLength?: number;
    /** The IPv6 pod range of a dual-stack cluster (e.g. a /48). */
    clusterCIDR6?: string;
    /** Default 64. */
    subnetLength6?: number;
  };
  /** Prefixes no peer's podCIDR may overlap: this host's underlay subnets ("10.57.4.20/24"
   * protects 10.57.4.0/24). */
  protectedPrefixes?: string[];
  /** Key prefix, ending in "/". Default "/netlink-agent/". */
  prefix?: string;
  /** Node record lease TTL in seconds: how long a dead host stays in the others' routes. Default 15. */
  ttlSeconds?: number;
  /** podCIDR reservation lease TTL in seconds: how long a gone host keeps its subnet. Default 86400. */
  reservationTtlSeconds?: number;
  /** Wait this long after a watch event for more before re-reading. Default 100 ms. */
  debounceMs?: number;
  /**
   * How the records are followed: 'incremental' (default) applies the watch's events to a copy
   * started from one read; 'full' re-reads every record after every event (the former design,
   * kept for comparison). Both give the same node list.
   */
  reads?: 'incremental' | 'full';
  /** 'full': a full re-read even without events; 'incremental': a check that the copy still
   * matches the store (counts at its revision). Default 30 s. */
  resyncIntervalMs?: number;
  /** Retry delays after failures: first, doubled up to the max. Default 200 ms / 10 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Deadline of each etcd request. Default 5 s. */
  callTimeoutMs?: number;
  /** More etcd3 client options (gRPC options). TLS and auth are `tls` and `auth` above, so
   * that they are checked. */
  etcd?: Omit<IOptions, 'hosts' | 'faultHandling' | 'defaultCallOptions' | 'credentials' | 'auth'>;
}

/**
 * What EtcdMembership has read from etcd so far (readStats()): how often the whole prefix was
 * read, and how often the incremental copy was checked against etcd and found wanting. With
 * incremental reads, a healthy agent reads everything once at start; more full reads mean
 * disagreements, compactions past the watch, store changes or resync() calls.
 */
export interface EtcdReadStats {
  /** Full reads of the prefix (records, reservations and name lock at one revision). */
  fullReads: number;
  /** Incremental: count checks etcd answered (two count-only requests each). */
  countChecks: number;
  /** Incremental: checks that found the copy wrong or could not verify it (its revision
   * compacted): each is followed by a full read. */
  countDisagreements: number;
}

/** How EtcdMembership.stop() leaves. */
export interface EtcdStopOptions {
  /**
   * Leave the cluster now: revoke the node lease (the record disappears from every other host
   * at once) and release the podCIDR reservation. Default false: stop heartbeats and let the
   * lease expire, so that a quick restart is invisible to the other hosts.
   */
  leave?: boolean;
}

const DEFAULT_PREFIX = '/netlink-agent/';

/** Checks nodeIP and nodeIPs (one per family, nodeIP among them); the families, or undefined. */
function checkNodeIPs(p: Problems, at: string, nodeIP: unknown, nodeIPs: unknown): Set<IpFamily> | undefined {
  const first = checkNodeIP(p, `${at}.nodeIP`, nodeIP);
  if (nodeIPs === undefined) return first ? new Set([first.family]) : undefined;
  return checkFamilies(p, `${at}.nodeIPs`, nodeIPs, (path, v) => checkNodeIP(p, path, v), first?.text, 'nodeIP');
}

/** Checks podCIDR and podCIDRs the same way. */
function checkPodCIDRs(p: Problems, at: string, podCIDR: unknown, podCIDRs: unknown): void {
  const first = podCIDR !== undefined ? checkPodCIDR(p, `${at}.podCIDR`, podCIDR) : undefined;
  if (podCIDRs !== undefined) checkFamilies(p, `${at}.podCIDRs`, podCIDRs, (path, v) => checkPodCIDR(p, path, v), first?.prefix, 'podCIDR');
}

function checkFamilies(p: Problems, path: string, list: unknown, check: (path: string, v: unknown) => { family: IpFamily; text: string; prefix?: string } | undefined, primary: string | undefined, primaryName: string): Set<IpFamily> | undefined {
  if (!Array.isArray(list) || list.length < 1 || list.length > 2) {
    p.add(path, 'expected one or two entries (at most one per family)');
    return undefined;
  }
  const seen = new Set<IpFamily>();
  const texts: string[] = [];
  list.forEach((v, i) => {
    const x = check(`${path}[${i}]`, v);
    if (!x) return;
    if (seen.has(x.family)) p.add(`${path}[${i}]`, `a second ${x.family === 4 ? 'IPv4' : 'IPv6'} entry: at most one per family`);
    seen.add(x.family);
    texts.push(x.prefix ?? x.text);
  });
  if (primary !== undefined && !texts.includes(primary)) p.add(path, `must include ${primaryName} ${primary}`);
  return seen;
}

/** The claim (one subnet per family) this host makes: the given subnets, else the family's
 * cluster range (clusterCIDR of either family, clusterCIDR6 for IPv6). */
function claimFields(s: Pick<EtcdSelf, 'podCIDR' | 'podCIDRs'> | undefined, a: EtcdMembershipOptions['allocation']): Pick<ClaimOptions, 'podCIDR' | 'clusterCIDR' | 'subnetLength' | 'podCIDR6' | 'clusterCIDR6' | 'subnetLength6'> {
  const given = new Map<IpFamily, string>();
  for (const c of [s?.podCIDR, ...(s?.podCIDRs ?? [])]) {
    const n = c !== undefined ? prefixOf(c) : undefined;
    if (n && !given.has(n.family)) given.set(n.family, c!);
  }
  const range = a?.clusterCIDR !== undefined ? prefixOf(a.clusterCIDR) : undefined;
  const range4 = range?.family === 4 ? a!.clusterCIDR : undefined;
  const range6 = a?.clusterCIDR6 ?? (range?.family === 6 ? a!.clusterCIDR : undefined);
  const c4 = { podCIDR: given.get(4), clusterCIDR: range4, subnetLength: a?.subnetLength ?? 24 };
  const c6 = { podCIDR: given.get(6), clusterCIDR: range6, subnetLength: a?.subnetLength6 ?? 64 };
  const has4 = c4.podCIDR !== undefined || c4.clusterCIDR !== undefined;
  const has6 = c6.podCIDR !== undefined || c6.clusterCIDR !== undefined;
  if (has4 && has6) return { ...c4, podCIDR6: c6.podCIDR, clusterCIDR6: c6.clusterCIDR, subnetLength6: c6.subnetLength };
  if (has6) return c6;
  if (has4) return c4;
  // Nothing usable (validation names the fields): pass what was given so that it does.
  return { podCIDR: s?.podCIDR, clusterCIDR: a?.clusterCIDR, subnetLength: a?.subnetLength, clusterCIDR6: a?.clusterCIDR6 };
}

/** This host's record: the primary pair first (nodeIP as given; the pod subnet of its family
 * when there is one), both families in nodeIPs/podCIDRs, a VTEP MAC per underlay family. */
function selfRecord(s: EtcdSelf, claimed: string[]): NodeRecord {
  const ips = s.nodeIPs ?? [s.nodeIP];
  const ipFamilies = ips.map((x) => addressOf(x)!);
  const nets = claimed.map((c) => prefixOf(c)!);
  const primaryNet = (s.podCIDR !== undefined ? nets.find((n) => n.prefix === prefixOf(s.podCIDR)!.prefix) : undefined) ?? nets.find((n) => n.family === addressOf(s.nodeIP)!.family) ?? nets[0];
  const orderedIPs = [addressOf(s.nodeIP)!.text, ...ipFamilies.filter((a) => a.text !== addressOf(s.nodeIP)!.text).map((a) => a.text)];
  const orderedNets = [primaryNet.prefix, ...nets.filter((n) => n !== primaryNet).map((n) => n.prefix)];
  const v4 = ipFamilies.find((a) => a.family === 4);
  const v6 = ipFamilies.find((a) => a.family === 6);
  return {
    name: s.name,
    nodeIP: orderedIPs[0],
    podCIDR: orderedNets[0],
    ...(orderedIPs.length > 1 ? { nodeIPs: orderedIPs } : {}),
    ...(orderedNets.length > 1 ? { podCIDRs: orderedNets } : {}),
    ...(v4 ? { vtepMac: (s.vtepMac ?? vtepMacFor(v4.text)).toLowerCase() } : {}),
    ...(v6 ? { vtepMac6: (s.vtepMac6 ?? vtepMacFor(v6.text)).toLowerCase() } : {}),
    mode: s.mode,
    version: s.version ?? agentVersion(),
  };
}

function isPermanent(e: unknown): boolean {
  return e instanceof ValidationError || e instanceof AllocationError || e instanceof NameTakenError || e instanceof EtcdAccessError;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Checks the options; throws ValidationError naming every problem. */
export function validateEtcdMembershipOptions(o: EtcdMembershipOptions): void {
  const p = new Problems();
  const endpoints = typeof o.endpoints === 'string' ? [o.endpoints] : o.endpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0) p.add('endpoints', 'give at least one etcd URL');
  else
    endpoints.forEach((u, i) => {
      let url: URL | undefined;
      try {
        url = new URL(u);
      } catch {
        url = undefined;
      }
      if (!url || !['http:', 'https:'].includes(url.protocol) || !url.port || (url.pathname !== '/' && url.pathname !== '')) {
        p.add(`endpoints[${i}]`, `${JSON.stringify(redactEndpoint(String(u)))} is not an etcd client URL like https://10.0.0.2:2379`);
      }
    });
  if (Array.isArray(endpoints)) checkEtcdAccess(p, { endpoints, tls: o.tls, auth: o.auth, insecure: o.insecure });
  const raw = o.etcd as Record<string, unknown> | undefined;
  if (raw && typeof raw === 'object') {
    if ('credentials' in raw) p.add('etcd.credentials', 'give TLS as tls {ca, cert, key}, so that it is checked');
    if ('auth' in raw) p.add('etcd.auth', 'give the user as auth {username, password}');
  }
  const s = o.self;
  if (!s || typeof s !== 'object') p.add('self', 'this host\'s record is required');
  else {
    checkNodeName(p, 'self.name', s.name);
    const ips = checkNodeIPs(p, 'self', s.nodeIP, s.nodeIPs);
    checkPodCIDRs(p, 'self', s.podCIDR, s.podCIDRs);
    if (s.podCIDR === undefined && s.podCIDRs === undefined && !o.allocation) p.add('self.podCIDR', 'give a podCIDR, or allocation.clusterCIDR to allocate one');
    if (s.vtepMac !== undefined && checkVtepMac(p, 'self.vtepMac', s.vtepMac) && ips && !ips.has(4)) p.add('self.vtepMac', 'is the MAC of the VTEP on the IPv4 underlay, and this host has no IPv4 node IP');
    if (s.vtepMac6 !== undefined && checkVtepMac(p, 'self.vtepMac6', s.vtepMac6) && ips && !ips.has(6)) p.add('self.vtepMac6', 'is the MAC of the VTEP on the IPv6 underlay, and this host has no IPv6 node IP');
    if (!OVERLAY_MODES.includes(s.mode)) p.add('self.mode', `unknown mode ${JSON.stringify(s.mode)}`);
    if (s.wireguard !== undefined) checkNodeWireGuard(p, 'self.wireguard', s.wireguard);
    if (s.linkLocal6 !== undefined) checkLinkLocal6(p, 'self.linkLocal6', s.linkLocal6);
    // The record is written here, so it is bounded here: every reader skips bigger ones.
    if (s.version !== undefined && (typeof s.version !== 'string' || s.version.length > MAX_VERSION_LENGTH)) {
      p.add('self.version', `must be a string of at most ${MAX_VERSION_LENGTH} characters`);
    }
  }
  checkProtectedPrefixes(p, o.protectedPrefixes);
  if (o.reads !== undefined && o.reads !== 'incremental' && o.reads !== 'full') p.add('reads', `must be "incremental" or "full", got ${JSON.stringify(o.reads)}`);
  if (o.allocation) {
    try {
      validateClaims(claimFields(s, o.allocation));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      for (const x of e.problems) p.add(`allocation.${x.path}`, x.message);
    }
  }
  const prefix = o.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !prefix.endsWith('/') || prefix.length < 2) p.add('prefix', 'must be a key prefix ending in "/", like "/netlink-agent/"');
  const ints: Array<[keyof EtcdMembershipOptions, number, number]> = [
    ['ttlSeconds', 1, 86400],
    ['reservationTtlSeconds', 1, 86400 * 365],
    ['debounceMs', 0, 60000],
    ['resyncIntervalMs', 100, 86400000],
    ['minBackoffMs', 1, 3600000],
    ['maxBackoffMs', 1, 3600000],
    ['callTimeoutMs', 100, 3600000],
  ];
  for (const [k, min, max] of ints) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) p.add(k, `must be an integer ${min}..${max}`);
  }
  p.throwIfAny('invalid etcd membership options');
}

/**
 * Membership through etcd.
 *
 * ```ts
 * const m = new EtcdMembership({ endpoints: 'http://127.0.0.1:2379',
 *   self: { name: 'host1', nodeIP: '10.0.0.1', mode: 'vxlan' },
 *   allocation: { clusterCIDR: '10.244.0.0/16', subnetLength: 24 } });
 * const me = await m.start();            // registered; me.podCIDR allocated
 * m.on('nodes', (nodes) => agent.setNodes(nodes));
 * m.on('fatal', (e) => process.exit(1)); // another agent took this host's name
 * await m.stop();                        // record left to expire, name released
 * ```
 * The constructor throws ValidationError for bad options. start() retries (with backoff) while
 * etcd cannot be reached and rejects only for permanent problems: AllocationError (no free
 * subnet, or self.podCIDR overlaps another node's reservation) and NameTakenError (another
 * live agent runs under self.name).
 */
export class EtcdMembership extends EventEmitter<MembershipEvents> implements Membership {
  readonly prefix: string;
  private readonly client: Etcd3;
  private readonly o: Required<Omit<EtcdMembershipOptions, 'allocation' | 'etcd' | 'prefix' | 'protectedPrefixes' | 'tls' | 'auth' | 'insecure'>> & Pick<EtcdMembershipOptions, 'allocation'>;
  /** Who etcd takes this client for, in messages (never the password). */
  private readonly who: string;
  private readonly screen: ScreenOptions;
  private record: NodeRecord | undefined;
  /** The pod subnets claimed (one per family). */
  private podCIDRs: string[] | undefined;
  /** The reservation lease the podCIDR was last claimed with. */
  private podCIDRLease: string | undefined;
  private nodeLease: Lease | undefined;
  private resLease: Lease | undefined;
  private lockLease: Lease | undefined;
  private readonly store = new StoreIdentity();
  private watcher: Watcher | undefined;
  /** 'incremental': the copy of the store the list is computed from; undefined until read (again). */
  private mirror: MembershipMirror | undefined;
  private readonly screenCache = new ScreenCache();
  /** With several endpoints, why each was last paused (failover), by endpoint. */
  private readonly endpointFailures = new Map<string, string>();
  /** 'incremental': the screener following the copy, and its options (one object, kept). */
  private readonly screening: MirrorScreening;
  private followOptions: ScreenOptions = {};
  /** The screener the last reported list came from (undefined: screenNodes). */
  private published: object | undefined;
  /** When the copy was last checked against the store (or read). */
  private lastCheck = 0;
  private readonly counted: EtcdReadStats = { fullReads: 0, countChecks: 0, countDisagreements: 0 };
  /** The reservations of the last screening, indexed. */
  private reservations: { alloc: AllocSnapshot; index: ReservationIndex } | undefined;
  private list: NodeRecord[] = [];
  private readonly changes = new ScreenedChanges({
    warning: (w) => this.emit('warning', w),
    skipped: (sk) => this.emit('skipped', sk),
    nodes: (nodes) => {
      this.list = nodes;
      this.emit('nodes', nodes);
    },
  });
  private lastReclaim = 0;
  // the work loop
  private needRegister = true;
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private retrying = false;
  private backoff = 0;
  private connected: boolean | undefined;
  /** When etcd (or the watch) came back after an outage: see refresh(). */
  private reconnectedAt = 0;
  private watchDown = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private lastErrorText = '';
  private stopped = true;
  private closed = false;
  private starting: { resolve: (r: NodeRecord) => void; reject: (e: Error) => void } | undefined;
  /** setWireGuard() callers waiting for the record with their change to be written. */
  private republishing: Array<{ resolve: (r: NodeRecord) => void; reject: (e: Error) => void }> = [];

  constructor(options: EtcdMembershipOptions) {
    super();
    validateEtcdMembershipOptions(options);
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.o = {
      endpoints: typeof options.endpoints === 'string' ? [options.endpoints] : [...options.endpoints],
      self: { ...options.self },
      allocation: options.allocation ? { ...options.allocation, subnetLength: options.allocation.subnetLength ?? 24 } : undefined,
      ttlSeconds: options.ttlSeconds ?? 15,
      reservationTtlSeconds: options.reservationTtlSeconds ?? 86400,
      debounceMs: options.debounceMs ?? 100,
      resyncIntervalMs: options.resyncIntervalMs ?? 30000,
      reads: options.reads ?? 'incremental',
      minBackoffMs: options.minBackoffMs ?? 200,
      maxBackoffMs: options.maxBackoffMs ?? 10000,
      callTimeoutMs: options.callTimeoutMs ?? 5000,
    };
    this.screen = {
      ...(this.o.allocation ? { clusterCIDRs: [this.o.allocation.clusterCIDR, this.o.allocation.clusterCIDR6].filter((x): x is string => x !== undefined) } : {}),
      protectedPrefixes: [...(options.protectedPrefixes ?? [])],
    };
    this.followOptions = { ...this.screen, cache: this.screenCache };
    this.screening = new MirrorScreening(this.nodesPrefix);
    const timeout = this.o.callTimeoutMs;
    const { etcd3, cockatiel } = load();
    const { ExponentialBackoff, noop } = cockatiel;
    this.who = etcdIdentity(options);
    this.client = new etcd3.Etcd3({
      ...(options.etcd ?? {}),
      ...etcd3AccessOptions(options),
      hosts: this.o.endpoints,
      // Our own loop retries with backoff and keeps the last state; the client must fail fast
      // rather than queue requests behind its circuit breaker. With several endpoints (etcd
      // members, or a rack's gRPC proxy and another), a call that fails on one goes on at
      // once to the next (see failover below).
      faultHandling: {
        ...(this.o.endpoints.length > 1 ? failover(cockatiel, etcd3.isRecoverableError, { count: this.o.endpoints.length, minBackoffMs: this.o.minBackoffMs, maxBackoffMs: this.o.maxBackoffMs }, this.endpointFailures) : { host: () => noop, global: noop }),
        watchBackoff: new ExponentialBackoff({ initialDelay: this.o.minBackoffMs, maxDelay: this.o.maxBackoffMs }).next(),
      },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
  }

  /**
   * explainEtcdError, and for a call that no endpoint could take (with several, each paused
   * after its last call failed: see failover) a sentence with each one's reason.
   */
  private explain(e: unknown, doing?: string): Error {
    const err = asError(e);
    if (!('isBrokenCircuitError' in err)) return explainEtcdError(err, this.who, doing);
    const why = [...this.endpointFailures].map(([u, m]) => `${redactEndpoint(u)}: ${m}`).join('; ');
    return new Error(`no etcd endpoint answers${doing ? ` ${doing}` : ''} (${why || 'each failed its last call'}); each is tried again within ${longestEndpointPause(this.o.maxBackoffMs)} ms`, { cause: err });
  }

  private get nodesPrefix(): string {
    return `${this.prefix}nodes/`;
  }

  private nodeKey(name: string): string {
    return `${this.nodesPrefix}${name}`;
  }

  private get lockKey(): string {
    return `${this.prefix}lock/${this.o.self.name}`;
  }

  /** The last node list (this host included), sorted by name. */
  nodes(): NodeRecord[] {
    return this.list;
  }

  /** This host's record as published (podCIDR allocated), once registered. */
  self(): NodeRecord | undefined {
    return this.record;
  }

  /**
   * Registers this host (taking its name, reserving or allocating its podCIDR), starts
   * watching, and resolves with this host's record after the first complete read of the prefix.
   */
  start(): Promise<NodeRecord> {
    if (this.closed) return Promise.reject(new Error('EtcdMembership: stopped for good; make a new one'));
    if (!this.stopped || this.starting) return Promise.reject(new Error('EtcdMembership: already started'));
    this.stopped = false;
    this.needRegister = true;
    return new Promise<NodeRecord>((resolve, reject) => {
      this.starting = { resolve, reject };
      this.ensureWatcher();
      this.schedule(0);
    });
  }

  /**
   * Publishes a new WireGuard part of this host's record while running (a rotated key): the
   * record is written again under the same name and lease, and every other agent's watch sees
   * the new public key and replaces this host's peer. Resolves with the record once written
   * (a failed write is retried as registration is); rejects when the membership stops first.
   * Throws ValidationError for a bad value (never echoing anything but the public key).
   */
  setWireGuard(wireguard: NodeWireGuard): Promise<NodeRecord> {
    const p = new Problems();
    checkNodeWireGuard(p, 'wireguard', wireguard);
    p.throwIfAny('invalid node record');
    if (this.closed || this.stopped) return Promise.reject(new Error('EtcdMembership: not running'));
    this.o.self = { ...this.o.self, wireguard: { ...wireguard } };
    this.needRegister = true;
    return new Promise<NodeRecord>((resolve, reject) => {
      this.republishing.push({ resolve, reject });
      this.schedule(0);
    });
  }

  /** What was read from etcd so far (a copy). */
  readStats(): EtcdReadStats {
    return { ...this.counted };
  }

  /** Re-reads everything now, e.g. on SIGHUP. */
  resync(): void {
    if (this.o.reads === 'incremental' && this.mirror) this.replaceWatcher();
    if (!this.retrying) this.schedule(0);
  }

  // ------------------------------------------------------------------ the work loop

  /** Runs the loop after `delay` ms (an earlier pending run stays earlier). */
  private schedule(delay: number): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const due = Date.now() + delay;
    if (this.timer && this.timerDue <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delay);
  }

  private async run(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    this.retrying = false;
    let failed = false;
    try {
      if (this.needRegister) {
        const waiting = this.republishing;
        this.republishing = [];
        try {
          await this.register();
        } catch (e) {
          this.republishing.unshift(...waiting); // the retry writes their change
          throw e;
        }
        for (const w of waiting) w.resolve(this.record!);
      }
      await this.refresh();
      this.backoff = 0;
      this.lastErrorText = '';
      this.setConnected();
      if (this.starting) {
        const s = this.starting;
        this.starting = undefined;
        s.resolve(this.record!);
      }
    } catch (e) {
      failed = true;
      const err = this.explain(e);
      // A refused write never succeeds by retrying: stop (the kernel stays as it is) rather
      // than hammer etcd with it.
      const refused = err instanceof EtcdAccessError && err.problem === 'permission';
      if (isPermanent(err) && (this.starting || err instanceof NameTakenError || refused)) {
        // At start, any permanent problem; later, another agent holding our name: give up.
        const s = this.starting;
        this.starting = undefined;
        this.running = false;
        await this.teardown(false, !(err instanceof NameTakenError));
        if (s) s.reject(err);
        else this.emit('fatal', err);
        return;
      }
      if (!this.stopped) this.retryAfter(err);
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (failed) {
      // Retry after the backoff (events that arrived meanwhile are covered by the retry).
      this.again = false;
      this.schedule(this.backoff);
    } else if (this.again) {
      this.again = false;
      this.schedule(this.o.debounceMs);
    } else {
      this.schedule(this.o.resyncIntervalMs);
    }
  }

  private retryAfter(err: Error): void {
    this.backoff = this.backoff ? Math.min(this.backoff * 2, this.o.maxBackoffMs) : this.o.minBackoffMs;
    // etcd refusing us (a certificate that expired meanwhile, a changed password) is an outage
    // like a lost connection: the last list stays, and the status says why.
    const access = err instanceof EtcdAccessError;
    if (this.connected !== false && (!isPermanent(err) || access)) {
      this.connected = false;
      this.emit('status', { state: 'disconnected', error: err, retryInMs: this.backoff });
    }
    // Connection errors are reported once by the status; anything else once per distinct text.
    if (isPermanent(err) && !access && err.message !== this.lastErrorText) this.emit('error', err);
    this.lastErrorText = err.message;
    this.retrying = true; // run() schedules the retry once it has finished
  }

  private setConnected(): void {
    if (this.connected !== true) {
      this.connected = true;
      this.emit('status', { state: 'connected' });
    }
  }

  /**
   * Takes a response header; when the store is not the one it was (its data was lost or
   * restored), everything this agent holds there is taken again at once: leases, the name,
   * the subnet reservation, the record, and a new watch. Returns whether that happened.
   */
  private noticeStore(header: IResponseHeader | undefined): boolean {
    const change = this.store.observe(header);
    if (!change) return false;
    this.emit(
      'warning',
      `${change}: etcd lost or replaced its data; registering again${this.podCIDRs ? ` and re-claiming podCIDR ${this.podCIDRs.join(',')}` : ''}, watching anew`,
    );
    this.needRegister = true;
    this.podCIDRLease = undefined;
    // The old leases do not exist in this store: stop renewing them, grant new ones.
    this.dropLease('node');
    this.dropLease('res');
    this.dropLease('lock');
    this.replaceWatcher();
    return true;
  }

  // ------------------------------------------------------------------ registration

  private newLease(ttl: number): Lease {
    const lease = this.client.lease(ttl);
    lease.on('lost', () => {
      // Etcd says (or the client concluded) that the lease is gone: register again.
      if (this.stopped || (lease !== this.nodeLease && lease !== this.resLease && lease !== this.lockLease)) return;
      this.needRegister = true;
      if (!this.retrying) this.schedule(0);
    });
    return lease;
  }

  /** Grants leases as needed, takes the name, reserves the podCIDR and puts this host's
   * record. A lease that etcd no longer knows (expired while it was away) is replaced and the
   * step retried; so is the whole step when the store turns out to be another one. */
  private async register(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.registerOnce();
        return;
      } catch (e) {
        if (!(isLeaseInvalid(e) || e instanceof StoreChanged) || attempt >= 2) throw e;
      }
    }
  }

  /** Runs one step; what etcd refuses in it becomes an EtcdAccessError saying which step. */
  private async doing<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (e) {
      throw this.explain(e, what);
    }
  }

  private dropLease(which: 'node' | 'res' | 'lock'): void {
    const l = which === 'node' ? this.nodeLease : which === 'res' ? this.resLease : this.lockLease;
    l?.removeAllListeners();
    l?.on('lost', () => undefined);
    l?.release();
    if (which === 'node') this.nodeLease = undefined;
    else if (which === 'res') this.resLease = undefined;
    else this.lockLease = undefined;
  }

  private async grant(which: 'node' | 'res' | 'lock', ttl: number): Promise<string> {
    let l = which === 'node' ? this.nodeLease : which === 'res' ? this.resLease : this.lockLease;
    if (!l || l.revoked()) {
      this.dropLease(which);
      l = this.newLease(ttl);
      if (which === 'node') this.nodeLease = l;
      else if (which === 'res') this.resLease = l;
      else this.lockLease = l;
    }
    try {
      return await l.grant();
    } catch (e) {
      if (isLeaseInvalid(e)) this.dropLease(which);
      throw e;
    }
  }

  private async registerOnce(): Promise<void> {
    const s = this.o.self;
    const lockId = await this.grant('lock', this.o.ttlSeconds);
    try {
      const header = await this.doing(`taking the name lock ${this.lockKey}`, () => acquireNameLock({
        client: this.client,
        key: this.lockKey,
        name: s.name,
        leaseId: lockId,
        cancelled: () => this.stopped,
        onWait: (holder, left) => this.emit('warning', `the name "${s.name}" is held ${holder}; waiting up to ${left} s to see whether that agent is alive or its lease ends`),
      }));
      if (this.noticeStore(header)) throw new StoreChanged();
    } catch (e) {
      if (isLeaseInvalid(e)) this.dropLease('lock');
      throw e;
    }
    const resId = await this.grant('res', this.o.reservationTtlSeconds);
    if (this.podCIDRLease !== resId) {
      try {
        // What was claimed before is claimed again (a new reservation lease, same subnets).
        const given = s.podCIDRs ?? (s.podCIDR !== undefined ? [s.podCIDR] : this.podCIDRs);
        this.podCIDRs = await this.doing(`reserving a podCIDR under ${this.prefix}alloc/`, () => claimSubnets({
          client: this.client,
          root: this.prefix,
          name: s.name,
          leaseId: resId,
          ...claimFields({ ...s, podCIDR: undefined, podCIDRs: given }, this.o.allocation),
        }));
      } catch (e) {
        if (isLeaseInvalid(e)) this.dropLease('res');
        throw e;
      }
      this.podCIDRLease = resId;
    }
    const id = await this.grant('node', this.o.ttlSeconds);
    const record: NodeRecord = { ...selfRecord(s, this.podCIDRs!), ...(s.wireguard ? { wireguard: s.wireguard } : {}), ...(s.linkLocal6 !== undefined ? { linkLocal6: s.linkLocal6 } : {}) };
    const text = JSON.stringify(record);
    if (Buffer.byteLength(text) > MAX_RECORD_BYTES) {
      throw new ValidationError([{ path: 'self', message: `the record is ${Buffer.byteLength(text)} bytes, more than the ${MAX_RECORD_BYTES} every reader accepts` }], 'invalid node record');
    }
    try {
      await this.doing(`writing ${this.nodeKey(s.name)}`, () => this.client.put(this.nodeKey(s.name)).value(text).lease(id).exec());
    } catch (e) {
      if (isLeaseInvalid(e)) this.dropLease('node');
      throw e;
    }
    this.record = record;
    this.needRegister = false;
  }

  // ------------------------------------------------------------------ reading

  private ensureWatcher(): void {
    if (this.watcher) return;
    const incremental = this.o.reads === 'incremental';
    // Incremental: the watch starts where the read the copy was made from ends (it is made
    // after that read); it watches the whole root, since reservations and the name lock count too.
    const mirror = this.mirror;
    if (incremental && !mirror) return;
    const builder = incremental ? this.client.watch().prefix(this.prefix).startRevision(String(mirror!.revision + 1n)) : this.client.watch().prefix(this.nodesPrefix);
    // Large revisions (big values) come in fragments rather than as one response beyond the
    // client's message limit. The builder has no setter for it; its request is sent as is.
    const request = (builder as unknown as { request?: { fragment?: boolean } }).request;
    if (request && typeof request === 'object') request.fragment = true;
    const w = builder.watcher();
    this.watcher = w;
    if (mirror) {
      const apply = (type: 'put' | 'delete') => (kv: IKeyValue) => {
        if (this.watcher !== w || this.mirror !== mirror) return;
        if (mirror.apply({ type, kv })) this.schedule(this.o.debounceMs);
      };
      w.on('put', apply('put'));
      w.on('delete', apply('delete'));
    } else {
      w.on('put', () => this.schedule(this.o.debounceMs));
      w.on('delete', () => this.schedule(this.o.debounceMs));
    }
    w.on('connected', (res?: { header?: IResponseHeader }) => {
      const reconnected = this.watchDown;
      if (this.watchDown) this.reconnectedAt = Date.now();
      this.watchDown = false;
      // A store that lost its data answers a resumed watch with a lower revision: register again.
      if (mirror) this.noticeStore(res?.header);
      // The client library moves a watch's start to the revision of each response it gets, and
      // after etcd restarted it was seen to resume past the changes made while the watch was
      // away (test/membership/incremental-etcd.test.js, about one run in six): they never came.
      // A watch that comes back to a store that moved since the copy's revision is not trusted
      // to replay them: the copy is made again from one read, as after a compaction.
      const at = res?.header?.revision;
      if (reconnected && mirror && this.mirror === mirror && this.watcher === w && at !== undefined && BigInt(at) > mirror.revision) {
        this.emit('warning', `etcd's watch came back at revision ${at}, after changes since ${mirror.revision} it may not replay: the copy is made again from one read`);
        this.replaceWatcher();
      }
      // Full reads: after a reconnect the stream may have missed events, re-read everything.
      // Incremental: the watch resumed where it stopped (or was cancelled, see 'error').
      this.schedule(0);
    });
    w.on('disconnected', () => {
      if (mirror) {
        // Resume after the last revision applied: etcd replays what was missed, or cancels the
        // watch when that revision is compacted (then everything is read again).
        (w.request as { start_revision?: unknown }).start_revision = String(mirror.revision + 1n);
      } else {
        // Resume at the store's current revision, not after the last one seen: everything is
        // re-read on reconnect anyway, and a store that lost its data would otherwise hold the
        // watch until it reaches the old revision again (and a backlog of big values would come
        // as one response larger than the client accepts).
        delete (w.request as { start_revision?: unknown }).start_revision;
      }
      this.watchDown = true;
      if (!this.retrying) this.schedule(0); // find out (and report) whether etcd is reachable
    });
    w.on('error', (err: Error) => {
      // The watch was cancelled by etcd (e.g. its revision was compacted): start a new one and
      // re-read (incremental: the new watch starts after the new read).
      if (this.watcher === w) this.watcher = undefined;
      w.removeAllListeners();
      w.on('error', () => undefined);
      void w.cancel().catch(() => undefined);
      if (this.stopped) return;
      this.emit('warning', `etcd watch ended (${err.message}); watching again`);
      if (mirror && this.mirror === mirror) this.mirror = undefined;
      this.ensureWatcher();
      this.schedule(0);
    });
  }

  /** Cancels the watch and starts another (incremental: after the next full read). */
  private replaceWatcher(keepMirror = false): void {
    const w = this.watcher;
    this.watcher = undefined;
    if (w) {
      w.removeAllListeners();
      w.on('error', () => undefined);
      void w.cancel().catch(() => undefined);
    }
    if (!keepMirror) this.mirror = undefined;
    if (!this.stopped) this.ensureWatcher();
  }

  /** Reads the records, the reservations and the name lock, all at one revision. */
  private async readState(): Promise<MirrorSnapshot> {
    this.counted.fullReads++;
    const nodes = await this.doing(`reading ${this.nodesPrefix}`, () => readPrefix(this.client, this.nodesPrefix));
    const revision = nodes.header.revision;
    const [alloc, lock] = await Promise.all([
      readPrefix(this.client, allocKeys(this.prefix).prefix, { revision }),
      this.client.get(this.lockKey).revision(revision).exec(),
    ]);
    return { nodes: nodes.kvs, nodesTooBig: nodes.tooBig, alloc: alloc.kvs, allocTooBig: alloc.tooBig, lock: lock.kvs[0], header: nodes.header };
  }

  /** Whether our name lock is gone or held under another lease (someone removed or replaced it). */
  private async lockLost(lock: IKeyValue | undefined): Promise<boolean> {
    const lockLease = this.lockLease ? await this.lockLease.grant().catch(() => undefined) : undefined;
    return !lock || String(lock.lease) !== lockLease;
  }

  /** Computes the list and emits 'nodes'/'skipped' on change (reads: see the module doc). */
  private async refresh(): Promise<void> {
    const view = this.o.reads === 'full' ? await this.fullView() : await this.incrementalView();
    await this.screenView(view);
  }

  /** reads 'full': everything read now. */
  private async fullView(): Promise<ReadView> {
    let state = await this.readState();
    if (this.noticeStore(state.header)) {
      await this.register();
      state = await this.readState();
    }
    // Someone removed or replaced our name lock: take it again (or learn who has it).
    if (await this.lockLost(state.lock)) {
      this.needRegister = true;
      await this.register();
      state = await this.readState();
    }
    return {
      entries: orderNodeKvs(state.nodes).map((kv) => ({ kv, candidate: candidateOf(kv, this.nodesPrefix) })),
      tooBig: state.nodesTooBig,
      alloc: parseAllocKeys(state.alloc, state.allocTooBig, this.prefix, state.header),
      revision: String(state.header.revision),
    };
  }

  /** reads 'incremental': the copy, read in full only when there is none or it fails its check. */
  private async incrementalView(): Promise<ReadView> {
    let m = this.mirror;
    // Checked on the resync interval, and while the watch is down or etcd refused or failed
    // us (which also finds out whether etcd answers, for the status): while etcd refuses this
    // agent, events a still open watch delivers change nothing, as a refused read would not.
    const due = this.watchDown || this.connected === false || Date.now() - this.lastCheck >= this.o.resyncIntervalMs;
    if (m && due && !(await this.mirrorAgrees(m))) m = undefined;
    if (!m || this.mirror !== m) m = await this.readMirror();
    if (await this.lockLost(m.lock)) {
      this.needRegister = true;
      await this.register();
      m = await this.readMirror();
    }
    return { mirror: m };
  }

  /** Reads everything into a new copy and watches from the revision after the read. */
  private async readMirror(): Promise<MembershipMirror> {
    let state = await this.readState();
    if (this.noticeStore(state.header)) {
      await this.register();
      state = await this.readState();
    }
    const m = new MembershipMirror(this.prefix, this.lockKey);
    m.reset(state);
    this.mirror = m;
    this.lastCheck = Date.now();
    this.replaceWatcher(true);
    return m;
  }

  /**
   * The periodic check of the copy: etcd's count of the records and of the reservation keys at
   * the copy's revision (two count-only requests, a few bytes each, whatever N) must match the
   * copy's. False when it does not, or when that revision cannot be read any more (compacted).
   */
  private async mirrorAgrees(m: MembershipMirror): Promise<boolean> {
    // The copy's revision and counts now: events applied while the counts are on the way
    // belong to later revisions.
    const revision = String(m.revision);
    const want = m.counts();
    const count = (prefix: string) => this.client.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(Buffer.from(prefix)), count_only: true, revision });
    let counts;
    try {
      counts = await Promise.all([count(this.nodesPrefix), count(allocKeys(this.prefix).prefix)]);
    } catch (e) {
      if (!/compacted|future revision/i.test(asError(e).message)) throw e;
      this.counted.countDisagreements++;
      return false;
    }
    this.lastCheck = Date.now();
    this.counted.countChecks++;
    if (this.noticeStore(counts[0].header)) return false;
    const [nodes, alloc] = counts.map((c) => Number(c.count));
    if (nodes === want.nodes && alloc === want.alloc) return true;
    this.counted.countDisagreements++;
    this.emit('warning', `the copy of ${this.prefix} at revision ${revision} has ${want.nodes} records and ${want.alloc} reservation keys, etcd ${nodes} and ${alloc}: reading everything again`);
    return false;
  }

  private reservationIndex(alloc: AllocSnapshot): ReservationIndex {
    if (this.reservations?.alloc !== alloc) this.reservations = { alloc, index: new ReservationIndex(alloc) };
    return this.reservations.index;
  }

  /** Screens what was read (or followed), emits 'nodes'/'skipped' on change. */
  private async screenView(view: ReadView): Promise<void> {
    if ('mirror' in view) return this.screenMirror(view.mirror);
    const self = this.record!;
    const ownKey = this.nodeKey(self.name);
    let ownSeen = false;
    const candidates: CandidateRecord[] = [];
    const leases = new Map<CandidateRecord, string>();
    for (const { kv, candidate } of view.entries) {
      if (candidate.source === ownKey) {
        ownSeen = this.ownRecordKept(kv.value.toString(), self);
        continue;
      }
      candidates.push(candidate);
      leases.set(candidate, String(kv.lease));
    }
    for (const key of view.tooBig) if (key !== ownKey) candidates.push(tooBigCandidate(key, this.nodesPrefix));
    if (!ownSeen) await this.registerAgain();
    let names: Set<string | undefined> | undefined;
    const present = (name: string) => (names ??= new Set(candidates.map((c) => c.expectedName))).has(name);
    this.keepMissing(candidates, this.graceMissing(self, present));
    const reservations = this.reservationIndex(view.alloc);
    const result = screenNodes(self, candidates, {
      ...this.screen,
      // A record kept while etcd settles has no lease here: it was admitted before.
      admit: (rec, c) => reservations.admit(rec, leases.get(c)),
    });
    this.publish(result, undefined);
    this.emit('read', { revision: view.revision });
  }

  /**
   * reads 'incremental': screens the copy with the screener that follows it (mirror-screen.ts),
   * so that one changed record costs a few lookups, not a screening of every record. Peers
   * missing right after an outage (graceMissing) are screened last, as screenView adds them.
   */
  private async screenMirror(m: MembershipMirror): Promise<void> {
    const self = this.record!;
    const own = m.node(this.nodeKey(self.name));
    if (!own || !this.ownRecordKept(own.text, self)) await this.registerAgain();
    // What the copy holds now (events applied during the awaits above count too).
    const missing = this.graceMissing(self, (name) => m.hasNode(this.nodeKey(name)));
    const screened = this.screening.screen(m, self, this.followOptions, missing);
    const { delta } = screened.result;
    const changed = screened.continues === this.published ? delta.added.length + delta.removed.length + delta.changed.length > 0 : undefined;
    this.publish(screened.result, changed, screened.continues);
    this.emit('read', { revision: String(m.revision) });
  }

  /** Whether this host's record as stored (`text`: its value, undefined when too big to keep) counts as present (else it is published again). */
  private ownRecordKept(text: string | undefined, self: NodeRecord): boolean {
    if (text === JSON.stringify(self)) return true;
    this.warnOnce(`someone else wrote this host's record (${self.name}): ${text === undefined ? `a value of more than ${MAX_RECORD_BYTES} bytes` : text.slice(0, 200)}`);
    // Publish ours again, but at most once per resync interval: two live agents with the same
    // name must not overwrite each other in a tight loop.
    if (Date.now() - this.lastReclaim < this.o.resyncIntervalMs) return true;
    this.lastReclaim = Date.now();
    return false;
  }

  /** Our record is gone (lease expired while etcd was away, deleted, overwritten): publish it again. */
  private async registerAgain(): Promise<void> {
    this.needRegister = true;
    await this.register();
  }

  /**
   * Right after an outage, peers may not have re-registered yet (their leases may have run out
   * while nobody could renew them): a node that is missing now is kept for one TTL plus one
   * retry delay, the time a peer needs to publish itself again, so that an etcd restart does not
   * remove routes. New and changed records apply at once. The nodes of the last list that are
   * missing now (`present` says whether a record is stored under a name), while that lasts; a
   * timer screens again when it ends.
   */
  private graceMissing(self: NodeRecord, present: (name: string) => boolean): NodeRecord[] {
    if (this.connected === false) this.reconnectedAt = Date.now();
    const graceLeft = this.reconnectedAt + this.o.ttlSeconds * 1000 + this.o.maxBackoffMs - Date.now();
    if (graceLeft <= 0) return [];
    const missing = this.list.filter((n) => n.name !== self.name && !present(n.name));
    if (missing.length && !this.graceTimer) {
      this.graceTimer = setTimeout(() => {
        this.graceTimer = undefined;
        this.schedule(0);
      }, graceLeft + 10);
    }
    return missing;
  }

  /** Adds the nodes kept while etcd settles to the candidates (last in screening order). */
  private keepMissing(candidates: CandidateRecord[], missing: readonly NodeRecord[]): void {
    for (const n of missing) candidates.push({ source: `${this.nodeKey(n.name)} (kept while etcd settles)`, value: n, expectedName: n.name });
  }

  /** Reports a result; `from` is the screener it came from (its delta says whether the list
   * changed since the last result reported, when that came from the same screener). */
  private publish(result: ScreenResult, nodesChanged: boolean | undefined, from?: object): void {
    this.published = from;
    this.changes.publish(result, nodesChanged);
  }

  private warnOnce(message: string): void {
    this.changes.warnOnce(message);
  }

  // ------------------------------------------------------------------ stopping

  /**
   * Stops watching and heartbeats and closes the etcd client. The kernel is not touched. The
   * name is released at once (a restarted agent takes it without waiting); the record stays
   * until its lease expires. With `leave`, the record is removed from etcd now (and the podCIDR
   * reservation released).
   */
  async stop(options: EtcdStopOptions = {}): Promise<void> {
    if (this.stopped && !this.starting) return;
    this.stopped = true;
    for (const t of [this.timer, this.graceTimer]) if (t) clearTimeout(t);
    this.timer = this.graceTimer = undefined;
    if (this.starting) {
      const s = this.starting;
      this.starting = undefined;
      s.reject(new Error('EtcdMembership: stopped before it was registered'));
    }
    await this.teardown(options.leave ?? false, true);
  }

  private async teardown(leave: boolean, releaseName: boolean): Promise<void> {
    this.stopped = true;
    this.closed = true;
    for (const w of this.republishing.splice(0)) w.reject(new Error('EtcdMembership: stopped before the record was written again'));
    for (const t of [this.timer, this.graceTimer]) if (t) clearTimeout(t);
    this.timer = this.graceTimer = undefined;
    const w = this.watcher;
    this.watcher = undefined;
    if (w) {
      w.removeAllListeners();
      w.on('error', () => undefined);
      await withTimeout(w.cancel(), 1000);
    }
    const node = this.nodeLease;
    const res = this.resLease;
    const lock = this.lockLease;
    this.nodeLease = this.resLease = this.lockLease = undefined;
    for (const l of [node, res, lock]) {
      l?.removeAllListeners();
      l?.on('lost', () => undefined);
    }
    if (leave) {
      if (node) await withTimeout(node.revoke(), this.o.callTimeoutMs);
      if (this.record) await withTimeout(releaseSubnet(this.client, this.prefix, this.record.name, this.podCIDRs ?? [this.record.podCIDR]), this.o.callTimeoutMs);
      if (res) await withTimeout(res.revoke(), this.o.callTimeoutMs);
    } else {
      node?.release();
      res?.release();
    }
    if (lock && releaseName) await withTimeout(lock.revoke(), this.o.callTimeoutMs);
    else lock?.release();
    this.client.close();
  }
}

/** What one screening works on: the records in screening order read now, or the copy followed. */
type ReadView =
  | {
      entries: ReadonlyArray<{ kv: IKeyValue; candidate: CandidateRecord }>;
      /** Records too big to read. */
      tooBig: readonly string[];
      alloc: AllocSnapshot;
      revision: string;
    }
  | { mirror: MembershipMirror };

/** Thrown inside registration when the store turned out to be another one: register again. */
class StoreChanged extends Error {
  constructor() {
    super('etcd is another store than before');
  }
}

/** Awaits a promise for at most `ms`; errors and timeouts are swallowed (best effort on the way out). */
async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => (t = setTimeout(r, ms)))]);
  if (t) clearTimeout(t);
}
