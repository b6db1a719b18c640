/**
 * Desired links against the kernel's, into ops, conflicts and the view every other kind uses.
 *
 * Ownership: a link is this reconciler's when it carries the owner's alias (set when it creates
 * one). A desired name held by a link without that alias (another owner's, or nobody's) is a
 * conflict: reported, never changed, deleted or recreated, and nothing on it is touched; with
 * adoptConflicts it is taken over (its alias becomes ours) and the plan says "adopt". A link
 * whose alias someone changed is foreign from then on. Links with the alias that are no longer
 * desired are deleted, also after a restart.
 */
import { planLinkChange, type LinkRefs } from '../../../rtnl/link/encode';
import type { Link, LinkChanges, LinkSpec } from '../../../rtnl/types';
import type { KindContext, KindDiff, LinkView } from '../../engine/kind';
import type { PreparedLinks } from './prepare';
import type { LinkConflict, LinkOp } from './types';
import { makeLinkView } from './view';

/** What the link kind's diff gives the engine: ops, conflicts, and the view for the other kinds. */
export interface LinkDiff extends KindDiff<LinkOp, LinkConflict> {
  /** The links as every other kind sees them. */
  view: LinkView;
}

function show(v: unknown): string {
  if (v === undefined || v === '') return '(none)';
  if (Array.isArray(v)) return v.join('-');
  return String(v);
}

/** Copies a changed common field links.set() can send; false for the kind's own attributes. */
function setField(set: LinkChanges, field: string, want: LinkSpec): boolean {
  switch (field) {
    case 'mtu':
      set.mtu = want.mtu;
      return true;
    case 'address':
      set.address = want.address;
      return true;
    case 'txqueuelen':
      set.txqueuelen = want.txqueuelen;
      return true;
    case 'alias':
      set.alias = want.alias;
      return true;
    case 'master':
      set.master = want.master;
      return true;
    case 'up':
      set.up = want.up;
      return true;
    default:
      return false;
  }
}

/** "mtu 1500 -> 1450", "down -> up", "dev eth0 -> eth1" for one changed field. */
function describeChange(field: string, actual: Link, want: LinkSpec, byIndex: ReadonlyMap<number, Link>): string {
  if (field === 'up') return want.up ? 'down -> up' : 'up -> down';
  const have: unknown = Reflect.get(actual, field);
  const wanted: unknown = Reflect.get(want, field);
  if (field === 'master' || field === 'dev') {
    const name = typeof have === 'number' && have !== 0 ? (byIndex.get(have)?.name ?? `if${have}`) : undefined;
    return `${field} ${show(name)} -> ${show(wanted ?? 'none')}`;
  }
  return `${field} ${show(have)} -> ${show(wanted)}`;
}

function describeLink(s: LinkSpec): string {
  if (s.kind === 'vxlan') return `vxlan vni ${s.vni}${s.port ? ` port ${s.port}` : ''}`;
  if (s.kind === 'veth') return `veth peer ${s.peer.name}`;
  return s.kind;
}

/** Who holds a link, for a conflict's reason. */
function holder(l: Link): string {
  return l.alias ? `a link with alias ${JSON.stringify(l.alias)}` : 'a link without an owner alias';
}

/** Desired links against the links read: ops, conflicts and the view. */
export function diffLinks(desired: PreparedLinks, links: readonly Link[], ctx: KindContext): LinkDiff {
  const alias = ctx.owner.alias;
  const ops: LinkOp[] = [];
  const conflicts: LinkConflict[] = [];
  const byName = new Map<string, Link>();
  const byIndex = new Map<number, Link>();
  const owned = new Set<number>();
  for (const l of links) {
    byName.set(l.name, l);
    byIndex.set(l.index, l);
    if (l.alias === alias) owned.add(l.index);
  }
  const foreign = new Map<number, string>();
  const vanishing = new Set<number>();
  const desiredNames = new Set<string>();
  for (const { spec } of desired.list) {
    desiredNames.add(spec.name);
    const want: LinkSpec = { ...spec, alias };
    const actual = byName.get(spec.name);
    if (!actual) {
      ops.push({ action: 'create', kind: 'link', key: spec.name, reason: `missing (${describeLink(spec)})`, desired: want });
      continue;
    }
    const adopt = actual.alias !== alias;
    if (adopt && !ctx.adoptConflicts) {
      const reason = `held by ${holder(actual)} (this reconciler's is ${JSON.stringify(alias)})`;
      foreign.set(actual.index, reason);
      conflicts.push({ kind: 'link', key: spec.name, reason, desired: spec, actual });
      continue;
    }
    if (adopt) owned.add(actual.index);
    const prefix = adopt ? 'adopt, ' : '';
    if (actual.kind !== spec.kind) {
      vanishing.add(actual.index);
      ops.push({ action: 'recreate', kind: 'link', key: spec.name, reason: `${prefix}kind ${show(actual.kind)} -> ${spec.kind}`, desired: want, actual, adopt });
      continue;
    }
    // The links layer decides what differs and what cannot change in place (canonical MACs
    // and addresses, vxlan's address-family rule, ipip's recreate cases): the same rules
    // links.change() applies, so a plan never promises an in-place change the kernel refuses
    // and a spec written in another notation (upper-case MAC, IPv6 with zeros) is not drift.
    // A device that does not exist yet resolves to -1: it differs, and apply resolves it.
    const refs: LinkRefs = {};
    const under = want.kind === 'vxlan' || want.kind === 'ipip' ? want.dev : undefined;
    if (typeof under === 'string') refs.dev = byName.get(under)?.index ?? -1;
    if (typeof want.master === 'string') refs.master = byName.get(want.master)?.index ?? -1;
    const plan = planLinkChange(actual, want, refs);
    if (!plan.changed.length) continue;
    const changes = plan.changed.map((f) => describeChange(f, actual, want, byIndex));
    if (plan.recreate.length) {
      vanishing.add(actual.index);
      const reason = `${prefix}${changes.join(', ')} (${plan.recreate.join(', ')} cannot change in place)`;
      ops.push({ action: 'recreate', kind: 'link', key: spec.name, reason, desired: want, actual, adopt });
      continue;
    }
    const set: LinkChanges = {};
    let kindAttributes = false;
    for (const f of plan.changed) if (!setField(set, f, want)) kindAttributes = true;
    ops.push({ action: 'update', kind: 'link', key: spec.name, reason: prefix + changes.join(', '), desired: want, actual, linkPatch: { set, kindAttributes }, adopt });
  }
  for (const l of links) {
    if (l.alias === alias && !desiredNames.has(l.name)) {
      vanishing.add(l.index);
      ops.push({ action: 'delete', kind: 'link', key: l.name, reason: 'not desired any more', actual: l });
    }
  }
  return { ops, conflicts, view: makeLinkView(links, { owned, foreign, vanishing, desiredNames }) };
}
