/**
 * What the subcommands share: the I/O they write to, opening rtnetlink (optionally in a named
 * namespace), waiting for SIGTERM/SIGINT, and turning errors into one readable line.
 */
import type { Rtnl } from '../rtnl/rtnl';
import { Logger, type LogSink } from './log';

/** Exit codes: 0 ok / no changes, 1 error or not converged, 2 plan has pending changes. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CHANGES = 2;

/** Streams a command writes to (process.stdout/stderr, or test doubles). */
export interface CliIO {
  /** Results (plans, apply summaries). */
  stdout: LogSink;
  /** Log lines and errors. */
  stderr: LogSink;
}

/** Options every subcommand has. */
export interface CommonOptions {
  netns?: string;
  json?: boolean;
}

/** The logger of a command: stderr, text or JSON. */
export function loggerFor(io: CliIO, opts: CommonOptions): Logger {
  return new Logger(io.stderr, Boolean(opts.json));
}

/** Opens rtnetlink in the namespace of --netns (or the current one). Loaded on use, so that
 * `--help` does not load the addon. */
export async function openRtnl(opts: CommonOptions): Promise<Rtnl> {
  const { Rtnl } = await import('../rtnl/rtnl');
  return Rtnl.open(opts.netns ? { netns: opts.netns } : {});
}

/** One line for an error: validation problems listed, kernel errors with their errno code. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'ValidationError') return e.message;
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}

/** Resolves with the signal name at the first SIGTERM or SIGINT (handlers removed after). */
export function untilSignal(): { done: Promise<NodeJS.Signals>; cancel: () => void } {
  let resolve!: (s: NodeJS.Signals) => void;
  const done = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const onTerm = () => finish('SIGTERM');
  const onInt = () => finish('SIGINT');
  const cancel = () => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  };
  const finish = (s: NodeJS.Signals) => {
    cancel();
    resolve(s);
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  return { done, cancel };
}
