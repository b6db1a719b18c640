/**
 * What Netns.worker hands to the worker's bootstrap, inside workerData. Shared by both sides so
 * the shape cannot drift.
 */

/** The workerData key the bootstrap looks for; the user's own workerData travels next to it. */
export const HANDOFF_KEY = '__netlinkAgentNetns';

/** How the bootstrap loads the user's code. */
export type EntryMode = 'require' | 'import';

export interface Handoff {
  /** The namespace as the caller named it (for error messages). */
  netns: string;
  /** Its path (for error messages). */
  path: string;
  /**
   * A file descriptor on the namespace, opened by the parent thread (threads share the fd
   * table). It pins the namespace the parent checked, so the worker enters exactly that one
   * even if the name is deleted or replaced in between.
   */
  fd: number;
  /**
   * One Int32 slot: 0 while the fd is unclaimed, 1 once the worker or the parent has claimed it.
   * Whoever claims it closes it: the worker after entering, or the parent when the worker
   * exits without having started its code (terminated early).
   */
  claim: Int32Array;
  /** An absolute file path (require) or a URL (import). */
  entry: string;
  mode: EntryMode;
}

export interface WrappedWorkerData {
  [HANDOFF_KEY]: Handoff;
  data: unknown;
}

/** Claims the namespace fd: true for exactly one caller. */
export function claim(h: Pick<Handoff, 'claim'>): boolean {
  return Atomics.compareExchange(h.claim, 0, 0, 1) === 0;
}
