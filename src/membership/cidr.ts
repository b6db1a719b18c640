/**
 * IPv4 prefix arithmetic for membership: overlap and containment checks on node records and
 * the enumeration of subnets for podCIDR allocation. Parsing goes through rtnl/validate so that
 * a prefix means the same thing here as in a desired state.
 */
import { parseAddress, parsePrefix } from '../values/address';
import { Problems } from '../values/problems';

/** An IPv4 prefix as a 32-bit network number and a length. */
export interface Prefix4 {
  /** The network address as an unsigned 32-bit integer (host bits zero). */
  base: number;
  length: number;
  /** "a.b.c.d/len". */
  text: string;
}

/** The netmask of a prefix length as an unsigned 32-bit integer. */
export function maskOf(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** Parses "a.b.c.d/len" (host bits must be zero); adds a problem and returns undefined if not. */
export function parsePrefix4(p: Problems, path: string, v: unknown): Prefix4 | undefined {
  const pre = parsePrefix(p, path, v, 'reject', 4);
  if (!pre) return undefined;
  return { base: pre.bytes.readUInt32BE(0), length: pre.prefixLength, text: pre.prefix };
}

/** Parses an IPv4 address into an unsigned 32-bit integer; adds a problem if it is not one. */
export function parseIPv4Number(p: Problems, path: string, v: unknown): number | undefined {
  const a = parseAddress(p, path, v, 4);
  return a ? a.bytes.readUInt32BE(0) : undefined;
}

/** Do two prefixes share any address? */
export function overlaps(a: Prefix4, b: Prefix4): boolean {
  const m = maskOf(Math.min(a.length, b.length));
  return ((a.base & m) >>> 0) === ((b.base & m) >>> 0);
}

/** Is the address (unsigned 32-bit) inside the prefix? */
export function containsAddress(prefix: Prefix4, address: number): boolean {
  const m = maskOf(prefix.length);
  return ((address & m) >>> 0) === prefix.base;
}

/** Is `inner` entirely inside `outer`? */
export function containsPrefix(outer: Prefix4, inner: Prefix4): boolean {
  return inner.length >= outer.length && containsAddress(outer, inner.base);
}

/** Formats an unsigned 32-bit network number and a length as "a.b.c.d/len". */
export function formatPrefix4(base: number, length: number): string {
  return `${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/${length}`;
}

/** The i-th subnet of length `length` inside `outer` (0-based). */
export function nthSubnet(outer: Prefix4, length: number, i: number): Prefix4 {
  const base = (outer.base + i * 2 ** (32 - length)) >>> 0;
  return { base, length, text: formatPrefix4(base, length) };
}

/** How many subnets of length `length` fit in `outer`. */
export function subnetCount(outer: Prefix4, length: number): number {
  return 2 ** (length - outer.length);
}

/** Is the address a unicast host address a node may have (not 0/8, 127/8, multicast, class E)? */
export function isUsableNodeAddress(address: number): boolean {
  const first = address >>> 24;
  return first !== 0 && first !== 127 && first < 224;
}
