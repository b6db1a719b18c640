/**
 * The interface address message as tables: struct ifaddrmsg, the IFA_* attributes, and the
 * fields of an AddressSpec. Adding an attribute is a line in IFA_ATTRS (and, when users set
 * it, a line in ADDRESS_FIELDS plus the property of AddressSpec it documents).
 */
import { attr, ip, skip, string, u32, u8, defineAttrs } from '../../wire/attrs';
import { defineStruct, field } from '../../wire/struct';
import {
  IFADDRMSG_LEN,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_CACHEINFO,
  IFA_FLAGS,
  IFA_LABEL,
  IFA_LOCAL,
  IFA_PROTO,
  IFA_RT_PRIORITY,
} from '../constants';
import { SCOPES } from '../names';
import { bool, defineFields, device, fieldOf, nameOrInt, address, prefixKeep, text, family } from '../spec';

/** struct ifaddrmsg (linux/if_addr.h). */
export const IFADDRMSG = defineStruct('ifaddrmsg', IFADDRMSG_LEN, {
  family: field(0, 'u8'),
  prefixlen: field(1, 'u8'),
  /** IFA_F_* bits that fit in 8 bits (IFA_FLAGS holds all of them). */
  flags: field(2, 'u8'),
  scope: field(3, 'u8'),
  index: field(4, 'u32'),
});

/**
 * The IFA_* attributes, in the order `ip addr add` writes them (LOCAL, LABEL, FLAGS, ADDRESS,
 * BROADCAST). IFA_LOCAL is this host's address, IFA_ADDRESS the peer of a point-to-point link
 * or the same address again. Attributes not named here are kept on Address.unknown.
 */
export const IFA_ATTRS = defineAttrs('IFA', {
  local: attr(IFA_LOCAL, ip),
  label: attr(IFA_LABEL, string),
  flags: attr(IFA_FLAGS, u32),
  address: attr(IFA_ADDRESS, ip),
  broadcast: attr(IFA_BROADCAST, ip),
  /** IFA_RT_PRIORITY: the metric of the prefix route the address makes. */
  metric: attr(IFA_RT_PRIORITY, u32),
  /** IFA_PROTO: who added the address (IFAPROT_*), when someone said. */
  proto: attr(IFA_PROTO, u8),
  /** Lifetimes and timestamps: volatile state, not a field of an address. */
  cacheinfo: skip(IFA_CACHEINFO),
});

/** IFA_LABEL is at most IFNAMSIZ - 1 bytes. */
export const MAX_LABEL_BYTES = 15;

/** The fields of an AddressSpec (the rules between them are in validateAddressSpec). */
export const ADDRESS_FIELDS = defineFields(
  'AddressSpec',
  {
    dev: fieldOf(device, 'The device the address goes on.', 'required (a device name or index)'),
    address: fieldOf(prefixKeep, '"192.168.10.1/32", "fd00::1/64"; without a prefix length a host address (/32, /128).', 'required, e.g. "192.168.10.1/32"'),
    peer: fieldOf(address(), 'Peer address of a point-to-point link (IFA_ADDRESS when it differs from IFA_LOCAL).'),
    broadcast: fieldOf(address(), 'IPv4 broadcast address.'),
    label: fieldOf(text(MAX_LABEL_BYTES, 1, 'a label string'), 'IPv4 label (IFA_LABEL), e.g. "eth0:1", 1..15 bytes.'),
    scope: fieldOf(nameOrInt(SCOPES, 'scope', 0, 255), 'IPv4 address scope, by name or number (IPv6 derives it from the address).'),
    noprefixroute: fieldOf(bool, 'Do not add the prefix route (IFA_F_NOPREFIXROUTE).'),
    nodad: fieldOf(bool, 'IPv6: skip duplicate address detection (IFA_F_NODAD).'),
  },
  { ip: 'address', local: 'address', prefix: 'address' },
);

/** The fields of an AddressFilter. */
export const ADDRESS_FILTER_FIELDS = defineFields('AddressFilter', {
  dev: fieldOf(device, 'Only addresses on this device.'),
  family: fieldOf(family, "Only this family (4 or 6, 'inet' or 'inet6', AF_INET 2 or AF_INET6 10). Default: both."),
});
