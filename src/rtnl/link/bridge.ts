/**
 * Bridges: the IFLA_BR_* attributes this library sets (STP, VLAN filtering).
 *
 * A kernel built without CONFIG_BRIDGE_VLAN_FILTERING (the project's 6.18 test host) refuses
 * IFLA_BR_VLAN_FILTERING with EOPNOTSUPP, even with the value 0, and does not report it:
 * such a bridge reads back with vlanFiltering false.
 */
import { attr, bool8, defineAttrs, type AttrCodec, type AttrValues } from '../../wire/attrs';
import { readU32 } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import { IFLA_BR_STP_STATE, IFLA_BR_VLAN_FILTERING } from '../constants';
import type { BridgeLink, BridgeSpec, LinkBase } from '../types';
import { differs } from './util';

/** A u32 that means a boolean (IFLA_BR_STP_STATE: 0 off, 1 kernel STP). */
const bool32: AttrCodec<boolean> = {
  encode: (w, t, v) => w.u32(t, v ? 1 : 0),
  decode: (buf, off, len) => readU32(buf, off, len) !== 0,
};

/** In iproute2's order for `type bridge stp_state N vlan_filtering N`. */
export const BRIDGE_ATTRS = defineAttrs('IFLA_BR', {
  stp: attr(IFLA_BR_STP_STATE, bool32),
  vlanFiltering: attr(IFLA_BR_VLAN_FILTERING, bool8),
});
/** The decoded (or to-be-encoded) values of BRIDGE_ATTRS, each optional. */
export type BridgeAttrValues = AttrValues<(typeof BRIDGE_ATTRS)['spec']>;
/** The spec fields of a bridge (everything but the common link settings). */
export type BridgeField = 'stp' | 'vlanFiltering';

/** br_changelink() applies both in place. */
export const BRIDGE_CHANGEABLE: readonly BridgeField[] = ['stp', 'vlanFiltering'];
/** None. */
export const BRIDGE_IMMUTABLE: readonly BridgeField[] = [];

/** Whether a spec has anything for IFLA_INFO_DATA (iproute2 writes no empty nest). */
export function bridgeHasData(spec: Pick<BridgeSpec, BridgeField>): boolean {
  return spec.stp !== undefined || spec.vlanFiltering !== undefined;
}

/** Writes IFLA_INFO_DATA's contents: the settings given, nothing for the ones left out. */
export function encodeBridgeData(w: MessageWriter, spec: Pick<BridgeSpec, BridgeField>): void {
  BRIDGE_ATTRS.encode(w, { stp: spec.stp, vlanFiltering: spec.vlanFiltering });
}

/** Decodes IFLA_INFO_DATA of a bridge (vlanFiltering false when the kernel does not report it). */
export function decodeBridge(base: LinkBase, buf: Buffer, start: number, end: number): BridgeLink {
  const v: BridgeAttrValues = start < 0 ? {} : BRIDGE_ATTRS.decode(buf, start, end).values;
  return { ...base, kind: 'bridge', stp: v.stp ?? false, vlanFiltering: v.vlanFiltering ?? false };
}

/** The bridge fields of spec that differ from the device's. */
export function bridgeDiff(current: BridgeLink, spec: BridgeSpec): BridgeField[] {
  const out: BridgeField[] = [];
  if (differs(spec.stp, current.stp)) out.push('stp');
  if (differs(spec.vlanFiltering, current.vlanFiltering)) out.push('vlanFiltering');
  return out;
}
