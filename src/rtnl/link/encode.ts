/**
 * The link requests as pure encoders (spec + resolved indexes in, one netlink message out), so
 * that links.*, the reconciler's batches and the golden-byte tests share them. Device names in a
 * spec must be resolved to indexes first (refs); a name left unresolved is a programming error
 * (TypeError), never a silent zero. Every kind-specific part comes from the kind's module,
 * through the registry (./kinds).
 */
import { describeValue } from '../../values/problems';
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL } from '../../wire/constants';
import type { MessageWriter } from '../../wire/writer';
import { IFLA_EXT_MASK, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_MASTER, RTEXT_FILTER_SKIP_STATS, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK } from '../constants';
import type { DeviceRef, Link, LinkChanges, LinkSpec } from '../types';
import { canonicalMac } from '../../values/mac';
import { startLinkInfo, upFlags, writeCommonAttrs, writeIfinfomsg, type CommonAttrs } from './codec';
import { indexOf } from './generic';
import type { AnyLinkKind, LinkRefs } from './kind';
import { linkKind } from './kinds';

export type { LinkRefs } from './kind';

function needFd(netns: string | undefined, fd: number | undefined, field: string): number | undefined {
  if (netns === undefined) return undefined;
  if (fd === undefined) throw new TypeError(`${field} "${netns}" needs an open namespace fd (pass it in refs)`);
  return fd;
}

function kindOf(kind: string): AnyLinkKind {
  const k = linkKind(kind);
  if (!k) throw new TypeError(`${describeValue(kind)} is not a registered link kind`);
  return k;
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
  const kind = kindOf(spec.kind);
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
    link: kind.devIsLink ? indexOf(kind.deviceOf?.(spec), refs.dev, 'dev') : undefined,
    name: spec.name,
  });
  const li = startLinkInfo(w, spec.kind);
  kind.encodeData?.(w, spec, refs);
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
  if (spec.address !== undefined && (canonicalMac(spec.address) ?? spec.address) !== current.address) changed.push('address');
  if (spec.up !== undefined && spec.up !== current.up) changed.push('up');
  if (spec.txqueuelen !== undefined && spec.txqueuelen !== current.txqueuelen) changed.push('txqueuelen');
  if (spec.alias !== undefined && spec.alias !== (current.alias ?? '')) changed.push('alias');
  if (spec.master !== undefined) {
    const want = indexOf(spec.master, refs.master, 'master') || undefined;
    if (want !== current.master) changed.push('master');
  }
  const kind = linkKind(spec.kind);
  if (kind && current.kind === spec.kind) {
    const d = kind.diff(current, spec, refs);
    changed.push(...d);
    recreate.push(...d.filter((f) => kind.immutable.includes(f)));
    if (kind.recreate) recreate.push(...kind.recreate(current, spec, d));
  }
  return { changed, recreate: [...new Set(recreate)] };
}

const COMMON_FIELDS = new Set<string>(['name', 'mtu', 'address', 'up', 'master', 'txqueuelen', 'alias']);

/**
 * The requests a change takes, as groups of fields (one request each, in order). Usually one;
 * a kind may split (a vxlan whose MTU and kind settings both change gets its MTU in a second
 * request: vxlan_nl2conf() refuses IFLA_MTU next to IFLA_INFO_DATA).
 */
export function splitLinkChange(kind: string, changed: readonly string[]): string[][] {
  if (!changed.length) return [];
  const k = linkKind(kind);
  return k?.splitChange ? k.splitChange(changed) : [[...changed]];
}

/**
 * RTM_NEWLINK without NLM_F_CREATE on device `index`, sending the `changed` fields of spec:
 * common ones as IFLA_* attributes, kind ones in IFLA_LINKINFO/IFLA_INFO_DATA as the kind
 * writes them (a vxlan only the changed attributes; an ipip the full set, as the kernel resets
 * what is absent).
 */
export function encodeLinkChange(w: MessageWriter, index: number, current: Link, spec: LinkSpec, changed: readonly string[], refs: LinkRefs = {}): void {
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
  const kind = linkKind(spec.kind);
  if (kindFields.length && kind?.encodeChange) {
    const li = startLinkInfo(w, spec.kind);
    const d = w.nestStart(IFLA_INFO_DATA);
    kind.encodeChange(w, current, spec, kindFields, refs);
    w.nestEnd(d);
    w.nestEnd(li);
  }
  w.end();
}
