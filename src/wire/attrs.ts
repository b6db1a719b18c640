import type { MessageWriter } from './writer';
import { NetlinkParseError } from './errors';
import {
  RawAttribute,
  forEachAttr,
  rawAttr,
  readBe16,
  readBe32,
  readIP,
  readMac,
  readS32,
  readString,
  readU16,
  readU32,
  readU64,
  readU8,
} from './reader';

/**
 * Declarative attribute tables (as in pyroute2): each attribute is one line naming its kernel
 * type id and its codec, and the same table drives both encoding and decoding, so the two
 * cannot disagree. Unknown attributes survive decoding as raw bytes.
 */
export interface AttrCodec<T> {
  encode(w: MessageWriter, type: number, value: T): void;
  decode(buf: Buffer, off: number, len: number): T;
}

export const u8: AttrCodec<number> = { encode: (w, t, v) => w.u8(t, v), decode: readU8 };
export const u16: AttrCodec<number> = { encode: (w, t, v) => w.u16(t, v), decode: readU16 };
export const u32: AttrCodec<number> = { encode: (w, t, v) => w.u32(t, v), decode: readU32 };
export const s32: AttrCodec<number> = { encode: (w, t, v) => w.s32(t, v), decode: readS32 };
export const u64: AttrCodec<bigint> = { encode: (w, t, v) => w.u64(t, v), decode: readU64 };
export const be16: AttrCodec<number> = { encode: (w, t, v) => w.be16(t, v), decode: readBe16 };
export const be32: AttrCodec<number> = { encode: (w, t, v) => w.be32(t, v), decode: readBe32 };
export const string: AttrCodec<string> = { encode: (w, t, v) => w.string(t, v), decode: readString };
export const ip: AttrCodec<string> = { encode: (w, t, v) => w.ip(t, v), decode: readIP };
export const mac: AttrCodec<string> = { encode: (w, t, v) => w.mac(t, v), decode: readMac };
export const binary: AttrCodec<Buffer> = {
  encode: (w, t, v) => w.binary(t, v),
  decode: (buf, off, len) => Buffer.from(buf.subarray(off, off + len)),
};
/** Presence means true; false is not written. */
export const flag: AttrCodec<boolean> = {
  encode: (w, t, v) => {
    if (v) w.flag(t);
  },
  decode: () => true,
};
/** A u8 that means a boolean (IFLA_VXLAN_LEARNING and friends). */
export const bool8: AttrCodec<boolean> = {
  encode: (w, t, v) => w.u8(t, v ? 1 : 0),
  decode: (buf, off, len) => readU8(buf, off, len) !== 0,
};

export interface AttrDef<T> {
  type: number;
  codec: AttrCodec<T>;
}
export type AttrSpec = Record<string, AttrDef<any>>;
/** The decoded shape of a table: every field optional, typed by its codec. */
export type AttrValues<S extends AttrSpec> = {
  [K in keyof S]?: S[K] extends AttrDef<infer V> ? V : never;
};

export function attr<T>(type: number, codec: AttrCodec<T>): AttrDef<T> {
  return { type, codec };
}

/** A nested table as a codec of its own. */
export function nested<S extends AttrSpec>(table: AttrTable<S>, nestFlags = 0): AttrCodec<AttrValues<S>> {
  return {
    encode: (w, t, v) => {
      const n = w.nestStart(t, nestFlags);
      table.encode(w, v);
      w.nestEnd(n);
    },
    decode: (buf, off, len) => table.decode(buf, off, off + len).values,
  };
}

export interface Decoded<S extends AttrSpec> {
  values: AttrValues<S>;
  /** Attributes the table does not name, in the order they came. */
  unknown: RawAttribute[];
}

export class AttrTable<S extends AttrSpec> {
  private readonly byType: Array<[string, AttrDef<unknown>] | undefined> = [];
  private readonly order: Array<[string, AttrDef<unknown>]>;

  constructor(
    readonly name: string,
    readonly spec: S,
  ) {
    this.order = Object.entries(spec);
    for (const entry of this.order) this.byType[entry[1].type] = entry;
  }

  /** Writes every field that is not undefined, in table order. */
  encode(w: MessageWriter, values: AttrValues<S>): void {
    const v = values as Record<string, unknown>;
    for (const [key, def] of this.order) {
      const x = v[key];
      if (x !== undefined) def.codec.encode(w, def.type, x);
    }
  }

  decode(buf: Buffer, start: number, end: number): Decoded<S> {
    const values: Record<string, unknown> = {};
    const unknown: RawAttribute[] = [];
    forEachAttr(buf, start, end, (type, off, len) => {
      const entry = this.byType[type];
      if (!entry) {
        unknown.push(rawAttr(buf, type, off, len));
        return;
      }
      try {
        values[entry[0]] = entry[1].codec.decode(buf, off, len);
      } catch (e) {
        if (e instanceof NetlinkParseError) throw new NetlinkParseError(`${this.name}.${entry[0]}: ${e.message}`, off);
        throw e;
      }
    });
    return { values: values as AttrValues<S>, unknown };
  }

  /** The kernel type id of a field (for error messages and filters). */
  typeOf(key: keyof S & string): number {
    return this.spec[key].type;
  }
}

export function defineAttrs<S extends AttrSpec>(name: string, spec: S): AttrTable<S> {
  return new AttrTable(name, spec);
}
