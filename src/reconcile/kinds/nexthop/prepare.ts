/**
 * Validation of the desired nexthops: each spec through the nexthops layer's validator (names
 * and named members replaced by placeholder ids for it), ids and names unique, and the group
 * rules the kernel would enforce one at a time: every member a desired single nexthop (no
 * group of groups), agreeing with its group on fdb, a blackhole only alone.
 */
import { familyOf, parseAddress } from '../../../values/address';
import { Problems, describeValue, isObject, own } from '../../../values/problems';
import { validateNexthopSpec } from '../../../rtnl/nexthop/validate';
import type { NexthopGroupType } from '../../../rtnl/nexthop/types';
import { PROTOCOLS, lookup } from '../../../rtnl/names';
import type { DeviceRef } from '../../../rtnl/types';
import type { PrepareContext } from '../../engine/kind';
import type { NexthopIds } from './ids';
import type { DesiredNexthop } from './types';

/** A member of a desired group: by id or by name. */
export interface PreparedMember {
  /** Explicit member id. */
  readonly id: number | undefined;
  /** Member name. */
  readonly name: string | undefined;
  /** 1..256 (default 1). */
  readonly weight: number;
}

/** A validated desired nexthop with the values the kernel will report. */
export interface PreparedNexthop {
  /** Where it is in the desired state ("nexthops[3]"). */
  readonly path: string;
  /** The spec as given. */
  readonly spec: DesiredNexthop;
  /** Its explicit id, if given. */
  readonly id: number | undefined;
  /** Its name, if given. */
  readonly name: string | undefined;
  /** A group (else a single nexthop). */
  readonly group: boolean;
  /** NHA_FDB. */
  readonly fdb: boolean;
  /** Single: the family (from via, else the spec's, else 4). */
  readonly family: 4 | 6;
  /** Single: the gateway in canonical text. */
  readonly via: string | undefined;
  /** Single: the device. */
  readonly dev: DeviceRef | undefined;
  /** Single: RTNH_F_ONLINK. */
  readonly onlink: boolean;
  /** Single: a blackhole. */
  readonly blackhole: boolean;
  /** Group: the members. */
  readonly members: readonly PreparedMember[];
  /** Group: mpath or resilient. */
  readonly type: NexthopGroupType;
  /** Resilient: buckets, idle and unbalanced timers as the kernel reports them (its defaults filled in). */
  readonly buckets: number;
  readonly idleTimer: number;
  readonly unbalancedTimer: number;
}

/** The desired nexthops, validated. */
export interface PreparedNexthops {
  /** In the order given. */
  readonly list: readonly PreparedNexthop[];
  /** Names and ids, shared with the kinds that refer to nexthops by name. */
  readonly ids: NexthopIds;
  /** The ids the last plan gave the desired nexthops (for watch events). */
  current: ReadonlySet<number>;
}

/** The kernel's defaults for resilient groups (nexthop.c). */
const RES_DEFAULT_BUCKETS = 128;
const RES_DEFAULT_IDLE_TIMER = 120;

/** Placeholder ids for the per-spec validator: from the top of the id space down. */
const PLACEHOLDER_TOP = 0xffffffff;

const at = (path: string, field: string): string => `${path}.${field}`;

/** Validates and indexes the desired nexthops; problems go to p (never throws). */
export function prepareNexthops(p: Problems, given: readonly unknown[], ctx: PrepareContext): PreparedNexthops {
  const ids = ctx.nexthopIds;
  const list: PreparedNexthop[] = [];
  const placeholders = new Map<string, number>();
  const placeholder = (name: string): number => {
    let v = placeholders.get(name);
    if (v === undefined) placeholders.set(name, (v = PLACEHOLDER_TOP - placeholders.size));
    return v;
  };
  const byName = new Map<string, string>();
  const byId = new Map<number, string>();
  given.forEach((x, i) => {
    const path = `nexthops[${i}]`;
    if (!isObject(x)) return p.add(path, `expected a nexthop spec object, got ${describeValue(x)}`);
    const before = p.list.length;
    const name = own(x, 'name');
    const id = own(x, 'id');
    if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > 128)) p.add(at(path, 'name'), `${describeValue(name)} must be a string of 1 to 128 characters`);
    if (name === undefined && id === undefined) p.add(at(path, 'id'), 'give an id (1..4294967295) or a name (the reconciler gives it a stable id)');
    const protocol = own(x, 'protocol');
    if (protocol !== undefined && lookup(PROTOCOLS, protocol as number) !== ctx.owner.protocol) {
      p.add(at(path, 'protocol'), `nexthops in a desired state carry the reconciler's protocol (${ctx.owner.protocol}); leave it out`);
    }
    // The nexthops layer's validator, with the name left out and named members as placeholder ids.
    const check: Record<string, unknown> = {};
    for (const k of Object.keys(x)) if (k !== 'name' && k !== 'protocol') check[k] = x[k];
    if (id === undefined) check.id = typeof name === 'string' ? placeholder(name) : PLACEHOLDER_TOP;
    const groupIn = own(x, 'group');
    const members: PreparedMember[] = [];
    if (Array.isArray(groupIn)) {
      check.group = groupIn.map((m: unknown, k) => {
        if (!isObject(m)) return m;
        const ref = own(m, 'nexthop');
        if (ref === undefined) return m;
        const mp = at(path, `group[${k}]`);
        if (own(m, 'id') !== undefined) p.add(at(mp, 'nexthop'), 'give the member by id or by name (nexthop), not both');
        if (typeof ref !== 'string' || ref.length === 0) {
          p.add(at(mp, 'nexthop'), `${describeValue(ref)} must be the name of a desired nexthop`);
          return { id: PLACEHOLDER_TOP, weight: own(m, 'weight') };
        }
        const out: Record<string, unknown> = { id: placeholder(ref) };
        if (own(m, 'weight') !== undefined) out.weight = own(m, 'weight');
        return out;
      });
    }
    validateNexthopSpec(p, path, check);
    if (p.list.length !== before) return;
    const spec = x as DesiredNexthop;
    if (typeof name === 'string') {
      const had = byName.get(name);
      if (had) return p.add(at(path, 'name'), `nexthop "${name}" is already desired at ${had}`);
      byName.set(name, path);
    }
    if (typeof id === 'number') {
      const had = byId.get(id);
      if (had) return p.add(at(path, 'id'), `nexthop id ${id} is already desired at ${had}`);
      byId.set(id, path);
    }
    const group = Array.isArray(groupIn);
    if (group) {
      for (const m of groupIn as Array<Record<string, unknown>>) {
        const ref = own(m, 'nexthop');
        members.push({ id: typeof ref === 'string' ? undefined : (own(m, 'id') as number), name: typeof ref === 'string' ? ref : undefined, weight: (own(m, 'weight') as number | undefined) ?? 1 });
      }
    }
    const s = spec as Record<string, unknown>;
    const via = typeof s.via === 'string' ? parseAddress(new Problems(), '', s.via) : undefined;
    const resilient = s.type === 'resilient';
    const prepared: PreparedNexthop = {
      path,
      spec,
      id: typeof id === 'number' ? id : undefined,
      name: typeof name === 'string' ? name : undefined,
      group,
      fdb: s.fdb === true,
      family: via?.family ?? familyOf(s.family) ?? 4,
      via: via?.text,
      dev: group ? undefined : (s.dev as DeviceRef | undefined),
      onlink: s.onlink === true,
      blackhole: s.blackhole === true,
      members,
      type: resilient ? 'resilient' : 'mpath',
      buckets: resilient ? ((s.buckets as number | undefined) ?? RES_DEFAULT_BUCKETS) : 0,
      idleTimer: resilient ? ((s.idleTimer as number | undefined) ?? RES_DEFAULT_IDLE_TIMER) : 0,
      unbalancedTimer: resilient ? ((s.unbalancedTimer as number | undefined) ?? 0) : 0,
    };
    list.push(prepared);
    const facts = { group, fdb: prepared.fdb, blackhole: prepared.blackhole };
    if (prepared.name !== undefined) ids.declared.set(prepared.name, facts);
    if (prepared.id !== undefined) ids.explicit.set(prepared.id, facts);
    if (prepared.dev !== undefined) ctx.references.push({ path: at(path, 'dev'), dev: prepared.dev });
  });
  checkMembers(p, list, ids);
  return { list, ids, current: new Set() };
}

/** Every member a desired single nexthop that agrees with its group on fdb; a blackhole only alone. */
function checkMembers(p: Problems, list: readonly PreparedNexthop[], ids: NexthopIds): void {
  for (const d of list) {
    d.members.forEach((m, k) => {
      const mp = m.name !== undefined ? `${d.path}.group[${k}].nexthop` : `${d.path}.group[${k}].id`;
      const what = m.name !== undefined ? `"${m.name}"` : String(m.id);
      const ref = m.name !== undefined ? ids.declared.get(m.name) : ids.explicit.get(m.id!);
      if (ref === undefined) p.add(mp, `nexthop ${what} is not a desired nexthop (a group's members must be in the desired state too)`);
      else if (ref.group) p.add(mp, `nexthop ${what} is a group: members must be single nexthops (no group of groups)`);
      else if (ref.fdb !== d.fdb) p.add(mp, d.fdb ? `nexthop ${what} is not an FDB nexthop, but the group is fdb` : `nexthop ${what} is an FDB nexthop: its group needs fdb: true`);
      else if (ref.blackhole && d.members.length > 1) p.add(mp, `nexthop ${what} is a blackhole: it can only be the one member of a group`);
      else if (ref.blackhole) {
        // A group of one blackhole drops like it: routes on it are reported as type blackhole.
        const facts = d.name !== undefined ? ids.declared.get(d.name) : ids.explicit.get(d.id!);
        if (facts) facts.blackhole = true;
      }
    });
  }
}
