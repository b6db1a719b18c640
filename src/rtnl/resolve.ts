import { NLM_F_REQUEST } from '../wire/constants';
import { NetlinkError } from '../wire/errors';
import { forEachAttr, readString } from '../wire/reader';
import type { NetlinkSocket } from '../wire/socket';
import type { MessageWriter } from '../wire/writer';
import { IFINFOMSG_LEN, IFLA_EXT_MASK, IFLA_IFNAME, RTEXT_FILTER_SKIP_STATS, RTM_GETLINK } from './constants';
import type { DeviceRef } from './types';

/**
 * Device names to interface indexes, asked of the kernel each time (RTM_GETLINK by name):
 * indexes change when a device is recreated, so nothing is cached across calls. Callers that
 * program many objects resolve the distinct names once per call with indexes().
 */
export class DeviceResolver {
  constructor(private readonly socket: NetlinkSocket) {}

  /** The index of a device; an index is returned as is. Rejects with NetlinkError ENODEV
   * naming the device when there is none. */
  async index(ref: DeviceRef, what = 'resolve device'): Promise<number> {
    if (typeof ref === 'number') return ref;
    const replies = await this.socket.request((w) => encodeGetLinkByName(w, ref), { what: `${what}: device "${ref}"` });
    for (const m of replies) {
      if (m.type === 16 /* RTM_NEWLINK */) return m.buf.readInt32LE(m.payload + 4);
    }
    throw new NetlinkError(19 /* ENODEV */, {}, `${what}: device "${ref}"`, 'no reply');
  }

  /** Resolves every distinct name once. */
  async indexes(refs: Iterable<DeviceRef | undefined>, what?: string): Promise<Map<DeviceRef, number>> {
    const out = new Map<DeviceRef, number>();
    for (const r of refs) {
      if (r === undefined || out.has(r)) continue;
      out.set(r, await this.index(r, what));
    }
    return out;
  }

  /** The name of an interface index, or undefined when it does not exist. */
  async name(index: number): Promise<string | undefined> {
    try {
      const replies = await this.socket.request((w) => encodeGetLinkByIndex(w, index), { what: `resolve index ${index}` });
      for (const m of replies) {
        let name: string | undefined;
        forEachAttr(m.buf, m.payload + IFINFOMSG_LEN, m.end, (type, off, len) => {
          if (type === IFLA_IFNAME) name = readString(m.buf, off, len);
        });
        if (name !== undefined) return name;
      }
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') return undefined;
      throw e;
    }
    return undefined;
  }
}

function encodeGetLinkByName(w: MessageWriter, name: string): void {
  w.begin(RTM_GETLINK, NLM_F_REQUEST);
  w.reserve(IFINFOMSG_LEN);
  w.string(IFLA_IFNAME, name);
  w.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  w.end();
}

function encodeGetLinkByIndex(w: MessageWriter, index: number): void {
  w.begin(RTM_GETLINK, NLM_F_REQUEST);
  const off = w.reserve(IFINFOMSG_LEN);
  w.buf.writeInt32LE(index, off + 4);
  w.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  w.end();
}
