/**
 * The neighbour kind's steady-state read on numbers. A cycle that finds the kernel as desired
 * reads 10k entries and finds 10k equal: each is looked up by (device slot, address) in a
 * typed index and compared on ndm_state and the MAC as numbers (NeighFacts), and an equal one
 * settles its desired position without a Neighbor being made. Every other entry (a different
 * one, a duplicate, one on a foreign or vanishing device, a proxy, a malformed message) is
 * decoded whole and decided by the general rule (EntryMatcher.offer with NEIGHBOR_RULES), so
 * the plan is the one the general path makes.
 *
 * What settles here must be exactly what NEIGHBOR_RULES.differences() finds equal: the MAC
 * when the spec gives one, and the state.
 */
import { NTF_PROXY } from '../../../rtnl/constants';
import { parseNeighborMessage } from '../../../rtnl/neighbor';
import type { NeighFacts } from '../../../rtnl/neigh-facts';
import type { QuickNeighbor } from '../../../rtnl/neighbor/quick';
import type { Rtnl } from '../../../rtnl/rtnl';
import type { Neighbor, NeighborSpec } from '../../../rtnl/types';
import { NUD_STATES } from '../../../rtnl/names';
import { parseMacInto } from '../../../values/mac';
import { DeviceSlots, EntryMatcher, scanDevices, type EntryRules, type PreparedEntries } from '../../engine/entries';
import type { LinkView } from '../../engine/kind';
import { WordKeyIndex } from '../../engine/key-index';
import { patchRuns, type Edit } from '../../engine/edits';

/** How a desired entry is compared on numbers. */
const NO_MAC = 0; // the spec gives no MAC: the state alone
const MAC = 1; // the MAC and the state

/** Words of a key: device slot, address length (4 or 16), the address in four words. */
const KEY_WIDTH = 6;

/** What a desired entry is keyed and compared on, as NeighborKeys holds it (see memoAt). */
export interface NeighborWords {
  readonly len: 4 | 16;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  readonly mode: number;
  readonly macHi: number;
  readonly macLo: number;
  readonly stateBit: number;
}

/** Writes a key: the device slot, the address length and the address's four words. */
function setKey(k: Int32Array, slot: number, len: number, w0: number, w1: number, w2: number, w3: number): void {
  k[0] = slot;
  k[1] = len;
  k[2] = w0;
  k[3] = w1;
  k[4] = w2;
  k[5] = w3;
}

/** The desired neighbours as numbers: positions by (device slot, address), and what each wants. */
export class NeighborKeys {
  /** The devices desired entries name. */
  readonly devs: DeviceSlots;
  /** Positions by key. */
  readonly index: WordKeyIndex;
  private readonly mode: Uint8Array;
  private readonly macHi: Int32Array;
  private readonly macLo: Int32Array;
  /** The NUD_* bit the state must have; 0: the state must be 0 ('none'). */
  private readonly stateBit: Int32Array;
  private readonly mac = Buffer.alloc(6);
  /** The address families desired on each device slot: bit 1 IPv4, bit 2 IPv6. */
  private readonly slotFamilies: number[] = [];

  /** devs, index: a patched list's (see patched), whose devices are the list's before. */
  constructor(expected: number, devs = new DeviceSlots(), index?: WordKeyIndex) {
    this.devs = devs;
    this.index = index ?? new WordKeyIndex(KEY_WIDTH, expected);
    this.mode = new Uint8Array(expected);
    this.macHi = new Int32Array(expected);
    this.macLo = new Int32Array(expected);
    this.stateBit = new Int32Array(expected);
  }

  /**
   * Records desired entry pos (a validated spec; its address as length 4 or 16 and four
   * big-endian words, an IPv4 one in w0): returns the position already on its key, or -1.
   */
  add(pos: number, spec: NeighborSpec, len: 4 | 16, w0: number, w1: number, w2: number, w3: number): number {
    let mode = NO_MAC;
    let hi = 0;
    let lo = 0;
    if (spec.lladdr !== undefined) {
      // Validated as a MAC: it parses (a spec that did not would only ever be compared by text).
      if (!parseMacInto(spec.lladdr, this.mac, 0)) throw new Error(`neighbour: lladdr ${spec.lladdr} passed validation but does not parse`);
      mode = MAC;
      hi = (this.mac[0] << 8) | this.mac[1];
      lo = this.mac.readInt32BE(2);
    }
    return this.put(pos, this.devs.slotOf(spec.dev), len, w0, w1, w2, w3, mode, hi, lo, NUD_STATES[spec.state ?? 'permanent']);
  }

  /**
   * add() for a spec QuickNeighbor.read() accepted (an IPv4 one), from the numbers it read:
   * nothing is parsed again. slot: devs.slotOf(its dev).
   */
  addQuick(pos: number, slot: number, q: QuickNeighbor): number {
    return q.hasMac ? this.put(pos, slot, 4, q.v4 | 0, 0, 0, 0, MAC, q.macHi, q.macLo, q.state) : this.put(pos, slot, 4, q.v4 | 0, 0, 0, 0, NO_MAC, 0, 0, q.state);
  }

  /**
   * What the entry at pos (just added, its key last written) was keyed and compared on, for
   * addMemo() in a later prepare of the same frozen spec.
   */
  memoAt(pos: number): NeighborWords {
    const k = this.index.key;
    return { len: k[1] as 4 | 16, w0: k[2], w1: k[3], w2: k[4], w3: k[5], mode: this.mode[pos], macHi: this.macHi[pos], macLo: this.macLo[pos], stateBit: this.stateBit[pos] };
  }

  /** add() from what memoAt() kept of the same spec: nothing parsed or looked up again. slot: devs.slotOf(its dev). */
  addMemo(pos: number, slot: number, m: NeighborWords): number {
    return this.put(pos, slot, m.len, m.w0, m.w1, m.w2, m.w3, m.mode, m.macHi, m.macLo, m.stateBit);
  }

  /** Puts pos on its key unless the key is taken (then returns the position on it), with what it wants. */
  private put(pos: number, slot: number, len: 4 | 16, w0: number, w1: number, w2: number, w3: number, mode: number, macHi: number, macLo: number, stateBit: number): number {
    setKey(this.index.key, slot, len, w0, w1, w2, w3);
    const had = this.index.add(pos);
    if (had >= 0) return had;
    this.slotFamilies[slot] = (this.slotFamilies[slot] ?? 0) | (len === 4 ? 1 : 2);
    this.mode[pos] = mode;
    this.macHi[pos] = macHi;
    this.macLo[pos] = macLo;
    this.stateBit[pos] = stateBit;
    return -1;
  }

  /**
   * The keys of a list patched from old's (see engine/edits.ts): old's for its unchanged runs,
   * inserted's (the entries the edits put in, prepared as a list of their own) at the edits;
   * the same as adding the new list's entries one by one. Undefined when a key repeats or an
   * inserted entry is on a device old's entries do not name (the list is then prepared whole,
   * which says why).
   */
  static patched(old: NeighborKeys, inserted: NeighborKeys, edits: readonly Edit[], oldCount: number, count: number): NeighborKeys | undefined {
    const slotOf = inserted.devs.slotsIn(old.devs);
    if (slotOf === undefined) return undefined;
    const index = WordKeyIndex.patched(old.index, inserted.index, slotOf, edits, oldCount, count);
    if (index === undefined) return undefined;
    const out = new NeighborKeys(count, old.devs, index);
    patchRuns(old.mode, inserted.mode, out.mode, edits, oldCount);
    patchRuns(old.macHi, inserted.macHi, out.macHi, edits, oldCount);
    patchRuns(old.macLo, inserted.macLo, out.macLo, edits, oldCount);
    patchRuns(old.stateBit, inserted.stateBit, out.stateBit, edits, oldCount);
    const families = out.slotFamilies;
    for (let pos = 0; pos < count; pos++) {
      const slot = out.index.wordAt(pos, 0);
      families[slot] = (families[slot] ?? 0) | (out.index.wordAt(pos, 1) === 4 ? 1 : 2);
    }
    return out;
  }

  /** The one family desired entries on a slot have, or undefined when they have both. */
  familyOf(slot: number): 4 | 6 | undefined {
    const f = this.slotFamilies[slot];
    return f === 1 ? 4 : f === 2 ? 6 : undefined;
  }

  /** Whether the entry in f (found at pos) is what pos wants: NEIGHBOR_RULES.differences() empty. */
  settles(pos: number, f: NeighFacts): boolean {
    if (this.mode[pos] === MAC && (f.llLen !== 6 || f.llHi !== this.macHi[pos] || f.llLo !== this.macLo[pos])) return false;
    const bit = this.stateBit[pos];
    return bit === 0 ? f.state === 0 : (f.state & bit) !== 0;
  }
}

/** The prepared form of the desired neighbours. */
export interface PreparedNeighbors extends PreparedEntries<NeighborSpec, Neighbor> {
  /** The same entries as numbers. */
  readonly keys: NeighborKeys;
  /** The position of the last entry whose device no earlier entry names (-1: none): edits past
   * it leave the references (one per device, at its first entry) as they are. */
  readonly lastNewDevice: number;
}

/**
 * Reads the neighbours on the given devices (kernel-filtered dumps) and matches them against
 * the desired ones, settling equal entries on numbers. Returns the leftovers, as matchEntries.
 */
export async function scanNeighbors(
  nl: Rtnl,
  desired: PreparedNeighbors,
  devices: ReadonlySet<number>,
  families: (index: number) => 4 | 6 | undefined,
  view: LinkView,
  slots: Map<number, number>,
  rules: EntryRules<'neighbor', NeighborSpec, Neighbor>,
): Promise<Neighbor[]> {
  const { keys, marks } = desired;
  const index = keys.index;
  const key = index.key;
  const { vanishing, foreign } = view;
  const m = new EntryMatcher(desired, view, rules);
  let filterHere = false;
  // Thousands of entries are on one device: its slot is looked up once per run of it.
  let lastIf = -1;
  let lastSlot = -1;
  const visit = (f: NeighFacts): void => {
    const ifi = f.ifindex;
    if (filterHere && !devices.has(ifi)) return;
    let pos = -1;
    if (!f.odd) {
      if (ifi !== lastIf) {
        lastIf = ifi;
        lastSlot = slots.get(ifi) ?? -1;
      }
      if (lastSlot >= 0 && f.dstLen !== 0) {
        setKey(key, lastSlot, f.dstLen, f.dst0, f.dst1, f.dst2, f.dst3);
        pos = index.find();
        if (pos >= 0 && (f.flags & NTF_PROXY) === 0 && !vanishing.has(ifi) && !foreign.has(ifi) && keys.settles(pos, f) && marks.settle(pos)) return;
      }
    }
    // Decoded whole (a malformed message throws here, as in list()).
    m.offer(parseNeighborMessage(f.msg!), f.odd ? undefined : pos);
  };
  await scanDevices(
    devices,
    { all: true, missingOk: true, what: 'neighbour read' },
    () => m.begin(),
    (dev, onRestart) => {
      filterHere = dev === 0;
      const family = dev === 0 ? undefined : families(dev);
      return nl.neighbors.scan(dev === 0 ? {} : family === undefined ? { dev } : { dev, family }, visit, onRestart);
    },
  );
  return m.left;
}
