/**
 * The link kinds links.add() creates, one line each: the registry links.add/set/change/list
 * and the decoder go through. A new kind is a file exporting a LinkKindModule (see ./kind and
 * ./macvlan for a small one) plus its line here.
 */
import type { AnyLinkKind, LinkKindModule } from './kind';
import { bridge } from './bridge';
import { ip6tnl } from './ip6tnl';
import { ipip } from './ipip';
import { macvlan } from './macvlan';
import { veth } from './veth';
import { vxlan } from './vxlan';
import { wireguard } from './wireguard';

export type { VxlanSpec, VxlanLink, VxlanField } from './vxlan';
export type { IpipSpec, IpipLink, IpipField } from './ipip';
export type { VethSpec, VethLink, VethPeerSpec } from './veth';
export type { BridgeSpec, BridgeLink, BridgeField } from './bridge';
export type { WireguardSpec, WireguardLink } from './wireguard';
export type { MacvlanSpec, MacvlanLink, MacvlanMode, MacvlanField } from './macvlan';
export type { Ip6tnlSpec, Ip6tnlLink, Ip6tnlMode, Ip6tnlField } from './ip6tnl';

/** The registered kinds, one line each (frozen: the registry is not changed at run time). */
export const LINK_KINDS = Object.freeze([vxlan, ipip, veth, bridge, wireguard, macvlan, ip6tnl] as const);

/** The spec type of a kind module. */
export type SpecOf<K> = K extends LinkKindModule<infer S, infer _L> ? S : never;
/** The read-back type of a kind module. */
export type LinkOf<K> = K extends LinkKindModule<infer _S, infer L> ? L : never;
/** The specs of the registered kinds (LinkSpec is this union). */
export type RegisteredLinkSpec = SpecOf<(typeof LINK_KINDS)[number]>;
/** The read-backs of the registered kinds. */
export type RegisteredLink = LinkOf<(typeof LINK_KINDS)[number]>;

const BY_NAME = new Map<string, AnyLinkKind>(LINK_KINDS.map((k) => [k.kind, k]));

/** The kind module of an IFLA_INFO_KIND, or undefined for a kind this library does not create. */
export function linkKind(name: string | null | undefined): AnyLinkKind | undefined {
  return name == null ? undefined : BY_NAME.get(name);
}

/** The kinds links.add() creates, by name. */
export function linkKindNames(): string[] {
  return [...BY_NAME.keys()];
}

/** Every registered kind module. */
export function linkKinds(): readonly AnyLinkKind[] {
  return LINK_KINDS;
}
