/**
 * Validation of specs before anything reaches the kernel. Every check appends to a Problems
 * list instead of throwing, so one call can report every problem of a spec (or of a whole
 * desired state) at once.
 *
 * IPv4 literals go through a fast exact parser (large route tables validate 100k of them);
 * everything else is checked with ip-address, and all addresses are returned in the canonical
 * form the kernel's replies are printed in, so specs and read-back objects compare equal.
 */
import type { Address6 as Address6Class } from 'ip-address';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6Into, parseMacInto } from '../wire/ip';
import type { DeviceRef, IpFamily } from './types';

/** One reason a spec was refused: where in the input, and what is wrong there. */
export interface Problem {
  /** Where: "routes[3].via", "links[0].vni". */
  path: string;
  /** What is wrong, e.g. '"10.0.0.1/24" has bits set past /24 (did you mean 10.0.0.0/24?)'. */
  message: string;
}

/**
 * A spec was refused before any request was sent. `problems` lists every reason.
 *
 * @example
 * ```ts
 * try {
 *   await nl.routes.add({ dst: '10.0.0.1/24', via: 'nope' });
 * } catch (e) {
 *   if (e instanceof ValidationError) for (const p of e.problems) console.log(p.path, p.message);
 * }
 * ```
 */
export class ValidationError extends Error {
  /** Always 'ValidationError'. */
  override readonly name = 'ValidationError';
  /** Always 'ERR_NETLINK_INVALID'. */
  readonly code = 'ERR_NETLINK_INVALID';
  constructor(
    readonly problems: Problem[],
    what = 'invalid input',
  ) {
    super(`${what}: ${problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ')}`);
  }
}

/**
 * An accumulator of validation problems: every check appends here instead of throwing, and
 * throwIfAny() turns the lot into one ValidationError.
 *
 * @example
 * ```ts
 * const p = new Problems();
 * checkInt(p, 'vni', spec.vni, 1, 0xffffff);
 * checkMac(p, 'address', spec.address);
 * p.throwIfAny('links.add');   // ValidationError listing both, if both are wrong
 * ```
 */
export class Problems {
  /** The problems so far, in the order found. */
  readonly list: Problem[] = [];
  /** Records one problem at `path`. Never throws. */
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
  /** True while no problem has been recorded. */
  get ok(): boolean {
    return this.list.length === 0;
  }
  /** Throws one ValidationError naming every problem, if there are any. */
  throwIfAny(what: string): void {
    if (this.list.length) throw new ValidationError(this.list, what);
  }
}

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

const show = (v: unknown) => JSON.stringify(v);

let address6: typeof Address6Class | undefined;
/** ip-address, loaded on the first IPv6 literal: a short-lived process such as the CNI plugin that
 * only sees IPv4 never pays its ~15 ms of loading. */
function Address6(): typeof Address6Class {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (address6 ??= (require('ip-address') as typeof import('ip-address')).Address6);
}

/**
 * An IP address literal, either family (or only `family`, when given). Returns it parsed and
 * canonical, or undefined after adding a problem at `path`; never throws.
 */
export function parseAddress(p: Problems, path: string, v: unknown, family?: IpFamily): ParsedAddress | undefined {
  if (typeof v !== 'string') {
    p.add(path, `expected an IP address string, got ${show(v)}`);
    return undefined;
  }
  const v4 = parseIPv4(v);
  let out: ParsedAddress | undefined;
  if (v4 >= 0) {
    const bytes = Buffer.allocUnsafe(4);
    bytes.writeUInt32BE(v4, 0);
    out = { family: 4, bytes, text: formatIPv4(bytes, 0) };
  } else if (v.includes(':')) {
    const bytes = Buffer.alloc(16);
    if (Address6().isValid(v) && !v.includes('%') && !v.includes('/') && parseIPv6Into(v, bytes, 0)) {
      out = { family: 6, bytes, text: formatIPv6(bytes, 0) };
    }
  }
  if (!out) {
    p.add(path, `${show(v)} is not an IPv4 or IPv6 address`);
    return undefined;
  }
  if (family && out.family !== family) {
    p.add(path, `${show(v)} is IPv${out.family}, expected IPv${family}`);
    return undefined;
  }
  return out;
}

/**
 * "a.b.c.d/n" or "x::/n"; a bare address means a host prefix (/32, /128). With
 * hostBits 'reject' (routes), bits set past the prefix length are an error, as the kernel
 * would say; with 'keep' (interface addresses) they are the address itself.
 */
export function parsePrefix(
  p: Problems,
  path: string,
  v: unknown,
  hostBits: 'reject' | 'keep',
  family?: IpFamily,
): ParsedPrefix | undefined {
  if (typeof v !== 'string') {
    p.add(path, `expected a prefix string like "10.0.0.0/24", got ${show(v)}`);
    return undefined;
  }
  const slash = v.indexOf('/');
  const addrText = slash < 0 ? v : v.slice(0, slash);
  const before = p.list.length;
  const a = parseAddress(p, path, addrText, family);
  if (!a) {
    if (p.list.length > before) p.list[p.list.length - 1].message = `${show(v)} is not a valid prefix`;
    return undefined;
  }
  const max = a.family === 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const lenText = v.slice(slash + 1);
    len = /^(0|[1-9][0-9]{0,2})$/.test(lenText) ? Number(lenText) : -1;
    if (len < 0 || len > max) {
      p.add(path, `${show(v)}: prefix length must be 0..${max}`);
      return undefined;
    }
  }
  if (hostBits === 'reject' && hasHostBits(a.bytes, len)) {
    p.add(path, `${show(v)} has bits set past /${len} (did you mean ${maskedText(a, len)}/${len}?)`);
    return undefined;
  }
  return { ...a, prefixLength: len, prefix: `${a.text}/${len}` };
}

function hasHostBits(bytes: Buffer, len: number): boolean {
  for (let bit = len; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) return true;
  }
  return false;
}

function maskedText(a: ParsedAddress, len: number): string {
  const b = Buffer.from(a.bytes);
  for (let bit = len; bit < b.length * 8; bit++) b[bit >> 3] &= ~(0x80 >> (bit & 7));
  return a.family === 4 ? formatIPv4(b, 0) : formatIPv6(b, 0);
}

/**
 * A MAC address ("aa:bb:cc:dd:ee:ff", '-' separators accepted). Returns it lower-case with ':'
 * separators, or undefined after adding a problem at `path`; never throws.
 */
export function checkMac(p: Problems, path: string, v: unknown): string | undefined {
  const b = Buffer.alloc(6);
  if (typeof v !== 'string' || !parseMacInto(v, b, 0)) {
    p.add(path, `${show(v)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
    return undefined;
  }
  return v.toLowerCase().replace(/-/g, ':');
}

/** Interface names: 1..15 bytes, no '/', ':' or whitespace, not "." or "..". Adds a problem and returns false otherwise. */
export function checkIfName(p: Problems, path: string, v: unknown): boolean {
  if (typeof v !== 'string' || v.length === 0) {
    p.add(path, `expected an interface name, got ${show(v)}`);
    return false;
  }
  if (Buffer.byteLength(v) > 15) {
    p.add(path, `${show(v)} is longer than 15 bytes (IFNAMSIZ)`);
    return false;
  }
  if (/[/:\s]/.test(v) || v === '.' || v === '..') {
    p.add(path, `${show(v)} is not a valid interface name (no '/', ':' or spaces)`);
    return false;
  }
  return true;
}

/**
 * A DeviceRef: an interface index (1..2^31-1) or a valid interface name (see checkIfName).
 * Adds a problem at `path` and returns false otherwise; never throws.
 */
export function checkDevice(p: Problems, path: string, v: unknown): v is DeviceRef {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v > 0 && v <= 0x7fffffff) return true;
    p.add(path, `${show(v)} is not an interface index`);
    return false;
  }
  return checkIfName(p, path, v);
}

/** An integer in min..max inclusive. Adds a problem at `path` and returns false otherwise; never throws. */
export function checkInt(p: Problems, path: string, v: unknown, min: number, max: number): v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    p.add(path, `${show(v)} must be an integer in ${min}..${max}`);
    return false;
  }
  return true;
}

/** A boolean. Adds a problem at `path` and returns false otherwise; never throws. */
export function checkBool(p: Problems, path: string, v: unknown): v is boolean {
  if (typeof v !== 'boolean') {
    p.add(path, `${show(v)} must be true or false`);
    return false;
  }
  return true;
}

/** Checks that an object has no keys outside `allowed` (typos would otherwise be ignored). */
export function checkKeys(p: Problems, path: string, v: object, allowed: readonly string[]): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) p.add(path ? `${path}.${k}` : k, `unknown field (expected one of ${allowed.join(', ')})`);
  }
}

/** A namespace given as a name under /run/netns or as a path. */
export function netnsPath(v: string): string {
  return v.includes('/') ? v : `/run/netns/${v}`;
}

/**
 * A namespace reference: a non-empty name under /run/netns (not "." or "..") or a path. Only the
 * form is checked, not that it exists. Adds a problem at `path` and returns false otherwise.
 */
export function checkNetns(p: Problems, path: string, v: unknown): boolean {
  if (typeof v !== 'string' || v.length === 0 || (!v.includes('/') && (v === '.' || v === '..'))) {
    p.add(path, `${show(v)} is not a namespace name or path`);
    return false;
  }
  return true;
}
