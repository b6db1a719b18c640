/**
 * podCIDR reservation and allocation in etcd, atomically (the idea of flannel's subnet manager).
 *
 * Keys under the membership root (default "/netlink-agent/"):
 *   alloc/guard              bumped by every reservation transaction
 *   alloc/subnet/<a.b.c.d-L> {"name": owner, "podCIDR": "a.b.c.d/L"}   (reservation lease)
 *   alloc/owner/<name>       "a.b.c.d/L"                              (reservation lease)
 *
 * Dual stack: a node reserves one subnet per family in ONE transaction (both subnet keys, and
 * alloc/owner/<name> = "a.b.c.d/L,x:y::/M"), so it gets both or neither, and a restart gets both
 * back. IPv6 subnet keys read "fd44:0:0:1::-64". A single-family owner value is what the
 * current version wrote, so its reservations read unchanged.
 *
 * One attempt reads the whole alloc/ range (a single consistent snapshot), decides, and commits
 * a transaction guarded by "alloc/guard has not changed since the snapshot". Any concurrent
 * reservation bumps the guard, so of two agents that chose the same (or an overlapping) subnet
 * only one commits; the other re-reads and chooses again. Reservations carry a long lease of
 * their own (default one day, kept alive while the agent runs), so an agent that restarts within
 * that time gets its old subnet back, and subnets of hosts gone for good are freed eventually.
 */
import type { Etcd3, IKeyValue, IOperation, IResponseHeader } from 'etcd3';
import { parsePrefix, type ParsedPrefix } from '../values/address';
import { prefixCovers, prefixesOverlap } from '../values/prefix';
import { Problems } from '../values/problems';
import { nthSubnet, prefixOf, subnetCount } from './cidr';
import { readPrefix } from './etcd-range';
import { MAX_POD_PREFIX, MAX_RECORD_BYTES } from './types';
import { MAX_POD_PREFIX6, MIN_POD_PREFIX6, familyName } from '../overlay/stack';
import type { IpFamily } from '../values/ip';

/** A permanent reservation failure (retrying will not help): no free subnet, or a conflict. */
export class AllocationError extends Error {
  override readonly name = 'AllocationError';
  readonly code = 'ERR_NETLINK_AGENT_ALLOCATION';
}

/** What claimSubnet reserves, for whom, and where. */
export interface ClaimOptions {
  client: Etcd3;
  /** Key prefix of the membership, ending in "/". */
  root: string;
  /** The node the subnet is for. */
  name: string;
  /** The lease the reservation keys are put with. */
  leaseId: string;
  /** Reserve exactly this subnet (fails with AllocationError when another node holds an overlapping one). */
  podCIDR?: string;
  /** Otherwise allocate a free subnet of `subnetLength` from this range. */
  clusterCIDR?: string;
  subnetLength?: number;
  /** Dual stack: the other family's subnet, reserved in the same transaction (given, or allocated
   * from clusterCIDR6 with subnetLength6, default 64 for IPv6). */
  podCIDR6?: string;
  clusterCIDR6?: string;
  subnetLength6?: number;
  /** Transactions to try before giving up under contention. Default 200. */
  maxAttempts?: number;
  /** Source of randomness for the choice among free subnets (tests may fix it). */
  random?: () => number;
}

/** The reservation keys under a membership root. */
export interface AllocKeys {
  /** Everything of the allocator: "<root>alloc/". */
  prefix: string;
  /** The key every reservation transaction bumps. */
  guard: string;
  /** The key reserving a subnet ("a.b.c.d/L"). */
  subnet(cidr: string): string;
  /** The key naming a node's subnet. */
  owner(name: string): string;
}

/** The reservation keys under a root. */
export function allocKeys(root: string): AllocKeys {
  const prefix = `${root}alloc/`;
  return {
    prefix,
    guard: `${prefix}guard`,
    subnet: (cidr) => `${prefix}subnet/${cidr.replace('/', '-')}`,
    owner: (name) => `${prefix}owner/${name}`,
  };
}

/** One subnet reservation as stored: the subnet (from the key) and the node named in it. */
export interface Reservation {
  net: ParsedPrefix;
  /** The owner's name; '' when the value cannot be read (the subnet stays reserved). */
  owner: string;
  /** When the reservation was made (its key's create_revision): older ones win overlaps. */
  createRevision: bigint;
}

/** The allocator's keys as read at one revision. */
export interface AllocSnapshot {
  /** mod_revision of alloc/guard ('0' when there is none yet). */
  guardMod: string;
  reservations: Reservation[];
  /** alloc/owner/<name> -> the subnet text it names. */
  owners: Map<string, string>;
  /** The header of the read (revision, cluster id). */
  header: IResponseHeader;
}

/** Turns the keys under alloc/ into reservations. Unreadable values still reserve their subnet. */
export function parseAllocKeys(kvs: IKeyValue[], tooBig: string[], root: string, header: IResponseHeader): AllocSnapshot {
  const keys = allocKeys(root);
  const subnetPrefix = `${keys.prefix}subnet/`;
  const ownerPrefix = `${keys.prefix}owner/`;
  const snap: AllocSnapshot = { guardMod: '0', reservations: [], owners: new Map(), header };
  const reserve = (key: string, owner: string, createRevision: bigint) => {
    const net = prefixOf(key.slice(subnetPrefix.length).replace('-', '/'));
    if (net) snap.reservations.push({ net, owner, createRevision });
  };
  for (const kv of kvs) {
    const key = kv.key.toString();
    if (key === keys.guard) snap.guardMod = String(kv.mod_revision);
    else if (key.startsWith(ownerPrefix)) {
      if (kv.value.length <= MAX_RECORD_BYTES) snap.owners.set(key.slice(ownerPrefix.length), kv.value.toString());
    } else if (key.startsWith(subnetPrefix)) {
      let owner = '';
      try {
        const v = kv.value.length <= MAX_RECORD_BYTES ? (JSON.parse(kv.value.toString()) as { name?: unknown }) : undefined;
        if (typeof v?.name === 'string') owner = v.name;
      } catch {
        // An unreadable reservation still reserves its subnet (owner unknown).
      }
      reserve(key, owner, BigInt(kv.create_revision));
    }
  }
  for (const key of tooBig) if (key.startsWith(subnetPrefix)) reserve(key, '', 0n);
  return snap;
}

/** Reads the allocator's keys (in pages, at one revision). */
export async function readAllocSnapshot(client: Etcd3, root: string, revision?: string): Promise<AllocSnapshot> {
  const res = await readPrefix(client, allocKeys(root).prefix, revision !== undefined ? { revision } : {});
  return parseAllocKeys(res.kvs, res.tooBig, root, res.header);
}

/** One family's part of a claim: the subnet given, or the range and length to allocate from. */
export interface FamilyClaim {
  family: IpFamily;
  explicit?: ParsedPrefix;
  cluster?: ParsedPrefix;
  length?: number;
}

/** Checks the options; throws ValidationError. The claims, one per family (the first family's
 * fields are podCIDR/clusterCIDR/subnetLength, of either family; the second's the *6 ones). */
export function validateClaims(o: Pick<ClaimOptions, 'podCIDR' | 'clusterCIDR' | 'subnetLength' | 'podCIDR6' | 'clusterCIDR6' | 'subnetLength6'>): FamilyClaim[] {
  const p = new Problems();
  const claims: FamilyClaim[] = [];
  const one = (suffix: '' | '6', podCIDR: unknown, clusterCIDR: unknown, subnetLength: unknown) => {
    const family = suffix === '6' ? 6 : undefined;
    const explicit = podCIDR !== undefined ? parsePrefix(p, `podCIDR${suffix}`, podCIDR, 'reject', family) : undefined;
    const cluster = clusterCIDR !== undefined ? parsePrefix(p, `clusterCIDR${suffix}`, clusterCIDR, 'reject', family) : undefined;
    if (explicit && cluster && explicit.family !== cluster.family) p.add(`podCIDR${suffix}`, `${explicit.prefix} and the cluster CIDR ${cluster.prefix} are of different families`);
    const f = explicit?.family ?? cluster?.family;
    let length: number | undefined;
    if (cluster && podCIDR === undefined) {
      const [min, max] = cluster.family === 4 ? [cluster.prefixLength, MAX_POD_PREFIX] : [Math.max(cluster.prefixLength, MIN_POD_PREFIX6), MAX_POD_PREFIX6];
      const len = subnetLength ?? (cluster.family === 6 ? 64 : undefined);
      if (typeof len !== 'number' || !Number.isInteger(len) || len < min || len > max) {
        p.add(`subnetLength${suffix}`, `must be an integer from ${min}${min === cluster.prefixLength ? " (the cluster CIDR's length)" : ''} to ${max}, got ${JSON.stringify(len)}`);
      } else length = len;
    }
    if (explicit && cluster && explicit.family === cluster.family && !prefixCovers(cluster, explicit)) p.add(`podCIDR${suffix}`, `${explicit.prefix} is outside the cluster CIDR ${cluster.prefix}`);
    if (f !== undefined) claims.push({ family: f, explicit, cluster, length });
  };
  if (o.podCIDR === undefined && o.clusterCIDR === undefined && o.podCIDR6 === undefined && o.clusterCIDR6 === undefined) p.add('podCIDR', 'give a podCIDR or a clusterCIDR to allocate one from');
  if (o.podCIDR !== undefined || o.clusterCIDR !== undefined) one('', o.podCIDR, o.clusterCIDR, o.subnetLength);
  if (o.podCIDR6 !== undefined || o.clusterCIDR6 !== undefined) one('6', o.podCIDR6, o.clusterCIDR6, o.subnetLength6);
  if (claims.length === 2 && claims[0].family === claims[1].family) p.add('podCIDR6', `two ${familyName(claims[0].family)} claims: at most one subnet per family`);
  p.throwIfAny('invalid podCIDR allocation');
  return claims;
}

/** Checks the options of a single-family claim; throws ValidationError. */
export function validateClaim(o: Pick<ClaimOptions, 'podCIDR' | 'clusterCIDR' | 'subnetLength' | 'podCIDR6' | 'clusterCIDR6' | 'subnetLength6'>): { explicit?: ParsedPrefix; cluster?: ParsedPrefix } {
  const [first] = validateClaims(o);
  return { explicit: first?.explicit, cluster: first?.cluster };
}

const ENUMERATE_LIMIT = 1n << 16n;

/** A random BigInt in [0, n). */
function randomBelow(n: bigint, random: () => number): bigint {
  if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return BigInt(Math.floor(random() * Number(n)));
  let r = 0n;
  for (let bits = 0n; (1n << bits) < n; bits += 32n) r = (r << 32n) | BigInt(Math.floor(random() * 2 ** 32));
  return r % n;
}

function chooseFree(cluster: ParsedPrefix, length: number, taken: Reservation[], random: () => number): ParsedPrefix | undefined {
  const n = subnetCount(cluster, length);
  const free = (s: ParsedPrefix) => !taken.some((r) => prefixesOverlap(r.net, s));
  if (n <= ENUMERATE_LIMIT) {
    const all: ParsedPrefix[] = [];
    for (let i = 0n; i < n; i++) {
      const s = nthSubnet(cluster, length, i);
      if (free(s)) all.push(s);
    }
    return all.length ? all[Math.floor(random() * all.length)] : undefined;
  }
  // Too many to list: random probes, which find a free one quickly unless the range is nearly full.
  for (let tries = 0; tries < 4096; tries++) {
    const s = nthSubnet(cluster, length, randomBelow(n, random));
    if (free(s)) return s;
  }
  return undefined;
}

/** The subnets an owner key names ("a/L" or "a/L,b/M"), by family. */
export function ownerSubnets(value: string | undefined): Map<IpFamily, ParsedPrefix> {
  const out = new Map<IpFamily, ParsedPrefix>();
  for (const t of (value ?? '').split(',')) {
    const n = t ? prefixOf(t.trim()) : undefined;
    if (n && !out.has(n.family)) out.set(n.family, n);
  }
  return out;
}

/**
 * Reserves this node's podCIDR: the given one, or its previous reservation, or a free subnet of
 * the cluster CIDR chosen at random. Resolves with the subnet ("a.b.c.d/L"). Throws
 * ValidationError for bad options, AllocationError when no subnet can be had (range full, or
 * the given podCIDR overlaps another node's reservation), and etcd errors when the store fails.
 */
export async function claimSubnet(o: ClaimOptions): Promise<string> {
  return (await claimSubnets(o))[0];
}

/**
 * Reserves this node's pod subnets, one per family claimed (podCIDR/clusterCIDR and, for dual
 * stack, podCIDR6/clusterCIDR6), in one guarded transaction: both or neither. Resolves with the
 * subnets in the order of the claims. Throws as claimSubnet does.
 */
export async function claimSubnets(o: ClaimOptions): Promise<string[]> {
  const claims = validateClaims(o);
  const keys = allocKeys(o.root);
  const random = o.random ?? Math.random;
  const maxAttempts = o.maxAttempts ?? 200;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const snap = await readAllocSnapshot(o.client, o.root);
    const mine = ownerSubnets(snap.owners.get(o.name));
    const others = snap.reservations.filter((r) => r.owner !== o.name);
    const targets: ParsedPrefix[] = [];
    for (const c of claims) {
      if (c.explicit) {
        const explicit = c.explicit;
        const clash = others.find((r) => prefixesOverlap(r.net, explicit));
        if (clash) throw new AllocationError(`podCIDR ${explicit.prefix} overlaps ${clash.net.prefix}, reserved by node "${clash.owner || '?'}"`);
        targets.push(explicit);
        continue;
      }
      const previous = mine.get(c.family);
      if (previous && previous.prefixLength === c.length && prefixCovers(c.cluster!, previous) && !others.some((r) => prefixesOverlap(r.net, previous))) {
        targets.push(previous);
      } else {
        const chosen = chooseFree(c.cluster!, c.length!, others, random);
        if (!chosen) throw new AllocationError(`no free /${c.length} left in the cluster CIDR ${c.cluster!.prefix} (${others.length} reserved)`);
        targets.push(chosen);
      }
    }
    const ops: IOperation[] = [o.client.put(keys.guard).value(o.name)];
    for (const t of targets) ops.push(o.client.put(keys.subnet(t.prefix)).value(JSON.stringify({ name: o.name, podCIDR: t.prefix })).lease(o.leaseId));
    ops.push(o.client.put(keys.owner(o.name)).value(targets.map((t) => t.prefix).join(',')).lease(o.leaseId));
    // Our own stale reservations (a changed podCIDR) are released in the same transaction.
    for (const r of snap.reservations) {
      if (r.owner === o.name && !targets.some((t) => t.prefix === r.net.prefix)) ops.push(o.client.delete().key(keys.subnet(r.net.prefix)));
    }
    const txn = await o.client.if(keys.guard, 'Mod', '==', snap.guardMod).then(...ops).commit();
    if (txn.succeeded) return targets.map((t) => t.prefix);
    // Someone reserved in between: back off a little (randomized, so that racers spread out).
    await new Promise((r) => setTimeout(r, Math.floor(random() * Math.min(50, 2 * attempt))));
  }
  throw new AllocationError(`could not reserve a subnet after ${maxAttempts} attempts (too much contention)`);
}

/** Releases the node's reservation now (its owner key and every subnet key), e.g. when a host
 * leaves the cluster for good. podCIDR is what claimSubnet(s) resolved with (joined by "," for two). */
export async function releaseSubnet(client: Etcd3, root: string, name: string, podCIDR: string | readonly string[]): Promise<void> {
  const keys = allocKeys(root);
  const list = typeof podCIDR === 'string' ? podCIDR.split(',') : [...podCIDR];
  await client
    .if(keys.owner(name), 'Value', '==', list.join(','))
    .then(client.delete().key(keys.owner(name)), ...list.map((c) => client.delete().key(keys.subnet(c))), client.put(keys.guard).value(name))
    .commit();
}
