'use strict';
// A small seeded generator (mulberry32) for the property tests, so that a failing run can be
// replayed from the seed it prints. Not for anything that needs good randomness.

/** Returns a function giving numbers in [0, 1), the same sequence for the same seed. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = { seeded };
