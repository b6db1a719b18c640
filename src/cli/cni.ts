/**
 * `netlink-agent cni install` and `netlink-agent cni gc`.
 *
 * install writes the plugin executable the runtime finds in CNI_PATH: a script whose first line
 * is this Node's path and which requires the plugin entry of this package, so the plugin starts
 * with the Node that ran the install and no shell. It is written to a temporary file and renamed
 * into place, so a runtime starting it meanwhile sees the old one or the new one.
 */
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

/** The launcher's text: the Node that runs this, the package's plugin entry. */
export function launcherText(nodePath: string, entry: string): string {
  return `#!${nodePath}\n// netlink-agent CNI plugin (written by \`netlink-agent cni install\`)\nrequire(${JSON.stringify(entry)}).main();\n`;
}

/** netlink-agent cni install: writes <binDir>/netlink-agent atomically (mode 0755). */
export function cniInstallCommand(o: CniInstallOptions, io: CliIO): number {
  const log = loggerFor(io, o);
  const entry = resolve(__dirname, 'cni-plugin.js');
  const dir = resolve(o.binDir);
  const target = join(dir, PLUGIN_TYPE);
  const text = launcherText(process.execPath, entry);
  try {
    if (readFileSync(target, 'utf8') === text) {
      log.info('install', `${target} is up to date (node ${process.execPath}, entry ${entry})`);
      return EXIT_OK;
    }
  } catch {
    // not there yet
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o755);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
    throw e;
  }
  log.info('install', `installed ${target} (node ${process.execPath}, entry ${entry})`);
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
