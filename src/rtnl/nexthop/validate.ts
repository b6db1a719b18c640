/**
 * Nexthop specs are checked in two steps, both before anything is sent:
 *  1. each spec on its own (validateNexthopSpec): fields, and the rules between them;
 *  2. the references of groups (checkNexthopRefs): every member must exist (in the kernel, or
 *     earlier in the same batch), be a single nexthop (no group of groups), and agree with the
 *     group on fdb. The kernel would refuse these too, but only one at a time and half-way
 *     through a batch; here they are ValidationErrors naming the field, with nothing sent.
 */
import { familyOf, parseAddress } from '../../values/address';
import { describeValue as show, isObject, own, type Problems } from '../../values/problems';
import type { NexthopGroupSpec, NexthopObject, NexthopObjectSpec, SingleNexthopSpec } from './types';
import { NH_GROUP_FIELDS, NH_GROUP_MEMBER_FIELDS, NH_SINGLE_FIELDS } from './table';

const at = (path: string, field: string): string => (path ? `${path}.${field}` : field);

/** Whether a (checked) spec is a group: it has its own `group` field. */
export function isGroupSpec(s: NexthopObjectSpec): s is NexthopGroupSpec {
  return own(s, 'group') !== undefined;
}

/**
 * Checks one nexthop spec (single or group), appending every problem to p under path.
 * Returns whether it had none. Never throws.
 */
export function validateNexthopSpec(p: Problems, path: string, x: unknown): x is NexthopObjectSpec {
  const before = p.list.length;
  if (!isObject(x)) {
    p.add(path, `expected a nexthop spec object, got ${show(x)}`);
    return false;
  }
  if (own(x, 'group') !== undefined) checkGroup(p, path, x);
  else checkSingle(p, path, x);
  return p.list.length === before;
}

function checkSingle(p: Problems, path: string, x: Record<string, unknown>): void {
  NH_SINGLE_FIELDS.check(p, path, x, 'a nexthop spec');
  const via = own(x, 'via');
  const dev = own(x, 'dev');
  const blackhole = own(x, 'blackhole') === true;
  const fdb = own(x, 'fdb') === true;
  const onlink = own(x, 'onlink') === true;
  let viaFamily: 4 | 6 | undefined;
  if (via !== undefined) viaFamily = parseAddress(p, at(path, 'via'), via)?.family;
  const fam = own(x, 'family');
  if (fam !== undefined && viaFamily !== undefined && familyOf(fam) !== undefined && familyOf(fam) !== viaFamily) {
    p.add(at(path, 'family'), `family ${show(fam)} does not match via ${show(via)} (IPv${viaFamily})`);
  }
  if (blackhole) {
    if (via !== undefined || dev !== undefined || fdb || onlink) p.add(at(path, 'blackhole'), 'a blackhole nexthop takes no via, dev, onlink or fdb');
    return;
  }
  if (fdb) {
    if (dev !== undefined) p.add(at(path, 'dev'), 'an FDB nexthop takes no dev (the vxlan device that uses it sends)');
    if (onlink) p.add(at(path, 'onlink'), 'an FDB nexthop takes no onlink');
    if (via === undefined) p.add(at(path, 'via'), 'an FDB nexthop needs via (the remote VTEP address)');
    return;
  }
  if (dev === undefined) p.add(at(path, 'dev'), 'required unless blackhole or fdb (the kernel resolves no device for a nexthop object)');
  if (onlink && via === undefined) p.add(at(path, 'onlink'), 'onlink needs a gateway (via)');
}

function checkGroup(p: Problems, path: string, x: Record<string, unknown>): void {
  NH_GROUP_FIELDS.check(p, path, x, 'a nexthop group spec');
  const id = own(x, 'id');
  const group = own(x, 'group');
  if (!Array.isArray(group) || group.length === 0) {
    p.add(at(path, 'group'), `expected a non-empty array of members ({ id, weight }), got ${show(group)}`);
  } else {
    const seen = new Set<unknown>();
    group.forEach((m, k) => {
      const mp = at(path, `group[${k}]`);
      if (!NH_GROUP_MEMBER_FIELDS.check(p, mp, m, 'a group member')) return;
      const mid = own(m, 'id');
      if (mid === id) p.add(at(mp, 'id'), `${show(mid)} is the group itself`);
      else if (seen.has(mid)) p.add(at(mp, 'id'), `${show(mid)} is a member twice (the kernel refuses duplicates; use weight)`);
      seen.add(mid);
    });
  }
  if (own(x, 'type') !== 'resilient') {
    for (const f of ['buckets', 'idleTimer', 'unbalancedTimer']) {
      if (own(x, f) !== undefined) p.add(at(path, f), "only a resilient group has it (type: 'resilient')");
    }
  }
}

/** What is known of a nexthop id a group refers to. */
export interface NexthopRef {
  /** It is a group. */
  group: boolean;
  /** It is an FDB nexthop (or group). */
  fdb: boolean;
  /** It is a blackhole. */
  blackhole: boolean;
}

/** The reference facts of a nexthop read back. */
export function refOf(n: NexthopObject): NexthopRef {
  return { group: n.kind === 'group', fdb: n.fdb, blackhole: n.kind === 'single' && n.blackhole };
}

/** The reference facts of a spec (checked). */
export function refOfSpec(s: NexthopObjectSpec): NexthopRef {
  if (isGroupSpec(s)) return { group: true, fdb: s.fdb === true, blackhole: false };
  const single = s as SingleNexthopSpec;
  return { group: false, fdb: single.fdb === true, blackhole: single.blackhole === true };
}

/**
 * Checks the members of every group in specs (already checked one by one). `known` maps the
 * ids looked up in the kernel to their facts (undefined: no such nexthop); a spec earlier in
 * the list counts too (a batch adds in order). paths[i] is spec i's path.
 */
export function checkNexthopRefs(p: Problems, specs: readonly NexthopObjectSpec[], paths: readonly string[], known: ReadonlyMap<number, NexthopRef | undefined>): void {
  const earlier = new Map<number, NexthopRef>();
  specs.forEach((s, i) => {
    if (isGroupSpec(s)) {
      const fdb = s.fdb === true;
      s.group.forEach((m, k) => {
        const mp = at(paths[i], `group[${k}].id`);
        const ref = earlier.get(m.id) ?? known.get(m.id);
        if (ref === undefined) p.add(mp, `no nexthop with id ${m.id} (neither in the kernel nor earlier in this batch)`);
        else if (ref.group) p.add(mp, `nexthop ${m.id} is a group: members must be single nexthops (no group of groups)`);
        else if (ref.fdb !== fdb) p.add(mp, fdb ? `nexthop ${m.id} is not an FDB nexthop, but the group is fdb` : `nexthop ${m.id} is an FDB nexthop: its group needs fdb: true`);
        else if (ref.blackhole && s.group.length > 1) p.add(mp, `nexthop ${m.id} is a blackhole: it can only be the one member of a group`);
      });
    }
    earlier.set(s.id, refOfSpec(s));
  });
}

/** The member ids of the groups in specs that no earlier spec defines (to look up in the kernel). */
export function idsToLookUp(specs: readonly NexthopObjectSpec[]): number[] {
  const defined = new Set<number>();
  const out = new Set<number>();
  for (const s of specs) {
    if (isGroupSpec(s)) for (const m of s.group) if (!defined.has(m.id)) out.add(m.id);
    defined.add(s.id);
  }
  return [...out];
}
