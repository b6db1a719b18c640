/**
 * One RTM_NEWNEIGH message (a neighbour or an FDB entry) as numbers: struct ndmsg and the
 * attributes a comparison needs (NDA_DST, NDA_LLADDR, NDA_VNI, NDA_PORT, NDA_NH_ID), read in
 * one bounds-checked pass without making strings or objects. The reconciler's steady-state
 * read compares 10k entries per cycle against what it wants; decoding each into a Neighbor or
 * FdbEntry (text for the address and the MAC, an array of state names, one object each) cost
 * more than the kernel's share of the dump. Entries that need a closer look are decoded whole
 * by the one decoder of their kind (parseNeighborMessage / parseFdbMessage) from the same
 * message, so the two views cannot disagree on what the kernel said.
 *
 * The reader never throws: a message it cannot read as numbers (too short, an attribute of an
 * unexpected length) is marked `odd`, and the caller decodes it whole, where the kind's
 * decoder reports what is wrong with it.
 */
import { NLA_HDRLEN, NLA_TYPE_MASK, NLM_F_DUMP_FILTERED } from '../wire/constants';
import type { MessageView } from '../wire/reader';
import type { MessageWriter } from '../wire/writer';
import { NDA_DST, NDA_LLADDR, NDA_NH_ID, NDA_PORT, NDA_VNI, NDMSG_LEN } from './constants';

const i32be = (b: Buffer, o: number): number => (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];

/**
 * The numbers of one neighbour-table message. A scan reuses one NeighFacts for every message:
 * read it in the visit and copy what you keep.
 */
export class NeighFacts {
  /** ndm_family (AF_INET, AF_INET6, AF_BRIDGE, ...). */
  family = 0;
  /** ndm_ifindex. */
  ifindex = 0;
  /** ndm_state (NUD_* bits). */
  state = 0;
  /** ndm_flags (NTF_* bits). */
  flags = 0;
  /** NDA_DST's length: 4 or 16, 0 when the message has none. */
  dstLen = 0;
  /** NDA_DST as big-endian signed 32-bit words (an IPv4 address in dst0; 0 past its length). */
  dst0 = 0;
  /** Second word of an IPv6 NDA_DST. */
  dst1 = 0;
  /** Third word of an IPv6 NDA_DST. */
  dst2 = 0;
  /** Fourth word of an IPv6 NDA_DST. */
  dst3 = 0;
  /** NDA_LLADDR's length, -1 when the message has none. */
  llLen = -1;
  /** A 6-byte NDA_LLADDR's first two bytes, big-endian (0 for another length). */
  llHi = 0;
  /** A 6-byte NDA_LLADDR's last four bytes as a big-endian signed 32-bit word. */
  llLo = 0;
  /** NDA_VNI, or -1 when the message has none. */
  vni = -1;
  /** NDA_PORT (host order), or -1 when the message has none. */
  port = -1;
  /** NDA_NH_ID, or -1 when the message has none. */
  nhid = -1;
  /** True when the message could not be read as numbers: decode it whole (which reports why). */
  odd = false;
  /** The message being visited (valid during the visit only). */
  msg: MessageView | undefined = undefined;

  /** Reads m into this object; never throws (see odd). */
  read(m: MessageView): this {
    const buf = m.buf;
    const p = m.payload;
    const end = m.end;
    this.msg = m;
    this.odd = false;
    this.dstLen = 0;
    this.dst0 = this.dst1 = this.dst2 = this.dst3 = 0;
    this.llLen = -1;
    this.llHi = this.llLo = 0;
    this.vni = this.port = this.nhid = -1;
    if (end - p < NDMSG_LEN) {
      this.family = end > p ? buf[p] : 0;
      this.ifindex = this.state = this.flags = 0;
      this.odd = true;
      return this;
    }
    // struct ndmsg: family u8, pad, pad16, ifindex s32, state u16, flags u8, type u8
    this.family = buf[p];
    this.ifindex = buf[p + 4] | (buf[p + 5] << 8) | (buf[p + 6] << 16) | (buf[p + 7] << 24);
    this.state = buf[p + 8] | (buf[p + 9] << 8);
    this.flags = buf[p + 10];
    let off = p + NDMSG_LEN;
    while (end - off >= NLA_HDRLEN) {
      const len = buf[off] | (buf[off + 1] << 8);
      if (len < NLA_HDRLEN || len > end - off) {
        this.odd = true;
        return this;
      }
      const v = off + NLA_HDRLEN;
      const vl = len - NLA_HDRLEN;
      switch ((buf[off + 2] | (buf[off + 3] << 8)) & NLA_TYPE_MASK) {
        case NDA_DST:
          if (vl === 4) {
            this.dstLen = 4;
            this.dst0 = i32be(buf, v);
            this.dst1 = this.dst2 = this.dst3 = 0;
          } else if (vl === 16) {
            this.dstLen = 16;
            this.dst0 = i32be(buf, v);
            this.dst1 = i32be(buf, v + 4);
            this.dst2 = i32be(buf, v + 8);
            this.dst3 = i32be(buf, v + 12);
          } else this.odd = true;
          break;
        case NDA_LLADDR:
          this.llLen = vl;
          if (vl === 6) {
            this.llHi = (buf[v] << 8) | buf[v + 1];
            this.llLo = i32be(buf, v + 2);
          } else this.llHi = this.llLo = 0;
          break;
        case NDA_VNI:
          if (vl >= 4) this.vni = (buf[v] | (buf[v + 1] << 8) | (buf[v + 2] << 16) | (buf[v + 3] << 24)) >>> 0;
          else this.odd = true;
          break;
        case NDA_PORT:
          if (vl >= 2) this.port = (buf[v] << 8) | buf[v + 1];
          else this.odd = true;
          break;
        case NDA_NH_ID:
          if (vl >= 4) this.nhid = (buf[v] | (buf[v + 1] << 8) | (buf[v + 2] << 16) | (buf[v + 3] << 24)) >>> 0;
          else this.odd = true;
          break;
        default:
          break; // the kind's decoder keeps or skips the rest
      }
      off += (len + 3) & ~3;
    }
    return this;
  }
}

/** What scanNeighFacts needs of a dump: the socket's dump(). */
interface FactsDumper {
  dump(encode: (w: MessageWriter) => void, parse: (m: MessageView) => undefined, opts: { what: string; transientView?: boolean }): Promise<unknown>;
}

/**
 * The dump behind neighbors.scan() and fdb.scan(): one reused NeighFacts per message, kept when
 * its family is one `family` takes and it is on `ifindex` (0: any; without strict checking the
 * kernel ignores the device filter, so it is applied here too). The request is encoded again
 * for each attempt of an interrupted dump, after onRestart. Resolves with the number visited.
 */
export async function scanNeighFacts(
  socket: FactsDumper,
  what: string,
  encode: (w: MessageWriter) => void,
  ifindex: number,
  family: (f: number) => boolean,
  visit: (facts: NeighFacts) => void,
  onRestart?: () => void,
): Promise<number> {
  const facts = new NeighFacts();
  let n = 0;
  let attempts = 0;
  await socket.dump(
    (w) => {
      if (attempts++ > 0) {
        n = 0;
        onRestart?.();
      }
      encode(w);
    },
    (m) => {
      facts.read(m);
      if (!family(facts.family)) return undefined;
      if (ifindex !== 0 && (m.flags & NLM_F_DUMP_FILTERED) === 0 && facts.ifindex !== ifindex) return undefined;
      n++;
      visit(facts);
      return undefined;
    },
    { what, transientView: true }, // facts.msg is valid during the visit only
  );
  facts.msg = undefined;
  return n;
}
