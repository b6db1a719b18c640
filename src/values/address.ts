/**
 * IP addresses and prefixes as users write them, checked into canonical form with problems
 * reported (not thrown). IPv4 literals go through the exact fast parser (large route tables
 * validate 100k of them); IPv6 through ip-address plus the exact parser, and both come back
 * in the canonical text the kernel's replies are printed in, so specs and read-back objects
 * compare equal.
 */
import type { Address6 as Address6Class } from 'ip-address';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6Into, type IpFamily } from './ip';
import { describeValue, type Problems } from './problems';

/** An IP address literal after parseAddress(): family, bytes and canonical text. */
export interface ParsedAddress {
  /** 4 or 6. */
  family: IpFamily;
  /** 4 or 16 bytes. */
  bytes: Buffer;
  /** Canonical text. */
  text: string;
}

/** A prefix after parsePrefix(): the address plus its length. */
export interface ParsedPrefix extends ParsedAddress {
  /** 0..32 or 0..128. */
  prefixLength: number;
  /** "text/prefixLength". */
  prefix: string;
}

let address6: typeof Address6Class | undefined;
/** ip-address, loaded on the first IPv6 literal: a short-lived process such as the CNI plugin that
 * only sees IPv4 never pays its ~15 ms of loading. */
function Address6(): typeof Address6Class {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (address6 ??= (require('ip-address') as typeof import('ip-address')).Address6);
}

/** An IP literal as family, bytes and canonical text, or undefined when it is not exactly one. */
export function readAddress(v: string): ParsedAddress | undefined {
  const v4 = parseIPv4(v);
  if (v4 >= 0) {
    const bytes = Buffer.allocUnsafe(4);
    bytes.writeUInt32BE(v4, 0);
    return { family: 4, bytes, text: v }; // parseIPv4 takes the canonical dotted quad only
  }
  if (!v.includes(':')) return undefined;
  const bytes = Buffer.alloc(16);
  if (Address6().isValid(v) && !v.includes('%') && !v.includes('/') && parseIPv6Into(v, bytes, 0)) {
    return { family: 6, bytes, text: formatIPv6(bytes, 0) };
  }
  return undefined;
}

/**
 * An IP address literal, either family (or only `family`, when given). Returns it parsed and
 * canonical, or undefined after adding a problem at `path`; never throws.
 */
export function parseAddress(p: Problems, path: string, v: unknown, family?: IpFamily): ParsedAddress | undefined {
  if (typeof v !== 'string') {
    p.add(path, `expected an IP address string, got ${describeValue(v)}`);
    return undefined;
  }
  const out = readAddress(v);
  if (!out) {
    p.add(path, `${describeValue(v)} is not an IPv4 or IPv6 address`);
    return undefined;
  }
  if (family && out.family !== family) {
    p.add(path, `${describeValue(v)} is IPv${out.family}, expected IPv${family}`);
    return undefined;
  }
  return out;
}

/**
 * parseAddress() for a check alone: the same problems, and nothing made for an IPv4 literal
 * (specs by the ten thousand are checked per cycle). Returns whether v is an address.
 */
export function checkAddress(p: Problems, path: string, v: unknown, family?: IpFamily): boolean {
  if (typeof v === 'string' && family !== 6 && parseIPv4(v) >= 0) return true;
  return parseAddress(p, path, v, family) !== undefined;
}

/**
 * "a.b.c.d/n" or "x::/n"; a bare address means a host prefix (/32, /128). With
 * hostBits 'reject' (routes), bits set past the prefix length are an error, as the kernel
 * would say; with 'keep' (interface addresses) they are the address itself.
 */
export function parsePrefix(p: Problems, path: string, v: unknown, hostBits: 'reject' | 'keep', family?: IpFamily): ParsedPrefix | undefined {
  if (typeof v !== 'string') {
    p.add(path, `expected a prefix string like "10.0.0.0/24", got ${describeValue(v)}`);
    return undefined;
  }
  const slash = v.indexOf('/');
  const addrText = slash < 0 ? v : v.slice(0, slash);
  const a = readAddress(addrText);
  if (!a) {
    p.add(path, `${describeValue(v)} is not a valid prefix`);
    return undefined;
  }
  if (family && a.family !== family) {
    p.add(path, `${describeValue(v)} is IPv${a.family}, expected IPv${family}`);
    return undefined;
  }
  const max = a.family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const lenText = v.slice(slash + 1);
    len = /^(0|[1-9][0-9]{0,2})$/.test(lenText) ? Number(lenText) : -1;
    if (len < 0 || len > max) {
      p.add(path, `${describeValue(v)}: prefix length must be 0..${max}`);
      return undefined;
    }
  }
  if (hostBits === 'reject' && hasHostBits(a.bytes, len)) {
    p.add(path, `${describeValue(v)} has bits set past /${len} (did you mean ${maskedText(a, len)}/${len}?)`);
    return undefined;
  }
  return { ...a, prefixLength: len, prefix: `${a.text}/${len}` };
}

/** Whether bits past `len` are set in an address's bytes. */
export function hasHostBits(bytes: Uint8Array, len: number): boolean {
  for (let bit = len; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) return true;
  }
  return false;
}

/** The address with the bits past `len` cleared, as canonical text. */
export function maskedText(a: ParsedAddress, len: number): string {
  const b = Buffer.from(a.bytes);
  for (let bit = len; bit < b.length * 8; bit++) b[bit >> 3] &= ~(0x80 >> (bit & 7));
  return a.family === 4 ? formatIPv4(b, 0) : formatIPv6(b, 0);
}

/**
 * An address family as users write it: 4 or 6, the kernel's AF_INET (2) or AF_INET6 (10), or
 * iproute2's words 'inet' / 'inet6' (also 'ipv4' / 'ipv6'). Returns 4 or 6, or undefined after
 * adding a problem at `path`; never throws.
 */
export function parseFamily(p: Problems, path: string, v: unknown): IpFamily | undefined {
  const f = familyOf(v);
  if (f === undefined) p.add(path, `${describeValue(v)} is not an address family (4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10)`);
  return f;
}

/** The family a value names (see parseFamily), or undefined. */
export function familyOf(v: unknown): IpFamily | undefined {
  switch (v) {
    case 4:
    case 2:
    case 'inet':
    case 'ipv4':
      return 4;
    case 6:
    case 10:
    case 'inet6':
    case 'ipv6':
      return 6;
  }
  return undefined;
}

/** Whether an address is multicast (224.0.0.0/4, ff00::/8). */
export function isMulticast(a: ParsedAddress): boolean {
  return a.family === 4 ? a.bytes[0] >= 224 && a.bytes[0] <= 239 : a.bytes[0] === 0xff;
}

/** Whether an address is all zeros (0.0.0.0, ::). */
export function isUnspecified(a: ParsedAddress): boolean {
  return a.bytes.every((x) => x === 0);
}

/** Whether an address is loopback (127.0.0.0/8, ::1). */
export function isLoopback(a: ParsedAddress): boolean {
  if (a.family === 4) return a.bytes[0] === 127;
  for (let i = 0; i < 15; i++) if (a.bytes[i] !== 0) return false;
  return a.bytes[15] === 1;
}

/** Whether an IPv6 address is link-local (fe80::/10); false for IPv4. */
export function isLinkLocal6(a: ParsedAddress): boolean {
  return a.family === 6 && a.bytes[0] === 0xfe && (a.bytes[1] & 0xc0) === 0x80;
}

/** Whether an IPv6 address is IPv4-mapped (::ffff:a.b.c.d); false for IPv4. */
export function isV4Mapped(a: ParsedAddress): boolean {
  if (a.family !== 6) return false;
  for (let i = 0; i < 10; i++) if (a.bytes[i] !== 0) return false;
  return a.bytes[10] === 0xff && a.bytes[11] === 0xff;
}

/** The canonical text of an IP literal, or undefined when it is not one. */
export function canonicalIP(s: string): string | undefined {
  return readAddress(s)?.text;
}
