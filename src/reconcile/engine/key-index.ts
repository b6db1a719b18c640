import { insertedAt, movedTo, patchRuns, removedBy, type Edit } from './edits';
import { closeHole } from './probe';

/**
 * Positions of desired objects by a key of a few 32-bit words (a device slot, an address, a
 * MAC...), open addressing over typed arrays: a lookup hashes the words and allocates nothing,
 * and 10k keys cost a few hundred kilobytes and no key strings. The kinds that settle their
 * steady state on the numbers of a dump (neighbours, FDB entries) look every kernel entry up
 * here.
 *
 * The caller writes the key into `key` and then calls add() or find(). Values are positions
 * (0, 1, 2... in a list): each position's key is stored once, at the position, and the table's
 * slots hold only positions. A table with a slot of key words for each of its (mostly empty)
 * slots cost three times the memory, made anew at every prepared list (an overlay's agent
 * prepares a few lists a second).
 */
export class WordKeyIndex {
  /** The key of the next add() or find(), written by the caller (width words). */
  readonly key: Int32Array;
  /** The key of each position added, at position * width. */
  private words: Int32Array;
  private values: Int32Array; // -1: an empty slot
  private mask: number;
  private count = 0;

  constructor(
    private readonly width: number,
    expected: number,
  ) {
    this.key = new Int32Array(width);
    let size = 16;
    while (size < expected * 2) size *= 2;
    this.words = new Int32Array(Math.max(expected, 1) * width);
    this.values = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  private slot(k: Int32Array, from: number): number {
    let h = 0x9e3779b1;
    for (let j = 0; j < this.width; j++) {
      h = Math.imul(h ^ k[from + j], 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  /** Whether position v holds key k. */
  private holds(v: number, k: Int32Array): boolean {
    const w = this.words;
    const base = v * this.width;
    for (let j = 0; j < this.width; j++) if (w[base + j] !== k[j]) return false;
    return true;
  }

  /**
   * Sets `key` to value (a position not added before) unless the key has one: returns the
   * position it had, or -1.
   */
  add(value: number): number {
    if ((this.count + 1) * 2 > this.values.length) this.grow();
    const k = this.key;
    let i = this.slot(k, 0);
    for (;;) {
      const v = this.values[i];
      if (v < 0) break;
      if (this.holds(v, k)) return v;
      i = (i + 1) & this.mask;
    }
    const base = value * this.width;
    if (base + this.width > this.words.length) this.growWords(value + 1);
    for (let j = 0; j < this.width; j++) this.words[base + j] = k[j];
    this.values[i] = value;
    this.count++;
    return -1;
  }

  /** The value of `key`, or -1. */
  find(): number {
    const k = this.key;
    let i = this.slot(k, 0);
    for (;;) {
      const v = this.values[i];
      if (v < 0 || this.holds(v, k)) return v;
      i = (i + 1) & this.mask;
    }
  }

  /**
   * The index of a list patched from old's (engine/edits.ts): the keys of the unchanged runs
   * copied from old and inserted's (the entries the edits put in, indexed as a list of their own)
   * at the edits, each inserted key's word 0 (a device slot) mapped by `slotOf` (inserted was
   * keyed with slots of its own); old's table without the positions the edits took out, the
   * others moved to where they now are, and the inserted keys added. Costs a copy and a pass
   * over the table, not a hash per key. Undefined when an inserted key is taken (the list is then
   * prepared whole, which says by which). `onlyInserted`: for an index that holds some positions
   * of the list, which of inserted's positions it holds (1); the others' words are copied as they
   * are (never read).
   */
  static patched(old: WordKeyIndex, inserted: WordKeyIndex, slotOf: Int32Array, edits: readonly Edit[], oldCount: number, count: number, onlyInserted?: Uint8Array): WordKeyIndex | undefined {
    const w = old.width;
    const out = new WordKeyIndex(w, 0);
    const words = (out.words = new Int32Array(Math.max(count, 1) * w));
    patchRuns(old.words, inserted.words, words, edits, oldCount, w);
    out.values = old.values.slice();
    out.mask = old.mask;
    out.count = old.count;
    for (const pos of removedBy(edits)) if (out.removeAt(pos, old.words)) out.count--;
    const to = movedTo(edits, oldCount);
    const values = out.values;
    for (let i = 0; i < values.length; i++) if (values[i] >= 0) values[i] = to[values[i]];
    const at = insertedAt(edits);
    for (let k = 0; k < at.length; k++) {
      if (onlyInserted !== undefined && onlyInserted[k] === 0) continue;
      const pos = at[k];
      words[pos * w] = slotOf[words[pos * w]]; // inserted's device slot, as old's
      if (out.insertAt(pos) >= 0) return undefined;
    }
    return out;
  }

  /** Takes position pos (its key in `words`) out of the table; whether it was in. */
  private removeAt(pos: number, words: Int32Array): boolean {
    const { values, mask, width } = this;
    let i = this.slot(words, pos * width);
    while (values[i] !== pos) {
      if (values[i] < 0) return false;
      i = (i + 1) & mask;
    }
    const move = (to: number, from: number): void => {
      values[to] = values[from];
    };
    values[closeHole(i, mask, (j) => values[j] >= 0, (j) => this.slot(words, values[j] * width), move)] = -1;
    return true;
  }

  /** Adds position pos, its key in this index's words, unless the key is there: the position
   * that has it, or -1. */
  private insertAt(pos: number): number {
    if ((this.count + 1) * 2 > this.values.length) this.grow();
    const w = this.width;
    let i = this.slot(this.words, pos * w);
    for (;;) {
      const v = this.values[i];
      if (v < 0) break;
      if (this.sameKeys(v, pos)) return v;
      i = (i + 1) & this.mask;
    }
    this.values[i] = pos;
    this.count++;
    return -1;
  }

  /** Word j of the key of position pos. */
  wordAt(pos: number, j: number): number {
    return this.words[pos * this.width + j];
  }

  /** Whether positions a and b have the same key. */
  private sameKeys(a: number, b: number): boolean {
    const w = this.words;
    const x = a * this.width;
    const y = b * this.width;
    for (let j = 0; j < this.width; j++) if (w[x + j] !== w[y + j]) return false;
    return true;
  }

  /** Room for the keys of positions below `positions` (a list longer than expected). */
  private growWords(positions: number): void {
    const words = new Int32Array(Math.max(positions, (this.words.length / this.width) * 2) * this.width);
    words.set(this.words);
    this.words = words;
  }

  /** Twice the slots; every position goes again where its key (kept at the position) hashes. */
  private grow(): void {
    const old = this.values;
    const size = old.length * 2;
    this.values = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    for (let s = 0; s < old.length; s++) {
      const v = old[s];
      if (v < 0) continue;
      let i = this.slot(this.words, v * this.width);
      while (this.values[i] >= 0) i = (i + 1) & this.mask;
      this.values[i] = v;
    }
  }
}
