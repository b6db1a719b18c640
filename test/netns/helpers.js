'use strict';
// Shared by the netns tests: namespaces made with the library's own Netns.create (the thing
// under test), each deleted after its test whatever happened; and a small RPC to a worker.
const { Netns } = require('../../dist/netns');

/** Registers afterEach cleanup; returns helpers that name ("nla-TAG-PID-N"), create and track namespaces. */
function ownNamespaces(tag) {
  const made = new Set();
  let n = 0;
  const name = () => `nla-${tag}-${process.pid}-${++n}`;
  afterEach(function () {
    for (const ns of made) {
      try {
        Netns.delete(ns);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e;
      }
    }
    made.clear();
  });
  return {
    name,
    create(ns = name()) {
      made.add(ns);
      Netns.create(ns);
      return ns;
    },
    track(ns) {
      made.add(ns);
      return ns;
    },
  };
}

/**
 * Talks to a worker running test/netns/fixtures/peer.js: `ready` resolves when it is up,
 * call(op, args) resolves with its answer; a worker error rejects everything pending.
 * onReply runs on every answer (to sample the main thread's state while traffic flows).
 */
function peer(worker, onReply = () => {}) {
  let id = 0;
  const pending = new Map();
  let failed;
  let readyResolve;
  const ready = new Promise((resolve, reject) => {
    readyResolve = resolve;
    worker.once('error', reject);
  });
  worker.on('error', (e) => {
    failed = e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  });
  worker.on('message', (m) => {
    if (m.ready) return readyResolve();
    onReply(m);
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (!p) return;
    if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    else p.resolve(m.result);
  });
  return {
    ready,
    call(op, args) {
      if (failed) return Promise.reject(failed);
      const n = ++id;
      return new Promise((resolve, reject) => {
        pending.set(n, { resolve, reject });
        worker.postMessage({ id: n, op, args });
      });
    },
  };
}

/** Resolves with the worker's exit code. */
const exited = (worker) => new Promise((resolve) => worker.once('exit', resolve));

module.exports = { ownNamespaces, peer, exited };
