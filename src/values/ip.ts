/**
 * IP address literals: exact parsers and canonical formatters, for either family.
 *
 * These are the hot path of large route tables (100k routes encoded and decoded), so they
 * work on strings and buffers directly instead of building address objects. Validation with
 * user-facing messages is in ./address (Problems-based); these functions only answer
 * "is this exactly a valid literal" and do the conversion.
 */

/** 4 for IPv4 (AF_INET), 6 for IPv6 (AF_INET6). */
export type IpFamily = 4 | 6;

/** Parses a dotted-quad IPv4 literal to an unsigned 32-bit number, or -1 when invalid. With
 * end, only s[0, end) is read (so "a.b.c.d/n" can be parsed without slicing it). */
export function parseIPv4(s: string, end = s.length): number {
  const n = end;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // no leading zeros: "01" is ambiguous (octal)
      part = part * 10 + (c - 48);
      if (part > 255 || ++digits > 3) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** "0".."255" once, so formatting an IPv4 address concatenates four cached strings (100k
 * gateways and prefixes are formatted per route dump). */
const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** Formats the 4 bytes at buf[off] as a dotted quad ("10.0.0.1"). Never throws (no bounds check). */
export function formatIPv4(buf: Uint8Array, off: number): string {
  return DEC[buf[off]] + '.' + DEC[buf[off + 1]] + '.' + DEC[buf[off + 2]] + '.' + DEC[buf[off + 3]];
}

/** The first three octets at off with a trailing dot ("10.1.2."): route dumps cache these. */
export function formatIPv4Head(buf: Uint8Array, off: number): string {
  return DEC[buf[off]] + '.' + DEC[buf[off + 1]] + '.' + DEC[buf[off + 2]] + '.';
}

/** Formats an unsigned 32-bit number (as parseIPv4 returns it) as a dotted quad: 0x0a000001 -> "10.0.0.1". */
export function ipv4FromNumber(v: number): string {
  return DEC[(v >>> 24) & 255] + '.' + DEC[(v >>> 16) & 255] + '.' + DEC[(v >>> 8) & 255] + '.' + DEC[v & 255];
}

/** The value of one hex digit's char code, or -1. */
export function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

// The groups of the literal being parsed (no array per call: 100k routes are parsed per call).
const groups = new Int32Array(8);

/** Parses an IPv6 literal (RFC 4291 text forms, incl. "::" and an embedded IPv4 tail) into
 * 16 bytes at out[off]; returns false when invalid. No zone ids, no brackets. Only
 * s[0, end) is read (a prefix's address part, without slicing it off). */
export function parseIPv6Into(s: string, out: Uint8Array, off: number, end = s.length): boolean {
  const n = end;
  if (n < 2 || n > 45 || n > s.length) return false;
  const dotted = s.indexOf('.') >= 0 && s.indexOf('.') < n; // only then look for an IPv4 tail
  let count = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (n === 2) {
      out.fill(0, off, off + 16);
      return true;
    }
  }
  while (i < n) {
    if (count === 8) return false;
    // An embedded IPv4 tail takes the last two groups.
    const colon = s.indexOf(':', i);
    const rest = dotted && (colon === -1 || colon >= n) ? s.slice(i, n) : '';
    if (rest.includes('.')) {
      const v4 = parseIPv4(rest);
      if (v4 < 0 || count > 6) return false;
      groups[count++] = (v4 >>> 16) & 0xffff;
      groups[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    let v = 0;
    let digits = 0;
    while (i < n) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      if (++digits > 4) return false;
      i++;
    }
    if (digits === 0) return false;
    groups[count++] = v;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === n) {
      return false; // trailing single colon
    }
  }
  if (gap < 0 && count !== 8) return false;
  if (gap >= 0 && count > 7) return false;
  const zeros = 8 - count;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v: number;
    if (gap >= 0 && k >= gap && k < gap + zeros) v = 0;
    else v = groups[g++];
    out[off + 2 * k] = v >>> 8;
    out[off + 2 * k + 1] = v & 255;
  }
  return true;
}

/** Formats 16 bytes as inet_ntop(3) does (RFC 5952: lower case, longest zero run as "::",
 * IPv4-mapped and IPv4-compatible forms with a dotted tail). */
export function formatIPv6(buf: Uint8Array, off: number): string {
  const w = new Array<number>(8);
  for (let k = 0; k < 8; k++) w[k] = (buf[off + 2 * k] << 8) | buf[off + 2 * k + 1];
  // Longest run of zero groups (length >= 2), first wins on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let k = 0; k < 8; ) {
    if (w[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && w[e] === 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  if (bestLen < 2) bestStart = -1;
  // glibc prints ::ffff:a.b.c.d, and ::a.b.c.d when exactly the upper 96 bits are zero.
  const v4Tail = bestStart === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff));
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      out += k === 0 ? '::' : ':';
      k += bestLen - 1;
      continue;
    }
    if (v4Tail && k === 6) {
      out += formatIPv4(buf, off + 12);
      break;
    }
    out += w[k].toString(16);
    if (k < 7) out += ':';
  }
  return out;
}

/** Parses an IP literal of either family: 4 or 16 bytes, or null. */
export function parseIP(s: string): Buffer | null {
  const v4 = parseIPv4(s);
  if (v4 >= 0) {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v4, 0);
    return b;
  }
  const b = Buffer.allocUnsafe(16);
  return parseIPv6Into(s, b, 0) ? b : null;
}

/** Formats 4 bytes as IPv4 or 16 bytes as IPv6 (canonical text); null for any other length. Never throws. */
export function formatIP(buf: Uint8Array, off: number, len: number): string | null {
  if (len === 4) return formatIPv4(buf, off);
  if (len === 16) return formatIPv6(buf, off);
  return null;
}
