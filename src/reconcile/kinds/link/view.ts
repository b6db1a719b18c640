/** The LinkView the link kind gives every other kind (see engine/kind.ts). */
import type { DeviceRef, Link } from '../../../rtnl/types';
import type { DeviceStatus, LinkView } from '../../engine/kind';

/** What the link diff decided, for the view. */
export interface LinkDecisions {
  /** Indexes of links whose entries are managed: owned (alias) or adopted, not vanishing. */
  owned: Set<number>;
  /** Indexes of devices another owner holds under desired names, with why. */
  foreign: Map<number, string>;
  /** Indexes of links deleted or recreated. */
  vanishing: Set<number>;
  /** Names of the desired links. */
  desiredNames: Set<string>;
}

/** Builds the view over the links read and what the diff decided. */
export function makeLinkView(links: readonly Link[], d: LinkDecisions): LinkView {
  const byName = new Map<string, Link>();
  const byIndex = new Map<number, Link>();
  for (const l of links) {
    byName.set(l.name, l);
    byIndex.set(l.index, l);
  }
  const index = (ref: DeviceRef): number | undefined => (typeof ref === 'number' ? (byIndex.has(ref) ? ref : undefined) : byName.get(ref)?.index);
  return {
    links,
    byName,
    byIndex,
    owned: d.owned,
    foreign: d.foreign,
    vanishing: d.vanishing,
    desiredNames: d.desiredNames,
    index,
    name: (ref) => (typeof ref === 'string' ? ref : (byIndex.get(ref)?.name ?? `if${ref}`)),
    status(ref): DeviceStatus {
      const i = index(ref);
      if (i === undefined) return typeof ref === 'string' && d.desiredNames.has(ref) ? 'pending' : 'missing';
      if (d.vanishing.has(i)) return 'vanishing';
      if (d.foreign.has(i)) return 'foreign';
      if (d.owned.has(i)) return 'owned';
      return 'unmanaged';
    },
  };
}
