/**
 * Fixed headers (struct ifinfomsg, rtmsg, ndmsg, ...) declared as tables of their fields:
 * offset and width once, used to write a request's header and to read a reply's, so the two
 * cannot disagree. The companion of attrs.ts for the part of a message before its attributes.
 */
import { NetlinkParseError } from './errors';
import type { MessageWriter } from './writer';

/** How one header field is stored: width, signedness and byte order. */
export type StructFieldType = 'u8' | 'u16' | 'u32' | 's32' | 'be16' | 'be32';

/** One field of a header: where it is and how it is stored. */
export interface StructField {
  /** Byte offset from the start of the header. */
  offset: number;
  /** Width, signedness and byte order. */
  type: StructFieldType;
}

/** A field at `offset` of `type`, e.g. `index: field(4, 's32')`. */
export function field(offset: number, type: StructFieldType): StructField {
  return { offset, type };
}

const WIDTH: Record<StructFieldType, number> = { u8: 1, u16: 2, u32: 4, s32: 4, be16: 2, be32: 4 };

/** The values of a header's fields, by name. */
export type StructValues<F extends Record<string, StructField>> = { [K in keyof F]: number };

/**
 * A fixed header: its size and its fields (make one with defineStruct()). Unnamed bytes
 * (padding) are written as zeros, as strict checking wants them.
 *
 * @example
 * ```ts
 * const IFADDRMSG = defineStruct('ifaddrmsg', 8, { family: field(0, 'u8'), prefixlen: field(1, 'u8'), index: field(4, 'u32') });
 * IFADDRMSG.write(w, { family: AF_INET, prefixlen: 24, index: 3 });
 * const h = IFADDRMSG.read(m.buf, m.payload, m.end);   // h.prefixlen === 24
 * ```
 */
export class StructDef<F extends Record<string, StructField>> {
  private readonly entries: Array<[string, StructField]>;

  /**
   * @param name - the C name, for errors ("route message of 4 bytes, struct rtmsg needs 12")
   * @param size - sizeof the struct, bytes
   * @param fields - field name -> offset and type
   */
  constructor(
    readonly name: string,
    readonly size: number,
    readonly fields: F,
  ) {
    this.entries = Object.entries(fields);
    for (const [key, f] of this.entries) {
      if (f.offset < 0 || f.offset + WIDTH[f.type] > size) throw new TypeError(`struct ${name}.${key} lies outside its ${size} bytes`);
    }
  }

  /** The byte offset of a field (for readers that read one field in a hot loop). */
  offsetOf(key: keyof F & string): number {
    return this.fields[key].offset;
  }

  /**
   * Reserves the header in the message being written (zeroed) and fills the fields given; the
   * rest stay zero. Returns the header's offset. Values are stored as the Buffer writers store
   * them (u8 and u32 taken modulo their width; RangeError for u16/s32 out of range).
   */
  write(w: MessageWriter, values: Partial<StructValues<F>>): number {
    const off = w.reserve(this.size);
    this.writeAt(w.buf, off, values);
    return off;
  }

  /** Fills the fields given at buf[off] (the bytes of the others are left as they are). */
  writeAt(buf: Buffer, off: number, values: Partial<StructValues<F>>): void {
    const v = values as Record<string, number | undefined>;
    for (const [key, f] of this.entries) {
      const x = v[key];
      if (x === undefined) continue;
      const at = off + f.offset;
      switch (f.type) {
        case 'u8':
          buf[at] = x;
          break;
        case 'u16':
          buf.writeUInt16LE(x, at);
          break;
        case 'u32':
          buf.writeUInt32LE(x >>> 0, at);
          break;
        case 's32':
          buf.writeInt32LE(x, at);
          break;
        case 'be16':
          buf.writeUInt16BE(x, at);
          break;
        case 'be32':
          buf.writeUInt32BE(x >>> 0, at);
          break;
      }
    }
  }

  /** Whether [off, end) holds the whole header. */
  fits(off: number, end: number): boolean {
    return end - off >= this.size;
  }

  /**
   * Reads every field of the header at buf[off]; throws NetlinkParseError (naming `what`, e.g.
   * "route message") when fewer than `size` bytes lie before `end`.
   */
  read(buf: Buffer, off: number, end: number, what = 'message'): StructValues<F> {
    if (end - off < this.size || off < 0 || end > buf.length) {
      throw new NetlinkParseError(`${what} of ${Math.max(0, end - off)} bytes, struct ${this.name} needs ${this.size}`, off);
    }
    const out: Record<string, number> = {};
    for (const [key, f] of this.entries) out[key] = readField(buf, off + f.offset, f.type);
    return out as StructValues<F>;
  }

  /** Reads one field; the caller has checked fits(). */
  get(buf: Buffer, off: number, key: keyof F & string): number {
    const f = this.fields[key];
    return readField(buf, off + f.offset, f.type);
  }
}

function readField(buf: Buffer, at: number, type: StructFieldType): number {
  switch (type) {
    case 'u8':
      return buf[at];
    case 'u16':
      return buf.readUInt16LE(at);
    case 'u32':
      return buf.readUInt32LE(at);
    case 's32':
      return buf.readInt32LE(at);
    case 'be16':
      return buf.readUInt16BE(at);
    case 'be32':
      return buf.readUInt32BE(at);
  }
}

/** Declares a fixed header (see StructDef for an example). */
export function defineStruct<F extends Record<string, StructField>>(name: string, size: number, fields: F): StructDef<F> {
  return new StructDef(name, size, fields);
}
