#!/usr/bin/env node
'use strict';
// Many hosts: three host namespaces with a pod each, one etcd, and one `netlink-agent overlay`
// process per host that registers the host in etcd and follows the others. Proves pod-to-pod
// traffic, shows a host leaving (its lease runs out, the others drop its routes) and coming
// back, then removes everything.
//
// With --mode wireguard each host keeps its key in a 0600 file, publishes the public key in its
// record, and at the end host3 restarts with --rotate-key: the others take its new key; then
// host1's key file is replaced while its agent runs and a SIGHUP makes it take and publish the
// new key: host2 and host3 swap host1's peer (old key out, new key in) without any restart.
//
// Run as root:  node examples/cluster.js [--etcd http://127.0.0.1:2379] [--mode vxlan|host-gw|wireguard] [--keep]
// Without --etcd it starts a throwaway etcd (Debian: apt-get install etcd-server) on 127.0.0.1.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Sandbox, SEED_HOSTS, cleanupOnSignals } = require('./lib/sandbox');
const { EtcdServer, etcdInstalled } = require('./lib/etcd-server');

const HOSTS = [...SEED_HOSTS, { name: 'host3', nodeIP: '10.57.4.22', podCIDR: '192.168.12.0/24', podIP: '192.168.12.10' }];
const CLI = path.join(__dirname, '..', 'dist', 'cli', 'index.js');
// Under TCG (the VM lane, NETLINK_AGENT_VM=1) a node process takes seconds to start and a 3 s
// lease can lapse between keepalives: waits are scaled and the lease is longer.
const SLOW = process.env.NETLINK_AGENT_VM ? 10 : 1;
const TTL = process.env.NETLINK_AGENT_VM ? 10 : 3;
/** wireguard: where the hosts keep their keys (one file each, as on separate machines). */
const KEY_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-cluster-keys-'));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts `netlink-agent overlay` for one host; its log lines are printed with the host's name. */
function startAgent(sandbox, h, mode, etcdUrl, prefix, extra = []) {
  const args = ['overlay', '--mode', mode, '--self', h.name, '--node-ip', h.nodeIP, '--pod-cidr', h.podCIDR, '--cluster-cidr', '192.168.0.0/16',
    '--etcd', etcdUrl, '--prefix', prefix, '--ttl', String(TTL), '--netns', sandbox.hostNs(h.name),
    ...(mode === 'wireguard' ? ['--wg-key-file', path.join(KEY_DIR, `${h.name}.key`)] : []), ...extra];
  console.log(`  $ netlink-agent ${args.join(' ')}`);
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
  let buf = '';
  child.stderr.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      // Drop the timestamp: "... info  nodes: 3 nodes ..." -> "[host1] nodes: 3 nodes ..."
      console.log(`    [${h.name}] ${buf.slice(0, nl).replace(/^\S+ (info|warn|error) +/, (_, l) => (l === 'info' ? '' : `${l.toUpperCase()} `))}`);
      buf = buf.slice(nl + 1);
    }
  });
  child.exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? sig)));
  return child;
}

/** The pod subnets a host routes to (routes of protocol 78, the overlay's; read over rtnetlink). */
async function overlayRoutes(sandbox, name) {
  const nl = await sandbox.rtnl(sandbox.hostNs(name));
  return (await nl.routes.list({ family: 4, protocol: 78 })).map((r) => r.dst).sort();
}

async function waitRoutes(sandbox, name, want, ms = 20000 * SLOW) {
  const t0 = Date.now();
  for (;;) {
    const have = await overlayRoutes(sandbox, name);
    if (have.join() === want.join()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${name}: routes ${have.join(', ') || '(none)'}, expected ${want.join(', ')}`);
    await sleep(50);
  }
}

async function proveTraffic(sandbox, names) {
  let ok = true;
  for (const a of names) {
    for (const b of names) {
      if (a === b) continue;
      const r = await sandbox.traffic(a, b);
      const good = r.udp.ok && r.tcp.ok;
      ok = ok && good;
      console.log(`  ${a} pod ${sandbox.host(a).podIP} -> ${b} pod ${sandbox.host(b).podIP}: UDP ${r.udp.ok ? 'ok' : 'FAILED'}, TCP ${r.tcp.ok ? 'ok' : 'FAILED'}`);
    }
  }
  return ok;
}

/** The key in `file` once it is no longer the one whose public key is `previous`. */
async function readPrivateKeyFileWhenReplaced(read, file, previous) {
  const t0 = Date.now();
  for (;;) {
    const key = await read(file).catch(() => undefined);
    if (key && key.publicKey().toBase64() !== previous) return key;
    if (Date.now() - t0 > 60000 * SLOW) throw new Error(`${file} was not replaced`);
    await sleep(100);
  }
}

async function main() {
  const mode = arg('--mode', 'vxlan');
  let etcdUrl = arg('--etcd');
  const keep = process.argv.includes('--keep');
  const prefix = `/netlink-agent-example-${process.pid}/`;
  let etcd;
  const sandbox = new Sandbox({ hosts: HOSTS });
  cleanupOnSignals(sandbox);
  const agents = new Map();
  let code = 0;
  try {
    console.log(`Three hosts, one etcd, one netlink-agent per host (${mode}).\n`);
    if (!etcdUrl) {
      if (!etcdInstalled()) {
        console.log('This example needs etcd: apt-get install etcd-server (or pass --etcd URL of a running one).');
        return 2;
      }
      etcd = await EtcdServer.start();
      etcdUrl = etcd.url;
      console.log(`etcd: started on ${etcdUrl} (data in ${etcd.dataDir})`);
    } else console.log(`etcd: ${etcdUrl} (keys under ${prefix})`);
    await sandbox.build();
    console.log(`Sandbox: ${HOSTS.map((h) => `${h.name} (${h.nodeIP}, pods ${h.podCIDR})`).join(', ')}\n`);

    console.log('Agents:');
    for (const h of HOSTS) agents.set(h.name, startAgent(sandbox, h, mode, etcdUrl, prefix));
    const others = (name) => HOSTS.filter((h) => h.name !== name).map((h) => h.podCIDR).sort();
    for (const h of HOSTS) await waitRoutes(sandbox, h.name, others(h.name));
    console.log('\nEvery host routes to the pods of the other two. Pod-to-pod traffic:');
    if (!(await proveTraffic(sandbox, HOSTS.map((h) => h.name)))) code = 1;

    console.log(`\nhost3's agent stops (SIGTERM: the kernel keeps its state, the lease of ${TTL} s runs out):`);
    const host3 = agents.get('host3');
    host3.kill('SIGTERM');
    console.log(`  host3's agent exited with ${await host3.exited}`);
    agents.delete('host3');
    const t = await waitRoutes(sandbox, 'host1', ['192.168.11.0/24']);
    await waitRoutes(sandbox, 'host2', ['192.168.10.0/24']);
    console.log(`  host1 and host2 dropped host3's routes ${t} ms later.`);

    console.log('\nhost3 comes back:');
    agents.set('host3', startAgent(sandbox, HOSTS[2], mode, etcdUrl, prefix));
    for (const h of HOSTS) await waitRoutes(sandbox, h.name, others(h.name));
    if (!(await proveTraffic(sandbox, ['host1', 'host3']))) code = 1;

    if (mode === 'wireguard') {
      console.log('\nhost3 restarts with --rotate-key: a new key, published in its record; the others replace its peer:');
      const { WireGuard, readPrivateKeyFile } = require('netlink-agent');
      const file = path.join(KEY_DIR, 'host3.key');
      const before = (await readPrivateKeyFile(file)).publicKey().toBase64();
      const old = agents.get('host3');
      old.kill('SIGTERM');
      await old.exited;
      agents.set('host3', startAgent(sandbox, HOSTS[2], mode, etcdUrl, prefix, ['--rotate-key']));
      const want = (await readPrivateKeyFileWhenReplaced(readPrivateKeyFile, file, before)).publicKey().toBase64();
      const wg = await WireGuard.open({ netns: sandbox.hostNs('host1') });
      try {
        const t0 = Date.now();
        for (;;) {
          const peers = (await wg.get('wg-overlay')).peers.map((p) => p.publicKey.toBase64());
          if (peers.includes(want)) break;
          if (Date.now() - t0 > 60000 * SLOW) throw new Error(`host1 never got host3's new key ${want}`);
          await sleep(100);
        }
        console.log(`  host1 has host3's new public key ${want} as its peer, ${Date.now() - t0} ms after the restart.`);
      } finally {
        wg.close();
      }
      if (!(await proveTraffic(sandbox, ['host1', 'host3']))) code = 1;

      console.log('\nhost1\'s key file is replaced while its agent runs (a new 0600 file renamed over it), then SIGHUP:');
      const { rotatePrivateKey } = require('netlink-agent');
      const file1 = path.join(KEY_DIR, 'host1.key');
      const { key: key1, previous } = await rotatePrivateKey(file1);
      const want1 = key1.publicKey().toBase64();
      const t1 = Date.now();
      agents.get('host1').kill('SIGHUP');
      for (const other of ['host2', 'host3']) {
        const wgo = await WireGuard.open({ netns: sandbox.hostNs(other) });
        try {
          for (;;) {
            const peers = (await wgo.get('wg-overlay')).peers.map((p) => p.publicKey.toBase64());
            if (peers.includes(want1) && !peers.includes(previous.toBase64())) break;
            if (Date.now() - t1 > 60000 * SLOW) throw new Error(`${other} never swapped host1's key ${previous.toBase64()} for ${want1}: ${peers.join(' ')}`);
            await sleep(100);
          }
        } finally {
          wgo.close();
        }
        console.log(`  ${other} has host1's new public key ${want1} as its peer (the old one removed), ${Date.now() - t1} ms after the SIGHUP.`);
      }
      if (!(await proveTraffic(sandbox, ['host1', 'host2', 'host3']))) code = 1;
    }

    console.log(code === 0 ? '\nAll pods reach each other.' : '\nSome traffic did not arrive.');
    if (keep) console.log(`\n--keep: the sandbox stays (namespaces: ${sandbox.created.join(' ')}); agents and etcd are stopped.`);
    return code;
  } finally {
    for (const [, child] of agents) child.kill('SIGTERM');
    await Promise.all([...agents.values()].map((c) => c.exited));
    if (!keep) await sandbox.destroy();
    else for (const nl of sandbox.handles.values()) nl.close();
    if (etcd) await etcd.stop();
    fs.rmSync(KEY_DIR, { recursive: true, force: true });
    console.log(keep ? '' : '\nRemoved the sandbox and the etcd.');
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`error: ${e && e.message ? e.message : e}`);
    if (process.env.DEBUG) console.error(e);
    process.exit(1);
  },
);
