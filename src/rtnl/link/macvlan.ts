/**
 * macvlan devices (link kind "macvlan"): a device with a MAC of its own on a parent device
 * (`dev`, sent as IFLA_LINK, as `ip link add NAME link PARENT type macvlan`), in one of the
 * kernel's modes, configured by the IFLA_MACVLAN_* table below.
 *
 * What changes in place, found by experiment on Linux 6.18 (test/rtnl/link/macvlan.test.js
 * proves it on each run): the mode between private, vepa, bridge and source, the flags and the
 * broadcast queue length change in place (macvlan_changelink()); a change into or out of
 * passthru is refused with EINVAL (passthru takes over the parent, fixed at creation), so it
 * needs delete + add; the parent cannot change (IFLA_LINK is read on creation only).
 */
import { attr, defineAttrs, skip, u16, u32, type AttrCodec } from '../../wire/attrs';
import { readU32 } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import {
  IFLA_MACVLAN_BC_QUEUE_LEN,
  IFLA_MACVLAN_BC_QUEUE_LEN_USED,
  IFLA_MACVLAN_FLAGS,
  IFLA_MACVLAN_MACADDR_COUNT,
  IFLA_MACVLAN_MACADDR_MODE,
  IFLA_MACVLAN_MODE,
  MACVLAN_FLAG_NODST,
  MACVLAN_FLAG_NOPROMISC,
  MACVLAN_MODE_BRIDGE,
  MACVLAN_MODE_PASSTHRU,
  MACVLAN_MODE_PRIVATE,
  MACVLAN_MODE_SOURCE,
  MACVLAN_MODE_VEPA,
} from '../constants';
import type { DeviceRef, LinkBase, LinkCommonSpec } from '../types';
import type { Problems } from '../../values/problems';
import { bool, defineFields, device, fieldOf, int, oneOf } from '../spec';
import { devDiffers, diffFields, writeData } from './generic';
import type { KindData, LinkKindModule, LinkRefs } from './kind';

/** The macvlan modes, as iproute2 names them (MACVLAN_MODE_*). */
export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';

/**
 * A macvlan device for links.add().
 *
 * @example
 * ```ts
 * await nl.links.add({ kind: 'macvlan', name: 'mv0', dev: 'eth0', mode: 'bridge', up: true });
 * ```
 */
export interface MacvlanSpec extends LinkCommonSpec {
  /** Discriminant: a macvlan device. */
  kind: 'macvlan';
  /** The parent device (IFLA_LINK), as `ip link add NAME link PARENT`. */
  dev: DeviceRef;
  /** How the device talks to its siblings (IFLA_MACVLAN_MODE). Linux defaults to vepa. */
  mode?: MacvlanMode;
  /** passthru only: leave the parent out of promiscuous mode (MACVLAN_FLAG_NOPROMISC). */
  nopromisc?: boolean;
  /** source only: do not also deliver by destination MAC (MACVLAN_FLAG_NODST). */
  nodst?: boolean;
  /** Length of the broadcast/multicast receive queue, packets (IFLA_MACVLAN_BC_QUEUE_LEN). */
  bcqueuelen?: number;
}

/** A macvlan device as read back. */
export interface MacvlanLink extends LinkBase {
  /** Discriminant: a macvlan device. */
  kind: 'macvlan';
  /** The parent's index (IFLA_LINK; the same as `link`). */
  dev?: number;
  /** The mode (a number when the kernel reports one this library does not name). */
  mode: MacvlanMode | number;
  /** Whether MACVLAN_FLAG_NOPROMISC is set. */
  nopromisc: boolean;
  /** Whether MACVLAN_FLAG_NODST is set. */
  nodst: boolean;
  /** The broadcast queue length asked for, when reported. */
  bcqueuelen?: number;
  /** The broadcast queue length in use (the largest any sibling asked for), when reported. */
  usedBcqueuelen?: number;
  /** source mode: how many source MACs the device has, when reported. */
  macaddrCount?: number;
}

const MODES: Record<MacvlanMode, number> = {
  private: MACVLAN_MODE_PRIVATE,
  vepa: MACVLAN_MODE_VEPA,
  bridge: MACVLAN_MODE_BRIDGE,
  passthru: MACVLAN_MODE_PASSTHRU,
  source: MACVLAN_MODE_SOURCE,
};
const MODE_NAMES = Object.keys(MODES) as MacvlanMode[];

/** IFLA_MACVLAN_MODE: a u32 read and written by name. */
const modeCodec: AttrCodec<MacvlanMode | number> = {
  encode: (w, t, v) => w.u32(t, typeof v === 'number' ? v : MODES[v]),
  decode: (buf, off, len) => {
    const n = readU32(buf, off, len);
    return MODE_NAMES.find((m) => MODES[m] === n) ?? n;
  },
};

/**
 * IFLA_INFO_DATA of a macvlan device, in the order iproute2 writes it (`bcqueuelen` while it
 * parses, then mode and flags). `flags` carries nopromisc and nodst (a u16 in the kernel's policy).
 */
export const MACVLAN_ATTRS = defineAttrs('IFLA_MACVLAN', {
  bcqueuelen: attr(IFLA_MACVLAN_BC_QUEUE_LEN, u32),
  mode: attr(IFLA_MACVLAN_MODE, modeCodec),
  flags: attr(IFLA_MACVLAN_FLAGS, u16),
  usedBcqueuelen: attr(IFLA_MACVLAN_BC_QUEUE_LEN_USED, u32),
  macaddrCount: attr(IFLA_MACVLAN_MACADDR_COUNT, u32),
  /** A command (add/del/set/flush source MACs), never state. */
  macaddrMode: skip(IFLA_MACVLAN_MACADDR_MODE),
});

/** The fields of a MacvlanSpec. */
export const MACVLAN_FIELDS = defineFields(
  'MacvlanSpec',
  {
    dev: fieldOf(device, 'The parent device (IFLA_LINK), as `ip link add NAME link PARENT`.', 'required: the parent device, e.g. "eth0"'),
    mode: fieldOf(oneOf(MODE_NAMES, 'macvlan mode'), 'How the device talks to its siblings (IFLA_MACVLAN_MODE). Linux defaults to vepa.'),
    nopromisc: fieldOf(bool, 'passthru only: leave the parent out of promiscuous mode (MACVLAN_FLAG_NOPROMISC).'),
    nodst: fieldOf(bool, 'source only: do not also deliver by destination MAC (MACVLAN_FLAG_NODST).'),
    bcqueuelen: fieldOf(int(0, 0xffffffff), 'Length of the broadcast/multicast receive queue, packets (IFLA_MACVLAN_BC_QUEUE_LEN).'),
  },
  { link: 'dev', parent: 'dev', macvlan_mode: 'mode', bc_queue_len: 'bcqueuelen' },
);

/** The spec fields of a macvlan device (everything but the common link settings). */
export type MacvlanField = Exclude<keyof MacvlanSpec, 'kind' | keyof LinkCommonSpec>;

/** What the kernel changes in place (see the module comment); mode except into/out of passthru. */
export const MACVLAN_CHANGEABLE: readonly MacvlanField[] = ['mode', 'nopromisc', 'nodst', 'bcqueuelen'];
/** The parent: delete and add to move a macvlan to another one. */
export const MACVLAN_IMMUTABLE: readonly MacvlanField[] = ['dev'];

const DEFAULTS = { mode: 'vepa' as MacvlanMode, nopromisc: false, nodst: false };

/** The flag bits a spec asks for, or undefined when it names neither flag. */
function flagsOf(spec: Pick<MacvlanSpec, 'nopromisc' | 'nodst'>): number | undefined {
  if (spec.nopromisc === undefined && spec.nodst === undefined) return undefined;
  return (spec.nopromisc ? MACVLAN_FLAG_NOPROMISC : 0) | (spec.nodst ? MACVLAN_FLAG_NODST : 0);
}

/** The kernel's rules between the fields (macvlan_validate()): each flag belongs to one mode. */
function validateMacvlan(p: Problems, path: string, s: Record<string, unknown>): void {
  const at = (k: string) => (path ? `${path}.${k}` : k);
  const mode = s.mode ?? DEFAULTS.mode;
  if (s.nopromisc === true && mode !== 'passthru') p.add(at('nopromisc'), `nopromisc is for mode passthru only (the kernel refuses it in ${String(mode)})`);
  if (s.nodst === true && mode !== 'source') p.add(at('nodst'), `nodst is for mode source only (the kernel refuses it in ${String(mode)})`);
}

/** The macvlan kind. */
export const macvlan: LinkKindModule<MacvlanSpec, MacvlanLink> = {
  kind: 'macvlan',
  fields: MACVLAN_FIELDS,
  data: MACVLAN_ATTRS,
  // The parent's MTU bounds the device's (the kernel says EINVAL above it).
  mtu: { min: 68, max: 65535 },
  hasAddress: true,
  devIsLink: true,
  changeable: MACVLAN_CHANGEABLE,
  immutable: MACVLAN_IMMUTABLE,
  defaults: DEFAULTS,
  validate: validateMacvlan,
  deviceOf: (spec) => spec.dev,
  encodeData(w: MessageWriter, spec: MacvlanSpec): void {
    writeData(w, MACVLAN_ATTRS, { bcqueuelen: spec.bcqueuelen, mode: spec.mode, flags: flagsOf(spec) }, false);
  },
  decode(base: LinkBase, data: KindData): MacvlanLink {
    const v = data.values as { mode?: MacvlanMode | number; flags?: number; bcqueuelen?: number; usedBcqueuelen?: number; macaddrCount?: number };
    const flags = v.flags ?? 0;
    const link: MacvlanLink = {
      ...base,
      kind: 'macvlan',
      mode: v.mode ?? DEFAULTS.mode,
      nopromisc: (flags & MACVLAN_FLAG_NOPROMISC) !== 0,
      nodst: (flags & MACVLAN_FLAG_NODST) !== 0,
    };
    if (base.link !== undefined && base.link > 0) link.dev = base.link;
    if (v.bcqueuelen !== undefined) link.bcqueuelen = v.bcqueuelen;
    if (v.usedBcqueuelen !== undefined) link.usedBcqueuelen = v.usedBcqueuelen;
    if (v.macaddrCount !== undefined) link.macaddrCount = v.macaddrCount;
    if (data.raw !== undefined) link.raw = data.raw;
    return link;
  },
  /** dev is compared when it is an index or resolved (refs.dev). */
  diff(current: MacvlanLink, spec: MacvlanSpec, refs: LinkRefs): string[] {
    const out: string[] = devDiffers(spec.dev, current.dev, refs) ? ['dev'] : [];
    out.push(...diffFields(current, spec, ['mode', 'nopromisc', 'nodst', 'bcqueuelen']));
    return out;
  },
  /** Into or out of passthru is EINVAL in place (macvlan_changelink()). */
  recreate(current: MacvlanLink, spec: MacvlanSpec, changed: readonly string[]): string[] {
    if (changed.includes('mode') && (spec.mode === 'passthru') !== (current.mode === 'passthru')) return ['mode'];
    return [];
  },
  encodeChange(w: MessageWriter, current: MacvlanLink, spec: MacvlanSpec, fields: readonly string[]): void {
    const has = (f: string) => fields.includes(f);
    MACVLAN_ATTRS.encode(w, {
      bcqueuelen: has('bcqueuelen') ? spec.bcqueuelen : undefined,
      mode: has('mode') ? spec.mode : undefined,
      // The kernel sets the flags whole: keep the one the spec leaves out.
      flags: has('nopromisc') || has('nodst') ? flagsOf({ nopromisc: spec.nopromisc ?? current.nopromisc, nodst: spec.nodst ?? current.nodst }) : undefined,
    });
  },
};
