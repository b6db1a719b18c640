/**
 * The fields of a route spec, read once with for-in into one reused object of a fixed shape.
 *
 * Why not read spec.via, spec.table, ... directly: V8 (Node 20) reads properties of objects
 * made with spread (`{ ...defaults, dst }`, a common way to build 100k specs) 10x slower than
 * those of literals, and properties such a spec does not have 60x slower, and the validator and
 * encoder read all fifteen of every spec. for-in with keyed reads is fast for every kind of
 * object, so each spec's own fields are read once here and everything else reads the scratch.
 * It also finds unknown fields in the same pass, without an array of keys per spec.
 *
 * A spec is plain data: its enumerable properties (own or inherited) are its fields.
 */
import type { RouteSpec } from '../types';

/** The fields of the last spec read, as given (not yet validated). */
export interface SpecFields {
  dst: unknown;
  family: unknown;
  via: unknown;
  dev: unknown;
  onlink: unknown;
  table: unknown;
  protocol: unknown;
  scope: unknown;
  type: unknown;
  metric: unknown;
  prefsrc: unknown;
  tos: unknown;
  mtu: unknown;
  advmss: unknown;
  nexthops: unknown;
  /** Names of fields a RouteSpec does not have (undefined when there are none). */
  unknown: string[] | undefined;
}

/** A validated spec's fields, typed as RouteSpec's. */
export type ValidSpecFields = { readonly [K in keyof RouteSpec]-?: RouteSpec[K] | undefined };

const scratch: SpecFields = {
  dst: undefined,
  family: undefined,
  via: undefined,
  dev: undefined,
  onlink: undefined,
  table: undefined,
  protocol: undefined,
  scope: undefined,
  type: undefined,
  metric: undefined,
  prefsrc: undefined,
  tos: undefined,
  mtu: undefined,
  advmss: undefined,
  nexthops: undefined,
  unknown: undefined,
};

/**
 * Reads s into the shared scratch object and returns it: valid until the next call (read
 * what you need right away; never keep it). An undefined value counts as absent. Without
 * collectUnknown, other fields are skipped silently (for a read-back Route, say).
 */
export function readSpecFields(s: object, collectUnknown = true): SpecFields {
  const f = scratch;
  f.dst = f.family = f.via = f.dev = f.onlink = f.table = f.protocol = f.scope = undefined;
  f.type = f.metric = f.prefsrc = f.tos = f.mtu = f.advmss = f.nexthops = undefined;
  f.unknown = undefined;
  const o = s as Record<string, unknown>;
  for (const k in o) {
    const v = o[k];
    switch (k) {
      case 'dst':
        f.dst = v;
        break;
      case 'via':
        f.via = v;
        break;
      case 'dev':
        f.dev = v;
        break;
      case 'onlink':
        f.onlink = v;
        break;
      case 'protocol':
        f.protocol = v;
        break;
      case 'family':
        f.family = v;
        break;
      case 'table':
        f.table = v;
        break;
      case 'scope':
        f.scope = v;
        break;
      case 'type':
        f.type = v;
        break;
      case 'metric':
        f.metric = v;
        break;
      case 'prefsrc':
        f.prefsrc = v;
        break;
      case 'tos':
        f.tos = v;
        break;
      case 'mtu':
        f.mtu = v;
        break;
      case 'advmss':
        f.advmss = v;
        break;
      case 'nexthops':
        f.nexthops = v;
        break;
      default:
        if (collectUnknown) (f.unknown ??= []).push(k);
    }
  }
  return f;
}

/** readSpecFields for a spec that passed validation. */
export function readValidSpec(s: RouteSpec): ValidSpecFields {
  return readSpecFields(s, false) as unknown as ValidSpecFields;
}
