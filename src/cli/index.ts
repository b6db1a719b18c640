#!/usr/bin/env node
/**
 * The `netlink-agent` command.
 *
 *   netlink-agent plan    --config desired.json [--netns NAME]
 *   netlink-agent apply   --config desired.json [--netns NAME]
 *   netlink-agent watch   --config desired.json [--netns NAME] [--metrics-addr HOST:PORT]
 *   netlink-agent overlay --mode vxlan --self NAME [--node-ip IP] [--iface X... | --iface-can-reach IP]
 *                         [--pod-cidr CIDR | --cluster-cidr CIDR] --etcd URL[,URL] [--netns NAME]
 *                         [--nexthops] [--metrics-addr HOST:PORT] [--log-level LEVEL]
 *   netlink-agent cni install [--bin-dir /opt/cni/bin]
 *   netlink-agent cni gc --network NAME [--data-dir DIR] [--netns NAME]
 *
 * Every subcommand has --help and --json. main() is exported for embedding; it resolves with
 * the exit code instead of exiting.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { agentVersion } from '../membership/version';
import { EXIT_FAILURE, describeError, drained, type CliIO } from './common';
import { OWNER_NAME_RE } from './owner';
import { LOG_LEVELS, Logger } from './log';
import { PASSWORD_ON_ARGV, addEtcdAccessOptions } from './etcd-flags';

export type { CliIO } from './common';
import type { DesiredOptions } from './desired';
import type { OverlayOptions } from './overlay';
import type { CniGcOptions, CniInstallOptions } from './cni';

// The subcommands are loaded when they run: `--help` stays fast, and `plan` never loads the
// etcd client.
const plan = async (o: DesiredOptions, io: CliIO) => (await import('./desired')).planCommand(o, io);
const apply = async (o: DesiredOptions, io: CliIO) => (await import('./desired')).applyCommand(o, io);
const watch = async (o: DesiredOptions, io: CliIO) => (await import('./desired')).watchCommand(o, io);
const overlay = async (o: OverlayOptions, io: CliIO) => (await import('./overlay')).overlayCommand(o, io);
const cniInstall = async (o: CniInstallOptions, io: CliIO) => (await import('./cni')).cniInstallCommand(o, io);
const cniGc = async (o: CniGcOptions, io: CliIO) => (await import('./cni')).cniGcCommand(o, io);

function intArg(min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`must be an integer ${min}..${max}`);
    return Number(v);
  };
}

/** A flag that may be given twice (one value per family): the values joined by ",". */
function perFamily(v: string, previous: string | undefined): string {
  return previous === undefined ? v : `${previous},${v}`;
}

/** A switch that also takes a value (--nexthops=off), so a ConfigMap key can set it either way. */
function onOff(v: string | boolean): boolean {
  if (typeof v === 'boolean') return v; // the preset of the bare flag
  const t = v.toLowerCase();
  if (t === 'on' || t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'off' || t === 'false' || t === '0' || t === 'no' || t === '') return false;
  throw new InvalidArgumentError('must be on or off (true/false)');
}

function ownerArg(v: string): string {
  if (!OWNER_NAME_RE.test(v)) throw new InvalidArgumentError('must be 1 to 64 letters, digits, \'.\', \'_\' or \'-\'');
  return v;
}

const NETNS_HELP = 'work in this network namespace (a name under /run/netns) instead of the current one';

/** --log-level, for the commands that log. */
const logLevelOption = () => new Option('--log-level <level>', 'least severe log lines written').choices(LOG_LEVELS).default('info');

/** Collects a repeatable option's values. */
const repeatable = (v: string, previous: string[] | undefined): string[] => [...(previous ?? []), v];

/** Builds the command line parser; `run` receives each subcommand's exit code. */
export function buildProgram(io: CliIO, run: (p: Promise<number>) => void): Command {
  const program = new Command('netlink-agent')
    .description('Program Linux networking over rtnetlink: reconcile a desired state, or run this host\'s part of a pod overlay.')
    .version(agentVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();

  const desired = (name: string, summary: string, body: (o: DesiredOptions, io: CliIO) => Promise<number>, extra?: (c: Command) => void) => {
    const c = program
      .command(name)
      .description(summary)
      .requiredOption('-c, --config <file>', 'the desired state: JSON {links, addresses, routes, fdb, neighbors}')
      .option('--netns <name>', NETNS_HELP)
      .option('--protocol <n>', 'route protocol number that marks routes as this owner\'s (default 77; overlay\'s is 78)', intArg(1, 255))
      .option('--owner <name>', 'owner name: links are marked with it (default netlink-agent; overlay\'s is netlink-agent-overlay)', ownerArg)
      .option('--json', 'machine-readable output: JSON lines')
      .addOption(logLevelOption())
      .exitOverride();
    extra?.(c);
    c.action((o: DesiredOptions) => run(body(o, io)));
  };
  desired('plan', 'show what would change, like a terraform plan; exit 0 when nothing would, 2 when changes are pending', plan);
  desired('apply', 'make the changes; exit 0 when the kernel is in the desired state afterwards, 1 otherwise', apply);
  desired('watch', 'keep the kernel in the desired state until SIGTERM/SIGINT (SIGHUP re-reads the file)', watch, (c) =>
    c
      .option('--resync-ms <ms>', 'full re-read interval (default 30000)', intArg(100, 86400000))
      .option('--metrics-addr <host:port>', 'serve Prometheus metrics on /metrics and probes on /healthz and /readyz (ready once converged) at this address (e.g. 127.0.0.1:9464; default off)'),
  );

  const overlayCmd = program
    .command('overlay')
    .description('run this host\'s part of the pod overlay with membership from etcd (or a node file) until SIGTERM/SIGINT; the kernel is left as it is on exit')
    .addOption(new Option('--mode <mode>', 'overlay mode').choices(['host-gw', 'ipip', 'vxlan', 'hybrid', 'wireguard']).makeOptionMandatory())
    .requiredOption('--self <name>', 'this host\'s node name')
    .option('--node-ip <ip>', 'this host\'s underlay address (default: found with the underlay device, see --iface); twice for a dual-stack underlay (one per family)', perFamily)
    .option('--node-ip6 <ip>', 'this host\'s IPv6 underlay address (the same as a second --node-ip)')
    .option('--iface <name|ip|regex>', 'underlay device: a name, an address it holds, or a regular expression matching whole names; repeatable, first match wins (default: the device of the IPv4 default route, else of the IPv6 one); its IPv6 address is used too when the cluster has IPv6 pods', repeatable)
    .option('--iface-can-reach <ip>', 'underlay device: the one the route to this address leaves through, and the source address the kernel picks for it; twice for a dual-stack underlay (one address per family, both routes through one device)', perFamily)
    .option('--metrics-addr <host:port>', 'serve Prometheus metrics on /metrics and probes on /healthz and /readyz at this address (e.g. 127.0.0.1:9464; default off)')
    .option('--pod-cidr <cidr>', 'this host\'s pod subnet (inside --cluster-cidr when both are given); twice for dual-stack pods', perFamily)
    .option('--pod-cidr6 <cidr>', 'this host\'s IPv6 pod subnet (the same as a second --pod-cidr)')
    .option('--cluster-cidr <cidr>', 'the cluster\'s pod range: peers\' subnets must lie in it; without --pod-cidr, this host\'s is allocated from it (atomically, in etcd)')
    .option('--cluster-cidr6 <cidr>', 'the cluster\'s IPv6 pod range (e.g. a /48): this host\'s IPv6 subnet is allocated from it in the same transaction as the IPv4 one')
    .option('--subnet-length <n>', 'prefix length of allocated pod subnets', intArg(1, 30), 24)
    .option('--subnet-length6 <n>', 'prefix length of allocated IPv6 pod subnets (default 64)', intArg(48, 120))
    .addOption(new Option('--etcd <urls>', 'etcd client URLs, comma-separated (http://127.0.0.1:2379)').conflicts('nodes'))
    .option('--nodes <file>', 'instead of etcd: a JSON file of node records, re-read when it changes')
    .option('--prefix <key>', 'etcd key prefix', '/netlink-agent/')
    .option('--ttl <seconds>', 'lease TTL of this host\'s record: how long others keep its routes after it dies', intArg(1, 86400), 15)
    .option('--leave', 'on exit, remove this host\'s record and subnet reservation at once')
    .option('--underlay-dev <dev>', 'underlay device (default: the device that has --node-ip)')
    .option('--vni <n>', 'VXLAN network identifier (default 100)', intArg(1, 16777215))
    .option('--port <n>', 'VXLAN UDP port (default 4789), or the WireGuard listen port (default 51820)', intArg(1, 65535))
    .option('--wg-key-file <path>', 'wireguard: this host\'s private key, created 0600 on first start and kept across restarts (default /var/lib/netlink-agent/wireguard.key; with --netns, give one)')
    .option('--rotate-key', 'wireguard: replace the key (atomically) before registering; every peer takes the new public key from membership (needs --etcd)')
    .option('--wg-keepalive <s>', 'wireguard: persistent keepalive to every peer, seconds (for NAT; default off)', intArg(1, 65535))
    .option('--mtu <n>', 'tunnel MTU (default: underlay MTU minus the encapsulation)', intArg(68, 65535))
    .addOption(
      new Option('--nexthops [on|off]', 'route through nexthop objects: one per remote node, every pod route of the node on it, so a node\'s new IP is one nexthop replace (vxlan: its FDB entry on an FDB nexthop group too); default off: routes carry their gateway')
        .preset(true)
        .argParser(onOff),
    )
    .option('--protocol <n>', 'route protocol number that marks the overlay\'s routes (default 78, so that plan/apply/watch, 77, can run beside it)', intArg(1, 255))
    .option('--owner <name>', 'owner name: the overlay\'s links are marked with it (default netlink-agent-overlay)', ownerArg)
    .option('--runtime-file <path>', 'where to write this node\'s subnet and MTU for the CNI plugin (default /run/netlink-agent/network.json; with --netns, none unless given)')
    .option('--netns <name>', NETNS_HELP)
    .option('--json', 'machine-readable logs: one JSON object per line')
    .addOption(logLevelOption())
    .exitOverride();
  addEtcdAccessOptions(overlayCmd)
    .action((o: OverlayOptions, cmd: Command) => {
      if (o.etcdPassword !== undefined) return cmd.error(PASSWORD_ON_ARGV);
      if (!o.etcd && !o.nodes) return cmd.error('error: give --etcd URL[,URL] or --nodes FILE');
      if (!o.podCidr && !o.podCidr6 && !o.clusterCidr && !o.clusterCidr6 && o.etcd) return cmd.error('error: give --pod-cidr CIDR or --cluster-cidr CIDR');
      run(overlay(o, io));
    });

  const cni = program.command('cni').description('the CNI plugin: install it for the container runtime, collect reservations of pods that are gone').exitOverride();
  cni
    .command('install')
    .description('install the plugin executable (type "netlink-agent") that runtimes start from CNI_PATH; it runs with this Node')
    .option('--bin-dir <dir>', 'where the runtime looks for plugins', '/opt/cni/bin')
    .option('--json', 'machine-readable logs: one JSON object per line')
    .exitOverride()
    .action((o: CniInstallOptions) => run(cniInstall(o, io)));
  cni
    .command('gc')
    .description('release the address reservations of a network whose pods are gone (their veth no longer exists)')
    .requiredOption('--network <name>', 'the network\'s name (the conflist\'s "name")')
    .option('--data-dir <dir>', 'the reservations\' directory (ipam.dataDir; default /var/lib/cni/networks)')
    .option('--netns <name>', NETNS_HELP)
    .option('--json', 'machine-readable logs: one JSON object per line')
    .exitOverride()
    .action((o: CniGcOptions) => run(cniGc(o, io)));
  return program;
}

/** Runs the command line; resolves with the exit code. Never exits the process itself. */
export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let pending: Promise<number> | undefined;
  const program = buildProgram(io, (p) => (pending = p));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; usage errors were already printed.
      return e.exitCode;
    }
    throw e;
  }
  if (!pending) {
    program.outputHelp();
    return EXIT_FAILURE;
  }
  try {
    return await pending;
  } catch (e) {
    // The failure is the last event of the run: a log line like the others.
    if (argv.includes('--json')) new Logger(io.stderr, true).error('error', describeError(e));
    else io.stderr.write(`error: ${describeError(e)}\n`);
    if (process.env.DEBUG && e instanceof Error) io.stderr.write(`${e.stack}\n`);
    return EXIT_FAILURE;
  }
}

/**
 * Exits once stdout and stderr have drained: writes to a pipe are asynchronous, and exiting
 * with some still queued would cut the output (a plan piped to `wc -l`, a --json result).
 */
async function exitWhenDrained(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => exitWhenDrained(code),
    (e) => {
      process.stderr.write(`error: ${describeError(e)}\n`);
      return exitWhenDrained(EXIT_FAILURE);
    },
  );
}
