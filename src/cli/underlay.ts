/**
 * Finding this node's underlay device and address the way flannel and calico do, asking the
 * kernel through the library (link and address dumps, a route lookup), never a program:
 *
 *   --iface VALUE       (repeatable, first match wins) a device name; an address, meaning the
 *                       device that holds it; or a regular expression matched against whole
 *                       device names ("eth[0-9]+", "ens.*")
 *   --iface-can-reach A the device the kernel's route to A leaves through, and the source
 *                       address it picks (as `ip route get A` shows)
 *   neither             the device of the default route (lowest metric)
 *
 * Per family: the node address is the one the route lookup chose, else the device's first
 * global address of that family. Each way that finds nothing is an UnderlayNotFound whose
 * message is the sentence to show.
 */
import type { Rtnl } from '../rtnl/rtnl';
import type { Link } from '../rtnl/types';
import { NetlinkError } from '../wire/errors';
import { parseAddress } from '../values/address';
import { Problems } from '../values/problems';

/** What the detection found. */
export interface Underlay {
  /** The device's name and index. */
  dev: string;
  index: number;
  mtu: number;
  /** This node's address on it, of the family asked for (undefined when the device has none). */
  address: string | undefined;
  /** How it was chosen, for the log ("--iface eth.*", "route to 10.0.0.1", "default route"). */
  how: string;
}

/** Bad or unsatisfiable detection input; the message is one sentence naming the flag. */
export class UnderlayNotFound extends Error {
  override readonly name = 'UnderlayNotFound';
}

/** How to find the underlay. */
export interface UnderlayQuery {
  family: 4 | 6;
  /** --iface values, in order. */
  ifaces?: string[];
  /** --iface-can-reach address. */
  canReach?: string;
  /** Words for messages: " in netns x" or "". */
  where?: string;
}

const NAME_CHARS = /^[^/\s:]{1,15}$/;

/** Compiles an --iface value as a whole-name regular expression; throws UnderlayNotFound when it is not one. */
function ifaceRegex(v: string): RegExp {
  try {
    return new RegExp(`^(?:${v})$`);
  } catch (e) {
    throw new UnderlayNotFound(`--iface ${JSON.stringify(v)} is neither a device name nor a valid regular expression (${(e as Error).message})`);
  }
}

/** The device's first global (scope universe) address of the family, without its prefix length. */
async function firstAddress(nl: Rtnl, index: number, family: 4 | 6): Promise<string | undefined> {
  const list = await nl.addresses.list({ dev: index, family });
  return list.find((a) => a.scope === 0)?.address.split('/')[0];
}

function isAddress(v: string, family: 4 | 6): boolean {
  return parseAddress(new Problems(), 'x', v, family) !== undefined;
}

/** Checks --iface and --iface-can-reach values before anything is asked of the kernel. */
export function checkUnderlayQuery(q: UnderlayQuery): void {
  for (const v of q.ifaces ?? []) if (!NAME_CHARS.test(v) && !isAddress(v, 4) && !isAddress(v, 6)) ifaceRegex(v);
  if (q.ifaces?.length && q.canReach !== undefined) throw new UnderlayNotFound('give --iface or --iface-can-reach, not both');
  if (q.canReach !== undefined && !isAddress(q.canReach, q.family)) {
    throw new UnderlayNotFound(`--iface-can-reach ${JSON.stringify(q.canReach)} is not an IPv${q.family} address`);
  }
}

/**
 * Finds the underlay as the module doc says. Throws UnderlayNotFound (a sentence naming the
 * flag) when the input is bad or matches nothing, NetlinkError for other kernel failures.
 */
export async function detectUnderlay(nl: Rtnl, q: UnderlayQuery): Promise<Underlay> {
  checkUnderlayQuery(q);
  const where = q.where ?? '';
  if (q.ifaces?.length) {
    const links = await nl.links.list();
    for (const v of q.ifaces) {
      let link: Link | undefined = links.find((l) => l.name === v);
      if (!link && (isAddress(v, 4) || isAddress(v, 6))) {
        const want = parseAddress(new Problems(), 'x', v)?.text;
        const a = (await nl.addresses.list()).find((x) => x.address.split('/')[0] === want);
        if (a) link = links.find((l) => l.index === a.index);
      } else if (!link) {
        const re = ifaceRegex(v);
        link = links.find((l) => re.test(l.name));
      }
      if (link) {
        const address = isAddress(v, q.family) ? parseAddress(new Problems(), 'x', v, q.family)?.text : await firstAddress(nl, link.index, q.family);
        return { dev: link.name, index: link.index, mtu: link.mtu, address, how: `--iface ${v}` };
      }
    }
    throw new UnderlayNotFound(`no device${where} matches --iface ${q.ifaces.join(', ')}`);
  }
  if (q.canReach !== undefined) {
    let route;
    try {
      route = await nl.routes.get(q.canReach, { fibMatch: false });
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === 'ENETUNREACH' || e.code === 'EHOSTUNREACH' || e.code === 'ENOENT')) {
        throw new UnderlayNotFound(`--iface-can-reach ${q.canReach}: there is no route to it${where}`);
      }
      throw e;
    }
    if (route.dev === undefined || route.type !== 'unicast') {
      throw new UnderlayNotFound(`--iface-can-reach ${q.canReach}: the route to it${where} is ${route.type}, not through a device`);
    }
    const link = await nl.links.get(route.dev);
    const address = route.prefsrc ?? (await firstAddress(nl, link.index, q.family));
    return { dev: link.name, index: link.index, mtu: link.mtu, address, how: `route to ${q.canReach}` };
  }
  const defaults = (await nl.routes.list({ family: q.family, table: 'main' })).filter((r) => r.dst === 'default' && r.type === 'unicast');
  defaults.sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
  const d = defaults[0];
  const dev = d?.dev ?? d?.nexthops?.find((n) => n.dev !== undefined)?.dev;
  if (dev === undefined) throw new UnderlayNotFound(`there is no IPv${q.family} default route${where} to find the underlay by; give --iface or --iface-can-reach`);
  const link = await nl.links.get(dev);
  const address = d.prefsrc ?? (await firstAddress(nl, link.index, q.family));
  return { dev: link.name, index: link.index, mtu: link.mtu, address, how: 'default route' };
}
