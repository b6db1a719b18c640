/** The reconciler: desired state in, minimal kernel changes out, kept converged. */
export { Reconciler } from './reconciler';
export { prepareDesired, type PreparedState } from './prepare';
export * from './types';
