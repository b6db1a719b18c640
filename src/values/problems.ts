/**
 * Validation problems and the error that carries them.
 *
 * Every check appends to a Problems list instead of throwing, so one call can report every
 * problem of a spec (or of a whole desired state) at once. The error's message stays readable
 * at scale: it names the first few problems and summarises the rest by kind, while `problems`
 * keeps every one.
 */

/** One reason an input was refused: where in the input, and what is wrong there. */
export interface Problem {
  /** Where: "routes[3].via", "links[0].vni". */
  path: string;
  /** What is wrong, e.g. '"10.0.0.1/24" has bits set past /24 (did you mean 10.0.0.0/24?)'. */
  message: string;
}

/** How many problems a ValidationError's message names one by one before summarising. */
export const MESSAGE_PROBLEMS = 5;

/** "neighbors[17].mac" -> "neighbors[*].mac": problems that differ only by position are one kind. */
function pathShape(path: string): string {
  return path.replace(/\[\d+\]/g, '[*]');
}

function line(p: Problem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

/**
 * A short text for a list of problems (or of any failures): the first `shown` in full, then
 * "… and N more" with the rest grouped by kind (same message at the same path shape), most
 * frequent first, e.g. `… and 990 more (same problem: neighbors[*].mac: unknown field …)`.
 */
export function summarizeProblems(problems: readonly Problem[], shown = MESSAGE_PROBLEMS): string {
  const head = problems.slice(0, shown).map(line);
  const rest = problems.length - head.length;
  if (rest <= 0) return head.join('; ');
  const groups = new Map<string, { sample: string; count: number }>();
  for (let i = shown; i < problems.length; i++) {
    const p = problems[i];
    const shape = line({ path: pathShape(p.path), message: p.message });
    const g = groups.get(shape);
    if (g) g.count++;
    else groups.set(shape, { sample: shape, count: 1 });
  }
  const sorted = [...groups.values()].sort((a, b) => b.count - a.count);
  let tail: string;
  if (sorted.length === 1) tail = `same problem: ${sorted[0].sample}`;
  else {
    const named = sorted.slice(0, 3).map((g) => `${g.count} × ${g.sample}`);
    if (sorted.length > 3) named.push(`${sorted.length - 3} other kinds`);
    tail = named.join('; ');
  }
  return `${head.join('; ')}; … and ${rest} more (${tail})`;
}

/**
 * Input was refused before anything was sent. `problems` lists every reason; the message names
 * the first few and summarises the rest (see summarizeProblems).
 *
 * @example
 * ```ts
 * try {
 *   await nl.routes.add({ dst: '10.0.0.1/24', via: 'nope' });
 * } catch (e) {
 *   if (e instanceof ValidationError) for (const p of e.problems) console.log(p.path, p.message);
 * }
 * ```
 */
export class ValidationError extends Error {
  /** Always 'ValidationError'. */
  override readonly name = 'ValidationError';
  /** Always 'ERR_NETLINK_INVALID'. */
  readonly code = 'ERR_NETLINK_INVALID';
  constructor(
    readonly problems: Problem[],
    what = 'invalid input',
  ) {
    super(`${what}: ${summarizeProblems(problems)}`);
  }
}

/**
 * An accumulator of validation problems: every check appends here instead of throwing, and
 * throwIfAny() turns the lot into one ValidationError.
 *
 * @example
 * ```ts
 * const p = new Problems();
 * checkInt(p, 'vni', spec.vni, 1, 0xffffff);
 * checkMac(p, 'address', spec.address);
 * p.throwIfAny('links.add');   // ValidationError listing both, if both are wrong
 * ```
 */
export class Problems {
  /** The problems so far, in the order found. */
  readonly list: Problem[] = [];
  /** Records one problem at `path`. Never throws. */
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
  /** True while no problem has been recorded. */
  get ok(): boolean {
    return this.list.length === 0;
  }
  /** Throws one ValidationError naming every problem, if there are any. */
  throwIfAny(what: string): void {
    if (this.list.length) throw new ValidationError(this.list, what);
  }
}

/** Longest string value echoed in a problem message (a 100 KB value would drown the message). */
const MAX_SHOWN_STRING = 80;

/**
 * A value as the user gave it, for problem messages. Never throws, whatever the value: strings
 * quoted (long ones cut), bigints with their `n`, NaN and ±Infinity by name, objects as JSON
 * (cycles, bigints and functions inside are named rather than thrown on), cut to a line.
 */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v.length > MAX_SHOWN_STRING ? `${JSON.stringify(v.slice(0, MAX_SHOWN_STRING))}… (${v.length} characters)` : JSON.stringify(v);
    case 'bigint':
      return `${v}n`;
    case 'number':
      return String(v); // NaN, Infinity and -0 as JavaScript writes them
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    case 'symbol':
      return v.toString();
    case 'boolean':
      return String(v);
  }
  if (v === null) return 'null';
  const seen = new WeakSet<object>();
  let text: string;
  try {
    text = JSON.stringify(v, (_k, x: unknown) => {
      if (typeof x === 'bigint') return `${x}n`;
      if (typeof x === 'function') return '[function]';
      if (typeof x === 'object' && x !== null) {
        if (seen.has(x)) return '[cycle]';
        seen.add(x);
      }
      return x;
    });
  } catch {
    return Array.isArray(v) ? 'an array' : 'an object';
  }
  return text.length > MAX_SHOWN_STRING ? `${text.slice(0, MAX_SHOWN_STRING)}…` : text;
}

/** The type of a value in words, for "expected X, got Y" messages. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  return typeof v;
}

/**
 * An integer in min..max inclusive. Adds a problem at `path` naming the value as given (a
 * bigint, NaN, Infinity, a numeric string...) and returns false otherwise; never throws.
 */
export function checkInt(p: Problems, path: string, v: unknown, min: number, max: number): v is number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return true;
  if (typeof v === 'bigint') p.add(path, `${describeValue(v)} is a BigInt; give a number in ${min}..${max}`);
  else p.add(path, `${describeValue(v)} must be an integer in ${min}..${max}`);
  return false;
}

/** A boolean. Adds a problem at `path` and returns false otherwise; never throws. */
export function checkBool(p: Problems, path: string, v: unknown): v is boolean {
  if (typeof v !== 'boolean') {
    p.add(path, `${describeValue(v)} must be true or false`);
    return false;
  }
  return true;
}

/** A plain data object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An own property of a spec object, or undefined. Specs are plain data: inherited properties
 * (a polluted Object.prototype, `{ __proto__: {...} }` from JSON) are never fields.
 */
export function own(o: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? (o as Record<string, unknown>)[key] : undefined;
}

/**
 * Checks that an object has no own keys outside `allowed` (typos would otherwise be ignored).
 * `synonyms` maps words users bring from iproute2 or pyroute2 to the field meant
 * ({ mac: 'lladdr' }): such a key gets "did you mean `lladdr`?". A known field that is only
 * inherited is reported too: a spec's fields are its own properties.
 */
export function checkKeys(p: Problems, path: string, v: object, allowed: readonly string[], synonyms?: Readonly<Record<string, string>>): void {
  for (const k of Object.keys(v)) {
    if (allowed.includes(k)) continue;
    const at = path ? `${path}.${k}` : k;
    const meant = synonyms && Object.prototype.hasOwnProperty.call(synonyms, k) ? synonyms[k] : undefined;
    if (meant !== undefined) p.add(at, `unknown field (did you mean \`${meant}\`?)`);
    else p.add(at, `unknown field (expected one of ${allowed.join(', ')})`);
  }
  // Fields a spec inherits (a polluted Object.prototype, `{ __proto__: {...} }` through
  // Object.assign, Object.create(defaults)) are never read: say so rather than ignore them.
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== null && proto !== Object.prototype && !Array.isArray(v)) {
    for (const k in v) {
      if (!Object.prototype.hasOwnProperty.call(v, k) && allowed.includes(k)) {
        p.add(path ? `${path}.${k}` : k, 'is inherited, not an own property: only a spec\'s own fields are read; set it on the object itself');
      }
    }
  }
}
