/**
 * The runtime file: what `netlink-agent overlay` tells the node's CNI plugin about the pod network,
 * as flannel's subnet.env does, in JSON. Written atomically (a temporary file renamed over it, so a
 * reader sees the old or the new file, never half of one) and never removed: a plugin started
 * while the agent restarts still finds the node's subnet.
 *
 *   {"version":1,"node":"host1","mode":"vxlan","networks":["10.244.0.0/16"],
 *    "subnets":["10.244.1.0/24"],"mtu":1450}
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DesiredState } from '../reconcile/types';
import { parsePrefix } from '../values/address';
import { Problems, checkInt } from '../values/problems';

/** Where `netlink-agent overlay` writes the file by default, and where the CNI plugin looks. */
export const DEFAULT_RUNTIME_FILE = '/run/netlink-agent/network.json';

/** The content of the runtime file. */
export interface RuntimeInfo {
  /** Format version: 1. */
  version: 1;
  /** This node's name. */
  node: string;
  /** The overlay mode (host-gw, ipip, vxlan, hybrid). */
  mode: string;
  /** The whole pod network(s), when known (the cluster CIDR), one per family. */
  networks: string[];
  /** This node's pod subnet(s), one per family: the CNI plugin hands out addresses from them. */
  subnets: string[];
  /** The MTU pods should use: the tunnel's MTU, or the underlay's in host-gw. */
  mtu: number;
}

/** Checks a RuntimeInfo (read from disk or about to be written); throws ValidationError naming the field. */
export function validateRuntimeInfo(v: unknown, what = 'runtime file'): RuntimeInfo {
  const p = new Problems();
  const o = (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  if (o !== v) p.add('', 'expected a JSON object');
  if (o.version !== 1) p.add('version', `expected 1, got ${JSON.stringify(o.version)}`);
  if (typeof o.node !== 'string' || !o.node) p.add('node', 'expected the node name');
  if (typeof o.mode !== 'string' || !o.mode) p.add('mode', 'expected the overlay mode');
  for (const key of ['networks', 'subnets'] as const) {
    const list = o[key];
    if (!Array.isArray(list)) p.add(key, 'expected an array of prefixes');
    else list.forEach((s, i) => parsePrefix(p, `${key}[${i}]`, s, 'reject'));
  }
  if (Array.isArray(o.subnets) && o.subnets.length === 0) p.add('subnets', 'expected at least this node\'s pod subnet');
  checkInt(p, 'mtu', o.mtu, 68, 65535);
  p.throwIfAny(what);
  return o as unknown as RuntimeInfo;
}

/**
 * Writes the file atomically: the content goes to a temporary file in the same directory (made
 * if missing), is flushed to disk, and is renamed over `path`. Throws ValidationError for bad
 * content (nothing written), a Node-style error when the file system refuses.
 */
export function writeRuntimeFile(path: string, info: RuntimeInfo): void {
  validateRuntimeInfo(info, `runtime file ${path}`);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(info)}\n`);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
}

/**
 * Reads and checks the file. Returns undefined when it does not exist; throws ValidationError for
 * bad content, SyntaxError for JSON that does not parse, a Node-style error for other failures.
 */
export function readRuntimeFile(path: string): RuntimeInfo | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return validateRuntimeInfo(JSON.parse(text), `runtime file ${path}`);
}

/**
 * The MTU pods of a node should use: the smallest MTU of the tunnel links in the node's desired
 * state (vxlan, ipip), or the underlay's when the mode has none (host-gw).
 */
export function podMtu(desired: DesiredState, underlayMtu: number): number {
  let mtu = underlayMtu;
  for (const l of desired.links ?? []) if (l.mtu !== undefined && l.mtu < mtu) mtu = l.mtu;
  return mtu;
}
