/**
 * What the installed executable runs: the bundle next to it (see cni-bundle) through vm.Script
 * with the V8 code cache of the command being run, saving that cache after a run that had none
 * (or whose cache V8 refused: another Node, other flags). Falls back to the package's plugin
 * entry when the package changed since the install (its entry is no longer the one bundled) or
 * the bundle is missing, so an upgrade without a new `cni install` still runs current code.
 *
 * Loaded by the executable with plain require: only node:fs, node:vm and node:module.
 */
import { closeSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

/** The identity of the entry file the bundle was made from: size and modification time. */
export function entryStamp(entry: string): string {
  const st = statSync(entry);
  return `${st.size}:${Math.trunc(st.mtimeMs)}`;
}

/** The files of an installation's support directory. */
export function bundlePaths(dir: string): { bundle: string; stamp: string; cache: (command: string) => string } {
  return {
    bundle: join(dir, 'plugin.js'),
    stamp: join(dir, 'stamp'),
    cache: (command) => join(dir, `${command.toLowerCase().replace(/[^a-z]/g, '') || 'none'}.cache`),
  };
}

/** Writes `data` to `file` through a temporary file renamed over it; failures are ignored (the cache is an optimisation). */
function writeQuietly(file: string, data: Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch {
    // read-only or full: run without a cache
  }
}

/**
 * Runs one plugin call and exits: from the bundle in `dir` when it was made from `entry` as it
 * is now, else from `entry` itself.
 */
export async function launch(dir: string, entry: string): Promise<never> {
  const paths = bundlePaths(dir);
  let source: string | undefined;
  try {
    if (readFileSync(paths.stamp, 'utf8') === entryStamp(entry)) source = readFileSync(paths.bundle, 'utf8');
  } catch {
    source = undefined;
  }
  if (source === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const plugin = require(entry) as { main(): Promise<never> };
    return plugin.main();
  }
  const cacheFile = paths.cache(process.env.CNI_COMMAND ?? '');
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(Module.wrap(source), { filename: paths.bundle, cachedData });
  const module = { exports: {} as { run(): Promise<number> } };
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, require, module, paths.bundle, dir);
  const code = await module.exports.run();
  if (cachedData === undefined || script.cachedDataRejected) writeQuietly(cacheFile, script.createCachedData());
  process.exit(code);
}
