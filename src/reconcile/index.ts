/** The reconciler: desired state in, minimal kernel changes out, kept converged. */
export { Reconciler } from './reconciler';
export { OwnerBusyError } from './engine/lock';
export type { OwnerIdentity } from './engine/owner';
export * from './types';
