'use strict';
// Runs inside a pod's network namespace (started with Netns.worker): a UDP+TCP echo server,
// or a client that sends one UDP datagram (retried: the first may wait on ARP) and makes one
// TCP connection, and reports what came back.
const dgram = require('node:dgram');
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');

const { role, port } = workerData;

if (role === 'server') {
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => udp.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address));
  const tcp = net.createServer((s) => s.on('data', (d) => s.end(Buffer.concat([Buffer.from('echo:'), d]))));
  let ready = 0;
  const done = () => ++ready === 2 && parentPort.postMessage({ ready: true });
  udp.bind(port, '0.0.0.0', done);
  tcp.listen(port, '0.0.0.0', done);
} else {
  const { host, timeoutMs, payload } = workerData;
  const udpTry = () =>
    new Promise((resolve) => {
      const s = dgram.createSocket('udp4');
      const deadline = Date.now() + timeoutMs;
      let timer;
      const finish = (v) => {
        clearTimeout(timer);
        s.close();
        resolve(v);
      };
      s.on('message', (msg, rinfo) => finish({ ok: msg.toString() === `echo:${payload}`, reply: msg.toString(), from: rinfo.address }));
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
      s.on('end', () => resolve({ ok: got === `echo:${payload}`, reply: got, local: s.localAddress }));
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
