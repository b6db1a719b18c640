/**
 * The CNI_* environment the runtime sets for each call. Missing or malformed variables are
 * reported together, each by name, as the spec's code 4.
 */
import { parseAddress } from '../values/address';
import { checkIfName } from '../values/names';
import { Problems } from '../values/problems';
import { CniError, CNI_ERR } from './errors';
import { isContainerId } from './config';

/** The operations: the spec's ADD, DEL, CHECK, VERSION and 1.1.0's GC and STATUS. */
export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';

/** The parsed environment of one call. */
export interface CniEnv {
  /** CNI_COMMAND. */
  command: CniCommand;
  /** CNI_CONTAINERID (ADD, DEL, CHECK). */
  containerId: string;
  /** CNI_NETNS: the pod's network namespace path (ADD, CHECK; optional for DEL). */
  netns: string;
  /** CNI_IFNAME: the interface to make inside the pod. */
  ifname: string;
  /** CNI_ARGS as key/value pairs. */
  args: Record<string, string>;
  /** CNI_PATH, split. */
  path: string[];
  /** Addresses asked for with CNI_ARGS IP=a[,b] (host-local's convention), canonical. */
  requestedIps: string[];
}

const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'];

/** Reads CNI_COMMAND alone (VERSION needs nothing else). Throws CniError INVALID_ENVIRONMENT. */
export function commandOf(env: NodeJS.ProcessEnv): CniCommand {
  const c = env.CNI_COMMAND;
  if (!COMMANDS.includes(c as CniCommand)) {
    throw new CniError(CNI_ERR.INVALID_ENVIRONMENT, 'invalid CNI_COMMAND', `CNI_COMMAND=${JSON.stringify(c ?? '')}: expected one of ${COMMANDS.join(', ')}`);
  }
  return c as CniCommand;
}

/** Parses the environment for `command`. Throws CniError INVALID_ENVIRONMENT naming every bad variable. */
export function parseEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = commandOf(env);
  const p = new Problems();
  const attachment = command === 'ADD' || command === 'DEL' || command === 'CHECK';
  const containerId = env.CNI_CONTAINERID ?? '';
  const netns = env.CNI_NETNS ?? '';
  const ifname = env.CNI_IFNAME ?? '';
  if (attachment) {
    if (!containerId) p.add('CNI_CONTAINERID', 'missing');
    else if (!isContainerId(containerId)) p.add('CNI_CONTAINERID', `${JSON.stringify(containerId)} is not a container ID (a letter or digit, then letters, digits, _ . -)`);
    if (!ifname) p.add('CNI_IFNAME', 'missing');
    else checkIfName(p, 'CNI_IFNAME', ifname);
    if (command !== 'DEL') {
      if (!netns) p.add('CNI_NETNS', 'missing');
      else if (!netns.startsWith('/')) p.add('CNI_NETNS', `${JSON.stringify(netns)} is not a path to a network namespace`);
    }
  }
  const args: Record<string, string> = {};
  for (const pair of (env.CNI_ARGS ?? '').split(';')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) p.add('CNI_ARGS', `${JSON.stringify(pair)} is not KEY=VALUE`);
    else args[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const ignoreUnknown = /^(1|true)$/i.test(args.IgnoreUnknown ?? '');
  for (const k of Object.keys(args)) {
    if (k !== 'IgnoreUnknown' && k !== 'IP' && !ignoreUnknown) p.add('CNI_ARGS', `unknown argument ${k} (add IgnoreUnknown=1 to pass arguments for other plugins)`);
  }
  const requestedIps: string[] = [];
  if (args.IP) {
    args.IP.split(',').forEach((t, i) => {
      const a = parseAddress(p, `CNI_ARGS IP[${i}]`, t.trim());
      if (a) requestedIps.push(a.text);
    });
  }
  if (!p.ok) {
    throw new CniError(CNI_ERR.INVALID_ENVIRONMENT, 'invalid CNI environment variables', p.list.map((x) => `${x.path}: ${x.message}`).join('; '));
  }
  return { command, containerId, netns, ifname, args, path: (env.CNI_PATH ?? '').split(':').filter(Boolean), requestedIps };
}
