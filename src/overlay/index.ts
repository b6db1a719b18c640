/** The overlay modes (host-gw, ipip, vxlan, hybrid) and the agent that keeps one host in them. */
import { desiredState, gatewayAddress, validateOverlay, vtepMacFor } from './modes';
export type { OverlayConfig, OverlayMode, OverlayNode } from './modes';
export { OverlayAgent, type OverlayAgentOptions, type OverlayAgentEvents } from './agent';

/** Pure functions: node list -> DesiredState. */
export const overlay = { desiredState, validateOverlay, vtepMacFor, gatewayAddress };
