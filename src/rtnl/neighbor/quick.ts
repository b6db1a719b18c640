/**
 * The cheap check of the common neighbour spec, and what it reads of it as numbers. 10k specs
 * a batch or a reconcile cycle went through the field table's generic checks (~1 us each);
 * this decides the common shape without them, and reads its address and MAC once for whoever
 * keys or encodes the entry next. test/reconcile/quick-specs holds it to the full check.
 */
import { NUD_STATES } from '../names';
import { parseIPv4 } from '../../values/ip';
import { parseMacInto } from '../../values/mac';
import { isPlainWithOnly } from '../../values/plain';
import type { NeighborSpec } from '../types';

/** The fields the quick check accepts (any other sends a spec to the full check). */
const QUICK_FIELDS: readonly string[] = ['dev', 'ip', 'lladdr', 'state'];

/** A reusable reader of the common spec: after read() says true, its fields describe that spec. */
export class QuickNeighbor {
  /** The IPv4 address, as parseIPv4 gives it. */
  v4 = 0;
  /** Whether the spec gives a MAC (then macHi, macLo hold it). */
  hasMac = false;
  /** The MAC's first two bytes, big-endian. */
  macHi = 0;
  /** The MAC's last four bytes, big-endian, as a signed 32-bit number. */
  macLo = 0;
  /** The NUD_* state wanted (NUD_PERMANENT unless the spec says). */
  state = 0;
  private readonly mac = new Uint8Array(6);

  /**
   * Whether x is certainly a spec validateNeighborSpec accepts, decided cheaply for the common
   * shape (own fields dev, ip, lladdr, state only; an IPv4 address; a device whose name the
   * full check accepted before, in okDevs). False means "check it fully", not "invalid".
   */
  read(x: unknown, okDevs: ReadonlySet<string>): x is NeighborSpec {
    if (!isPlainWithOnly(x, QUICK_FIELDS)) return false;
    const { dev, ip, lladdr, state } = x;
    if (typeof dev !== 'string' || !okDevs.has(dev)) return false;
    if (typeof ip !== 'string') return false;
    const v4 = parseIPv4(ip);
    if (v4 < 0) return false;
    let stateBits: number = NUD_STATES.permanent;
    if (state !== undefined) {
      if (typeof state !== 'string' || !Object.prototype.hasOwnProperty.call(NUD_STATES, state)) return false;
      stateBits = NUD_STATES[state as keyof typeof NUD_STATES];
    }
    const m = this.mac;
    if (lladdr !== undefined) {
      if (typeof lladdr !== 'string' || !parseMacInto(lladdr, m, 0)) return false;
      this.macHi = (m[0] << 8) | m[1];
      this.macLo = (m[2] << 24) | (m[3] << 16) | (m[4] << 8) | m[5];
    }
    this.hasMac = lladdr !== undefined;
    this.v4 = v4;
    this.state = stateBits;
    return true;
  }
}

const SCRATCH = new QuickNeighbor();

/** QuickNeighbor.read() without keeping what it read. */
export function quickNeighborSpec(x: unknown, okDevs: ReadonlySet<string>): x is NeighborSpec {
  return SCRATCH.read(x, okDevs);
}
