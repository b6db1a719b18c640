/**
 * The neighbour message as tables: the NDA_* attributes of an IPv4/IPv6 neighbour entry
 * (struct ndmsg is ../ndmsg's NDMSG) and the fields of a NeighborSpec and a NeighborFilter.
 */
import { attr, ip, skip, u32, u8, defineAttrs, type AttrCodec } from '../../wire/attrs';
import { formatMac } from '../../values/mac';
import type { MessageWriter } from '../../wire/writer';
import { NDA_CACHEINFO, NDA_DST, NDA_FLAGS_EXT, NDA_IFINDEX, NDA_LLADDR, NDA_PROBES, NDA_PROTOCOL } from '../constants';
import { NUD_STATES } from '../names';
import { bool, defineFields, device, family, fieldOf, mac, oneOf, address } from '../spec';

/**
 * A link-layer address, written from "aa:bb:..." and read back as such; devices without
 * hardware addresses (lo, ipip) report an empty one, which reads as absent.
 */
export const lladdr: AttrCodec<string | undefined> = {
  encode: (w: MessageWriter, t, v) => {
    if (v !== undefined) w.mac(t, v);
  },
  decode: (buf, off, len) => (len > 0 ? formatMac(buf, off, len) : undefined),
};

/** The NDA_* attributes of a neighbour entry, in the order `ip neigh` writes them (DST, LLADDR). */
export const NEIGHBOR_ATTRS = defineAttrs('NDA', {
  ip: attr(NDA_DST, ip),
  lladdr: attr(NDA_LLADDR, lladdr),
  /** NDA_IFINDEX: the device filter of a dump request. */
  ifindex: attr(NDA_IFINDEX, u32),
  /** NDA_PROTOCOL: who made the entry, when someone said. */
  protocol: attr(NDA_PROTOCOL, u8),
  /** NDA_FLAGS_EXT: NTF_EXT_* flags beyond ndm_flags. */
  flagsExt: attr(NDA_FLAGS_EXT, u32),
  /** Timestamps and reference counts: volatile state. */
  cacheinfo: skip(NDA_CACHEINFO),
  /** Probes sent so far: volatile state. */
  probes: skip(NDA_PROBES),
});

/** The fields of a NeighborSpec (the rules between them are in validateNeighborSpec). */
export const NEIGHBOR_FIELDS = defineFields(
  'NeighborSpec',
  {
    dev: fieldOf(device, 'The device the entry is on.', 'required (a device name or index)'),
    ip: fieldOf(address(), "The neighbour's IP address (v4 or v6).", "required (the neighbour's IPv4 or IPv6 address)"),
    lladdr: fieldOf(mac, "The neighbour's link-layer (MAC) address (NDA_LLADDR)."),
    state: fieldOf(oneOf(Object.keys(NUD_STATES), 'state'), 'Default permanent.'),
    proxy: fieldOf(bool, 'A proxy entry (NTF_PROXY): answer for ip on dev.'),
    router: fieldOf(bool, 'The neighbour is a router (NTF_ROUTER, IPv6).'),
  },
  { mac: 'lladdr', dst: 'ip' },
);

/** The fields of a NeighborFilter. */
export const NEIGHBOR_FILTER_FIELDS = defineFields('NeighborFilter', {
  dev: fieldOf(device, 'Only entries on this device.'),
  family: fieldOf(family, "Only this family (4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10). Default: both."),
  proxy: fieldOf(bool, 'Include proxy entries (a separate dump in the kernel). Default false.'),
});

/** The fields of a NeighborKey (neighbors.get()). */
export const NEIGHBOR_GET_FIELDS = defineFields('NeighborKey', {
  dev: fieldOf(device, 'The device the entry is on.', 'required (a device name or index)'),
  ip: fieldOf(address(), "The neighbour's IP address (v4 or v6).", "required (the neighbour's IPv4 or IPv6 address)"),
});
