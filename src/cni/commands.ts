/**
 * The operations: ADD, DEL, CHECK, GC, STATUS (VERSION needs no configuration and lives in
 * plugin.ts). Each takes the parsed environment and configuration; kernel work goes through
 * the Rtnl handles the caller's opener makes, so tests can point it at namespaces of their own.
 */
import type { Rtnl } from '../rtnl/rtnl';
import { parsePrefix } from '../values/address';
import { Problems } from '../values/problems';
import { CniError, CNI_ERR } from './errors';
import type { NetConf } from './config';
import type { CniEnv } from './env';
import {
  configureHost,
  configurePod,
  createVeth,
  deleteHostEnd,
  ensureBridge,
  kernelError,
  openPod,
  ROUTED_GATEWAY4,
  ROUTED_GATEWAY6,
  type AttachSpec,
  type PodAddress,
  type PodRouteSpec,
} from './attach';
import { allocate, releaseAttachment, type Allocation } from './ipam/allocate';
import { ipText, parseIp } from './ipam/range';
import { loadRuntime, noSubnetMessage, resolveRanges } from './ipam/resolve';
import { ReservationStore } from './ipam/store';
import { hostVethName, ownerAlias, parseOwnerAlias } from './names';
import type { CniInterface, CniResult } from './result';

/** Opens rtnetlink in a namespace (a path), or in the caller's own when undefined. */
export type RtnlOpener = (netns?: string) => Promise<Rtnl>;

/** The attach settings of one call. */
function attachSpec(env: CniEnv, conf: NetConf, mtu: number | undefined): AttachSpec {
  return {
    mode: conf.mode,
    bridge: conf.bridge,
    isGateway: conf.isGateway,
    hairpinMode: conf.hairpinMode,
    hostIfname: hostVethName(env.containerId, env.ifname),
    alias: ownerAlias(conf.name, env.containerId, env.ifname),
    podIfname: env.ifname,
    netns: env.netns,
    ...(mtu !== undefined ? { mtu } : {}),
    sysctl: conf.sysctl,
  };
}

/** The pod's addresses for the allocations, in the mode's shape. */
function podAddresses(conf: NetConf, allocs: Allocation[]): PodAddress[] {
  return allocs.map((a) => {
    if (conf.mode === 'routed') {
      return { family: a.family, ip: a.ip, prefixLength: a.family === 4 ? 32 : 128, gateway: a.family === 4 ? ROUTED_GATEWAY4 : ROUTED_GATEWAY6 };
    }
    const gw = ipText(a.family, a.range.gateway);
    return { family: a.family, ip: a.ip, prefixLength: a.range.prefixLength, gateway: gw, bridgeAddress: `${gw}/${a.range.prefixLength}` };
  });
}

/** The pod's routes: ipam.routes (gw defaulting to the family's gateway), else a default route per family. */
function podRoutes(conf: NetConf, addrs: PodAddress[]): PodRouteSpec[] {
  const gw = (f: 4 | 6) => addrs.find((a) => a.family === f)?.gateway;
  if (!conf.ipam.routes) {
    return ([4, 6] as const).filter((f) => gw(f)).map((f) => ({ dst: f === 4 ? '0.0.0.0/0' : '::/0', family: f, gw: gw(f)! }));
  }
  return conf.ipam.routes.map((r, i) => {
    const via = r.gw ?? gw(r.family);
    if (!via) throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, 'invalid network configuration', `ipam.routes[${i}]: ${r.dst} needs an IPv${r.family} address or a gw`);
    return { dst: r.dst, family: r.family, gw: via };
  });
}

/** Runs fn with the network's reservation store locked. */
async function withStore<T>(conf: NetConf, fn: (s: ReservationStore) => T): Promise<T> {
  const store = ReservationStore.open(conf.ipam.dataDir, conf.name);
  try {
    await store.lock();
    return fn(store);
  } finally {
    store.close();
  }
}

/** ADD: creates the attachment and returns its result (merged into prevResult in a chain). */
export async function add(env: CniEnv, conf: NetConf, open: RtnlOpener): Promise<CniResult> {
  const runtime = loadRuntime(conf);
  const sets = resolveRanges(conf, runtime);
  const spec = attachSpec(env, conf, conf.mtu ?? runtime?.mtu);
  const requested = [...env.requestedIps, ...conf.requestedIps].map((t) => parseIp(t)!);
  const pod = await openPod(open, env.netns);
  let host: Rtnl | undefined;
  try {
    if ((await pod.links.list({ name: env.ifname })).length) {
      throw new CniError(CNI_ERR.KERNEL_REFUSED, 'the interface exists already', `${env.ifname} exists in ${env.netns}`);
    }
    host = await open();
    const bridge = conf.mode === 'bridge' ? await ensureBridge(host, conf.bridge, spec.mtu) : undefined;
    const hostEnd = await createVeth(host, spec);
    let allocs: Allocation[] = [];
    try {
      allocs = await withStore(conf, (s) => allocate(s, sets, env.containerId, env.ifname, requested));
      const addrs = podAddresses(conf, allocs);
      const routes = podRoutes(conf, addrs);
      await configureHost(host, spec, hostEnd, addrs);
      const podLink = await configurePod(pod, spec, hostEnd, addrs, routes);
      const ours: CniInterface[] = [
        ...(bridge ? [{ name: bridge.name, ...(bridge.address ? { mac: bridge.address } : {}) }] : []),
        { name: hostEnd.name, ...(hostEnd.address ? { mac: hostEnd.address } : {}), mtu: hostEnd.mtu },
        { name: podLink.name, ...(podLink.address ? { mac: podLink.address } : {}), mtu: podLink.mtu, sandbox: env.netns },
      ];
      return mergeResult(conf, ours, addrs, routes);
    } catch (e) {
      // Leave nothing behind: the pair (its peer goes with it) and this call's reservations.
      await deleteHostEnd(host, spec.hostIfname).catch(() => undefined);
      if (allocs.length) await withStore(conf, (s) => releaseAttachment(s, env.containerId, env.ifname)).catch(() => undefined);
      throw e;
    }
  } finally {
    pod.close();
    host?.close();
  }
}

/** This plugin's part of the result, appended to prevResult's (interface indexes shifted). */
function mergeResult(conf: NetConf, ours: CniInterface[], addrs: PodAddress[], routes: PodRouteSpec[]): CniResult {
  const prev = conf.prevResult;
  const base = prev?.interfaces?.length ?? 0;
  const podIndex = base + ours.length - 1;
  return {
    cniVersion: conf.cniVersion,
    interfaces: [...(prev?.interfaces ?? []), ...ours],
    ips: [
      ...(prev?.ips ?? []),
      ...addrs.map((a) => ({ address: `${a.ip}/${a.prefixLength}`, ...(conf.mode === 'bridge' ? { gateway: a.gateway } : {}), interface: podIndex })),
    ],
    routes: [...(prev?.routes ?? []), ...routes.map((r) => ({ dst: r.dst, gw: r.gw }))],
    dns: conf.dns ?? prev?.dns ?? {},
  };
}

/** DEL: removes the host end (and with it the pod end and host routes) and the reservations. Missing pieces are fine. */
export async function del(env: CniEnv, conf: NetConf, open: RtnlOpener): Promise<void> {
  const host = await open();
  try {
    await deleteHostEnd(host, hostVethName(env.containerId, env.ifname));
  } finally {
    host.close();
  }
  await withStore(conf, (s) => releaseAttachment(s, env.containerId, env.ifname));
}

/** CHECK: the attachment is as ADD left it (prevResult says what that was). Throws CniError CHECK_FAILED listing what differs. */
export async function check(env: CniEnv, conf: NetConf, open: RtnlOpener): Promise<void> {
  const prev = conf.prevResult;
  if (!prev) throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, 'CHECK needs prevResult', 'the runtime must pass the result of the ADD as prevResult');
  const problems: string[] = [];
  const pod = await openPod(open, env.netns);
  const host = await open();
  try {
    const hostName = hostVethName(env.containerId, env.ifname);
    const [hostEnd] = await host.links.list({ name: hostName });
    if (!hostEnd) problems.push(`the host end ${hostName} is missing`);
    else {
      if (!parseOwnerAlias(hostEnd.alias, conf.name)) problems.push(`${hostName} is not marked as this network's (alias ${JSON.stringify(hostEnd.alias ?? '')})`);
      if (!hostEnd.up) problems.push(`${hostName} is down`);
      if (conf.mode === 'bridge') {
        const [br] = await host.links.list({ name: conf.bridge });
        if (!br) problems.push(`the bridge ${conf.bridge} is missing`);
        else if (hostEnd.master !== br.index) problems.push(`${hostName} is not a port of ${conf.bridge}`);
      }
    }
    const podIndex = (prev.interfaces ?? []).findIndex((i) => i.name === env.ifname && i.sandbox === env.netns);
    if (podIndex < 0) problems.push(`prevResult has no interface ${env.ifname} in ${env.netns}`);
    const ips = (prev.ips ?? []).filter((ip) => ip.interface === podIndex);
    const [podLink] = await pod.links.list({ name: env.ifname });
    if (!podLink) problems.push(`${env.ifname} is missing in ${env.netns}`);
    else {
      if (!podLink.up) problems.push(`${env.ifname} is down`);
      const have = new Set((await pod.addresses.list({ dev: env.ifname })).map((a) => a.address));
      for (const ip of ips) if (!have.has(ip.address)) problems.push(`${env.ifname} lacks ${ip.address}`);
      for (const r of prev.routes ?? []) {
        const family = r.dst.includes(':') ? 6 : 4;
        const found = (await pod.routes.list({ family })).some((k) => k.dst === canonicalDst(r.dst) && (r.gw === undefined || k.via === r.gw));
        if (!found) problems.push(`the pod has no route to ${r.dst}${r.gw ? ` via ${r.gw}` : ''}`);
      }
    }
    if (conf.mode === 'routed' && hostEnd) {
      const routes = await host.routes.list({ dev: hostEnd.index });
      for (const ip of ips) {
        const addr = ip.address.split('/')[0];
        const dst = `${addr}/${addr.includes(':') ? 128 : 32}`;
        if (!routes.some((r) => r.dst === dst)) problems.push(`the host has no route to ${dst} via ${hostName}`);
      }
    }
    await withStore(conf, (s) => {
      for (const ip of ips) {
        const addr = ip.address.split('/')[0];
        const holder = s.holder(addr);
        if (!holder || holder.id !== env.containerId || (holder.ifname !== '' && holder.ifname !== env.ifname)) {
          problems.push(`${addr} is not reserved for ${env.containerId}/${env.ifname} in ${s.dir}`);
        }
      }
    });
  } catch (e) {
    throw kernelError(e, 'CHECK could not read the attachment');
  } finally {
    pod.close();
    host.close();
  }
  if (problems.length) throw new CniError(CNI_ERR.CHECK_FAILED, 'the attachment is not as ADD left it', problems.join('; '));
}

/** A route destination as routes.list() reads it back: "default" for /0, otherwise the canonical prefix. */
function canonicalDst(dst: string): string {
  const p = parsePrefix(new Problems(), '', dst, 'keep');
  if (!p) return dst;
  return p.prefixLength === 0 ? 'default' : p.prefix;
}

/**
 * GC (spec 1.1.0): releases every reservation, and deletes every host end of this network,
 * whose attachment is not in cni.dev/valid-attachments. Returns what it removed.
 */
export async function gc(conf: NetConf, open: RtnlOpener): Promise<{ released: string[]; deleted: string[] }> {
  // Without the list every attachment would look dead: refuse rather than remove them all.
  if (!conf.validAttachments) throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, 'GC needs cni.dev/valid-attachments', 'the runtime must list the attachments still in use (an empty list removes all)');
  const valid = new Set(conf.validAttachments.map((a) => `${a.containerID}\0${a.ifname}`));
  const host = await open();
  const deleted: string[] = [];
  try {
    for (const l of await host.links.list({ kind: 'veth' })) {
      const owner = parseOwnerAlias(l.alias, conf.name);
      if (owner && !valid.has(`${owner.containerId}\0${owner.ifname}`) && (await deleteHostEnd(host, l.name))) deleted.push(l.name);
    }
  } finally {
    host.close();
  }
  const released = await withStore(conf, (s) => {
    const out: string[] = [];
    for (const r of s.list()) {
      if (valid.has(`${r.id}\0${r.ifname}`) || (r.ifname === '' && [...valid].some((v) => v.startsWith(`${r.id}\0`)))) continue;
      s.release(r.ip);
      out.push(r.ip);
    }
    return out;
  });
  return { released, deleted };
}

/**
 * Releases reservations whose host end no longer exists: the pod's namespace went away without
 * a DEL (its veth pair died with it). Reservations are read before the links, and an ADD
 * creates the pair before it reserves, so an ADD in flight is never taken for a dead one.
 */
export async function gcOrphans(conf: NetConf, open: RtnlOpener): Promise<string[]> {
  const store = ReservationStore.open(conf.ipam.dataDir, conf.name);
  try {
    await store.lock();
    const reservations = store.list();
    const host = await open();
    let names: Set<string>;
    try {
      names = new Set((await host.links.list({ kind: 'veth' })).map((l) => l.name));
    } finally {
      host.close();
    }
    const released: string[] = [];
    for (const r of reservations) {
      if (r.ifname === '' || names.has(hostVethName(r.id, r.ifname))) continue;
      store.release(r.ip);
      released.push(r.ip);
    }
    return released;
  } finally {
    store.close();
  }
}

/** STATUS (spec 1.1.0): ready when there is a subnet to allocate from. Throws CniError PLUGIN_NOT_AVAILABLE. */
export function status(conf: NetConf): void {
  if (conf.ipam.ranges) return;
  if (!loadRuntime(conf)) throw new CniError(CNI_ERR.PLUGIN_NOT_AVAILABLE, 'the plugin cannot add pods yet', noSubnetMessage(conf));
}
