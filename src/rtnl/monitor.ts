// PLACEHOLDER: to be implemented (issue 4, Monitor).
import type { RtnlContext } from './context';

export type MonitorGroup = 'link' | 'addr' | 'route' | 'neigh';

export interface MonitorOptions {
  groups: MonitorGroup[];
}

export class Monitor {
  constructor(
    protected readonly ctx: RtnlContext,
    protected readonly opts: MonitorOptions,
  ) {}
  close(): void {}
}
