/**
 * The FDB message as tables: the NDA_* attributes of a forwarding database entry (an
 * RTM_*NEIGH message of family AF_BRIDGE; struct ndmsg is ../ndmsg's NDMSG) and the fields of
 * an FdbSpec and an FdbFilter.
 */
import { attr, be16, ip, mac, s32, skip, u16, u32, u8, defineAttrs } from '../../wire/attrs';
import { NDA_CACHEINFO, NDA_DST, NDA_FLAGS_EXT, NDA_IFINDEX, NDA_LINK_NETNSID, NDA_LLADDR, NDA_MASTER, NDA_NH_ID, NDA_PORT, NDA_PROTOCOL, NDA_SRC_VNI, NDA_VLAN, NDA_VNI } from '../constants';
import { address, bool, defineFields, device, fieldOf, int, mac as macCheck } from '../spec';

/** Largest VXLAN network identifier (24 bits). */
export const VNI_MAX = 0xffffff;
/** VLAN ids 1..4094 (0 and 4095 are reserved; the bridge refuses them). */
export const VLAN_MAX = 4094;

/**
 * The NDA_* attributes of an FDB entry, in the order `bridge fdb` writes them (LLADDR, DST,
 * VLAN, PORT, VNI; NH_ID instead of DST), then the ones a dump request filters by and the kernel reports.
 */
export const FDB_ATTRS = defineAttrs('NDA', {
  mac: attr(NDA_LLADDR, mac),
  dst: attr(NDA_DST, ip),
  vlan: attr(NDA_VLAN, u16),
  port: attr(NDA_PORT, be16),
  vni: attr(NDA_VNI, u32),
  /** NDA_NH_ID: an FDB nexthop group instead of a destination. */
  nhid: attr(NDA_NH_ID, u32),
  /** NDA_IFINDEX: in a dump request, the device filter; in a vxlan entry, the outgoing device. */
  ifindex: attr(NDA_IFINDEX, u32),
  /** NDA_MASTER: the bridge whose table holds the entry (also a dump filter). */
  masterIndex: attr(NDA_MASTER, u32),
  /** NDA_SRC_VNI: the VNI a collect-metadata vxlan device learnt the entry on. */
  srcVni: attr(NDA_SRC_VNI, u32),
  /** NDA_LINK_NETNSID: the namespace of the outgoing device, when another one. */
  linkNetnsId: attr(NDA_LINK_NETNSID, s32),
  /** NDA_PROTOCOL: who made the entry, when someone said. */
  protocol: attr(NDA_PROTOCOL, u8),
  /** NDA_FLAGS_EXT: NTF_EXT_* flags beyond ndm_flags. */
  flagsExt: attr(NDA_FLAGS_EXT, u32),
  /** Timestamps and reference counts: volatile state. */
  cacheinfo: skip(NDA_CACHEINFO),
});

/** The fields of an FdbSpec (the rule between self and master is in validateFdbSpec). */
export const FDB_FIELDS = defineFields(
  'FdbSpec',
  {
    dev: fieldOf(device, 'The device (vxlan or bridge port) the entry is on.', 'required (a device name or index)'),
    mac: fieldOf(macCheck, '"00:00:00:00:00:00" is the flood entry of a vxlan device (several allowed with append).', 'required, e.g. "00:00:00:00:00:00" for the flood entry'),
    dst: fieldOf(address(), 'Remote VTEP address (vxlan).'),
    vni: fieldOf(int(0, VNI_MAX), "VNI to use towards dst (NDA_VNI), when it differs from the device's."),
    port: fieldOf(int(1, 0xffff), 'UDP port to use towards dst (NDA_PORT).'),
    vlan: fieldOf(int(1, VLAN_MAX), 'VLAN id (NDA_VLAN), for a VLAN-filtering bridge.'),
    permanent: fieldOf(bool, 'Default true (NUD_PERMANENT); false makes a static (NUD_NOARP) entry.'),
    self: fieldOf(bool, "NTF_SELF: the device's own table (vxlan). Default: true unless master is set."),
    master: fieldOf(bool, "NTF_MASTER: the bridge's table, for a bridge port."),
    nhid: fieldOf(int(1, 0xffffffff), "An FDB nexthop group's id (NDA_NH_ID) instead of dst: a vxlan device only; exclusive with dst, vni and port."),
  },
  { lladdr: 'mac', remote: 'dst', vid: 'vlan' },
);

/** The fields of an FdbFilter. */
export const FDB_FILTER_FIELDS = defineFields('FdbFilter', {
  dev: fieldOf(device, 'Only entries on this device.'),
  master: fieldOf(device, "Only entries in this bridge's table."),
});

/** The fields of an FdbKey (fdb.get()). */
export const FDB_GET_FIELDS = defineFields('FdbKey', {
  dev: fieldOf(device, 'The device the entry is on.', 'required (a device name or index)'),
  mac: fieldOf(macCheck, 'The MAC address.', 'required (a MAC address)'),
  vlan: fieldOf(int(1, VLAN_MAX), 'The VLAN (NDA_VLAN).'),
  master: fieldOf(bool, "In the table of dev's bridge (NTF_MASTER) instead of dev's own."),
});
