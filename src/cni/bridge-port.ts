/**
 * The one bridge-port setting the plugin needs, hairpin mode (IFLA_BRPORT_MODE): what
 * `bridge link set dev X hairpin on` sends, an RTM_SETLINK of family AF_BRIDGE whose
 * IFLA_PROTINFO nest carries the port attribute. The bridge applies it (br_setlink); NLA_F_NESTED
 * must be set or the bridge reads the old RSTP binary form.
 */
import { AF_BRIDGE, RTM_SETLINK } from '../rtnl/constants';
import type { Rtnl } from '../rtnl/rtnl';
import { NLA_F_NESTED } from '../wire/constants';

/** IFLA_PROTINFO (include/uapi/linux/if_link.h). */
const IFLA_PROTINFO = 12;
/** IFLA_BRPORT_MODE: hairpin (reflective relay) on a bridge port. */
const IFLA_BRPORT_MODE = 4;
const IFINFOMSG_LEN = 16;

/** Turns hairpin mode on or off on bridge port `index` (a device enslaved to a bridge). */
export async function setHairpin(nl: Rtnl, index: number, on: boolean): Promise<void> {
  await nl.socket.request(
    (w) => {
      w.begin(RTM_SETLINK, 0);
      const off = w.reserve(IFINFOMSG_LEN);
      w.buf.writeUInt8(AF_BRIDGE, off);
      w.buf.writeInt32LE(index, off + 4);
      const nest = w.nestStart(IFLA_PROTINFO, NLA_F_NESTED);
      w.u8(IFLA_BRPORT_MODE, on ? 1 : 0);
      w.nestEnd(nest);
      w.end();
    },
    { what: `hairpin ${on ? 'on' : 'off'} on bridge port ${index}` },
  );
}
