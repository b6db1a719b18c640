/**
 * veth pairs: both ends in one request. The peer (VETH_INFO_PEER: struct ifinfomsg and its own
 * attributes) is registered first, so in one namespace it gets the lower index, and lands in
 * the namespace the request came from unless it names another (IFLA_NET_NS_FD). Each end has
 * carrier while both are up; deleting one deletes both.
 */
import { IFINFOMSG_LEN, IFLA_NET_NS_FD, VETH_INFO_PEER } from '../../rtnl/constants';
import { Device, type LinkKind } from '../device';
import { applyCreateAttrs, deviceName, registerDevice } from '../link';
import { Attrs, E, fail } from '../message';

function peerOf(dev: Device): Device | undefined {
  const p = dev.priv.peer as Device | undefined;
  return p && p.ns.devices.get(p.index) === p ? p : undefined;
}

/** The veth kind. */
export const veth: LinkKind = {
  name: 'veth',
  setup(dev) {
    dev.numTxQueues = 1;
    dev.numRxQueues = 1;
  },
  create(dev, ctx) {
    let tbp: Attrs | undefined;
    const r = ctx.data?.range(VETH_INFO_PEER);
    if (r) {
      if (r.end - r.off < IFINFOMSG_LEN) fail(E.EINVAL);
      tbp = Attrs.parse(ctx.data!.buf, r.off + IFINFOMSG_LEN, r.end);
    }
    let peerNs = ctx.src;
    const fd = tbp?.u32(IFLA_NET_NS_FD);
    if (fd !== undefined) {
      const target = ctx.src.kernel.namespaceByFd(fd);
      if (!target || target.dead) fail(E.EBADF);
      peerNs = target;
    }
    const empty = Attrs.parse(Buffer.alloc(0), 0, 0);
    const name = deviceName(peerNs, tbp ?? empty, 'veth%d');
    if (peerNs.names.has(name)) fail(E.EEXIST);
    const peer = new Device(peerNs, name, veth);
    veth.setup(peer);
    applyCreateAttrs(peer, tbp ?? empty);
    peer.priv.peer = dev;
    dev.priv.peer = peer;
    registerDevice(peerNs, peer);
  },
  carrier(dev) {
    const p = peerOf(dev);
    return p !== undefined && p.up;
  },
  reportsOperstate: () => true,
  lower: peerOf,
  companions(dev) {
    const p = peerOf(dev);
    return p ? [p] : [];
  },
};
