/**
 * The cross-host pod networking modes as pure functions: node list in, DesiredState out.
 * Nothing here talks to the kernel; OverlayAgent feeds the result to a Reconciler.
 *
 * host-gw  per remote node: podCIDR via nodeIP dev <underlay> onlink; IPv6 pods of a node
 *          without a global IPv6 address via its published link-local one (linkLocal6) with the
 *          device, `podCIDR6 via fe80::x dev <underlay>`.
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
 * wireguard flannel's wireguard backend: one WireGuard device (MTU underlay - 60), own gateway
 *          address /32 on it, this host's private key and listen port (default 51820); per
 *          remote node that publishes a public key, a peer with endpoint nodeIP:its port and
 *          allowed IPs = its podCIDR (its tunnel address is the podCIDR's first address), and
 *          podCIDR dev <wg> (scope link). A node without a published key gets neither.
 *
 * Dual stack (IPv4, IPv6 or both, per node: see ./stack): everything above is per pod family,
 * for the families this host has pods in. host-gw routes a family via the peer's node IP of that
 * family. vxlan has one device per underlay family (vxlan0 over IPv4, MTU - 50; vxlan6 over
 * IPv6, MTU - 70); a pod family travels over the underlay of the same family when both ends
 * have it, else over the other one (so an IPv4 underlay carries IPv6 pods and an IPv6-only
 * underlay carries IPv4 pods). IPv6 VTEP addresses get permanent neighbour entries like IPv4
 * ones (no NDP across the tunnel). hybrid decides per family (same subnet of that family ->
 * host-gw). ipip stays IPv4 (pods and underlay).
 */
import type { AddressSpec, FdbSpec, LinkSpec, NeighborSpec } from '../rtnl/types';
import { parseAddress, parsePrefix, type ParsedPrefix } from '../values/address';
import { checkMac } from '../values/mac';
import { checkIfName } from '../values/names';
import { Problems, checkInt } from '../values/problems';
import type { IpFamily } from '../values/ip';
import { sameItems } from '../values/list';
import { deepFreeze } from '../values/plain';
import { prefixContains } from '../values/prefix';
import { CrossIndex, rangeOf } from './cross';
import { FAMILIES, checkLinkLocal6, checkStack, familyName, otherFamily, type NodeStack, type StackFields } from './stack';
import type { DesiredState } from '../reconcile/types';
import { PrivateKey, keyTextProblem } from '../genl/wireguard/key';
import type { WgPeerConfig } from '../genl/wireguard/types';

/** The cross-host modes: plain routes (host-gw), ipip or vxlan tunnels, or hybrid (host-gw on the same subnet, a tunnel across). */
export type OverlayMode = 'host-gw' | 'ipip' | 'vxlan' | 'hybrid' | 'wireguard';

/** What a node publishes for the wireguard mode. */
export interface NodeWireGuard {
  /** Its WireGuard public key (base64, as wg prints it). */
  publicKey: string;
  /** The UDP port it listens on; default: the port of the mode (OverlayConfig.port, 51820). */
  port?: number;
}

/** One node of the cluster, as the membership feed or a config file lists it. A v4-only node is
 * `{ name, nodeIP, podCIDR }`; a dual-stack one adds both families in nodeIPs and podCIDRs
 * (the primary first), as Kubernetes' node.spec.podCIDRs. */
export interface OverlayNode extends StackFields {
  /** Unique node name. */
  name: string;
  /** The node's primary underlay address (IPv4 or IPv6). */
  nodeIP: string;
  /** The node's primary pod subnet, e.g. "192.168.10.0/24" or "fd10:0:0:b::/64". */
  podCIDR: string;
  /** Both underlay addresses of a dual-stack node (at most one per family, nodeIP among them). */
  nodeIPs?: string[];
  /** Both pod subnets of a dual-stack node (at most one per family, podCIDR among them). */
  podCIDRs?: string[];
  /** The MAC of the node's VTEP on the IPv4 underlay (vxlan); derived from its IPv4 address when absent. */
  vtepMac?: string;
  /** The MAC of the node's VTEP on the IPv6 underlay (vxlan); derived from its IPv6 address when absent. */
  vtepMac6?: string;
  /** The node's WireGuard public key and port (wireguard mode). */
  wireguard?: NodeWireGuard;
  /** The node's IPv6 link-local address on the shared underlay segment (fe80::/10). host-gw
   * routes its IPv6 pods via it, with the device (`via fe80::x dev eth0`), when it has no
   * global IPv6 node IP (an IPv4 underlay with IPv6 pods on one L2 segment). */
  linkLocal6?: string;
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
  /** This host's underlay subnet (hybrid: which nodes are on the same L2), either family. */
  underlaySubnet?: string;
  /** This host's underlay subnets, at most one per family (hybrid, dual-stack underlay). */
  underlaySubnets?: string[];
  /** VXLAN network identifier. Default 100. */
  vni?: number;
  /** VXLAN UDP port (default 4789), or WireGuard listen port (default 51820). */
  port?: number;
  /** wireguard: this host's private key (a PrivateKey: never printed). Required in that mode. */
  wireguardKey?: PrivateKey;
  /** wireguard: keepalive interval towards every peer, seconds (for NAT); default off. */
  persistentKeepalive?: number;
  /** Tunnel device name. Default "vxlan0" (vxlan, hybrid) "ipip0" (ipip) or "wg-overlay" (wireguard); the vxlan device on the IPv4 underlay. */
  tunnelName?: string;
  /** The vxlan device on the IPv6 underlay. Default "vxlan6". */
  tunnelName6?: string;
  /** Tunnel MTU, overriding the derived ones (underlay - 50 for vxlan over IPv4, - 70 over IPv6, - 20 for ipip). */
  mtu?: number;
  /** The seed's learning variant of vxlan: flood entries instead of per-node FDB+neighbour. */
  vxlanLearning?: boolean;
  /** The encapsulation hybrid uses for nodes on other subnets. Default vxlan. */
  hybridFallback?: 'vxlan' | 'ipip';
  /**
   * Route through nexthop objects: one named nexthop per remote node and pod family
   * ("node/<name>" for IPv4, "node/<name>/v6" for IPv6: via its node IP, or its VTEP address
   * onlink on the vxlan device), every pod route of that node on it, so a node's new IP is one
   * nexthop replace. vxlan (without vxlanLearning): the node's FDB entry on an FDB nexthop group
   * too ("vtep/<name>/group", its member "vtep/<name>" via the node IP; "vtep6/..." over IPv6).
   * Default false (routes carry their gateway, FDB entries their dst).
   */
  nexthops?: boolean;
}

/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
const VXLAN_OVERHEAD = 50;
/** Outer IPv6 (40) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
const VXLAN6_OVERHEAD = 70;
const IPIP_OVERHEAD = 20;
/** WireGuard over IPv4: 20 IP + 8 UDP + 32 WireGuard header and tag (flannel, calico: 60; 80 over IPv6). */
const WIREGUARD_OVERHEAD = 60;
/** The wireguard mode's device name and listen port when not given (calico's port). */
export const WIREGUARD_DEFAULT_DEV = 'wg-overlay';
export const WIREGUARD_DEFAULT_PORT = 51820;

/**
 * A locally administered unicast MAC derived from a node address, so every node computes the
 * same VTEP MAC for a peer without a shared store: 0e:6e:a:b:c:d for IPv4 (the whole address),
 * 0e:6f + the last 32 bits for IPv6 (distinct from every IPv4-derived MAC; distinct among nodes
 * whose addresses differ in their last 32 bits, as in one /96; membership skips a record whose
 * MAC collides, and vtepMac6 can always be given). Throws TypeError when nodeIP is not an IP
 * address. Example: vtepMacFor('10.57.4.21') is '0e:6e:0a:39:04:15', vtepMacFor('fd57:4::21')
 * is '0e:6f:00:00:00:21'.
 */
export function vtepMacFor(nodeIP: string): string {
  const a = parseAddress(new Problems(), 'nodeIP', nodeIP);
  if (!a) throw new TypeError(`vtepMacFor: ${JSON.stringify(nodeIP)} is not an IP address`);
  const tail = a.family === 4 ? a.bytes : a.bytes.subarray(12);
  return ['0e', a.family === 4 ? '6e' : '6f', ...[...tail].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** The first host address of a prefix (192.168.10.0/24 -> 192.168.10.1, fd10:0:0:b::/64 ->
 * fd10:0:0:b::1): a node's gateway and VTEP address on its tunnel device. Throws TypeError for
 * anything but a prefix without host bits. */
export function gatewayAddress(podCIDR: string): string {
  const p = new Problems();
  const pre = parsePrefix(p, 'podCIDR', podCIDR, 'reject');
  if (!pre) throw new TypeError(`gatewayAddress: ${p.list.map((x) => x.message).join('; ')}`);
  const hostBits = pre.bytes.length * 8 - pre.prefixLength;
  if (hostBits < 2) return pre.text; // /31, /32, /127, /128: no network address to skip
  const b = Buffer.from(pre.bytes);
  b[b.length - 1] += 1; // the last byte of a network address with >= 2 host bits is even: no carry
  return parseAddress(p, '', pre.family === 4 ? [...b].join('.') : formatGroups(b))!.text;
}

function formatGroups(b: Buffer): string {
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16));
  return g.join(':');
}

/** The effective VTEP MAC of a node on one underlay family (given, else derived); undefined without an address of that family. */
export function vtepMacOf(n: OverlayNode, s: NodeStack, underlay: IpFamily): string | undefined {
  const ip = s.ip[underlay];
  if (!ip) return undefined;
  const given = underlay === 4 ? n.vtepMac : n.vtepMac6;
  return (given ?? vtepMacFor(ip.text)).toLowerCase();
}

/** How this host reaches one pod subnet of a remote node. */
type Path =
  | { how: 'direct'; family: IpFamily; linkLocal?: string }
  | { how: 'vxlan'; family: IpFamily; underlay: IpFamily }
  | { how: 'ipip'; family: 4 };

interface Plan {
  selfIndex: number;
  stacks: NodeStack[];
  /** Each node's own checks, remembered (see checkedNodes); the spec memo of desiredState lives there. */
  checked: CheckedNode[];
  paths: Path[];
  /** The node (index) of each path: a path is a remembered object and the node may have moved in the list. */
  pathNodes: number[];
  /** Tunnel families this host has a device for (vxlan: per underlay family; ipip: 4). */
  vxlanDevices: Set<IpFamily>;
  ipip: boolean;
}

/** Checks a config (mode, names, addresses of both families, overlaps, ranges, what each mode
 * can carry); throws ValidationError listing every problem. */
export function validateOverlay(c: OverlayConfig): void {
  plan(c);
}

/**
 * The overlapping pairs among pod subnets, each as [the one later in the node list, the earlier
 * one], found in O(n log n): sorted by first address (longer ranges first), a subnet overlaps
 * an earlier one exactly when it starts inside the widest range seen so far (prefixes nest or
 * are disjoint). A 5,000-node dual-stack list is checked in milliseconds, not pairwise.
 */
function overlaps<T extends { index: number; net: ParsedPrefix }>(list: T[]): Array<[T, T]> {
  const out: Array<[T, T]> = [];
  for (const family of FAMILIES) {
    const items = list
      .filter((x) => x.net.family === family)
      .map((x) => {
        const [start, end] = rangeOf(x.net);
        return { x, start, end };
      })
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : a.end < b.end ? 1 : a.x.index - b.x.index));
    let cover: (typeof items)[number] | undefined;
    for (const it of items) {
      if (cover && it.start <= cover.end) out.push(it.x.index > cover.x.index ? [it.x, cover.x] : [cover.x, it.x]);
      if (!cover || it.end > cover.end) cover = it;
    }
  }
  return out.sort((a, b) => a[0].index - b[0].index);
}

/**
 * A node whose own checks (stack, VTEP MACs, WireGuard part, link-local address) passed, with
 * the field values they passed on. An agent is given the whole list at every membership change
 * (5,000 nodes for one changed record), with the same objects for unchanged records (see
 * MembershipFeed): a node found here with the same values is not parsed and checked again, and
 * its specs of the last desiredState are reused (the same objects: no 15k new specs per change
 * to validate and collect). The values are compared, not trusted, so a caller that changes a
 * node object in place gets it checked again. The checks across nodes (names, addresses,
 * overlaps) run on every call.
 */
interface CheckedNode {
  readonly nodeIP: unknown;
  readonly podCIDR: unknown;
  readonly nodeIPs: readonly unknown[] | undefined;
  readonly podCIDRs: readonly unknown[] | undefined;
  readonly vtepMac: unknown;
  readonly vtepMac6: unknown;
  readonly wireguard: unknown;
  readonly wgKey: unknown;
  readonly wgPort: unknown;
  readonly wgFields: number;
  readonly linkLocal6Given: unknown;
  readonly stack: NodeStack;
  /** linkLocal6, canonical. */
  readonly linkLocal6: string | undefined;
  /** This node's paths, decided under a context (see contextOf) for its name. */
  route?: { readonly ctx: object; readonly name: string; readonly paths: readonly Path[]; readonly underlays: readonly IpFamily[] };
}

/** What desiredState made for a path (paths are remembered objects: see CheckedNode.route). */
const specsOf = new WeakMap<Path, PathSpecs>();

/**
 * Everything besides a node's own values that its paths and specs depend on, as one object
 * while it stays the same: a remembered node's paths are checked by identity with it.
 */
let lastContext: readonly unknown[] = [];
function contextOf(values: readonly unknown[]): object {
  if (!sameItems(values, lastContext)) lastContext = values;
  return lastContext;
}

const checkedNodes = new WeakMap<object, CheckedNode>();

/** The remembered checks of a node, when its values are those they passed on. */
function checkedNode(n: OverlayNode): CheckedNode | undefined {
  const e = checkedNodes.get(n);
  if (e === undefined) return undefined;
  const wg = n.wireguard as unknown;
  const same =
    n.nodeIP === e.nodeIP &&
    n.podCIDR === e.podCIDR &&
    sameItems(n.nodeIPs, e.nodeIPs) &&
    sameItems(n.podCIDRs, e.podCIDRs) &&
    n.vtepMac === e.vtepMac &&
    n.vtepMac6 === e.vtepMac6 &&
    n.linkLocal6 === e.linkLocal6Given &&
    wg === e.wireguard &&
    (wg === undefined || (n.wireguard!.publicKey === e.wgKey && n.wireguard!.port === e.wgPort && Object.keys(wg as object).length === e.wgFields));
  return same ? e : undefined;
}

/** Remembers a node whose own checks passed. */
function rememberNode(n: OverlayNode, stack: NodeStack, linkLocal6: string | undefined): CheckedNode {
  const wg = n.wireguard;
  const e: CheckedNode = {
    nodeIP: n.nodeIP,
    podCIDR: n.podCIDR,
    nodeIPs: n.nodeIPs === undefined ? undefined : [...n.nodeIPs],
    podCIDRs: n.podCIDRs === undefined ? undefined : [...n.podCIDRs],
    vtepMac: n.vtepMac,
    vtepMac6: n.vtepMac6,
    wireguard: wg,
    wgKey: wg?.publicKey,
    wgPort: wg?.port,
    wgFields: wg === undefined ? 0 : Object.keys(wg).length,
    linkLocal6Given: n.linkLocal6,
    stack,
    linkLocal6,
  };
  checkedNodes.set(n, e);
  return e;
}

/** The checks across nodes of the last list that passed (see cross.ts). */
const crossIndex = new CrossIndex();

/** Validates and decides, per remote node and pod family, how this host reaches it. With
 * useIndex, the checks across nodes are made against the last list's (crossIndex) for what
 * changed; on any problem the full check runs, which names them all. */
function plan(c: OverlayConfig, useIndex = true): Plan {
  const p = new Problems();
  if (!['host-gw', 'ipip', 'vxlan', 'hybrid', 'wireguard'].includes(c.mode)) p.add('mode', `unknown mode ${JSON.stringify(c.mode)}`);
  if (c.mode === 'wireguard' && !(c.wireguardKey instanceof PrivateKey)) {
    p.add('wireguardKey', c.wireguardKey === undefined ? 'wireguard mode needs this host\'s private key (a PrivateKey)' : 'must be a PrivateKey (key text is not taken here: it would be a secret in a plain string)');
  }
  if (c.persistentKeepalive !== undefined) checkInt(p, 'persistentKeepalive', c.persistentKeepalive, 0, 65535);
  checkIfName(p, 'underlayDev', c.underlayDev);
  if (c.tunnelName !== undefined) checkIfName(p, 'tunnelName', c.tunnelName);
  if (c.tunnelName6 !== undefined) checkIfName(p, 'tunnelName6', c.tunnelName6);
  if (c.vni !== undefined) checkInt(p, 'vni', c.vni, 1, 16777215);
  if (c.port !== undefined) checkInt(p, 'port', c.port, 1, 65535);
  if (c.underlayMtu !== undefined) checkInt(p, 'underlayMtu', c.underlayMtu, 576, 65535);
  if (c.mtu !== undefined) checkInt(p, 'mtu', c.mtu, 68, 65535);
  if (c.nexthops !== undefined && typeof c.nexthops !== 'boolean') p.add('nexthops', `expected true or false, got ${JSON.stringify(c.nexthops)}`);
  if (c.hybridFallback !== undefined && c.hybridFallback !== 'vxlan' && c.hybridFallback !== 'ipip') p.add('hybridFallback', `must be "vxlan" or "ipip", got ${JSON.stringify(c.hybridFallback)}`);
  const subnets: { 4?: ParsedPrefix; 6?: ParsedPrefix } = {};
  const addSubnet = (path: string, v: unknown) => {
    const s = parsePrefix(p, path, v, 'keep');
    if (!s) return;
    if (subnets[s.family] && subnets[s.family]!.prefix !== s.prefix) p.add(path, `a second ${familyName(s.family)} underlay subnet (${subnets[s.family]!.prefix} and ${s.prefix}): at most one per family`);
    subnets[s.family] = s;
  };
  if (c.underlaySubnet !== undefined) addSubnet('underlaySubnet', c.underlaySubnet);
  if (c.underlaySubnets !== undefined) {
    if (!Array.isArray(c.underlaySubnets)) p.add('underlaySubnets', 'must be an array of prefixes');
    else c.underlaySubnets.forEach((v, i) => addSubnet(`underlaySubnets[${i}]`, v));
  }
  if (c.mode === 'hybrid' && !subnets[4] && !subnets[6]) p.add('underlaySubnet', "hybrid mode needs this host's underlay subnet");
  if (!Array.isArray(c.nodes)) p.add('nodes', 'must be an array');
  const nodes = Array.isArray(c.nodes) ? c.nodes : [];
  const names = new Set<string>();
  const ips = new Set<string>();
  const cidrs: Array<{ index: number; net: ParsedPrefix }> = [];
  const atOf = (i: number) => `nodes[${i}]`; // made for a problem or a node checked now, not for every remembered node
  // Sized once: filled by index for 5,000 nodes a change.
  const stacks: NodeStack[] = new Array<NodeStack>(nodes.length);
  const checked: CheckedNode[] = new Array<CheckedNode>(nodes.length);
  const linkLocals: Array<string | undefined> = new Array<string | undefined>(nodes.length);
  const fast = useIndex && crossIndex.ready;
  const changed: number[] = []; // with fast: the nodes the index does not hold as they are
  crossIndex.begin();
  nodes.forEach((n, i) => {
    if (typeof n?.name !== 'string' || !n.name) p.add(`${atOf(i)}.name`, 'a node needs a name');
    else if (fast) {
      // checked across nodes below, by the index
    } else if (names.has(n.name)) p.add(`${atOf(i)}.name`, `node "${n.name}" appears twice`);
    else names.add(n.name);
    const known = n !== null && typeof n === 'object' ? checkedNode(n) : undefined;
    if (fast && known !== undefined && crossIndex.keeps(n, n.name, known)) {
      stacks[i] = known.stack;
      checked[i] = known;
      linkLocals[i] = known.linkLocal6;
      return;
    }
    if (fast) changed.push(i);
    const before = p.list.length;
    let across = 0; // problems with other nodes, which do not make this node's own checks fail
    const s = known ? known.stack : n !== null && typeof n === 'object' ? checkStack(p, atOf(i), n) : (p.add(atOf(i), 'a node must be an object'), undefined);
    if (!s) return;
    stacks[i] = s;
    // With the index, the checks across nodes are made after the loop (crossIndex.update).
    if (!fast) {
      for (const f of FAMILIES) {
        const ip = s.ip[f];
        if (ip) {
          if (ips.has(ip.text)) {
            p.add(`${atOf(i)}.nodeIP`, `${ip.text} is the address of another node too`);
            across++;
          }
          ips.add(ip.text);
        }
        const net = s.cidr[f];
        if (net) cidrs.push({ index: i, net });
      }
    }
    if (known) {
      checked[i] = known;
      linkLocals[i] = known.linkLocal6;
      return;
    }
    const at = atOf(i);
    if (n.vtepMac !== undefined && checkMac(p, `${at}.vtepMac`, n.vtepMac) !== undefined && !s.ip[4]) p.add(`${at}.vtepMac`, 'is the MAC of the VTEP on the IPv4 underlay, and this node has no IPv4 node IP (give vtepMac6)');
    if (n.vtepMac6 !== undefined && checkMac(p, `${at}.vtepMac6`, n.vtepMac6) !== undefined && !s.ip[6]) p.add(`${at}.vtepMac6`, 'is the MAC of the VTEP on the IPv6 underlay, and this node has no IPv6 node IP');
    if (n?.wireguard !== undefined) checkNodeWireGuard(p, `${at}.wireguard`, n.wireguard);
    if (n?.linkLocal6 !== undefined) linkLocals[i] = checkLinkLocal6(p, `${at}.linkLocal6`, n.linkLocal6);
    if (p.list.length - before === across) checked[i] = rememberNode(n, s, linkLocals[i]);
  });
  if (fast && (p.list.length > 0 || !crossIndex.update(nodes, changed, stacks, checked))) return plan(c, false); // the full check names every problem
  for (const [later, earlier] of overlaps(cidrs)) p.add(`${atOf(later.index)}.podCIDR`, `${later.net.prefix} overlaps the podCIDR of ${atOf(earlier.index)}`);
  const selfIndex = nodes.findIndex((n) => n?.name === c.self);
  if (Array.isArray(c.nodes) && selfIndex < 0) p.add('self', `node "${c.self}" is not in nodes`);
  p.throwIfAny('invalid overlay configuration');

  const self = stacks[selfIndex];
  const selfAt = `nodes[${selfIndex}]`;
  for (const f of FAMILIES) {
    if (subnets[f] && !self.ip[f]) p.add(c.underlaySubnets ? 'underlaySubnets' : 'underlaySubnet', `${subnets[f]!.prefix} is ${familyName(f)} and this node has no ${familyName(f)} node IP (family mismatch with the underlay)`);
  }
  const tunnelNames = [c.tunnelName ?? 'vxlan0', c.tunnelName6 ?? 'vxlan6'];
  if (tunnelNames[0] === tunnelNames[1]) p.add('tunnelName6', `must differ from tunnelName (${tunnelNames[0]})`);
  const out: Plan = { selfIndex, stacks, checked, paths: new Array<Path>(nodes.length), pathNodes: new Array<number>(nodes.length), vxlanDevices: new Set(), ipip: false };
  const fallback = c.mode === 'ipip' || (c.mode === 'hybrid' && c.hybridFallback === 'ipip') ? 'ipip' : 'vxlan';
  const ctx = contextOf([c.mode, self.ip[4]?.text, self.ip[6]?.text, self.cidr[4]?.prefix, self.cidr[6]?.prefix, subnets[4]?.prefix, subnets[6]?.prefix, fallback, c.tunnelName, c.tunnelName6, c.underlayDev, c.vxlanLearning ?? false, c.nexthops ?? false]);
  if (c.mode === 'ipip' || (c.mode === 'hybrid' && fallback === 'ipip')) {
    if (self.ip[4]) out.ipip = true;
    else if (c.mode === 'ipip') p.add(`${selfAt}.nodeIP`, 'ipip runs over an IPv4 underlay and this node has no IPv4 node IP (use vxlan)');
  }
  if (c.mode === 'vxlan' || (c.mode === 'hybrid' && fallback === 'vxlan')) {
    // This host's own pod families travel on the device of the same underlay family, else the other.
    for (const f of FAMILIES) if (self.cidr[f]) out.vxlanDevices.add(self.ip[f] ? f : otherFamily(f));
  }
  if (c.mode === 'ipip' && self.cidr[6]) p.add(`${selfAt}.podCIDRs`, 'ipip carries IPv4 pods only (this kernel has no ip6tnl/sit): use vxlan or hybrid for IPv6 pods');

  // The paths go to arrays sized once (m: how many so far), not grown by push: 5,000 nodes a change.
  const { paths, pathNodes } = out;
  let m = 0;
  /** A node not remembered under this context: its paths decided now. */
  const decide = (n: OverlayNode, i: number): void => {
    const r = stacks[i];
    const at = atOf(i);
    const before = p.list.length;
    const first = m;
    const underlays: IpFamily[] = [];
    const path = (x: Path) => {
      paths[m] = x;
      pathNodes[m++] = i;
    };
    for (const f of FAMILIES) {
      if (!self.cidr[f] || !r.cidr[f]) continue; // a family this host has no pods in, or the peer has none in
      const both = (u: IpFamily) => self.ip[u] !== undefined && r.ip[u] !== undefined;
      let direct = c.mode === 'host-gw';
      if (c.mode === 'hybrid') direct = both(f) && subnets[f] !== undefined && prefixContains(subnets[f]!, r.ip[f]!.bytes);
      if (direct) {
        // host-gw: a node on the segment with IPv6 pods but no global IPv6 address is reached via its link-local one.
        if (!both(f) && f === 6 && c.mode === 'host-gw' && linkLocals[i] !== undefined) {
          path({ how: 'direct', family: 6, linkLocal: linkLocals[i] });
          continue;
        }
        if (!both(f)) {
          const who = self.ip[f] ? `node "${nodes[i].name}"` : 'this node';
          p.add(`${self.ip[f] ? at : selfAt}.nodeIPs`, `host-gw routes ${familyName(f)} pods via the node's ${familyName(f)} address, and ${who} has none (family mismatch: use vxlan or hybrid)`);
          continue;
        }
        path({ how: 'direct', family: f });
      } else if (fallback === 'ipip') {
        if (f === 6) p.add(`${at}.podCIDRs`, `ipip carries IPv4 pods only: node "${nodes[i].name}"'s IPv6 pods need vxlan (this kernel has no ip6tnl/sit)`);
        else if (!both(4)) p.add(`${self.ip[4] ? at : selfAt}.nodeIPs`, `ipip needs an IPv4 underlay on both ends (node "${nodes[i].name}")`);
        else path({ how: 'ipip', family: 4 });
      } else {
        const underlay = both(f) ? f : both(otherFamily(f)) ? otherFamily(f) : undefined;
        if (underlay === undefined) {
          p.add(`${at}.nodeIPs`, `node "${nodes[i].name}" shares no underlay family with this node (family mismatch)`);
          continue;
        }
        out.vxlanDevices.add(underlay);
        underlays.push(underlay);
        path({ how: 'vxlan', family: f, underlay });
      }
    }
    if (checked[i] !== undefined && p.list.length === before) checked[i].route = { ctx, name: n.name, paths: paths.slice(first, m), underlays };
  };
  for (let i = 0; i < nodes.length; i++) {
    if (i === selfIndex) continue;
    const known = checked[i]?.route;
    if (known === undefined || known.ctx !== ctx || known.name !== nodes[i].name) {
      decide(nodes[i], i);
      continue;
    }
    for (let j = 0; j < known.paths.length; j++) {
      paths[m] = known.paths[j];
      pathNodes[m++] = i;
    }
    for (let j = 0; j < known.underlays.length; j++) out.vxlanDevices.add(known.underlays[j]);
  }
  paths.length = pathNodes.length = m;
  if (p.list.length > 0) crossIndex.clear();
  p.throwIfAny('invalid overlay configuration');
  if (!fast) crossIndex.rebuild(nodes, stacks, checked);
  return out;
}

/** Checks a node's WireGuard part: a public key (base64, 32 bytes) and a port 1..65535. */
export function checkNodeWireGuard(p: Problems, path: string, v: unknown): v is NodeWireGuard {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    p.add(path, 'expected { publicKey, port? }');
    return false;
  }
  const before = p.list.length;
  const w = v as Record<string, unknown>;
  for (const k of Object.keys(w)) if (k !== 'publicKey' && k !== 'port') p.add(`${path}.${k}`, 'unknown field (publicKey, port)');
  const problem = keyTextProblem(w.publicKey);
  if (problem !== undefined) p.add(`${path}.publicKey`, problem);
  if (w.port !== undefined) checkInt(p, `${path}.port`, w.port, 1, 65535);
  return p.list.length === before;
}

/** The wireguard mode's part: the device, its address, its configuration, a route per peer. */
function wireguardState(c: OverlayConfig, self: OverlayNode, remotes: OverlayNode[], underlayMtu: number, out: ModeState): void {
  const dev = c.tunnelName ?? WIREGUARD_DEFAULT_DEV;
  const port = c.port ?? WIREGUARD_DEFAULT_PORT;
  const own = c.wireguardKey!.publicKey().toBase64();
  // The tunnel runs over the family of this node's (first) node IP: each peer's endpoint is its
  // address of that family when it has one (a dual-stack node has both), and over an IPv6
  // underlay the outer header is 20 bytes longer (flannel, calico: - 80).
  const v6Underlay = self.nodeIP.includes(':');
  const endpointIP = (n: OverlayNode): string => [n.nodeIP, ...(n.nodeIPs ?? [])].find((ip) => ip.includes(':') === v6Underlay) ?? n.nodeIP;
  const endpoints = remotes.map(endpointIP);
  out.links.push({ kind: 'wireguard', name: dev, mtu: c.mtu ?? underlayMtu - WIREGUARD_OVERHEAD - (v6Underlay ? 20 : 0), up: true });
  // The tunnel address: the first host address of the IPv4 pod subnet (IPv6 pods are routed without one).
  const own4 = (self.podCIDRs ?? [self.podCIDR]).find((x) => !x.includes(':'));
  if (own4) out.addresses.push({ dev, address: `${gatewayAddress(own4)}/32` });
  const peers: WgPeerConfig[] = [];
  const keys = new Set([own]);
  for (const [i, n] of remotes.entries()) {
    // A node that publishes no key (yet), or ours or another's, gets no peer and no route.
    if (!n.wireguard || keys.has(n.wireguard.publicKey)) continue;
    keys.add(n.wireguard.publicKey);
    const pods = n.podCIDRs ?? [n.podCIDR];
    const ip = endpoints[i];
    peers.push({
      publicKey: n.wireguard.publicKey,
      endpoint: ip.includes(':') ? `[${ip}]:${n.wireguard.port ?? port}` : `${ip}:${n.wireguard.port ?? port}`,
      allowedIps: [...pods],
      ...(c.persistentKeepalive ? { persistentKeepalive: c.persistentKeepalive } : {}),
    });
    for (const dst of pods) out.routes.push({ dst, dev });
  }
  (out.wireguard ??= []).push({ dev, privateKey: c.wireguardKey!, listenPort: port, fwmark: 0, peers });
}

/**
 * vxlan with nexthops: a remote node's VTEP MAC goes to an FDB nexthop group holding one FDB
 * nexthop via its underlay address (the vxlan driver takes only a group of FDB nexthops as an
 * entry's nhid), so a node's new underlay address is one nexthop replace here too. Named
 * "vtep/<node>" ("vtep6/<node>" on the IPv6 underlay) and "<that>/group". The learning variant
 * keeps its plain flood entries: an all-zero entry on a group sends each frame to one member
 * (multipath), it does not flood to all.
 */
function vtepNexthop(out: PathSpecs, node: string, underlay: IpFamily, dev: string, mac: string, dst: string): void {
  const name = `${underlay === 4 ? 'vtep' : 'vtep6'}/${node}`;
  const group = `${name}/group`;
  out.nexthops.push({ name, via: dst, fdb: true }, { name: group, group: [{ nexthop: name }], fdb: true });
  out.fdb.push({ dev, mac, nexthop: group });
}

/** The lists every mode fills. */
type ModeState = Required<Pick<DesiredState, 'links' | 'addresses' | 'routes' | 'fdb' | 'neighbors'>> & DesiredState;

/** What desiredState made for one path of a node, in the order it goes to the lists. */
interface PathSpecs {
  readonly nexthops: NonNullable<DesiredState['nexthops']>;
  readonly fdb: NonNullable<DesiredState['fdb']>;
  readonly neighbors: NeighborSpec[];
  readonly routes: NonNullable<DesiredState['routes']>;
}

/**
 * A path's specs, made now (once per remembered path: see CheckedNode.route). Callers look in
 * specsOf first, so a remembered path costs no closure (5,000 of them per change, with their
 * contexts, were a third of what a change allocated).
 */
function makeSpecs(x: Path, make: (into: PathSpecs) => void): PathSpecs {
  const specs: PathSpecs = { nexthops: [], fdb: [], neighbors: [], routes: [] };
  make(specs);
  // Frozen: the reconciler then knows a spec handed again is unchanged (scoped cycles).
  for (const list of [specs.nexthops, specs.fdb, specs.neighbors, specs.routes]) for (const spec of list) deepFreeze(spec);
  specsOf.set(x, specs);
  return specs;
}

/**
 * The paths' lists of a ModeState, sized once (a path gives at most one route, neighbour and
 * FDB entry; past that an array still grows) and filled by index: grown by push, 5,000 paths a
 * change left their copies behind.
 */
class PathLists {
  private readonly routes: NonNullable<DesiredState['routes']>;
  private readonly fdb: NonNullable<DesiredState['fdb']>;
  private readonly neighbors: NeighborSpec[];
  private r = 0;
  private f = 0;
  private n = 0;

  constructor(paths: number) {
    this.routes = new Array(paths);
    this.fdb = new Array(paths);
    this.neighbors = new Array(paths);
  }

  add(out: ModeState, specs: PathSpecs): void {
    if (specs.nexthops.length) (out.nexthops ??= []).push(...specs.nexthops);
    for (let i = 0; i < specs.fdb.length; i++) this.fdb[this.f++] = specs.fdb[i];
    for (let i = 0; i < specs.neighbors.length; i++) this.neighbors[this.n++] = specs.neighbors[i];
    for (let i = 0; i < specs.routes.length; i++) this.routes[this.r++] = specs.routes[i];
  }

  /** Puts the lists, cut to what was added, in out (whose own are empty). */
  into(out: ModeState): ModeState {
    this.routes.length = this.r;
    this.fdb.length = this.f;
    this.neighbors.length = this.n;
    out.routes = this.routes;
    out.fdb = this.fdb;
    out.neighbors = this.neighbors;
    return out;
  }
}

/** The DesiredState of this host for the given mode and nodes. Throws ValidationError. */
export function desiredState(c: OverlayConfig): DesiredState {
  const plan_ = plan(c);
  const { stacks, paths, pathNodes, selfIndex } = plan_;
  const selfNode = c.nodes[selfIndex];
  const self = stacks[selfIndex];
  const underlayMtu = c.underlayMtu ?? 1500;
  const out: ModeState = { links: [], addresses: [], routes: [], fdb: [], neighbors: [] };
  if (c.mode === 'wireguard') {
    wireguardState(c, selfNode, c.nodes.filter((_, i) => i !== selfIndex), underlayMtu, out);
    return out;
  }
  const lists = new PathLists(paths.length);

  // A remote node's pod route: on the node's nexthop object (one per family), or with its gateway inline.
  // A link-local next hop is on the device's link by definition: no onlink.
  const podRoute = (into: PathSpecs, node: number, family: IpFamily, via: string, dev: string, onlink = true): void => {
    const dst = stacks[node].cidr[family]!.prefix;
    const gw = onlink ? { via, dev, onlink: true } : { via, dev };
    if (!c.nexthops) return void into.routes.push({ dst, ...gw });
    const name = `node/${c.nodes[node].name}${family === 6 ? '/v6' : ''}`;
    into.nexthops.push({ name, ...gw });
    into.routes.push({ dst, nexthop: name });
  };
  const directSpecs = (x: Path & { how: 'direct' }, node: number): PathSpecs =>
    x.linkLocal !== undefined
      ? makeSpecs(x, (into) => podRoute(into, node, 6, x.linkLocal!, c.underlayDev, false))
      : makeSpecs(x, (into) => podRoute(into, node, x.family, stacks[node].ip[x.family]!.text, c.underlayDev));
  for (let k = 0; k < paths.length; k++) {
    const x = paths[k];
    if (x.how === 'direct') lists.add(out, specsOf.get(x) ?? directSpecs(x, pathNodes[k]));
  }

  if (plan_.ipip) {
    const tun = c.tunnelName ?? 'ipip0';
    const link: LinkSpec = { kind: 'ipip', name: tun, local: self.ip[4]!.text, ttl: 64, mtu: c.mtu ?? underlayMtu - IPIP_OVERHEAD, up: true };
    out.links.push(link);
    if (self.cidr[4]) out.addresses.push({ dev: tun, address: `${gatewayAddress(self.cidr[4].prefix)}/32` } satisfies AddressSpec);
    const ipipSpecs = (x: Path, node: number): PathSpecs => makeSpecs(x, (into) => podRoute(into, node, 4, stacks[node].ip[4]!.text, tun));
    for (let k = 0; k < paths.length; k++) {
      const x = paths[k];
      if (x.how === 'ipip') lists.add(out, specsOf.get(x) ?? ipipSpecs(x, pathNodes[k]));
    }
    return frozenHostSpecs(lists.into(out));
  }

  const devName = (u: IpFamily) => (u === 4 ? (c.tunnelName ?? 'vxlan0') : (c.tunnelName6 ?? 'vxlan6'));
  const learning = c.vxlanLearning ?? false;
  for (const u of FAMILIES) {
    if (!plan_.vxlanDevices.has(u)) continue;
    out.links.push({
      kind: 'vxlan',
      name: devName(u),
      vni: c.vni ?? 100,
      port: c.port ?? 4789,
      local: self.ip[u]!.text,
      dev: c.underlayDev,
      learning,
      mtu: c.mtu ?? underlayMtu - (u === 4 ? VXLAN_OVERHEAD : VXLAN6_OVERHEAD),
      address: vtepMacOf(selfNode, self, u)!,
      up: true,
    });
  }
  for (const f of FAMILIES) {
    const net = self.cidr[f];
    if (!net || plan_.vxlanDevices.size === 0) continue;
    const home: IpFamily = self.ip[f] ? f : otherFamily(f);
    const dev = devName(plan_.vxlanDevices.has(home) ? home : [...plan_.vxlanDevices][0]);
    out.addresses.push(f === 4 ? { dev, address: `${gatewayAddress(net.prefix)}/32` } : { dev, address: `${gatewayAddress(net.prefix)}/128`, nodad: true });
  }
  const vxlanSpecs = (x: Path & { how: 'vxlan' }, k: number): PathSpecs => {
    const node = pathNodes[k];
    const r = stacks[node];
    const dev = devName(x.underlay);
    const dst = r.ip[x.underlay]!.text;
    // One FDB entry per device and remote node IP: node IPs are unique, so only an earlier path
    // of the same node (its other pod family, on the same underlay) can have made it.
    const prior = paths[k - 1];
    const fdbHere = !(prior !== undefined && prior.how === 'vxlan' && pathNodes[k - 1] === node && prior.underlay === x.underlay);
    return makeSpecs(x, (into) => {
      const vtepIP = gatewayAddress(r.cidr[x.family]!.prefix);
      const mac = vtepMacOf(c.nodes[node], r, x.underlay)!;
      if (fdbHere) {
        if (c.nexthops && !learning) vtepNexthop(into, c.nodes[node].name, x.underlay, dev, mac, dst);
        else into.fdb.push({ dev, mac: learning ? '00:00:00:00:00:00' : mac, dst } satisfies FdbSpec);
      }
      if (!learning) into.neighbors.push({ dev, ip: vtepIP, lladdr: mac } satisfies NeighborSpec);
      podRoute(into, node, x.family, vtepIP, dev);
    });
  };
  for (let k = 0; k < paths.length; k++) {
    const x = paths[k];
    if (x.how === 'vxlan') lists.add(out, specsOf.get(x) ?? vxlanSpecs(x, k));
  }
  return frozenHostSpecs(lists.into(out));
}

/** The host's own specs (links, addresses) frozen as the paths' are (see makeSpecs). */
function frozenHostSpecs(out: ModeState): ModeState {
  for (const spec of out.links) deepFreeze(spec);
  for (const spec of out.addresses) deepFreeze(spec);
  return out;
}
