/** Sending the link kind's ops, one link at a time (a link's requests depend on each other). */
import type { Rtnl } from '../../../rtnl/rtnl';
import type { LinkSpec } from '../../../rtnl/types';
import type { Outcome } from '../../engine/kind';
import { one } from '../../engine/outcome';
import type { LinkOp } from './types';

async function create(nl: Rtnl, spec: LinkSpec): Promise<void> {
  const made = await nl.links.add(spec);
  if (spec.up && !made.up) await nl.links.set(made.index, { up: true });
  // The kernel clamps a tunnel's mtu to what its underlay allows instead of refusing it (a
  // vxlan over IPv6 on a 1500-byte link gets 1430): that is not the desired state.
  if (spec.mtu !== undefined && made.mtu !== spec.mtu) {
    throw new Error(`links.add ${spec.name}: the kernel set mtu ${made.mtu}, not ${spec.mtu} (more than the underlay allows?)`);
  }
}

async function applyLink(nl: Rtnl, op: LinkOp): Promise<void> {
  switch (op.action) {
    case 'delete':
      return nl.links.del(op.actual.index);
    case 'recreate':
      await nl.links.del(op.actual.index);
      return create(nl, op.desired);
    case 'create':
      return create(nl, op.desired);
    case 'update':
      // links.change() sends every changed field, kind attributes included (one request, two
      // for a vxlan whose mtu changes too); common fields alone are one links.set().
      if (op.linkPatch.kindAttributes) return nl.links.change(op.desired.name, op.desired);
      if (Object.keys(op.linkPatch.set).length) return nl.links.set(op.desired.name, op.linkPatch.set);
  }
}

/** Applies one stage's link ops in order; each op's outcome is recorded. */
export async function applyLinks(nl: Rtnl, ops: readonly LinkOp[], out: Outcome<LinkOp>): Promise<void> {
  for (const op of ops) await one(op, out, () => applyLink(nl, op));
}
