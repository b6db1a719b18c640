/**
 * One plugin call, as the runtime makes it: the CNI_* environment and the configuration text in,
 * the exit code and stdout's text out (the result JSON, the version JSON, or the spec's error
 * JSON). Nothing here touches process.*: the executable's entry (cli/cni-plugin) does that, and
 * tests call runPlugin() directly.
 */
import { CniError, CNI_ERR } from './errors';
import { decodeConfig, parseNetConf, versionOf } from './config';
import { commandOf, parseEnv } from './env';
import { add, check, del, gc, status, type RtnlOpener } from './commands';
import { SUPPORTED_VERSIONS, toVersion, versionAtLeast } from './result';

/** What a call ends with. */
export interface PluginOutcome {
  /** 0 on success, 1 on an error (stdout then holds the error JSON). */
  exitCode: number;
  /** What to print on stdout (may be empty). */
  stdout: string;
}

/** Opens rtnetlink on demand (the module is loaded only when a command needs the kernel). */
const defaultOpener: RtnlOpener = async (netns) => {
  const { Rtnl } = await import('../rtnl/rtnl');
  return Rtnl.open(netns ? { netns } : {});
};

/**
 * Runs one call. Never throws: every failure becomes the spec's error JSON with a code (see
 * CNI_ERR) and exit code 1.
 */
export async function runPlugin(env: NodeJS.ProcessEnv, stdin: string, open: RtnlOpener = defaultOpener): Promise<PluginOutcome> {
  let raw: unknown;
  try {
    const command = commandOf(env);
    if (command === 'VERSION') {
      raw = stdin.trim() ? decodeConfig(stdin) : {};
      return ok({ cniVersion: versionOf(raw), supportedVersions: [...SUPPORTED_VERSIONS] });
    }
    raw = decodeConfig(stdin);
    const conf = parseNetConf(raw);
    const e = parseEnv(env);
    const needs = (min: '0.4.0' | '1.1.0') => {
      if (!versionAtLeast(conf.cniVersion, min)) {
        throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, 'incompatible CNI version', `${e.command} needs cniVersion ${min} or later, the configuration says ${conf.cniVersion}`);
      }
    };
    switch (e.command) {
      case 'ADD':
        return ok(toVersion(await add(e, conf, open), conf.cniVersion));
      case 'DEL':
        await del(e, conf, open);
        return ok();
      case 'CHECK':
        needs('0.4.0');
        await check(e, conf, open);
        return ok();
      case 'GC':
        needs('1.1.0');
        await gc(conf, open);
        return ok();
      case 'STATUS':
        needs('1.1.0');
        status(conf);
        return ok();
    }
  } catch (e) {
    const err = e instanceof CniError ? e : new CniError(CNI_ERR.KERNEL_REFUSED, 'unexpected failure', e instanceof Error ? e.message : String(e));
    return { exitCode: 1, stdout: `${JSON.stringify(err.toJSON(versionOf(raw)))}\n` };
  }
  return { exitCode: 1, stdout: '' };
}

function ok(body?: unknown): PluginOutcome {
  return { exitCode: 0, stdout: body === undefined ? '' : `${JSON.stringify(body)}\n` };
}
