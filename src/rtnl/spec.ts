/**
 * The spec side of each message kind's table: the fields a spec may have, how each is checked
 * and what it means. One FieldTable per spec interface (AddressSpec, VxlanSpec, RouteSpec...)
 * drives the field names validation accepts, every field's check, the "did you mean" hints
 * for words users bring from iproute2 and pyroute2, and the docs: each field's `doc` is the
 * doc comment of the interface's property (test/rtnl/tables.test.js holds them equal).
 *
 * A spec is plain data: only its own properties are fields (an inherited `up`, from a polluted
 * prototype or `{ __proto__: ... }` through Object.assign, is reported, never read).
 */
import { checkAddress, parseFamily, parsePrefix } from '../values/address';
import type { IpFamily } from '../values/ip';
import { checkMac, checkUnicastMac } from '../values/mac';
import { checkIfName, checkNetns } from '../values/names';
import { checkBool, checkInt, checkKeys, describeValue, isObject, own, type Problems } from '../values/problems';
import { checkDevice } from './validate';

/** Checks one field's value (present, not undefined), adding problems at `path`. */
export type FieldCheck = (p: Problems, path: string, v: unknown) => unknown;

/** One field of a spec: its check and its meaning. */
export interface FieldDef {
  /** Checks a given value (called only when the field is present and not undefined). */
  check: FieldCheck;
  /** What the field means: the doc comment of the typed interface's property, word for word. */
  doc: string;
  /** For a required field: what to say when it is missing ("required (a device name or index)"). */
  required?: string;
}

/** A field of `doc` checked by `check` (see FieldDef). */
export function fieldOf(check: FieldCheck, doc: string, required?: string): FieldDef {
  return required === undefined ? { check, doc } : { check, doc, required };
}

/**
 * Words users bring from iproute2 (`ip route add ... gw`, `proto`, `src`, `nud`, `txqlen`) and
 * pyroute2 (`oif`, `gateway`, `priority`, `ifname`) that mean one of our fields. A spec with
 * one of them is still refused, with "did you mean `via`?"; a word is offered only by tables
 * that have the field it names and do not use the word themselves.
 */
export const COMMON_SYNONYMS: Readonly<Record<string, string>> = Object.freeze({
  device: 'dev',
  oif: 'dev',
  interface: 'dev',
  gateway: 'via',
  gw: 'via',
  priority: 'metric',
  preference: 'metric',
  multipath: 'nexthops',
  proto: 'protocol',
  to: 'dst',
  destination: 'dst',
  ifname: 'name',
  txqlen: 'txqueuelen',
  ifalias: 'alias',
  nud: 'state',
  brd: 'broadcast',
});

/** The fields of one spec interface, with their checks, docs and synonyms. */
export class FieldTable {
  /** The field names a spec may have, in table order. */
  readonly names: readonly string[];
  private readonly hints: Readonly<Record<string, string>>;

  /**
   * @param name - the typed interface the table describes ('AddressSpec'), for the docs check
   * @param fields - field name -> FieldDef
   * @param synonyms - the table's own "did you mean" words (COMMON_SYNONYMS apply too, where they fit)
   */
  constructor(
    readonly name: string,
    readonly fields: Readonly<Record<string, FieldDef>>,
    synonyms: Readonly<Record<string, string>> = {},
  ) {
    this.names = Object.keys(fields);
    const hints: Record<string, string> = {};
    for (const [word, meant] of Object.entries({ ...COMMON_SYNONYMS, ...synonyms })) {
      if (this.names.includes(meant) && !this.names.includes(word)) hints[word] = meant;
    }
    this.hints = hints;
  }

  /** The "did you mean" words this table answers, word -> field. */
  get synonyms(): Readonly<Record<string, string>> {
    return this.hints;
  }

  /**
   * Checks a spec: an object, no fields outside the table (a synonym gets "did you mean"), no
   * inherited fields, every required one present, each given one checked. Appends every
   * problem to p under `path`; returns whether this spec added none. `extra` fields (another
   * table's: the common link settings of a kind) are accepted here and checked by their own
   * table. Never throws, whatever the value (BigInt, cycles, getters that throw aside).
   */
  check(p: Problems, path: string, x: unknown, what = 'spec', extra: readonly string[] = []): x is Record<string, unknown> {
    const before = p.list.length;
    if (!isObject(x)) {
      p.add(path, `expected ${what} object, got ${describeValue(x)}`);
      return false;
    }
    checkKeys(p, path, x, extra.length ? [...this.names, ...extra] : this.names, this.hints);
    this.checkFields(p, path, x);
    return p.list.length === before;
  }

  /** Checks only this table's fields of x (required ones and given ones); no key check. */
  checkFields(p: Problems, path: string, x: object): void {
    for (const name of this.names) {
      const f = this.fields[name];
      const v = own(x, name);
      // The path is made only for a field there is something to say about (10k specs a cycle).
      if (v === undefined) {
        if (f.required !== undefined) p.add(path ? `${path}.${name}` : name, f.required);
        continue;
      }
      f.check(p, path ? `${path}.${name}` : name, v);
    }
  }

  /** A table with these fields plus `more` (a kind's on top of the common ones). */
  extend(name: string, more: Readonly<Record<string, FieldDef>>, synonyms: Readonly<Record<string, string>> = {}): FieldTable {
    return new FieldTable(name, { ...this.fields, ...more }, synonyms);
  }
}

/** Makes a FieldTable (see FieldTable). */
export function defineFields(name: string, fields: Readonly<Record<string, FieldDef>>, synonyms?: Readonly<Record<string, string>>): FieldTable {
  return new FieldTable(name, fields, synonyms);
}

// ---------------------------------------------------------------- ready-made checks

/** An integer in min..max. */
export const int =
  (min: number, max: number): FieldCheck =>
  (p, path, v) =>
    checkInt(p, path, v, min, max);
/** true or false. */
export const bool: FieldCheck = (p, path, v) => checkBool(p, path, v);
/** A device name or index. */
export const device: FieldCheck = (p, path, v) => checkDevice(p, path, v);
/** A device name or index, or null ("none"). */
export const deviceOrNull: FieldCheck = (p, path, v) => v === null || checkDevice(p, path, v);
/** An interface name the kernel stores as given. */
export const ifName: FieldCheck = (p, path, v) => checkIfName(p, path, v);
/** A namespace name or absolute path. */
export const netns: FieldCheck = (p, path, v) => checkNetns(p, path, v);
/** A MAC address. */
export const mac: FieldCheck = (p, path, v) => checkMac(p, path, v);
/** A MAC a device can take (unicast, not all zeros). */
export const unicastMac: FieldCheck = (p, path, v) => checkUnicastMac(p, path, v);
/** An IP address, of `family` when given. */
export const address =
  (family?: IpFamily): FieldCheck =>
  (p, path, v) =>
    checkAddress(p, path, v, family);
/** A prefix whose host bits are the address itself (interface addresses). */
export const prefixKeep: FieldCheck = (p, path, v) => parsePrefix(p, path, v, 'keep');
/** An address family: 4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10. */
export const family: FieldCheck = (p, path, v) => parseFamily(p, path, v);
/** One of the names given. */
export const oneOf =
  (names: readonly string[], what = 'value'): FieldCheck =>
  (p, path, v) => {
    if (typeof v === 'string' && names.includes(v)) return true;
    p.add(path, `unknown ${what} ${describeValue(v)} (expected one of ${names.join(', ')})`);
    return false;
  };
/** A name of `table` or a number in min..max. */
export const nameOrInt =
  (table: Readonly<Record<string, number>>, what: string, min: number, max: number): FieldCheck =>
  (p, path, v) => {
    if (typeof v === 'string') {
      if (Object.prototype.hasOwnProperty.call(table, v)) return true;
      p.add(path, `unknown ${what} ${describeValue(v)} (expected ${Object.keys(table).join(', ')} or ${min}..${max})`);
      return false;
    }
    return checkInt(p, path, v, min, max);
  };
/** A string of at most `maxBytes` UTF-8 bytes, without NUL (minBytes: the least, default 0). */
export const text =
  (maxBytes: number, minBytes = 0, what = 'a string'): FieldCheck =>
  (p, path, v) => {
    if (typeof v !== 'string') p.add(path, `${describeValue(v)} must be ${what}`);
    else if (Buffer.byteLength(v) > maxBytes || Buffer.byteLength(v) < minBytes) {
      if (minBytes === 0) p.add(path, `is ${Buffer.byteLength(v)} bytes; at most ${maxBytes}`);
      else p.add(path, `${describeValue(v)} must be ${what} of ${minBytes}..${maxBytes} bytes`);
    } else if (v.includes('\0')) p.add(path, `${describeValue(v)} must not contain NUL characters`);
    else return true;
    return false;
  };
/** Anything: the field is checked by the kind's own rules. */
export const checkedElsewhere: FieldCheck = () => true;
