/**
 * podCIDR reservation and allocation in etcd, atomically (the idea of flannel's subnet manager).
 *
 * Keys under the membership root (default "/netlink-agent/"):
 *   alloc/guard              bumped by every reservation transaction
 *   alloc/subnet/<a.b.c.d-L> {"name": owner, "podCIDR": "a.b.c.d/L"}   (reservation lease)
 *   alloc/owner/<name>       "a.b.c.d/L"                              (reservation lease)
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

/** Checks the options; throws ValidationError. */
export function validateClaim(o: Pick<ClaimOptions, 'podCIDR' | 'clusterCIDR' | 'subnetLength'>): { explicit?: ParsedPrefix; cluster?: ParsedPrefix } {
  const p = new Problems();
  const explicit = o.podCIDR !== undefined ? parsePrefix(p, 'podCIDR', o.podCIDR, 'reject', 4) : undefined;
  const cluster = o.clusterCIDR !== undefined ? parsePrefix(p, 'clusterCIDR', o.clusterCIDR, 'reject', 4) : undefined;
  if (o.podCIDR === undefined && o.clusterCIDR === undefined) p.add('podCIDR', 'give a podCIDR or a clusterCIDR to allocate one from');
  if (cluster && o.podCIDR === undefined) {
    const len = o.subnetLength;
    if (typeof len !== 'number' || !Number.isInteger(len) || len < cluster.prefixLength || len > MAX_POD_PREFIX) {
      p.add('subnetLength', `must be an integer from ${cluster.prefixLength} (the cluster CIDR's length) to ${MAX_POD_PREFIX}, got ${JSON.stringify(len)}`);
    }
  }
  if (explicit && cluster && !prefixCovers(cluster, explicit)) p.add('podCIDR', `${explicit.prefix} is outside the cluster CIDR ${cluster.prefix}`);
  p.throwIfAny('invalid podCIDR allocation');
  return { explicit, cluster };
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

/**
 * Reserves this node's podCIDR: the given one, or its previous reservation, or a free subnet of
 * the cluster CIDR chosen at random. Resolves with the subnet ("a.b.c.d/L"). Throws
 * ValidationError for bad options, AllocationError when no subnet can be had (range full, or
 * the given podCIDR overlaps another node's reservation), and etcd errors when the store fails.
 */
export async function claimSubnet(o: ClaimOptions): Promise<string> {
  const { explicit, cluster } = validateClaim(o);
  const keys = allocKeys(o.root);
  const random = o.random ?? Math.random;
  const maxAttempts = o.maxAttempts ?? 200;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const snap = await readAllocSnapshot(o.client, o.root);
    const mine = snap.owners.get(o.name);
    const others = snap.reservations.filter((r) => r.owner !== o.name);
    let target: ParsedPrefix | undefined;
    if (explicit) {
      const clash = others.find((r) => prefixesOverlap(r.net, explicit));
      if (clash) throw new AllocationError(`podCIDR ${explicit.prefix} overlaps ${clash.net.prefix}, reserved by node "${clash.owner || '?'}"`);
      target = explicit;
    } else {
      const previous = mine !== undefined ? prefixOf(mine) : undefined;
      if (previous && previous.prefixLength === o.subnetLength && prefixCovers(cluster!, previous) && !others.some((r) => prefixesOverlap(r.net, previous))) {
        target = previous;
      } else {
        target = chooseFree(cluster!, o.subnetLength!, others, random);
        if (!target) throw new AllocationError(`no free /${o.subnetLength} left in the cluster CIDR ${cluster!.prefix} (${others.length} reserved)`);
      }
    }
    const ops: IOperation[] = [
      o.client.put(keys.guard).value(o.name),
      o.client.put(keys.subnet(target.prefix)).value(JSON.stringify({ name: o.name, podCIDR: target.prefix })).lease(o.leaseId),
      o.client.put(keys.owner(o.name)).value(target.prefix).lease(o.leaseId),
    ];
    // Our own stale reservations (a changed podCIDR) are released in the same transaction.
    for (const r of snap.reservations) {
      if (r.owner === o.name && r.net.prefix !== target.prefix) ops.push(o.client.delete().key(keys.subnet(r.net.prefix)));
    }
    const txn = await o.client.if(keys.guard, 'Mod', '==', snap.guardMod).then(...ops).commit();
    if (txn.succeeded) return target.prefix;
    // Someone reserved in between: back off a little (randomized, so that racers spread out).
    await new Promise((r) => setTimeout(r, Math.floor(random() * Math.min(50, 2 * attempt))));
  }
  throw new AllocationError(`could not reserve a subnet after ${maxAttempts} attempts (too much contention)`);
}

/** Releases the node's reservation now (both keys), e.g. when a host leaves the cluster for good. */
export async function releaseSubnet(client: Etcd3, root: string, name: string, podCIDR: string): Promise<void> {
  const keys = allocKeys(root);
  await client
    .if(keys.owner(name), 'Value', '==', podCIDR)
    .then(client.delete().key(keys.owner(name)), client.delete().key(keys.subnet(podCIDR)), client.put(keys.guard).value(name))
    .commit();
}
