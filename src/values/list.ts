/**
 * Element-wise equality of short lists (a node's addresses, a memo's inputs): what remembers a
 * result by its inputs compares them with this, so that all such places agree on "unchanged".
 */

/** Whether a and b are both undefined, or both arrays of the same length with identical (===) items. */
export function sameItems(a: unknown, b: readonly unknown[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (!Array.isArray(a) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
