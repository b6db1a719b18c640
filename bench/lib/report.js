'use strict';
/**
 * Medians and tables. Every workload runs its columns interleaved (floor, ours..., iproute2, Go,
 * then again), and reports per column the median wall time and the medians of user and system
 * CPU, and the ratio to the kernel floor of the same run (time / floor time: 1.0 is the
 * kernel's own cost, what is above it is user-space overhead).
 */

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (s) => (s === undefined ? '' : s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`);

let warmupRounds = 0;

/** How many untimed rounds interleave() runs before the timed ones (bench/run.js --warmup). */
function setWarmup(n) {
  warmupRounds = n;
}

/**
 * Runs `rounds` rounds; each round runs every column once, in the given order.
 * A column: { name, who: 'floor' | 'ours' | 'iproute2' | 'go', run(round) -> sample }.
 * A sample: { wall, user, system } in seconds (plus anything else, kept in the JSON).
 * Warm-up rounds (setWarmup) come first, numbered -1, -2, ..., and are not kept.
 */
async function interleave(rounds, columns) {
  const runs = new Map(columns.map((c) => [c, []]));
  // Untimed rounds first: ours runs in this process, and its first calls run code V8 has not
  // compiled yet (a 10k-entry apply costs several times its steady-state CPU then), which an agent
  // pays once, not per change. Every column gets the same warm-up, peers included.
  for (let r = 0; r < warmupRounds; r++) {
    for (const c of columns) await c.run(-1 - r);
  }
  for (let r = 0; r < rounds; r++) {
    for (const c of columns) runs.get(c).push(await c.run(r));
  }
  return runs;
}

/**
 * Prints one workload's table and returns its JSON rows.
 * notes: { floor?: why the floor has no column here, go?: why Go has none, peer?: the iproute2
 * column's name that ratioVsPeer (peer time / ours, the wave-1 figure) compares with }.
 */
function report(title, rounds, runs, notes = {}) {
  console.log(`\n${title} (median of ${rounds})`);
  const cols = [...runs.keys()];
  const wallOf = (c) => median(runs.get(c).map((x) => x.wall));
  const floorCol = cols.find((c) => c.who === 'floor');
  const floor = floorCol ? wallOf(floorCol) : undefined;
  const peerCol = cols.find((c) => c.name === notes.peer) ?? cols.find((c) => c.who === 'iproute2');
  const peer = peerCol ? wallOf(peerCol) : undefined;
  const out = [];
  for (const c of cols) {
    const samples = runs.get(c);
    const wall = wallOf(c);
    const user = median(samples.map((x) => x.user));
    const system = median(samples.map((x) => x.system));
    const ratioVsFloor = floor && c !== floorCol ? wall / floor : undefined;
    const ratioVsPeer = peer && c.who === 'ours' ? peer / wall : undefined;
    const extra = Object.assign({}, ...samples.map((x) => x.extra || {}));
    console.log(
      `  ${c.name.padEnd(46)} ${fmt(wall).padStart(9)}   user ${fmt(user).padStart(9)}  sys ${fmt(system).padStart(9)}` +
        `${ratioVsFloor ? `   ${ratioVsFloor.toFixed(2)}x floor` : ''}`,
    );
    out.push({
      workload: title,
      name: c.name,
      who: c.who,
      wallSeconds: wall,
      userSeconds: user,
      systemSeconds: system,
      walls: samples.map((x) => x.wall),
      ratioVsFloor,
      ratioVsPeer,
      ...extra,
    });
  }
  if (!floorCol) console.log(`  C floor: ${notes.floor ?? 'no equivalent workload'}`);
  if (!cols.some((c) => c.who === 'go')) console.log(`  Go: ${notes.go ?? 'no equivalent workload'}`);
  const notesOut = { floor: floorCol ? undefined : (notes.floor ?? 'no equivalent workload'), go: cols.some((c) => c.who === 'go') ? undefined : (notes.go ?? 'no equivalent workload') };
  for (const r of out) r.notes = notesOut;
  return out;
}

/** The closing summary: one line per "ours" row with the floor, iproute2 and Go of its workload. */
function summary(results) {
  const lines = [
    '| workload | ours | user / sys | C floor | ours/floor | iproute2 | Go vishvananda/netlink |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  const byWorkload = new Map();
  for (const r of results) {
    if (r.wallSeconds === undefined) continue;
    if (!byWorkload.has(r.workload)) byWorkload.set(r.workload, []);
    byWorkload.get(r.workload).push(r);
  }
  for (const [workload, rows] of byWorkload) {
    const floor = rows.find((r) => r.who === 'floor');
    const ip = rows.find((r) => r.who === 'iproute2');
    const go = rows.find((r) => r.who === 'go');
    const short = workload.replace(/ \(.*$/, '');
    for (const r of rows.filter((x) => x.who === 'ours')) {
      lines.push(
        `| ${short}: ${r.name.replace(/^ours: /, '')} | ${fmt(r.wallSeconds)} | ${fmt(r.userSeconds)} / ${fmt(r.systemSeconds)} | ` +
          `${floor ? fmt(floor.wallSeconds) : `none: ${r.notes.floor}`} | ${r.ratioVsFloor ? `${r.ratioVsFloor.toFixed(2)}×` : ''} | ` +
          `${ip ? fmt(ip.wallSeconds) : ''} | ${go ? fmt(go.wallSeconds) : ''} |`,
      );
    }
  }
  for (const r of results.filter((x) => x.maxRssMB !== undefined)) lines.push(`| ${r.workload} | ${r.maxRssMB.toFixed(1)} MB | | | | | |`);
  return lines.join('\n');
}

module.exports = { median, interleave, setWarmup, report, summary, fmt };
