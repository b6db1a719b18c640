'use strict';
// Hand-built rtnetlink requests for wire-layer tests, written straight from the kernel structs
// so that these tests do not depend on the typed layer they sit under.
const wire = require('../../dist/wire');
const C = require('../../dist/rtnl/constants');

function ifinfomsg(w, { family = 0, index = 0, flags = 0, change = 0 } = {}) {
  const off = w.reserve(C.IFINFOMSG_LEN);
  w.buf[off] = family;
  w.buf.writeInt32LE(index, off + 4);
  w.buf.writeUInt32LE(flags, off + 8);
  w.buf.writeUInt32LE(change, off + 12);
}

/** RTM_NEWLINK type veth with its peer, in one request. */
function newVeth(w, name, peer) {
  w.begin(C.RTM_NEWLINK, wire.NLM_F_CREATE | wire.NLM_F_EXCL);
  ifinfomsg(w);
  w.string(C.IFLA_IFNAME, name);
  const li = w.nestStart(C.IFLA_LINKINFO);
  w.string(C.IFLA_INFO_KIND, 'veth');
  const data = w.nestStart(C.IFLA_INFO_DATA);
  const p = w.nestStart(C.VETH_INFO_PEER);
  ifinfomsg(w);
  w.string(C.IFLA_IFNAME, peer);
  w.nestEnd(p);
  w.nestEnd(data);
  w.nestEnd(li);
  w.end();
}

function newLinkOfKind(w, name, kind) {
  w.begin(C.RTM_NEWLINK, wire.NLM_F_CREATE | wire.NLM_F_EXCL);
  ifinfomsg(w);
  w.string(C.IFLA_IFNAME, name);
  const li = w.nestStart(C.IFLA_LINKINFO);
  w.string(C.IFLA_INFO_KIND, kind);
  w.nestEnd(li);
  w.end();
}

function setLinkUp(w, index) {
  w.begin(C.RTM_NEWLINK, 0);
  ifinfomsg(w, { index, flags: C.IFF_UP, change: C.IFF_UP });
  w.end();
}

function getLinkDump(w) {
  w.begin(C.RTM_GETLINK, wire.NLM_F_DUMP);
  ifinfomsg(w);
  w.end();
}

function getLinkByName(w, name) {
  w.begin(C.RTM_GETLINK, 0);
  ifinfomsg(w);
  w.string(C.IFLA_IFNAME, name);
  w.end();
}

/** Parses an RTM_NEWLINK reply to { index, name }. */
function linkOf(m) {
  const index = m.buf.readInt32LE(m.payload + 4);
  let name;
  wire.forEachAttr(m.buf, m.payload + C.IFINFOMSG_LEN, m.end, (type, off, len) => {
    if (type === C.IFLA_IFNAME) name = wire.readString(m.buf, off, len);
  });
  return { index, name };
}

/** RTM_NEWROUTE dst/plen via gw dev index onlink (IPv4, main table, proto static). */
function newRoute(w, { dst, plen, gw, oif, flags = wire.NLM_F_CREATE | wire.NLM_F_EXCL, table = C.RT_TABLE_MAIN }) {
  w.begin(C.RTM_NEWROUTE, flags);
  const off = w.reserve(C.RTMSG_LEN);
  w.buf[off] = C.AF_INET;
  w.buf[off + 1] = plen;
  w.buf[off + 4] = table < 256 ? table : C.RT_TABLE_UNSPEC;
  w.buf[off + 5] = C.RTPROT_STATIC;
  w.buf[off + 6] = C.RT_SCOPE_UNIVERSE;
  w.buf[off + 7] = C.RTN_UNICAST;
  w.buf.writeUInt32LE(C.RTNH_F_ONLINK, off + 8);
  w.u32(C.RTA_TABLE, table);
  w.ip(C.RTA_DST, dst);
  w.ip(C.RTA_GATEWAY, gw);
  w.u32(C.RTA_OIF, oif);
  w.end();
}

function getRouteDump(w, family = C.AF_INET) {
  w.begin(C.RTM_GETROUTE, wire.NLM_F_DUMP);
  const off = w.reserve(C.RTMSG_LEN);
  w.buf[off] = family;
  w.end();
}

module.exports = { ifinfomsg, newVeth, newLinkOfKind, setLinkUp, getLinkDump, getLinkByName, linkOf, newRoute, getRouteDump };
