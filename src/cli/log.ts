/**
 * Agent logs: one line per event. Text for people ("2025-01-02T03:04:05.678Z info  nodes: ...
 * key=value"), or with --json one JSON object per line for machines
 * ({"time", "level", "event", "msg", ...fields}).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Extra structured data of a log line (JSON-serializable). */
export type LogFields = Record<string, string | number | boolean | null | undefined | string[]>;

/** Where log lines go: something with write(line). */
export interface LogSink {
  /** Writes text (one or more complete lines). */
  write(line: string): unknown;
}

/** A line-per-event logger. */
export class Logger {
  constructor(
    private readonly sink: LogSink,
    private readonly json: boolean,
  ) {}

  /** Writes one line. `event` is a short stable word ("nodes", "applied", "etcd"). */
  log(level: LogLevel, event: string, msg: string, fields: LogFields = {}): void {
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
