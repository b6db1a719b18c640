/**
 * The fields of a route spec, read once with for-in into a reader object of a fixed shape.
 *
 * Why not read spec.via, spec.table, ... directly: V8 (Node 20) reads properties of objects
 * made with spread (`{ ...defaults, dst }`, a common way to build 100k specs) 10x slower than
 * those of literals, and properties such a spec does not have 60x slower, and the validator and
 * encoder read all fifteen of every spec. for-in with keyed reads is fast for every kind of
 * object, so each spec's own fields are read once here and everything else reads the reader.
 * It also finds unknown fields in the same pass, without an array of keys per spec.
 *
 * A spec is plain data: only its own properties are fields (issue 17 item 4). for-in also
 * walks inherited enumerable properties, so it is used only where there are none: a spec whose
 * prototype is Object.prototype (or null) while Object.prototype has no enumerable property.
 * Anything else (a `{ __proto__: {...} }` from JSON through Object.assign, Object.create(x), a
 * polluted Object.prototype) is read with Object.keys, and its inherited fields are reported.
 *
 * The reader is the caller's (as values' prefix parsers): a validator and an encoder each own
 * one, so nothing is shared between modules or calls.
 */
import type { RouteSpec } from '../types';

/** The fields of the last spec read, as given (not yet validated). */
export interface SpecFields {
  /** RouteSpec.dst as given. */
  dst: unknown;
  /** RouteSpec.family as given. */
  family: unknown;
  /** RouteSpec.via as given. */
  via: unknown;
  /** RouteSpec.dev as given. */
  dev: unknown;
  /** RouteSpec.onlink as given. */
  onlink: unknown;
  /** RouteSpec.table as given. */
  table: unknown;
  /** RouteSpec.protocol as given. */
  protocol: unknown;
  /** RouteSpec.scope as given. */
  scope: unknown;
  /** RouteSpec.type as given. */
  type: unknown;
  /** RouteSpec.metric as given. */
  metric: unknown;
  /** RouteSpec.prefsrc as given. */
  prefsrc: unknown;
  /** RouteSpec.tos as given. */
  tos: unknown;
  /** RouteSpec.mtu as given. */
  mtu: unknown;
  /** RouteSpec.advmss as given. */
  advmss: unknown;
  /** RouteSpec.nexthops as given. */
  nexthops: unknown;
  /** RouteSpec.nhid as given. */
  nhid: unknown;
  /** Names of fields a RouteSpec does not have (undefined when there are none). */
  unknown: string[] | undefined;
  /** Names of RouteSpec fields the spec only inherits, never read (undefined when there are none). */
  inherited?: string[] | undefined;
}

/** A validated spec's fields, typed as RouteSpec's. */
export type ValidSpecFields = { readonly [K in keyof RouteSpec]-?: RouteSpec[K] | undefined };

const FIELDS = new Set(['dst', 'family', 'via', 'dev', 'onlink', 'table', 'protocol', 'scope', 'type', 'metric', 'prefsrc', 'tos', 'mtu', 'advmss', 'nexthops', 'nhid']);
const hasOwn = Object.prototype.hasOwnProperty;

/** Whether Object.prototype has an enumerable property (then for-in would read it on every object). */
function objectPrototypePolluted(): boolean {
  for (const _ in Object.prototype) return true;
  return false;
}

/** Reads route specs' own fields (see the module comment); one per caller, reused spec after spec. */
export class RouteSpecReader implements SpecFields {
  dst: unknown = undefined;
  family: unknown = undefined;
  via: unknown = undefined;
  dev: unknown = undefined;
  onlink: unknown = undefined;
  table: unknown = undefined;
  protocol: unknown = undefined;
  scope: unknown = undefined;
  type: unknown = undefined;
  metric: unknown = undefined;
  prefsrc: unknown = undefined;
  tos: unknown = undefined;
  mtu: unknown = undefined;
  advmss: unknown = undefined;
  nexthops: unknown = undefined;
  nhid: unknown = undefined;
  unknown: string[] | undefined = undefined;
  inherited: string[] | undefined = undefined;

  /**
   * Reads s's own fields into this reader and returns it (valid until this reader's next
   * read). An undefined value counts as absent. Without collectUnknown, other fields are
   * skipped silently (for a read-back Route, say).
   */
  read(s: object, collectUnknown = true): this {
    this.dst = this.family = this.via = this.dev = this.onlink = this.table = this.protocol = this.scope = undefined;
    this.type = this.metric = this.prefsrc = this.tos = this.mtu = this.advmss = this.nexthops = this.nhid = undefined;
    this.unknown = this.inherited = undefined;
    const o = s as Record<string, unknown>;
    const proto: unknown = Object.getPrototypeOf(o);
    // Own fields only: a plain object's for-in walks nothing else unless Object.prototype is
    // polluted; any other object is checked key by key.
    const plain = (proto === Object.prototype || proto === null) && !objectPrototypePolluted();
    for (const k in o) {
      if (!plain && !hasOwn.call(o, k)) {
        if (FIELDS.has(k)) (this.inherited ??= []).push(k);
        continue;
      }
      const v = o[k];
      switch (k) {
        case 'dst':
          this.dst = v;
          break;
        case 'via':
          this.via = v;
          break;
        case 'dev':
          this.dev = v;
          break;
        case 'onlink':
          this.onlink = v;
          break;
        case 'protocol':
          this.protocol = v;
          break;
        case 'family':
          this.family = v;
          break;
        case 'table':
          this.table = v;
          break;
        case 'scope':
          this.scope = v;
          break;
        case 'type':
          this.type = v;
          break;
        case 'metric':
          this.metric = v;
          break;
        case 'prefsrc':
          this.prefsrc = v;
          break;
        case 'tos':
          this.tos = v;
          break;
        case 'mtu':
          this.mtu = v;
          break;
        case 'advmss':
          this.advmss = v;
          break;
        case 'nexthops':
          this.nexthops = v;
          break;
        case 'nhid':
          this.nhid = v;
          break;
        default:
          if (collectUnknown) (this.unknown ??= []).push(k);
      }
    }
    return this;
  }
}

/** The reader of the deprecated call without one (see readSpecFields). */
let legacyReader: RouteSpecReader | undefined;

/**
 * Reads a spec's own fields into `into` (a RouteSpecReader the caller owns) and returns it.
 *
 * Without `into` it keeps its old contract for the callers not yet moved to a reader of their
 * own (src/reconcile's route preparation): the result is a reader private to this function,
 * valid until its next call without `into`. That form is deprecated and goes once those
 * callers pass a reader; allocating one per call instead cost 15% of a 100k-route prepare
 * (garbage collection of the short-lived readers while the prepared routes accumulate).
 *
 * @deprecated Without `into`: keep a RouteSpecReader and call `reader.read(spec)`.
 */
export function readSpecFields(s: object, collectUnknown = true, into?: RouteSpecReader): SpecFields {
  return (into ?? (legacyReader ??= new RouteSpecReader())).read(s, collectUnknown);
}

/** A validated spec's fields, read into `reader`. */
export function readValidSpec(s: RouteSpec, reader: RouteSpecReader): ValidSpecFields {
  return reader.read(s, false) as unknown as ValidSpecFields;
}
