/**
 * Agent logs: one line per event. Text for people ("2025-01-02T03:04:05.678Z info  nodes: ...
 * key=value"), or with --json one JSON object per line for machines
 * ({"time", "level", "event", "msg", ...fields}).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The levels from the most verbose up: a logger writes its level and those after it. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Extra structured data of a log line (JSON-serializable). */
export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

/** Where log lines go: something with write(line). */
export interface LogSink {
  /** Writes text (one or more complete lines). */
  write(line: string): unknown;
}

/** A line-per-event logger that writes lines of `level` and above (default info). */
export class Logger {
  private readonly min: number;

  constructor(
    private readonly sink: LogSink,
    private readonly json: boolean,
    level: LogLevel = 'info',
  ) {
    this.min = LOG_LEVELS.indexOf(level);
  }

  /** Whether lines of this level are written (to skip building a debug line nobody reads). */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.min;
  }

  /** Writes one line. `event` is a short stable word ("nodes", "applied", "etcd"). */
  log(level: LogLevel, event: string, msg: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const time = new Date().toISOString();
    if (this.json) {
      const clean: LogFields = {};
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) clean[k] = v;
      this.sink.write(`${JSON.stringify({ time, level, event, msg, ...clean })}\n`);
      return;
    }
    const extra = Object.entries(fields)
      .filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    // One event, one line: a message with newlines in it (a plan) is folded.
    const text = msg.replace(/\s*\n\s*/g, ' | ');
    this.sink.write(`${time} ${level.padEnd(5)} ${event}: ${text}${extra ? ` ${extra}` : ''}\n`);
  }

  debug(event: string, msg: string, fields?: LogFields): void {
    this.log('debug', event, msg, fields);
  }
  info(event: string, msg: string, fields?: LogFields): void {
    this.log('info', event, msg, fields);
  }
  warn(event: string, msg: string, fields?: LogFields): void {
    this.log('warn', event, msg, fields);
  }
  error(event: string, msg: string, fields?: LogFields): void {
    this.log('error', event, msg, fields);
  }
}
