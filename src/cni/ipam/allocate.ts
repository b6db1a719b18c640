/**
 * Choosing addresses as host-local does: one address per range set, round-robin from the
 * address after the one the set handed out last, skipping the gateway and every reserved
 * address, wrapping at the end of the set's last range. Callers hold the store's lock.
 */
import type { IpFamily } from '../../rtnl/types';
import { CniError, CNI_ERR } from '../errors';
import { ipText, parseIp, rangeHolding, type IpRange } from './range';
import type { ReservationStore } from './store';

/** An address handed to an attachment. */
export interface Allocation {
  /** 4 or 6. */
  family: IpFamily;
  /** The address, canonical ("10.244.1.5"). */
  ip: string;
  /** The range it came from (subnet, gateway). */
  range: IpRange;
  /** The index of its range set in the configuration. */
  rangeSet: number;
}

/** An address the runtime asked for (CNI_ARGS IP=, runtimeConfig.ips). */
export interface RequestedIp {
  /** 4 or 6. */
  family: IpFamily;
  /** The address as a number. */
  value: bigint;
}

/**
 * One address from every range set for (id, ifname). An address the attachment already holds in
 * a set is handed out again (an ADD repeated after a crash gets the same one); a requested
 * address inside a set is taken or refused. Throws CniError NO_FREE_ADDRESS when a set is full,
 * INVALID_NETWORK_CONFIG for a requested address in no set or already held by another.
 * On a throw, the reservations made by this call are released again.
 */
export function allocate(store: ReservationStore, sets: readonly (readonly IpRange[])[], id: string, ifname: string, requested: readonly RequestedIp[] = []): Allocation[] {
  const out: Allocation[] = [];
  const made: string[] = [];
  try {
    const held = store.heldBy(id, ifname).map((t) => ({ text: t, ip: parseIp(t)! }));
    const reserved = store.reservedAddresses();
    for (const r of requested) {
      if (!sets.some((set) => rangeHolding(set, r.value, r.family))) {
        throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, 'requested address outside every range', `${ipText(r.family, r.value)} is in no range of ipam.ranges`);
      }
    }
    sets.forEach((set, index) => {
      const family = set[0].family;
      const own = held.find((h) => h.ip.family === family && rangeHolding(set, h.ip.value, family));
      if (own) {
        out.push({ family, ip: own.text, range: rangeHolding(set, own.ip.value, family)!, rangeSet: index });
        return;
      }
      const wanted = requested.find((r) => r.family === family && rangeHolding(set, r.value, family));
      if (wanted) {
        const text = ipText(family, wanted.value);
        const range = rangeHolding(set, wanted.value, family)!;
        if (wanted.value === range.gateway || !store.reserve(text, id, ifname, String(index))) {
          throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, 'requested address not available', `${text} is ${wanted.value === range.gateway ? 'the gateway' : 'reserved by another attachment'}`);
        }
        made.push(text);
        out.push({ family, ip: text, range, rangeSet: index });
        return;
      }
      const picked = pickFree(store, set, index, reserved, id, ifname);
      made.push(picked.ip);
      out.push(picked);
    });
    return out;
  } catch (e) {
    // Only what this call reserved: addresses the attachment held before stay its own.
    for (const ip of made) store.release(ip);
    throw e;
  }
}

/** The next free address of one set after its last reserved one, reserved. */
function pickFree(store: ReservationStore, set: readonly IpRange[], index: number, reserved: Set<string>, id: string, ifname: string): Allocation {
  const family = set[0].family;
  const last = store.lastReserved(String(index));
  const lastIp = last === undefined ? undefined : parseIp(last);
  let r = 0;
  let v = set[0].start;
  if (lastIp && lastIp.family === family) {
    const at = set.findIndex((x) => lastIp.value >= x.start && lastIp.value <= x.end);
    if (at >= 0) {
      r = at;
      v = lastIp.value;
      ({ r, v } = step(set, r, v));
    }
  }
  const first = { r, v };
  for (;;) {
    const range = set[r];
    if (v !== range.gateway) {
      const text = ipText(family, v);
      if (!reserved.has(text) && store.reserve(text, id, ifname, String(index))) return { family, ip: text, range, rangeSet: index };
    }
    ({ r, v } = step(set, r, v));
    if (r === first.r && v === first.v) {
      throw new CniError(CNI_ERR.NO_FREE_ADDRESS, 'no free address', `every address of range set ${index} (${set.map((x) => x.subnet).join(', ')}) is reserved`);
    }
  }
}

/** The address after v in the set, wrapping from the end of the last range to the first. */
function step(set: readonly IpRange[], r: number, v: bigint): { r: number; v: bigint } {
  if (v < set[r].end) return { r, v: v + 1n };
  const next = (r + 1) % set.length;
  return { r: next, v: set[next].start };
}

/** Releases every address held by (id, ifname); returns them. */
export function releaseAttachment(store: ReservationStore, id: string, ifname: string): string[] {
  const ips = store.heldBy(id, ifname);
  for (const ip of ips) store.release(ip);
  return ips;
}
