/**
 * The checks that are rtnetlink's own; the general ones (addresses, prefixes, MACs, names,
 * Problems) are in the values layer.
 */
import { checkIfName } from '../values/names';
import { describeValue, type Problems } from '../values/problems';
import type { DeviceRef } from './types';

/**
 * A DeviceRef: an interface index (1..2^31-1) or a valid interface name (see checkIfName).
 * Adds a problem at `path` and returns false otherwise; never throws.
 */
export function checkDevice(p: Problems, path: string, v: unknown): v is DeviceRef {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v > 0 && v <= 0x7fffffff) return true;
    p.add(path, `${describeValue(v)} is not an interface index`);
    return false;
  }
  return checkIfName(p, path, v);
}
