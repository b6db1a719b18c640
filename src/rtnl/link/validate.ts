/**
 * Validation of link specs and link changes, before anything is sent. Every problem is
 * reported (not only the first), with its path ("links[2].peer.name"). The fields and their
 * checks come from the tables: LINK_COMMON_FIELDS for what every kind shares, the kind's own
 * FieldTable (through the registry) for the rest, and the kind's rules between fields.
 *
 * MTU: without a device only the kind's known range can be checked (68..65535 for most,
 * 65515 for ipip); links.set() and links.change() check the device's own IFLA_MIN_MTU and
 * IFLA_MAX_MTU before sending (loopback has none: its 65536 can be set back). The kernel also
 * caps a vxlan with an underlay at the underlay's MTU minus its headroom (50 bytes over IPv4,
 * 70 over IPv6): Linux 6.18 refuses more with EINVAL in links.set(), but on creation silently
 * caps it (links.add() returns the MTU it got).
 */
import { checkInt, describeValue as show, isObject, own, type Problems } from '../../values/problems';
import type { LinkChanges, LinkSpec } from '../types';
import type { FieldTable } from '../spec';
import type { AnyLinkKind } from './kind';
import { linkKind, linkKindNames, linkKinds } from './kinds';
import { LINK_CHANGE_FIELDS, LINK_COMMON_FIELDS } from './table';

/** ETH_MIN_MTU: the smallest MTU most kinds take (IPv4 needs 68). */
export const MIN_MTU = 68;
/** ETH_MAX_MTU: the largest MTU most kinds take. */
export const MAX_MTU = 65535;

const at = (path: string, key: string) => (path ? `${path}.${key}` : key);

const combined = new WeakMap<AnyLinkKind, FieldTable>();
/** The common fields and the kind's in one table (with both tables' "did you mean" words). */
function fieldsOf(kind: AnyLinkKind): FieldTable {
  let t = combined.get(kind);
  if (!t) combined.set(kind, (t = LINK_COMMON_FIELDS.extend(kind.fields.name, kind.fields.fields, { ...LINK_COMMON_FIELDS.synonyms, ...kind.fields.synonyms })));
  return t;
}

/**
 * Checks a link spec completely: the kind, unknown fields, every setting's type and range, and
 * the kind's rules between settings (vxlan remote XOR group, one address family, group needs
 * dev; ipip ttl vs pmtudisc; veth peer; macvlan flags by mode). Appends every problem to p;
 * returns whether there were none from this spec. Used by links.add()/change() and by the
 * reconciler for a whole desired state.
 */
export function validateLinkSpec(p: Problems, path: string, spec: unknown): spec is LinkSpec {
  const before = p.list.length;
  if (!isObject(spec)) {
    p.add(path, `expected a link spec object, got ${show(spec)}`);
    return false;
  }
  const kindName = own(spec, 'kind');
  const kind = typeof kindName === 'string' ? linkKind(kindName) : undefined;
  if (!kind) {
    p.add(at(path, 'kind'), `${show(kindName)} is not a link kind this library creates (one of ${linkKindNames().join(', ')})`);
    const anyKind = [...new Set(linkKinds().flatMap((k) => k.fields.names))];
    LINK_COMMON_FIELDS.check(p, path, spec, 'a link spec', ['kind', ...anyKind]);
    return false;
  }
  fieldsOf(kind).check(p, path, spec, 'a link spec', ['kind']);
  const mtu = own(spec, 'mtu');
  if (typeof mtu === 'number' && Number.isInteger(mtu) && mtu >= 0 && mtu <= 0xffffffff) checkInt(p, at(path, 'mtu'), mtu, kind.mtu.min, kind.mtu.max);
  if (!kind.hasAddress && own(spec, 'address') !== undefined) {
    p.add(at(path, 'address'), `a ${kind.kind} device has no MAC address${kind.kind === 'ipip' ? ' (its link-layer address is the local IP)' : ' (ARPHRD_NONE)'}`);
  }
  kind.validate?.(p, path, spec);
  return p.list.length === before;
}

/**
 * Checks the argument of links.set(): known fields only, each well formed; master null means
 * "no master", alias '' removes the alias. The MTU is checked here as a u32 only: links.set()
 * checks it against the device's bounds. Appends every problem to p; returns whether there were none.
 */
export function validateLinkChanges(p: Problems, path: string, c: unknown): c is LinkChanges {
  return LINK_CHANGE_FIELDS.check(p, path, c, 'an object of link changes');
}
