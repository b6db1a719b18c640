'use strict';
// Runs inside a pod's namespace (Netns.worker): a UDP+TCP echo server on both families, or a
// client that sends one UDP datagram (retried while neighbours resolve) and makes one TCP
// connection to `host`, and reports what came back and from where.
const dgram = require('node:dgram');
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');

const { role, port } = workerData;

if (role === 'server') {
  const udp = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (msg, rinfo) => udp.send(Buffer.concat([Buffer.from(`echo from ${rinfo.address}:`), msg]), rinfo.port, rinfo.address));
  const tcp = net.createServer((s) => s.on('data', (d) => s.end(Buffer.concat([Buffer.from(`echo from ${s.remoteAddress}:`), d]))));
  let ready = 0;
  const done = () => ++ready === 2 && parentPort.postMessage({ ready: true });
  udp.bind(port, '::', done);
  tcp.listen({ port, host: '::', ipv6Only: false }, done);
} else {
  const { host, timeoutMs, payload } = workerData;
  const family = host.includes(':') ? 'udp6' : 'udp4';
  const udpTry = () =>
    new Promise((resolve) => {
      const s = dgram.createSocket(family);
      const deadline = Date.now() + timeoutMs;
      let timer;
      const finish = (v) => {
        clearTimeout(timer);
        s.close();
        resolve(v);
      };
      s.on('message', (msg) => finish({ ok: msg.toString().endsWith(`:${payload}`), reply: msg.toString() }));
      s.on('error', (e) => finish({ ok: false, error: e.message }));
      const send = () => {
        if (Date.now() > deadline) return finish({ ok: false, error: 'timeout' });
        s.send(payload, port, host);
        timer = setTimeout(send, 200);
      };
      send();
    });
  const tcpTry = () =>
    new Promise((resolve) => {
      const s = net.connect({ host, port, timeout: timeoutMs });
      let got = '';
      s.on('connect', () => s.write(payload));
      s.on('data', (d) => (got += d));
      s.on('end', () => resolve({ ok: got.endsWith(`:${payload}`), reply: got }));
      s.on('timeout', () => {
        s.destroy();
        resolve({ ok: false, error: 'timeout' });
      });
      s.on('error', (e) => resolve({ ok: false, error: e.message }));
    });
  (async () => {
    const udp = await udpTry();
    const tcp = await tcpTry();
    parentPort.postMessage({ result: { udp, tcp } });
  })();
}
