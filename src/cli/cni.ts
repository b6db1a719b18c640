/**
 * `netlink-agent cni install` and `netlink-agent cni gc`.
 *
 * install writes the plugin executable the runtime finds in CNI_PATH: a script whose first line
 * is this Node's path and which runs this package's plugin, so the plugin starts with the Node
 * that ran the install and no shell. Beside it, in .netlink-agent/, the plugin's modules as one
 * bundle (see cni-bundle) whose V8 code caches the plugin saves there on its first runs. Every
 * file is written to a temporary file and renamed into place, so a runtime starting the plugin
 * meanwhile sees the old one or the new one.
 */
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleSource } from './cni-bundle';
import { bundlePaths, entryStamp } from './cni-launch';
import { EXIT_FAILURE, EXIT_OK, loggerFor, type CliIO, type CommonOptions } from './common';

/** The executable's name: the `type` of the plugin in a conflist. */
export const PLUGIN_TYPE = 'netlink-agent';
/** Where runtimes look for plugins by default. */
export const DEFAULT_BIN_DIR = '/opt/cni/bin';

/** Options of `cni install`. */
export interface CniInstallOptions extends CommonOptions {
  binDir: string;
}

/** Options of `cni gc`. */
export interface CniGcOptions extends CommonOptions {
  network: string;
  dataDir?: string;
}

/** The support directory beside the executable: the bundle, its stamp, the code caches. */
export const SUPPORT_DIR = '.netlink-agent';

/** The launcher's text: the Node that runs this, the package's launch module and plugin entry. */
export function launcherText(nodePath: string, launchModule: string, entry: string): string {
  return [
    `#!${nodePath}`,
    '// netlink-agent CNI plugin (written by `netlink-agent cni install`)',
    `require(${JSON.stringify(launchModule)}).launch(require('node:path').join(__dirname, ${JSON.stringify(SUPPORT_DIR)}), ${JSON.stringify(entry)});`,
    '',
  ].join('\n');
}

/** Writes `text` to `file` through a temporary file renamed over it. */
function writeAtomically(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, mode);
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw e;
  }
}

/** netlink-agent cni install: writes <binDir>/netlink-agent (mode 0755) and the bundle beside it, each atomically. */
export function cniInstallCommand(o: CniInstallOptions, io: CliIO): number {
  const log = loggerFor(io, o);
  const entry = resolve(__dirname, 'cni-plugin.js');
  const dir = resolve(o.binDir);
  const target = join(dir, PLUGIN_TYPE);
  const support = join(dir, SUPPORT_DIR);
  const paths = bundlePaths(support);
  const text = launcherText(process.execPath, resolve(__dirname, 'cni-launch.js'), entry);
  const stamp = entryStamp(entry);
  const bundle = bundleSource(entry);
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  };
  if (read(target) === text && read(paths.stamp) === stamp && read(paths.bundle) === bundle) {
    log.info('install', `${target} is up to date (node ${process.execPath}, entry ${entry})`);
    return EXIT_OK;
  }
  mkdirSync(support, { recursive: true, mode: 0o755 });
  // Caches of an older bundle would only be refused: drop them.
  for (const f of readdirSync(support)) if (f.endsWith('.cache')) unlinkSync(join(support, f));
  writeAtomically(paths.bundle, bundle, 0o644);
  writeAtomically(paths.stamp, stamp, 0o644);
  writeAtomically(target, text, 0o755);
  log.info('install', `installed ${target} (node ${process.execPath}, entry ${entry}; bundle ${paths.bundle}, ${bundle.length} bytes)`);
  return EXIT_OK;
}

/**
 * netlink-agent cni gc: releases the reservations of a network whose pods are gone (their host
 * end no longer exists), as the spec's GC does for a runtime that does not send one.
 */
export async function cniGcCommand(o: CniGcOptions, io: CliIO): Promise<number> {
  const log = loggerFor(io, o);
  const { parseNetConf } = await import('../cni/config');
  const { CniError } = await import('../cni/errors');
  const { gcOrphans } = await import('../cni/commands');
  const { Rtnl } = await import('../rtnl/rtnl');
  try {
    const conf = parseNetConf({ cniVersion: '1.1.0', name: o.network, type: PLUGIN_TYPE, ...(o.dataDir ? { ipam: { dataDir: o.dataDir } } : {}) });
    const released = await gcOrphans(conf, () => Rtnl.open(o.netns ? { netns: o.netns } : {}));
    log.info('gc', `${conf.name}: released ${released.length} reservation${released.length === 1 ? '' : 's'} of pods that are gone${released.length ? `: ${released.join(', ')}` : ''}`, {
      released,
    });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CniError) {
      log.error('gc', e.message);
      return EXIT_FAILURE;
    }
    throw e;
  }
}
