/**
 * veth pairs: both ends in one request. IFLA_INFO_DATA holds VETH_INFO_PEER, whose payload is
 * a struct ifinfomsg followed by IFLA_* attributes for the peer (its name, address, MTU and,
 * with IFLA_NET_NS_FD, the namespace it is created in).
 *
 * Where the peer lands when peer.netns is left out: in the namespace the request is made in
 * (the Rtnl handle's), not in spec.netns; found on Linux 6.18 and asserted by the tests. So
 * { name: 'veth-h', netns: 'pod', peer: { name: 'veth-p' } } puts veth-h in "pod" and veth-p
 * here; give peer.netns to put both ends elsewhere.
 */
import type { MessageWriter } from '../../wire/writer';
import { VETH_INFO_PEER } from '../constants';
import type { LinkBase, VethLink, VethPeerSpec } from '../types';
import { writeCommonAttrs, writeIfinfomsg } from './codec';

/**
 * What change() can do to a veth beyond the common settings: nothing. The kernel's veth has
 * no changelink (IFLA_INFO_DATA on an existing veth is EOPNOTSUPP), and the peer is a device
 * of its own: its fields are used when the pair is created, and change() does not compare
 * them. Set the peer's MTU, address or name with links.set() on the peer.
 */
export const VETH_CHANGEABLE: readonly string[] = [];
/** The peer: used only when the pair is created. */
export const VETH_IMMUTABLE: readonly string[] = ['peer'];

/** Writes IFLA_INFO_DATA's contents for a new pair (peerNetnsFd: an open namespace fd). */
export function encodeVethData(w: MessageWriter, peer: VethPeerSpec, peerNetnsFd: number | undefined): void {
  const p = w.nestStart(VETH_INFO_PEER);
  writeIfinfomsg(w, 0);
  writeCommonAttrs(w, { address: peer.address, mtu: peer.mtu, netnsFd: peerNetnsFd, name: peer.name });
  w.nestEnd(p);
}

/** A veth reads back with the common fields only (the kernel reports no IFLA_INFO_DATA);
 * `link` is the peer's index and `linkNetnsId` its namespace when that is another one. */
export function decodeVeth(base: LinkBase): VethLink {
  return { ...base, kind: 'veth' };
}
