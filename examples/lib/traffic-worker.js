'use strict';
// Runs inside a pod's network namespace (started with Netns.worker): a UDP+TCP echo server on
// both families (posting { seen } with each client's address, so a test can tell there was no
// NAT), or a client that sends one UDP datagram (retried: the first may wait on ARP/ND) and makes
// one TCP connection to an IPv4 or IPv6 address, and reports what came back.
const dgram = require('node:dgram');
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');

const { role, port } = workerData;

if (role === 'server') {
  // IPv4 clients arrive as ::ffff:a.b.c.d on the dual-stack sockets; report them as a.b.c.d.
  const plain = (a) => a.replace(/^::ffff:(?=\d+\.)/, '');
  const udp = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  udp.on('message', (msg, rinfo) => {
    parentPort.postMessage({ seen: { proto: 'udp', address: plain(rinfo.address) } });
    udp.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address);
  });
  const tcp = net.createServer((s) => {
    parentPort.postMessage({ seen: { proto: 'tcp', address: plain(s.remoteAddress) } });
    s.on('data', (d) => s.end(Buffer.concat([Buffer.from('echo:'), d])));
  });
  let ready = 0;
  const done = () => ++ready === 2 && parentPort.postMessage({ ready: true });
  udp.bind(port, '::', done);
  tcp.listen({ port, host: '::', ipv6Only: false }, done);
} else {
  const { host, timeoutMs, payload } = workerData;
  const udpTry = () =>
    new Promise((resolve) => {
      const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
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
