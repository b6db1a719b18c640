/**
 * Interface addresses (RTM_NEWADDR / RTM_DELADDR / RTM_GETADDR, struct ifaddrmsg).
 *
 * Requests are laid out as `ip addr` lays them out (IFA_LOCAL, IFA_LABEL, IFA_FLAGS,
 * IFA_ADDRESS, IFA_BROADCAST), so the bytes compare equal to iproute2's: IFA_LOCAL is the
 * address of this host, IFA_ADDRESS the peer of a point-to-point link or the same address again.
 */
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../../wire/constants';
import { NetlinkParseError } from '../../wire/errors';
import { parseIPv4 } from '../../values/ip';
import type { MessageView } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import { AF_INET, AF_INET6, AF_UNSPEC, IFA_F_NODAD, IFA_F_NOPREFIXROUTE, IFA_F_PERMANENT, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR, RT_SCOPE_HOST } from '../constants';
import type { RtnlContext } from '../context';
import { isReadBack } from '../ndmsg';
import { SCOPES, lookup } from '../names';
import type { Address, AddressFilter, AddressSpec, IpFamily } from '../types';
import { familyOf, parsePrefix, readAddress } from '../../values/address';
import { Problems, describeValue, own } from '../../values/problems';
import { ADDRESS_FIELDS, ADDRESS_FILTER_FIELDS, IFADDRMSG, IFA_ATTRS } from './table';

/**
 * Checks an AddressSpec, appending every problem to p (under path). Returns whether it is valid.
 * The fields and their checks are ADDRESS_FIELDS'; the rules between them are here: IPv4-only
 * fields (broadcast, label, scope) are refused for IPv6, where the kernel ignores them (it
 * derives an IPv6 address's scope from the address itself), nodad for IPv4, which has no DAD,
 * and a peer of the other family.
 */
export function validateAddressSpec(p: Problems, path: string, x: unknown): boolean {
  const before = p.list.length;
  if (!ADDRESS_FIELDS.check(p, path, x, 'an address spec')) return false;
  const at = (k: string) => (path ? `${path}.${k}` : k);
  const family = parsePrefix(new Problems(), '', own(x, 'address'), 'keep')?.family;
  if (family === undefined) return p.list.length === before;
  for (const k of ['peer', 'broadcast']) {
    const v = own(x, k);
    const f = typeof v === 'string' ? readAddress(v)?.family : undefined;
    if (f !== undefined && f !== family && !(k === 'broadcast' && family === 6)) p.add(at(k), `${describeValue(v)} is IPv${f}, expected IPv${family} like the address`);
  }
  if (family === 6) {
    if (own(x, 'broadcast') !== undefined) p.add(at('broadcast'), 'IPv6 has no broadcast addresses');
    if (own(x, 'label') !== undefined) p.add(at('label'), 'labels are IPv4 only (the kernel ignores them for IPv6)');
    if (own(x, 'scope') !== undefined) p.add(at('scope'), "the kernel derives an IPv6 address's scope from the address; leave it out");
  } else if (own(x, 'nodad') === true) {
    p.add(at('nodad'), 'duplicate address detection is IPv6 only');
  }
  return p.list.length === before;
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
  const prefixlen = slash < 0 ? (v4 >= 0 ? 32 : 128) : Number(a.address.slice(slash + 1));
  let scope = 0;
  if (a.scope !== undefined) scope = lookup(SCOPES, a.scope) ?? 0;
  else if (type !== RTM_DELADDR && v4 >= 0 && v4 >>> 24 === 127) scope = RT_SCOPE_HOST;
  const ifaFlags = specFlags(a);
  w.begin(type, flags);
  IFADDRMSG.write(w, { family, prefixlen, flags: ifaFlags <= 0xff ? ifaFlags : 0, scope, index: devIndex });
  IFA_ATTRS.encode(w, { local, label: a.label, flags: ifaFlags > 0xff ? ifaFlags : undefined, address: a.peer ?? local, broadcast: a.broadcast });
  w.end();
}

/** Writes an RTM_GETADDR dump request, filtered in the kernel by family and interface. */
export function encodeAddressDump(w: MessageWriter, family: number, devIndex: number): void {
  w.begin(RTM_GETADDR, NLM_F_DUMP);
  // ifa_index is honoured with NETLINK_GET_STRICT_CHK.
  IFADDRMSG.write(w, { family, index: devIndex });
  w.end();
}

/** What IFA_ATTRS decodes into: every field, so the object has one shape. */
interface IfaValues {
  local: string | undefined;
  label: string | undefined;
  flags: number | undefined;
  address: string | undefined;
  broadcast: string | undefined;
  metric: number | undefined;
  proto: number | undefined;
}

/**
 * Decodes one RTM_NEWADDR or RTM_DELADDR message (used by list() and the monitor). Attributes
 * IFA_ATTRS does not name are kept in `unknown`. Throws NetlinkParseError for a malformed
 * message or a family other than IPv4/IPv6.
 */
export function parseAddressMessage(m: MessageView): Address {
  const { buf, payload, end } = m;
  const h = IFADDRMSG.read(buf, payload, end, 'address message');
  if (h.family !== AF_INET && h.family !== AF_INET6) throw new NetlinkParseError(`address of unknown family ${h.family}`, payload);
  const v: IfaValues = { local: undefined, label: undefined, flags: undefined, address: undefined, broadcast: undefined, metric: undefined, proto: undefined };
  const unknown = IFA_ATTRS.decodeInto(buf, payload + IFADDRMSG.size, end, v);
  const mine = v.local ?? v.address;
  if (mine === undefined) throw new NetlinkParseError('address message without IFA_LOCAL or IFA_ADDRESS', payload);
  // IFA_FLAGS holds the full flags; ifa_flags only the low 8 bits.
  const flags = v.flags ?? h.flags;
  const out: Address = {
    index: h.index,
    family: h.family === AF_INET ? 4 : 6,
    address: `${mine}/${h.prefixlen}`,
    scope: h.scope,
    flags,
    permanent: (flags & IFA_F_PERMANENT) !== 0,
  };
  if (v.local !== undefined && v.address !== undefined && v.address !== v.local) out.peer = v.address;
  if (v.broadcast !== undefined) out.broadcast = v.broadcast;
  if (v.label !== undefined) out.label = v.label;
  if (v.metric !== undefined) out.metric = v.metric;
  if (v.proto !== undefined) out.proto = v.proto;
  if (unknown !== undefined) out.unknown = unknown;
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
    ADDRESS_FILTER_FIELDS.check(p, 'filter', filter, 'a filter');
    p.throwIfAny('addresses.list');
    const dev = own(filter, 'dev') as AddressFilter['dev'];
    const what = `addresses.list${dev !== undefined ? ` dev ${dev}` : ''}`;
    const index = dev === undefined ? 0 : await this.ctx.devices.index(dev, what);
    const f: IpFamily | undefined = familyOf(own(filter, 'family'));
    const family = f === 4 ? AF_INET : f === 6 ? AF_INET6 : AF_UNSPEC;
    return this.ctx.socket.dump((w) => encodeAddressDump(w, family, index), parseAddressMessage, { what, transientView: true });
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
