/**
 * Links: create (every registered kind: vxlan, ipip, veth, bridge, wireguard, macvlan, ip6tnl), change,
 * delete, read and list network devices over rtnetlink. Everything kind-specific comes from the
 * kind's module through the registry (./kinds).
 */
import { NetlinkError } from '../../wire/errors';
import { nativeKernel, type NetlinkKernel } from '../../addon';
import type { MessageView } from '../../wire/reader';
import { NetlinkSocket } from '../../wire/socket';
import { RTM_NEWLINK } from '../constants';
import type { RtnlContext } from '../context';
import { DeviceResolver } from '../resolve';
import type { DeviceRef, Link, LinkChanges, LinkFilter, LinkSpec } from '../types';
import { checkDevice } from '../validate';
import { netnsPath } from '../../values/names';
import { Problems, ValidationError, describeValue, own } from '../../values/problems';
import { parseLinkCommon, rawAttrs } from './codec';
import {
  encodeLinkAdd,
  encodeLinkChange,
  encodeLinkDel,
  encodeLinkDump,
  encodeLinkGet,
  encodeLinkSet,
  planLinkChange,
  splitLinkChange,
  type LinkRefs,
} from './encode';
import { linkKind } from './kinds';
import { LINK_FILTER_FIELDS } from './table';
import { MAX_MTU, MIN_MTU, validateLinkChanges, validateLinkSpec } from './validate';

export type { LinkChangePlan, LinkRefs, CommonField } from './encode';
export type { LinkKindModule, AnyLinkKind, KindData, KindLink, KindSpec, MtuBounds } from './kind';
export type { SpecOf, LinkOf } from './kinds';
export type { VxlanField } from './vxlan';
export type { IpipField } from './ipip';
export type { BridgeField } from './bridge';
export type { MacvlanField } from './macvlan';
export type { Ip6tnlField } from './ip6tnl';

/**
 * Decodes one RTM_NEWLINK or RTM_DELLINK message (used by list() and by the monitor). A device
 * of a registered kind decodes to its typed shape (the kind's table reads IFLA_INFO_DATA; what
 * it does not name is kept in `raw`); any other device is an OtherLink with its kind (null when
 * it has none, e.g. lo) and its IFLA_INFO_DATA attributes undecoded, so unknown kinds never
 * fail. Throws NetlinkParseError for a malformed message.
 */
export function parseLinkMessage(m: MessageView): Link {
  const { base, info } = parseLinkCommon(m);
  const kind = linkKind(info.kind);
  if (!kind) return { ...base, kind: info.kind, raw: rawAttrs(m.buf, info.dataStart, info.dataEnd) };
  const values: Record<string, unknown> = {};
  let raw;
  if (info.dataStart >= 0) {
    if (kind.data) raw = kind.data.decodeInto(m.buf, info.dataStart, info.dataEnd, values);
    else if (info.dataEnd > info.dataStart) raw = rawAttrs(m.buf, info.dataStart, info.dataEnd);
  }
  return kind.decode(base, { values, raw }) as Link;
}

const deviceText = (ref: DeviceRef) => (typeof ref === 'number' ? `index ${ref}` : describeValue(ref));

/**
 * The device's MTU bounds as the kernel reports them (IFLA_MIN_MTU, IFLA_MAX_MTU; 0 is "no
 * bound", as loopback's), checked before a change is sent: the kernel's own refusal is a bare
 * EINVAL that does not say the range.
 */
function checkMtuBounds(p: Problems, path: string, mtu: number | undefined, device: Link): void {
  if (mtu === undefined) return;
  const min = device.minMtu ?? 0;
  const max = device.maxMtu ?? 0;
  if (mtu < min || (max > 0 && mtu > max)) {
    p.add(path, `${mtu} is outside the MTU range of ${device.name} (${min}..${max > 0 ? max : 'no limit'}, its IFLA_MIN_MTU..IFLA_MAX_MTU)`);
  }
}

/** Opens namespace fds for IFLA_NET_NS_FD and closes them all afterwards, whatever happens. */
class NetnsFds {
  private readonly fds: number[] = [];
  constructor(private readonly kernel: NetlinkKernel = nativeKernel()) {}
  open(netns: string | undefined, what: string): number | undefined {
    if (netns === undefined) return undefined;
    try {
      const fd = this.kernel.openNetns(netnsPath(netns));
      this.fds.push(fd);
      return fd;
    } catch (e) {
      if (e instanceof Error) e.message = `${what}: namespace "${netns}": ${e.message}`;
      throw e;
    }
  }
  close(): void {
    for (const fd of this.fds.splice(0)) this.kernel.closeNetns(fd);
  }
}

function checkRef(what: string, ref: unknown): asserts ref is DeviceRef {
  const p = new Problems();
  checkDevice(p, 'device', ref);
  p.throwIfAny(what);
}

/**
 * The links of one namespace (the context's socket). Every method validates its input first and
 * throws ValidationError, listing every problem, before anything is sent; the kernel's refusals
 * are NetlinkError with the errno code, the kernel's text and the device named.
 */
export class Links {
  constructor(protected readonly ctx: RtnlContext) {}

  /**
   * Creates a device (RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL) and returns it as read back.
   * A veth's peer, in its own namespace if asked, is made in the same request. With spec.netns
   * the device is created in that namespace; its master is looked up there, its underlay (dev)
   * here, and it is read back there. An alias takes a second request (the kernel ignores it on
   * creation). Throws ValidationError for a bad spec, an ENOENT error naming a namespace that
   * does not exist (nothing sent), NetlinkError EEXIST when the name is taken, ENODEV for a missing dev/master, EOPNOTSUPP for a kind the kernel
   * lacks ("Unknown device type"). Note: the kernel caps a vxlan's MTU at its underlay's MTU
   * minus the encapsulation (50/70 bytes) without an error; the returned link shows the MTU
   * the device got.
   */
  async add(spec: LinkSpec): Promise<Link> {
    const isObj = typeof spec === 'object' && spec !== null;
    const kind = isObj ? own(spec, 'kind') : undefined;
    const what = `links.add ${typeof kind === 'string' ? kind : describeValue(kind)} ${isObj ? describeValue(own(spec, 'name')) : describeValue(spec)}`;
    const p = new Problems();
    validateLinkSpec(p, '', spec);
    p.throwIfAny(what);
    const fds = new NetnsFds(this.ctx.kernel);
    let there: NetlinkSocket | undefined;
    try {
      const refs: LinkRefs = {};
      // The fds first: a missing namespace is reported naming it, before any request.
      refs.netnsFd = fds.open(spec.netns, what);
      if (spec.kind === 'veth') refs.peerNetnsFd = fds.open(spec.peer.netns, what);
      if (refs.netnsFd !== undefined) there = NetlinkSocket.open({ netnsFd: refs.netnsFd, kernel: this.ctx.kernel });
      const dev = linkKind(spec.kind)?.deviceOf?.(spec);
      if (typeof dev === 'string') refs.dev = await this.ctx.devices.index(dev, what);
      if (typeof spec.master === 'string') {
        refs.master = await (there ? new DeviceResolver(there) : this.ctx.devices).index(spec.master, what);
      }
      await this.ctx.socket.request((w) => encodeLinkAdd(w, spec, refs), { what });
      fds.close();
      // The kernel ignores IFLA_IFALIAS on creation: set it on the new device.
      if (spec.alias) {
        const alias = spec.alias;
        await (there ?? this.ctx.socket).request((w) => encodeLinkSet(w, spec.name, { alias }), { what: `${what}: alias` });
      }
      return await readLink(there ?? this.ctx.socket, spec.name, `${what}: read back`);
    } finally {
      fds.close();
      there?.close();
    }
  }

  /**
   * Changes settings of an existing device in one request (RTM_NEWLINK without NLM_F_CREATE):
   * name, mtu, address, up/down, master (null = nomaster), txqueuelen, netns (moves the device
   * there, IFLA_NET_NS_FD), alias ('' removes it). Empty changes send nothing. Throws
   * ValidationError for bad changes, NetlinkError (ENODEV naming the device, or the kernel's
   * refusal) otherwise. Renaming an up device works on Linux 6.18; older kernels (6.1) refuse
   * with EBUSY.
   */
  async set(ref: DeviceRef, changes: LinkChanges): Promise<void> {
    const what = `links.set ${deviceText(ref)}`;
    const p = new Problems();
    const refOk = checkDevice(p, 'device', ref);
    validateLinkChanges(p, '', changes);
    // An MTU outside what most devices take (68..65535) is checked against the device's own
    // bounds first: loopback's 65536 is fine, a veth's 70000 is not, and the kernel's EINVAL
    // would not say why. Within that range the kernel checks (and set() names the bounds then).
    const mtu = typeof changes === 'object' && changes !== null ? own(changes, 'mtu') : undefined;
    const farMtu = typeof mtu === 'number' && Number.isInteger(mtu) && mtu >= 0 && mtu <= 0xffffffff && (mtu < MIN_MTU || mtu > MAX_MTU);
    if (farMtu && refOk) checkMtuBounds(p, 'mtu', mtu, await readLink(this.ctx.socket, ref, what));
    p.throwIfAny(what);
    if (Object.values(changes).every((v) => v === undefined)) return;
    const fds = new NetnsFds(this.ctx.kernel);
    try {
      const refs: LinkRefs = {};
      if (typeof changes.master === 'string') refs.master = await this.ctx.devices.index(changes.master, what);
      // A rename puts the new name in IFLA_IFNAME, so the device must be addressed by index.
      const target = changes.name !== undefined && typeof ref === 'string' ? await this.ctx.devices.index(ref, what) : ref;
      refs.netnsFd = fds.open(changes.netns, what);
      try {
        await this.ctx.socket.request((w) => encodeLinkSet(w, target, changes, refs), { what });
      } catch (e) {
        throw await this.explainMtu(e, target, changes.mtu);
      }
    } finally {
      fds.close();
    }
  }

  /**
   * Brings an existing device to spec where the kernel can do that in place: reads it, sends
   * only what differs (common settings and, in IFLA_LINKINFO/IFLA_INFO_DATA, kind settings),
   * in one request (two for a vxlan whose MTU changes too: see splitLinkChange).
   * Nothing is sent when nothing differs. Fields the spec leaves out are left as they are.
   * Throws ValidationError before sending when the spec is invalid, names another kind, has
   * netns (change works in this namespace; move with set()), or changes a setting the kernel
   * cannot change in place (planLinkChange().recreate: delete and add instead); NetlinkError
   * ENODEV when the device does not exist, or the kernel's refusal.
   */
  async change(ref: DeviceRef, spec: LinkSpec): Promise<void> {
    const what = `links.change ${deviceText(ref)}`;
    const p = new Problems();
    checkDevice(p, 'device', ref);
    validateLinkSpec(p, '', spec);
    if (typeof spec === 'object' && spec !== null && own(spec, 'netns') !== undefined) {
      p.add('netns', 'change() works on a device in this namespace; move a device with set(ref, { netns })');
    }
    p.throwIfAny(what);
    const current = await readLink(this.ctx.socket, ref, what);
    if (current.kind !== spec.kind) {
      throw new ValidationError(
        [{ path: 'kind', message: `device ${deviceText(ref)} is a ${current.kind ?? 'device without a kind'}, not a ${spec.kind}; the kind cannot change (delete and add)` }],
        what,
      );
    }
    const bounds = new Problems();
    checkMtuBounds(bounds, 'mtu', spec.mtu, current);
    bounds.throwIfAny(what);
    const refs: LinkRefs = {};
    const dev = linkKind(spec.kind)?.deviceOf?.(spec);
    if (typeof dev === 'string') refs.dev = await this.ctx.devices.index(dev, what);
    if (typeof spec.master === 'string') refs.master = await this.ctx.devices.index(spec.master, what);
    const plan = planLinkChange(current, spec, refs);
    if (plan.recreate.length) {
      throw new ValidationError(
        plan.recreate.map((f) => ({ path: f, message: `cannot be changed in place on a ${spec.kind} device (the kernel refuses); delete and add it` })),
        what,
      );
    }
    for (const fields of splitLinkChange(spec.kind, plan.changed)) {
      try {
        await this.ctx.socket.request((w) => encodeLinkChange(w, current.index, current, spec, fields, refs), { what });
      } catch (e) {
        throw await this.explainMtu(e, current.index, fields.includes('mtu') ? spec.mtu : undefined);
      }
    }
  }

  /** An EINVAL for a request that changed the MTU names the device's bounds when the MTU lies outside them. */
  private async explainMtu(e: unknown, ref: DeviceRef, mtu: number | undefined): Promise<unknown> {
    if (mtu === undefined || !(e instanceof NetlinkError) || e.code !== 'EINVAL') return e;
    try {
      const p = new Problems();
      checkMtuBounds(p, 'mtu', mtu, await readLink(this.ctx.socket, ref, 'read MTU bounds'));
      if (!p.ok) e.message += ` (${p.list[0].message})`;
    } catch {
      // the original error stands
    }
    return e;
  }

  /** Deletes a device (a veth takes its peer with it). NetlinkError ENODEV naming it when missing. */
  async del(ref: DeviceRef): Promise<void> {
    const what = `links.del ${deviceText(ref)}`;
    checkRef(what, ref);
    await this.ctx.socket.request((w) => encodeLinkDel(w, ref), { what });
  }

  /** Reads one device. NetlinkError ENODEV naming it when there is none. */
  async get(ref: DeviceRef): Promise<Link> {
    const what = `links.get ${deviceText(ref)}`;
    checkRef(what, ref);
    return readLink(this.ctx.socket, ref, what);
  }

  /**
   * Lists devices. By name: one RTM_GETLINK (empty when there is none). By master and/or kind:
   * a dump the kernel filters (strict checking); the same filters are applied here again, since
   * the kernel skips a kind it does not know. A master given by name must exist (ENODEV).
   */
  async list(filter: LinkFilter = {}): Promise<Link[]> {
    const what = 'links.list';
    const p = new Problems();
    LINK_FILTER_FIELDS.check(p, '', filter, 'a filter');
    p.throwIfAny(what);
    const f = { kind: own(filter, 'kind'), master: own(filter, 'master'), name: own(filter, 'name') } as LinkFilter;
    const master = f.master === undefined ? undefined : await this.ctx.devices.index(f.master, what);
    const keep = (l: Link) => (f.kind === undefined || l.kind === f.kind) && (master === undefined || l.master === master);
    if (f.name !== undefined) {
      try {
        const l = await readLink(this.ctx.socket, f.name, `${what} name "${f.name}"`);
        return keep(l) ? [l] : [];
      } catch (e) {
        if (e instanceof NetlinkError && e.code === 'ENODEV') return [];
        throw e;
      }
    }
    const links = await this.ctx.socket.dump(
      (w) => encodeLinkDump(w, { master, kind: f.kind }),
      (m) => (m.type === RTM_NEWLINK ? parseLinkMessage(m) : undefined),
      { what, transientView: true },
    );
    return links.filter(keep);
  }
}

async function readLink(socket: NetlinkSocket, ref: DeviceRef, what: string): Promise<Link> {
  const replies = await socket.request((w) => encodeLinkGet(w, ref), { what });
  for (const m of replies) if (m.type === RTM_NEWLINK) return parseLinkMessage(m);
  throw new NetlinkError(19 /* ENODEV */, {}, what, 'the kernel sent no link');
}
