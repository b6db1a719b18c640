'use strict';
/**
 * What every mode example does: build a sandbox cluster in namespaces, run one OverlayAgent per
 * host, prove pod-to-pod UDP and TCP both ways, print a report, remove the sandbox.
 *   --keep              leave the sandbox for inspection (ip netns exec ...)
 *   --config FILE.json  instead apply ONE host's overlay config to the CURRENT namespace, i.e.
 *                       the real host this runs on: { mode, self, nodes, underlayDev?, vni?, ... }
 */
const fs = require('node:fs');
const { OverlayAgent, Rtnl } = require('netlink-agent');
const { Sandbox, cleanupOnSignals } = require('./sandbox');

const KERNEL_OPTION = { ipip: 'CONFIG_NET_IPIP', vxlan: 'CONFIG_VXLAN', veth: 'CONFIG_VETH', bridge: 'CONFIG_BRIDGE' };

/** One sentence when the kernel lacks a device kind the mode needs; undefined otherwise. */
function missingKernelSupport(result) {
  for (const f of result.failed) {
    if (f.op.kind === 'link' && f.op.desired && (f.error.code === 'EOPNOTSUPP' || /Unknown device type/i.test(f.error.message))) {
      const kind = f.op.desired.kind;
      return `This kernel cannot create ${kind} devices (${KERNEL_OPTION[kind] || 'its kernel option'} is not enabled and no module can be loaded): run this example on a kernel with ${kind} support, e.g. inside the VM lane with \`npm run test:vm\`.`;
    }
  }
  return undefined;
}

function printFailures(result, where) {
  for (const f of result.failed) console.log(`  ! ${where}: ${f.op.action} ${f.op.kind} ${f.op.key}: ${f.error.message}`);
}

async function applyConfigFile(file) {
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  console.log(`Applying ${file} to THIS host's network namespace (mode ${config.mode}, self ${config.self}).`);
  const nl = await Rtnl.open();
  const agent = new OverlayAgent({ nl, ...config });
  try {
    const result = await agent.setNodes(config.nodes);
    console.log(result.plan.text());
    printFailures(result, config.self);
    const why = missingKernelSupport(result);
    if (why) console.log(why);
    return result.failed.length ? 1 : 0;
  } finally {
    await agent.stop();
    nl.close();
  }
}

/**
 * @param {{ title: string, mode: string, hosts?: object[], agent?: object, families?: number[] }} spec
 *   families: the pod address families to send over (default [4]; dual stack [4, 6]).
 */
async function runExample(spec) {
  const args = process.argv.slice(2);
  const configAt = args.indexOf('--config');
  if (configAt >= 0) return applyConfigFile(args[configAt + 1]);
  const keep = args.includes('--keep');

  const sandbox = new Sandbox({ hosts: spec.hosts });
  cleanupOnSignals(sandbox);
  const agents = [];
  let code = 0;
  try {
    console.log(`${spec.title}\n`);
    await sandbox.build();
    const list = (...xs) => xs.filter(Boolean).join(' + ');
    console.log(`Sandbox: ${sandbox.hosts.map((h) => `${h.name} (${list(h.nodeIP, h.nodeIP6)}, pods ${list(h.podCIDR, h.podCIDR6)}, pod ${list(h.podIP, h.podIP6)})`).join(', ')}\n`);
    for (const h of sandbox.hosts) {
      const nl = await sandbox.rtnl(sandbox.hostNs(h.name));
      const agent = new OverlayAgent({ nl, mode: spec.mode, self: h.name, ...(spec.agent || {}) });
      agents.push(agent);
      const result = await agent.setNodes(sandbox.nodes());
      const why = missingKernelSupport(result);
      if (why) {
        console.log(why);
        return 2;
      }
      console.log(`${h.name} (netns ${sandbox.hostNs(h.name)}): ${result.applied.length} changes, ${result.requests} requests`);
      for (const line of result.plan.text().split('\n').slice(0, -1)) console.log(`  ${line}`);
      printFailures(result, h.name);
      if (!result.converged) code = 1;
    }
    console.log('\nPod-to-pod traffic (sockets opened inside the pod namespaces):');
    const hosts = sandbox.hosts.map((h) => h.name);
    for (const family of spec.families || [4]) {
      const podIP = (h) => (family === 6 ? sandbox.host(h).podIP6 : sandbox.host(h).podIP);
      for (const a of hosts) {
        for (const b of hosts) {
          if (a === b) continue;
          const r = await sandbox.traffic(a, b, { family });
          const ok = r.udp.ok && r.tcp.ok;
          if (!ok) code = 1;
          const detail = (x) => (x.ok ? 'ok' : `FAILED (${x.error || x.reply})`);
          console.log(`  ${a} pod ${podIP(a)} -> ${b} pod ${podIP(b)}: UDP ${detail(r.udp)}, TCP ${detail(r.tcp)}`);
        }
      }
    }
    console.log(code === 0 ? '\nAll pods reach each other.' : '\nSome traffic did not arrive.');
    if (keep) {
      console.log(`\n--keep: the sandbox stays. Namespaces: ${sandbox.created.join(' ')}`);
      console.log(`Try: ip netns exec ${sandbox.hostNs(hosts[0])} ip route; remove with: for n in ${sandbox.created.join(' ')}; do ip netns del $n; done`);
    }
    return code;
  } finally {
    for (const a of agents) await a.stop();
    if (!keep) await sandbox.destroy();
    else for (const nl of sandbox.handles.values()) nl.close();
  }
}

/** Runs main() and exits with its code; errors print one line and exit 1. */
function main(spec) {
  runExample(spec).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`error: ${e && e.message ? e.message : e}`);
      if (process.env.DEBUG) console.error(e);
      process.exit(1);
    },
  );
}

module.exports = { runExample, main, missingKernelSupport };
