/**
 * Where a list handed again differs from the one before, by object identity: a few runs of
 * entries inserted, removed or replaced, the rest the same objects in the same order. An
 * overlay's agent hands 5,000 frozen specs per kind at every membership change, of which a
 * handful are new: a kind that can patch its prepared form (KindModule.patch) then costs the
 * changed entries, not the list.
 */

/** Old positions [oldStart, oldEnd) replaced by new ones [newStart, newEnd) (either run may be empty). */
export interface Edit {
  readonly oldStart: number;
  readonly oldEnd: number;
  readonly newStart: number;
  readonly newEnd: number;
}

/** How far apart (entries skipped in both lists together) the lists may meet again after a difference. */
const RESYNC = 8;

/**
 * The runs where `next` differs from `old`, in order; undefined when more than `most` entries
 * (old and new together) differ, or when the lists do not meet again within a few entries of a
 * difference (then they are not one list edited here and there). Compares identity only and
 * reads no entry: a pointer compare per unchanged entry.
 */
export function editsBetween(old: readonly unknown[], next: readonly unknown[], most: number): Edit[] | undefined {
  const edits: Edit[] = [];
  let changed = 0;
  let i = 0;
  let j = 0;
  walk: while (i < old.length && j < next.length) {
    if (old[i] === next[j]) {
      i++;
      j++;
      continue;
    }
    for (let d = 1; d <= RESYNC; d++) {
      for (let x = 0; x <= d; x++) {
        const y = d - x;
        if (i + x < old.length && j + y < next.length && old[i + x] === next[j + y]) {
          edits.push({ oldStart: i, oldEnd: i + x, newStart: j, newEnd: j + y });
          if ((changed += d) > most) return undefined;
          i += x;
          j += y;
          continue walk;
        }
      }
    }
    // No meeting point near: only an end that differs whole is taken.
    if (old.length - i + next.length - j > RESYNC) return undefined;
    break;
  }
  if (i < old.length || j < next.length) {
    edits.push({ oldStart: i, oldEnd: old.length, newStart: j, newEnd: next.length });
    if ((changed += old.length - i + next.length - j) > most) return undefined;
  }
  return edits;
}

/** The entries of `next` the edits put in, in order. */
export function insertedBy<T>(next: readonly T[], edits: readonly Edit[]): T[] {
  const out: T[] = [];
  for (const e of edits) for (let k = e.newStart; k < e.newEnd; k++) out.push(next[k]);
  return out;
}

/** An array-like with a bulk copy (a typed array). */
interface Copyable {
  set(from: ArrayLike<number>, offset: number): void;
  subarray(start: number, end: number): ArrayLike<number>;
}

/**
 * Copies the runs no edit touches from `from` (laid out by the old list, `width` slots per
 * position) to `to` (laid out by the new one), with `inserted` (laid out by insertedBy's list)
 * at the edits' new positions: `to` is then what filling it entry by entry in the new list's
 * order would give.
 */
export function patchRuns<T extends Copyable>(from: T, inserted: T, to: T, edits: readonly Edit[], oldLength: number, width = 1): void {
  let o = 0; // next old position not copied
  let n = 0; // next new position not filled
  let w = 0; // next inserted position not copied
  for (const e of edits) {
    if (e.oldStart > o) to.set(from.subarray(o * width, e.oldStart * width), n * width);
    n += e.oldStart - o;
    const count = e.newEnd - e.newStart;
    if (count > 0) to.set(inserted.subarray(w * width, (w + count) * width), n * width);
    w += count;
    n += count;
    o = e.oldEnd;
  }
  if (oldLength > o) to.set(from.subarray(o * width, oldLength * width), n * width);
}

/** The new list from the old one's entries and the inserted ones (patchRuns for plain arrays). */
export function patchList<T>(old: readonly T[], inserted: readonly T[], edits: readonly Edit[], newLength: number): T[] {
  const out: T[] = new Array(newLength);
  let o = 0;
  let n = 0;
  let w = 0;
  for (const e of edits) {
    while (o < e.oldStart) out[n++] = old[o++];
    for (let k = e.newStart; k < e.newEnd; k++) out[n++] = inserted[w++];
    o = e.oldEnd;
  }
  while (o < old.length) out[n++] = old[o++];
  return out;
}

/** The length of the list the edits make of one of `oldLength`. */
export function patchedLength(oldLength: number, edits: readonly Edit[]): number {
  let n = oldLength;
  for (const e of edits) n += e.newEnd - e.newStart - (e.oldEnd - e.oldStart);
  return n;
}

/** Where each old position goes in the list the edits make of one of `oldLength`: its new
 * position, or -1 for an entry the edits take out. */
export function movedTo(edits: readonly Edit[], oldLength: number): Int32Array {
  const to = new Int32Array(oldLength);
  let o = 0;
  let n = 0;
  for (const e of edits) {
    while (o < e.oldStart) to[o++] = n++;
    while (o < e.oldEnd) to[o++] = -1;
    n += e.newEnd - e.newStart;
  }
  while (o < oldLength) to[o++] = n++;
  return to;
}

/** The positions in the new list of the entries the edits put in (insertedBy's order). */
export function insertedAt(edits: readonly Edit[]): number[] {
  const at: number[] = [];
  for (const e of edits) for (let k = e.newStart; k < e.newEnd; k++) at.push(k);
  return at;
}

/** The old positions the edits take out, in order. */
export function removedBy(edits: readonly Edit[]): number[] {
  const out: number[] = [];
  for (const e of edits) for (let k = e.oldStart; k < e.oldEnd; k++) out.push(k);
  return out;
}
