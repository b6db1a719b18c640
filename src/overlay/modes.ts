/**
 * The cross-host pod networking modes as pure functions: node list in, DesiredState out.
 * Nothing here talks to the kernel; OverlayAgent feeds the result to a Reconciler.
 *
 * host-gw  per remote node: podCIDR via nodeIP dev <underlay> onlink.
 * ipip     one one-to-many ipip device (no remote), MTU underlay - 20, own gateway address
 *          (first host address of the own podCIDR) as /32 on it; per remote node
 *          podCIDR via nodeIP dev <tun> onlink (the tunnel takes the next hop as outer dst).
 * vxlan    flannel style: vxlan device (learning off), MTU underlay - 50, own VTEP address /32;
 *          per remote node an FDB entry vtepMac -> nodeIP, a permanent neighbour
 *          remoteVtepIP -> vtepMac and podCIDR via remoteVtepIP dev vxlan0 onlink.
 *          vxlanLearning: learning on, one all-zero FDB flood entry per remote node, no
 *          neighbour entries (the seed's variant).
 * hybrid   host-gw to nodes on this host's underlay subnet, vxlan (or ipip) to the others
 *          (flannel DirectRouting, calico CrossSubnet).
 */
import type { AddressSpec, FdbSpec, LinkSpec, NeighborSpec } from '../rtnl/types';
import { parseAddress, parsePrefix } from '../values/address';
import { checkMac } from '../values/mac';
import { checkIfName } from '../values/names';
import { Problems, checkInt } from '../values/problems';
import { formatIPv4 } from '../values/ip';
import { prefixContains } from '../values/prefix';
import type { DesiredState } from '../reconcile/types';

/** The cross-host modes: plain routes (host-gw), ipip or vxlan tunnels, or hybrid (host-gw on the same subnet, a tunnel across). */
export type OverlayMode = 'host-gw' | 'ipip' | 'vxlan' | 'hybrid';

/** One node of the cluster, as the membership feed or a config file lists it. */
export interface OverlayNode {
  /** Unique node name. */
  name: string;
  /** The node's underlay address (IPv4). */
  nodeIP: string;
  /** The node's pod subnet, e.g. "192.168.10.0/24". */
  podCIDR: string;
  /** The node's VTEP MAC (vxlan); derived from nodeIP when absent. */
  vtepMac?: string;
}

/**
 * Everything desiredState() needs to compute one host's overlay.
 *
 * @example
 * ```ts
 * const state = overlay.desiredState({
 *   mode: 'vxlan', self: 'host1', underlayDev: 'eth0',
 *   nodes: [{ name: 'host1', nodeIP: '10.57.4.20', podCIDR: '192.168.10.0/24' },
 *           { name: 'host2', nodeIP: '10.57.4.21', podCIDR: '192.168.11.0/24' }],
 * });
 * ```
 */
export interface OverlayConfig {
  /** Which mode. */
  mode: OverlayMode;
  /** This host's node name (must be in nodes). */
  self: string;
  /** Every node, this one included; names, node IPs and podCIDRs must not repeat or overlap. */
  nodes: OverlayNode[];
  /** Underlay device. OverlayAgent finds it (the device of the route to the peers) when absent. */
  underlayDev: string;
  /** Underlay MTU; tunnel MTUs are derived from it. Default 1500. */
  underlayMtu?: number;
  /** This host's underlay subnet (hybrid: which nodes are on the same L2). */
  underlaySubnet?: string;
  /** VXLAN network identifier. Default 100. */
  vni?: number;
  /** VXLAN UDP port. Default 4789. */
  port?: number;
  /** Tunnel device name. Default "vxlan0" (vxlan, hybrid) or "ipip0" (ipip). */
  tunnelName?: string;
  /** Tunnel MTU, overriding the derived one. */
  mtu?: number;
  /** The seed's learning variant of vxlan: flood entries instead of per-node FDB+neighbour. */
  vxlanLearning?: boolean;
  /** The encapsulation hybrid uses for nodes on other subnets. Default vxlan. */
  hybridFallback?: 'vxlan' | 'ipip';
  /**
   * Route through nexthop objects: one named nexthop per remote node ("node/<name>": via its
   * node IP, or its VTEP address onlink on the vxlan device), every pod route of that node on
   * it, so a node's new IP is one nexthop replace. Default false (routes carry their gateway).
   */
  nexthops?: boolean;
}

const VXLAN_OVERHEAD = 50;
const IPIP_OVERHEAD = 20;

/** A locally administered unicast MAC derived from an IPv4 node address (0e:6e:a.b.c.d), so
 * every node computes the same VTEP MAC for a peer without a shared store. Throws TypeError
 * when nodeIP is not an IPv4 address. Example: vtepMacFor('10.57.4.21') is '0e:6e:0a:39:04:15'. */
export function vtepMacFor(nodeIP: string): string {
  const p = new Problems();
  const a = parseAddress(p, 'nodeIP', nodeIP, 4);
  if (!a) throw new TypeError(`vtepMacFor: ${JSON.stringify(nodeIP)} is not an IPv4 address`);
  return ['0e', '6e', ...[...a.bytes].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** The first host address of a prefix (192.168.10.0/24 -> 192.168.10.1): a node's gateway and
 * VTEP address on its tunnel device. Throws TypeError for anything but an IPv4 prefix without
 * host bits. */
export function gatewayAddress(podCIDR: string): string {
  const p = new Problems();
  const pre = parsePrefix(p, 'podCIDR', podCIDR, 'reject', 4);
  if (!pre) throw new TypeError(`gatewayAddress: ${p.list.map((x) => x.message).join('; ')}`);
  const b = Buffer.from(pre.bytes);
  b.writeUInt32BE((b.readUInt32BE(0) + (pre.prefixLength < 31 ? 1 : 0)) >>> 0, 0);
  return formatIPv4(b, 0);
}

/** Checks a config (mode, names, addresses, overlaps, ranges); throws ValidationError listing every problem. */
export function validateOverlay(c: OverlayConfig): void {
  const p = new Problems();
  if (!['host-gw', 'ipip', 'vxlan', 'hybrid'].includes(c.mode)) p.add('mode', `unknown mode ${JSON.stringify(c.mode)}`);
  checkIfName(p, 'underlayDev', c.underlayDev);
  if (c.tunnelName !== undefined) checkIfName(p, 'tunnelName', c.tunnelName);
  if (c.vni !== undefined) checkInt(p, 'vni', c.vni, 1, 16777215);
  if (c.port !== undefined) checkInt(p, 'port', c.port, 1, 65535);
  if (c.underlayMtu !== undefined) checkInt(p, 'underlayMtu', c.underlayMtu, 576, 65535);
  if (c.mtu !== undefined) checkInt(p, 'mtu', c.mtu, 68, 65535);
  if (c.mode === 'hybrid' && !c.underlaySubnet) p.add('underlaySubnet', 'hybrid mode needs this host\'s underlay subnet');
  if (c.underlaySubnet !== undefined) parsePrefix(p, 'underlaySubnet', c.underlaySubnet, 'keep', 4);
  if (c.nexthops !== undefined && typeof c.nexthops !== 'boolean') p.add('nexthops', `expected true or false, got ${JSON.stringify(c.nexthops)}`);
  if (!Array.isArray(c.nodes)) p.add('nodes', 'must be an array');
  const names = new Set<string>();
  const ips = new Set<string>();
  const cidrs: Array<{ at: string; bytes: Buffer; prefixLength: number }> = [];
  (Array.isArray(c.nodes) ? c.nodes : []).forEach((n, i) => {
    const at = `nodes[${i}]`;
    if (typeof n?.name !== 'string' || !n.name) p.add(`${at}.name`, 'a node needs a name');
    else if (names.has(n.name)) p.add(`${at}.name`, `node "${n.name}" appears twice`);
    else names.add(n.name);
    const ip = parseAddress(p, `${at}.nodeIP`, n?.nodeIP, 4);
    if (ip && ips.has(ip.text)) p.add(`${at}.nodeIP`, `${ip.text} is the address of another node too`);
    if (ip) ips.add(ip.text);
    const cidr = parsePrefix(p, `${at}.podCIDR`, n?.podCIDR, 'reject', 4);
    if (cidr) {
      for (const o of cidrs) {
        const len = Math.min(o.prefixLength, cidr.prefixLength);
        if (prefixContains({ bytes: o.bytes, prefixLength: len }, cidr.bytes)) p.add(`${at}.podCIDR`, `${cidr.prefix} overlaps the podCIDR of ${o.at}`);
      }
      cidrs.push({ at, bytes: cidr.bytes, prefixLength: cidr.prefixLength });
    }
    if (n?.vtepMac !== undefined) checkMac(p, `${at}.vtepMac`, n.vtepMac);
  });
  if (Array.isArray(c.nodes) && !c.nodes.some((n) => n?.name === c.self)) p.add('self', `node "${c.self}" is not in nodes`);
  p.throwIfAny('invalid overlay configuration');
}

/** The DesiredState of this host for the given mode and nodes. Throws ValidationError. */
export function desiredState(c: OverlayConfig): DesiredState {
  validateOverlay(c);
  const self = c.nodes.find((n) => n.name === c.self)!;
  const remotes = c.nodes.filter((n) => n.name !== c.self);
  const underlayMtu = c.underlayMtu ?? 1500;
  const out: Required<Omit<DesiredState, 'nexthops' | 'rules'>> & DesiredState = { links: [], addresses: [], routes: [], fdb: [], neighbors: [] };

  let direct: OverlayNode[] = [];
  let tunneled: OverlayNode[] = remotes;
  let encap: 'vxlan' | 'ipip' | 'none' = c.mode === 'host-gw' ? 'none' : c.mode === 'ipip' ? 'ipip' : 'vxlan';
  if (c.mode === 'host-gw') {
    direct = remotes;
    tunneled = [];
  } else if (c.mode === 'hybrid') {
    const p = new Problems();
    const subnet = parsePrefix(p, 'underlaySubnet', c.underlaySubnet, 'keep', 4)!;
    direct = remotes.filter((n) => prefixContains(subnet, parseAddress(p, 'nodeIP', n.nodeIP, 4)!.bytes));
    tunneled = remotes.filter((n) => !direct.includes(n));
    encap = c.hybridFallback ?? 'vxlan';
  }

  // A remote node's pod route: on the node's nexthop object, or with its gateway inline.
  const podRoute = (n: OverlayNode, via: string, dev: string): void => {
    if (!c.nexthops) return void out.routes.push({ dst: n.podCIDR, via, dev, onlink: true });
    const name = `node/${n.name}`;
    (out.nexthops ??= []).push({ name, via, dev, onlink: true });
    out.routes.push({ dst: n.podCIDR, nexthop: name });
  };
  for (const n of direct) podRoute(n, n.nodeIP, c.underlayDev);

  if (encap === 'ipip') {
    const tun = c.tunnelName ?? 'ipip0';
    const link: LinkSpec = { kind: 'ipip', name: tun, local: self.nodeIP, ttl: 64, mtu: c.mtu ?? underlayMtu - IPIP_OVERHEAD, up: true };
    out.links.push(link);
    out.addresses.push({ dev: tun, address: `${gatewayAddress(self.podCIDR)}/32` } satisfies AddressSpec);
    for (const n of tunneled) podRoute(n, n.nodeIP, tun);
  } else if (encap === 'vxlan') {
    const dev = c.tunnelName ?? 'vxlan0';
    const learning = c.vxlanLearning ?? false;
    out.links.push({
      kind: 'vxlan',
      name: dev,
      vni: c.vni ?? 100,
      port: c.port ?? 4789,
      local: self.nodeIP,
      dev: c.underlayDev,
      learning,
      mtu: c.mtu ?? underlayMtu - VXLAN_OVERHEAD,
      address: self.vtepMac ?? vtepMacFor(self.nodeIP),
      up: true,
    });
    out.addresses.push({ dev, address: `${gatewayAddress(self.podCIDR)}/32` });
    for (const n of tunneled) {
      const vtepIP = gatewayAddress(n.podCIDR);
      const mac = (n.vtepMac ?? vtepMacFor(n.nodeIP)).toLowerCase();
      if (learning) {
        out.fdb.push({ dev, mac: '00:00:00:00:00:00', dst: n.nodeIP } satisfies FdbSpec);
      } else {
        out.fdb.push({ dev, mac, dst: n.nodeIP } satisfies FdbSpec);
        out.neighbors.push({ dev, ip: vtepIP, lladdr: mac } satisfies NeighborSpec);
      }
      podRoute(n, vtepIP, dev);
    }
  }
  return out;
}
