/**
 * Generic netlink framing: struct genlmsghdr after the nlmsghdr, then the family's attributes;
 * and the controller's (nlctrl) messages that map family names to ids and multicast groups.
 */
import { attr, defineAttrs, nested, nestedArray, string, u16, u32, type AttrValues } from './attrs';
import { NLA_F_NESTED, NLM_F_DUMP } from './constants';
import { NetlinkParseError } from './errors';
import {
  CTRL_ATTR_FAMILY_ID,
  CTRL_ATTR_FAMILY_NAME,
  CTRL_ATTR_HDRSIZE,
  CTRL_ATTR_MAXATTR,
  CTRL_ATTR_MCAST_GROUPS,
  CTRL_ATTR_MCAST_GRP_ID,
  CTRL_ATTR_MCAST_GRP_NAME,
  CTRL_ATTR_OPS,
  CTRL_ATTR_OP_FLAGS,
  CTRL_ATTR_OP_ID,
  CTRL_ATTR_VERSION,
  CTRL_CMD_GETFAMILY,
  CTRL_VERSION,
  GENL_HDRLEN,
  GENL_ID_CTRL,
} from './genl-constants';
import type { MessageView, RawAttribute } from './reader';
import type { MessageWriter } from './writer';

/** A generic netlink message's own header (struct genlmsghdr), and where its attributes start. */
export interface GenlHeader {
  /** The family's command (WG_CMD_GET_DEVICE, CTRL_CMD_NEWFAMILY, ...). */
  cmd: number;
  /** The family's interface version. */
  version: number;
  /** Offset of the first attribute (after the genlmsghdr and any family header). */
  attrStart: number;
}

/**
 * Starts a generic netlink message to family `familyId`: nlmsghdr, then genlmsghdr with cmd and
 * version. Write the attributes next and finish with w.end(). Returns the message offset.
 */
export function beginGenl(w: MessageWriter, familyId: number, flags: number, cmd: number, version: number): number {
  const off = w.begin(familyId, flags);
  const h = w.reserve(GENL_HDRLEN);
  w.buf[h] = cmd;
  w.buf[h + 1] = version;
  return off;
}

/**
 * Reads the genlmsghdr of a message. hdrSize is the family's own fixed header (0 for most,
 * see GenlFamily.hdrSize), skipped before the attributes. Throws NetlinkParseError when the
 * message is too short to hold them.
 */
export function readGenlHeader(m: MessageView, hdrSize = 0): GenlHeader {
  const need = GENL_HDRLEN + ((hdrSize + 3) & ~3);
  if (m.end - m.payload < need) {
    throw new NetlinkParseError(`generic netlink message of ${m.end - m.payload} bytes, its header needs ${need}`, m.payload);
  }
  return { cmd: m.buf[m.payload], version: m.buf[m.payload + 1], attrStart: m.payload + need };
}

// ---------------------------------------------------------------- the controller (nlctrl)

/** One operation (command) a family offers: its number and GENL_* capability flags. */
export interface GenlOp {
  /** The command number. */
  cmd: number;
  /** GENL_ADMIN_PERM, GENL_CMD_CAP_DO, GENL_CMD_CAP_DUMP, ... */
  flags: number;
}

/** One multicast group of a family: join it by id (NetlinkSocket.joinGroup). */
export interface GenlGroup {
  /** The group's name within its family ("notify", "mgmt", ...). */
  name: string;
  /** The id to join: global to all generic netlink families. */
  id: number;
}

/** A generic netlink family as the controller describes it. */
export interface GenlFamily {
  /** The id requests to this family carry as nlmsg_type; it changes when the family registers again. */
  id: number;
  /** The family's name ("nlctrl", "wireguard"). */
  name: string;
  /** The family's interface version. */
  version: number;
  /** Bytes of the family's fixed header after genlmsghdr (0 for most families). */
  hdrSize: number;
  /** The family's highest attribute type. */
  maxAttr: number;
  /** The commands it offers. */
  ops: GenlOp[];
  /** Its multicast groups. */
  groups: GenlGroup[];
  /** Controller attributes this library does not decode (policies, ...). */
  unknown: RawAttribute[];
}

const CTRL_OP = defineAttrs('CTRL_ATTR_OP', { cmd: attr(CTRL_ATTR_OP_ID, u32), flags: attr(CTRL_ATTR_OP_FLAGS, u32) });
const CTRL_GROUP = defineAttrs('CTRL_ATTR_MCAST_GRP', { name: attr(CTRL_ATTR_MCAST_GRP_NAME, string), id: attr(CTRL_ATTR_MCAST_GRP_ID, u32) });

/** The controller's attributes (CTRL_ATTR_*): one table for requests and replies. */
export const CTRL_ATTRS = defineAttrs('CTRL_ATTR', {
  id: attr(CTRL_ATTR_FAMILY_ID, u16),
  name: attr(CTRL_ATTR_FAMILY_NAME, string),
  version: attr(CTRL_ATTR_VERSION, u32),
  hdrSize: attr(CTRL_ATTR_HDRSIZE, u32),
  maxAttr: attr(CTRL_ATTR_MAXATTR, u32),
  ops: attr(CTRL_ATTR_OPS, nestedArray(nested(CTRL_OP, NLA_F_NESTED), 1, NLA_F_NESTED)),
  groups: attr(CTRL_ATTR_MCAST_GROUPS, nestedArray(nested(CTRL_GROUP, NLA_F_NESTED), 1, NLA_F_NESTED)),
});
/** The decoded values of CTRL_ATTRS, each optional. */
export type CtrlAttrValues = AttrValues<(typeof CTRL_ATTRS)['spec']>;

/** CTRL_CMD_GETFAMILY for one family by name (as a request) or, without a name, a dump of all. */
export function encodeGetFamily(w: MessageWriter, name?: string): void {
  beginGenl(w, GENL_ID_CTRL, name === undefined ? NLM_F_DUMP : 0, CTRL_CMD_GETFAMILY, CTRL_VERSION);
  if (name !== undefined) CTRL_ATTRS.encode(w, { name });
  w.end();
}

/**
 * Decodes a controller message describing a family (a CTRL_CMD_NEWFAMILY reply or event, or a
 * CTRL_CMD_DELFAMILY event). Throws NetlinkParseError for a malformed message or one without
 * the family's id and name.
 */
export function parseFamilyMessage(m: MessageView): GenlFamily {
  if (m.type !== GENL_ID_CTRL) throw new NetlinkParseError(`message type ${m.type} is not from the generic netlink controller`, m.start);
  const h = readGenlHeader(m);
  const { values: v, unknown } = CTRL_ATTRS.decode(m.buf, h.attrStart, m.end);
  if (v.id === undefined || v.name === undefined) {
    throw new NetlinkParseError('controller message without CTRL_ATTR_FAMILY_ID and CTRL_ATTR_FAMILY_NAME', m.payload);
  }
  return {
    id: v.id,
    name: v.name,
    version: v.version ?? 0,
    hdrSize: v.hdrSize ?? 0,
    maxAttr: v.maxAttr ?? 0,
    ops: (v.ops ?? []).map((o) => ({ cmd: o.cmd ?? 0, flags: o.flags ?? 0 })),
    groups: (v.groups ?? []).filter((g) => g.name !== undefined && g.id !== undefined).map((g) => ({ name: g.name!, id: g.id! })),
    unknown,
  };
}
