/**
 * The strings a route decoder makes, cached: large tables repeat a few gateways and share the
 * first three octets of their destinations in runs (dumps come in trie order), so most routes
 * reuse a string instead of building one. One RouteText per reader (caller-owned, as values'
 * prefix parsers): it holds strings only, never a result, so sharing one cannot change what
 * is decoded.
 */
import { formatIPv4, formatIPv4Head, formatIPv6 } from '../../values/ip';

/** Direct-mapped slots of "a.b.c." prefixes. */
const PREFIX_SLOTS = 4096;
/** "/0".."/128". */
const LEN_TEXT: readonly string[] = Array.from({ length: 129 }, (_, i) => '/' + i);

/** String caches for decoding routes (see the module comment). */
export class RouteText {
  // The last IPv4 gateway/prefsrc formatted: 0.0.0.0 is the right text for key 0.
  private lastV4Key = 0;
  private lastV4Text = '0.0.0.0';
  // IPv4 destinations as "a.b.c." + "d/len", both pieces cached and bounded: a direct-mapped
  // table of 4096 prefixes and at most 256 x 33 tails.
  private readonly prefixKeys = new Int32Array(PREFIX_SLOTS).fill(-1);
  private readonly prefixTexts: string[] = new Array<string>(PREFIX_SLOTS).fill('');
  private readonly tailTexts: Array<string | undefined> = new Array<string | undefined>(256 * 33);

  /** The IPv4 address at buf[off] as text (the last one is remembered). */
  v4(buf: Buffer, off: number): string {
    const k = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
    if (k === this.lastV4Key) return this.lastV4Text;
    this.lastV4Key = k;
    return (this.lastV4Text = formatIPv4(buf, off));
  }

  /** The IPv4 prefix at buf[off] of length len as "a.b.c.d/len", in one concatenation. */
  v4Dst(buf: Buffer, off: number, len: number): string {
    const k = (buf[off] << 16) | (buf[off + 1] << 8) | buf[off + 2];
    const slot = (k ^ (k >>> 12)) & (PREFIX_SLOTS - 1);
    let head: string;
    if (this.prefixKeys[slot] === k) head = this.prefixTexts[slot];
    else {
      this.prefixKeys[slot] = k;
      head = this.prefixTexts[slot] = formatIPv4Head(buf, off);
    }
    const t = buf[off + 3] * 33 + len;
    let tail = this.tailTexts[t];
    if (tail === undefined) tail = this.tailTexts[t] = String(buf[off + 3]) + LEN_TEXT[len];
    return head + tail;
  }

  // The last IPv6 gateway formatted, as four 32-bit words (all-zero is "::").
  private lastV6a = 0;
  private lastV6b = 0;
  private lastV6c = 0;
  private lastV6d = 0;
  private lastV6Text = '::';

  /** The IPv6 address at buf[off] as text (the last one is remembered: routes share gateways). */
  v6(buf: Buffer, off: number): string {
    const a = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
    const b = (buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7];
    const c = (buf[off + 8] << 24) | (buf[off + 9] << 16) | (buf[off + 10] << 8) | buf[off + 11];
    const d = (buf[off + 12] << 24) | (buf[off + 13] << 16) | (buf[off + 14] << 8) | buf[off + 15];
    if (a === this.lastV6a && b === this.lastV6b && c === this.lastV6c && d === this.lastV6d) return this.lastV6Text;
    this.lastV6a = a;
    this.lastV6b = b;
    this.lastV6c = c;
    this.lastV6d = d;
    return (this.lastV6Text = formatIPv6(buf, off));
  }

  /** The IPv6 prefix at buf[off] of length len as "addr/len". */
  v6Dst(buf: Buffer, off: number, len: number): string {
    return formatIPv6(buf, off) + LEN_TEXT[len];
  }

  /** "/len". */
  lenText(len: number): string {
    return LEN_TEXT[len];
  }
}
