/**
 * How the in-memory kernel reads requests and refuses them: the attributes of a request by type
 * (as the kernel's nla_parse() leaves them: the last of a type wins), and KernelError, the
 * errno plus the extended-ack text the real kernel would answer with.
 */
import { constants as osConstants } from 'node:os';
import { NLA_HDRLEN, NLA_TYPE_MASK, nlAlign } from '../wire/constants';
import { formatIP } from '../values/ip';
import { formatMac } from '../values/mac';

/** errno values by name (Linux). */
export const E = osConstants.errno;

/** A refusal: errno, and the kernel's NLMSGERR_ATTR_MSG text when it gives one. */
export class KernelError extends Error {
  constructor(
    readonly errno: number,
    readonly extack?: string,
  ) {
    super(extack ?? `errno ${errno}`);
  }
}

/** Throws KernelError(errno, extack). */
export function fail(errno: number, extack?: string): never {
  throw new KernelError(errno, extack);
}

interface Slot {
  off: number;
  len: number;
}

/**
 * The attributes in [start, end) of a request, by type. Malformed attributes (a length that
 * runs past the end, or shorter than a header) are EINVAL, as the kernel's nla_parse() says.
 */
export class Attrs {
  private readonly slots = new Map<number, Slot>();
  private readonly order: Array<{ type: number; off: number; len: number }> = [];

  private constructor(readonly buf: Buffer) {}

  /** Parses [start, end); throws KernelError EINVAL for malformed attributes. */
  static parse(buf: Buffer, start: number, end: number): Attrs {
    const a = new Attrs(buf);
    let off = start;
    while (end - off >= NLA_HDRLEN) {
      const len = buf.readUInt16LE(off);
      const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
      if (len < NLA_HDRLEN || len > end - off) fail(E.EINVAL, 'Attribute failed policy validation');
      const slot = { off: off + NLA_HDRLEN, len: len - NLA_HDRLEN };
      a.slots.set(type, slot);
      a.order.push({ type, ...slot });
      off += nlAlign(len);
    }
    return a;
  }

  /** Attributes in the order they came (for nests that repeat a type, e.g. RTA_METRICS). */
  get all(): ReadonlyArray<{ type: number; off: number; len: number }> {
    return this.order;
  }

  has(type: number): boolean {
    return this.slots.has(type);
  }

  /** The value's length in bytes, or -1 when absent. */
  len(type: number): number {
    return this.slots.get(type)?.len ?? -1;
  }

  private need(type: number, bytes: number): Slot | undefined {
    const s = this.slots.get(type);
    if (s === undefined) return undefined;
    if (s.len < bytes) fail(E.EINVAL, 'Attribute failed policy validation');
    return s;
  }

  u8(type: number): number | undefined {
    const s = this.need(type, 1);
    return s && this.buf[s.off];
  }

  u16(type: number): number | undefined {
    const s = this.need(type, 2);
    return s && this.buf.readUInt16LE(s.off);
  }

  be16(type: number): number | undefined {
    const s = this.need(type, 2);
    return s && this.buf.readUInt16BE(s.off);
  }

  u32(type: number): number | undefined {
    const s = this.need(type, 4);
    return s && this.buf.readUInt32LE(s.off);
  }

  s32(type: number): number | undefined {
    const s = this.need(type, 4);
    return s && this.buf.readInt32LE(s.off);
  }

  /** A string attribute up to its first NUL (or its end). */
  str(type: number): string | undefined {
    const s = this.slots.get(type);
    if (s === undefined) return undefined;
    let e = s.off;
    while (e < s.off + s.len && this.buf[e] !== 0) e++;
    return this.buf.toString('utf8', s.off, e);
  }

  /** A copy of the value's bytes. */
  bytes(type: number): Buffer | undefined {
    const s = this.slots.get(type);
    return s && Buffer.from(this.buf.subarray(s.off, s.off + s.len));
  }

  /** An address of exactly 4 or 16 bytes (EINVAL otherwise). */
  addr(type: number, want?: 4 | 16): Buffer | undefined {
    const s = this.slots.get(type);
    if (s === undefined) return undefined;
    if ((want !== undefined && s.len !== want) || (s.len !== 4 && s.len !== 16)) fail(E.EINVAL, 'Attribute failed policy validation');
    return Buffer.from(this.buf.subarray(s.off, s.off + s.len));
  }

  /** The attributes nested in `type`, or undefined when absent. */
  nest(type: number): Attrs | undefined {
    const s = this.slots.get(type);
    return s && Attrs.parse(this.buf, s.off, s.off + s.len);
  }

  /** Where the value of `type` starts and ends in buf (for struct-carrying attributes). */
  range(type: number): { off: number; end: number } | undefined {
    const s = this.slots.get(type);
    return s && { off: s.off, end: s.off + s.len };
  }
}

/** Address bytes as canonical text ("10.0.0.1", "fd00::1"). */
export function ipText(b: Uint8Array): string {
  return formatIP(b, 0, b.length) ?? '?';
}

/** MAC bytes as "aa:bb:..". */
export function macText(b: Uint8Array): string {
  return formatMac(b, 0, b.length);
}

/** Whether two byte strings are equal (both absent counts as equal). */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.compare(a, b) === 0;
}

/** Clears the host bits of an address beyond `len` (a copy). */
export function maskBytes(a: Uint8Array, len: number): Buffer {
  const out = Buffer.from(a);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, len - i * 8));
    out[i] &= bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return out;
}

/** Whether `a` lies in prefix p/len (same family). */
export function inPrefix(a: Uint8Array, p: Uint8Array, len: number): boolean {
  if (a.length !== p.length) return false;
  return Buffer.compare(maskBytes(a, len), maskBytes(p, len)) === 0;
}
