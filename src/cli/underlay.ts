/**
 * Finding this node's underlay device and addresses the way flannel and calico do, asking the
 * kernel through the library (link and address dumps, route lookups), never a program:
 *
 *   --iface VALUE       (repeatable, first match wins) a device name; an address of either
 *                       family, meaning the device that holds it; or a regular expression
 *                       matched against whole device names ("eth[0-9]+", "ens.*")
 *   --iface-can-reach A (at most one per family) the device the kernel's route to A leaves
 *                       through, and the source address it picks (as `ip route get A` shows)
 *   neither             the device of the IPv4 default route (lowest metric); on a node without
 *                       one, the device of the IPv6 default route. When IPv6 is wanted too and
 *                       there is an IPv6 default route, it must leave through the same device
 *                       (as flannel requires): the overlay runs over one underlay device.
 *
 * One device carries both families. Per family, the node address is the one given (an --iface
 * address), else the source address the route lookup chose, else the device's first usable
 * address of that family: scope global (unique-local included, as flannel's "global unicast"),
 * never link-local, not deprecated, not an IPv6 temporary (privacy) address, not one whose
 * duplicate address detection failed; an address still in DAD only when there is no other.
 * An IPv4 address is looked for always, an IPv6 one when `want6` (the cluster has IPv6 pods, or
 * an IPv6 value was given) or when the device has no IPv4 one (an IPv6-only node). Each way that
 * finds nothing is an UnderlayNotFound whose message is the sentence to show.
 */
import type { Rtnl } from '../rtnl/rtnl';
import type { Address, Link } from '../rtnl/types';
import { IFA_F_DADFAILED, IFA_F_DEPRECATED, IFA_F_SECONDARY, IFA_F_TENTATIVE } from '../rtnl/constants';
import { NetlinkError } from '../wire/errors';
import { parseAddress, type ParsedAddress } from '../values/address';
import type { IpFamily } from '../values/ip';
import { Problems } from '../values/problems';
import { isUsableNodeAddress } from '../overlay/stack';

/** What the detection found. */
export interface Underlay {
  /** The device's name and index. */
  dev: string;
  index: number;
  mtu: number;
  /** This node's addresses on it, by family (a family is absent when the device has none, or it was not wanted). */
  addresses: { 4?: string; 6?: string };
  /** How it was chosen, for the log ("--iface eth.*", "route to 10.0.0.1", "default route"). */
  how: string;
}

/** Bad or unsatisfiable detection input; the message is one sentence naming the flag. */
export class UnderlayNotFound extends Error {
  override readonly name = 'UnderlayNotFound';
}

/** How to find the underlay. */
export interface UnderlayQuery {
  /** --iface values, in order. */
  ifaces?: string[];
  /** --iface-can-reach addresses, at most one per family. */
  canReach?: string[];
  /** Look for an IPv6 address even when the device has an IPv4 one (dual-stack). */
  want6?: boolean;
  /** Words for messages: " in netns x" or "". */
  where?: string;
}

const NAME_CHARS = /^[^/\s:]{1,15}$/;
const familyName = (f: IpFamily) => (f === 4 ? 'IPv4' : 'IPv6');

/** Compiles an --iface value as a whole-name regular expression; throws UnderlayNotFound when it is not one. */
function ifaceRegex(v: string): RegExp {
  try {
    return new RegExp(`^(?:${v})$`);
  } catch (e) {
    throw new UnderlayNotFound(`--iface ${JSON.stringify(v)} is neither a device name nor a valid regular expression (${(e as Error).message})`);
  }
}

const asAddress = (v: string, family?: IpFamily): ParsedAddress | undefined => parseAddress(new Problems(), 'x', v, family);

/** An address a node can be reached at (see the module doc); tentative ones rank last. */
function usable(a: Address): boolean {
  if (a.scope !== 0 || (a.flags & (IFA_F_DEPRECATED | IFA_F_DADFAILED)) !== 0) return false;
  // For IPv6, IFA_F_SECONDARY is IFA_F_TEMPORARY: a privacy address that changes and expires.
  if (a.family === 6 && (a.flags & IFA_F_SECONDARY) !== 0) return false;
  const p = asAddress(a.address.split('/')[0]);
  if (!p || !isUsableNodeAddress(p)) return false;
  return !(p.family === 4 && p.bytes[0] === 169 && p.bytes[1] === 254);
}

/** The device's node address of the family (see usable), without its prefix length. */
async function deviceAddress(nl: Rtnl, index: number, family: IpFamily): Promise<string | undefined> {
  const list = (await nl.addresses.list({ dev: index, family })).filter(usable);
  const settled = list.find((a) => (a.flags & IFA_F_TENTATIVE) === 0) ?? list[0];
  return settled ? asAddress(settled.address.split('/')[0])!.text : undefined;
}

/** Whether the route lookup's source address is one a node may publish (not a temporary or deprecated one). */
async function usableSource(nl: Rtnl, index: number, src: string | undefined): Promise<string | undefined> {
  const want = src === undefined ? undefined : asAddress(src);
  if (!want) return undefined;
  const list = await nl.addresses.list({ dev: index, family: want.family });
  const a = list.find((x) => asAddress(x.address.split('/')[0])?.text === want.text);
  return a && usable(a) ? want.text : undefined;
}

/** The --iface-can-reach values by family; throws UnderlayNotFound on a bad one or two of a family. */
function canReachByFamily(values: string[]): { 4?: ParsedAddress; 6?: ParsedAddress } {
  const out: { 4?: ParsedAddress; 6?: ParsedAddress } = {};
  for (const v of values) {
    const a = asAddress(v);
    if (!a) throw new UnderlayNotFound(`--iface-can-reach ${JSON.stringify(v)} is not an IP address`);
    if (out[a.family]) throw new UnderlayNotFound(`--iface-can-reach ${out[a.family]!.text} and ${a.text} are both ${familyName(a.family)}: give at most one per family`);
    out[a.family] = a;
  }
  return out;
}

/** Checks --iface and --iface-can-reach values before anything is asked of the kernel. */
export function checkUnderlayQuery(q: UnderlayQuery): void {
  for (const v of q.ifaces ?? []) if (!NAME_CHARS.test(v) && !asAddress(v)) ifaceRegex(v);
  if (q.ifaces?.length && q.canReach?.length) throw new UnderlayNotFound('give --iface or --iface-can-reach, not both');
  canReachByFamily(q.canReach ?? []);
}

/** The device and source address of the route to `to`; UnderlayNotFound when there is none through a device. */
async function routeTo(nl: Rtnl, to: ParsedAddress, where: string): Promise<{ link: Link; src: string | undefined }> {
  let route;
  try {
    route = await nl.routes.get(to.text, { fibMatch: false });
  } catch (e) {
    if (e instanceof NetlinkError && (e.code === 'ENETUNREACH' || e.code === 'EHOSTUNREACH' || e.code === 'ENOENT')) {
      throw new UnderlayNotFound(`--iface-can-reach ${to.text}: there is no route to it${where}`);
    }
    throw e;
  }
  if (route.dev === undefined || route.type !== 'unicast') {
    throw new UnderlayNotFound(`--iface-can-reach ${to.text}: the route to it${where} is ${route.type}, not through a device`);
  }
  const link = await nl.links.get(route.dev);
  return { link, src: await usableSource(nl, link.index, route.prefsrc) };
}

/** The device of the family's default route (lowest metric), or undefined when there is none. */
async function defaultRouteDevice(nl: Rtnl, family: IpFamily): Promise<{ dev: number | string; prefsrc: string | undefined } | undefined> {
  const defaults = (await nl.routes.list({ family, table: 'main' })).filter((r) => r.dst === 'default' && r.type === 'unicast');
  defaults.sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
  const d = defaults[0];
  const dev = d?.dev ?? d?.nexthops?.find((n) => n.dev !== undefined)?.dev;
  return dev === undefined ? undefined : { dev, prefsrc: d.prefsrc };
}

/**
 * Finds the underlay as the module doc says. Throws UnderlayNotFound (a sentence naming the
 * flag) when the input is bad or matches nothing, NetlinkError for other kernel failures.
 */
export async function detectUnderlay(nl: Rtnl, q: UnderlayQuery): Promise<Underlay> {
  checkUnderlayQuery(q);
  const where = q.where ?? '';
  const found: { 4?: string; 6?: string } = {};
  let link: Link | undefined;
  let how = '';
  if (q.ifaces?.length) {
    const links = await nl.links.list();
    for (const v of q.ifaces) {
      link = links.find((l) => l.name === v);
      const addr = link ? undefined : asAddress(v);
      if (addr) {
        const a = (await nl.addresses.list({ family: addr.family })).find((x) => asAddress(x.address.split('/')[0])?.text === addr.text);
        if (a) {
          link = links.find((l) => l.index === a.index);
          found[addr.family] = addr.text;
        }
      } else if (!link) {
        const re = ifaceRegex(v);
        link = links.find((l) => re.test(l.name));
      }
      if (link) {
        how = `--iface ${v}`;
        break;
      }
    }
    if (!link) throw new UnderlayNotFound(`no device${where} matches --iface ${q.ifaces.join(', ')}`);
  } else if (q.canReach?.length) {
    const to = canReachByFamily(q.canReach);
    for (const f of [4, 6] as const) {
      if (!to[f]) continue;
      const r = await routeTo(nl, to[f]!, where);
      if (link && r.link.index !== link.index) {
        throw new UnderlayNotFound(`--iface-can-reach ${to[4]!.text} leaves through ${link.name} and --iface-can-reach ${to[6]!.text} through ${r.link.name}${where}: the overlay runs over one underlay device`);
      }
      link = r.link;
      if (r.src) found[f] = r.src;
    }
    how = `route to ${[to[4], to[6]].filter(Boolean).map((a) => a!.text).join(' and ')}`;
  } else {
    const d4 = await defaultRouteDevice(nl, 4);
    const d6 = d4 === undefined || q.want6 ? await defaultRouteDevice(nl, 6) : undefined;
    const d = d4 ?? d6;
    if (d === undefined) throw new UnderlayNotFound(`there is no IPv4 or IPv6 default route${where} to find the underlay by; give --iface or --iface-can-reach`);
    link = await nl.links.get(d.dev);
    if (d4 && d6) {
      const other = await nl.links.get(d6.dev);
      if (other.index !== link.index) throw new UnderlayNotFound(`the IPv4 default route${where} leaves through ${link.name} and the IPv6 one through ${other.name}: the overlay runs over one underlay device; give --iface or --iface-can-reach`);
    }
    if (d4) {
      const s = await usableSource(nl, link.index, d4.prefsrc);
      if (s) found[4] = s;
    }
    if (d6) {
      const s = await usableSource(nl, link.index, d6.prefsrc);
      if (s) found[6] = s;
    }
    how = d4 ? 'default route' : 'IPv6 default route';
  }
  if (!link) throw new UnderlayNotFound('no underlay device was found'); // unreachable: every branch sets it or throws
  found[4] ??= await deviceAddress(nl, link.index, 4);
  if (found[4] === undefined || q.want6) found[6] ??= await deviceAddress(nl, link.index, 6);
  if (found[4] === undefined && found[6] === undefined) {
    throw new UnderlayNotFound(`the underlay device ${link.name}${where} (${how}) has no usable IPv4 or IPv6 address (global, not deprecated, not temporary); give --node-ip`);
  }
  return { dev: link.name, index: link.index, mtu: link.mtu, addresses: found, how };
}
