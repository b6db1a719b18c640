/**
 * `overlay`: this host's part of the pod network, with membership from etcd (or a node file).
 * Checks what it can locally first (the underlay device, the overlay settings), then registers
 * this host, follows the others, keeps the kernel converged, reloads on SIGHUP, and on
 * SIGTERM/SIGINT stops, leaving the kernel as it is (the lease expires on its own unless
 * --leave). It exits 1 when it cannot start, or when another agent takes this host's name.
 */
import { setFlagsFromString } from 'node:v8';
import { EtcdMembership } from '../membership/etcd';
import { MembershipFeed } from '../membership/feed';
import { StaticMembership } from '../membership/static';
import { nthSubnet, prefixOf } from '../membership/cidr';
import type { Membership, NodeRecord } from '../membership/types';
import { OverlayAgent } from '../overlay/agent';
import { desiredState, type OverlayMode } from '../overlay/modes';
import { DEFAULT_RUNTIME_FILE, podMtu, writeRuntimeFile } from '../overlay/runtime-file';
import type { Rtnl } from '../rtnl/rtnl';
import { IFA_F_DADFAILED } from '../rtnl/constants';
import { checkNodeIP, checkNodeName, checkPodCIDR } from '../membership/types';
import { parseAddress, parsePrefix, type ParsedPrefix } from '../values/address';
import type { IpFamily } from '../values/ip';
import { prefixCovers } from '../values/prefix';
import { Problems } from '../values/problems';
import { AgentStats } from '../metrics/stats';
import { agentVersion } from '../membership/version';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, describeError, loggerFor, openRtnl, reloadOnHangup, untilSignal, type CliIO, type CommonOptions } from './common';
import type { MetricsServer } from './metrics-server';
import { checkUnderlayQuery, detectUnderlay, UnderlayNotFound } from './underlay';
import { logReconciler } from './desired';
import type { Logger } from './log';
import { OVERLAY_OWNER, resolveOwner, type OwnerIdentityFlags } from './owner';
import { etcdAccessFromFlags, withEtcdFlagNames, type EtcdAccessFlags } from './etcd-flags';
import { describeKeyError, loadWgKey, rekeyOnHangup, rotateWgKey, wgKeyFile } from './wireguard';
import type { PrivateKey } from '../genl/wireguard/key';
import type { NodeWireGuard } from '../overlay/modes';

/** The options of `netlink-agent overlay` (see its --help). */
export interface OverlayOptions extends CommonOptions, OwnerIdentityFlags, EtcdAccessFlags {
  mode: OverlayMode;
  self: string;
  /** Given (once or twice, one per family: the values joined by ","), or found with the
   * underlay (--iface, --iface-can-reach, the default route). */
  nodeIp: string;
  nodeIp6?: string;
  /** --pod-cidr, given once or twice (one per family: the values joined by ","). */
  podCidr?: string;
  podCidr6?: string;
  clusterCidr?: string;
  clusterCidr6?: string;
  subnetLength: number;
  subnetLength6?: number;
  etcd?: string;
  nodes?: string;
  prefix: string;
  ttl: number;
  underlayDev?: string;
  vni?: number;
  port?: number;
  mtu?: number;
  leave?: boolean;
  runtimeFile?: string;
  /** --iface: device names, addresses or name regexps, first match wins. */
  iface?: string[];
  /** --iface-can-reach (once, or twice: one address per family, the values joined by ","): the
   * underlay is the device of the route to it. */
  ifaceCanReach?: string;
  /** --metrics-addr HOST:PORT: serve /metrics, /healthz and /readyz there. */
  metricsAddr?: string;
  /** wireguard: the private key's file (0600). */
  wgKeyFile?: string;
  /** wireguard: replace the key before registering; peers take the new public key from membership. */
  rotateKey?: boolean;
  /** wireguard: keepalive to every peer, seconds. */
  wgKeepalive?: number;
  /** --nexthops: pod routes (and vxlan's FDB entries) on one nexthop object per remote node. */
  nexthops?: boolean;
}

/** Whether the flags speak of IPv6 (pods or node addresses): then the underlay's IPv6 address is looked for too. */
function wantsIPv6(o: OverlayOptions): boolean {
  const any6 = (v: string | undefined) => v !== undefined && v.includes(':');
  return o.podCidr6 !== undefined || o.clusterCidr6 !== undefined || o.nodeIp6 !== undefined || any6(o.podCidr) || any6(o.clusterCidr) || any6(o.nodeIp);
}

/**
 * The underlay and node IPs from --iface / --iface-can-reach / the default route (see
 * ./underlay), when the node IPs or the device are not spelled out. Per family, a given
 * --node-ip wins over the detected address. Returns the options with nodeIp (both families,
 * primary first) and underlayDev filled in; throws UnderlayNotFound (a sentence) when nothing matches.
 */
async function resolveUnderlay(nl: Rtnl, o: OverlayOptions, log: Logger): Promise<OverlayOptions> {
  const auto = o.iface !== undefined || o.ifaceCanReach !== undefined;
  if (auto && o.underlayDev !== undefined) throw new UnderlayNotFound('give --underlay-dev or --iface/--iface-can-reach, not both');
  if (!auto && (o.nodeIp !== undefined || o.nodeIp6 !== undefined)) return o;
  const split = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const q = { ifaces: o.iface, canReach: split(o.ifaceCanReach), want6: wantsIPv6(o), where: o.netns !== undefined ? ` in netns ${o.netns}` : '' };
  checkUnderlayQuery(q);
  const u = await detectUnderlay(nl, q);
  const given = [...split(o.nodeIp), ...split(o.nodeIp6)];
  const ip4 = given.find((x) => !x.includes(':')) ?? u.addresses[4];
  const ip6 = given.find((x) => x.includes(':')) ?? u.addresses[6];
  const nodeIPs = [ip4, ip6].filter((x): x is string => x !== undefined);
  log.info('underlay', `${u.dev} (${nodeIPs.join(' ')}, mtu ${u.mtu}), chosen by ${u.how}`);
  return { ...o, nodeIp: nodeIPs.join(','), nodeIp6: undefined, underlayDev: u.dev };
}

/** The device that holds `ip` (either family) in this namespace (the underlay), or undefined. */
export async function deviceWithAddress(nl: Rtnl, ip: string): Promise<string | undefined> {
  const want = parseAddress(new Problems(), 'ip', ip);
  if (!want) return undefined;
  const own = (await nl.addresses.list({ family: want.family })).find((a) => a.address.split('/')[0] === want.text);
  return own ? (await nl.links.get(own.index)).name : undefined;
}

/** This host's addresses and subnets from the flags, by family (primary first). */
export interface StackFlags {
  nodeIPs: string[];
  /** The pod subnets given (none when they are allocated). */
  podCIDRs: string[];
  /** The cluster ranges by family. */
  cluster: { 4?: ParsedPrefix; 6?: ParsedPrefix };
}

/**
 * Reads --node-ip (once or twice) and --node-ip6, --pod-cidr (once or twice) and --pod-cidr6,
 * --cluster-cidr and --cluster-cidr6: one value per family, the *6 flags IPv6 only, each
 * problem named by its flag (a family mismatch, two of a family, an IPv4-mapped address...).
 */
export function stackFlags(p: Problems, o: OverlayOptions): StackFlags {
  const out: StackFlags = { nodeIPs: [], podCIDRs: [], cluster: {} };
  const split = (v: string | undefined) => (v ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const take = <T extends { family: IpFamily; text: string }>(flag: string, values: string[], six: string | undefined, check: (flag: string, v: string) => T | undefined, show: (x: T) => string): string[] => {
    const got: T[] = [];
    const all = [...values.map((v) => [flag, v] as const), ...(six !== undefined ? [[`${flag}6`, six] as const] : [])];
    for (const [f, v] of all) {
      const x = check(f, v);
      if (!x) continue;
      if (f.endsWith('6') && x.family !== 6) p.add(f, `${show(x)} is IPv4 (family mismatch): give it with ${flag}`);
      else if (got.some((g) => g.family === x.family)) p.add(f, `a second ${x.family === 4 ? 'IPv4' : 'IPv6'} value (${show(got.find((g) => g.family === x.family)!)} and ${show(x)}): give one per family`);
      else got.push(x);
    }
    return got.map(show);
  };
  out.nodeIPs = take('--node-ip', split(o.nodeIp), o.nodeIp6, (f, v) => checkNodeIP(p, f, v), (x) => x.text);
  out.podCIDRs = take('--pod-cidr', split(o.podCidr), o.podCidr6, (f, v) => checkPodCIDR(p, f, v), (x) => (x as ParsedPrefix).prefix);
  const c4 = o.clusterCidr !== undefined ? parsePrefix(p, '--cluster-cidr', o.clusterCidr, 'reject') : undefined;
  const c6 = o.clusterCidr6 !== undefined ? parsePrefix(p, '--cluster-cidr6', o.clusterCidr6, 'reject') : undefined;
  if (c6 && c6.family !== 6) p.add('--cluster-cidr6', `${c6.prefix} is IPv4 (family mismatch): give it with --cluster-cidr`);
  else if (c6 && c4?.family === 6) p.add('--cluster-cidr6', `--cluster-cidr is IPv6 already (${c4.prefix}): give one range per family`);
  else if (c6) out.cluster[6] = c6;
  if (c4) out.cluster[c4.family] = c4;
  return out;
}

/** A start-up check failed: nothing was registered or changed. The message is the sentence. */
class NotReady extends Error {}

/** What the host must have before this agent registers anywhere. */
interface LocalFacts {
  underlayDev: string;
  underlayMtu: number;
  /** The underlay device's addresses ("10.57.4.20/24"): peers' podCIDRs must stay out of them. */
  underlayPrefixes: string[];
  /** This host's addresses and subnets from the flags. */
  stack: StackFlags;
  /** wireguard: this host's key and what it publishes. */
  wireguard?: { key: PrivateKey; record: NodeWireGuard; file: string };
  /** host-gw with IPv6 pods and no global IPv6 node IP: the underlay's link-local address, published for the peers' routes. */
  linkLocal6?: string;
}

/**
 * Checks the local preconditions, so that a host that cannot run the overlay says so and
 * exits rather than publishing a record and then failing forever: the underlay device exists
 * (given, or the one holding --node-ip), and the overlay settings (VNI, port, MTU against the
 * underlay's, hybrid's subnet) make a valid desired state for this host.
 */
async function checkLocal(nl: Rtnl, o: OverlayOptions, log: Logger): Promise<LocalFacts> {
  const p = new Problems();
  checkNodeName(p, '--self', o.self);
  const stack = stackFlags(p, o);
  const pods = stack.podCIDRs.map((c) => prefixOf(c)!);
  const lengthOf = (f: IpFamily) => (f === 4 ? o.subnetLength : (o.subnetLength6 ?? 64));
  for (const f of [4, 6] as const) {
    const range = stack.cluster[f];
    if (!range) continue;
    const pod = pods.find((x) => x.family === f);
    const flag = f === 4 || o.clusterCidr6 === undefined ? '--cluster-cidr' : '--cluster-cidr6';
    if (pod && !prefixCovers(range, pod)) p.add(f === 6 && o.podCidr6 !== undefined ? '--pod-cidr6' : '--pod-cidr', `${pod.prefix} is outside the cluster CIDR ${range.prefix}`);
    const lenFlag = f === 4 ? '--subnet-length' : '--subnet-length6';
    if (!pod && lengthOf(f) < range.prefixLength) p.add(lenFlag, `/${lengthOf(f)} is shorter than the cluster CIDR's /${range.prefixLength} (${flag})`);
    if (!pod && f === 6 && (lengthOf(f) < 48 || lengthOf(f) > 120)) p.add(lenFlag, `an IPv6 pod subnet must be /48../120, got /${lengthOf(f)}`);
    if (!pod && f === 4 && lengthOf(f) > 30) p.add(lenFlag, `an IPv4 pod subnet must be /8../30, got /${lengthOf(f)}`);
  }
  if (o.mode !== 'wireguard' && (o.wgKeyFile !== undefined || o.rotateKey || o.wgKeepalive !== undefined)) p.add('--mode', '--wg-key-file, --rotate-key and --wg-keepalive are for --mode wireguard');
  const keyFile = o.mode === 'wireguard' ? wgKeyFile(o) : undefined;
  if (typeof keyFile === 'object') p.add('--wg-key-file', keyFile.problem);
  if (o.rotateKey && !o.etcd) p.add('--rotate-key', 'needs --etcd: a node file cannot publish the new public key');
  p.throwIfAny('invalid overlay options');
  let wgKey: PrivateKey | undefined;
  if (typeof keyFile === 'string') {
    try {
      wgKey = await loadWgKey(keyFile, log);
    } catch (e) {
      const why = describeKeyError(e);
      if (why) throw new NotReady(why);
      throw e;
    }
  }
  const where = o.netns !== undefined ? ` in netns ${o.netns}` : '';
  const nodeIP = stack.nodeIPs[0];
  let underlayDev = o.underlayDev;
  if (underlayDev === undefined) {
    underlayDev = await deviceWithAddress(nl, nodeIP);
    if (!underlayDev) throw new NotReady(`no device has the node IP ${nodeIP}${where}; give --underlay-dev`);
  }
  let link;
  try {
    link = await nl.links.get(underlayDev);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENODEV' || code === 'ENOENT') throw new NotReady(`the underlay device ${underlayDev} does not exist${where}; check --underlay-dev`);
    throw e;
  }
  const addresses = await nl.addresses.list({ dev: link.index });
  const underlayPrefixes = addresses.filter((a) => a.scope < 253).map((a) => a.address);
  // This host's overlay alone: every setting that the kernel or the validator would refuse
  // later is refused now. The subnet is a stand-in when it is allocated later.
  for (const ip of stack.nodeIPs.slice(1)) {
    if (!addresses.some((a) => a.address.split('/')[0] === ip)) throw new NotReady(`the node IP ${ip} is not an address of the underlay device ${underlayDev}${where}`);
  }
  const podCIDRs = [...stack.podCIDRs];
  for (const f of [4, 6] as const) {
    const range = stack.cluster[f];
    if (range && !pods.some((x) => x.family === f)) podCIDRs.push(nthSubnet(range, lengthOf(f), 0n).prefix);
  }
  if (podCIDRs.length === 0) podCIDRs.push('10.0.0.0/24');
  const self = { name: o.self, nodeIP, podCIDR: podCIDRs[0], ...(stack.nodeIPs.length > 1 ? { nodeIPs: stack.nodeIPs } : {}), ...(podCIDRs.length > 1 ? { podCIDRs } : {}) };
  const underlaySubnets = addresses.filter((a) => stack.nodeIPs.includes(a.address.split('/')[0])).map((a) => a.address);
  desiredState({
    mode: o.mode,
    self: o.self,
    nodes: [self],
    underlayDev,
    underlayMtu: link.mtu,
    ...(underlaySubnets.length ? { underlaySubnets } : o.mode === 'hybrid' ? { underlaySubnet: `${nodeIP}/${nodeIP.includes(':') ? 128 : 32}` } : {}),
    ...(o.vni !== undefined ? { vni: o.vni } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
    ...(o.mtu !== undefined ? { mtu: o.mtu } : {}),
    ...(wgKey ? { wireguardKey: wgKey } : {}),
    ...(o.wgKeepalive !== undefined ? { persistentKeepalive: o.wgKeepalive } : {}),
    ...(o.nexthops ? { nexthops: true } : {}),
  });
  if (wgKey && o.rotateKey) wgKey = await rotateWgKey(keyFile as string, log);
  const wireguard = wgKey ? { key: wgKey, record: { publicKey: wgKey.publicKey().toBase64(), ...(o.port !== undefined ? { port: o.port } : {}) }, file: keyFile as string } : undefined;
  // host-gw routes IPv6 pods via a peer's IPv6 address; without a global one, via its link-local one on the segment.
  const linkLocal6 = o.mode === 'host-gw' && podCIDRs.some((c) => c.includes(':')) && !stack.nodeIPs.some((ip) => ip.includes(':'))
    ? addresses.find((a) => a.family === 6 && a.scope === 253 && (a.flags & IFA_F_DADFAILED) === 0)?.address.split('/')[0]
    : undefined;
  if (linkLocal6) log.info('underlay', `no global IPv6 address on ${underlayDev}: peers route this node's IPv6 pods via its link-local ${linkLocal6}`);
  return { underlayDev, underlayMtu: link.mtu, underlayPrefixes, stack, ...(wireguard ? { wireguard } : {}), ...(linkLocal6 ? { linkLocal6 } : {}) };
}

function makeMembership(o: OverlayOptions, local: LocalFacts): Membership & { stop(opts?: { leave?: boolean }): Promise<void> } {
  const { nodeIPs, podCIDRs, cluster } = local.stack;
  const ips = { nodeIP: nodeIPs[0], ...(nodeIPs.length > 1 ? { nodeIPs } : {}) };
  const pods = podCIDRs.length ? { podCIDR: podCIDRs[0], ...(podCIDRs.length > 1 ? { podCIDRs } : {}) } : {};
  const ranges = [cluster[4], cluster[6]].filter((x): x is ParsedPrefix => x !== undefined);
  if (o.etcd) {
    const [first, second] = ranges;
    return withEtcdFlagNames(() => new EtcdMembership({
      ...etcdAccessFromFlags(o, process.env),
      endpoints: o.etcd!.split(',').map((s) => s.trim()).filter(Boolean),
      prefix: o.prefix,
      ttlSeconds: o.ttl,
      self: { name: o.self, ...ips, mode: o.mode, ...pods, ...(local.wireguard ? { wireguard: local.wireguard.record } : {}), ...(local.linkLocal6 ? { linkLocal6: local.linkLocal6 } : {}) },
      ...(first
        ? { allocation: { clusterCIDR: first.prefix, subnetLength: first.family === 4 ? o.subnetLength : (o.subnetLength6 ?? 64), ...(second ? { clusterCIDR6: second.prefix } : {}), ...(o.subnetLength6 !== undefined ? { subnetLength6: o.subnetLength6 } : {}) } }
        : {}),
      protectedPrefixes: local.underlayPrefixes,
    }));
  }
  const self = podCIDRs.length ? { name: o.self, ...ips, ...pods, mode: o.mode, ...(local.wireguard ? { wireguard: local.wireguard.record } : {}), ...(local.linkLocal6 ? { linkLocal6: local.linkLocal6 } : {}) } as NodeRecord : o.self;
  return new StaticMembership({ file: o.nodes!, self, ...(ranges.length ? { clusterCIDRs: ranges.map((r) => r.prefix) } : {}), protectedPrefixes: local.underlayPrefixes });
}

/** Logs membership events, one line each. */
function logMembership(m: Membership, log: Logger, source: string): void {
  let previous: string[] = [];
  m.on('nodes', (nodes: NodeRecord[]) => {
    const now = nodes.map((n) => n.name);
    const added = now.filter((n) => !previous.includes(n));
    const removed = previous.filter((n) => !now.includes(n));
    previous = now;
    log.info('nodes', `${nodes.length} node${nodes.length === 1 ? '' : 's'}: ${nodes.map((n) => `${n.name} ${n.nodeIP} ${n.podCIDR}`).join(', ')}`, {
      added,
      removed,
    });
  });
  m.on('skipped', (list) => {
    for (const s of list) log.warn('skipped', `record ${s.source}${s.name ? ` (${s.name})` : ''} skipped: ${s.reason}`);
  });
  m.on('status', (s) => {
    if (s.state === 'connected') log.info('membership', `${source} reachable`);
    else log.warn('membership', `${source} unreachable: ${describeError(s.error)}; keeping the last known nodes, retrying`, { retryInMs: s.retryInMs });
  });
  m.on('warning', (w) => log.warn('membership', w));
  m.on('error', (e) => log.error('membership', describeError(e)));
}

/**
 * How much V8 lets the heap grow past what the last full collection kept, in percent, for the
 * long-running overlay process. An agent follows every membership change with a new node list,
 * desired state and prepared state; the old ones die after surviving a few young collections,
 * so they reach the old generation, and V8's default growth (a factor up to 4 when collections
 * are fast) let an agent at 5,000 nodes keep 150-250 MB of such garbage (RSS ~330 MB with a
 * live heap of ~60 MB). At 20% the same run stays near 200 MB at about the same CPU and
 * latency (bench/membership-scale.js; the numbers in the commit). Set from inside the process
 * because the heap limits V8 reads at its start (e.g. the young generation's semi-space size)
 * cannot be: those belong on node's command line (NODE_OPTIONS in the unit or the pod spec).
 */
export const OVERLAY_HEAP_GROWING_PERCENT = 20;

/** Applies OVERLAY_HEAP_GROWING_PERCENT, unless node was started with its own --heap-growing-percent. */
function boundHeapGrowth(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'));
  if (!given) setFlagsFromString(`--heap-growing-percent=${OVERLAY_HEAP_GROWING_PERCENT}`);
}

/** netlink-agent overlay: runs until SIGTERM/SIGINT, then exits 0 (1 when it cannot start, or
 * when another agent takes this host's name). SIGHUP re-reads the node file or etcd and the
 * underlay, and re-applies. */
export async function overlayCommand(given: OverlayOptions, io: CliIO): Promise<number> {
  boundHeapGrowth();
  const log = loggerFor(io, given);
  let listen: { host: string; port: number } | undefined;
  let metricsModule: typeof import('./metrics-server') | undefined;
  if (given.metricsAddr !== undefined) {
    metricsModule = await import('./metrics-server');
    try {
      listen = metricsModule.parseListenAddress(given.metricsAddr);
    } catch (e) {
      log.error('start', `${describeError(e)}; nothing was registered or changed`);
      return EXIT_USAGE;
    }
  }
  const signal = untilSignal();
  const hangup = reloadOnHangup();
  const nl = await openRtnl(given);
  let membership: ReturnType<typeof makeMembership> | undefined;
  let agent: OverlayAgent | undefined;
  let feed: MembershipFeed | undefined;
  let metrics: MetricsServer | undefined;
  const stats = new AgentStats();
  stats.observeNetlink(nl);
  let watching = false;
  let o = given;
  try {
    let local: LocalFacts;
    try {
      o = await resolveUnderlay(nl, given, log);
    } catch (e) {
      if (!(e instanceof UnderlayNotFound)) throw e;
      log.error('start', `${e.message}; nothing was registered or changed`);
      return EXIT_USAGE;
    }
    try {
      local = await checkLocal(nl, o, log);
    } catch (e) {
      log.error('start', `${e instanceof NotReady ? e.message : describeError(e)}; nothing was registered or changed`);
      return EXIT_FAILURE;
    }
    const { underlayDev } = local;
    const id = resolveOwner(o, OVERLAY_OWNER);
    if (metricsModule && listen) {
      try {
        metrics = await metricsModule.startMetricsServer({ ...listen, stats, watching: () => watching, info: { node: o.self, mode: o.mode, version: agentVersion() } });
      } catch (e) {
        if (!(e instanceof metricsModule.MetricsAddressError)) throw e;
        log.error('start', `${e.message}; nothing was registered or changed`);
        return EXIT_USAGE;
      }
      const shown = metrics.host.includes(':') ? `[${metrics.host}]` : metrics.host;
      log.info('metrics', `serving http://${shown}:${metrics.port}/metrics, /healthz and /readyz`, { port: metrics.port });
    }
    const source = o.etcd ? `etcd ${o.etcd}` : `node file ${o.nodes}`;
    membership = makeMembership(o, local);
    stats.observeMembership(membership);
    logMembership(membership, log, source);
    let fatal: ((e: Error) => void) | undefined;
    const lost = new Promise<Error>((resolve) => (fatal = resolve));
    membership.on('fatal', (e) => fatal?.(e));
    log.info('start', `${o.mode} overlay for ${o.self} (${local.stack.nodeIPs.join(' ')} on ${underlayDev}${o.netns !== undefined ? `, netns ${o.netns}` : ''}); members from ${source}${o.nexthops ? '; routes on nexthop objects' : ''}`, {
      pid: process.pid,
      owner: id.owner,
      protocol: id.protocol,
      nexthops: Boolean(o.nexthops),
    });
    if (!o.clusterCidr && !o.clusterCidr6) log.warn('start', 'no --cluster-cidr: peers\' pod subnets are bounded only by the underlay and the other nodes; give the cluster\'s pod range to bound them');
    const started = membership.start();
    const first = await Promise.race([started, signal.done]);
    if (typeof first === 'string') {
      started.catch(() => undefined);
      log.info('stop', `${first} before registration; nothing was changed`);
      return EXIT_OK;
    }
    const self = first;
    const selfIPs = (self.nodeIPs ?? [self.nodeIP]).join(' ');
    if (selfIPs !== local.stack.nodeIPs.join(' ')) {
      log.error('start', `the node file says ${self.name} has nodeIP ${selfIPs}, not ${local.stack.nodeIPs.join(' ')}`);
      return EXIT_FAILURE;
    }
    const selfPods = self.podCIDRs ?? [self.podCIDR];
    log.info('registered', `${self.name} podCIDR ${selfPods.join(' ')}`, { vtepMac: self.vtepMac, ...(self.vtepMac6 ? { vtepMac6: self.vtepMac6 } : {}), version: self.version, ...(self.wireguard ? { wireguardPublicKey: self.wireguard.publicKey } : {}) });
    if (local.wireguard && self.wireguard?.publicKey !== local.wireguard.record.publicKey) {
      log.error('start', `the node file gives ${self.name} the WireGuard public key ${self.wireguard?.publicKey ?? '(none)'}, but the key file's is ${local.wireguard.record.publicKey}`);
      return EXIT_FAILURE;
    }
    const theAgent = new OverlayAgent({
      nl,
      mode: o.mode,
      self: o.self,
      underlayDev,
      reconciler: id.reconciler,
      ...(o.vni !== undefined ? { vni: o.vni } : {}),
      ...(o.port !== undefined ? { port: o.port } : {}),
      ...(o.mtu !== undefined ? { mtu: o.mtu } : {}),
      ...(local.wireguard ? { wireguardKey: local.wireguard.key } : {}),
      ...(o.wgKeepalive !== undefined ? { persistentKeepalive: o.wgKeepalive } : {}),
      ...(o.nexthops ? { nexthops: true } : {}),
    });
    agent = theAgent;
    stats.observeReconciler(theAgent.reconciler);
    logReconciler(theAgent.reconciler, log);
    // The CNI plugin's runtime file: the machine's by default; an agent for a namespace writes one only when told where.
    const runtimeFile = o.runtimeFile ?? (o.netns !== undefined ? undefined : DEFAULT_RUNTIME_FILE);
    if (runtimeFile) {
      const underlayMtu = (await nl.links.get(underlayDev)).mtu;
      const networks = [local.stack.cluster[4], local.stack.cluster[6]].filter((x): x is ParsedPrefix => x !== undefined).map((x) => x.prefix);
      const info = { version: 1 as const, node: self.name, mode: o.mode, networks, subnets: selfPods };
      theAgent.once('desired', (d) => {
        try {
          writeRuntimeFile(runtimeFile, { ...info, mtu: podMtu(d, underlayMtu) });
          log.info('runtime-file', `wrote ${runtimeFile}: subnet ${selfPods.join(' ')}, mtu ${podMtu(d, underlayMtu)}`);
        } catch (e) {
          log.error('runtime-file', `cannot write ${runtimeFile}: ${describeError(e)}`);
        }
      });
    }
    feed = new MembershipFeed(membership, theAgent);
    watching = true;
    feed.on('error', (e, retryInMs) => log.error('overlay', `${describeError(e)}; retrying`, { retryInMs }));
    const m = membership;
    const rekey = local.wireguard ? rekeyOnHangup(local.wireguard, theAgent, m, log) : undefined;
    hangup.ready(() => {
      log.info('reload', `SIGHUP: re-reading ${source}${rekey ? ', the WireGuard key file' : ''} and the underlay`);
      m.resync();
      theAgent.refresh().catch((e: unknown) => log.error('reload', `${describeError(e)}; keeping the previous state`));
      rekey?.();
    });
    const end = await Promise.race([signal.done, lost]);
    if (end instanceof Error) {
      log.error('stop', `${describeError(end)}; stopping (the kernel is left as it is)`);
      return EXIT_FAILURE;
    }
    log.info('stop', `${end}: stopping; the kernel is left as it is`);
    return EXIT_OK;
  } finally {
    signal.cancel();
    hangup.cancel();
    await feed?.stop();
    await agent?.stop();
    await membership?.stop({ leave: Boolean(o.leave) });
    await metrics?.close();
    nl.close();
  }
}
