/** Small helpers the link kinds share: canonical addresses and field comparison. */
import { canonicalIP, isMulticast, readAddress } from '../../values/address';

/** Whether an IP literal is a multicast address (224.0.0.0/4, ff00::/8). */
export function isMulticastIP(s: string): boolean {
  const a = readAddress(s);
  return a !== undefined && isMulticast(a);
}

/** Whether a spec value asks for something other than the current value: undefined means
 * "leave as it is"; addresses compare canonically; tuples element by element. */
export function differs(want: unknown, have: unknown, address = false): boolean {
  if (want === undefined) return false;
  if (Array.isArray(want)) {
    return !Array.isArray(have) || want.length !== have.length || want.some((v, i) => v !== have[i]);
  }
  if (address && typeof want === 'string') return have === undefined || (canonicalIP(want) ?? want) !== (canonicalIP(String(have)) ?? have);
  return want !== have;
}
