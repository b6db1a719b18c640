/**
 * One agent per node name: an agent holds <root>lock/<name> on a lease of its own while it
 * runs. A second agent with the same name finds the key held; it then tells a live holder
 * from a dead one by the holder's lease: a live agent renews its lease every third of the TTL,
 * so a remaining TTL that goes up means a live holder (refused at once), while a holder that
 * died (SIGKILL, power loss) stops renewing and its lease runs out within one TTL, after which
 * the name is free. An agent that stops in order revokes the lock's lease, so a restart takes
 * the name at once.
 */
import * as os from 'node:os';
import type { Etcd3, IResponseHeader } from 'etcd3';

/** Another live agent runs under this node name (a permanent start failure). */
export class NameTakenError extends Error {
  override readonly name = 'NameTakenError';
  readonly code = 'ERR_NETLINK_AGENT_NAME_TAKEN';
}

/** What the lock's value says about its holder. */
export interface NameLockHolder {
  name: string;
  pid: number;
  host: string;
  /** ISO time the holder took the name. */
  since: string;
}

/** What acquireNameLock needs. */
export interface NameLockOptions {
  client: Etcd3;
  /** The lock key, "<root>lock/<name>". */
  key: string;
  /** The node name the lock is for. */
  name: string;
  /** The lease the lock is put with (revoked when the agent stops in order). */
  leaseId: string;
  /** Called once per holder when the name is found held: waiting up to that many seconds to
   * learn whether the holder is alive (it renews) or gone (its lease runs out). */
  onWait?: (holder: string, secondsLeft: number) => void;
  /** Polled between checks: waiting ends (with an Error) once it returns true. */
  cancelled: () => boolean;
  /** Check interval while the name is held. Default 250 ms. */
  pollMs?: number;
}

/** This process as a lock holder. */
export function holderValue(name: string): string {
  const v: NameLockHolder = { name, pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  return JSON.stringify(v);
}

function describeHolder(raw: string): string {
  try {
    const v = JSON.parse(raw) as Partial<NameLockHolder>;
    const parts = [typeof v.pid === 'number' ? `pid ${v.pid}` : '', typeof v.host === 'string' ? `on ${v.host.slice(0, 64)}` : '', typeof v.since === 'string' ? `since ${v.since.slice(0, 40)}` : ''];
    const text = parts.filter(Boolean).join(' ');
    return text ? `(${text})` : '(unknown holder)';
  } catch {
    return '(unknown holder)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the name, waiting for a dead holder's lease to run out. Resolves with the header of
 * the transaction that took (or confirmed) it; throws NameTakenError when a live agent (or a
 * key without a lease, written by hand) holds it, and store errors as they come.
 */
export async function acquireNameLock(o: NameLockOptions): Promise<IResponseHeader> {
  const { client, key } = o;
  const value = holderValue(o.name);
  const pollMs = o.pollMs ?? 250;
  let seen: { lease: string; ttl: number; deadline: number } | undefined;
  for (;;) {
    if (o.cancelled()) throw new Error('stopped while waiting for the node name');
    const txn = await client.if(key, 'Create', '==', 0).then(client.put(key).value(value).lease(o.leaseId)).else(client.get(key)).commit();
    if (txn.succeeded) return txn.header;
    const kv = txn.responses[0]?.response_range?.kvs[0];
    if (!kv) continue; // gone between the compare and the read: try again
    const lease = String(kv.lease);
    if (lease === o.leaseId) return txn.header; // ours already (registering again)
    const holder = describeHolder(kv.value.toString());
    if (lease === '0') {
      throw new NameTakenError(`the node name "${o.name}" is locked by ${key} without a lease ${holder}; remove that key if no agent runs as "${o.name}"`);
    }
    const alive = new NameTakenError(
      `another agent runs as "${o.name}" ${holder}: stop it first, or give this host another name (--self); two agents with one name would share one record and one subnet`,
    );
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: lease });
    const left = Number(ttl.TTL); // whole seconds, rounded down
    const now = Date.now();
    if (left > 0) {
      if (!seen || seen.lease !== lease) {
        // A holder that is gone stops renewing: its key goes within `left` + 1 seconds. One
        // that is still there after that (plus a margin for the store's expiry sweep) renewed.
        seen = { lease, ttl: left, deadline: now + (left + 1) * 1000 + 1500 };
        o.onWait?.(holder, left + 1);
      } else if (left > seen.ttl) throw alive; // renewed while we looked
      else seen.ttl = left;
      if (now > seen.deadline) throw alive;
    }
    await sleep(pollMs);
  }
}
