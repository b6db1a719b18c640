/**
 * What the subcommands share: the I/O they write to, opening rtnetlink (optionally in a named
 * namespace), waiting for SIGTERM/SIGINT, and turning errors into one readable line.
 */
import type { Rtnl } from '../rtnl/rtnl';
import { Logger, type LogLevel, type LogSink } from './log';

/** Exit codes: 0 ok / no changes, 1 error or not converged, 2 plan has pending changes. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CHANGES = 2;
/** The agent's exit code for bad input found at start (an address that cannot be bound, an
 * --iface that matches nothing): nothing was changed. */
export const EXIT_USAGE = 2;

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
  /** --log-level: the least severe level written (default info). */
  logLevel?: LogLevel;
}

/** The logger of a command: stderr, text or JSON. */
export function loggerFor(io: CliIO, opts: CommonOptions): Logger {
  return new Logger(io.stderr, Boolean(opts.json), opts.logLevel);
}

/** Opens rtnetlink in the namespace of --netns (or the current one). Loaded on use, so that
 * `--help` does not load the addon. */
export async function openRtnl(opts: CommonOptions): Promise<Rtnl> {
  const { Rtnl } = await import('../rtnl/rtnl');
  // Given means given: an empty --netns (an unset variable) is refused by Rtnl.open, never
  // taken as "this namespace".
  return Rtnl.open(opts.netns !== undefined ? { netns: opts.netns } : {});
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

/**
 * SIGHUP means "reload" for the long-running commands, from the moment they start: a SIGHUP
 * that comes before the command is ready to reload is kept and acted on once it is (Node's
 * default for SIGHUP would end the process). Returns ready(handler) to install the reload, and
 * cancel() to give SIGHUP back.
 */
export function reloadOnHangup(): { ready: (reload: () => void) => void; cancel: () => void } {
  let handler: (() => void) | undefined;
  let pending = false;
  const onHup = () => {
    if (handler) handler();
    else pending = true;
  };
  process.on('SIGHUP', onHup);
  return {
    ready: (reload) => {
      handler = reload;
      if (pending) {
        pending = false;
        reload();
      }
    },
    cancel: () => {
      handler = undefined;
      process.off('SIGHUP', onHup);
    },
  };
}

/** Resolves once everything written to the stream so far has been handed to the kernel (or
 * the stream failed, e.g. EPIPE when the reader went away). */
export function drained(stream: NodeJS.WritableStream & { destroyed?: boolean; writable?: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writable === false) return resolve();
    stream.once('error', () => resolve());
    stream.write('', () => resolve());
  });
}
