/**
 * The link kind: devices by name, owned by the owner's alias. Read first (one dump of every
 * link), it gives every other kind the LinkView: devices by name and index, which are owned,
 * which another owner holds, which go away in this plan.
 */
import type { Rtnl } from '../../../rtnl/rtnl';
import type { Link } from '../../../rtnl/types';
import type { Problems } from '../../../values/problems';
import type { KindContext, LinkView, Outcome, PrepareContext, Stages } from '../../engine/kind';
import { applyLinks } from './apply';
import { diffLinks, type LinkDiff } from './diff';
import { prepareLinks, type PreparedLinks } from './prepare';
import type { LinkOp } from './types';

/** The link kind: the ground every other kind stands on (see engine/kind.ts). */
export interface LinkKindModule {
  /** 'link'. */
  readonly kind: 'link';
  /** 'links'. */
  readonly field: 'links';
  /** Links first; deleted last, after everything on them. */
  readonly stages: Stages;
  /** 'link' events. */
  readonly event: 'link';
  /** Validates the desired links (before every other kind, which may check rules against them). */
  prepare(p: Problems, given: readonly unknown[], ctx: Omit<PrepareContext, 'links'>): PreparedLinks;
  /** Reads every link. */
  observe(nl: Rtnl): Promise<Link[]>;
  /** Desired against read: ops, conflicts, and the view for the other kinds. */
  diff(desired: PreparedLinks, links: readonly Link[], ctx: KindContext): LinkDiff;
  /** Sends one stage's link ops. */
  apply(nl: Rtnl, ops: readonly LinkOp[], ctx: KindContext, out: Outcome<LinkOp>): Promise<void>;
  /** A link event matters when it is about a desired name or a link the last plan saw as owned or foreign. */
  relevant(link: Link, desired: PreparedLinks, view: LinkView | undefined, ctx: KindContext): boolean;
  /** Whether, once applied, the plan must be read again: links just created may have been
   * changed by the kernel as others joined them (a bridge's MTU follows its first port's), and a
   * link set down loses what was on it. */
  needsSecondLook(op: LinkOp): boolean;
  /** How many links are desired. */
  count(desired: PreparedLinks): number;
}

/** Links: created first, deleted last. */
export const linkKind: LinkKindModule = {
  kind: 'link',
  field: 'links',
  stages: { create: 10, update: 10, recreate: 10, delete: 90 },
  event: 'link',
  prepare: prepareLinks,
  observe: (nl) => nl.links.list(),
  diff: diffLinks,
  apply: (nl, ops, _ctx, out) => applyLinks(nl, ops, out),
  relevant: (l, desired, view, ctx) =>
    desired.get(l.name) !== undefined || l.alias === ctx.owner.alias || view === undefined || view.owned.has(l.index) || view.foreign.has(l.index),
  // A link that goes down loses its neighbour entries and routes: the plan's view of them is stale.
  needsSecondLook: (op) => op.action === 'create' || op.action === 'recreate' || (op.action === 'update' && op.desired.up === false && op.actual.up),
  count: (desired) => desired.list.length,
};
