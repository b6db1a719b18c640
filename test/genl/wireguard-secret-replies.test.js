'use strict';
// Key hygiene on the receive side (issue 22): the replies to a request marked secret (WireGuard's
// GET_DEVICE, which carries the device's private key) are zeroed once parsed, in the buffer the
// addon handed to JavaScript and in the addon's own receive scratch. The send side is proved in
// wireguard-secret-buffer.test.js.
//
// Every buffer the addon hands out is recorded by a kernel stand-in that wraps the real one, so
// the test looks where the bytes went without the code under test telling it. Each check runs
// first without `secret`, where the bytes must be found (so the check can fail).
const assert = require('node:assert/strict');
const { nativeKernel } = require('../../dist/addon');
const wire = require('../../dist/wire');
const { Rtnl } = require('../../dist');
const WG = require('../../dist/genl/wireguard');
const { encodeWgGetDevice, parseWgDeviceMessage } = require('../../dist/genl/wireguard/codec');
const { kernelDescribe, netnsPerTest } = require('../support/kernel');
const { HAS_WIREGUARD, NO_WIREGUARD } = require('../support/wg');

/** The real kernel, with every receive buffer the addon returns kept in `seen` (and every socket in `sockets`). */
function recordingKernel() {
  const real = nativeKernel();
  const seen = [];
  const sockets = [];
  const kernel = {
    openSocket(...args) {
      const raw = real.openSocket(...args);
      sockets.push(raw);
      return new Proxy(raw, {
        get(target, key) {
          if (key === 'drain') {
            return (...a) => {
              const r = target.drain(...a);
              if (r && r[0]) seen.push(r[0]);
              return r;
            };
          }
          if (key === 'drainInto') {
            // The socket's own buffers, kept from read to read: the one handed in is where the bytes went.
            return (...a) => {
              const r = target.drainInto(...a);
              if (r !== null && !seen.includes(a[0])) seen.push(a[0]);
              if (Array.isArray(r) && r[0]) seen.push(r[0]);
              return r;
            };
          }
          if (key === 'start') {
            return (cb) =>
              target.start((data, meta, errno) => {
                if (data) seen.push(data);
                cb(data, meta, errno);
              });
          }
          const v = target[key];
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    },
    openNetns: (p) => real.openNetns(p),
    closeNetns: (fd) => real.closeNetns(fd),
  };
  const inReceived = (needle) => seen.some((b) => b.includes(needle));
  const inScratch = (needle) => sockets.some((s) => s.receiveScratchIncludes(needle));
  return { kernel, seen, inReceived, inScratch };
}

describe('wire: replies to a request marked secret are zeroed once parsed (any kernel, no root)', function () {
  // The controller's answer names every family: "nlctrl" stands in for a secret here.
  const MARK = Buffer.from('nlctrl\0');

  it('without secret the reply stays in the received buffer and the scratch (so the check can fail); with secret neither holds it, and the result is whole', async function () {
    for (const secret of [false, true]) {
      const rec = recordingKernel();
      const genl = wire.GenlSocket.open({ kernel: rec.kernel, followFamilies: false });
      try {
        const families = await genl.listFamilies(secret ? { secret: true } : {});
        assert.ok(
          families.some((f) => f.name === 'nlctrl'),
          'the parse saw the reply before it was zeroed',
        );
        assert.ok(rec.seen.length > 0, 'the addon handed out at least one buffer');
        assert.equal(rec.inReceived(MARK), !secret, `secret=${secret}: the received buffer ${secret ? 'still holds' : 'lost'} the reply`);
        assert.equal(rec.inScratch(MARK), !secret, `secret=${secret}: the addon's scratch ${secret ? 'still holds' : 'lost'} the reply`);
      } finally {
        genl.close();
      }
    }
  });

  it('the view a dump\'s parse is given (kept, so copied out of the receive buffer) is zeroed after the parse of a secret dump, and only then', async function () {
    const { encodeGetFamily } = require('../../dist/wire/genl-codec');
    for (const secret of [false, true]) {
      const rec = recordingKernel();
      const genl = wire.GenlSocket.open({ kernel: rec.kernel, followFamilies: false });
      try {
        const views = [];
        const seenByParse = [];
        const parse = (m) => {
          views.push(m);
          seenByParse.push(m.buf.subarray(m.start, m.end).includes(MARK));
          return m.type;
        };
        await genl.socket.dump((w) => encodeGetFamily(w), parse, secret ? { secret: true } : {});
        assert.ok(seenByParse.some(Boolean), 'the parse saw the reply whole');
        const kept = views.some((v) => v.buf.subarray(v.start, v.end).includes(MARK));
        assert.equal(kept, !secret, `secret=${secret}: the view given to the parse ${secret ? 'still holds' : 'lost'} the reply`);
      } finally {
        genl.close();
      }
    }
  });

  it('a secret dump whose parse fails still has its later replies zeroed, and the socket goes on', async function () {
    const rec = recordingKernel();
    const genl = wire.GenlSocket.open({ kernel: rec.kernel, followFamilies: false });
    try {
      let calls = 0;
      const parse = () => {
        calls++;
        throw new wire.NetlinkParseError('refused by the test', 0);
      };
      await assert.rejects(genl.socket.dump((w) => require('../../dist/wire/genl-codec').encodeGetFamily(w), parse, { secret: true }), /refused by the test/);
      await new Promise((r) => setTimeout(r, 50)); // the dump's tail arrives after the rejection
      assert.equal(calls, 1);
      assert.ok(!rec.inReceived(MARK), 'a reply after the failed parse was left in the received buffer');
      assert.ok(!rec.inScratch(MARK), 'the scratch still holds the replies');
      const again = await genl.listFamilies();
      assert.ok(again.some((f) => f.name === 'nlctrl'), 'the socket still works');
    } finally {
      genl.close();
    }
  });
});

const title = HAS_WIREGUARD ? 'wireguard: the GET_DEVICE reply holding the private key is zeroed once parsed' : `wireguard: the GET_DEVICE reply holding the private key is zeroed once parsed (${NO_WIREGUARD})`;

kernelDescribe(title, function () {
  before(function () {
    if (!HAS_WIREGUARD) this.skip();
  });
  const ns = netnsPerTest('wgsec');

  it('a plain dump leaves the key in the received buffer and the scratch; WireGuard.get() and sync() leave it in neither', async function () {
    const nl = await Rtnl.open({ netns: ns() });
    const rec = recordingKernel();
    const wg = await WG.WireGuard.open({ netns: ns(), kernel: rec.kernel });
    try {
      await nl.links.add({ kind: 'wireguard', name: 'wg0', up: true });
      const key = WG.PrivateKey.generate();
      const peer = WG.PrivateKey.generate().publicKey();
      await wg.set('wg0', { privateKey: key, listenPort: 51820, peers: [{ publicKey: peer, allowedIps: ['10.9.0.0/24'] }] });
      const bytes = key.toBytes();

      // Control: the same GET without secret.
      const parts = await wg.genl.dump('wireguard', (w, fam) => encodeWgGetDevice(w, fam.id, 'wg0'), parseWgDeviceMessage);
      assert.ok(parts[0].values.privateKey.equals(key));
      assert.ok(rec.inReceived(bytes), 'the control dump left the key in the received buffer');
      assert.ok(rec.inScratch(bytes), 'the control dump left the key in the scratch');
      for (const b of rec.seen) b.fill(0); // forget the control's copies
      assert.ok(!rec.inReceived(bytes));

      const dev = await wg.get('wg0');
      assert.ok(dev.privateKey.equals(key), 'get() read the key');
      assert.equal(dev.peers.length, 1);
      assert.ok(dev.peers[0].publicKey.equals(peer));
      assert.deepEqual(dev.peers[0].allowedIps, ['10.9.0.0/24']);
      assert.ok(!rec.inReceived(bytes), 'get(): the received buffer still holds the private key');
      assert.ok(!rec.inScratch(bytes), 'get(): the addon scratch still holds the private key');

      // sync() reads the device first: nothing differs, nothing sent, nothing left behind.
      const r = await wg.sync('wg0', { privateKey: key, listenPort: 51820, peers: [{ publicKey: peer, allowedIps: ['10.9.0.0/24'] }] });
      assert.equal(r.messages, 0);
      assert.ok(!rec.inReceived(bytes), 'sync(): the received buffer still holds the private key');
      assert.ok(!rec.inScratch(bytes), 'sync(): the addon scratch still holds the private key');
      bytes.fill(0);
    } finally {
      wg.close();
      nl.close();
    }
  });
});
