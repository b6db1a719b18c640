/**
 * Bridges (link kind "bridge"): the spec and read-back types and the IFLA_BR_* attributes this
 * library sets (STP, VLAN filtering).
 *
 * A kernel built without CONFIG_BRIDGE_VLAN_FILTERING (the project's 6.18 test host) refuses
 * IFLA_BR_VLAN_FILTERING with EOPNOTSUPP, even with the value 0, and does not report it:
 * such a bridge reads back with vlanFiltering false.
 */
import { attr, bool8, defineAttrs, skip, type AttrCodec } from '../../wire/attrs';
import { readU32 } from '../../wire/reader';
import type { MessageWriter } from '../../wire/writer';
import { IFLA_BR_GC_TIMER, IFLA_BR_HELLO_TIMER, IFLA_BR_STP_STATE, IFLA_BR_TCN_TIMER, IFLA_BR_TOPOLOGY_CHANGE_TIMER, IFLA_BR_VLAN_FILTERING } from '../constants';
import type { LinkBase, LinkCommonSpec } from '../types';
import { bool, defineFields, fieldOf } from '../spec';
import { decodeWith, diffFields, valuesOf, writeData } from './generic';
import type { KindData, LinkKindModule } from './kind';

/** A Linux bridge for links.add(). */
export interface BridgeSpec extends LinkCommonSpec {
  /** Discriminant: a bridge. */
  kind: 'bridge';
  /** Run the spanning tree protocol (IFLA_BR_STP_STATE). */
  stp?: boolean;
  /** Filter by VLAN on the bridge ports (IFLA_BR_VLAN_FILTERING). */
  vlanFiltering?: boolean;
}

/** A bridge as read back. */
export interface BridgeLink extends LinkBase {
  /** Discriminant: a bridge. */
  kind: 'bridge';
  /** Whether the spanning tree protocol runs. */
  stp: boolean;
  /** Whether VLAN filtering is on. */
  vlanFiltering: boolean;
}

/** A u32 that means a boolean (IFLA_BR_STP_STATE: 0 off, 1 kernel STP). */
const bool32: AttrCodec<boolean> = {
  encode: (w, t, v) => w.u32(t, v ? 1 : 0),
  decode: (buf, off, len) => readU32(buf, off, len) !== 0,
};

/** In iproute2's order for `type bridge stp_state N vlan_filtering N`. */
export const BRIDGE_ATTRS = defineAttrs('IFLA_BR', {
  stp: attr(IFLA_BR_STP_STATE, bool32),
  vlanFiltering: attr(IFLA_BR_VLAN_FILTERING, bool8),
  /** Running timers (centiseconds left): volatile state, different on every read. */
  helloTimer: skip(IFLA_BR_HELLO_TIMER),
  tcnTimer: skip(IFLA_BR_TCN_TIMER),
  topologyChangeTimer: skip(IFLA_BR_TOPOLOGY_CHANGE_TIMER),
  gcTimer: skip(IFLA_BR_GC_TIMER),
});

/** The fields of a BridgeSpec. */
export const BRIDGE_FIELDS = defineFields(
  'BridgeSpec',
  {
    stp: fieldOf(bool, 'Run the spanning tree protocol (IFLA_BR_STP_STATE).'),
    vlanFiltering: fieldOf(bool, 'Filter by VLAN on the bridge ports (IFLA_BR_VLAN_FILTERING).'),
  },
  { stp_state: 'stp', vlan_filtering: 'vlanFiltering' },
);

/** The spec fields of a bridge (everything but the common link settings). */
export type BridgeField = 'stp' | 'vlanFiltering';

/** br_changelink() applies both in place. */
export const BRIDGE_CHANGEABLE: readonly BridgeField[] = ['stp', 'vlanFiltering'];
/** None. */
export const BRIDGE_IMMUTABLE: readonly BridgeField[] = [];

const DEFAULTS = { stp: false, vlanFiltering: false };

/** The bridge kind: the settings given go in IFLA_INFO_DATA (no empty nest, as iproute2). */
export const bridge: LinkKindModule<BridgeSpec, BridgeLink> = {
  kind: 'bridge',
  fields: BRIDGE_FIELDS,
  data: BRIDGE_ATTRS,
  mtu: { min: 68, max: 65535 },
  hasAddress: true,
  changeable: BRIDGE_CHANGEABLE,
  immutable: BRIDGE_IMMUTABLE,
  defaults: DEFAULTS,
  encodeData(w: MessageWriter, spec: BridgeSpec): void {
    writeData(w, BRIDGE_ATTRS, valuesOf(spec, BRIDGE_FIELDS.names), false);
  },
  decode: (base: LinkBase, data: KindData) => decodeWith<BridgeLink>(base, 'bridge', data, BRIDGE_FIELDS.names, DEFAULTS),
  diff: (current: BridgeLink, spec: BridgeSpec) => diffFields(current, spec, BRIDGE_FIELDS.names),
  encodeChange(w: MessageWriter, _current: BridgeLink, spec: BridgeSpec, fields: readonly string[]): void {
    BRIDGE_ATTRS.encode(w, valuesOf(spec, fields.filter((f) => BRIDGE_FIELDS.names.includes(f))));
  },
};
