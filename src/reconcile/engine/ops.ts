/**
 * The shapes of ops and conflicts, shared by every kind: an op is a discriminated union on its
 * action, whose desired and actual objects have the kind's own types (no casts where it is
 * applied).
 */

/**
 * The ops of a kind whose objects are created, changed in place and deleted (addresses,
 * neighbours, FDB entries, routes): `desired` is the spec to send, `actual` what the kernel has.
 */
export type EntryOp<K extends string, D, A> =
  | {
      /** Which kind of object. */
      readonly kind: K;
      /** Missing: added. */
      action: 'create';
      /** The identity key, for a person ("vxlan0 192.168.10.0/32"). */
      key: string;
      /** Why, for a person ("missing"). */
      reason: string;
      /** The spec to add. */
      desired: D;
      /** Nothing yet. */
      actual?: undefined;
      /** Never set on a create. */
      adopt?: undefined;
    }
  | {
      /** Which kind of object. */
      readonly kind: K;
      /** Present but different: changed in place (replaced). */
      action: 'update';
      /** The identity key, for a person. */
      key: string;
      /** Why, for a person ("lladdr 0a:.. -> 0a:.."). */
      reason: string;
      /** The spec to apply. */
      desired: D;
      /** What the kernel has now. */
      actual: A;
      /** True when the object was another owner's and is taken over (adoptConflicts). */
      adopt?: boolean;
    }
  | {
      /** Which kind of object. */
      readonly kind: K;
      /** Owned and no longer desired: removed. */
      action: 'delete';
      /** The identity key, for a person. */
      key: string;
      /** Why, for a person ("not desired any more"). */
      reason: string;
      /** Nothing is desired on this key. */
      desired?: undefined;
      /** What the kernel has now, as removed. */
      actual: A;
      /** Never set on a delete. */
      adopt?: undefined;
    };

/** A desired object of kind K left alone because another owner holds its key (or its device). */
export interface ConflictOf<K extends string, D, A> {
  /** Which kind of object. */
  readonly kind: K;
  /** The identity key both objects share. */
  key: string;
  /** Why it was left alone, for a person ("held by protocol 4", "on vxlan0, a link another owner holds"). */
  reason: string;
  /** The spec that was wanted. */
  desired: D;
  /** The foreign object on the key; undefined when the key is free but its device is another owner's. */
  actual: A | undefined;
}
