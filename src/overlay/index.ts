/** The overlay modes (host-gw, ipip, vxlan, hybrid) and the agent that keeps one host in them. */
import { desiredState, gatewayAddress, validateOverlay, vtepMacFor } from './modes';
export type { NodeWireGuard, OverlayConfig, OverlayMode, OverlayNode } from './modes';
export { OverlayAgent, type OverlayAgentOptions, type OverlayAgentEvents } from './agent';
export { DEFAULT_RUNTIME_FILE, writeRuntimeFile, readRuntimeFile, validateRuntimeInfo, podMtu, type RuntimeInfo } from './runtime-file';

/** Pure functions: node list -> DesiredState. */
export const overlay = {
  /** This host's DesiredState for a mode and node list; throws ValidationError. */
  desiredState,
  /** Checks an OverlayConfig; throws ValidationError listing every problem. */
  validateOverlay,
  /** The VTEP MAC every node derives for an IPv4 node address; throws TypeError. */
  vtepMacFor,
  /** The first host address of a podCIDR (the node's gateway); throws TypeError. */
  gatewayAddress
};
