/**
 * A node's address families, as Kubernetes has them (node.status.addresses, node.spec.podCIDRs):
 * one or two node IPs (at most one per family) and one or two pod subnets (likewise). A record
 * writes the primary pair as nodeIP/podCIDR (what a v4-only record always had) and, for a second
 * family, both pairs as nodeIPs/podCIDRs with the primary first, so a v4-only record of an older
 * version reads as it is and an older reader still understands a dual-stack record's primary.
 */
import { isLinkLocal6, isLoopback, isMulticast, isUnspecified, isV4Mapped, parseAddress, parsePrefix, type ParsedAddress, type ParsedPrefix } from '../values/address';
import type { IpFamily } from '../values/ip';
import { prefixContains } from '../values/prefix';
import { Problems, describeValue } from '../values/problems';

/** The node fields that say where a node is and which pod subnets it has. */
export interface StackFields {
  /** The primary underlay address (either family). */
  nodeIP: string;
  /** The primary pod subnet (either family). */
  podCIDR: string;
  /** Every underlay address, at most one per family; nodeIP is one of them. */
  nodeIPs?: readonly string[];
  /** Every pod subnet, at most one per family; podCIDR is one of them. */
  podCIDRs?: readonly string[];
}

/** A node's addresses and pod subnets by family (checked, canonical). */
export interface NodeStack {
  ip: { 4?: ParsedAddress; 6?: ParsedAddress };
  cidr: { 4?: ParsedPrefix; 6?: ParsedPrefix };
}

/** IPv6 pod subnets: at least a /48 (no more than a site), at most a /120 (room for pods). */
export const MIN_POD_PREFIX6 = 48;
export const MAX_POD_PREFIX6 = 120;

export const FAMILIES: readonly IpFamily[] = [4, 6];

/** "IPv4" / "IPv6". */
export function familyName(f: IpFamily): string {
  return f === 4 ? 'IPv4' : 'IPv6';
}

/** The other family. */
export function otherFamily(f: IpFamily): IpFamily {
  return f === 4 ? 6 : 4;
}

/**
 * Whether a node may have this underlay address: unicast, not loopback, not unspecified; for
 * IPv4 not 0/8 ("this network") nor 240/4 (reserved); for IPv6 not link-local (fe80::/10: not
 * routable between hosts without a device) nor IPv4-mapped (::ffff:a.b.c.d is an IPv4 host).
 */
export function isUsableNodeAddress(a: ParsedAddress): boolean {
  if (isMulticast(a) || isLoopback(a) || isUnspecified(a)) return false;
  if (a.family === 6) return !isLinkLocal6(a) && !isV4Mapped(a);
  return a.bytes[0] !== 0 && a.bytes[0] < 240;
}

/** Why an address is not a node address, or undefined when it is one. */
function nodeAddressProblem(a: ParsedAddress): string | undefined {
  if (isV4Mapped(a)) return `${a.text} is an IPv4-mapped address: give the IPv4 address itself`;
  if (isLinkLocal6(a)) return `${a.text} is link-local: a node needs a global or unique-local address`;
  if (!isUsableNodeAddress(a)) return `${a.text} is not a unicast host address`;
  return undefined;
}

/** Checks a node's IPv6 link-local address on the underlay segment (fe80::/10, unicast);
 * returns it canonical. host-gw routes IPv6 pods via it, with the device, when the node has
 * no global IPv6 address. */
export function checkLinkLocal6(p: Problems, path: string, v: unknown): string | undefined {
  const a = parseAddress(p, path, v, 6);
  if (!a) return undefined;
  if (!isLinkLocal6(a)) {
    p.add(path, `${a.text} is not an IPv6 link-local address (fe80::/10)`);
    return undefined;
  }
  return a.text;
}

/** Options of checkStack. */
export interface StackCheck {
  /** Apply the node-address rules (isUsableNodeAddress) to every node IP. */
  usableAddresses?: boolean;
  /** Allowed IPv4 pod subnet lengths; default any. */
  podLength4?: readonly [number, number];
  /** Skip the rule "no pod subnet contains the node's own address" (membership screens it with its own reasons). */
  allowOwnAddress?: boolean;
}

/**
 * Checks a node's nodeIP/nodeIPs and podCIDR/podCIDRs: addresses and prefixes of either
 * family, at most one per family, the primary among the lists, IPv6 pod subnets /48../120, and
 * no pod subnet containing one of the node's own addresses. Adds problems under `at`; returns
 * the stack when everything parsed.
 */
export function checkStack(p: Problems, at: string, n: Partial<Record<keyof StackFields, unknown>>, opts: StackCheck = {}): NodeStack | undefined {
  const before = p.list.length;
  const stack: NodeStack = { ip: {}, cidr: {} };
  const ips = collect(p, at, 'nodeIP', 'nodeIPs', n.nodeIP, n.nodeIPs, (path, v) => {
    const a = parseAddress(p, path, v);
    const why = a && opts.usableAddresses ? nodeAddressProblem(a) : undefined;
    if (why) p.add(path, why);
    return why ? undefined : a;
  });
  const cidrs = collect(p, at, 'podCIDR', 'podCIDRs', n.podCIDR, n.podCIDRs, (path, v) => {
    const c = parsePrefix(p, path, v, 'reject');
    if (!c) return undefined;
    const [min, max] = c.family === 6 ? [MIN_POD_PREFIX6, MAX_POD_PREFIX6] : (opts.podLength4 ?? [0, 32]);
    if (c.prefixLength < min || c.prefixLength > max) {
      p.add(path, `${c.prefix}: ${c.family === 6 ? 'an IPv6 pod subnet' : 'a pod subnet'} must be /${min}../${max}`);
      return undefined;
    }
    return c;
  });
  for (const a of ips) stack.ip[a.family] = a;
  for (const c of cidrs) stack.cidr[c.family] = c;
  for (const c of opts.allowOwnAddress ? [] : cidrs) {
    const own = stack.ip[c.family];
    if (own && prefixContains(c, own.bytes)) p.add(`${at}.podCIDR`, `pod subnet ${c.prefix} contains the node's own address ${own.text}`);
  }
  return p.list.length === before ? stack : undefined;
}

/** The primary value plus the list: each parsed once, one per family, the primary in the list. */
function collect<T extends ParsedAddress>(
  p: Problems,
  at: string,
  one: string,
  many: string,
  primary: unknown,
  list: unknown,
  parse: (path: string, v: unknown) => T | undefined,
): T[] {
  const out: T[] = [];
  const first = parse(`${at}.${one}`, primary);
  if (list === undefined) return first ? [first] : [];
  if (!Array.isArray(list) || list.length < 1 || list.length > 2) {
    p.add(`${at}.${many}`, `expected one or two entries (at most one per family), got ${describeValue(list)}`);
    return first ? [first] : [];
  }
  const parsed = list.map((v, i) => parse(`${at}.${many}[${i}]`, v));
  const seen = new Map<IpFamily, number>();
  parsed.forEach((x, i) => {
    if (!x) return;
    const j = seen.get(x.family);
    if (j !== undefined) p.add(`${at}.${many}[${i}]`, `two ${familyName(x.family)} entries (${(parsed[j] as T).text}${'prefix' in x ? `/${(x as unknown as ParsedPrefix).prefixLength}` : ''} and this one): at most one per family`);
    else {
      seen.set(x.family, i);
      out.push(x);
    }
  });
  if (first) {
    const same = out.find((x) => x.family === first.family);
    const text = (x: T) => ('prefix' in x ? (x as unknown as ParsedPrefix).prefix : x.text);
    if (!same) p.add(`${at}.${many}`, `must include ${one} ${text(first)}`);
    else if (text(same) !== text(first)) p.add(`${at}.${one}`, `${text(first)} and ${many} entry ${text(same)} are two ${familyName(first.family)} values: at most one per family`);
  }
  return out;
}

/** The stack of a node already validated (throws TypeError otherwise: a caller's bug). */
export function stackOf(n: StackFields): NodeStack {
  const s = checkStack(new Problems(), 'node', n, { allowOwnAddress: true });
  if (!s) throw new TypeError(`stackOf: node ${JSON.stringify(n)} is not valid`);
  return s;
}

/** The stack fields of a record in their normal form: nodeIP/podCIDR the primary (canonical
 * text), nodeIPs/podCIDRs only when there are two (primary first). */
export function normalStack(s: NodeStack, primaryIP: IpFamily, primaryCIDR: IpFamily): StackFields {
  const ips = [s.ip[primaryIP]!.text, s.ip[otherFamily(primaryIP)]?.text].filter((x): x is string => x !== undefined);
  const cidrs = [s.cidr[primaryCIDR]!.prefix, s.cidr[otherFamily(primaryCIDR)]?.prefix].filter((x): x is string => x !== undefined);
  const out: StackFields = { nodeIP: ips[0], podCIDR: cidrs[0] };
  if (ips.length > 1) out.nodeIPs = ips;
  if (cidrs.length > 1) out.podCIDRs = cidrs;
  return out;
}
