/**
 * The cheap shape check of the reconciler's quick spec paths (quickNeighborSpec, quickFdbSpec):
 * 10k specs a cycle are looked at, so it is one for-in over the object and no allocation.
 */

/**
 * Whether x is a plain object (prototype Object.prototype) whose enumerable fields are all
 * own, defined and named in allowed. Non-enumerable or symbol fields are not looked at: the
 * full validation the quick paths stand in for ignores them too.
 */
export function isPlainWithOnly(x: unknown, allowed: readonly string[]): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Object.getPrototypeOf(x) !== Object.prototype) return false;
  const o = x as Record<string, unknown>;
  for (const k in o) {
    if (!allowed.includes(k)) return false;
    if (!Object.prototype.hasOwnProperty.call(o, k) || o[k] === undefined) return false;
  }
  return true;
}
