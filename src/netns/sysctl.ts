/**
 * Network sysctls of a namespace (forwarding, proxy ARP, rp_filter, ...), set the way sysctl(8)
 * does it: a write to /proc/sys/net/... — but from inside the namespace. Which namespace a
 * /proc/sys/net file belongs to is decided by the thread that opens it, so the open, write and
 * close all happen synchronously on this thread inside Netns.run (never on libuv's thread pool,
 * whose threads stay in the process's own namespace).
 */
import { closeSync, openSync, readFileSync, writeSync, constants as fsConstants } from 'node:fs';
import { Problems } from '../values/problems';
import { errnoOf, NetnsError, netnsErrorFrom, type NetnsOperation } from './errors';
import { nsPath } from './path';
import { runIn } from './run';

/** A sysctl value: booleans are written as 1/0, numbers in decimal, strings as they are. */
export type SysctlValue = string | number | boolean;

/** Several sysctls at once: key (dotted as in sysctl(8), or slashed) to value. */
export type SysctlSettings = Readonly<Record<string, SysctlValue>>;

interface ParsedKey {
  key: string;
  file: string;
}

/**
 * The /proc/sys file of a key, with sysctl(8)'s rule: if the first separator is a dot, dots and
 * slashes swap, so "net.ipv4.conf.eth0/100.proxy_arp" names the device "eth0.100"; if it is a
 * slash, the key is already a path. Only net.* keys: the others are not per-namespace, and
 * writing them "inside" a namespace would change the whole host.
 */
function parseKey(p: Problems, where: string, key: unknown): ParsedKey | undefined {
  if (typeof key !== 'string' || key.length === 0) {
    p.add(where, `expected a sysctl key such as "net.ipv4.ip_forward", got ${JSON.stringify(key)}`);
    return undefined;
  }
  const firstDot = key.indexOf('.');
  const firstSlash = key.indexOf('/');
  const dotted = firstDot >= 0 && (firstSlash < 0 || firstDot < firstSlash);
  const rel = dotted ? key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.')) : key;
  const parts = rel.split('/');
  if (key.includes('\0') || parts.some((c) => c === '' || c === '.' || c === '..')) {
    p.add(where, `${JSON.stringify(key)} is not a sysctl key`);
    return undefined;
  }
  if (parts[0] !== 'net' || parts.length < 2) {
    p.add(where, `${JSON.stringify(key)}: only net.* sysctls belong to a network namespace (others would change the whole host)`);
    return undefined;
  }
  return { key, file: `/proc/sys/${rel}` };
}

function valueText(p: Problems, where: string, v: unknown): string | undefined {
  let text: string | undefined;
  if (typeof v === 'boolean') text = v ? '1' : '0';
  else if (typeof v === 'number' && Number.isFinite(v)) text = String(v);
  else if (typeof v === 'string' && !/[\0\n]/.test(v) && v.length > 0) text = v;
  if (text === undefined) p.add(where, `${JSON.stringify(v)} is not a sysctl value (a non-empty one-line string, a finite number or a boolean)`);
  return text;
}

/** A failure on one key, inside the namespace, as a NetnsError naming both. */
function keyError(e: unknown, operation: NetnsOperation, ns: string, k: ParsedKey, value?: string): unknown {
  const errno = errnoOf(e);
  const code = (e as { code?: unknown }).code;
  const syscall = (e as { syscall?: unknown }).syscall as string | undefined;
  if (errno === undefined) return e;
  if (code === 'ENOENT') return new NetnsError(operation, ns, errno, `no sysctl ${k.key} in this namespace (${k.file})`, syscall, e);
  if (code === 'EACCES' && operation === 'Netns.sysctl') return new NetnsError(operation, ns, errno, `sysctl ${k.key} is read-only`, syscall, e);
  if (code === 'EINVAL' && value !== undefined) {
    return new NetnsError(operation, ns, errno, `the kernel refused ${JSON.stringify(value)} for ${k.key}`, syscall, e);
  }
  return netnsErrorFrom(e, operation, ns, k.file);
}

function writeKey(ns: string, k: ParsedKey, value: string): void {
  let fd: number;
  try {
    // O_WRONLY without O_CREAT: some keys are write-only, and none may be created.
    fd = openSync(k.file, fsConstants.O_WRONLY);
  } catch (e) {
    throw keyError(e, 'Netns.sysctl', ns, k);
  }
  try {
    writeSync(fd, value);
  } catch (e) {
    throw keyError(e, 'Netns.sysctl', ns, k, value);
  } finally {
    closeSync(fd);
  }
}

/**
 * Sets one sysctl (`key`, `value`) or several (`settings`) inside network namespace `ns` (a
 * name under /run/netns or an absolute path), all in one visit to the namespace, in order.
 * Throws ValidationError for a key outside net.* or a bad value (before anything is written);
 * NetnsError ENOENT for a missing namespace or key, EPERM when not privileged, EACCES for a
 * read-only key, EINVAL when the kernel refuses the value. Keys written before a failure stay.
 */
export function setSysctl(ns: string, key: string, value: SysctlValue): void;
export function setSysctl(ns: string, settings: SysctlSettings): void;
export function setSysctl(ns: string, keyOrSettings: string | SysctlSettings, value?: SysctlValue): void {
  const path = nsPath(ns, 'Netns.sysctl');
  const p = new Problems();
  const writes: Array<[ParsedKey, string]> = [];
  const entries: Array<[string, unknown]> =
    typeof keyOrSettings === 'string' ? [[keyOrSettings, value]] : typeof keyOrSettings === 'object' && keyOrSettings !== null ? Object.entries(keyOrSettings) : [];
  if (entries.length === 0) p.add('key', 'expected a sysctl key and value, or an object of them');
  for (const [key, v] of entries) {
    const k = parseKey(p, typeof keyOrSettings === 'string' ? 'key' : key, key);
    const text = valueText(p, typeof keyOrSettings === 'string' ? 'value' : key, v);
    if (k && text !== undefined) writes.push([k, text]);
  }
  p.throwIfAny(`Netns.sysctl ${ns}`);
  runIn('Netns.sysctl', ns, path, () => {
    for (const [k, text] of writes) writeKey(ns, k, text);
  });
}

/**
 * Reads one sysctl inside network namespace `ns`, without its trailing newline ("1").
 * Throws ValidationError for a key outside net.*; NetnsError ENOENT for a missing namespace or
 * key, EPERM when not privileged.
 */
export function readSysctl(ns: string, key: string): string {
  const path = nsPath(ns, 'Netns.readSysctl');
  const p = new Problems();
  const k = parseKey(p, 'key', key);
  p.throwIfAny(`Netns.readSysctl ${ns}`);
  const parsed = k as ParsedKey;
  return runIn('Netns.readSysctl', ns, path, () => {
    try {
      return readFileSync(parsed.file, 'latin1').replace(/\n$/, '');
    } catch (e) {
      throw keyError(e, 'Netns.readSysctl', ns, parsed);
    }
  });
}
