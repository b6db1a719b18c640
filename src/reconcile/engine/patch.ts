/**
 * The half every kind's patch shares (KindModule.patch): preparing the specs the edits put in,
 * and deciding whether a patch can vouch for them.
 */
import type { DeviceRef } from '../../rtnl/types';
import { Problems } from '../../values/problems';
import { insertedBy, patchedLength, type Edit } from './edits';
import type { PrepareContext } from './kind';

/** What a patch reads of a kind's prepared list, before and after. */
export interface PatchableList {
  /** The prepared entries, in order. */
  readonly list: readonly unknown[];
  /** The devices they name. */
  readonly devs: ReadonlySet<DeviceRef>;
}

/**
 * The specs the edits put in, prepared as a list of their own by the kind's `prepare` (with
 * references and problems of its own), and the patched list's length; undefined when a patch
 * cannot vouch for them: an edit at or before `before.lastNewDevice` (the last entry that first
 * names a device: the references would move), a problem, a spec dropped, or a device no entry
 * of before names. The caller then prepares the list whole, which reports it with the whole
 * list's paths.
 */
export function prepareInserted<P extends PatchableList>(
  before: PatchableList & { readonly lastNewDevice: number },
  edits: readonly Edit[],
  given: readonly unknown[],
  ctx: PrepareContext,
  prepare: (p: Problems, given: readonly unknown[], ctx: PrepareContext) => P,
): { inserted: P; count: number } | undefined {
  if (edits.length === 0 || edits[0].oldStart <= before.lastNewDevice) return undefined;
  const specs = insertedBy(given, edits);
  const p = new Problems();
  const inserted = prepare(p, specs, { ...ctx, references: [] });
  if (!p.ok || inserted.list.length !== specs.length) return undefined;
  for (const dev of inserted.devs) if (!before.devs.has(dev)) return undefined;
  return { inserted, count: patchedLength(before.list.length, edits) };
}
