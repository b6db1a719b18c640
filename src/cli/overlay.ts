/**
 * `overlay`: this host's part of the pod network, with membership from etcd (or a node file).
 * Registers this host, follows the others, keeps the kernel converged, and on SIGTERM/SIGINT
 * stops, leaving the kernel as it is (the lease expires on its own unless --leave).
 */
import { EtcdMembership } from '../membership/etcd';
import { MembershipFeed } from '../membership/feed';
import { StaticMembership } from '../membership/static';
import type { Membership, NodeRecord } from '../membership/types';
import { OverlayAgent } from '../overlay/agent';
import type { OverlayMode } from '../overlay/modes';
import { DEFAULT_RUNTIME_FILE, podMtu, writeRuntimeFile } from '../overlay/runtime-file';
import type { Rtnl } from '../rtnl/rtnl';
import { parseAddress } from '../values/address';
import { Problems } from '../values/problems';
import { EXIT_FAILURE, EXIT_OK, describeError, loggerFor, openRtnl, untilSignal, type CliIO, type CommonOptions } from './common';
import { logReconciler } from './desired';
import type { Logger } from './log';

export interface OverlayOptions extends CommonOptions {
  mode: OverlayMode;
  self: string;
  nodeIp: string;
  podCidr?: string;
  clusterCidr?: string;
  subnetLength: number;
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
}

/** The device that holds `ip` in this namespace (the underlay), or undefined. */
export async function deviceWithAddress(nl: Rtnl, ip: string): Promise<string | undefined> {
  const want = parseAddress(new Problems(), 'ip', ip, 4)?.text;
  const own = (await nl.addresses.list({ family: 4 })).find((a) => a.address.split('/')[0] === want);
  return own ? (await nl.links.get(own.index)).name : undefined;
}

function makeMembership(o: OverlayOptions): Membership & { stop(opts?: { leave?: boolean }): Promise<void> } {
  if (o.etcd) {
    return new EtcdMembership({
      endpoints: o.etcd.split(',').map((s) => s.trim()).filter(Boolean),
      prefix: o.prefix,
      ttlSeconds: o.ttl,
      self: { name: o.self, nodeIP: o.nodeIp, mode: o.mode, ...(o.podCidr ? { podCIDR: o.podCidr } : {}) },
      ...(o.clusterCidr ? { allocation: { clusterCIDR: o.clusterCidr, subnetLength: o.subnetLength } } : {}),
    });
  }
  const self = o.podCidr ? { name: o.self, nodeIP: o.nodeIp, podCIDR: o.podCidr, mode: o.mode } : o.self;
  return new StaticMembership({ file: o.nodes!, self, ...(o.clusterCidr ? { clusterCIDR: o.clusterCidr } : {}) });
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

/** netlink-agent overlay: runs until SIGTERM/SIGINT, then exits 0 (1 when it cannot start). */
export async function overlayCommand(o: OverlayOptions, io: CliIO): Promise<number> {
  const log = loggerFor(io, o);
  const signal = untilSignal();
  const nl = await openRtnl(o);
  let membership: ReturnType<typeof makeMembership> | undefined;
  let agent: OverlayAgent | undefined;
  let feed: MembershipFeed | undefined;
  try {
    const underlayDev = o.underlayDev ?? (await deviceWithAddress(nl, o.nodeIp));
    if (!underlayDev) {
      log.error('start', `no device has the node IP ${o.nodeIp}${o.netns ? ` in netns ${o.netns}` : ''}; give --underlay-dev`);
      return EXIT_FAILURE;
    }
    const source = o.etcd ? `etcd ${o.etcd}` : `node file ${o.nodes}`;
    membership = makeMembership(o);
    logMembership(membership, log, source);
    log.info('start', `${o.mode} overlay for ${o.self} (${o.nodeIp} on ${underlayDev}${o.netns ? `, netns ${o.netns}` : ''}); members from ${source}`, {
      pid: process.pid,
    });
    const started = membership.start();
    const first = await Promise.race([started, signal.done]);
    if (typeof first === 'string') {
      started.catch(() => undefined);
      log.info('stop', `${first} before registration; nothing was changed`);
      return EXIT_OK;
    }
    const self = first;
    if (self.nodeIP !== o.nodeIp) {
      log.error('start', `the node file says ${self.name} has nodeIP ${self.nodeIP}, not ${o.nodeIp}`);
      return EXIT_FAILURE;
    }
    log.info('registered', `${self.name} podCIDR ${self.podCIDR}`, { vtepMac: self.vtepMac, version: self.version });
    agent = new OverlayAgent({
      nl,
      mode: o.mode,
      self: o.self,
      underlayDev,
      ...(o.vni !== undefined ? { vni: o.vni } : {}),
      ...(o.port !== undefined ? { port: o.port } : {}),
      ...(o.mtu !== undefined ? { mtu: o.mtu } : {}),
    });
    logReconciler(agent.reconciler, log);
    // The CNI plugin's runtime file: the machine's by default; an agent for a namespace writes one only when told where.
    const runtimeFile = o.runtimeFile ?? (o.netns ? undefined : DEFAULT_RUNTIME_FILE);
    if (runtimeFile) {
      const underlayMtu = (await nl.links.get(underlayDev)).mtu;
      const info = { version: 1 as const, node: self.name, mode: o.mode, networks: o.clusterCidr ? [o.clusterCidr] : [], subnets: [self.podCIDR] };
      agent.once('desired', (d) => {
        try {
          writeRuntimeFile(runtimeFile, { ...info, mtu: podMtu(d, underlayMtu) });
          log.info('runtime-file', `wrote ${runtimeFile}: subnet ${self.podCIDR}, mtu ${podMtu(d, underlayMtu)}`);
        } catch (e) {
          log.error('runtime-file', `cannot write ${runtimeFile}: ${describeError(e)}`);
        }
      });
    }
    feed = new MembershipFeed(membership, agent);
    feed.on('error', (e, retryInMs) => log.error('overlay', `${describeError(e)}; retrying`, { retryInMs }));
    const sig = await signal.done;
    log.info('stop', `${sig}: stopping; the kernel is left as it is`);
    return EXIT_OK;
  } finally {
    signal.cancel();
    await feed?.stop();
    await agent?.stop();
    await membership?.stop({ leave: Boolean(o.leave) });
    nl.close();
  }
}
