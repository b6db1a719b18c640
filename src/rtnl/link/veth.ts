/**
 * veth pairs (link kind "veth"): both ends in one request. IFLA_INFO_DATA holds VETH_INFO_PEER,
 * whose payload is a struct ifinfomsg followed by IFLA_* attributes for the peer (its name,
 * address, MTU and, with IFLA_NET_NS_FD, the namespace it is created in): the common link
 * tables again.
 *
 * Where the peer lands when peer.netns is left out: in the namespace the request is made in
 * (the Rtnl handle's), not in spec.netns; found on Linux 6.18 and asserted by the tests. So
 * { name: 'veth-h', netns: 'pod', peer: { name: 'veth-p' } } puts veth-h in "pod" and veth-p
 * here; give peer.netns to put both ends elsewhere.
 */
import type { MessageWriter } from '../../wire/writer';
import { IFLA_INFO_DATA, VETH_INFO_PEER } from '../constants';
import type { LinkBase, LinkCommonSpec } from '../types';
import { describeValue as show, own, type Problems } from '../../values/problems';
import { defineFields, fieldOf, ifName, int, netns, unicastMac, type FieldCheck } from '../spec';
import { decodeWith } from './generic';
import type { KindData, LinkKindModule, LinkRefs } from './kind';
import { IFINFOMSG, LINK_ATTRS } from './table';

/** The other end of a veth pair, created in the same request as its VethSpec. */
export interface VethPeerSpec {
  /** The peer's interface name, at most 15 bytes. */
  name: string;
  /** The peer lands in this namespace (name under /run/netns or a path), in the same request. */
  netns?: string;
  /** The peer's MAC address. */
  address?: string;
  /** The peer's MTU. */
  mtu?: number;
}

/**
 * A veth pair for links.add(): this end plus its peer.
 *
 * @example
 * ```ts
 * await nl.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'eth0p', netns: 'pod1' }, up: true });
 * ```
 */
export interface VethSpec extends LinkCommonSpec {
  /** Discriminant: a veth pair. */
  kind: 'veth';
  /** The other end of the pair. */
  peer: VethPeerSpec;
}

/** One end of a veth pair as read back (its peer index is in `link`). */
export interface VethLink extends LinkBase {
  /** Discriminant: a veth device. */
  kind: 'veth';
}

/** A veth's MTU range (veth_setup: ETH_MIN_MTU..ETH_MAX_MTU). */
const VETH_MTU = { min: 68, max: 65535 };

/** The fields of a VethPeerSpec. */
export const VETH_PEER_FIELDS = defineFields(
  'VethPeerSpec',
  {
    name: fieldOf(ifName, "The peer's interface name, at most 15 bytes.", 'required: the peer\'s interface name'),
    netns: fieldOf(netns, 'The peer lands in this namespace (name under /run/netns or a path), in the same request.'),
    address: fieldOf(unicastMac, "The peer's MAC address."),
    mtu: fieldOf(int(VETH_MTU.min, VETH_MTU.max), "The peer's MTU."),
  },
  { mac: 'address', ifname: 'name' },
);

const peerCheck: FieldCheck = (p, path, v) => VETH_PEER_FIELDS.check(p, path, v, 'the peer end, e.g. { name: "veth1" }, an');

/** The fields of a VethSpec. */
export const VETH_FIELDS = defineFields('VethSpec', { peer: fieldOf(peerCheck, 'The other end of the pair.', 'required: the peer end, e.g. { name: "veth1" }') }, { peer_name: 'peer' });

/**
 * What change() can do to a veth beyond the common settings: nothing. The kernel's veth has
 * no changelink (IFLA_INFO_DATA on an existing veth is EOPNOTSUPP), and the peer is a device
 * of its own: its fields are used when the pair is created, and change() does not compare
 * them. Set the peer's MTU, address or name with links.set() on the peer.
 */
export const VETH_CHANGEABLE: readonly string[] = [];
/** The peer: used only when the pair is created. */
export const VETH_IMMUTABLE: readonly string[] = ['peer'];

/** Both ends in one namespace cannot have one name. */
function validateVeth(p: Problems, path: string, s: Record<string, unknown>): void {
  const peer = s.peer;
  if (typeof peer !== 'object' || peer === null) return;
  const name = own(peer, 'name');
  if (typeof name === 'string' && name === s.name && own(peer, 'netns') === s.netns) {
    p.add(path ? `${path}.peer.name` : 'peer.name', `${show(name)} is the name of the device itself; both ends land in one namespace`);
  }
}

/** Writes IFLA_INFO_DATA for a new pair (peerNetnsFd: an open namespace fd). */
export function encodeVethData(w: MessageWriter, peer: VethPeerSpec, peerNetnsFd: number | undefined): void {
  const d = w.nestStart(IFLA_INFO_DATA);
  const n = w.nestStart(VETH_INFO_PEER);
  IFINFOMSG.write(w, {});
  LINK_ATTRS.encode(w, { address: peer.address, mtu: peer.mtu, netnsFd: peerNetnsFd, name: peer.name });
  w.nestEnd(n);
  w.nestEnd(d);
}

/** The veth kind. A veth reads back with the common fields only (the kernel reports no
 * IFLA_INFO_DATA); `link` is the peer's index and `linkNetnsId` its namespace when that is
 * another one. */
export const veth: LinkKindModule<VethSpec, VethLink> = {
  kind: 'veth',
  fields: VETH_FIELDS,
  mtu: VETH_MTU,
  hasAddress: true,
  changeable: VETH_CHANGEABLE,
  immutable: VETH_IMMUTABLE,
  defaults: {},
  validate: validateVeth,
  encodeData(w: MessageWriter, spec: VethSpec, refs: LinkRefs): void {
    if (spec.peer.netns !== undefined && refs.peerNetnsFd === undefined) throw new TypeError(`peer.netns "${spec.peer.netns}" needs an open namespace fd (pass it in refs)`);
    encodeVethData(w, spec.peer, refs.peerNetnsFd);
  },
  decode: (base: LinkBase, data: KindData) => decodeWith<VethLink>(base, 'veth', data, [], {}),
  diff: () => [],
};
