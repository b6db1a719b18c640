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

/**
 * Whether x can never change: a primitive, or a frozen object or array whose values are all
 * such. What such a value held when it was first seen it still holds, so a later state that
 * hands the same object again hands the same value (the reconciler's scoped cycles trust
 * that; an object that is not frozen might have been changed in place since).
 */
export function isDeepFrozen(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return typeof x !== 'function';
  if (!Object.isFrozen(x)) return false;
  const o = x as Record<string, unknown>;
  for (const k in o) if (!isDeepFrozen(o[k])) return false;
  return true;
}

/**
 * isDeepFrozen for an object whose fields are all primitives (a validated neighbour, FDB entry
 * or address spec): one Object.isFrozen, and false for anything but an object.
 */
export function isFrozenFlat(x: unknown): boolean {
  return typeof x === 'object' && x !== null && Object.isFrozen(x);
}

/**
 * Whether two values are equal as data: primitives by ===, objects and arrays with the same
 * prototype and the same own enumerable fields, each equal. A field set to undefined differs
 * from one that is absent (both count as "changed", which is the safe answer for the callers).
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!Object.prototype.hasOwnProperty.call(y, k) || !sameData(x[k], y[k])) return false;
    n++;
  }
  for (const _ in y) n--;
  return n === 0;
}

/**
 * Whether a desired object handed again (next) is known to be the one handed before (prev):
 * both can never change (isDeepFrozen) and they are equal. An object that could have been
 * changed in place is never known to be unchanged.
 */
export function sameFrozen(prev: unknown, next: unknown): boolean {
  if (!isDeepFrozen(prev)) return false;
  return prev === next || (isDeepFrozen(next) && sameData(prev, next));
}

/** Freezes x and every object and array in it (typed arrays, which cannot be frozen, are left
 * as they are); returns x. */
export function deepFreeze<T>(x: T): T {
  if (typeof x !== 'object' || x === null || Object.isFrozen(x) || ArrayBuffer.isView(x)) return x;
  const o = x as Record<string, unknown>;
  for (const k in o) deepFreeze(o[k]);
  return Object.freeze(x);
}
