'use strict';
// Hand-made requests for what the Rtnl API does not send (kinds it has no spec for, refused
// attribute combinations): a header and a list of attributes, nests as nested lists.
const C = require('../../../dist/rtnl/constants');

/**
 * Writes one message: `fixed` is the struct after nlmsghdr (a Buffer), attrs is a list of
 * [type, kind, value] with kind one of u8, u16, u32, be16, be32, str, bin, ip, flag, nest.
 */
function encoder(type, flags, fixed, attrs) {
  return (w) => {
    w.begin(type, flags);
    const off = w.reserve(fixed.length);
    fixed.copy(w.buf, off);
    writeAttrs(w, attrs);
    w.end();
  };
}

function writeAttrs(w, attrs) {
  for (const [t, kind, v] of attrs) {
    switch (kind) {
      case 'u8':
        w.u8(t, v);
        break;
      case 'u16':
        w.u16(t, v);
        break;
      case 'u32':
        w.u32(t, v);
        break;
      case 'be16':
        w.be16(t, v);
        break;
      case 'be32':
        w.be32(t, v);
        break;
      case 'str':
        w.string(t, v);
        break;
      case 'bin':
        w.binary(t, v);
        break;
      case 'ip':
        w.ip(t, v);
        break;
      case 'flag':
        w.flag(t);
        break;
      case 'nest': {
        const n = w.nestStart(t);
        writeAttrs(w, v);
        w.nestEnd(n);
        break;
      }
      default:
        throw new Error(`unknown attribute kind ${kind}`);
    }
  }
}

/** struct ifinfomsg. */
function ifinfo(index = 0, flags = 0, change = 0) {
  const b = Buffer.alloc(C.IFINFOMSG_LEN);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

/** struct rtmsg. */
function rtmsg(o = {}) {
  const b = Buffer.alloc(C.RTMSG_LEN);
  b[0] = o.family ?? C.AF_INET;
  b[1] = o.dstLen ?? 0;
  b[3] = o.tos ?? 0;
  b[4] = o.table ?? 0;
  b[5] = o.protocol ?? 0;
  b[6] = o.scope ?? 0;
  b[7] = o.type ?? 0;
  b.writeUInt32LE(o.flags ?? 0, 8);
  return b;
}

/** A new link of a kind the Rtnl API has no spec for: { name, kind, tb: [...], data: [...] }. */
function newLink({ name, kind, tb = [], data, flags = 0x600 /* CREATE|EXCL */, index = 0 }) {
  const info = [[C.IFLA_INFO_KIND, 'str', kind]];
  if (data) info.push([C.IFLA_INFO_DATA, 'nest', data]);
  const attrs = [...tb];
  if (name) attrs.push([C.IFLA_IFNAME, 'str', name]);
  attrs.push([C.IFLA_LINKINFO, 'nest', info]);
  return encoder(C.RTM_NEWLINK, flags, ifinfo(index), attrs);
}

module.exports = { encoder, ifinfo, rtmsg, newLink, C };
