/**
 * The network configuration the runtime passes on stdin: the spec's common fields, this
 * plugin's own (mode, bridge, mtu, ...) and the ipam object with host-local's fields. Parsing
 * needs no I/O and reports every problem at once, naming each field; nothing is created before
 * it succeeds.
 *
 *   {"cniVersion":"1.0.0","name":"podnet","type":"netlink-agent","mode":"bridge","bridge":"cni0",
 *    "ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}}
 */
import { parseAddress, parsePrefix } from '../values/address';
import { checkIfName } from '../values/names';
import { Problems, checkBool, checkInt } from '../values/problems';
import type { IpFamily } from '../rtnl/types';
import { DEFAULT_RUNTIME_FILE } from '../overlay/runtime-file';
import { CniError, CNI_ERR } from './errors';
import { parseRange, rangesOverlap, type IpRange } from './ipam/range';
import { isSupportedVersion, LATEST_VERSION, parseResult, SUPPORTED_VERSIONS, type CniDns, type CniResult, type CniVersion } from './result';

/** How the host side of a pod is wired: to a bridge holding the gateway, or routed with proxy ARP/NDP. */
export type CniMode = 'bridge' | 'routed';

/** A route to set in the pod (host-local's `routes`): gw defaults to the gateway of dst's family. */
export interface PodRoute {
  /** Destination prefix, canonical. */
  dst: string;
  /** 4 or 6. */
  family: IpFamily;
  /** Next hop, canonical; the range's gateway when absent. */
  gw?: string;
}

/** The ipam object, parsed. */
export interface IpamConf {
  /** The range sets (one address from each); undefined: this node's subnet(s) from the runtime file. */
  ranges?: IpRange[][];
  /** Routes for the pod; undefined: a default route per family via its gateway. */
  routes?: PodRoute[];
  /** Where reservations live (host-local's default /var/lib/cni/networks). */
  dataDir: string;
}

/** An attachment the runtime still uses (GC's cni.dev/valid-attachments). */
export interface Attachment {
  /** CNI_CONTAINERID of the attachment. */
  containerID: string;
  /** CNI_IFNAME of the attachment. */
  ifname: string;
}

/** The configuration, parsed, with defaults filled in. */
export interface NetConf {
  /** The spec version of the configuration and of the result. */
  cniVersion: CniVersion;
  /** The network's name (also the reservation directory's). */
  name: string;
  /** The plugin type ("netlink-agent"). */
  type: string;
  /** Host-side wiring; default bridge. */
  mode: CniMode;
  /** The bridge's name (bridge mode); default cni0. */
  bridge: string;
  /** Bridge mode: the bridge holds each range's gateway address and the host forwards; default true. */
  isGateway: boolean;
  /** Bridge mode: let a pod reach itself through a service address (hairpin on the host end); default false. */
  hairpinMode: boolean;
  /** Both veth ends' MTU; default the runtime file's, else the kernel's (1500). */
  mtu?: number;
  /** The overlay agent's runtime file. */
  runtimeFile: string;
  /** IPAM settings. */
  ipam: IpamConf;
  /** DNS settings passed through to the result. */
  dns?: CniDns;
  /** Extra sysctls set inside the pod (net.* keys; "IFNAME" in a key stands for CNI_IFNAME). */
  sysctl: Record<string, string | number | boolean>;
  /** The previous plugin's result (chains, CHECK, DEL). */
  prevResult?: CniResult;
  /** Addresses the runtime asks for (runtimeConfig.ips capability). */
  requestedIps: string[];
  /** GC: the attachments still in use; undefined when the runtime sent none. */
  validAttachments?: Attachment[];
}

/** Where host-local keeps reservations, and so do we unless ipam.dataDir says otherwise. */
export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';

/** The spec's rule for network names and container IDs. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Keys a configuration may carry: the spec's, those runtimes inject, and this plugin's own. */
const KNOWN_KEYS = new Set([
  'cniVersion', 'cniVersions', 'name', 'type', 'args', 'ipMasq', 'capabilities', 'runtimeConfig', 'prevResult', 'dns', 'ipam',
  'disableCheck', 'disableGC', 'cni.dev/valid-attachments', 'cni.dev/attachments',
  'mode', 'bridge', 'isGateway', 'isDefaultGateway', 'hairpinMode', 'mtu', 'runtimeFile', 'sysctl',
]);
const IPAM_KEYS = new Set(['type', 'ranges', 'subnet', 'rangeStart', 'rangeEnd', 'gateway', 'routes', 'dataDir']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v);

/** The cniVersion to answer in, even for a configuration that fails to parse. */
export function versionOf(conf: unknown): CniVersion {
  const v = isObject(conf) ? conf.cniVersion : undefined;
  return isSupportedVersion(v) ? v : LATEST_VERSION;
}

/** Parses stdin's bytes as JSON. Throws CniError DECODING_FAILURE. */
export function decodeConfig(stdin: string): unknown {
  try {
    return JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CNI_ERR.DECODING_FAILURE, 'the network configuration on stdin is not JSON', (e as Error).message);
  }
}

/**
 * Checks a configuration and fills in defaults. Throws CniError: INCOMPATIBLE_VERSION for a
 * cniVersion this plugin does not speak, UNSUPPORTED_FIELD naming an unknown key and its value,
 * INVALID_NETWORK_CONFIG listing every problem with its field, DECODING_FAILURE for a prevResult
 * that is not a result.
 */
export function parseNetConf(conf: unknown): NetConf {
  if (!isObject(conf)) throw new CniError(CNI_ERR.DECODING_FAILURE, 'the network configuration is not a JSON object');
  if (!isSupportedVersion(conf.cniVersion)) {
    throw new CniError(
      CNI_ERR.INCOMPATIBLE_VERSION,
      'incompatible CNI version',
      `cniVersion ${show(conf.cniVersion)} is not one this plugin speaks (${SUPPORTED_VERSIONS.join(', ')})`,
    );
  }
  for (const [k, v] of Object.entries(conf)) {
    if (!KNOWN_KEYS.has(k)) throw new CniError(CNI_ERR.UNSUPPORTED_FIELD, 'unsupported field in the network configuration', `${k}: ${show(v)}`);
  }
  if (conf.ipMasq === true) {
    throw new CniError(CNI_ERR.UNSUPPORTED_FIELD, 'unsupported field in the network configuration', 'ipMasq: true (this plugin sets no firewall rules; chain a masquerading plugin)');
  }
  const p = new Problems();
  if (typeof conf.name !== 'string' || !NAME_RE.test(conf.name)) p.add('name', `${show(conf.name)} is not a network name (a letter or digit, then letters, digits, _ . -)`);
  const mode = conf.mode ?? 'bridge';
  if (mode !== 'bridge' && mode !== 'routed') p.add('mode', `${show(mode)} is not a mode (bridge or routed)`);
  const bridge = conf.bridge ?? 'cni0';
  checkIfName(p, 'bridge', bridge);
  for (const k of ['isGateway', 'isDefaultGateway', 'hairpinMode'] as const) if (conf[k] !== undefined) checkBool(p, k, conf[k]);
  if (conf.mtu !== undefined) checkInt(p, 'mtu', conf.mtu, 68, 65535);
  if (conf.runtimeFile !== undefined && (typeof conf.runtimeFile !== 'string' || !conf.runtimeFile.startsWith('/'))) {
    p.add('runtimeFile', `${show(conf.runtimeFile)} is not an absolute path`);
  }
  const sysctl = parseSysctl(p, conf.sysctl);
  const ipam = parseIpam(p, conf.ipam);
  const dns = conf.dns === undefined ? undefined : parseDns(p, conf.dns);
  const requestedIps = parseRequested(p, conf.runtimeConfig);
  const validAttachments = parseAttachments(p, conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments']);
  throwConfigProblems(p);
  const prevResult = conf.prevResult === undefined ? undefined : parseResult(conf.prevResult);
  return {
    cniVersion: conf.cniVersion,
    name: conf.name as string,
    type: typeof conf.type === 'string' ? conf.type : 'netlink-agent',
    mode: mode as CniMode,
    bridge: bridge as string,
    isGateway: (conf.isGateway ?? true) as boolean,
    hairpinMode: (conf.hairpinMode ?? false) as boolean,
    ...(conf.mtu !== undefined ? { mtu: conf.mtu as number } : {}),
    runtimeFile: (conf.runtimeFile as string | undefined) ?? DEFAULT_RUNTIME_FILE,
    ipam,
    ...(dns ? { dns } : {}),
    sysctl,
    ...(prevResult ? { prevResult } : {}),
    requestedIps,
    ...(validAttachments ? { validAttachments } : {}),
  };
}

/** Turns collected problems into CniError INVALID_NETWORK_CONFIG, every field named in details. */
export function throwConfigProblems(p: Problems): void {
  if (p.ok) return;
  throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, 'invalid network configuration', p.list.map((x) => (x.path ? `${x.path}: ${x.message}` : x.message)).join('; '));
}

function parseIpam(p: Problems, v: unknown): IpamConf {
  if (v === undefined) return { dataDir: DEFAULT_DATA_DIR };
  if (!isObject(v)) {
    p.add('ipam', `expected an object, got ${show(v)}`);
    return { dataDir: DEFAULT_DATA_DIR };
  }
  for (const k of Object.keys(v)) if (!IPAM_KEYS.has(k)) p.add(`ipam.${k}`, `unknown field (expected one of ${[...IPAM_KEYS].join(', ')})`);
  if (v.type !== undefined && v.type !== 'netlink-agent' && v.type !== 'host-local') {
    p.add('ipam.type', `${show(v.type)}: the IPAM is built in (host-local's format); leave type out or say "netlink-agent" or "host-local"`);
  }
  const out: IpamConf = { dataDir: DEFAULT_DATA_DIR };
  if (v.dataDir !== undefined) {
    if (typeof v.dataDir !== 'string' || !v.dataDir.startsWith('/')) p.add('ipam.dataDir', `${show(v.dataDir)} is not an absolute path`);
    else out.dataDir = v.dataDir;
  }
  const legacy = v.subnet !== undefined || v.rangeStart !== undefined || v.rangeEnd !== undefined || v.gateway !== undefined;
  if (legacy && v.ranges !== undefined) p.add('ipam.subnet', 'give either ranges or subnet (with rangeStart, rangeEnd, gateway), not both');
  if (v.ranges !== undefined) out.ranges = parseRangeSets(p, v.ranges);
  else if (legacy) {
    const r = parseRange(p, 'ipam', { subnet: v.subnet, ...pick(v, ['rangeStart', 'rangeEnd', 'gateway']) });
    if (r) out.ranges = [[r]];
  }
  if (v.routes !== undefined) out.routes = parseRoutes(p, v.routes);
  return out;
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function parseRangeSets(p: Problems, v: unknown): IpRange[][] | undefined {
  if (!Array.isArray(v) || v.length === 0) {
    p.add('ipam.ranges', 'expected a non-empty array of range sets ([[{"subnet": "10.244.1.0/24"}]])');
    return undefined;
  }
  const sets: IpRange[][] = [];
  v.forEach((set, i) => {
    const at = `ipam.ranges[${i}]`;
    if (!Array.isArray(set) || set.length === 0) {
      p.add(at, 'expected a non-empty array of ranges');
      return;
    }
    const ranges: IpRange[] = [];
    set.forEach((r, j) => {
      const range = parseRange(p, `${at}[${j}]`, r);
      if (!range) return;
      if (ranges.length && range.family !== ranges[0].family) p.add(`${at}[${j}].subnet`, `IPv${range.family} in a range set of IPv${ranges[0].family} ranges`);
      const other = [...sets.flat(), ...ranges].find((o) => rangesOverlap(o, range));
      if (other) p.add(`${at}[${j}]`, `overlaps the range of ${other.subnet}`);
      ranges.push(range);
    });
    if (ranges.length === set.length) sets.push(ranges);
  });
  return sets.length === v.length ? sets : undefined;
}

function parseRoutes(p: Problems, v: unknown): PodRoute[] | undefined {
  if (!Array.isArray(v)) {
    p.add('ipam.routes', 'expected an array of {dst, gw?}');
    return undefined;
  }
  const out: PodRoute[] = [];
  v.forEach((r, i) => {
    const at = `ipam.routes[${i}]`;
    if (!isObject(r)) {
      p.add(at, `expected {dst, gw?}, got ${show(r)}`);
      return;
    }
    for (const k of Object.keys(r)) if (k !== 'dst' && k !== 'gw') p.add(`${at}.${k}`, 'unknown field (expected dst, gw)');
    const dst = parsePrefix(p, `${at}.dst`, r.dst, 'reject');
    const gw = r.gw === undefined ? undefined : parseAddress(p, `${at}.gw`, r.gw, dst?.family);
    if (dst) out.push({ dst: dst.prefix, family: dst.family, ...(gw ? { gw: gw.text } : {}) });
  });
  return out;
}

function parseDns(p: Problems, v: unknown): CniDns | undefined {
  if (!isObject(v)) {
    p.add('dns', `expected an object, got ${show(v)}`);
    return undefined;
  }
  const out: CniDns = {};
  for (const k of ['nameservers', 'search', 'options'] as const) {
    if (v[k] === undefined) continue;
    if (!Array.isArray(v[k]) || !(v[k] as unknown[]).every((s) => typeof s === 'string')) p.add(`dns.${k}`, 'expected an array of strings');
    else out[k] = v[k] as string[];
  }
  if (v.domain !== undefined) {
    if (typeof v.domain !== 'string') p.add('dns.domain', 'expected a string');
    else out.domain = v.domain;
  }
  return out;
}

function parseSysctl(p: Problems, v: unknown): Record<string, string | number | boolean> {
  if (v === undefined) return {};
  if (!isObject(v)) {
    p.add('sysctl', `expected an object of net.* keys, got ${show(v)}`);
    return {};
  }
  for (const [k, val] of Object.entries(v)) {
    if (!k.startsWith('net.')) p.add(`sysctl.${k}`, 'only net.* sysctls belong to the pod\'s namespace');
    if (!['string', 'number', 'boolean'].includes(typeof val)) p.add(`sysctl.${k}`, `${show(val)} is not a sysctl value`);
  }
  return v as Record<string, string | number | boolean>;
}

function parseRequested(p: Problems, rc: unknown): string[] {
  if (!isObject(rc) || rc.ips === undefined) return [];
  if (!Array.isArray(rc.ips)) {
    p.add('runtimeConfig.ips', 'expected an array of addresses');
    return [];
  }
  const out: string[] = [];
  rc.ips.forEach((ip, i) => {
    // The ips capability allows "10.0.0.5/24": the prefix is the range's, only the address counts.
    const text = typeof ip === 'string' ? ip.split('/')[0] : ip;
    const a = parseAddress(p, `runtimeConfig.ips[${i}]`, text);
    if (a) out.push(a.text);
  });
  return out;
}

function parseAttachments(p: Problems, v: unknown): Attachment[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    p.add('cni.dev/valid-attachments', 'expected an array of {containerID, ifname}');
    return undefined;
  }
  const out: Attachment[] = [];
  v.forEach((a, i) => {
    if (!isObject(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string') p.add(`cni.dev/valid-attachments[${i}]`, 'expected {containerID, ifname}');
    else out.push({ containerID: a.containerID, ifname: a.ifname });
  });
  return out;
}

/** The spec's rule for a container ID (CNI_CONTAINERID). */
export function isContainerId(v: string): boolean {
  return NAME_RE.test(v);
}
