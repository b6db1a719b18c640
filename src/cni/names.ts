/**
 * Names and marks of what the plugin creates on the host, derived from the attachment so that
 * DEL and GC find them again without any state: the host end of a pod's veth, its ownership
 * alias, and a bridge's fixed MAC.
 */

/** The prefix of every host-side veth this plugin creates. */
export const HOST_VETH_PREFIX = 'nla';
/** The prefix of the alias (IFLA_IFALIAS) marking a host-side veth as this plugin's. */
export const ALIAS_PREFIX = 'netlink-agent-cni';

/** FNV-1a, 64 bits, of a string's UTF-8 bytes: stable across processes, versions and hosts. */
export function fnv1a64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/**
 * The host end of the veth of attachment (containerId, ifname): "nla" and 12 hex digits of the
 * attachment's hash, 15 bytes (IFNAMSIZ - 1). The same attachment always gets the same name.
 */
export function hostVethName(containerId: string, ifname: string): string {
  return `${HOST_VETH_PREFIX}${fnv1a64(`${containerId}\0${ifname}`).toString(16).padStart(16, '0').slice(0, 12)}`;
}

/** The alias marking the host end: plugin, network, container ID and pod interface. */
export function ownerAlias(network: string, containerId: string, ifname: string): string {
  return `${ALIAS_PREFIX} ${network} ${containerId} ${ifname}`;
}

/** The attachment an alias names, when it is this plugin's mark for `network`. */
export function parseOwnerAlias(alias: string | undefined, network: string): { containerId: string; ifname: string } | undefined {
  if (!alias) return undefined;
  const parts = alias.split(' ');
  if (parts.length !== 4 || parts[0] !== ALIAS_PREFIX || parts[1] !== network) return undefined;
  return { containerId: parts[2], ifname: parts[3] };
}

/**
 * A fixed, locally administered MAC for a bridge. A bridge made without one takes the lowest
 * MAC of its ports and changes it as pods come and go, which breaks the pods' ARP entries for
 * the gateway; one given at creation stays.
 */
export function bridgeMac(bridge: string): string {
  const h = fnv1a64(`bridge\0${bridge}`);
  const bytes = [0x0e, 0x6c, ...[40n, 32n, 24n, 16n].map((s) => Number((h >> s) & 0xffn))];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
