/**
 * Validation of a whole desired state before anything is read or written: the top level, then
 * the links (other kinds check rules against them), then every other kind's list. One
 * ValidationError names every problem.
 */
import { Problems, checkKeys, isObject, own } from '../../values/problems';
import type { DesiredState } from '../types';
import type { Reference } from './kind';
import type { OwnerIdentity } from './owner';
import { LINKS, ON_LINKS, type PreparedKind } from './registry';
import type { PreparedLinks } from '../kinds/link/prepare';
import { NexthopIds } from '../kinds/nexthop/ids';

/** A desired state that passed validation, in the shapes the kinds work with. */
export interface PreparedState {
  /** The desired links. */
  readonly links: PreparedLinks;
  /** Every other kind's desired list, in registration order. */
  readonly kinds: readonly PreparedKind[];
  /** The links as given, copied (scoped cycles compare them with the next state's). */
  readonly givenLinks: readonly unknown[];
  /** Every device the state refers to (dev, master, underlay): each must be desired or present. */
  readonly references: readonly Reference[];
}

/** The DesiredState lists, one per kind. */
const FIELDS: readonly string[] = [LINKS.field, ...ON_LINKS.map((k) => k.field)];

function list(p: Problems, state: object, field: string): readonly unknown[] {
  const v = own(state, field);
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add(field, 'must be an array');
    return [];
  }
  return v;
}

/** Validates and indexes; throws ValidationError naming every problem. Sends nothing. */
export function prepareDesired(state: DesiredState, owner: OwnerIdentity): PreparedState {
  const p = new Problems();
  if (!isObject(state)) {
    p.add('', 'the desired state must be an object');
    p.throwIfAny('invalid desired state');
  }
  checkKeys(p, '', state, FIELDS);
  const references: Reference[] = [];
  const nexthopIds = new NexthopIds();
  const givenLinks = list(p, state, LINKS.field);
  const links = LINKS.prepare(p, givenLinks, { owner, references, nexthopIds });
  const ctx = { owner, references, links, nexthopIds };
  const kinds = ON_LINKS.map((k) => k.prepare(p, list(p, state, k.field), ctx));
  p.throwIfAny('invalid desired state');
  return { links, kinds, references, givenLinks: givenLinks.slice() };
}
