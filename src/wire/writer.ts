import { NLA_HDRLEN, NLMSG_HDRLEN, nlAlign } from './constants';
import { parseIPv4, parseIPv6Into } from '../values/ip';
import { parseMacInto } from '../values/mac';

/**
 * Appends netlink messages and attributes to one growing buffer.
 *
 * Many messages can be written back to back (a pipelined batch is one buffer, one send).
 * Nothing is allocated per attribute; the buffer doubles when it runs out. Padding is always
 * written as zeros, so reusing the writer after reset() cannot leak old bytes into a message.
 * Attribute writers take host-order values unless named be*; out-of-range values throw
 * RangeError from the underlying Buffer write (callers validate first).
 *
 * @example
 * ```ts
 * // an Encode for NetlinkSocket.request(): it hands over its own (reset) writer
 * const encode = (w: MessageWriter) => {
 *   w.begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
 *   w.reserve(16);                      // struct ifinfomsg, zeroed
 *   w.string(IFLA_IFNAME, 'dummy0');
 *   const li = w.nestStart(IFLA_LINKINFO);
 *   w.string(IFLA_INFO_KIND, 'dummy');
 *   w.nestEnd(li);
 *   w.end();
 * };
 * await sock.request(encode, { what: 'add dummy0' });
 * ```
 */
export class MessageWriter {
  /** The backing buffer; replaced (not resized) when it grows, so re-read it after writes. */
  buf: Buffer;
  /** Bytes written so far. */
  length = 0;
  private msgStart = -1;

  constructor(initialBytes = 16384) {
    this.buf = Buffer.alloc(initialBytes);
  }

  /** Forgets everything written, keeping the buffer for reuse. */
  reset(): void {
    this.length = 0;
    this.msgStart = -1;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf.fill(0, 0, this.length); // the old buffer may hold a secret being written; it is dropped zeroed
    this.buf = next;
  }

  /** Starts a message: writes an nlmsghdr whose length is fixed by end(). seq and pid are 0
   * here; the socket stamps the sequence number when it sends. Returns the message offset. */
  begin(type: number, flags: number): number {
    this.ensure(NLMSG_HDRLEN);
    const off = this.length;
    const b = this.buf;
    b.writeUInt32LE(0, off);
    b.writeUInt16LE(type, off + 4);
    b.writeUInt16LE(flags, off + 6);
    b.writeUInt32LE(0, off + 8);
    b.writeUInt32LE(0, off + 12);
    this.length = off + NLMSG_HDRLEN;
    this.msgStart = off;
    return off;
  }

  /** Finishes the message begun last; returns its offset. Throws Error without a begin(). */
  end(): number {
    const off = this.msgStart;
    if (off < 0) throw new Error('MessageWriter.end() without begin()');
    this.buf.writeUInt32LE(this.length - off, off);
    this.msgStart = -1;
    return off;
  }

  /** Reserves n zeroed bytes (a fixed header such as ifinfomsg), 4-byte aligned. Returns the
   * offset so the caller can fill the fields. */
  reserve(n: number): number {
    const padded = nlAlign(n);
    this.ensure(padded);
    const off = this.length;
    this.buf.fill(0, off, off + padded);
    this.length = off + padded;
    return off;
  }

  /**
   * Reserves n bytes (4-byte aligned) without zeroing them, for an encoder that writes every
   * one of them itself, pads included: zeroing a few bytes with fill() is a native call, which
   * costs more than the message's own writes when a batch encodes 10k small messages.
   * Returns the offset.
   */
  claim(n: number): number {
    const padded = nlAlign(n);
    this.ensure(padded);
    const off = this.length;
    this.length = off + padded;
    return off;
  }

  /** Drops everything written since offset (used when encoding a message fails midway). */
  truncate(offset: number): void {
    this.length = offset;
    this.msgStart = -1;
  }

  /** Drops what was written since offset inside the current message (the message stays
   * begun): how an encoder takes back an attribute that did not fit its budget. */
  rewind(offset: number): void {
    if (offset < this.msgStart + NLMSG_HDRLEN || offset > this.length) throw new RangeError(`rewind to ${offset}: outside the current message`);
    this.length = offset;
  }

  // ---- attributes ----

  /** Writes an attribute header for a payload of len bytes; returns the payload offset. */
  private attrHeader(type: number, len: number): number {
    this.ensure(NLA_HDRLEN + nlAlign(len));
    const off = this.length;
    this.buf.writeUInt16LE(NLA_HDRLEN + len, off);
    this.buf.writeUInt16LE(type, off + 2);
    const padded = nlAlign(len);
    if (padded !== len) this.buf.fill(0, off + NLA_HDRLEN + len, off + NLA_HDRLEN + padded);
    this.length = off + NLA_HDRLEN + padded;
    return off + NLA_HDRLEN;
  }

  /** A flag attribute: a header with no payload (presence means true). */
  flag(type: number): void {
    this.attrHeader(type, 0);
  }

  /** A u8 attribute (v is truncated to 8 bits, no range check). */
  u8(type: number, v: number): void {
    const off = this.attrHeader(type, 1);
    this.buf[off] = v;
  }

  /** A host-order u16 attribute; RangeError outside 0..65535. */
  u16(type: number, v: number): void {
    const off = this.attrHeader(type, 2); // header first: it may grow (replace) the buffer
    this.buf.writeUInt16LE(v, off);
  }

  /** A host-order u32 attribute (v is taken modulo 2^32). */
  u32(type: number, v: number): void {
    const off = this.attrHeader(type, 4); // header first: it may grow (replace) the buffer
    this.buf.writeUInt32LE(v >>> 0, off);
  }

  /** A host-order signed 32-bit attribute; RangeError outside the s32 range. */
  s32(type: number, v: number): void {
    const off = this.attrHeader(type, 4); // header first: it may grow (replace) the buffer
    this.buf.writeInt32LE(v, off);
  }

  /** A host-order u64 attribute; RangeError for a negative, too large or non-integer value. */
  u64(type: number, v: bigint | number): void {
    const off = this.attrHeader(type, 8); // header first: it may grow (replace) the buffer
    this.buf.writeBigUInt64LE(BigInt(v), off);
  }

  /** A network-order (big-endian) u16 attribute, e.g. a UDP port; RangeError outside 0..65535. */
  be16(type: number, v: number): void {
    const off = this.attrHeader(type, 2); // header first: it may grow (replace) the buffer
    this.buf.writeUInt16BE(v, off);
  }

  /** A network-order (big-endian) u32 attribute (v is taken modulo 2^32). */
  be32(type: number, v: number): void {
    const off = this.attrHeader(type, 4); // header first: it may grow (replace) the buffer
    this.buf.writeUInt32BE(v >>> 0, off);
  }

  /** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND, ...). */
  string(type: number, s: string): void {
    const len = Buffer.byteLength(s);
    const off = this.attrHeader(type, len + 1);
    this.buf.write(s, off, len, 'utf8');
    this.buf[off + len] = 0;
  }

  /** An attribute whose payload is `data` as is. */
  binary(type: number, data: Uint8Array): void {
    const off = this.attrHeader(type, data.length);
    this.buf.set(data, off);
  }

  /** An IPv4 or IPv6 address from its text form; throws TypeError on an invalid literal (callers
   * validate earlier with a user-facing message, so this is a programming error). */
  ip(type: number, s: string): void {
    const v4 = parseIPv4(s);
    if (v4 >= 0) {
      const off = this.attrHeader(type, 4); // header first: it may grow (replace) the buffer
    this.buf.writeUInt32BE(v4, off);
      return;
    }
    const start = this.length;
    const off = this.attrHeader(type, 16);
    if (!parseIPv6Into(s, this.buf, off)) {
      this.length = start;
      throw new TypeError(`not an IP address: ${JSON.stringify(s)}`);
    }
  }

  /** A 6-byte MAC from "aa:bb:cc:dd:ee:ff"; throws TypeError on an invalid literal (nothing is written). */
  mac(type: number, s: string): void {
    const start = this.length;
    const off = this.attrHeader(type, 6);
    if (!parseMacInto(s, this.buf, off)) {
      this.length = start;
      throw new TypeError(`not a MAC address: ${JSON.stringify(s)}`);
    }
  }

  /** Opens a nested attribute; close with nestEnd. Like iproute2, the NLA_F_NESTED bit is set
   * only when asked (pass NLA_F_NESTED in flags): rtnetlink accepts both for its old nests. */
  nestStart(type: number, flags = 0): number {
    this.ensure(NLA_HDRLEN);
    const off = this.length;
    this.buf.writeUInt16LE(0, off);
    this.buf.writeUInt16LE(type | flags, off + 2);
    this.length = off + NLA_HDRLEN;
    return off;
  }

  /** Closes the nest opened at `off` (nestStart's return value) by fixing its length. */
  nestEnd(off: number): void {
    this.buf.writeUInt16LE(this.length - off, off);
  }
}
