/**
 * Open addressing with linear probing, as the typed key indexes use it (engine/key-index.ts,
 * kinds/route/desired-index.ts): what taking a key out and moving positions need.
 */

/**
 * Closes the hole a key taken out left at slot `hole` (linear probing's backward shift: no
 * tombstones): each later key of the probe run moves back into the hole unless its own slot
 * lies cyclically between the hole and where it is. `used(j)`: whether slot j holds a key;
 * `home(j)`: the slot its key hashes to; `move(to, from)`: moves a slot's key and value.
 * Returns the slot left empty (the caller marks it so).
 */
export function closeHole(hole: number, mask: number, used: (j: number) => boolean, home: (j: number) => number, move: (to: number, from: number) => void): number {
  let i = hole;
  for (let j = (i + 1) & mask; used(j); j = (j + 1) & mask) {
    const h = home(j);
    if (i <= j ? i < h && h <= j : i < h || h <= j) continue;
    move(i, j);
    i = j;
  }
  return i;
}

/** A copy of a table's values (positions), each used slot's (lens not 0) mapped by `to`
 * (old position -> new): the table of a patched list. */
export function movedValues(lens: Uint8Array, values: Int32Array, to: Int32Array): Int32Array {
  const out = values.slice();
  for (let i = 0; i < lens.length; i++) if (lens[i] !== 0) out[i] = to[out[i]];
  return out;
}
