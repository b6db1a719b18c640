'use strict';
// examples/wireguard.js with a packet capture on the underlay (VM lane: needs WireGuard).
// While the pods talk, AF_PACKET sockets (test/support/packet-capture.py, run by this test in
// host1's namespace) watch host1's underlay NIC (eth0) and its pod's veth (vpod): the pod side
// must carry the marker in clear (the control: the capture works and the marker was sent), the
// underlay only UDP to/from the listen port (plus ARP/neighbour discovery) and never the marker.
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { kernelDescribe } = require('../support/kernel');
const { HAS_WIREGUARD, NO_WIREGUARD } = require('../support/wg');

const CAPTURE = path.join(__dirname, '../support/packet-capture.py');

/** Starts the capture; resolves { stop(): Promise<summary> } once it listens. */
function startCapture(ns, marker, ifaces) {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, 'python3', CAPTURE, marker, ...ifaces], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.startsWith('ready\n')) {
        out = out.slice(6);
        resolve({
          stop: () =>
            new Promise((res, rej) => {
              child.on('exit', (code) => (code === 0 ? res(JSON.parse(out)) : rej(new Error(`capture exited ${code}: ${err}`))));
              child.stdin.end();
            }),
        });
      }
    });
    child.on('exit', (code) => {
      if (!out.includes('{')) reject(new Error(`capture exited ${code} before listening: ${err}`));
    });
  });
}

const title = `examples/wireguard.js: the underlay carries only encrypted UDP${HAS_WIREGUARD ? '' : ` (${NO_WIREGUARD})`}`;

kernelDescribe(title, function () {
  before(function () {
    if (!HAS_WIREGUARD) this.skip();
  });

  it('pods talk both ways; on the underlay only UDP to the listen port, the marker never in clear', async function () {
    this.timeout(300000);
    const { run, LISTEN_PORT } = require('../../examples/wireguard');
    const marker = `NLA-MARKER-${randomBytes(6).toString('hex')}`;
    let capture;
    let seen;
    const lines = [];
    const code = await run({
      payload: marker,
      log: (l) => lines.push(l),
      beforeTraffic: async (sandbox) => {
        capture = await startCapture(sandbox.hostNs('host1'), marker, ['eth0', 'vpod']);
      },
      afterTraffic: async () => {
        seen = await capture.stop();
      },
    });
    const report = lines.join('\n');
    assert.equal(code, 0, report);
    assert.match(report, /host1 pod \S+ -> host2 pod \S+: UDP ok, TCP ok/);
    assert.match(report, /host2 pod \S+ -> host1 pod \S+: UDP ok, TCP ok/);
    const { eth0, vpod } = seen;
    const detail = JSON.stringify(seen);
    // Control: the pod side saw the marker in clear (the pods sent it, the capture works).
    assert.ok(vpod.marker > 0, `the marker on the pod's veth: ${detail}`);
    assert.ok((vpod.ipv4.tcp || 0) > 0 && (vpod.ipv4.udp || 0) > 0, detail);
    // The underlay: never the marker; IPv4 only UDP from and to the listen port.
    assert.equal(eth0.marker, 0, `the marker crossed the underlay in clear: ${detail}`);
    assert.ok((eth0.ipv4.udp || 0) > 0, detail);
    assert.deepEqual(Object.keys(eth0.ipv4), ['udp'], detail);
    assert.deepEqual(Object.keys(eth0.tcpPorts), [], detail);
    for (const pair of Object.keys(eth0.udpPorts)) assert.deepEqual(pair.split('>').map(Number), [LISTEN_PORT, LISTEN_PORT], `UDP ${pair} on the underlay: ${detail}`);
    // Besides that only ARP and neighbour discovery (ICMPv6) may appear.
    assert.deepEqual(Object.keys(eth0.other), [], detail);
    for (const k of Object.keys(eth0.ipv6)) assert.equal(k, 'icmpv6', detail);
  });
});
