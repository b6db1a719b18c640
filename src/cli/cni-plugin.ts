/**
 * The CNI plugin executable's entry: what the launcher `netlink-agent cni install` writes
 * requires this file and calls main(). It reads the configuration on stdin and the CNI_*
 * environment, prints the result (or the spec's error JSON) on stdout and exits.
 *
 * Kept lean on purpose: a runtime starts the plugin for every pod, so what loads here is paid
 * on every ADD and DEL. No commander, no etcd client, no logger: only the CNI layer and, when
 * the command needs the kernel, rtnetlink.
 */
import { readFileSync, writeSync } from 'node:fs';
import { runPlugin } from '../cni/plugin';

/** Reads all of stdin (a pipe or a file); '' when there is none. */
function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

/** Runs one plugin call for this process (stdin, environment, stdout); resolves with its exit code. */
export async function run(): Promise<number> {
  const outcome = await runPlugin(process.env, readStdin());
  if (outcome.stdout) writeSync(1, outcome.stdout);
  return outcome.exitCode;
}

/** Runs one plugin call for this process and exits with its code. */
export async function main(): Promise<never> {
  process.exit(await run());
}

if (require.main === module) void main();
