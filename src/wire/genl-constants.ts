/**
 * Generic netlink constants, named exactly as in <linux/genetlink.h> and <linux/netlink.h>.
 * The families built on it (WireGuard, ...) keep their own constants beside their objects.
 */

/** The generic netlink protocol (socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC)). */
export const NETLINK_GENERIC = 16;

/** struct genlmsghdr: u8 cmd, u8 version, u16 reserved. */
export const GENL_HDRLEN = 4;
/** Longest family name plus its NUL. */
export const GENL_NAMSIZ = 16;
/** Family ids are allocated from GENL_MIN_ID (= NLMSG_MIN_TYPE) to GENL_MAX_ID. */
export const GENL_MIN_ID = 0x10;
export const GENL_MAX_ID = 1023;

/**
 * The controller's own family id: fixed, never allocated. Its one multicast group, "notify",
 * has the same number (genetlink.c registers the controller with mcgrp_offset = GENL_ID_CTRL);
 * the tests resolve "nlctrl" on each kernel and check that the two agree.
 */
export const GENL_ID_CTRL = 0x10;

// Flags of a family's operations (CTRL_ATTR_OP_FLAGS).
export const GENL_ADMIN_PERM = 0x01;
export const GENL_CMD_CAP_DO = 0x02;
export const GENL_CMD_CAP_DUMP = 0x04;
export const GENL_CMD_CAP_HASPOL = 0x08;
export const GENL_UNS_ADMIN_PERM = 0x10;

// Controller commands.
export const CTRL_CMD_UNSPEC = 0;
export const CTRL_CMD_NEWFAMILY = 1;
export const CTRL_CMD_DELFAMILY = 2;
export const CTRL_CMD_GETFAMILY = 3;
export const CTRL_CMD_NEWOPS = 4;
export const CTRL_CMD_DELOPS = 5;
export const CTRL_CMD_GETOPS = 6;
export const CTRL_CMD_NEWMCAST_GRP = 7;
export const CTRL_CMD_DELMCAST_GRP = 8;
export const CTRL_CMD_GETMCAST_GRP = 9;
export const CTRL_CMD_GETPOLICY = 10;

// Controller attributes.
export const CTRL_ATTR_UNSPEC = 0;
export const CTRL_ATTR_FAMILY_ID = 1;
export const CTRL_ATTR_FAMILY_NAME = 2;
export const CTRL_ATTR_VERSION = 3;
export const CTRL_ATTR_HDRSIZE = 4;
export const CTRL_ATTR_MAXATTR = 5;
export const CTRL_ATTR_OPS = 6;
export const CTRL_ATTR_MCAST_GROUPS = 7;
export const CTRL_ATTR_POLICY = 8;
export const CTRL_ATTR_OP_POLICY = 9;
export const CTRL_ATTR_OP = 10;

export const CTRL_ATTR_OP_UNSPEC = 0;
export const CTRL_ATTR_OP_ID = 1;
export const CTRL_ATTR_OP_FLAGS = 2;

export const CTRL_ATTR_MCAST_GRP_UNSPEC = 0;
export const CTRL_ATTR_MCAST_GRP_NAME = 1;
export const CTRL_ATTR_MCAST_GRP_ID = 2;

/** The version the controller reports for itself (2 since Linux 2.6.23); it checks none. */
export const CTRL_VERSION = 2;
