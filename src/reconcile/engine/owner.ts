/**
 * Who owns what: a reconciler's identity, carried by everything it writes. Routes carry its
 * route protocol (rtm_protocol), links its alias (IFLA_IFALIAS); addresses, neighbours and FDB
 * entries belong to whoever owns the link they are on. Two reconcilers with different
 * identities never touch each other's objects; two with one identity would undo each other's
 * work, which is why the identity is also locked per namespace (lock.ts).
 */
import { Problems, ValidationError, checkBool, checkInt, checkKeys, describeValue, isObject, own } from '../../values/problems';

/** The route protocol netlink-agent uses unless told otherwise (unused by the kernel and iproute2). */
export const RTPROT_NETLINK_AGENT = 77;

/** The owner name (and link alias) netlink-agent uses unless told otherwise; links made by
 * earlier releases carry it, so they stay owned by a reconciler with the default identity. */
export const DEFAULT_OWNER = 'netlink-agent';

/**
 * Route protocols a reconciler must not own unless forced: the kernel's own (RTPROT_UNSPEC 0,
 * REDIRECT 1, KERNEL 2, BOOT 3 which plain `ip route add` uses, STATIC 4) and every one
 * iproute2's rt_protos names for a routing daemon (<linux/rtnetlink.h> RTPROT_*). Owning one
 * means deleting every route of that protocol that is not desired.
 */
export const RESERVED_PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [0, 'RTPROT_UNSPEC'],
  [1, 'RTPROT_REDIRECT, routes from ICMP redirects'],
  [2, 'RTPROT_KERNEL, the routes the kernel makes (connected and local routes)'],
  [3, 'RTPROT_BOOT, what plain `ip route add` gives every hand-made route'],
  [4, 'RTPROT_STATIC, routes an administrator marked static'],
  [8, 'RTPROT_GATED'],
  [9, 'RTPROT_RA, routes from router advertisements'],
  [10, 'RTPROT_MRT'],
  [11, 'RTPROT_ZEBRA, FRR/Quagga'],
  [12, 'RTPROT_BIRD'],
  [13, 'RTPROT_DNROUTED'],
  [14, 'RTPROT_XORP'],
  [15, 'RTPROT_NTK'],
  [16, 'RTPROT_DHCP, routes a DHCP client installed'],
  [17, 'RTPROT_MROUTED'],
  [18, 'RTPROT_KEEPALIVED'],
  [42, 'RTPROT_BABEL'],
  [99, 'RTPROT_OPENR'],
  [186, 'RTPROT_BGP'],
  [187, 'RTPROT_ISIS'],
  [188, 'RTPROT_OSPF'],
  [189, 'RTPROT_RIP'],
  [192, 'RTPROT_EIGRP'],
]);

/** An owner's identity as every kind uses it. */
export interface OwnerIdentity {
  /** The route protocol its routes carry. */
  readonly protocol: number;
  /** Its name (locks and messages). */
  readonly name: string;
  /** The alias its links carry. */
  readonly alias: string;
}

/** Owner names: letters, digits, '.', '_' and '-', 1 to 64 characters (they become file names and aliases). */
const OWNER_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** IFALIASZ - 1: the longest alias the kernel keeps. */
const MAX_ALIAS_BYTES = 255;

/**
 * The link alias of an identity: the owner name, with "/<protocol>" when the protocol is not
 * the default, so that two reconcilers with different protocols never share links. The default
 * identity's alias is "netlink-agent", what earlier releases wrote.
 */
export function aliasOf(owner: string, protocol: number): string {
  return protocol === RTPROT_NETLINK_AGENT ? owner : `${owner}/${protocol}`;
}

/** Checks the owner options and resolves the identity; problems go to p (never throws). */
export function resolveOwner(p: Problems, options: object): OwnerIdentity {
  const protocolGiven = own(options, 'protocol');
  const protocol = protocolGiven === undefined ? RTPROT_NETLINK_AGENT : protocolGiven;
  const force = own(options, 'allowReservedProtocol');
  if (force !== undefined) checkBool(p, 'allowReservedProtocol', force);
  if (protocol === 0) {
    // Not even when forced: 0 marks no owner, and a dump filtered by protocol 0 is not filtered.
    p.add('protocol', '0 is RTPROT_UNSPEC, which marks no owner (a dump filtered by it lists every route); pick an unused number (77 is netlink-agent\'s)');
  } else if (checkInt(p, 'protocol', protocol, 1, 255)) {
    const reserved = RESERVED_PROTOCOLS.get(protocol);
    if (reserved !== undefined && force !== true) {
      p.add(
        'protocol',
        `${protocol} is ${reserved}: a reconciler deletes every route of its protocol that is not desired, so owning this one would delete routes it never made; pick an unused number (77 is netlink-agent's) or set allowReservedProtocol: true if you mean it`,
      );
    }
  }
  const ownerGiven = own(options, 'owner');
  const name = ownerGiven === undefined ? DEFAULT_OWNER : ownerGiven;
  if (typeof name !== 'string' || !OWNER_NAME.test(name)) {
    p.add('owner', `${describeValue(name)} must be 1 to 64 letters, digits, '.', '_' or '-' (it names lock files and link aliases)`);
  }
  const aliasGiven = own(options, 'linkOwnerAlias');
  if (aliasGiven !== undefined && (typeof aliasGiven !== 'string' || aliasGiven.length === 0 || Buffer.byteLength(aliasGiven) > MAX_ALIAS_BYTES || aliasGiven.includes('\0'))) {
    p.add('linkOwnerAlias', `${describeValue(aliasGiven)} must be a non-empty string of at most ${MAX_ALIAS_BYTES} bytes without NUL`);
  }
  const ownerName = typeof name === 'string' ? name : DEFAULT_OWNER;
  const proto = typeof protocol === 'number' ? protocol : RTPROT_NETLINK_AGENT;
  return { protocol: proto, name: ownerName, alias: typeof aliasGiven === 'string' ? aliasGiven : aliasOf(ownerName, proto) };
}

/** The option names a Reconciler takes (unknown ones are refused, as in every spec). */
export const RECONCILER_OPTION_KEYS = ['protocol', 'owner', 'linkOwnerAlias', 'adoptConflicts', 'allowReservedProtocol'] as const;

/** Checks a whole ReconcilerOptions object; throws one ValidationError naming every problem. */
export function checkReconcilerOptions(options: unknown): { owner: OwnerIdentity; adoptConflicts: boolean } {
  if (!isObject(options)) throw new ValidationError([{ path: '', message: `reconciler options must be an object, got ${describeValue(options)}` }], 'invalid reconciler options');
  const p = new Problems();
  const o = options;
  checkKeys(p, '', o, RECONCILER_OPTION_KEYS);
  const owner = resolveOwner(p, o);
  const adopt = own(o, 'adoptConflicts');
  if (adopt !== undefined) checkBool(p, 'adoptConflicts', adopt);
  p.throwIfAny('invalid reconciler options');
  return { owner, adoptConflicts: adopt === true };
}
