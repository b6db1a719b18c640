/**
 * Interface addresses (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR, struct ifaddrmsg).
 *
 * Requests are laid out as `ip addr` lays them out (IFA_LOCAL, IFA_LABEL, IFA_FLAGS,
 * IFA_ADDRESS, IFA_BROADCAST), so the bytes compare equal to iproute2's: IFA_LOCAL is the
 * address of this host, IFA_ADDRESS the peer of a point-to-point link or the same address again.
 */
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../wire/constants';
import { NetlinkParseError } from '../wire/errors';
import { parseIPv4 } from '../values/ip';
import { forEachAttr, readIP, readString, readU32, type MessageView } from '../wire/reader';
import type { MessageWriter } from '../wire/writer';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFADDRMSG_LEN,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_FLAGS,
  IFA_F_NODAD,
  IFA_F_NOPREFIXROUTE,
  IFA_F_PERMANENT,
  IFA_LABEL,
  IFA_LOCAL,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  RT_SCOPE_HOST,
} from './constants';
import type { RtnlContext } from './context';
import { isReadBack } from './ndmsg';
import { SCOPES, lookup } from './names';
import type { Address, AddressFilter, AddressSpec, IpFamily } from './types';
import { checkDevice } from './validate';
import { parseAddress, parsePrefix } from '../values/address';
import { Problems, checkBool, checkInt, checkKeys } from '../values/problems';

const SPEC_KEYS = ['dev', 'address', 'peer', 'broadcast', 'label', 'scope', 'noprefixroute', 'nodad'] as const;
const FILTER_KEYS = ['dev', 'family'] as const;

/**
 * Checks an AddressSpec, appending every problem to p (under path). Returns whether it is valid.
 * IPv4-only fields (broadcast, label, scope) are refused for IPv6, where the kernel ignores them
 * (it derives an IPv6 address's scope from the address itself), and nodad for IPv4, which has no DAD.
 */
export function validateAddressSpec(p: Problems, path: string, x: unknown): boolean {
  const before = p.list.length;
  const at = (k: string) => (path ? `${path}.${k}` : k);
  if (typeof x !== 'object' || x === null || Array.isArray(x)) {
    p.add(path, `expected an address spec object, got ${JSON.stringify(x)}`);
    return false;
  }
  const a = x as Record<string, unknown>;
  checkKeys(p, path, a, SPEC_KEYS);
  if (a.dev === undefined) p.add(at('dev'), 'required (a device name or index)');
  else checkDevice(p, at('dev'), a.dev);
  let family: IpFamily | undefined;
  if (a.address === undefined) p.add(at('address'), 'required, e.g. "192.168.10.1/32"');
  else family = parsePrefix(p, at('address'), a.address, 'keep')?.family;
  if (a.peer !== undefined) parseAddress(p, at('peer'), a.peer, family);
  if (a.broadcast !== undefined) {
    if (family === 6) p.add(at('broadcast'), 'IPv6 has no broadcast addresses');
    else parseAddress(p, at('broadcast'), a.broadcast, 4);
  }
  if (a.label !== undefined) {
    if (family === 6) p.add(at('label'), 'labels are IPv4 only (the kernel ignores them for IPv6)');
    else if (typeof a.label !== 'string' || a.label.length === 0 || Buffer.byteLength(a.label) > 15) {
      p.add(at('label'), `${JSON.stringify(a.label)} must be a string of 1..15 bytes (IFNAMSIZ)`);
    }
  }
  if (a.scope !== undefined) {
    if (family === 6) p.add(at('scope'), 'the kernel derives an IPv6 address\'s scope from the address; leave it out');
    else if (typeof a.scope === 'string') {
      if (lookup(SCOPES, a.scope) === undefined) {
        p.add(at('scope'), `unknown scope ${JSON.stringify(a.scope)} (expected ${Object.keys(SCOPES).join(', ')} or 0..255)`);
      }
    } else checkInt(p, at('scope'), a.scope, 0, 255);
  }
  if (a.noprefixroute !== undefined) checkBool(p, at('noprefixroute'), a.noprefixroute);
  if (a.nodad !== undefined) {
    if (checkBool(p, at('nodad'), a.nodad) && a.nodad && family === 4) {
      p.add(at('nodad'), 'duplicate address detection is IPv6 only');
    }
  }
  return p.list.length === before;
}

function validateFilter(p: Problems, f: unknown): void {
  if (typeof f !== 'object' || f === null) {
    p.add('filter', `expected a filter object, got ${JSON.stringify(f)}`);
    return;
  }
  const o = f as Record<string, unknown>;
  checkKeys(p, 'filter', o, FILTER_KEYS);
  if (o.dev !== undefined) checkDevice(p, 'filter.dev', o.dev);
  if (o.family !== undefined && o.family !== 4 && o.family !== 6) p.add('filter.family', `${JSON.stringify(o.family)} must be 4 or 6`);
}

/** The IFA_F_* bits a spec asks for. */
function specFlags(a: AddressSpec): number {
  return (a.nodad ? IFA_F_NODAD : 0) | (a.noprefixroute ? IFA_F_NOPREFIXROUTE : 0);
}

/**
 * Writes one RTM_NEWADDR / RTM_DELADDR request for a validated spec on interface devIndex.
 * Flags that fit in 8 bits go in ifa_flags, wider ones in IFA_FLAGS (u32), as iproute2 does.
 * The scope defaults to host for 127.0.0.0/8 (as `ip addr add` chooses) and universe otherwise.
 */
export function encodeAddress(w: MessageWriter, type: number, flags: number, a: AddressSpec, devIndex: number): void {
  const slash = a.address.indexOf('/');
  const local = slash < 0 ? a.address : a.address.slice(0, slash);
  const v4 = parseIPv4(local);
  const family = v4 >= 0 ? AF_INET : AF_INET6;
  const plen = slash < 0 ? (v4 >= 0 ? 32 : 128) : Number(a.address.slice(slash + 1));
  let scope = 0;
  if (a.scope !== undefined) scope = lookup(SCOPES, a.scope) ?? 0;
  else if (type !== RTM_DELADDR && v4 >= 0 && v4 >>> 24 === 127) scope = RT_SCOPE_HOST;
  const ifaFlags = specFlags(a);
  w.begin(type, flags);
  const off = w.reserve(IFADDRMSG_LEN);
  w.buf[off] = family;
  w.buf[off + 1] = plen;
  w.buf[off + 2] = ifaFlags <= 0xff ? ifaFlags : 0;
  w.buf[off + 3] = scope;
  w.buf.writeUInt32LE(devIndex, off + 4);
  w.ip(IFA_LOCAL, local);
  if (a.label !== undefined) w.string(IFA_LABEL, a.label);
  if (ifaFlags > 0xff) w.u32(IFA_FLAGS, ifaFlags);
  w.ip(IFA_ADDRESS, a.peer ?? local);
  if (a.broadcast !== undefined) w.ip(IFA_BROADCAST, a.broadcast);
  w.end();
}

/** Writes an RTM_GETADDR dump request, filtered in the kernel by family and interface. */
export function encodeAddressDump(w: MessageWriter, family: number, devIndex: number): void {
  w.begin(RTM_GETADDR, NLM_F_DUMP);
  const off = w.reserve(IFADDRMSG_LEN);
  w.buf[off] = family;
  w.buf.writeUInt32LE(devIndex, off + 4); // ifa_index: honoured with NETLINK_GET_STRICT_CHK
  w.end();
}

/**
 * Decodes one RTM_NEWADDR or RTM_DELADDR message (used by list() and the monitor). Throws
 * NetlinkParseError for a malformed message or a family other than IPv4/IPv6.
 */
export function parseAddressMessage(m: MessageView): Address {
  const { buf, payload, end } = m;
  if (end - payload < IFADDRMSG_LEN) {
    throw new NetlinkParseError(`address message of ${end - payload} bytes, shorter than struct ifaddrmsg`, payload);
  }
  const fam = buf[payload];
  if (fam !== AF_INET && fam !== AF_INET6) throw new NetlinkParseError(`address of unknown family ${fam}`, payload);
  const plen = buf[payload + 1];
  let flags = buf[payload + 2];
  const scope = buf[payload + 3];
  const index = buf.readUInt32LE(payload + 4);
  let address: string | undefined;
  let local: string | undefined;
  let broadcast: string | undefined;
  let label: string | undefined;
  forEachAttr(buf, payload + IFADDRMSG_LEN, end, (type, off, len) => {
    switch (type) {
      case IFA_ADDRESS:
        address = readIP(buf, off, len);
        break;
      case IFA_LOCAL:
        local = readIP(buf, off, len);
        break;
      case IFA_BROADCAST:
        broadcast = readIP(buf, off, len);
        break;
      case IFA_LABEL:
        label = readString(buf, off, len);
        break;
      case IFA_FLAGS:
        flags = readU32(buf, off, len); // the full flags; ifa_flags holds only the low 8 bits
        break;
    }
  });
  const mine = local ?? address;
  if (mine === undefined) throw new NetlinkParseError('address message without IFA_LOCAL or IFA_ADDRESS', payload);
  const out: Address = {
    index,
    family: fam === AF_INET ? 4 : 6,
    address: `${mine}/${plen}`,
    scope,
    flags,
    permanent: (flags & IFA_F_PERMANENT) !== 0,
  };
  if (local !== undefined && address !== undefined && address !== local) out.peer = address;
  if (broadcast !== undefined) out.broadcast = broadcast;
  if (label !== undefined) out.label = label;
  return out;
}

function describe(a: AddressSpec): string {
  return `${a.address}${a.peer ? ` peer ${a.peer}` : ''} dev ${typeof a.dev === 'number' ? `#${a.dev}` : a.dev}`;
}

/** An Address read back, as the spec that names it (for del()). */
function specOf(a: Address): AddressSpec {
  return { dev: a.index, address: a.address, peer: a.peer };
}

/**
 * Interface addresses of one namespace.
 *
 * ```ts
 * await nl.addresses.add({ dev: 'vxlan0', address: '192.168.10.0/32' });
 * const mine = await nl.addresses.list({ dev: 'vxlan0', family: 4 });
 * ```
 */
export class Addresses {
  constructor(protected readonly ctx: RtnlContext) {}

  /** Adds an address (NLM_F_CREATE|NLM_F_EXCL). Throws ValidationError for a bad spec (nothing is
   * sent), NetlinkError ENODEV naming a missing device, EEXIST when the address is already there. */
  async add(a: AddressSpec): Promise<void> {
    await this.modify('addresses.add', a, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  }

  /** Adds the address or updates the one that is there (NLM_F_CREATE|NLM_F_REPLACE). Throws as add(). */
  async replace(a: AddressSpec): Promise<void> {
    await this.modify('addresses.replace', a, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  }

  /** Removes an address, given as a spec or as read back by list(). Throws ValidationError,
   * NetlinkError ENODEV for a missing device, EADDRNOTAVAIL when there is no such address. */
  async del(a: AddressSpec | Address): Promise<void> {
    const spec = typeof a === 'object' && a !== null && isReadBack<Address>(a) ? specOf(a) : (a as AddressSpec);
    await this.modify('addresses.del', spec, RTM_DELADDR, 0);
  }

  /**
   * The addresses of the namespace, filtered in the kernel by interface and family (strict
   * dump: only the matching addresses cross into user space). Throws ValidationError for a bad
   * filter, NetlinkError ENODEV naming a missing device.
   */
  async list(filter: AddressFilter = {}): Promise<Address[]> {
    const p = new Problems();
    validateFilter(p, filter);
    p.throwIfAny('addresses.list');
    const what = `addresses.list${filter.dev !== undefined ? ` dev ${filter.dev}` : ''}`;
    const index = filter.dev === undefined ? 0 : await this.ctx.devices.index(filter.dev, what);
    const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : AF_UNSPEC;
    return this.ctx.socket.dump((w) => encodeAddressDump(w, family, index), parseAddressMessage, { what });
  }

  private async modify(op: string, a: AddressSpec, type: number, flags: number): Promise<void> {
    const p = new Problems();
    validateAddressSpec(p, '', a);
    p.throwIfAny(op);
    const what = `${op} ${describe(a)}`;
    const index = await this.ctx.devices.index(a.dev, what);
    await this.ctx.socket.request((w) => encodeAddress(w, type, flags, a, index), { what });
  }
}
