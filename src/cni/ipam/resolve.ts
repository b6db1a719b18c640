/**
 * Where the address ranges come from: the configuration's ipam.ranges (host-local's), or this
 * node's pod subnet(s) in the overlay agent's runtime file. Ranges given while the runtime file
 * exists must lie inside the node's subnets: handing out another node's addresses would break
 * the overlay's routing silently.
 */
import { Problems } from '../../values/problems';
import { readRuntimeFile, type RuntimeInfo } from '../../overlay/runtime-file';
import { CniError, CNI_ERR } from '../errors';
import { throwConfigProblems, type NetConf } from '../config';
import { inSubnet, parseRange, type IpRange } from './range';

/** Reads the runtime file of a configuration: undefined when absent; CniError INVALID_NETWORK_CONFIG when unreadable or malformed. */
export function loadRuntime(conf: NetConf): RuntimeInfo | undefined {
  try {
    return readRuntimeFile(conf.runtimeFile);
  } catch (e) {
    throw new CniError(CNI_ERR.INVALID_NETWORK_CONFIG, `cannot use the runtime file ${conf.runtimeFile}`, e instanceof Error ? e.message : String(e));
  }
}

/** The message for "no ranges and no runtime file". */
export function noSubnetMessage(conf: NetConf): string {
  return `the configuration has no ipam.ranges (or ipam.subnet) and there is no runtime file at ${conf.runtimeFile}: give ranges, or run \`netlink-agent overlay\` on this node (it writes the file)`;
}

/**
 * The range sets to allocate from. Throws CniError: TRY_AGAIN_LATER when the configuration has
 * none and the runtime file is not there (yet), INVALID_NETWORK_CONFIG naming a range outside
 * this node's subnets.
 */
export function resolveRanges(conf: NetConf, runtime: RuntimeInfo | undefined): IpRange[][] {
  const p = new Problems();
  if (!conf.ipam.ranges) {
    if (!runtime) throw new CniError(CNI_ERR.TRY_AGAIN_LATER, 'no subnet to allocate from', noSubnetMessage(conf));
    const sets: IpRange[][] = [];
    runtime.subnets.forEach((subnet, i) => {
      const r = parseRange(p, `${conf.runtimeFile}: subnets[${i}]`, { subnet });
      if (r) sets.push([r]);
    });
    throwConfigProblems(p);
    return sets;
  }
  if (runtime) {
    const own = runtime.subnets.map((s) => parseRange(new Problems(), '', { subnet: s })).filter((r): r is IpRange => r !== undefined);
    conf.ipam.ranges.forEach((set, i) =>
      set.forEach((r, j) => {
        const inside = own.some((o) => o.family === r.family && o.prefixLength <= r.prefixLength && inSubnet(o.family, o.network, o.prefixLength, r.network));
        if (!inside) {
          p.add(`ipam.ranges[${i}][${j}].subnet`, `${r.subnet} is not inside this node's pod subnet${own.length > 1 ? 's' : ''} ${runtime.subnets.join(', ')} (${conf.runtimeFile})`);
        }
      }),
    );
    throwConfigProblems(p);
  }
  return conf.ipam.ranges;
}
