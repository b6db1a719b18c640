'use strict';
// Small helpers for membership tests.

const { pollUntil } = require('../support/poll');
const { slow } = require('../support/kernel');

/** Polls `cond` (sync or async) until it is truthy (test/support/poll); resolves with the ms it
 * took. The bound is scaled for the VM lane's TCG (slow; 1 elsewhere). */
async function waitFor(cond, ms = 5000, what = 'condition') {
  const t0 = Date.now();
  await pollUntil(cond, { ms: ms * slow, what });
  return Date.now() - t0;
}

/** Records every emission of `event` (first argument) into the returned array. */
function collect(emitter, event) {
  const seen = [];
  emitter.on(event, (x) => seen.push(x));
  return seen;
}

/**
 * Writes a node record as an agent would: its podCIDR reserved for it under alloc/, and the
 * record under nodes/, all attached to `lease` (a lease of the raw etcd3 client; one with a
 * 60 s TTL when not given). Resolves with the lease.
 */
async function publishRecord(raw, prefix, record, lease = raw.lease(60)) {
  const cidr = record.podCIDR;
  await lease.put(`${prefix}alloc/subnet/${cidr.replace('/', '-')}`).value(JSON.stringify({ name: record.name, podCIDR: cidr }));
  await lease.put(`${prefix}alloc/owner/${record.name}`).value(cidr);
  await lease.put(`${prefix}nodes/${record.name}`).value(JSON.stringify(record));
  return lease;
}

/**
 * EtcdMembership options for a test member: a short lease (2 s), a short debounce and quick
 * retries, so that joins, leaves and reconnects show within a test's time; `extra` overrides.
 */
function memberOptions(endpoints, prefix, self, extra = {}) {
  return {
    endpoints,
    prefix,
    self: { mode: 'vxlan', ...self },
    ttlSeconds: 2,
    debounceMs: 20,
    minBackoffMs: 50,
    maxBackoffMs: 500,
    callTimeoutMs: 1000,
    ...extra,
  };
}

module.exports = { waitFor, collect, publishRecord, memberOptions };
