'use strict';
/**
 * The decoder fuzzing engine shared by test/reliability/fuzz.test.js (a bounded sample on every
 * run) and bench/fuzz.js (a million cases).
 *
 * Input: real rtnetlink replies captured from the kernel (test/fixtures/iproute2/*.json:
 * "received" hex). Every case is a pure function of its seed: pick a captured message (or a whole
 * datagram), mutate it, and decode it with every decoder. A case fails when
 *  - a decoder throws anything but NetlinkParseError;
 *  - a decoder reads outside the message it was given: each message is decoded twice, once in a
 *    buffer of exactly its own bytes and once surrounded by random guard bytes; the outcomes must
 *    be identical (a read past the end shows up as a RangeError, an `undefined`, or a result that
 *    depends on the guard bytes);
 *  - a case takes longer than `slowMs` (the worker watchdog in fuzz-worker.js catches real hangs).
 */
const fs = require('node:fs');
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');
const wire = require('../../dist/wire');
const rtnl = require('../../dist/rtnl');
const C = require('../../dist/rtnl/constants');

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'iproute2');

/** xorshift32: small, fast, deterministic. */
function prng(seed) {
  let s = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  next.int = (n) => next() % n;
  next.chance = (p) => next() / 0x100000000 < p;
  return next;
}

/** The decoders under test, by name. Each takes a MessageView. */
const DECODERS = {
  link: (m) => rtnl.parseLinkMessage(m),
  route: (m) => rtnl.parseRouteMessage(m),
  address: (m) => rtnl.parseAddressMessage(m),
  neighbor: (m) => rtnl.parseNeighborMessage(m),
  fdb: (m) => rtnl.parseFdbMessage(m),
  nexthop: (m) => rtnl.parseNexthopMessage(m),
  nexthopBucket: (m) => rtnl.parseNexthopBucketMessage(m),
  rule: (m) => rtnl.parseRuleMessage(m),
  ack: (m) => wire.parseAckError(m),
  done: (m) => wire.parseAckError(m, true),
  attrs: (m) => walkAttrs(m.buf, Math.min(m.payload + 16, m.end), m.end, 0),
  // The reconciler's number-only reader of route messages (a plain copy of what it read).
  routeFacts: (m) => {
    const f = factsScratch.read(m);
    return [f.family, f.dstLen, f.dst4, f.dst6a, f.dst6b, f.dst6c, f.dst6d, f.table, f.protocol, f.scope, f.type, f.tos, f.flags, f.metric, f.oif, f.gateway4, f.hasGateway6, f.gateway6a, f.gateway6b, f.gateway6c, f.gateway6d, f.complete];
  },
};
const factsScratch = new (require('../../dist/rtnl/route/facts').RouteFacts)();

/**
 * The fast route reader and the full decoder, against each other on the same bytes (they are
 * one decoder, built one on the other: this holds them to it). Agreement means: both refuse
 * with the same NetlinkParseError; or the reader accepts and the decoder agrees on every
 * number; or the reader accepts with complete false and the decoder refuses an attribute the
 * reader left to it. Anything else throws a plain Error (a failure of the case).
 */
const ROUTE_PAIR = {
  /** The full decoder. */
  full: (m) => rtnl.parseRouteMessage(m),
  /** The fast reader (a reused RouteFacts). */
  facts: (m) => factsScratch.read(m),
};
function routeAgreement(m) {
  let facts;
  let factsError;
  try {
    facts = ROUTE_PAIR.facts(m);
  } catch (e) {
    if (!(e instanceof wire.NetlinkParseError)) throw e;
    factsError = e.message;
  }
  let r;
  let routeError;
  try {
    r = ROUTE_PAIR.full(m);
  } catch (e) {
    if (!(e instanceof wire.NetlinkParseError)) throw e;
    routeError = e.message;
  }
  if (factsError !== undefined) {
    if (routeError !== factsError) throw new Error(`RouteFacts refused (${factsError}) but parseRouteMessage ${routeError ? `refused otherwise (${routeError})` : 'accepted'}`);
    return { refused: true };
  }
  const f = ROUTE_PAIR.facts(m); // read again: the full decode may have used the same reader
  if (routeError !== undefined) {
    if (f.complete) throw new Error(`RouteFacts read complete facts but parseRouteMessage refused: ${routeError}`);
    return { deferred: true };
  }
  const want = factsOfRoute(r);
  const got = {
    family: f.family, dstLen: f.dstLen, dst4: f.dst4, dst6: [f.dst6a, f.dst6b, f.dst6c, f.dst6d], table: f.table, protocol: f.protocol, scope: f.scope,
    type: f.type, tos: f.tos, flags: f.flags, metric: f.metric, oif: f.oif,
  };
  if (f.complete) Object.assign(got, { gateway4: f.gateway4, gateway6: f.hasGateway6 ? [f.gateway6a, f.gateway6b, f.gateway6c, f.gateway6d] : null });
  else delete want.gateway4, delete want.gateway6;
  if (!isDeepStrictEqual(got, want)) throw new Error(`RouteFacts and parseRouteMessage disagree: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
  if (f.complete && (r.prefsrc !== undefined || r.mtu !== undefined || r.advmss !== undefined || r.nexthops !== undefined || r.unknown !== undefined)) {
    throw new Error('RouteFacts said complete but the Route has more');
  }
  if (f.nhidOnly && (r.nhid !== f.nhid || r.prefsrc !== undefined || r.mtu !== undefined || r.advmss !== undefined || r.unknown !== undefined)) {
    throw new Error(`RouteFacts said nhid ${f.nhid} and only its path, but the Route is ${JSON.stringify(r)}`);
  }
  return { agreed: true };
}

const TYPE_NUMBERS = Object.fromEntries(Object.entries(C).filter(([k]) => k.startsWith('RTN_')).map(([k, v]) => [k.slice(4).toLowerCase(), v]));
/** The numbers a Route's RouteFacts must hold. */
function factsOfRoute(r) {
  const words = (s) => {
    const b = Buffer.alloc(16);
    if (!wire.parseIPv6Into(s, b, 0)) throw new Error(`not IPv6: ${s}`);
    return [b.readInt32BE(0), b.readInt32BE(4), b.readInt32BE(8), b.readInt32BE(12)];
  };
  const [addr, len] = r.dst === 'default' ? ['', 0] : [r.dst.slice(0, r.dst.lastIndexOf('/')), Number(r.dst.slice(r.dst.lastIndexOf('/') + 1))];
  const v4 = (s) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const out = {
    family: r.family, dstLen: len, dst4: r.family === 4 && addr ? v4(addr) : 0, dst6: r.family === 6 && addr ? words(addr) : [0, 0, 0, 0],
    table: r.table, protocol: r.protocol, scope: r.scope, type: typeof r.type === 'number' ? r.type : TYPE_NUMBERS[r.type], tos: r.tos, flags: r.flags,
    metric: r.metric ?? -1, oif: r.dev ?? 0,
  };
  out.gateway4 = r.family === 4 && r.via !== undefined && !r.via.includes(':') ? v4(r.via) : -1;
  out.gateway6 = r.family === 6 && r.via !== undefined ? words(r.via) : null;
  return out;
}
DECODERS.routeAgree = routeAgreement;
const DECODER_NAMES = Object.keys(DECODERS);

/** The decoder the library itself would use for this message (as the monitor dispatches). */
function decoderFor(type, family) {
  switch (type) {
    case C.RTM_NEWLINK:
    case C.RTM_DELLINK:
      return 'link';
    case C.RTM_NEWROUTE:
    case C.RTM_DELROUTE:
      return 'route';
    case C.RTM_NEWADDR:
    case C.RTM_DELADDR:
      return 'address';
    case C.RTM_NEWNEIGH:
    case C.RTM_DELNEIGH:
      return family === C.AF_BRIDGE ? 'fdb' : 'neighbor';
    case C.RTM_NEWNEXTHOP:
    case C.RTM_DELNEXTHOP:
      return 'nexthop';
    case C.RTM_NEWNEXTHOPBUCKET:
    case C.RTM_DELNEXTHOPBUCKET:
      return 'nexthopBucket';
    case C.RTM_NEWRULE:
    case C.RTM_DELRULE:
      return 'rule';
    case wire.NLMSG_ERROR:
      return 'ack';
    case wire.NLMSG_DONE:
      return 'done';
    default:
      return 'attrs';
  }
}

/** Walks attributes as nests, a few levels deep, reading each value every way a decoder might. */
function walkAttrs(buf, start, end, depth) {
  const out = [];
  wire.forEachAttr(buf, start, end, (type, off, len) => {
    out.push(type, len, wire.readString(buf, off, len));
    if (len === 4 || len === 16) out.push(wire.readIP(buf, off, len));
    if (len >= 4) out.push(wire.readU32(buf, off, len));
    if (len >= 6) out.push(wire.readMac(buf, off, len));
    if (depth < 4 && len >= 4) {
      try {
        out.push(walkAttrs(buf, off, off + len, depth + 1));
      } catch (e) {
        if (!(e instanceof wire.NetlinkParseError)) throw e;
        out.push('bad nest');
      }
    }
  });
  return out;
}

/** Offsets of every attribute header in a message (nested ones too), to aim mutations at. */
function attrHeaders(buf, start, end, depth, out) {
  try {
    wire.forEachAttr(buf, start, end, (type, off, len) => {
      out.push(off - 4);
      if (depth < 4 && len >= 4) attrHeaders(buf, off, off + len, depth + 1, out);
    });
  } catch {
    // not a nest: its bytes are a value
  }
  return out;
}

/** Family header sizes, where the attributes of each message kind start. */
function familyHeaderLen(type) {
  switch (decoderFor(type, 0)) {
    case 'link':
      return C.IFINFOMSG_LEN;
    case 'route':
      return 12; // struct rtmsg
    case 'address':
      return 8; // struct ifaddrmsg
    case 'neighbor':
    case 'fdb':
      return C.NDMSG_LEN;
    case 'nexthop':
    case 'nexthopBucket':
      return C.NHMSG_LEN;
    case 'rule':
      return C.FIB_RULE_HDR_LEN;
    default:
      return 0;
  }
}

/**
 * The corpus: every message and every datagram the kernel sent in the captured fixtures.
 * messages: { name, bytes, type, family, decoder, attrs: [offsets of nla headers] }.
 */
function loadCorpus(dir = FIXTURES) {
  const messages = [];
  const datagrams = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const fx = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    for (const [di, hex] of (fx.received || []).entries()) {
      const dgram = Buffer.from(hex, 'hex');
      datagrams.push({ name: `${file}#${di}`, bytes: dgram });
      wire.forEachMessage(dgram, 0, dgram.length, (m) => {
        const bytes = Buffer.from(dgram.subarray(m.start, m.end));
        const family = m.end > m.payload ? dgram[m.payload] : -1;
        const hdr = familyHeaderLen(m.type);
        messages.push({
          name: `${file}#${di}@${m.start}`,
          bytes,
          type: m.type,
          family,
          decoder: decoderFor(m.type, family),
          attrs: hdr ? attrHeaders(bytes, 16 + hdr, bytes.length, 0, []) : [],
        });
      });
    }
  }
  if (!messages.length) throw new Error(`no captured messages under ${dir}`);
  return { messages, datagrams };
}

const INTERESTING_8 = [0, 1, 2, 3, 4, 5, 7, 8, 0x0f, 0x10, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0xfe, 0xff];
const INTERESTING_16 = [0, 1, 2, 3, 4, 5, 7, 8, 12, 16, 20, 0x7fff, 0x8000, 0xfffc, 0xffff];
const INTERESTING_32 = [0, 1, 4, 16, 17, 20, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

/** One random mutation of bytes (a new Buffer). attrs: nla header offsets to aim at. */
function mutateOnce(rnd, bytes, attrs) {
  const n = bytes.length;
  const b = Buffer.from(bytes);
  const at = () => (n ? rnd.int(n) : 0);
  switch (rnd.int(12)) {
    case 0: // flip a bit
      if (n) b[at()] ^= 1 << rnd.int(8);
      return b;
    case 1: // an interesting byte
      if (n) b[at()] = INTERESTING_8[rnd.int(INTERESTING_8.length)];
      return b;
    case 2: // a random byte
      if (n) b[at()] = rnd.int(256);
      return b;
    case 3: // an attribute length (nla_len), the field every decoder trusts most
    case 4: {
      if (!attrs.length) return mutateOnce(rnd, bytes, attrs);
      const off = attrs[rnd.int(attrs.length)];
      if (off + 2 > n) return b;
      const v = rnd.chance(0.5) ? INTERESTING_16[rnd.int(INTERESTING_16.length)] : (b.readUInt16LE(off) + rnd.int(9) - 4) & 0xffff;
      b.writeUInt16LE(v, off);
      return b;
    }
    case 5: {
      // an attribute type (including the NESTED / BYTEORDER bits)
      if (!attrs.length) return mutateOnce(rnd, bytes, attrs);
      const off = attrs[rnd.int(attrs.length)] + 2;
      if (off + 2 > n) return b;
      b.writeUInt16LE(rnd.chance(0.5) ? rnd.int(64) | (rnd.int(4) << 14) : rnd.int(0x10000), off);
      return b;
    }
    case 6: {
      // an aligned u32 (header fields, ifindex, errno, table ids)
      if (n < 4) return b;
      const off = rnd.int(n >> 2) << 2;
      b.writeUInt32LE(INTERESTING_32[rnd.int(INTERESTING_32.length)], off);
      return b;
    }
    case 7: // truncate
      return Buffer.from(b.subarray(0, at()));
    case 8: {
      // cut a slice out
      const s = at();
      const e = Math.min(n, s + 1 + rnd.int(16));
      return Buffer.concat([b.subarray(0, s), b.subarray(e)]);
    }
    case 9: {
      // insert random bytes
      const s = at();
      const ins = Buffer.alloc(1 + rnd.int(12));
      for (let i = 0; i < ins.length; i++) ins[i] = rnd.int(256);
      return Buffer.concat([b.subarray(0, s), ins, b.subarray(s)]);
    }
    case 10: {
      // duplicate a slice (repeats attributes, nests inside nests)
      const s = at();
      const e = Math.min(n, s + 4 + rnd.int(64));
      const at2 = at();
      return Buffer.concat([b.subarray(0, at2), b.subarray(s, e), b.subarray(at2)]);
    }
    default: {
      // append random bytes
      const tail = Buffer.alloc(1 + rnd.int(24));
      for (let i = 0; i < tail.length; i++) tail[i] = rnd.int(256);
      return Buffer.concat([b, tail]);
    }
  }
}

/** A MessageView over [start, start + len) of buf, with the header fields read when present. */
function viewOf(buf, start, len) {
  const h = (off, size) => (len >= off + size ? (size === 2 ? buf.readUInt16LE(start + off) : buf.readUInt32LE(start + off)) : 0);
  return {
    type: h(4, 2),
    flags: h(6, 2),
    seq: h(8, 4),
    pid: h(12, 4),
    buf,
    start,
    payload: start + Math.min(wire.NLMSG_HDRLEN, len),
    end: start + len,
  };
}

/** Runs a decoder: { ok: value } or { parseError: message without its offset } or throws. */
function outcome(decode, m) {
  try {
    return { ok: decode(m) };
  } catch (e) {
    // Offsets in the text are absolute (they move with the guard bytes): compare them relative.
    if (e instanceof wire.NetlinkParseError) {
      return { parseError: e.message.replace(/\(at byte -?\d+\)/g, '(at byte _)'), offset: e.offset - m.start };
    }
    throw e;
  }
}

/**
 * Decodes one message's bytes with one decoder, exactly sized and guarded, and checks that
 * both agree. Returns a failure description or undefined.
 */
function checkDecoder(name, bytes, rnd) {
  const decode = DECODERS[name];
  const exact = Buffer.from(bytes);
  let a;
  try {
    a = outcome(decode, viewOf(exact, 0, exact.length));
  } catch (e) {
    return { decoder: name, problem: `threw ${e && e.name}: ${e && e.message}`, stack: e && e.stack };
  }
  const pre = 1 + rnd.int(32);
  const post = 1 + rnd.int(32);
  const guarded = Buffer.alloc(pre + bytes.length + post);
  for (let i = 0; i < pre; i++) guarded[i] = rnd.int(256);
  bytes.copy(guarded, pre);
  for (let i = pre + bytes.length; i < guarded.length; i++) guarded[i] = rnd.int(256);
  let b;
  try {
    b = outcome(decode, viewOf(guarded, pre, bytes.length));
  } catch (e) {
    return { decoder: name, problem: `threw ${e && e.name} with guard bytes around: ${e && e.message}`, stack: e && e.stack };
  }
  if (!isDeepStrictEqual(a, b)) {
    return { decoder: name, problem: 'the result depends on bytes outside the message (a read past its bounds)', exact: a, guarded: b };
  }
  if (a.ok !== undefined && name !== 'attrs' && hasUndefinedRead(a.ok)) {
    return { decoder: name, problem: 'a decoded field is NaN (an out-of-range read)', exact: a };
  }
  return undefined;
}

/** NaN anywhere in a decoded object: what `buf[past the end]` arithmetic produces. */
function hasUndefinedRead(v, depth = 0) {
  if (typeof v === 'number') return Number.isNaN(v);
  if (depth > 8 || v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return false;
  for (const k of Object.keys(v)) if (hasUndefinedRead(v[k], depth + 1)) return true;
  return false;
}

/**
 * The bytes of case `seed` (what it decodes), drawn from rnd: a mutated datagram (one case in
 * eight: exercises forEachMessage over several messages) or a mutated single message.
 */
function makeInput(corpus, rnd) {
  if (rnd.chance(0.125) && corpus.datagrams.length) {
    const d = corpus.datagrams[rnd.int(corpus.datagrams.length)];
    let bytes = d.bytes;
    const rounds = 1 + rnd.int(4);
    for (let i = 0; i < rounds; i++) bytes = mutateOnce(rnd, bytes, []);
    return { datagram: true, source: d.name, bytes };
  }
  const msg = corpus.messages[rnd.int(corpus.messages.length)];
  let bytes = msg.bytes;
  const rounds = 1 + rnd.int(rnd.chance(0.2) ? 12 : 3);
  for (let i = 0; i < rounds; i++) bytes = mutateOnce(rnd, bytes, msg.attrs);
  // Mostly keep nlmsg_len honest, so that the mutation reaches past the header check.
  if (bytes.length >= 4 && rnd.chance(0.8)) bytes.writeUInt32LE(bytes.length, 0);
  return { datagram: false, source: msg.name, decoder: msg.decoder, bytes };
}

/** What case `seed` decodes, for a reproduction (also of a case that hangs). */
function caseInput(corpus, seed) {
  return makeInput(corpus, prng(seed));
}

/**
 * One fuzz case, fully determined by seed. Returns undefined, or a failure:
 * { seed, source, decoder, problem, hex }.
 */
function runCase(corpus, seed) {
  const rnd = prng(seed);
  const input = makeInput(corpus, rnd);
  const { bytes, source } = input;
  if (input.datagram) {
    const messages = [];
    try {
      wire.forEachMessage(bytes, 0, bytes.length, (m) => messages.push(m));
    } catch (e) {
      if (!(e instanceof wire.NetlinkParseError)) {
        return { seed, source, decoder: 'forEachMessage', problem: `threw ${e && e.name}: ${e && e.message}`, hex: bytes.toString('hex') };
      }
    }
    for (const m of messages) {
      if (m.start < 0 || m.end > bytes.length || m.end - m.start < wire.NLMSG_HDRLEN) {
        return { seed, source, decoder: 'forEachMessage', problem: `message view [${m.start}, ${m.end}) outside the datagram`, hex: bytes.toString('hex') };
      }
      const own = Buffer.from(bytes.subarray(m.start, m.end));
      const fam = m.end > m.payload ? bytes[m.payload] : -1;
      const name = decoderFor(m.type, fam);
      for (const n of name === 'route' ? [name, 'routeAgree'] : [name]) {
        const f = checkDecoder(n, own, rnd);
        if (f) return { seed, source, ...f, hex: own.toString('hex') };
      }
    }
    return undefined;
  }
  // The decoder the library would pick, and one other: no decoder may crash on any bytes.
  // Route messages also go through the reconciler's RouteFacts reader, and the two route
  // decoders are checked against each other on every route case.
  const names = [input.decoder, DECODER_NAMES[rnd.int(DECODER_NAMES.length)]];
  if (input.decoder === 'route') names.push('routeFacts', 'routeAgree');
  for (const name of names) {
    const f = checkDecoder(name, bytes, rnd);
    if (f) return { seed, source, ...f, hex: bytes.toString('hex') };
  }
  return undefined;
}

/** Decodes every captured message unmodified: real kernel output must decode without error. */
function checkCorpusClean(corpus) {
  const problems = [];
  for (const msg of corpus.messages) {
    try {
      DECODERS[msg.decoder](viewOf(msg.bytes, 0, msg.bytes.length));
    } catch (e) {
      problems.push(`${msg.name} (${msg.decoder}): ${e && e.message}`);
    }
  }
  return problems;
}

/**
 * Runs cases [first, first + count). progress (optional): an Int32Array whose [0] gets the
 * current seed before each case, so a watchdog can name the case that hangs.
 */
function runCases(corpus, { first = 1, count, slowMs = 1000, progress, maxFailures = 5 }) {
  const failures = [];
  let slowest = 0;
  const t0 = process.hrtime.bigint();
  for (let seed = first; seed < first + count; seed++) {
    if (progress) Atomics.store(progress, 0, seed);
    const c0 = process.hrtime.bigint();
    const f = runCase(corpus, seed);
    const ms = Number(process.hrtime.bigint() - c0) / 1e6;
    if (ms > slowest) slowest = ms;
    if (f) failures.push(f);
    else if (ms > slowMs) failures.push({ seed, problem: `took ${ms.toFixed(0)} ms (a near-hang)` });
    if (failures.length >= maxFailures) break;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { count, failures, seconds, slowestMs: slowest };
}

// ---- property-based (fast-check): generated attribute trees and shrinkable mutations ----

/** Encodes a generated attribute tree: { type, value: Uint8Array | tree[], delta } with delta a
 * (mostly zero) error added to nla_len, the field a malicious or buggy sender would get wrong. */
function encodeAttrs(attrs) {
  const parts = [];
  for (const a of attrs) {
    const value = Array.isArray(a.value) ? encodeAttrs(a.value) : Buffer.from(a.value);
    const hdr = Buffer.alloc(4);
    hdr.writeUInt16LE((4 + value.length + a.delta) & 0xffff, 0);
    hdr.writeUInt16LE(a.type, 2);
    const pad = Buffer.alloc((4 - (value.length % 4)) % 4);
    parts.push(hdr, value, pad);
  }
  return Buffer.concat(parts);
}

const HEADER_LEN = { link: 16, route: 12, address: 8, neighbor: 12, fdb: 12, ack: 4, done: 4, attrs: 16 };
const TYPE_OF = { link: 16, route: 24, address: 20, neighbor: 28, fdb: 28, ack: 2, done: 3, attrs: 16 };

/**
 * fast-check arbitraries: a message for a decoder, with a family header (family chosen among the
 * ones the decoders branch on) and a generated attribute tree whose types are the small numbers
 * real attributes use, so that every decoder's switch is reached, nests included.
 */
function arbitraries(fc) {
  const attrType = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 40 }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 40 }).map((t) => t | 0x8000) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  );
  const delta = fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 8 }) });
  const { tree } = fc.letrec((tie) => ({
    tree: fc.array(tie('attr'), { maxLength: 6 }),
    attr: fc.record({
      type: attrType,
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.uint8Array({ maxLength: 20 }),
        fc.constantFrom(new Uint8Array([0]), new Uint8Array([10, 0, 0, 1]), new Uint8Array(16), new Uint8Array(6), new Uint8Array([1, 0, 0, 0])),
        tie('tree'),
      ),
      delta,
    }),
  }));
  const family = fc.constantFrom(0, 2, 7, 10, 128, 255);
  const message = fc
    .record({
      decoder: fc.constantFrom(...Object.keys(HEADER_LEN)),
      family,
      header: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      attrs: tree,
      headerCut: fc.oneof({ weight: 10, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 16 }) }),
      lenDelta: fc.oneof({ weight: 10, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -16, max: 16 }) }),
    })
    .map((g) => {
      const fam = Buffer.from(g.header.subarray(0, HEADER_LEN[g.decoder]));
      if (fam.length) fam[0] = g.family;
      let body = Buffer.concat([fam, encodeAttrs(g.attrs)]);
      body = body.subarray(0, Math.max(0, body.length - g.headerCut));
      const nl = Buffer.alloc(16);
      nl.writeUInt32LE(Math.max(0, 16 + body.length + g.lenDelta), 0);
      nl.writeUInt16LE(TYPE_OF[g.decoder], 4);
      return { decoder: g.decoder, bytes: Buffer.concat([nl, body]) };
    });
  return { tree, message };
}

/**
 * The properties: fc.property objects to hand to fc.assert. corpus for the mutation property.
 * Each checks one input with checkDecoder (only NetlinkParseError, no read past the bounds).
 */
function properties(fc, corpus) {
  const { message } = arbitraries(fc);
  const fail = (f) => {
    if (f) throw new Error(`${f.decoder}: ${f.problem}${f.stack ? `\n${f.stack}` : ''}`);
  };
  const generated = fc.property(message, fc.integer({ min: 1, max: 0xffffffff }), (g, seed) => {
    const rnd = prng(seed);
    fail(checkDecoder(g.decoder, g.bytes, rnd));
    fail(checkDecoder(DECODER_NAMES[seed % DECODER_NAMES.length], g.bytes, rnd));
    if (g.decoder === 'route') fail(checkDecoder('routeAgree', g.bytes, rnd));
  });
  // Real captured messages with byte writes at chosen positions: shrinks to the fewest writes.
  const write = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), width: fc.constantFrom(1, 2) });
  const mutated = fc.property(
    fc.nat({ max: corpus.messages.length - 1 }),
    fc.array(write, { minLength: 1, maxLength: 6 }),
    fc.option(fc.nat(), { nil: undefined }),
    fc.integer({ min: 1, max: 0xffffffff }),
    (i, writes, cut, seed) => {
      const msg = corpus.messages[i];
      let b = Buffer.from(msg.bytes);
      for (const w of writes) {
        // Aim at attribute headers half of the time (their lengths are what decoders trust).
        const targets = msg.attrs.length && w.at % 2 ? msg.attrs : null;
        const off = targets ? targets[(w.at >> 1) % targets.length] + (w.width === 2 ? 0 : 1) : w.at % b.length;
        if (off < b.length) b[off] = w.value;
        if (w.width === 2 && off + 1 < b.length) b[off + 1] = 0;
      }
      if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
      const rnd = prng(seed);
      fail(checkDecoder(msg.decoder, b, rnd));
      if (msg.decoder === 'route') fail(checkDecoder('routeAgree', b, rnd));
    },
  );
  return { generated, mutated };
}

module.exports = {
  prng,
  DECODERS,
  ROUTE_PAIR,
  decoderFor,
  loadCorpus,
  mutateOnce,
  viewOf,
  checkDecoder,
  checkCorpusClean,
  runCase,
  caseInput,
  makeInput,
  DECODER_NAMES,
  runCases,
  walkAttrs,
  encodeAttrs,
  arbitraries,
  properties,
};
