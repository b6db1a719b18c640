'use strict';
// deploy/: the systemd unit and the Kubernetes DaemonSet. No API server is available on these
// machines, so the manifest is parsed as YAML and its fields checked here (the things that make
// a DaemonSet for this agent right: host network, only NET_ADMIN and SYS_ADMIN, probes on the
// metrics port, the CNI plugin installed by an init step); the agent's flags in both files are
// parsed by the agent's own command line parser; the unit goes through `systemd-analyze verify`
// where systemd is installed.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const YAML = require('yaml');
const { buildProgram } = require('../../dist/cli/index.js');
const { cni } = require('../../dist');

const ROOT = path.join(__dirname, '..', '..');
const DEPLOY = path.join(ROOT, 'deploy');
const CLI = path.join(ROOT, 'dist', 'cli', 'index.js');

/** Parses `netlink-agent <argv>` with the real parser; returns the overlay options it would run with (nothing runs). */
function parseOverlayArgs(argv) {
  const err = [];
  const io = { stdout: { write: () => true }, stderr: { write: (s) => err.push(s) } };
  const program = buildProgram(io, () => assert.fail('nothing may run'));
  let got;
  program.commands.find((c) => c.name() === 'overlay').action((o) => (got = o));
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    assert.fail(`${argv.join(' ')}: ${e.message} ${err.join('')}`);
  }
  assert.ok(got, `overlay did not parse: ${argv.join(' ')}`);
  return got;
}

/** The young generation node gets with this NODE_OPTIONS (node refuses options it does not
 * allow there): its new space in MB after a burst of allocation. */
function newSpaceMB(nodeOptions) {
  // Short-lived garbage first: the young generation grows to its bound under allocation.
  const script = "let k = []; for (let i = 0; i < 3e6; i++) { k.push({ i }); if (k.length > 1e5) k = []; } process.stdout.write(String(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))";
  const r = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `node with NODE_OPTIONS=${nodeOptions}: ${r.stderr}`);
  return Number(r.stdout) / 1048576;
}

/** Replaces $(VAR) as the kubelet does with the container's env values. */
const expand = (s, env) => s.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (_, k) => {
  assert.ok(k in env, `$(${k}) is not defined in the container's env`);
  return env[k];
});

describe('deploy: the DaemonSet manifest', function () {
  const text = fs.readFileSync(path.join(DEPLOY, 'daemonset.yaml'), 'utf8');
  const docs = YAML.parseAllDocuments(text);
  const objects = docs.map((d) => {
    assert.deepEqual(d.errors, [], 'YAML errors');
    return d.toJS();
  });
  const byKind = (k) => objects.filter((o) => o.kind === k);

  it('is YAML of a ConfigMap and a DaemonSet, apps/v1, whose selector selects its pods', function () {
    assert.deepEqual(objects.map((o) => `${o.apiVersion} ${o.kind}`), ['v1 ConfigMap', 'apps/v1 DaemonSet']);
    const [ds] = byKind('DaemonSet');
    for (const o of objects) assert.equal(o.metadata.namespace, 'kube-system');
    const labels = ds.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) assert.equal(labels[k], v, `selector ${k}`);
    assert.equal(ds.spec.updateStrategy.type, 'RollingUpdate');
  });

  it('host network, not privileged, capabilities NET_ADMIN and SYS_ADMIN only', function () {
    const pod = byKind('DaemonSet')[0].spec.template.spec;
    assert.equal(pod.hostNetwork, true);
    assert.ok(pod.tolerations.some((t) => t.operator === 'Exists'), 'runs on every node');
    for (const c of [...pod.initContainers, ...pod.containers]) assert.equal(c.securityContext.privileged, false, c.name);
    const agent = pod.containers.find((c) => c.name === 'agent');
    assert.deepEqual(agent.securityContext.capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN'] });
    assert.equal(agent.securityContext.allowPrivilegeEscalation, false);
  });

  it('the agent runs with a bounded young generation (NODE_OPTIONS node accepts)', function () {
    const agent = byKind('DaemonSet')[0].spec.template.spec.containers.find((c) => c.name === 'agent');
    const opt = agent.env.find((e) => e.name === 'NODE_OPTIONS');
    assert.equal(opt?.value, '--max-semi-space-size=4');
    assert.ok(newSpaceMB(opt.value) <= 8, 'new space bounded');
    assert.ok(newSpaceMB('') > 8, 'the default is larger (else the setting would be moot)');
  });

  it('the agent\'s args parse with the agent\'s own parser; probes GET /healthz and /readyz on its metrics port', function () {
    const [cm] = byKind('ConfigMap');
    const pod = byKind('DaemonSet')[0].spec.template.spec;
    const agent = pod.containers.find((c) => c.name === 'agent');
    assert.deepEqual(agent.command, ['netlink-agent']);
    // The env as the kubelet would fill it for a node "node-a" at 10.57.4.20.
    const env = {};
    for (const e of agent.env) {
      const ref = e.valueFrom;
      if (ref === undefined) env[e.name] = e.value;
      else if (ref.fieldRef) env[e.name] = { 'spec.nodeName': 'node-a', 'status.hostIP': '10.57.4.20' }[ref.fieldRef.fieldPath];
      else {
        assert.equal(ref.configMapKeyRef.name, cm.metadata.name);
        assert.ok(ref.configMapKeyRef.key in cm.data, `ConfigMap key ${ref.configMapKeyRef.key}`);
        env[e.name] = cm.data[ref.configMapKeyRef.key];
      }
      assert.notEqual(env[e.name], undefined, e.name);
    }
    const o = parseOverlayArgs(agent.args.map((a) => expand(a, env)));
    assert.equal(o.self, 'node-a');
    assert.equal(o.mode, 'vxlan');
    assert.equal(o.etcd, 'http://10.57.4.2:2379');
    assert.equal(o.clusterCidr, '10.244.0.0/16');
    assert.equal(o.ifaceCanReach, '10.57.4.20');
    assert.equal(o.metricsAddr, '10.57.4.20:9464');
    assert.equal(o.nexthops, false, 'the ConfigMap\'s nexthops: "off"');
    assert.equal(parseOverlayArgs(agent.args.map((a) => expand(a, { ...env, NEXTHOPS: 'on' }))).nexthops, true);
    const port = agent.ports.find((p) => p.name === 'metrics');
    assert.equal(String(port.containerPort), o.metricsAddr.split(':')[1]);
    assert.deepEqual(agent.livenessProbe.httpGet, { path: '/healthz', port: 'metrics' });
    assert.deepEqual(agent.readinessProbe.httpGet, { path: '/readyz', port: 'metrics' });
    // Liveness must allow for the agent's own bound on a silent reconciler (180 s) being the one to decide.
    assert.ok(agent.livenessProbe.periodSeconds * agent.livenessProbe.failureThreshold >= 60);
  });

  it('an init step installs the CNI plugin and a conflist the plugin accepts; every mount has its volume', function () {
    const [cm] = byKind('ConfigMap');
    const pod = byKind('DaemonSet')[0].spec.template.spec;
    const init = pod.initContainers.find((c) => c.name === 'install-cni');
    const script = init.args.join(' ');
    assert.match(script, /cni install --bin-dir \/opt\/cni\/bin/);
    assert.match(script, /\/etc\/cni\/net\.d\/10-netlink-agent\.conflist/);
    const conflist = JSON.parse(cm.data['10-netlink-agent.conflist']);
    for (const plugin of conflist.plugins) {
      assert.equal(plugin.type, 'netlink-agent');
      const conf = cni.parseNetConf({ cniVersion: conflist.cniVersion, name: conflist.name, ...plugin });
      assert.equal(conf.runtimeFile, '/run/netlink-agent/network.json', 'the plugin reads the file the agent writes');
    }
    const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
    for (const c of [...pod.initContainers, ...pod.containers]) {
      for (const m of c.volumeMounts) assert.ok(volumes.has(m.name), `${c.name}: volume ${m.name}`);
    }
    const agent = pod.containers.find((c) => c.name === 'agent');
    const run = agent.volumeMounts.find((m) => m.mountPath === '/run/netlink-agent');
    assert.equal(volumes.get(run.name).hostPath.path, '/run/netlink-agent', 'the runtime file lands on the host');
  });
});

describe('deploy: the systemd unit', function () {
  const text = fs.readFileSync(path.join(DEPLOY, 'netlink-agent.service'), 'utf8');
  /** [Section] key=value, repeated keys kept in order. */
  const unit = {};
  let section;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      section = unit[s[1]] = {};
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv && section, `not a unit line: ${line}`);
    (section[kv[1]] ??= []).push(kv[2]);
  }
  const one = (sec, key) => {
    assert.equal(unit[sec]?.[key]?.length, 1, `${sec}.${key}`);
    return unit[sec][key][0];
  };

  it('starts the overlay with flags the agent parses; SIGHUP reloads, SIGTERM stops, exit 2 is not restarted', function () {
    const exec = one('Service', 'ExecStart').split(/\s+/);
    assert.equal(exec[0], '/usr/bin/netlink-agent');
    // %H is the host name; $NETLINK_AGENT_ARGS is split on whitespace by systemd.
    const example = '--mode vxlan --etcd http://10.57.4.2:2379 --cluster-cidr 10.244.0.0/16 --iface-can-reach 10.57.4.2';
    const argv = exec.slice(1).flatMap((a) => (a === '$NETLINK_AGENT_ARGS' ? example.split(' ') : [a.replace('%H', 'host1')]));
    const o = parseOverlayArgs(argv);
    assert.equal(o.self, 'host1');
    assert.equal(o.metricsAddr, '127.0.0.1:9464', 'metrics on loopback');
    assert.equal(o.ifaceCanReach, '10.57.4.2');
    assert.equal(one('Service', 'ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(one('Service', 'KillSignal'), 'SIGTERM');
    assert.equal(one('Service', 'RestartPreventExitStatus'), '2');
    assert.equal(one('Install', 'WantedBy'), 'multi-user.target');
  });

  it('runs node with a bounded young generation (NODE_OPTIONS node accepts)', function () {
    const env = unit.Service.Environment.map((e) => e.split(/=(.*)/s)).filter(([k]) => k === 'NODE_OPTIONS');
    assert.equal(env.length, 1);
    assert.ok(newSpaceMB(env[0][1]) <= 8, 'new space bounded');
  });

  it('keeps the runtime file across stops and has only CAP_NET_ADMIN and CAP_SYS_ADMIN', function () {
    assert.equal(one('Service', 'RuntimeDirectory'), 'netlink-agent');
    assert.equal(one('Service', 'RuntimeDirectoryPreserve'), 'yes');
    assert.equal(one('Service', 'CapabilityBoundingSet'), 'CAP_NET_ADMIN CAP_SYS_ADMIN');
    assert.equal(one('Service', 'AmbientCapabilities'), 'CAP_NET_ADMIN CAP_SYS_ADMIN');
    assert.equal(one('Service', 'NoNewPrivileges'), 'yes');
    assert.match(one('Service', 'RestrictAddressFamilies'), /\bAF_NETLINK\b/);
  });

  it('systemd-analyze verify accepts it', function () {
    const r0 = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (r0.error) {
      console.log('systemd unit verify skipped: systemd-analyze is not installed');
      return this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-unit-'));
    try {
      // The same unit with the agent where this checkout has it (it is not installed here).
      const file = path.join(dir, 'netlink-agent.service');
      fs.writeFileSync(file, text.replace('/usr/bin/netlink-agent', `${process.execPath} ${CLI}`));
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.equal(r.stderr.split('\n').filter((l) => l.includes('netlink-agent.service')).join('\n'), '');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
