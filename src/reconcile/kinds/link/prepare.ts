/** Validation of the desired links: each spec, the reconciler's own rules, duplicates, references. */
import { validateLinkSpec } from '../../../rtnl/link/validate';
import type { LinkSpec } from '../../../rtnl/types';
import { own, type Problems } from '../../../values/problems';
import type { DesiredLinks, PrepareContext } from '../../engine/kind';

/** A validated desired link. */
export interface PreparedLink {
  /** The spec as given. */
  readonly spec: LinkSpec;
  /** Where it was in the desired state ("links[2]"), for messages. */
  readonly path: string;
}

/** The desired links, validated, by name. */
export interface PreparedLinks extends DesiredLinks {
  /** In the order given. */
  readonly list: readonly PreparedLink[];
}

/** Validates the desired links; problems go to p (never throws). */
export function prepareLinks(p: Problems, given: readonly unknown[], ctx: Omit<PrepareContext, 'links'>): PreparedLinks {
  const list: PreparedLink[] = [];
  const byName = new Map<string, { up?: boolean; path: string }>();
  given.forEach((spec, i) => {
    const path = `links[${i}]`;
    if (!validateLinkSpec(p, path, spec)) return;
    if (own(spec, 'netns') !== undefined) {
      // Created over there, it would never be seen here again: every later apply would fail
      // with EEXIST and it would never be removed.
      p.add(`${path}.netns`, `a reconciler keeps links in its own namespace; to manage "${spec.name}" in ${JSON.stringify(spec.netns)}, use a Reconciler on Rtnl.open({ netns: ${JSON.stringify(spec.netns)} })`);
      return;
    }
    if (spec.alias !== undefined && spec.alias !== ctx.owner.alias) {
      p.add(`${path}.alias`, `the alias is the owner's mark (${JSON.stringify(ctx.owner.alias)}) that makes the link this reconciler's; leave it out (ReconcilerOptions.owner sets it)`);
      return;
    }
    const had = byName.get(spec.name);
    if (had) return p.add(path, `link "${spec.name}" is already desired at ${had.path}`);
    byName.set(spec.name, { up: spec.up, path });
    list.push({ spec, path });
    if (spec.master !== undefined && spec.master !== null) ctx.references.push({ path: `${path}.master`, dev: spec.master });
    if ((spec.kind === 'vxlan' || spec.kind === 'ipip') && spec.dev !== undefined) ctx.references.push({ path: `${path}.dev`, dev: spec.dev });
    if (spec.kind === 'veth') {
      const peer = byName.get(spec.peer.name);
      if (peer && !spec.peer.netns) p.add(`${path}.peer.name`, `"${spec.peer.name}" is also desired at ${peer.path}`);
    }
  });
  return { list, get: (name) => byName.get(name) };
}
