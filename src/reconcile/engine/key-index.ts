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
