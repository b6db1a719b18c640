/**
 * The link requests as pure encoders (spec + resolved indexes in, one netlink message out), so
 * that links.*, the reconciler's batches and the golden-byte tests share them. Device names in a
 * spec must be resolved to indexes first (refs); a name left unresolved is a programming error
 * (TypeError), never a silent zero.
 */
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL } from '../../wire/constants';
import type { MessageWriter } from '../../wire/writer';
import {
  IFLA_EXT_MASK,
  IFLA_IFNAME,
  IFLA_INFO_DATA,
  IFLA_MASTER,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '../constants';
import type { DeviceRef, IpipLink, Link, LinkChanges, LinkSpec, VxlanLink, BridgeLink } from '../types';
import { bridgeDiff, bridgeHasData, BRIDGE_IMMUTABLE, encodeBridgeData } from './bridge';
import { startLinkInfo, upFlags, writeCommonAttrs, writeIfinfomsg, type CommonAttrs } from './codec';
import { encodeIpipChange, encodeIpipData, ipipDiff, ipipNeedsRecreate, IPIP_IMMUTABLE } from './ipip';
import { encodeVethData } from './veth';
import { encodeVxlanChange, encodeVxlanData, vxlanDiff, VXLAN_IMMUTABLE, type VxlanField } from './vxlan';

/** Devices and namespaces of a spec, resolved: indexes and open namespace fds. */
export interface LinkRefs {
  /** Underlay device index (vxlan, ipip dev). */
  dev?: number;
  /** Master index; 0 means none. */
  master?: number;
  /** Open fd of spec.netns / changes.netns. */
  netnsFd?: number;
  /** Open fd of a veth peer's netns. */
  peerNetnsFd?: number;
}

function indexOf(ref: DeviceRef | null | undefined, resolved: number | undefined, field: string): number | undefined {
  if (ref === undefined) return undefined;
  if (ref === null) return 0;
  if (typeof ref === 'number') return ref;
  if (resolved === undefined) throw new TypeError(`${field} "${ref}" must be resolved to an interface index (pass it in refs)`);
  return resolved;
}

function needFd(netns: string | undefined, fd: number | undefined, field: string): number | undefined {
  if (netns === undefined) return undefined;
  if (fd === undefined) throw new TypeError(`${field} "${netns}" needs an open namespace fd (pass it in refs)`);
  return fd;
}

/** Starts an RTM_xxxLINK message addressed to a device: by index, or by IFLA_IFNAME with
 * index 0 (the kernel looks the name up, saving a round trip). */
function beginForDevice(w: MessageWriter, type: number, flags: number, ref: DeviceRef, up?: boolean): void {
  w.begin(type, flags);
  const [f, c] = upFlags(up);
  writeIfinfomsg(w, typeof ref === 'number' ? ref : 0, f, c);
}

/**
 * RTM_NEWLINK with NLM_F_CREATE | NLM_F_EXCL: a new device of spec's kind, every setting in one
 * request (a veth's peer, with its own namespace, included). The socket adds NLM_F_REQUEST |
 * NLM_F_ACK; with those the bytes equal what `ip link add` sends for the same settings.
 * spec.alias is not written: the kernel ignores IFLA_IFALIAS when it creates a device (Linux
 * 6.18, also for `ip link add NAME alias X`); links.add() sets it with a second request.
 */
export function encodeLinkAdd(w: MessageWriter, spec: LinkSpec, refs: LinkRefs = {}): void {
  w.begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  const [f, c] = upFlags(spec.up);
  writeIfinfomsg(w, 0, f, c);
  const master = spec.master === null ? undefined : indexOf(spec.master, refs.master, 'master');
  writeCommonAttrs(w, {
    address: spec.address,
    mtu: spec.mtu,
    txqueuelen: spec.txqueuelen,
    master,
    netnsFd: needFd(spec.netns, refs.netnsFd, 'netns'),
    name: spec.name,
  });
  const li = startLinkInfo(w, spec.kind);
  switch (spec.kind) {
    case 'vxlan': {
      const d = w.nestStart(IFLA_INFO_DATA);
      encodeVxlanData(w, spec, indexOf(spec.dev, refs.dev, 'dev'));
      w.nestEnd(d);
      break;
    }
    case 'ipip': {
      const d = w.nestStart(IFLA_INFO_DATA);
      encodeIpipData(w, spec, indexOf(spec.dev, refs.dev, 'dev'));
      w.nestEnd(d);
      break;
    }
    case 'veth': {
      const d = w.nestStart(IFLA_INFO_DATA);
      encodeVethData(w, spec.peer, needFd(spec.peer.netns, refs.peerNetnsFd, 'peer.netns'));
      w.nestEnd(d);
      break;
    }
    case 'bridge':
      if (bridgeHasData(spec)) {
        const d = w.nestStart(IFLA_INFO_DATA);
        encodeBridgeData(w, spec);
        w.nestEnd(d);
      }
      break;
  }
  w.nestEnd(li);
  w.end();
}

/**
 * RTM_NEWLINK without NLM_F_CREATE on an existing device (`ip link set`): the changes given,
 * nothing else. master null writes IFLA_MASTER 0 (nomaster); netns moves the device
 * (IFLA_NET_NS_FD). A device named rather than indexed is found by IFLA_IFNAME, which is why a
 * rename (changes.name) needs the index.
 */
export function encodeLinkSet(w: MessageWriter, target: DeviceRef, changes: LinkChanges, refs: LinkRefs = {}): void {
  if (changes.name !== undefined && typeof target !== 'number') {
    throw new TypeError(`renaming "${target}" needs its interface index (IFLA_IFNAME names the new name)`);
  }
  beginForDevice(w, RTM_NEWLINK, 0, target, changes.up);
  writeCommonAttrs(w, {
    address: changes.address,
    mtu: changes.mtu,
    txqueuelen: changes.txqueuelen,
    master: indexOf(changes.master, refs.master, 'master'),
    netnsFd: needFd(changes.netns, refs.netnsFd, 'netns'),
    alias: changes.alias,
    name: typeof target === 'number' ? changes.name : target,
  });
  w.end();
}

/** RTM_DELLINK of one device (by index, or by name). */
export function encodeLinkDel(w: MessageWriter, target: DeviceRef): void {
  beginForDevice(w, RTM_DELLINK, 0, target);
  if (typeof target !== 'number') w.string(IFLA_IFNAME, target);
  w.end();
}

/** RTM_GETLINK of one device (by index, or by name), without statistics. */
export function encodeLinkGet(w: MessageWriter, target: DeviceRef): void {
  beginForDevice(w, RTM_GETLINK, 0, target);
  if (typeof target !== 'number') w.string(IFLA_IFNAME, target);
  w.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  w.end();
}

/**
 * RTM_GETLINK dump without statistics. With strict checking on (the socket's default) the
 * kernel filters by master index and by kind (IFLA_LINKINFO/IFLA_INFO_KIND) itself; a kind the
 * kernel does not know is not filtered there, so callers filter again.
 */
export function encodeLinkDump(w: MessageWriter, filter: { master?: number; kind?: string } = {}): void {
  w.begin(RTM_GETLINK, NLM_F_DUMP);
  writeIfinfomsg(w, 0);
  w.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  if (filter.master !== undefined) w.u32(IFLA_MASTER, filter.master);
  if (filter.kind !== undefined) w.nestEnd(startLinkInfo(w, filter.kind));
  w.end();
}

// ---------------------------------------------------------------- change of an existing device

/** The common settings change() compares and sends. */
export type CommonField = 'name' | 'mtu' | 'address' | 'up' | 'master' | 'txqueuelen' | 'alias';

/** What a spec would change on an existing device. */
export interface LinkChangePlan {
  /** Spec fields whose value differs from the device's (common and kind-specific). */
  changed: string[];
  /** Of those, the ones the kernel cannot change in place: the device must be deleted and
   * added again (e.g. a vxlan's vni or port; see VXLAN_IMMUTABLE). */
  recreate: string[];
}

/**
 * Compares a spec with a device as read back (same kind; refs.dev/refs.master resolved): which
 * fields differ and which of those need delete + add. Fields the spec leaves out are not
 * compared. The veth peer is not compared (see VETH_IMMUTABLE).
 */
export function planLinkChange(current: Link, spec: LinkSpec, refs: LinkRefs = {}): LinkChangePlan {
  const changed: string[] = [];
  const recreate: string[] = [];
  if (spec.name !== current.name) changed.push('name');
  if (spec.mtu !== undefined && spec.mtu !== current.mtu) changed.push('mtu');
  if (spec.address !== undefined && spec.address.toLowerCase().replace(/-/g, ':') !== current.address) changed.push('address');
  if (spec.up !== undefined && spec.up !== current.up) changed.push('up');
  if (spec.txqueuelen !== undefined && spec.txqueuelen !== current.txqueuelen) changed.push('txqueuelen');
  if (spec.alias !== undefined && spec.alias !== (current.alias ?? '')) changed.push('alias');
  if (spec.master !== undefined) {
    const want = indexOf(spec.master, refs.master, 'master') || undefined;
    if (want !== current.master) changed.push('master');
  }
  const dev = 'dev' in spec ? indexOf(spec.dev, refs.dev, 'dev') : undefined;
  if (spec.kind === 'vxlan' && current.kind === 'vxlan') {
    const d = vxlanDiff(current as VxlanLink, spec, dev);
    changed.push(...d);
    recreate.push(...d.filter((f) => VXLAN_IMMUTABLE.includes(f)));
    // The kernel keeps the device's address family (that of its local or remote/group, IPv4
    // when it has neither: vxlan_config_validate()) for both local and remote/group.
    const fam = (s: string | undefined) => (s === undefined ? 0 : s.includes(':') ? 6 : 4);
    const cur = current as VxlanLink;
    const family = fam(cur.local ?? cur.remote ?? cur.group) || 4;
    if (d.includes('local') && fam(spec.local) !== family) recreate.push('local');
    for (const f of ['remote', 'group'] as const) if (d.includes(f) && fam(spec[f]) !== family) recreate.push(f);
  } else if (spec.kind === 'ipip' && current.kind === 'ipip') {
    const d = ipipDiff(current as IpipLink, spec, dev);
    changed.push(...d);
    recreate.push(...d.filter((f) => IPIP_IMMUTABLE.includes(f)), ...ipipNeedsRecreate(current as IpipLink, spec));
  } else if (spec.kind === 'bridge' && current.kind === 'bridge') {
    const d = bridgeDiff(current as BridgeLink, spec);
    changed.push(...d);
    recreate.push(...d.filter((f) => BRIDGE_IMMUTABLE.includes(f)));
  }
  return { changed, recreate: [...new Set(recreate)] };
}

const COMMON_FIELDS = new Set<string>(['name', 'mtu', 'address', 'up', 'master', 'txqueuelen', 'alias']);

/**
 * The requests a change takes, as groups of fields (one request each, in order). Usually one;
 * but vxlan_nl2conf() refuses IFLA_MTU in a request that also carries IFLA_INFO_DATA ("Cannot
 * change mtu", EOPNOTSUPP, Linux 6.18), so a vxlan whose MTU and kind settings both change
 * gets its MTU in a second request, after the rest (a new underlay changes what MTU it takes).
 */
export function splitLinkChange(kind: string, changed: readonly string[]): string[][] {
  if (!changed.length) return [];
  if (kind === 'vxlan' && changed.includes('mtu') && changed.some((f) => !COMMON_FIELDS.has(f))) {
    return [changed.filter((f) => f !== 'mtu'), ['mtu']];
  }
  return [[...changed]];
}

/**
 * RTM_NEWLINK without NLM_F_CREATE on device `index`, sending the `changed` fields of spec:
 * common ones as IFLA_* attributes, kind ones in IFLA_LINKINFO/IFLA_INFO_DATA (a vxlan gets
 * only the changed attributes; an ipip the full set, as the kernel resets what is absent).
 */
export function encodeLinkChange(
  w: MessageWriter,
  index: number,
  current: Link,
  spec: LinkSpec,
  changed: readonly string[],
  refs: LinkRefs = {},
): void {
  const has = (f: string) => changed.includes(f);
  w.begin(RTM_NEWLINK, 0);
  const [f, c] = upFlags(has('up') ? spec.up : undefined);
  writeIfinfomsg(w, index, f, c);
  const common: CommonAttrs = {};
  if (has('address')) common.address = spec.address;
  if (has('mtu')) common.mtu = spec.mtu;
  if (has('txqueuelen')) common.txqueuelen = spec.txqueuelen;
  if (has('master')) common.master = indexOf(spec.master, refs.master, 'master');
  if (has('alias')) common.alias = spec.alias;
  if (has('name')) common.name = spec.name;
  writeCommonAttrs(w, common);
  const kindFields = changed.filter((x) => !COMMON_FIELDS.has(x));
  if (kindFields.length) {
    const li = startLinkInfo(w, spec.kind);
    const d = w.nestStart(IFLA_INFO_DATA);
    const dev = 'dev' in spec ? indexOf(spec.dev, refs.dev, 'dev') : undefined;
    if (spec.kind === 'vxlan') encodeVxlanChange(w, spec, kindFields as VxlanField[], dev);
    else if (spec.kind === 'ipip') encodeIpipChange(w, current as IpipLink, spec, dev);
    else if (spec.kind === 'bridge') encodeBridgeData(w, { stp: has('stp') ? spec.stp : undefined, vlanFiltering: has('vlanFiltering') ? spec.vlanFiltering : undefined });
    w.nestEnd(d);
    w.nestEnd(li);
  }
  w.end();
}
