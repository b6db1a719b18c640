'use strict';
// Every decoder, fed real captured kernel replies that are mutated, cut and spliced, and
// generated attribute trees (fast-check). A bounded sample runs on every test run; bench/fuzz.js
// runs a million cases. Any failure prints the seed and the bytes to reproduce it.
const assert = require('node:assert/strict');
const wire = require('../../dist/wire');
const fuzz = require('../support/fuzz');
const { runFuzzInWorker } = require('../support/fuzz-worker');

const MUTATION_CASES = 20000;
const PROPERTY_RUNS = 5000;
// A different slice of the seed space on every run widens what the suite covers over time;
// FUZZ_FIRST pins it to reproduce a report.
const FIRST = Number(process.env.FUZZ_FIRST || 1 + Math.floor(Math.random() * 1e8));

function explain(report) {
  return report.failures
    .map((f) => `seed ${f.seed} (${f.source || ''} ${f.decoder || ''}): ${f.problem}\n  hex ${f.hex || ''}\n  ${f.counterexample || ''}${f.path ? ` path ${f.path}` : ''}\n  ${f.stack || ''}`)
    .join('\n');
}

describe('reliability: decoder fuzzing', function () {
  this.timeout(120000);
  let corpus;
  before(function () {
    corpus = fuzz.loadCorpus();
  });

  it('the corpus is real kernel output of every kind, and every captured message decodes cleanly', function () {
    const kinds = new Set(corpus.messages.map((m) => m.decoder));
    for (const k of ['link', 'route', 'address', 'neighbor', 'fdb', 'nexthop', 'nexthopBucket', 'rule', 'ack', 'done']) assert.ok(kinds.has(k), `no captured ${k} message`);
    // The error fixtures carry the kernel's extended-ack text: the corpus reaches the TLV parser.
    const acks = corpus.messages.filter((m) => m.decoder === 'ack').map((m) => wire.parseAckError(fuzz.viewOf(m.bytes, 0, m.bytes.length)));
    assert.ok(acks.some((a) => a.errno < 0 && a.ack.message), 'an error with extended-ack text');
    assert.deepEqual(fuzz.checkCorpusClean(corpus), []);
  });

  it('the oracle catches what it claims to: a foreign exception, a read past the end, a result that depends on bytes outside the message', function () {
    const msg = corpus.messages.find((m) => m.decoder === 'route');
    const rnd = fuzz.prng(7);
    const saved = fuzz.DECODERS.route;
    try {
      fuzz.DECODERS.route = () => {
        throw new TypeError('boom');
      };
      assert.match(fuzz.checkDecoder('route', msg.bytes, rnd).problem, /threw TypeError/);
      fuzz.DECODERS.route = (m) => m.buf.readUInt32LE(m.end); // one u32 past the message
      assert.match(fuzz.checkDecoder('route', msg.bytes, rnd).problem, /RangeError/);
      fuzz.DECODERS.route = (m) => ({ x: m.buf[m.end] }); // a byte past it: undefined, or a guard byte
      assert.match(fuzz.checkDecoder('route', msg.bytes, rnd).problem, /outside the message/);
      fuzz.DECODERS.route = (m) => ({ x: m.buf[m.end] + 1 }); // arithmetic on it: NaN
      assert.ok(fuzz.checkDecoder('route', msg.bytes, rnd));
    } finally {
      fuzz.DECODERS.route = saved;
    }
    assert.equal(fuzz.checkDecoder('route', msg.bytes, rnd), undefined);
  });

  it('the two route decoders are checked against each other: a disagreement of either kind is a failure', function () {
    const msg = corpus.messages.find((m) => m.decoder === 'route');
    const rnd = fuzz.prng(11);
    assert.equal(fuzz.checkDecoder('routeAgree', msg.bytes, rnd), undefined);
    const full = fuzz.ROUTE_PAIR.full;
    try {
      fuzz.ROUTE_PAIR.full = (m) => ({ ...full(m), table: 4242 });
      assert.match(fuzz.checkDecoder('routeAgree', msg.bytes, rnd).problem, /disagree/);
      fuzz.ROUTE_PAIR.full = () => {
        throw new wire.NetlinkParseError('refused', 0);
      };
      assert.match(fuzz.checkDecoder('routeAgree', msg.bytes, rnd).problem, /complete facts but parseRouteMessage refused/);
    } finally {
      fuzz.ROUTE_PAIR.full = full;
    }
  });

  it(`mutation fuzzing of captured messages and datagrams: ${MUTATION_CASES} cases, only NetlinkParseError, no read past the bounds, no hang`, async function () {
    const report = await runFuzzInWorker({ job: 'mutation', first: FIRST, count: MUTATION_CASES, slowMs: 5000 }, { stallMs: 10000, deadlineMs: 90000 });
    assert.deepEqual(report.failures, [], `FUZZ_FIRST=${FIRST}\n${explain(report)}`);
    assert.deepEqual(report.clean, []);
  });

  for (const name of ['generated', 'mutated']) {
    it(`property (fast-check, ${name}): ${PROPERTY_RUNS} runs decode or throw NetlinkParseError, within bounds`, async function () {
      const seed = FIRST ^ (name === 'generated' ? 0x5a5a : 0xa5a5);
      const report = await runFuzzInWorker({ job: 'property', name, seed, numRuns: PROPERTY_RUNS }, { deadlineMs: 90000 });
      assert.deepEqual(report.failures, [], explain(report));
    });
  }

  it('a decoder that never returns is stopped by the watchdog, which names the seed of the case that hung', async function () {
    const report = await runFuzzInWorker({ job: 'mutation', first: 1, count: 1000, slowMs: 1e9, injectHang: true }, { stallMs: 500 });
    assert.equal(report.hung, true);
    assert.match(report.failures[0].problem, /hang/);
    // The same run here, with a link decoder that throws instead of hanging: the first case that
    // reaches it is the one the watchdog named.
    const saved = fuzz.DECODERS.link;
    let expected;
    try {
      fuzz.DECODERS.link = () => {
        throw new Error('reached');
      };
      for (let seed = 1; seed <= 1000 && expected === undefined; seed++) {
        const f = fuzz.runCase(corpus, seed);
        if (f && f.decoder === 'link' && /reached/.test(f.problem)) expected = seed;
      }
    } finally {
      fuzz.DECODERS.link = saved;
    }
    assert.equal(report.failures[0].seed, expected);
  });
});
