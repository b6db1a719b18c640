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
 *
 * An AttrCodec turns one attribute's value into bytes and back; u8, u32, ip, mac, nested(...)
 * and the others below are the ready-made ones.
 */
export interface AttrCodec<T> {
  /** Writes `value` as an attribute of `type`. Throws TypeError/RangeError for a value it cannot encode. */
  encode(w: MessageWriter, type: number, value: T): void;
  /** Reads the value at buf[off, off+len). Throws NetlinkParseError when the bytes are malformed. */
  decode(buf: Buffer, off: number, len: number): T;
}

/** u8 attribute. */
export const u8: AttrCodec<number> = { encode: (w, t, v) => w.u8(t, v), decode: readU8 };
/** Host-order u16 attribute. */
export const u16: AttrCodec<number> = { encode: (w, t, v) => w.u16(t, v), decode: readU16 };
/** Host-order u32 attribute. */
export const u32: AttrCodec<number> = { encode: (w, t, v) => w.u32(t, v), decode: readU32 };
/** Host-order s32 attribute. */
export const s32: AttrCodec<number> = { encode: (w, t, v) => w.s32(t, v), decode: readS32 };
/** Host-order u64 attribute, as a bigint. */
export const u64: AttrCodec<bigint> = { encode: (w, t, v) => w.u64(t, v), decode: readU64 };
/** Network-order u16 attribute (ports). */
export const be16: AttrCodec<number> = { encode: (w, t, v) => w.be16(t, v), decode: readBe16 };
/** Network-order u32 attribute. */
export const be32: AttrCodec<number> = { encode: (w, t, v) => w.be32(t, v), decode: readBe32 };
/** NUL-terminated string attribute. */
export const string: AttrCodec<string> = { encode: (w, t, v) => w.string(t, v), decode: readString };
/** IPv4 or IPv6 address attribute, as canonical text. */
export const ip: AttrCodec<string> = { encode: (w, t, v) => w.ip(t, v), decode: readIP };
/** Link-layer address attribute, as "aa:bb:cc:dd:ee:ff". */
export const mac: AttrCodec<string> = { encode: (w, t, v) => w.mac(t, v), decode: readMac };
/** Opaque bytes attribute (decoded as a copy). */
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

/** One line of an attribute table: the kernel type id and the codec of its value. */
export interface AttrDef<T> {
  /** The attribute type id (IFLA_*, RTA_*, ...). */
  type: number;
  /** How its value is encoded and decoded. */
  codec: AttrCodec<T>;
  /**
   * For an address the kernel keeps in one attribute per family (IFLA_VXLAN_LOCAL and
   * IFLA_VXLAN_LOCAL6): the type an IPv6 value (a string with ':') is written as. Either type
   * decodes into the same field.
   */
  type6?: number;
  /**
   * A known attribute that is deliberately not decoded (volatile state such as cache info or
   * statistics): decoding passes over it instead of keeping it as unknown.
   */
  skip?: boolean;
}
/** An attribute table's definition: field name -> AttrDef (build the lines with attr()). */
export type AttrSpec = Record<string, AttrDef<any>>;
/** The decoded shape of a table: every field optional, typed by its codec. */
export type AttrValues<S extends AttrSpec> = {
  [K in keyof S]?: S[K] extends AttrDef<infer V> ? V : never;
};

/** Options of a table line (see AttrDef). */
export interface AttrOptions {
  /** The attribute an IPv6 value goes in (see AttrDef.type6). */
  type6?: number;
}

/** One table line: attribute `type` with `codec`, e.g. `mtu: attr(IFLA_MTU, u32)`. */
export function attr<T>(type: number, codec: AttrCodec<T>, options?: AttrOptions): AttrDef<T> {
  return options?.type6 !== undefined ? { type, codec, type6: options.type6 } : { type, codec };
}

const ignored: AttrCodec<never> = {
  encode: (_w, t) => {
    throw new TypeError(`attribute ${t} is read-only state and is never written`);
  },
  decode: () => {
    throw new TypeError('a skipped attribute is never decoded');
  },
};

/**
 * A known attribute that is not decoded: volatile state (RTA_CACHEINFO, NDA_CACHEINFO, ...)
 * that is no field of an object. Naming it keeps it out of the objects' unknown lists.
 */
export function skip(type: number): AttrDef<never> {
  return { type, codec: ignored, skip: true };
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

/**
 * A nest whose every inner attribute is one element (netlink's "nested array": the inner
 * type is the element's index, or 0 where a family ignores it, as WireGuard's peers do).
 * Elements are written with type `firstIndex + i`; reading takes them in order, whatever their type.
 *
 * @param element - the codec of one element (e.g. nested(table) for a list of nests)
 * @param firstIndex - the type of the first element: 1 for the controller's lists, 0 for WireGuard
 * @param nestFlags - flags for the outer nest (NLA_F_NESTED where the family parses strictly)
 */
export function nestedArray<T>(element: AttrCodec<T>, firstIndex = 1, nestFlags = 0): AttrCodec<T[]> {
  return {
    encode: (w, t, v) => {
      const n = w.nestStart(t, nestFlags);
      for (let i = 0; i < v.length; i++) element.encode(w, firstIndex + i, v[i]);
      w.nestEnd(n);
    },
    decode: (buf, off, len) => {
      const out: T[] = [];
      forEachAttr(buf, off, off + len, (_type, o, l) => out.push(element.decode(buf, o, l)));
      return out;
    },
  };
}

/** What AttrTable.decode() returns. */
export interface Decoded<S extends AttrSpec> {
  /** The named attributes found, decoded. */
  values: AttrValues<S>;
  /** Attributes the table does not name, in the order they came. */
  unknown: RawAttribute[];
}

/**
 * A nested table as a codec that keeps what the table does not name: decoding gives
 * { values, unknown } (see AttrTable.decode), encoding writes the values, then the unknown
 * attributes back as they were.
 */
export function nestedDecoded<S extends AttrSpec>(table: AttrTable<S>, nestFlags = 0): AttrCodec<Decoded<S>> {
  return {
    encode: (w, t, v) => {
      const n = w.nestStart(t, nestFlags);
      table.encode(w, v.values);
      for (const u of v.unknown) w.binary(u.type, u.data);
      w.nestEnd(n);
    },
    decode: (buf, off, len) => table.decode(buf, off, off + len),
  };
}

/**
 * A set of attributes with their codecs, used both to write and to read them (make one with
 * defineAttrs()).
 *
 * @example
 * ```ts
 * const vxlanData = defineAttrs('vxlan', { vni: attr(1, u32), port: attr(15, be16) });
 * vxlanData.encode(w, { vni: 100, port: 4789 });
 * const { values, unknown } = vxlanData.decode(buf, start, end);   // values.vni === 100
 * ```
 */
export class AttrTable<S extends AttrSpec> {
  private readonly byType: Array<[string, AttrDef<unknown>] | undefined> = [];
  private readonly order: Array<[string, AttrDef<unknown>]>;
  /** The fields the table decodes and encodes (skipped lines left out), in table order. */
  readonly names: readonly string[];

  /**
   * @param name - the table's name, prefixed to decode errors ("vxlan.port: ...")
   * @param spec - field name -> AttrDef
   */
  constructor(
    readonly name: string,
    readonly spec: S,
  ) {
    this.order = Object.entries(spec).filter(([, def]) => !def.skip);
    for (const entry of Object.entries(spec)) {
      const [key, def] = entry;
      for (const t of def.type6 === undefined ? [def.type] : [def.type, def.type6]) {
        if (this.byType[t]) throw new TypeError(`${name}: attribute ${t} is both ${this.byType[t]![0]} and ${key}`);
        this.byType[t] = entry;
      }
    }
    this.names = this.order.map(([key]) => key);
  }

  /** Writes every field that is not undefined, in table order. Throws what the codecs throw (TypeError, RangeError) for values they cannot encode. */
  encode(w: MessageWriter, values: AttrValues<S>): void {
    const v = values as Record<string, unknown>;
    for (const [key, def] of this.order) {
      const x = v[key];
      if (x === undefined) continue;
      const type = def.type6 !== undefined && typeof x === 'string' && x.includes(':') ? def.type6 : def.type;
      def.codec.encode(w, type, x);
    }
  }

  /**
   * Reads the attributes in buf[start, end): named ones into `values` (a repeated one keeps
   * the last), the rest into `unknown`. Throws NetlinkParseError, naming the field, when an
   * attribute header or value is malformed.
   */
  decode(buf: Buffer, start: number, end: number): Decoded<S> {
    const values: Record<string, unknown> = {};
    const unknown = this.decodeInto(buf, start, end, values) ?? [];
    return { values: values as AttrValues<S>, unknown };
  }

  /**
   * decode() into an object of the caller's (fields are assigned as found, so a caller can
   * give it its final shape first). Returns the attributes the table does not name, or
   * undefined when there are none: objects read back by the thousand carry no empty arrays.
   * Throws NetlinkParseError, naming the field, when an attribute is malformed.
   */
  decodeInto(buf: Buffer, start: number, end: number, values: object): RawAttribute[] | undefined {
    const out = values as Record<string, unknown>;
    let unknown: RawAttribute[] | undefined;
    forEachAttr(buf, start, end, (type, off, len) => {
      const entry = this.byType[type];
      if (!entry) {
        (unknown ??= []).push(rawAttr(buf, type, off, len));
        return;
      }
      if (entry[1].skip) return;
      try {
        out[entry[0]] = entry[1].codec.decode(buf, off, len);
      } catch (e) {
        if (e instanceof NetlinkParseError) throw new NetlinkParseError(`${this.name}.${entry[0]}: ${e.message}`, off);
        throw e;
      }
    });
    return unknown;
  }

  /** The field a kernel attribute type decodes into, or undefined (unknown or skipped). */
  fieldOf(type: number): string | undefined {
    const entry = this.byType[type];
    return entry && !entry[1].skip ? entry[0] : undefined;
  }

  /** Whether the table names an attribute type (a field, or a skipped one). */
  knows(type: number): boolean {
    return this.byType[type] !== undefined;
  }

  /** The kernel type id of a field (for error messages and filters). */
  typeOf(key: keyof S & string): number {
    return this.spec[key].type;
  }
}

/** Makes an AttrTable named `name` from `spec` (see AttrTable for an example). */
export function defineAttrs<S extends AttrSpec>(name: string, spec: S): AttrTable<S> {
  return new AttrTable(name, spec);
}
