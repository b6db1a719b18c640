/** Operational counters (AgentStats) and the health checks made from them. */
export { AgentStats } from './stats';
export type { AgentStatsEvents, CycleCount, OpCount, StatsSnapshot } from './stats';
export { liveness, readiness } from './health';
export type { HealthBounds, ProbeResult, ReadinessOptions } from './health';
