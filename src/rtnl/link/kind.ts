/**
 * What a link kind is to this library: one module (one file) that says everything about the
 * kind, and that links.add/set/change/list and the decoder reach only through the registry
 * (./kinds). Adding a kind is a file exporting a LinkKindModule plus its line in ./kinds.
 */
import type { AttrSpec, AttrTable } from '../../wire/attrs';
import type { MessageWriter } from '../../wire/writer';
import type { RawAttribute } from '../../wire/reader';
import type { Problems } from '../../values/problems';
import type { DeviceRef, LinkBase, LinkCommonSpec } from '../types';
import type { FieldTable } from '../spec';

/** Devices and namespaces of a spec, resolved: indexes and open namespace fds. */
export interface LinkRefs {
  /** Underlay or parent device index (a kind's `dev`: vxlan, ipip, macvlan). */
  dev?: number;
  /** Master index; 0 means none. */
  master?: number;
  /** Open fd of spec.netns / changes.netns. */
  netnsFd?: number;
  /** Open fd of a veth peer's netns. */
  peerNetnsFd?: number;
}

/** The least a kind's spec is: the common settings and its kind name. */
export interface KindSpec extends LinkCommonSpec {
  /** IFLA_INFO_KIND. */
  kind: string;
}

/** The least a kind's read-back is: the common fields and its kind name. */
export interface KindLink extends LinkBase {
  /** IFLA_INFO_KIND. */
  kind: string;
}

/** IFLA_INFO_DATA of a device as read: its table's values and what the table does not name. */
export interface KindData {
  /** The fields the kind's table decoded (empty when the device sent no IFLA_INFO_DATA). */
  values: Record<string, unknown>;
  /** The attributes the table does not name, or undefined when there are none. */
  raw: RawAttribute[] | undefined;
}

/** An MTU range, bytes. */
export interface MtuBounds {
  /** Smallest MTU. */
  min: number;
  /** Largest MTU. */
  max: number;
}

/**
 * One link kind: its name, spec and read-back types, IFLA_INFO_DATA table, validation, what
 * changes in place and what needs recreate, and the defaults the kernel reports.
 *
 * The generic parts are table-driven (see ./generic): fields are checked by `fields`, encoded
 * and decoded by `data`, compared field by field; a kind writes code only for its own rules.
 */
export interface LinkKindModule<S extends KindSpec = KindSpec, L extends KindLink = KindLink> {
  /** IFLA_INFO_KIND ('vxlan', 'macvlan', ...). */
  readonly kind: S['kind'];
  /** The spec fields beyond the common ones: names, checks, docs (the kind's interface). */
  readonly fields: FieldTable;
  /** The IFLA_INFO_DATA table; undefined for a kind that takes none (veth writes its peer itself). */
  readonly data?: AttrTable<AttrSpec>;
  /** The MTU range a new device of the kind takes (checked before sending). */
  readonly mtu: MtuBounds;
  /** False for a kind without a MAC address (ipip, wireguard): `address` is refused. */
  readonly hasAddress: boolean;
  /** Whether the kind's `dev` is the parent (IFLA_LINK, macvlan) rather than in IFLA_INFO_DATA. */
  readonly devIsLink?: boolean;
  /** Spec fields the kernel changes in place on an existing device. */
  readonly changeable: readonly string[];
  /** Spec fields the kernel cannot change in place: delete and add. */
  readonly immutable: readonly string[];
  /** What the kernel reports for a field the spec leaves out. */
  readonly defaults: Readonly<Partial<Record<string, unknown>>>;

  /** The kind's rules between fields (the fields themselves are checked by `fields`). */
  validate?(p: Problems, path: string, spec: Record<string, unknown>): void;
  /** Writes IFLA_INFO_DATA (the nest itself) for a new device; default: `data` from the spec's fields. */
  encodeData?(w: MessageWriter, spec: S, refs: LinkRefs): void;
  /** Builds the read-back object from the common fields and the decoded IFLA_INFO_DATA. */
  decode(base: LinkBase, data: KindData): L;
  /** The kind fields of spec whose value differs from the device's. */
  diff(current: L, spec: S, refs: LinkRefs): string[];
  /** Of the changed fields, those whose change needs recreate beyond `immutable` (value rules). */
  recreate?(current: L, spec: S, changed: readonly string[]): string[];
  /** Writes IFLA_INFO_DATA's contents for an in-place change of `fields`. */
  encodeChange?(w: MessageWriter, current: L, spec: S, fields: readonly string[], refs: LinkRefs): void;
  /** The requests a change takes, as groups of fields (default: one). */
  splitChange?(changed: readonly string[]): string[][];
  /** A spec field that names another device in this namespace, resolved into refs.dev. */
  deviceOf?(spec: S): DeviceRef | undefined;
}

/** A kind module with its types erased, as the registry holds it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLinkKind = LinkKindModule<any, any>;
