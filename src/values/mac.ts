/**
 * MAC (link-layer) addresses: the exact parser, the formatter, the one canonical form
 * ("aa:bb:cc:dd:ee:ff", lower case, colons) and the checks specs use.
 */
import { hexValue } from './ip';
import { describeValue, type Problems } from './problems';

/** Parses "aa:bb:cc:dd:ee:ff" (also with '-') into 6 bytes at out[off]; false when invalid. */
export function parseMacInto(s: string, out: Uint8Array, off: number): boolean {
  if (s.length !== 17) return false;
  for (let k = 0; k < 6; k++) {
    const hi = hexValue(s.charCodeAt(3 * k));
    const lo = hexValue(s.charCodeAt(3 * k + 1));
    if (hi < 0 || lo < 0) return false;
    if (k < 5) {
      const sep = s.charCodeAt(3 * k + 2);
      if (sep !== 58 && sep !== 45) return false;
    }
    out[off + k] = hi * 16 + lo;
  }
  return true;
}

const HEX = '0123456789abcdef';

/** Formats len bytes as lower-case colon-separated hex ("aa:bb:cc:dd:ee:ff"). */
export function formatMac(buf: Uint8Array, off: number, len = 6): string {
  let s = '';
  for (let k = 0; k < len; k++) {
    const b = buf[off + k];
    if (k) s += ':';
    s += HEX[b >>> 4] + HEX[b & 15];
  }
  return s;
}

/**
 * The canonical form of a MAC literal (lower case, ':' separators; '-' accepted on input),
 * or undefined when it is not exactly one. The one canonicaliser: specs and read-back objects
 * compare in this form.
 */
export function canonicalMac(s: unknown): string | undefined {
  if (typeof s !== 'string' || !parseMacInto(s, scratch, 0)) return undefined;
  // Most MACs are written canonically already: then the text itself, no new string.
  return isCanonicalMacText(s) ? s : formatMac(scratch, 0, 6);
}

/** Whether a MAC literal that parseMacInto accepted is in the canonical form already. */
export function isCanonicalMacText(s: string): boolean {
  for (let k = 0; k < 17; k++) {
    const c = s.charCodeAt(k);
    if (k % 3 === 2 ? c !== 58 : !((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** canonicalMac()'s bytes (it never keeps them past the call). */
const scratch = new Uint8Array(6);

/**
 * A MAC address ("aa:bb:cc:dd:ee:ff", '-' separators accepted). Returns its canonical form,
 * or undefined after adding a problem at `path`; never throws.
 */
export function checkMac(p: Problems, path: string, v: unknown): string | undefined {
  const mac = canonicalMac(v);
  if (mac === undefined) p.add(path, `${describeValue(v)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  return mac;
}

/** Whether a canonical MAC has the group (multicast) bit set. */
export function isMulticastMac(mac: string): boolean {
  return (hexValue(mac.charCodeAt(1)) & 1) === 1;
}

/** The all-zeros MAC: a vxlan device's flood entry. */
export const ZERO_MAC = '00:00:00:00:00:00';

/**
 * A MAC a device can take: well formed, unicast (the group bit clear) and not all zeros, as the
 * kernel's is_valid_ether_addr() wants (it answers EADDRNOTAVAIL otherwise). Returns the
 * canonical form, or undefined after adding a problem at `path`.
 */
export function checkUnicastMac(p: Problems, path: string, v: unknown): string | undefined {
  const mac = checkMac(p, path, v);
  if (mac === undefined) return undefined;
  if (isMulticastMac(mac)) {
    p.add(path, `${describeValue(v)} is a multicast MAC; a device needs a unicast one`);
    return undefined;
  }
  if (mac === ZERO_MAC) {
    p.add(path, `${describeValue(v)} is the all-zeros MAC; a device needs a real one`);
    return undefined;
  }
  return mac;
}
