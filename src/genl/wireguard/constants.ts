/**
 * WireGuard's generic netlink interface, named exactly as in <linux/wireguard.h>.
 */

/** The generic netlink family name. */
export const WG_GENL_NAME = 'wireguard';
/** The family's interface version. */
export const WG_GENL_VERSION = 1;

// Commands.
export const WG_CMD_GET_DEVICE = 0;
export const WG_CMD_SET_DEVICE = 1;

// Device flags (WGDEVICE_A_FLAGS).
export const WGDEVICE_F_REPLACE_PEERS = 1 << 0;

// Device attributes.
export const WGDEVICE_A_UNSPEC = 0;
export const WGDEVICE_A_IFINDEX = 1;
export const WGDEVICE_A_IFNAME = 2;
export const WGDEVICE_A_PRIVATE_KEY = 3;
export const WGDEVICE_A_PUBLIC_KEY = 4;
export const WGDEVICE_A_FLAGS = 5;
export const WGDEVICE_A_LISTEN_PORT = 6;
export const WGDEVICE_A_FWMARK = 7;
export const WGDEVICE_A_PEERS = 8;

// Peer flags (WGPEER_A_FLAGS).
export const WGPEER_F_REMOVE_ME = 1 << 0;
export const WGPEER_F_REPLACE_ALLOWEDIPS = 1 << 1;
export const WGPEER_F_UPDATE_ONLY = 1 << 2;

// Peer attributes.
export const WGPEER_A_UNSPEC = 0;
export const WGPEER_A_PUBLIC_KEY = 1;
export const WGPEER_A_PRESHARED_KEY = 2;
export const WGPEER_A_FLAGS = 3;
export const WGPEER_A_ENDPOINT = 4;
export const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
export const WGPEER_A_LAST_HANDSHAKE_TIME = 6;
export const WGPEER_A_RX_BYTES = 7;
export const WGPEER_A_TX_BYTES = 8;
export const WGPEER_A_ALLOWEDIPS = 9;
export const WGPEER_A_PROTOCOL_VERSION = 10;

// Allowed-IP attributes.
export const WGALLOWEDIP_A_UNSPEC = 0;
export const WGALLOWEDIP_A_FAMILY = 1;
export const WGALLOWEDIP_A_IPADDR = 2;
export const WGALLOWEDIP_A_CIDR_MASK = 3;

/** AF_INET and AF_INET6 as WireGuard's attributes and sockaddrs carry them. */
export const AF_INET = 2;
export const AF_INET6 = 10;
/** sizeof(struct sockaddr_in), sizeof(struct sockaddr_in6). */
export const SOCKADDR_IN_LEN = 16;
export const SOCKADDR_IN6_LEN = 28;
