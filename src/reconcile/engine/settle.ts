/**
 * The steady-state comparison every kind can use: a read (observe) matches each kernel object
 * against the desired objects as it arrives and marks the desired position it found, settling it
 * on the spot when the two compare equal, so a cycle that finds the kernel as desired keeps
 * nothing and decodes nothing it does not have to. The diff then walks the desired positions:
 * settled (equal), found with an object to compare, or missing; kernel objects that matched no
 * desired position, or one already found (a duplicate key), are the read's leftovers.
 *
 * The marks are a typed array stamped with a read number, so starting a read costs nothing
 * however many objects are desired (no clearing pass over 100k entries).
 */

/** Marks of one desired list: which positions the current read found, and with what. */
export class FoundMarks<A> {
  private marks: Uint32Array;
  private read = 0;
  private foundCount = 0;
  /** Found objects that still need comparing, by position (few: only what did not settle). */
  private readonly pending = new Map<number, A>();

  /** size: how many desired objects there are. */
  constructor(size: number) {
    this.marks = new Uint32Array(size);
  }

  /** Starts a read (or starts one over, when a dump restarts): nothing is found yet. */
  begin(): void {
    if (++this.read === 0xffffffff) {
      this.marks.fill(0);
      this.read = 1;
    }
    this.pending.clear();
    this.foundCount = 0;
  }

  /** How many positions this read found (settled or taken): all of them when it equals the size. */
  get count(): number {
    return this.foundCount;
  }

  /** Whether position i was found in this read. */
  found(i: number): boolean {
    return this.marks[i] === this.read;
  }

  /** Position i was found equal: nothing to compare. False when it was already found in this
   * read (a second kernel object on the same key, which the caller then keeps as a leftover). */
  settle(i: number): boolean {
    if (this.marks[i] === this.read) return false;
    this.marks[i] = this.read;
    this.foundCount++;
    return true;
  }

  /** Position i was found as `actual`, still to be compared. False when already found. */
  take(i: number, actual: A): boolean {
    if (this.marks[i] === this.read) return false;
    this.marks[i] = this.read;
    this.foundCount++;
    this.pending.set(i, actual);
    return true;
  }

  /** The object found at i that still needs comparing; undefined when settled or not found. */
  actual(i: number): A | undefined {
    return this.pending.size === 0 ? undefined : this.pending.get(i);
  }
}
