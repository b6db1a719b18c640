/**
 * One namespace-wide setting the scoped read of routes depends on, asked of the kernel
 * (RTM_GETNETCONF): whether IPv6 forwarding is on for "all". With it off, the kernel's IPv6
 * route lookup passes over a route whose gateway's neighbour entry has FAILED (ip6_pol_route
 * adds RT6_LOOKUP_F_REACHABLE), so a lookup cannot prove that no route holds a prefix.
 */
import { AF_INET6 } from '../../../rtnl/constants';
import type { Rtnl } from '../../../rtnl/rtnl';
import { NLM_F_REQUEST } from '../../../wire/constants';
import { forEachAttr } from '../../../wire/reader';

const RTM_NEWNETCONF = 80;
const RTM_GETNETCONF = 82;
const NETCONFA_IFINDEX = 1;
const NETCONFA_FORWARDING = 2;
const NETCONFA_IFINDEX_ALL = -1;
/** struct netconfmsg: one byte of family, padded to 4. */
const NETCONFMSG_LEN = 4;

/** net.ipv6.conf.all.forwarding of the socket's namespace: true, false, or undefined when the kernel did not say. */
export async function ipv6ForwardingAll(nl: Rtnl): Promise<boolean | undefined> {
  const replies = await nl.socket.request(
    (w) => {
      w.begin(RTM_GETNETCONF, NLM_F_REQUEST);
      const at = w.reserve(NETCONFMSG_LEN);
      w.buf[at] = AF_INET6;
      w.s32(NETCONFA_IFINDEX, NETCONFA_IFINDEX_ALL);
      w.end();
    },
    { what: 'netconf get inet6 all' },
  );
  let forwarding: boolean | undefined;
  for (const m of replies) {
    if (m.type !== RTM_NEWNETCONF || m.end - m.payload < NETCONFMSG_LEN) continue;
    forEachAttr(m.buf, m.payload + NETCONFMSG_LEN, m.end, (type, off, len) => {
      if (type === NETCONFA_FORWARDING && len >= 4) forwarding = m.buf.readInt32LE(off) !== 0;
    });
  }
  return forwarding;
}
