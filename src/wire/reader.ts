import { NLA_HDRLEN, NLA_TYPE_MASK, NLMSG_HDRLEN, nlAlign } from './constants';
import { NetlinkParseError } from './errors';
import { formatIP } from '../values/ip';
import { formatMac } from '../values/mac';

/** One netlink message inside a received buffer (a view: nothing is copied). */
export interface MessageView {
  /** nlmsg_type (NLMSG_* or RTM_*). */
  type: number;
  /** nlmsg_flags (NLM_F_*). */
  flags: number;
  /** nlmsg_seq: the request this answers (0 for multicast notifications). */
  seq: number;
  /** nlmsg_pid: the sender's port id (0 for the kernel). */
  pid: number;
  /** The receive buffer the message lies in (shared, not copied). */
  buf: Buffer;
  /** Offset of the nlmsghdr. */
  start: number;
  /** Offset of the payload (after the 16-byte header). */
  payload: number;
  /** Offset just past this message's bytes (nlmsg_len, not padded). */
  end: number;
}

/** A view of its own with m's fields (to keep a message handed in a reused view). */
export function copyView(m: MessageView): MessageView {
  return { type: m.type, flags: m.flags, seq: m.seq, pid: m.pid, buf: m.buf, start: m.start, payload: m.payload, end: m.end };
}

/**
 * Splits [start, end) into netlink messages, checking every length against the bounds.
 * Calls visit for each; a malformed header throws NetlinkParseError (never reads past end).
 * With `reuse`, every message is handed in that one object, its fields overwritten: visit must
 * not keep it (copyView keeps one).
 */
export function forEachMessage(buf: Buffer, start: number, end: number, visit: (m: MessageView) => void, reuse?: MessageView): void {
  if (start < 0 || end > buf.length || start > end) throw new NetlinkParseError('message range outside the buffer', start);
  let off = start;
  while (end - off >= NLMSG_HDRLEN) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > end - off) {
      throw new NetlinkParseError(`bad nlmsg_len ${len} (${end - off} bytes left)`, off);
    }
    const type = buf.readUInt16LE(off + 4);
    const flags = buf.readUInt16LE(off + 6);
    const seq = buf.readUInt32LE(off + 8);
    const pid = buf.readUInt32LE(off + 12);
    if (reuse === undefined) {
      visit({ type, flags, seq, pid, buf, start: off, payload: off + NLMSG_HDRLEN, end: off + len });
    } else {
      reuse.type = type;
      reuse.flags = flags;
      reuse.seq = seq;
      reuse.pid = pid;
      reuse.buf = buf;
      reuse.start = off;
      reuse.payload = off + NLMSG_HDRLEN;
      reuse.end = off + len;
      visit(reuse);
    }
    off += nlAlign(len);
  }
  if (off < end) {
    // Fewer bytes than a header left over: only padding is acceptable.
    for (let i = off; i < end; i++) {
      if (buf[i] !== 0) throw new NetlinkParseError(`${end - off} trailing bytes after the last message`, off);
    }
  }
}

/** All messages in a buffer as an array (convenient for tests and small replies). */
export function parseMessages(buf: Buffer, start = 0, end = buf.length): MessageView[] {
  const out: MessageView[] = [];
  forEachMessage(buf, start, end, (m) => out.push(m));
  return out;
}

/**
 * Walks the attributes in [start, end). visit(type, valueOffset, valueLength, rawType) gets the
 * type without the NESTED/BYTEORDER bits. A length that runs past end throws NetlinkParseError.
 */
export function forEachAttr(
  buf: Buffer,
  start: number,
  end: number,
  visit: (type: number, off: number, len: number, rawType: number) => void,
): void {
  if (start < 0 || end > buf.length || start > end) throw new NetlinkParseError('attribute range outside the buffer', start);
  let off = start;
  while (end - off >= NLA_HDRLEN) {
    const len = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    if (len < NLA_HDRLEN || len > end - off) {
      throw new NetlinkParseError(`bad nla_len ${len} for attribute type ${rawType & NLA_TYPE_MASK} (${end - off} bytes left)`, off);
    }
    visit(rawType & NLA_TYPE_MASK, off + NLA_HDRLEN, len - NLA_HDRLEN, rawType);
    off += nlAlign(len);
  }
}

/** An attribute we do not decode, kept as its bytes (copied, so it outlives the receive buffer). */
export interface RawAttribute {
  /** Attribute type, without the NESTED/BYTEORDER bits. */
  type: number;
  /** The attribute's value bytes (a copy). */
  data: Buffer;
}

/** Copies the value at buf[off, off+len) into a RawAttribute of `type`. Never throws. */
export function rawAttr(buf: Buffer, type: number, off: number, len: number): RawAttribute {
  return { type, data: Buffer.from(buf.subarray(off, off + len)) };
}

// ---- bounds-checked value readers: (buf, valueOffset, valueLength) -> value ----

function need(len: number, want: number, what: string, off: number): void {
  if (len < want) throw new NetlinkParseError(`${what}: ${len} bytes, need ${want}`, off);
}

/** Reads a u8 value; throws NetlinkParseError when len is under 1. */
export function readU8(buf: Buffer, off: number, len: number): number {
  need(len, 1, 'u8 attribute', off);
  return buf[off];
}
/** Reads a host-order (little-endian) u16 value; throws NetlinkParseError when len is under 2. */
export function readU16(buf: Buffer, off: number, len: number): number {
  need(len, 2, 'u16 attribute', off);
  return buf.readUInt16LE(off);
}
/** Reads a host-order (little-endian) u32 value; throws NetlinkParseError when len is under 4. */
export function readU32(buf: Buffer, off: number, len: number): number {
  need(len, 4, 'u32 attribute', off);
  return buf.readUInt32LE(off);
}
/** Reads a host-order (little-endian) s32 value; throws NetlinkParseError when len is under 4. */
export function readS32(buf: Buffer, off: number, len: number): number {
  need(len, 4, 's32 attribute', off);
  return buf.readInt32LE(off);
}
/** Reads a host-order (little-endian) u64 value as a bigint; throws NetlinkParseError when len is under 8. */
export function readU64(buf: Buffer, off: number, len: number): bigint {
  need(len, 8, 'u64 attribute', off);
  return buf.readBigUInt64LE(off);
}
/** Reads a network-order (big-endian) u16, e.g. a port; throws NetlinkParseError when len is under 2. */
export function readBe16(buf: Buffer, off: number, len: number): number {
  need(len, 2, 'be16 attribute', off);
  return buf.readUInt16BE(off);
}
/** Reads a network-order (big-endian) u32; throws NetlinkParseError when len is under 4. */
export function readBe32(buf: Buffer, off: number, len: number): number {
  need(len, 4, 'be32 attribute', off);
  return buf.readUInt32BE(off);
}
/** A string attribute: up to the first NUL (the kernel NUL-terminates, but do not rely on it). */
export function readString(buf: Buffer, off: number, len: number): string {
  let e = off;
  const end = off + len;
  while (e < end && buf[e] !== 0) e++;
  return buf.toString('utf8', off, e);
}
/** Reads a 4- or 16-byte address as canonical text; throws NetlinkParseError for any other length. */
export function readIP(buf: Buffer, off: number, len: number): string {
  const s = formatIP(buf, off, len);
  if (s === null) throw new NetlinkParseError(`address attribute of ${len} bytes (want 4 or 16)`, off);
  return s;
}
/** Reads a link-layer address as "aa:bb:..." (any non-zero length); throws NetlinkParseError when empty. */
export function readMac(buf: Buffer, off: number, len: number): string {
  if (len === 0) throw new NetlinkParseError('empty link-layer address', off);
  return formatMac(buf, off, len);
}
