/** The link kind's ops and conflicts. */
import type { Link, LinkChanges, LinkSpec } from '../../../rtnl/types';
import type { ConflictOf } from '../../engine/ops';

/** How an in-place link update is sent: links.set() for common fields, links.change() when the
 * kind's own attributes change too. */
export interface LinkPatch {
  /** Common fields to set (mtu, address, txqueuelen, alias, master, up). */
  set: LinkChanges;
  /** Whether attributes of the link's kind change (then links.change() sends everything). */
  kindAttributes: boolean;
}

/** An op on a link: created with the owner's alias, changed in place, recreated, or deleted. */
export type LinkOp =
  | {
      /** Which kind of object. */
      readonly kind: 'link';
      /** Missing: created. */
      action: 'create';
      /** The link's name. */
      key: string;
      /** Why, for a person. */
      reason: string;
      /** The spec to create, with the owner's alias. */
      desired: LinkSpec;
      /** Nothing yet. */
      actual?: undefined;
      /** Never set on a create. */
      adopt?: undefined;
    }
  | {
      /** Which kind of object. */
      readonly kind: 'link';
      /** Present but different: changed in place. */
      action: 'update';
      /** The link's name. */
      key: string;
      /** Why, for a person ("mtu 1500 -> 1450"). */
      reason: string;
      /** The spec to apply, with the owner's alias. */
      desired: LinkSpec;
      /** The link as the kernel has it. */
      actual: Link;
      /** What is sent (links.set or links.change). */
      linkPatch: LinkPatch;
      /** True when another owner's link is taken over (adoptConflicts): its alias becomes ours. */
      adopt?: boolean;
    }
  | {
      /** Which kind of object. */
      readonly kind: 'link';
      /** Different in a way the kernel cannot change in place: deleted and created again. */
      action: 'recreate';
      /** The link's name. */
      key: string;
      /** Why, for a person ("vni 100 -> 200 (vni cannot change in place)"). */
      reason: string;
      /** The spec to create, with the owner's alias. */
      desired: LinkSpec;
      /** The link as the kernel has it (deleted first). */
      actual: Link;
      /** True when another owner's link is taken over (adoptConflicts). */
      adopt?: boolean;
    }
  | {
      /** Which kind of object. */
      readonly kind: 'link';
      /** Owned (its alias) and no longer desired: deleted. */
      action: 'delete';
      /** The link's name. */
      key: string;
      /** Why, for a person. */
      reason: string;
      /** Nothing is desired under this name. */
      desired?: undefined;
      /** The link as the kernel has it. */
      actual: Link;
      /** Never set on a delete. */
      adopt?: undefined;
    };

/** A desired link whose name a device of another owner (or of none) holds. */
export type LinkConflict = ConflictOf<'link', LinkSpec, Link>;
