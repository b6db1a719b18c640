/**
 * The kernel side of an attachment, all through rtnetlink and Netns (no programs run):
 *
 *   bridge  host: bridge (fixed MAC, the gateways' addresses) <- veth host end (named from the
 *           attachment, alias marking it ours, hairpin if asked); pod: CNI_IFNAME with the
 *           address(es) in the subnet and default route(s) via the gateway(s).
 *   routed  host: veth host end with proxy ARP / proxy NDP, a /32 or /128 route to each pod
 *           address, fe80::1 for IPv6 pods; pod: /32 and /128 addresses, 169.254.1.1 (a
 *           permanent neighbour at the host end's MAC) and fe80::1 as gateways, as calico does.
 */
import { NetlinkError } from '../wire/errors';
import type { Rtnl } from '../rtnl/rtnl';
import type { IpFamily, Link } from '../rtnl/types';
import { setSysctl } from '../netns/sysctl';
import { CniError, CNI_ERR } from './errors';
import type { CniMode } from './config';
import { setHairpin } from './bridge-port';
import { bridgeMac } from './names';

/** The IPv4 gateway of routed pods: link-local, answered by the host end (proxy ARP, and a permanent neighbour in the pod). */
export const ROUTED_GATEWAY4 = '169.254.1.1';
/** The IPv6 gateway of routed pods: an address of the host end. */
export const ROUTED_GATEWAY6 = 'fe80::1';
/** The protocol of the host routes to routed pods (RTPROT_STATIC): not the overlay agent's, which it would remove. */
export const HOST_ROUTE_PROTOCOL = 'static';

/** The host's own namespace, for sysctls (Netns enters it from whichever thread runs). */
const HOST_NS = '/proc/self/ns/net';

/** One pod address and what goes with it. */
export interface PodAddress {
  /** 4 or 6. */
  family: IpFamily;
  /** The address, canonical. */
  ip: string;
  /** Prefix length on the pod interface (the subnet's in bridge mode; 32/128 routed). */
  prefixLength: number;
  /** The gateway the pod's routes of this family use. */
  gateway: string;
  /** Bridge mode: the subnet's gateway with the subnet's prefix length, to hold on the bridge ("10.244.1.1/24"). */
  bridgeAddress?: string;
}

/** A route inside the pod. */
export interface PodRouteSpec {
  /** Destination, canonical prefix. */
  dst: string;
  /** 4 or 6. */
  family: IpFamily;
  /** Next hop. */
  gw: string;
}

/** Everything attach() needs. */
export interface AttachSpec {
  /** bridge or routed. */
  mode: CniMode;
  /** The bridge (bridge mode). */
  bridge: string;
  /** Bridge mode: hold the gateways on the bridge and forward. */
  isGateway: boolean;
  /** Bridge mode: hairpin on the host end. */
  hairpinMode: boolean;
  /** The host end's name. */
  hostIfname: string;
  /** The host end's alias (ownership mark). */
  alias: string;
  /** CNI_IFNAME. */
  podIfname: string;
  /** CNI_NETNS. */
  netns: string;
  /** MTU of both ends, when set. */
  mtu?: number;
  /** Extra sysctls inside the pod. */
  sysctl: Record<string, string | number | boolean>;
}

/** What the host side was made of, for the result. */
export interface HostSide {
  /** The bridge (bridge mode). */
  bridge?: Link;
  /** The host end. */
  hostEnd: Link;
}

/** A kernel refusal as the plugin's error: what was being done and the kernel's errno and text. */
export function kernelError(e: unknown, what: string): CniError {
  if (e instanceof CniError) return e;
  const text = e instanceof Error ? e.message : String(e);
  return new CniError(CNI_ERR.KERNEL_REFUSED, what, text);
}

const isErrno = (e: unknown, code: string) => (e as { code?: unknown })?.code === code;

/**
 * Opens rtnetlink inside the pod's namespace; that is the check that CNI_NETNS is one. Throws
 * CniError UNKNOWN_CONTAINER when the path does not exist, INVALID_ENVIRONMENT when it is not a
 * network namespace.
 */
export async function openPod(open: (netns: string) => Promise<Rtnl>, netns: string): Promise<Rtnl> {
  try {
    return await open(netns);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new CniError(CNI_ERR.UNKNOWN_CONTAINER, 'the container\'s network namespace does not exist', `CNI_NETNS=${netns}`);
    if (isErrno(e, 'EINVAL') || isErrno(e, 'ENOTDIR')) {
      throw new CniError(CNI_ERR.INVALID_ENVIRONMENT, 'CNI_NETNS is not a network namespace', `CNI_NETNS=${netns}: ${(e as Error).message}`);
    }
    throw kernelError(e, `cannot enter CNI_NETNS ${netns}`);
  }
}

/** The bridge, created up with a fixed MAC (and the MTU) when missing; a device of that name that is not a bridge is an error. */
export async function ensureBridge(host: Rtnl, name: string, mtu: number | undefined): Promise<Link> {
  const found = await host.links.list({ name });
  let br = found[0];
  if (!br) {
    try {
      br = await host.links.add({ kind: 'bridge', name, address: bridgeMac(name), up: true, ...(mtu !== undefined ? { mtu } : {}) });
    } catch (e) {
      // Another ADD made it meanwhile.
      if (!isErrno(e, 'EEXIST')) throw kernelError(e, `cannot create bridge ${name}`);
      br = await host.links.get(name);
    }
  }
  if (br.kind !== 'bridge') throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `"${name}" is not a bridge`, `the device ${name} exists and is a ${br.kind ?? 'device without a kind'}`);
  if (!br.up) await host.links.set(name, { up: true });
  return br;
}

/**
 * Creates the veth pair in one request: the host end here (up, enslaved in bridge mode, MTU,
 * alias), the pod end as CNI_IFNAME inside CNI_NETNS. Throws CniError: an interface of that
 * name in the pod, or a host end of this attachment, is an error (the spec: ADD twice is one).
 */
export async function createVeth(host: Rtnl, spec: AttachSpec): Promise<Link> {
  try {
    return await host.links.add({
      kind: 'veth',
      name: spec.hostIfname,
      up: true,
      alias: spec.alias,
      ...(spec.mode === 'bridge' ? { master: spec.bridge } : {}),
      ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
      peer: { name: spec.podIfname, netns: spec.netns, ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}) },
    });
  } catch (e) {
    if (isErrno(e, 'EEXIST')) {
      throw new CniError(CNI_ERR.KERNEL_REFUSED, 'the interface exists already', `${spec.podIfname} in ${spec.netns}, or the host end ${spec.hostIfname} of this attachment, exists (ADD without DEL?)`);
    }
    throw kernelError(e, `cannot create the veth pair ${spec.hostIfname} / ${spec.podIfname}`);
  }
}

/** Host side after the pair exists: gateways on the bridge and hairpin, or host routes and proxy ARP/NDP; forwarding. */
export async function configureHost(host: Rtnl, spec: AttachSpec, hostEnd: Link, addrs: PodAddress[]): Promise<void> {
  const families = new Set(addrs.map((a) => a.family));
  const sysctls: Record<string, number> = {};
  try {
    if (spec.mode === 'bridge') {
      if (spec.isGateway) {
        const have = new Set((await host.addresses.list({ dev: spec.bridge })).map((a) => a.address));
        for (const a of addrs) {
          if (!a.bridgeAddress || have.has(a.bridgeAddress)) continue;
          have.add(a.bridgeAddress);
          await host.addresses.add({ dev: spec.bridge, address: a.bridgeAddress, ...(a.family === 6 ? { nodad: true } : {}) }).catch((e) => {
            if (!isErrno(e, 'EEXIST')) throw e;
          });
        }
        if (families.has(4)) sysctls['net.ipv4.ip_forward'] = 1;
        if (families.has(6)) sysctls['net.ipv6.conf.all.forwarding'] = 1;
      }
      if (spec.hairpinMode) await setHairpin(host, hostEnd.index, true);
    } else {
      const dev = spec.hostIfname;
      if (families.has(6)) await host.addresses.add({ dev, address: `${ROUTED_GATEWAY6}/64`, nodad: true });
      for (const a of addrs) {
        await host.routes.replace({ dst: `${a.ip}/${a.family === 4 ? 32 : 128}`, dev, ...(a.family === 4 ? { scope: 'link' as const } : {}), protocol: HOST_ROUTE_PROTOCOL });
      }
      if (families.has(4)) {
        sysctls['net.ipv4.ip_forward'] = 1;
        sysctls[`net.ipv4.conf.${dev}.proxy_arp`] = 1;
        sysctls[`net.ipv4.neigh.${dev}.proxy_delay`] = 0;
      }
      if (families.has(6)) {
        sysctls['net.ipv6.conf.all.forwarding'] = 1;
        sysctls[`net.ipv6.conf.${dev}.proxy_ndp`] = 1;
      }
    }
  } catch (e) {
    throw kernelError(e, `cannot configure the host side of ${spec.hostIfname}`);
  }
  if (Object.keys(sysctls).length) sysctlIn(HOST_NS, 'the host', sysctls);
}

function sysctlIn(ns: string, where: string, settings: Record<string, string | number | boolean>): void {
  try {
    setSysctl(ns, settings);
  } catch (e) {
    throw new CniError(CNI_ERR.KERNEL_REFUSED, `cannot set sysctls in ${where}`, e instanceof Error ? e.message : String(e));
  }
}

/**
 * Pod side: sysctls (IPv6 on, gratuitous ARP when it comes up, the configuration's own), the
 * addresses, the interface up, then the routes. Returns the pod interface as read back.
 */
export async function configurePod(pod: Rtnl, spec: AttachSpec, hostEnd: Link, addrs: PodAddress[], routes: PodRouteSpec[]): Promise<Link> {
  const dev = spec.podIfname;
  const families = new Set(addrs.map((a) => a.family));
  const sysctls: Record<string, string | number | boolean> = {};
  if (families.has(4)) sysctls[`net.ipv4.conf.${dev}.arp_notify`] = 1;
  if (families.has(6)) sysctls[`net.ipv6.conf.${dev}.disable_ipv6`] = 0;
  Object.assign(sysctls, spec.sysctl);
  if (Object.keys(sysctls).length) sysctlIn(spec.netns, 'the pod', sysctls);
  try {
    for (const a of addrs) await pod.addresses.add({ dev, address: `${a.ip}/${a.prefixLength}`, ...(a.family === 6 ? { nodad: true } : {}) });
    await pod.links.set(dev, { up: true });
    if (spec.mode === 'routed' && families.has(4)) {
      await pod.routes.replace({ dst: `${ROUTED_GATEWAY4}/32`, dev, scope: 'link' });
      if (hostEnd.address) await pod.neighbors.replace({ dev, ip: ROUTED_GATEWAY4, lladdr: hostEnd.address, state: 'permanent' });
    }
    for (const r of routes) {
      const onlink = spec.mode === 'routed' && r.gw !== ROUTED_GATEWAY4 && r.gw !== ROUTED_GATEWAY6;
      await pod.routes.replace({ dst: r.dst, via: r.gw, dev, ...(onlink ? { onlink: true } : {}) });
    }
    return await pod.links.get(dev);
  } catch (e) {
    throw kernelError(e, `cannot configure ${dev} in ${spec.netns}`);
  }
}

/** Deletes the host end (its peer goes with it). Missing is fine: DEL is idempotent. */
export async function deleteHostEnd(host: Rtnl, name: string): Promise<boolean> {
  try {
    await host.links.del(name);
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENODEV') return false;
    throw kernelError(e, `cannot delete ${name}`);
  }
}
