/**
 * Prefix arithmetic for membership: what a node address may be, and the enumeration of
 * subnets for podCIDR allocation. Parsing, overlap and containment are src/values' (the same
 * rules as a desired state); the enumeration works on bytes with BigInt, so it is the same for
 * both families.
 */
import { parseAddress, parsePrefix, type ParsedAddress, type ParsedPrefix } from '../values/address';
import type { IpFamily } from '../values/ip';
import { addressValue } from '../values/prefix';
import { Problems } from '../values/problems';

/** A prefix without host bits (its text canonical), or undefined. For values already checked. */
export function prefixOf(v: unknown, family?: IpFamily): ParsedPrefix | undefined {
  return parsePrefix(new Problems(), '', v, 'reject', family);
}

/** An address (its text canonical), or undefined. For values already checked. */
export function addressOf(v: unknown, family?: IpFamily): ParsedAddress | undefined {
  return parseAddress(new Problems(), '', v, family);
}

function fromBigInt(n: bigint, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** How many subnets of length `length` fit in `outer` (a BigInt: IPv6 ranges hold 2^64 /64s). */
export function subnetCount(outer: ParsedPrefix, length: number): bigint {
  return 1n << BigInt(length - outer.prefixLength);
}

/** The i-th subnet of length `length` inside `outer` (0-based). */
export function nthSubnet(outer: ParsedPrefix, length: number, i: bigint): ParsedPrefix {
  const bits = outer.bytes.length * 8;
  const base = addressValue(outer.bytes) + (i << BigInt(bits - length));
  const text = `${parseAddress(new Problems(), '', formatBytes(fromBigInt(base, outer.bytes.length)))!.text}/${length}`;
  return prefixOf(text)!;
}

function formatBytes(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}
