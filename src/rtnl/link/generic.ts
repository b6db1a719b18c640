/**
 * The table-driven parts a link kind shares: checking a spec's kind fields, encoding
 * IFLA_INFO_DATA from them, decoding the read-back with the kernel's defaults, and comparing
 * a spec with a device field by field. A kind module calls these and adds only its own rules.
 */
import type { AttrSpec, AttrTable } from '../../wire/attrs';
import type { MessageWriter } from '../../wire/writer';
import { IFLA_INFO_DATA } from '../constants';
import type { DeviceRef, LinkBase } from '../types';
import { canonicalIP, isMulticast, readAddress } from '../../values/address';
import type { KindData, KindLink, KindSpec, LinkRefs } from './kind';

/** Whether an IP literal is a multicast address (224.0.0.0/4, ff00::/8). */
export function isMulticastIP(s: string): boolean {
  const a = readAddress(s);
  return a !== undefined && isMulticast(a);
}

/** Whether a spec value asks for something other than the current value: undefined means
 * "leave as it is"; addresses compare canonically; tuples element by element. */
export function differs(want: unknown, have: unknown, address = false): boolean {
  if (want === undefined) return false;
  if (Array.isArray(want)) {
    return !Array.isArray(have) || want.length !== have.length || want.some((v, i) => v !== have[i]);
  }
  if (address && typeof want === 'string') return have === undefined || (canonicalIP(want) ?? want) !== (canonicalIP(String(have)) ?? have);
  return want !== have;
}

/**
 * An index for a device spec field: undefined when not given, 0 for null ("none"), the index
 * itself, or the resolved one. A name left unresolved is a programming error (TypeError),
 * never a silent zero.
 */
export function indexOf(ref: DeviceRef | null | undefined, resolved: number | undefined, field: string): number | undefined {
  if (ref === undefined) return undefined;
  if (ref === null) return 0;
  if (typeof ref === 'number') return ref;
  if (resolved === undefined) throw new TypeError(`${field} "${ref}" must be resolved to an interface index (pass it in refs)`);
  return resolved;
}

/** Writes IFLA_INFO_DATA holding `values` encoded by `table` (no nest when nothing is set and `empty` is false). */
export function writeData(w: MessageWriter, table: AttrTable<AttrSpec>, values: Record<string, unknown>, empty = true): void {
  if (!empty && Object.values(values).every((v) => v === undefined)) return;
  const d = w.nestStart(IFLA_INFO_DATA);
  table.encode(w, values);
  w.nestEnd(d);
}

/** The spec's values for the kind's table fields (the ones the spec has). */
export function valuesOf(spec: object, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const s = spec as Record<string, unknown>;
  for (const n of names) if (Object.prototype.hasOwnProperty.call(s, n)) out[n] = s[n];
  return out;
}

/**
 * A read-back link: the common fields, the kind, each of `fields` from the decoded data or
 * the kernel's default when it sent none, and the undecoded attributes (raw) when any.
 */
export function decodeWith<L extends KindLink>(base: LinkBase, kind: string, data: KindData, fields: readonly string[], defaults: Readonly<Partial<Record<string, unknown>>>): L {
  const out = { ...base, kind } as Record<string, unknown>;
  for (const f of fields) {
    const v = data.values[f] !== undefined ? data.values[f] : defaults[f];
    if (v !== undefined) out[f] = v;
  }
  if (data.raw !== undefined) out.raw = data.raw;
  return out as unknown as L;
}

/** The fields of spec (of `fields`) whose value differs from the device's; `addresses` compare canonically. */
export function diffFields(current: KindLink, spec: KindSpec, fields: readonly string[], addresses: readonly string[] = []): string[] {
  const c = current as unknown as Record<string, unknown>;
  const s = spec as unknown as Record<string, unknown>;
  return fields.filter((f) => differs(s[f], c[f], addresses.includes(f)));
}

/** A kind's `dev` compared with the device's, by index; an unresolved name is not compared. */
export function devDiffers(want: DeviceRef | undefined, have: number | undefined, refs: LinkRefs): boolean {
  if (want === undefined) return false;
  const index = typeof want === 'number' ? want : refs.dev;
  return index !== undefined && index !== have;
}
