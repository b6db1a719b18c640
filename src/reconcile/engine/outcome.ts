/** Recording each op's outcome as a kind applies them: from a batch, or one request at a time. */
import type { BatchResult } from '../../wire/socket';
import type { Outcome } from './kind';

/** Records a batch's per-request results for the ops it was sent for (same order). */
export function collect<O>(ops: readonly O[], result: BatchResult, out: Outcome<O>): void {
  const applied = out.applied;
  if (result.failed === 0 && Array.isArray(applied)) {
    // A batch of 100k that all succeeded: the list grows once, not a push (and a copy, now
    // and then) at a time.
    const base = applied.length;
    applied.length = base + ops.length;
    for (let i = 0; i < ops.length; i++) applied[base + i] = ops[i];
    return;
  }
  for (let i = 0; i < ops.length; i++) {
    const e = result.errors[i];
    if (e) out.failed.push({ op: ops[i], error: e });
    else out.applied.push(ops[i]);
  }
}

/** Runs one op's requests; a failure is recorded for it, not thrown. */
export async function one<O>(op: O, out: Outcome<O>, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
    out.applied.push(op);
  } catch (e) {
    out.failed.push({ op, error: e instanceof Error ? e : new Error(String(e)) });
  }
}
