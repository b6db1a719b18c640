/**
 * Every table of the rtnl layer in one list: the spec field tables (what validation accepts,
 * with each field's doc) and the attribute tables (how each message is encoded and decoded).
 * The docs check (test/rtnl/tables.test.js) walks it, so a table cannot drift from the typed
 * interface it describes.
 */
import type { AttrSpec, AttrTable } from '../wire/attrs';
import { ADDRESS_FIELDS, ADDRESS_FILTER_FIELDS, IFA_ATTRS } from './address/table';
import { FDB_ATTRS, FDB_FIELDS, FDB_FILTER_FIELDS } from './fdb/table';
import { NEIGHBOR_ATTRS, NEIGHBOR_FIELDS, NEIGHBOR_FILTER_FIELDS } from './neighbor/table';
import { linkKinds } from './link/kinds';
import { LINKINFO_ATTRS, LINK_ATTRS, LINK_CHANGE_FIELDS, LINK_COMMON_FIELDS, LINK_FILTER_FIELDS } from './link/table';
import { VETH_PEER_FIELDS } from './link/veth';
import { METRICS_ATTRS, NEXTHOP_ATTRS, NEXTHOP_FIELDS, ROUTE_ATTRS, ROUTE_FIELDS, ROUTE_FILTER_FIELDS, ROUTE_LOOKUP_FIELDS } from './route/table';
import { NHA_ATTRS, NHA_RES_BUCKET_ATTRS, NHA_RES_GROUP_ATTRS, NH_FILTER_FIELDS, NH_GROUP_FIELDS, NH_GROUP_MEMBER_FIELDS, NH_SINGLE_FIELDS } from './nexthop/table';
import { FRA_ATTRS, RULE_FIELDS, RULE_FILTER_FIELDS } from './rule/table';
import type { FieldTable } from './spec';

/** The spec field tables, each naming the interface it describes. */
export function specTables(): FieldTable[] {
  return [
    ADDRESS_FIELDS,
    ADDRESS_FILTER_FIELDS,
    NEIGHBOR_FIELDS,
    NEIGHBOR_FILTER_FIELDS,
    FDB_FIELDS,
    FDB_FILTER_FIELDS,
    LINK_COMMON_FIELDS,
    LINK_CHANGE_FIELDS,
    LINK_FILTER_FIELDS,
    VETH_PEER_FIELDS,
    ...linkKinds().map((k) => k.fields),
    ROUTE_FIELDS,
    NEXTHOP_FIELDS,
    ROUTE_FILTER_FIELDS,
    ROUTE_LOOKUP_FIELDS,
    NH_SINGLE_FIELDS,
    NH_GROUP_FIELDS,
    NH_GROUP_MEMBER_FIELDS,
    NH_FILTER_FIELDS,
    RULE_FIELDS,
    RULE_FILTER_FIELDS,
  ];
}

/** The attribute tables, by message kind. */
export function attrTables(): Array<AttrTable<AttrSpec>> {
  const kindData = linkKinds().flatMap((k) => (k.data ? [k.data] : []));
  return [IFA_ATTRS, NEIGHBOR_ATTRS, FDB_ATTRS, LINK_ATTRS, LINKINFO_ATTRS, ...kindData, ROUTE_ATTRS, METRICS_ATTRS, NEXTHOP_ATTRS, NHA_ATTRS, NHA_RES_GROUP_ATTRS, NHA_RES_BUCKET_ATTRS, FRA_ATTRS];
}
