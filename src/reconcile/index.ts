/** The reconciler: desired state in, minimal kernel changes out, kept converged. */
export { Reconciler } from './reconciler';
export { DesiredRouteIndex } from './routeindex';
export { prepareDesired, type PreparedState, type PreparedAddress, type PreparedFdb, type PreparedLink, type PreparedNeighbor, type PreparedRoute } from './prepare';
export * from './types';
