/**
 * Address ranges as host-local reads them: a subnet, an optional first and last address to hand
 * out (default: the subnet's first host address up to its last one, the IPv4 broadcast address
 * excluded) and a gateway (default: the first host address), never handed out. Addresses are
 * bigints here so that IPv4 and IPv6 share every computation.
 */
import { parseAddress, parsePrefix, type ParsedPrefix } from '../../values/address';
import { Problems } from '../../values/problems';
import type { IpFamily } from '../../rtnl/types';
import { formatIPv4, formatIPv6 } from '../../values/ip';

/** One range of a range set, after defaults. */
export interface IpRange {
  /** 4 or 6. */
  family: IpFamily;
  /** The subnet, canonical ("10.244.1.0/24"). */
  subnet: string;
  /** The subnet's prefix length. */
  prefixLength: number;
  /** The subnet's first address. */
  network: bigint;
  /** The first address handed out. */
  start: bigint;
  /** The last address handed out. */
  end: bigint;
  /** The gateway (never handed out). */
  gateway: bigint;
}

/** What a range is written as in the configuration (host-local's fields). */
export interface RangeSpec {
  /** The subnet, "10.244.1.0/24" (host bits are cleared, as host-local does). */
  subnet: string;
  /** First address to hand out. */
  rangeStart?: string;
  /** Last address to hand out. */
  rangeEnd?: string;
  /** The gateway; default the subnet's first host address. */
  gateway?: string;
}

/** The bigint of an address's bytes. */
export function toBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** The canonical text of an address of `family`. */
export function ipText(family: IpFamily, v: bigint): string {
  const n = family === 4 ? 4 : 16;
  const b = Buffer.alloc(n);
  for (let i = n - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return family === 4 ? formatIPv4(b, 0) : formatIPv6(b, 0);
}

/** The address and family of a literal, or undefined (nothing recorded). */
export function parseIp(text: string): { family: IpFamily; value: bigint } | undefined {
  const a = parseAddress(new Problems(), '', text);
  return a ? { family: a.family, value: toBig(a.bytes) } : undefined;
}

const bitsOf = (f: IpFamily) => (f === 4 ? 32 : 128);

/** Whether `v` is inside a subnet (network, prefix length) of family `f`. */
export function inSubnet(f: IpFamily, network: bigint, prefixLength: number, v: bigint): boolean {
  const host = bitsOf(f) - prefixLength;
  return v >> BigInt(host) === network >> BigInt(host);
}

/**
 * Checks one range at `path` and fills in its defaults. Adds problems (naming subnet, rangeStart,
 * rangeEnd, gateway) and returns undefined when it is not usable.
 */
export function parseRange(p: Problems, path: string, r: unknown): IpRange | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    p.add(path, `expected a range object {subnet, rangeStart?, rangeEnd?, gateway?}, got ${JSON.stringify(r)}`);
    return undefined;
  }
  const spec = r as Record<string, unknown>;
  for (const k of Object.keys(spec)) {
    if (!['subnet', 'rangeStart', 'rangeEnd', 'gateway'].includes(k)) p.add(`${path}.${k}`, 'unknown field (expected subnet, rangeStart, rangeEnd, gateway)');
  }
  const before = p.list.length;
  const pre: ParsedPrefix | undefined = parsePrefix(p, `${path}.subnet`, spec.subnet, 'keep');
  if (!pre) return undefined;
  const family = pre.family;
  const bits = bitsOf(family);
  // host-local refuses /31 and /32 (/127, /128): nothing is left after network and gateway.
  if (pre.prefixLength > bits - 2) {
    p.add(`${path}.subnet`, `${pre.prefix} is too small to allocate from (at most /${bits - 2})`);
    return undefined;
  }
  const host = BigInt(bits - pre.prefixLength);
  const network = (toBig(pre.bytes) >> host) << host;
  const last = network | ((1n << host) - 1n);
  const subnet = `${ipText(family, network)}/${pre.prefixLength}`;
  const within = (field: string): bigint | undefined => {
    if (spec[field] === undefined) return undefined;
    const a = parseAddress(p, `${path}.${field}`, spec[field], family);
    if (!a) return undefined;
    const v = toBig(a.bytes);
    if (!inSubnet(family, network, pre.prefixLength, v)) p.add(`${path}.${field}`, `${a.text} is not inside ${subnet}`);
    return v;
  };
  const start = within('rangeStart') ?? network + 1n;
  const end = within('rangeEnd') ?? (family === 4 ? last - 1n : last);
  const gateway = within('gateway') ?? network + 1n;
  if (start > end) p.add(`${path}.rangeStart`, `${ipText(family, start)} is after rangeEnd ${ipText(family, end)}`);
  if (family === 4 && (start === network || end === last)) {
    p.add(`${path}.${start === network ? 'rangeStart' : 'rangeEnd'}`, `the network and broadcast addresses of ${subnet} cannot be handed out`);
  }
  if (p.list.length > before) return undefined;
  return { family, subnet, prefixLength: pre.prefixLength, network, start, end, gateway };
}

/** True when two ranges share an address. */
export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

/** The range of `set` that holds `v`, if any. */
export function rangeHolding(set: readonly IpRange[], v: bigint, family: IpFamily): IpRange | undefined {
  return set.find((r) => r.family === family && v >= r.start && v <= r.end);
}
