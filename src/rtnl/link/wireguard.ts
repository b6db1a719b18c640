/**
 * WireGuard devices (link kind "wireguard"): created, listed and deleted like every link; they
 * take no IFLA_INFO_DATA (the kernel's wireguard rtnl_link_ops have no policy), and their
 * keys, port and peers are configured over generic netlink (src/genl/wireguard). A WireGuard
 * device has no link-layer address (ARPHRD_NONE) and starts with MTU 1420.
 *
 * This kernel (the project's test host) has no wireguard module: creating one fails with
 * EOPNOTSUPP "Unknown device type"; the VM lane (Debian 6.1) has it and runs test/genl.
 */
import type { LinkBase, LinkCommonSpec } from '../types';
import type { Problems } from '../../values/problems';
import { defineFields } from '../spec';
import { decodeWith } from './generic';
import type { KindData, LinkKindModule } from './kind';

/** A WireGuard device for links.add(): the common link settings only. */
export interface WireguardSpec extends LinkCommonSpec {
  /** Discriminant: a WireGuard device. */
  kind: 'wireguard';
}

/** A WireGuard device as read back (its configuration: WireGuard.get()). */
export interface WireguardLink extends LinkBase {
  /** Discriminant: a WireGuard device. */
  kind: 'wireguard';
}

/** The fields of a WireguardSpec beyond the common ones: none. */
export const WIREGUARD_FIELDS = defineFields('WireguardSpec', {});
/** Spec fields beyond the common ones: none. */
export const WIREGUARD_KEYS: readonly string[] = WIREGUARD_FIELDS.names;
/** What change() can do beyond the common settings: nothing (there are no kind settings). */
export const WIREGUARD_CHANGEABLE: readonly string[] = [];
/** None. */
export const WIREGUARD_IMMUTABLE: readonly string[] = [];

/** The wireguard kind: no MAC address (ARPHRD_NONE), MTU up to wg's 65535 - overhead. */
export const wireguard: LinkKindModule<WireguardSpec, WireguardLink> = {
  kind: 'wireguard',
  fields: WIREGUARD_FIELDS,
  mtu: { min: 68, max: 65535 },
  hasAddress: false,
  changeable: WIREGUARD_CHANGEABLE,
  immutable: WIREGUARD_IMMUTABLE,
  defaults: {},
  decode: (base: LinkBase, data: KindData) => decodeWith<WireguardLink>(base, 'wireguard', data, [], {}),
  diff: () => [],
};

/** The kind's own rules: no MAC address (what links.add() checks through the registry). */
export function validateWireguard(p: Problems, path: string, s: Record<string, unknown>): void {
  if (s.address !== undefined) p.add(path ? `${path}.address` : 'address', 'a wireguard device has no MAC address (ARPHRD_NONE)');
}

/** A WireGuard device reads back with the common fields only. */
export function decodeWireguard(base: LinkBase): WireguardLink {
  return { ...base, kind: 'wireguard' };
}
