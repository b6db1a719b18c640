/**
 * The FDB kind's steady-state read on numbers, as the neighbour kind's (../neighbor/fast.ts):
 * each entry of a device's dump is looked up by (device slot, MAC, destination) in a typed
 * index and compared on numbers (NeighFacts); an equal one settles its desired position
 * without an FdbEntry being made. Everything else is decoded whole and decided by the general
 * rule (EntryMatcher.offer with FDB_RULES).
 *
 * What settles here must be exactly what FDB_RULES.differences() finds equal (settles(),
 * fastComparable()). A spec with nhid and an entry with NDA_NH_ID are never settled here: a
 * comparison of nhid added to differences() is then made by the general path alone. Any other
 * field added to differences() must be compared in settles() too.
 */
import { NTF_SELF, NUD_NOARP, NUD_PERMANENT } from '../../../rtnl/constants';
import { parseFdbMessage } from '../../../rtnl/fdb';
import type { NeighFacts } from '../../../rtnl/neigh-facts';
import type { Rtnl } from '../../../rtnl/rtnl';
import type { DeviceRef, FdbEntry, FdbSpec } from '../../../rtnl/types';
import { ZERO_MAC, formatMac, isCanonicalMacText, isMulticastMac, parseMacInto } from '../../../values/mac';
import { parseIPv4 } from '../../../values/ip';
import { isPlainWithOnly } from '../../../values/plain';
import { DeviceSlots, EntryMatcher, scanDevices, type EntryRules, type PreparedEntries } from '../../engine/entries';
import type { LinkView } from '../../engine/kind';
import { WordKeyIndex } from '../../engine/key-index';
import { patchRuns, type Edit } from '../../engine/edits';

/** Words of a key: device slot, MAC (2 + 4 bytes), dst length (0: none), dst in four words. */
const KEY_WIDTH = 8;
/** Words of a unicast key: device slot, MAC, vlan (-1: none). */
const UNICAST_WIDTH = 4;

/**
 * Whether the fast read can compare a spec. Its fields are FDB_FIELDS' (validation refuses
 * others): the key (dev, mac, dst), the ones settles() compares as differences() does
 * (permanent, vni, port), the ones differences() ignores (vlan, self, master), and nhid,
 * which is left to the general path (with the entries that carry NDA_NH_ID): a comparison of
 * it added to differences() needs no change here.
 */
function fastComparable(spec: FdbSpec): boolean {
  return spec.nhid === undefined;
}

/** The desired FDB entries as numbers: positions by (device slot, MAC, dst), and what each wants. */
export class FdbKeys {
  /** The devices desired entries name. */
  readonly devs: DeviceSlots;
  /** Positions by key. */
  readonly index: WordKeyIndex;
  /** First positions by unicast key (one destination per unicast MAC and vlan on a device). */
  private readonly unicast: WordKeyIndex;
  /** 1: the position is in unicast. */
  private readonly isUnicast: Uint8Array;
  /** 1: compared here; 0: by the general path only. */
  private readonly fast: Uint8Array;
  private readonly permanent: Uint8Array;
  /** NDA_VNI wanted, -1: any. */
  private readonly vni: Int32Array;
  /** NDA_PORT wanted, -1: any. */
  private readonly port: Int32Array;
  private readonly mac = Buffer.alloc(6);

  /** devs, indexes: a patched list's (see patched), whose devices are the list's before. */
  constructor(expected: number, devs = new DeviceSlots(), indexes?: { index: WordKeyIndex; unicast: WordKeyIndex; isUnicast: Uint8Array }) {
    this.devs = devs;
    this.index = indexes?.index ?? new WordKeyIndex(KEY_WIDTH, expected);
    this.unicast = indexes?.unicast ?? new WordKeyIndex(UNICAST_WIDTH, expected);
    this.isUnicast = indexes?.isUnicast ?? new Uint8Array(expected);
    this.fast = new Uint8Array(expected);
    this.permanent = new Uint8Array(expected);
    this.vni = new Int32Array(expected);
    this.port = new Int32Array(expected);
  }

  /**
   * Writes the key of (dev, mac, dst) for find() and record(): a validated spec's canonical MAC,
   * its dst as length (0: none, 4 or 16) and four big-endian words (an IPv4 one in d0).
   */
  keyOf(dev: DeviceRef, mac: string, len: number, d0: number, d1: number, d2: number, d3: number): void {
    if (!parseMacInto(mac, this.mac, 0)) throw new Error(`FDB entry: MAC ${mac} passed validation but does not parse`);
    const m = this.mac;
    this.keyOfWords(dev, (m[0] << 8) | m[1], (m[2] << 24) | (m[3] << 16) | (m[4] << 8) | m[5], len, d0, d1, d2, d3);
  }

  /** keyOf() with the MAC as the two words keyOf() writes (macWords() of it): nothing parsed again. */
  keyOfWords(dev: DeviceRef, macHi: number, macLo: number, len: number, d0: number, d1: number, d2: number, d3: number): void {
    const k = this.index.key;
    k[0] = this.devs.slotOf(dev);
    k[1] = macHi;
    k[2] = macLo;
    k[3] = len;
    k[4] = d0;
    k[5] = d1;
    k[6] = d2;
    k[7] = d3;
  }

  /** The MAC words of the key last written (for keyOfWords() later). */
  macWords(): [number, number] {
    return [this.index.key[1], this.index.key[2]];
  }

  /** The position already on the key last written, or -1. */
  find(): number {
    return this.index.find();
  }

  /**
   * The first position with the unicast key (device, MAC of the key last written, vlan):
   * pos itself when there is none yet (then pos is recorded as it).
   */
  firstUnicast(pos: number, vlan: number | undefined): number {
    const u = this.unicast.key;
    const k = this.index.key;
    u[0] = k[0];
    u[1] = k[1];
    u[2] = k[2];
    u[3] = vlan ?? -1;
    const had = this.unicast.add(pos);
    if (had >= 0) return had;
    this.isUnicast[pos] = 1;
    return pos;
  }

  /**
   * The keys of a list patched from old's (see engine/edits.ts): old's for its unchanged runs,
   * inserted's (the entries the edits put in, prepared as a list of their own) at the edits;
   * the same as recording the new list's entries one by one. Undefined when a key or a unicast
   * MAC repeats, or an inserted entry is on a device old's entries do not name (the list is
   * then prepared whole, which says why).
   */
  static patched(old: FdbKeys, inserted: FdbKeys, edits: readonly Edit[], oldCount: number, count: number): FdbKeys | undefined {
    const slotOf = inserted.devs.slotsIn(old.devs);
    if (slotOf === undefined) return undefined;
    const index = WordKeyIndex.patched(old.index, inserted.index, slotOf, edits, oldCount, count);
    if (index === undefined) return undefined;
    const isUnicast = new Uint8Array(count);
    patchRuns(old.isUnicast, inserted.isUnicast, isUnicast, edits, oldCount);
    const unicast = WordKeyIndex.patched(old.unicast, inserted.unicast, slotOf, edits, oldCount, count, inserted.isUnicast);
    if (unicast === undefined) return undefined;
    const out = new FdbKeys(count, old.devs, { index, unicast, isUnicast });
    patchRuns(old.fast, inserted.fast, out.fast, edits, oldCount);
    patchRuns(old.permanent, inserted.permanent, out.permanent, edits, oldCount);
    patchRuns(old.vni, inserted.vni, out.vni, edits, oldCount);
    patchRuns(old.port, inserted.port, out.port, edits, oldCount);
    return out;
  }

  /** Records desired entry pos on the key last written. */
  record(pos: number, spec: FdbSpec): void {
    this.index.add(pos);
    this.fast[pos] = fastComparable(spec) ? 1 : 0;
    this.permanent[pos] = spec.permanent === false ? 0 : 1;
    this.vni[pos] = spec.vni ?? -1;
    this.port[pos] = spec.port ?? -1;
  }

  /** Whether the entry in f (found at pos, considered) is what pos wants: FDB_RULES.differences() empty. */
  settles(pos: number, f: NeighFacts): boolean {
    if (this.fast[pos] === 0 || f.nhid >= 0) return false;
    if (((f.state & NUD_PERMANENT) !== 0) !== (this.permanent[pos] === 1)) return false;
    const vni = this.vni[pos];
    if (vni >= 0 && f.vni !== vni) return false;
    const port = this.port[pos];
    return port < 0 || f.port === port;
  }
}

/** The prepared form of the desired FDB entries. */
export interface PreparedFdb extends PreparedEntries<FdbSpec, FdbEntry> {
  /** The same entries as numbers. */
  readonly keys: FdbKeys;
}

/**
 * Reads the FDB entries of the given devices (one kernel-filtered dump each) and matches them
 * against the desired ones, settling equal entries on numbers. Returns the leftovers, as matchEntries.
 */
export async function scanFdb(nl: Rtnl, desired: PreparedFdb, devices: ReadonlySet<number>, view: LinkView, slots: Map<number, number>, rules: EntryRules<'fdb', FdbSpec, FdbEntry>): Promise<FdbEntry[]> {
  const { keys, marks } = desired;
  const index = keys.index;
  const key = index.key;
  const { vanishing, foreign } = view;
  const m = new EntryMatcher(desired, view, rules);
  let lastIf = -1;
  let lastSlot = -1;
  const visit = (f: NeighFacts): void => {
    const ifi = f.ifindex;
    let pos = -1;
    if (!f.odd) {
      if (ifi !== lastIf) {
        lastIf = ifi;
        lastSlot = slots.get(ifi) ?? -1;
      }
      if (lastSlot >= 0 && f.llLen === 6) {
        key[0] = lastSlot;
        key[1] = f.llHi;
        key[2] = f.llLo;
        key[3] = f.dstLen;
        key[4] = f.dst0;
        key[5] = f.dst1;
        key[6] = f.dst2;
        key[7] = f.dst3;
        pos = index.find();
        // Considered (FDB_RULES.considered): a static entry in the device's own table.
        const considered = (f.flags & NTF_SELF) !== 0 && (f.state & (NUD_PERMANENT | NUD_NOARP)) !== 0;
        if (pos >= 0 && considered && !vanishing.has(ifi) && !foreign.has(ifi) && keys.settles(pos, f) && marks.settle(pos)) return;
      }
    }
    m.offer(parseFdbMessage(f.msg!), f.odd ? undefined : pos);
  };
  await scanDevices(
    devices,
    { all: false, missingOk: false, what: 'FDB read' },
    () => m.begin(),
    (dev, onRestart) => nl.fdb.scan({ dev }, visit, onRestart),
  );
  return m.left;
}

/** The fields the quick check accepts (any other sends a spec to the full check). */
const QUICK_FIELDS: readonly string[] = ['dev', 'mac', 'dst'];

/**
 * A reusable reader of the common FDB spec (as QuickNeighbor is of the common neighbour): after
 * read() says true, its fields hold what prepare needs of that spec, each parsed once (the MAC
 * was parsed three times and the dst twice: by the check, canonicalMac and the key).
 */
export class QuickFdb {
  /** The MAC in canonical form (the spec's own text when it is canonical already). */
  mac = '';
  /** The MAC's first two bytes, big-endian. */
  macHi = 0;
  /** The MAC's last four bytes, big-endian, as a signed 32-bit number. */
  macLo = 0;
  /** Whether the MAC is unicast: neither all zeros nor multicast (one remote per device). */
  unicast = false;
  /** The IPv4 dst as parseIPv4 gives it, or -1 when the spec has none. */
  v4 = -1;
  private readonly bytes = new Uint8Array(6);

  /**
   * Whether x is certainly a spec validateFdbSpec accepts, decided cheaply for the common shape
   * (own fields dev, mac, dst only; an IPv4 dst; a device whose name the full check accepted
   * before, in okDevs). False means "check it fully", not "invalid".
   */
  read(x: unknown, okDevs: ReadonlySet<string>): x is FdbSpec {
    if (!isPlainWithOnly(x, QUICK_FIELDS)) return false;
    const { dev, mac, dst } = x;
    if (typeof dev !== 'string' || !okDevs.has(dev)) return false;
    const m = this.bytes;
    if (typeof mac !== 'string' || !parseMacInto(mac, m, 0)) return false;
    let v4 = -1;
    if (dst !== undefined) {
      if (typeof dst !== 'string') return false;
      v4 = parseIPv4(dst);
      if (v4 < 0) return false;
    }
    this.macHi = (m[0] << 8) | m[1];
    this.macLo = (m[2] << 24) | (m[3] << 16) | (m[4] << 8) | m[5];
    this.mac = isCanonicalMacText(mac) ? mac : formatMac(m, 0, 6);
    this.unicast = this.mac !== ZERO_MAC && !isMulticastMac(this.mac);
    this.v4 = v4;
    return true;
  }
}

const SCRATCH = new QuickFdb();

/** QuickFdb.read() on a shared reader: whether x is certainly a spec validateFdbSpec accepts. */
export function quickFdbSpec(x: unknown, okDevs: ReadonlySet<string>): x is FdbSpec {
  return SCRATCH.read(x, okDevs);
}
