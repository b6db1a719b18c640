/** Small helpers the link kinds share: canonical addresses and field comparison. */
import { formatIP, parseIP } from '../../wire/ip';

/** An IP literal in the form the kernel's replies are printed in (inet_ntop), or the input
 * unchanged when it is not an address (validation reports that elsewhere). */
export function canonicalIP(s: string): string {
  const b = parseIP(s);
  return (b && formatIP(b, 0, b.length)) ?? s;
}

/** Whether an IP literal is a multicast address (224.0.0.0/4, ff00::/8). */
export function isMulticastIP(s: string): boolean {
  const b = parseIP(s);
  if (!b) return false;
  return b.length === 4 ? b[0] >= 224 && b[0] <= 239 : b[0] === 0xff;
}

/** Whether a spec value asks for something other than the current value: undefined means
 * "leave as it is"; addresses compare canonically; tuples element by element. */
export function differs(want: unknown, have: unknown, address = false): boolean {
  if (want === undefined) return false;
  if (Array.isArray(want)) {
    return !Array.isArray(have) || want.length !== have.length || want.some((v, i) => v !== have[i]);
  }
  if (address && typeof want === 'string') return have === undefined || canonicalIP(want) !== canonicalIP(String(have));
  return want !== have;
}
