/**
 * Allocation-free address helpers for the route hot paths (100k routes are validated, encoded
 * and decoded per call). They work on the string and the buffer directly; anything that is
 * not a plain dotted-quad IPv4 literal falls back to the general parsers in wire/ip.
 */
import { parseIPv4, parseIPv6Into } from '../../wire/ip';

/** "0".."255" once, so formatting an IPv4 address concatenates four cached strings. */
const DEC: string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** Formats 4 bytes at off as a dotted quad (the same text as wire/ip formatIPv4). */
export function fmt4(buf: Uint8Array, off: number): string {
  return DEC[buf[off]] + '.' + DEC[buf[off + 1]] + '.' + DEC[buf[off + 2]] + '.' + DEC[buf[off + 3]];
}

/** The first three octets at off with a trailing dot ("10.1.2."). */
export function fmt3(buf: Uint8Array, off: number): string {
  return DEC[buf[off]] + '.' + DEC[buf[off + 1]] + '.' + DEC[buf[off + 2]] + '.';
}

/** Formats an unsigned 32-bit IPv4 address. */
export function fmt4n(v: number): string {
  return DEC[(v >>> 24) & 255] + '.' + DEC[(v >>> 16) & 255] + '.' + DEC[(v >>> 8) & 255] + '.' + DEC[v & 255];
}

/** The prefix length found by the last parseV4Prefix call (32 when the text had none). */
export let v4PrefixLen = -1;

/**
 * Parses "a.b.c.d" or "a.b.c.d/n" (n 0..32) without slicing: returns the address as an
 * unsigned 32-bit number and sets v4PrefixLen, or returns -1 when the text is not exactly
 * that (no leading zeros, as wire/ip parseIPv4, so the text is already canonical).
 */
export function parseV4Prefix(s: string): number {
  const n = s.length;
  v4PrefixLen = -1;
  if (n < 7 || n > 18) return -1;
  const slash = s.indexOf('/');
  const value = parseIPv4(s, slash < 0 ? n : slash);
  if (value < 0) return -1;
  if (slash < 0) {
    v4PrefixLen = 32;
    return value;
  }
  // "/n": one or two digits, no leading zero, at most 32.
  const left = n - slash - 1;
  if (left < 1 || left > 2) return -1;
  const d0 = s.charCodeAt(slash + 1) - 48;
  if (d0 < 0 || d0 > 9) return -1;
  let len = d0;
  if (left === 2) {
    const d1 = s.charCodeAt(slash + 2) - 48;
    if (d0 === 0 || d1 < 0 || d1 > 9) return -1;
    len = d0 * 10 + d1;
  }
  if (len > 32) return -1;
  v4PrefixLen = len;
  return value;
}

/** Whether an IPv4 address has bits set past the prefix length. */
export function v4HostBits(addr: number, len: number): boolean {
  if (len >= 32) return false;
  return ((addr & (0xffffffff >>> len)) >>> 0) !== 0;
}

/**
 * Parses "x::y/n" (n 0..128, no leading zeros) or a bare IPv6 address (/128) into 16 bytes at
 * out[off] without slicing; returns the prefix length, or -1 when the text is not exactly that.
 */
export function parseV6Prefix(s: string, out: Uint8Array, off: number): number {
  const slash = s.indexOf('/');
  let len = 128;
  if (slash >= 0) {
    const t = s.length - slash - 1;
    if (t < 1 || t > 3 || (t > 1 && s.charCodeAt(slash + 1) === 48)) return -1;
    len = 0;
    for (let i = slash + 1; i < s.length; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return -1;
      len = len * 10 + d;
    }
    if (len > 128) return -1;
  }
  return parseIPv6Into(s, out, off, slash >= 0 ? slash : s.length) ? len : -1;
}
