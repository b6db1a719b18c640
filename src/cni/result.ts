/**
 * The CNI result types and the versions this plugin speaks. Internally a result is the 1.1.0
 * shape; toVersion() writes it in the shape of the configuration's cniVersion (0.3.x and 0.4.0
 * carry `version` on each IP; only 1.1.0 carries an interface's MTU and a route's extra fields),
 * and parseResult() reads a prevResult of any of them back.
 */
import { CniError, CNI_ERR } from './errors';

/** The specification versions this plugin speaks, oldest first. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
/** One of SUPPORTED_VERSIONS. */
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
/** The newest version this plugin speaks (used for errors when the asked one is unknown). */
export const LATEST_VERSION: CniVersion = '1.1.0';

/** True when `v` is a version this plugin speaks. */
export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** True when version `v` is at least `min` (both supported versions). */
export function versionAtLeast(v: CniVersion, min: CniVersion): boolean {
  return SUPPORTED_VERSIONS.indexOf(v) >= SUPPORTED_VERSIONS.indexOf(min);
}

/** An interface the attachment created (the host end, a bridge, the pod end). */
export interface CniInterface {
  /** Its name. */
  name: string;
  /** Its MAC address. */
  mac?: string;
  /** The network namespace path for an interface inside the pod; absent on the host. */
  sandbox?: string;
  /** Its MTU (1.1.0 only). */
  mtu?: number;
}

/** An address given to the pod. */
export interface CniIpConfig {
  /** Address with prefix length, "10.244.1.5/24". */
  address: string;
  /** The subnet's gateway. */
  gateway?: string;
  /** Index into `interfaces` of the interface holding it. */
  interface?: number;
}

/** A route inside the pod. */
export interface CniRoute {
  /** Destination prefix, "0.0.0.0/0". */
  dst: string;
  /** Next hop. */
  gw?: string;
  /** Route MTU (1.1.0 only). */
  mtu?: number;
  /** Route advmss (1.1.0 only). */
  advmss?: number;
  /** Route priority / metric (1.1.0 only). */
  priority?: number;
  /** Routing table (1.1.0 only). */
  table?: number;
  /** Route scope (1.1.0 only). */
  scope?: number;
}

/** DNS settings passed through to the runtime. */
export interface CniDns {
  /** Name servers, in order. */
  nameservers?: string[];
  /** The local domain. */
  domain?: string;
  /** Search domains, in order. */
  search?: string[];
  /** Resolver options. */
  options?: string[];
}

/** A success result, in the 1.1.0 shape. */
export interface CniResult {
  /** The version the result is written for. */
  cniVersion: string;
  /** Interfaces created by the attachment (this plugin's and earlier plugins' of the chain). */
  interfaces?: CniInterface[];
  /** Addresses given. */
  ips?: CniIpConfig[];
  /** Routes set in the pod. */
  routes?: CniRoute[];
  /** DNS settings. */
  dns?: CniDns;
}

const ROUTE_11_KEYS = ['mtu', 'advmss', 'priority', 'table', 'scope'] as const;

/** The result written for version `v`: the fields that version has, in its shape. */
export function toVersion(r: CniResult, v: CniVersion): Record<string, unknown> {
  const v11 = v === '1.1.0';
  const legacy = !versionAtLeast(v, '1.0.0');
  const out: Record<string, unknown> = { cniVersion: v };
  if (r.interfaces) {
    out.interfaces = r.interfaces.map((i) => {
      const o: Record<string, unknown> = { name: i.name };
      if (i.mac !== undefined) o.mac = i.mac;
      if (v11 && i.mtu !== undefined) o.mtu = i.mtu;
      if (i.sandbox !== undefined) o.sandbox = i.sandbox;
      return o;
    });
  }
  if (r.ips) {
    out.ips = r.ips.map((ip) => {
      const o: Record<string, unknown> = {};
      if (legacy) o.version = ip.address.includes(':') ? '6' : '4';
      o.address = ip.address;
      if (ip.gateway !== undefined) o.gateway = ip.gateway;
      if (ip.interface !== undefined) o.interface = ip.interface;
      return o;
    });
  }
  if (r.routes) {
    out.routes = r.routes.map((rt) => {
      const o: Record<string, unknown> = { dst: rt.dst };
      if (rt.gw !== undefined) o.gw = rt.gw;
      if (v11) for (const k of ROUTE_11_KEYS) if (rt[k] !== undefined) o[k] = rt[k];
      return o;
    });
  }
  out.dns = r.dns ?? {};
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optString = (v: unknown) => v === undefined || typeof v === 'string';

/**
 * Reads a result of any supported version (a prevResult) into the 1.1.0 shape. Throws CniError
 * DECODING_FAILURE naming the field that is not what the spec says.
 */
export function parseResult(v: unknown, where = 'prevResult'): CniResult {
  const bad = (path: string, what: string): never => {
    throw new CniError(CNI_ERR.DECODING_FAILURE, `cannot decode ${where}`, `${where}${path}: ${what}`);
  };
  if (!isObject(v)) return bad('', 'expected an object');
  const out: CniResult = { cniVersion: typeof v.cniVersion === 'string' ? v.cniVersion : '' };
  if (v.interfaces !== undefined) {
    if (!Array.isArray(v.interfaces)) bad('.interfaces', 'expected an array');
    out.interfaces = (v.interfaces as unknown[]).map((i, n) => {
      if (!isObject(i) || typeof i.name !== 'string') return bad(`.interfaces[${n}]`, 'expected an object with a name');
      if (!optString(i.mac) || !optString(i.sandbox)) bad(`.interfaces[${n}]`, 'mac and sandbox must be strings');
      const o: CniInterface = { name: i.name };
      if (typeof i.mac === 'string') o.mac = i.mac;
      if (typeof i.sandbox === 'string' && i.sandbox !== '') o.sandbox = i.sandbox;
      if (typeof i.mtu === 'number') o.mtu = i.mtu;
      return o;
    });
  }
  if (v.ips !== undefined) {
    if (!Array.isArray(v.ips)) bad('.ips', 'expected an array');
    out.ips = (v.ips as unknown[]).map((ip, n) => {
      if (!isObject(ip) || typeof ip.address !== 'string') return bad(`.ips[${n}]`, 'expected an object with an address');
      if (!optString(ip.gateway)) bad(`.ips[${n}].gateway`, 'expected a string');
      if (ip.interface !== undefined && (typeof ip.interface !== 'number' || !Number.isInteger(ip.interface) || ip.interface < 0)) {
        bad(`.ips[${n}].interface`, 'expected an index into interfaces');
      }
      const o: CniIpConfig = { address: ip.address };
      if (typeof ip.gateway === 'string') o.gateway = ip.gateway;
      if (typeof ip.interface === 'number') o.interface = ip.interface;
      return o;
    });
  }
  if (v.routes !== undefined) {
    if (!Array.isArray(v.routes)) bad('.routes', 'expected an array');
    out.routes = (v.routes as unknown[]).map((rt, n) => {
      if (!isObject(rt) || typeof rt.dst !== 'string') return bad(`.routes[${n}]`, 'expected an object with a dst');
      if (!optString(rt.gw)) bad(`.routes[${n}].gw`, 'expected a string');
      const o: CniRoute = { dst: rt.dst };
      if (typeof rt.gw === 'string') o.gw = rt.gw;
      for (const k of ROUTE_11_KEYS) if (typeof rt[k] === 'number') o[k] = rt[k] as number;
      return o;
    });
  }
  if (v.dns !== undefined) {
    if (!isObject(v.dns)) bad('.dns', 'expected an object');
    out.dns = v.dns as CniDns;
  }
  return out;
}
