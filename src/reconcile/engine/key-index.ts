/**
 * Positions of desired objects by a key of a few 32-bit words (a device slot, an address, a
 * MAC...), open addressing over typed arrays: a lookup hashes the words and allocates nothing,
 * and 10k keys cost a few hundred kilobytes and no key strings. The kinds that settle their
 * steady state on the numbers of a dump (neighbours, FDB entries) look every kernel entry up
 * here.
 *
 * The caller writes the key into `key` and then calls add() or find().
 */
export class WordKeyIndex {
  /** The key of the next add() or find(), written by the caller (width words). */
  readonly key: Int32Array;
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
    this.words = new Int32Array(size * width);
    this.values = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  private slot(k: Int32Array): number {
    let h = 0x9e3779b1;
    for (let j = 0; j < this.width; j++) {
      h = Math.imul(h ^ k[j], 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  private at(i: number, k: Int32Array): boolean {
    const w = this.words;
    const base = i * this.width;
    for (let j = 0; j < this.width; j++) if (w[base + j] !== k[j]) return false;
    return true;
  }

  /** Sets `key` to value unless it has one: returns the value it had, or -1. */
  add(value: number): number {
    if ((this.count + 1) * 2 > this.values.length) this.grow();
    return this.put(this.key, value);
  }

  /** The value of `key`, or -1. */
  find(): number {
    const k = this.key;
    let i = this.slot(k);
    for (;;) {
      const v = this.values[i];
      if (v < 0 || this.at(i, k)) return v;
      i = (i + 1) & this.mask;
    }
  }

  private put(k: Int32Array, value: number): number {
    let i = this.slot(k);
    for (;;) {
      const v = this.values[i];
      if (v < 0) break;
      if (this.at(i, k)) return v;
      i = (i + 1) & this.mask;
    }
    const base = i * this.width;
    for (let j = 0; j < this.width; j++) this.words[base + j] = k[j];
    this.values[i] = value;
    this.count++;
    return -1;
  }

  private grow(): void {
    const { words, values, width } = this;
    const size = values.length * 2;
    this.words = new Int32Array(size * width);
    this.values = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    this.count = 0;
    const k = new Int32Array(width);
    for (let i = 0; i < values.length; i++) {
      if (values[i] < 0) continue;
      for (let j = 0; j < width; j++) k[j] = words[i * width + j];
      this.put(k, values[i]);
    }
  }
}
