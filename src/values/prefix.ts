/**
 * Prefixes as numbers, without allocating, for the hot paths (100k routes validated, indexed
 * and compared per call), and prefix arithmetic (containment, overlap) for either family.
 *
 * The parsers are small objects that hold their last result: each user owns one (there is no
 * shared module state), reads the fields right after parse(), and reuses it.
 */
import { parseIPv4, parseIPv6Into, type IpFamily } from './ip';

/**
 * Parses "a.b.c.d" or "a.b.c.d/n" (n 0..32) without slicing.
 *
 * @example
 * ```ts
 * const v4 = new V4PrefixParser();
 * if (v4.parse('10.1.0.0/16')) console.log(v4.address, v4.length);   // 167837696 16
 * ```
 */
export class V4PrefixParser {
  /** The address of the last successful parse, as an unsigned 32-bit number. */
  address = 0;
  /** Its prefix length (32 when the text had none), or -1 after a failed parse. */
  length = -1;
  /** Whether the text had a "/n" part. */
  slashed = false;

  /**
   * Reads s; true when it is exactly a dotted quad with an optional "/n" (no leading zeros, as
   * parseIPv4, so the text is already canonical).
   */
  parse(s: string): boolean {
    const n = s.length;
    this.length = -1;
    if (n < 7 || n > 18) return false;
    const slash = s.indexOf('/');
    const value = parseIPv4(s, slash < 0 ? n : slash);
    if (value < 0) return false;
    this.slashed = slash >= 0;
    if (slash < 0) {
      this.address = value;
      this.length = 32;
      return true;
    }
    // "/n": one or two digits, no leading zero, at most 32.
    const left = n - slash - 1;
    if (left < 1 || left > 2) return false;
    const d0 = s.charCodeAt(slash + 1) - 48;
    if (d0 < 0 || d0 > 9) return false;
    let len = d0;
    if (left === 2) {
      const d1 = s.charCodeAt(slash + 2) - 48;
      if (d0 === 0 || d1 < 0 || d1 > 9) return false;
      len = d0 * 10 + d1;
    }
    if (len > 32) return false;
    this.address = value;
    this.length = len;
    return true;
  }
}

/** Whether an IPv4 address (unsigned 32-bit) has bits set past the prefix length. */
export function v4HostBits(addr: number, len: number): boolean {
  if (len >= 32) return false;
  return ((addr & (0xffffffff >>> len)) >>> 0) !== 0;
}

/**
 * Parses "x::y/n" (n 0..128, no leading zeros) or a bare IPv6 address (/128) into 16 bytes and
 * four big-endian signed 32-bit words, without slicing.
 */
export class V6PrefixParser {
  /** The 16 address bytes of the last successful parse. */
  readonly bytes = Buffer.alloc(16);
  /** The address as four big-endian signed 32-bit words (w0 first). */
  w0 = 0;
  /** Second word. */
  w1 = 0;
  /** Third word. */
  w2 = 0;
  /** Fourth word. */
  w3 = 0;
  /** The prefix length (128 when the text had none), or -1 after a failed parse. */
  length = -1;

  /** Reads s; true when it is exactly an IPv6 literal with an optional "/n". */
  parse(s: string): boolean {
    this.length = -1;
    const slash = s.indexOf('/');
    let len = 128;
    if (slash >= 0) {
      const t = s.length - slash - 1;
      if (t < 1 || t > 3 || (t > 1 && s.charCodeAt(slash + 1) === 48)) return false;
      len = 0;
      for (let i = slash + 1; i < s.length; i++) {
        const d = s.charCodeAt(i) - 48;
        if (d < 0 || d > 9) return false;
        len = len * 10 + d;
      }
      if (len > 128) return false;
    }
    const b = this.bytes;
    if (!parseIPv6Into(s, b, 0, slash >= 0 ? slash : s.length)) return false;
    this.w0 = b.readInt32BE(0);
    this.w1 = b.readInt32BE(4);
    this.w2 = b.readInt32BE(8);
    this.w3 = b.readInt32BE(12);
    this.length = len;
    return true;
  }
}

/** A prefix as bytes and a length: what parsePrefix returns, or any { bytes, prefixLength }. */
export interface PrefixBytes {
  /** 4 or 16 address bytes (bits past the length are ignored here). */
  readonly bytes: Uint8Array;
  /** 0..32 or 0..128. */
  readonly prefixLength: number;
}

/** Whether the first `bits` bits of a and b are equal (both of one family). */
function samePrefixBits(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole] & mask) === (b[whole] & mask);
}

/** Whether an address (4 or 16 bytes) lies inside a prefix; false across families. */
export function prefixContains(prefix: PrefixBytes, address: Uint8Array): boolean {
  return prefix.bytes.length === address.length && samePrefixBits(prefix.bytes, address, prefix.prefixLength);
}

/** An address's bytes as one number (BigInt: IPv6 needs 128 bits). */
export function addressValue(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = 0; i < bytes.length; i++) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/**
 * The first index in sorted `xs` whose value is >= v (addresses and range starts as numbers, see
 * addressValue; IPv4 values may be plain numbers, the values of one array all of one type).
 */
export function lowerBound<T extends bigint | number>(xs: readonly T[], v: T): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A prefix as its first and last address (bits past the length are ignored). */
export function prefixRange(p: PrefixBytes): [bigint, bigint] {
  const host = BigInt(p.bytes.length * 8 - p.prefixLength);
  const start = (addressValue(p.bytes) >> host) << host;
  return [start, start + (1n << host) - 1n];
}

/** Whether `inner` lies entirely inside `outer`; false across families. */
export function prefixCovers(outer: PrefixBytes, inner: PrefixBytes): boolean {
  return (
    outer.bytes.length === inner.bytes.length &&
    inner.prefixLength >= outer.prefixLength &&
    samePrefixBits(outer.bytes, inner.bytes, outer.prefixLength)
  );
}

/** Whether two prefixes share any address; false across families. */
export function prefixesOverlap(a: PrefixBytes, b: PrefixBytes): boolean {
  return a.bytes.length === b.bytes.length && samePrefixBits(a.bytes, b.bytes, Math.min(a.prefixLength, b.prefixLength));
}

/** The family of a prefix or address by its byte length. */
export function familyOfBytes(bytes: Uint8Array): IpFamily {
  return bytes.length === 4 ? 4 : 6;
}
