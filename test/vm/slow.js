'use strict';
// Loaded by mocha in the VM lane: qemu without KVM (TCG) runs 12-20x slower than the host, so
// the timeout of every test and hook (the default and each this.timeout(ms)) is multiplied by
// NETLINK_AGENT_VM_SLOW (default 20). Only the limit moves: a test that hangs still fails,
// later. Bounds inside tests scale with the same factor (test/support/kernel.js `slow`), which
// is 1 outside the VM.
//
// Scaled where a test or hook gets its timeout (Runnable#timeout(ms)): suites keep theirs and
// hand it down unscaled, so each limit is scaled once. (Test#clone for retries would scale
// twice; the suite uses no retries.)
const { Runnable } = require('mocha');
const { slow } = require('../support/kernel');

const setTimeoutOf = Runnable.prototype.timeout;
if (slow !== 1) {
  Runnable.prototype.timeout = function timeoutScaled(ms) {
    if (!arguments.length) return setTimeoutOf.call(this);
    const n = typeof ms === 'number' ? ms : Number(ms);
    // 0 turns the limit off; strings such as '2s' are left to mocha, unscaled
    if (!Number.isFinite(n) || n <= 0) return setTimeoutOf.call(this, ms);
    return setTimeoutOf.call(this, Math.min(n * slow, 2 ** 31 - 1));
  };
}
