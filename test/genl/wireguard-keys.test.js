'use strict';
// WireGuard keys (run everywhere): X25519 with node:crypto against RFC 7748 and `wg pubkey`,
// and the promise that private and preshared keys never show up in any printout or error.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');
const { execFileSync } = require('node:child_process');
const { PrivateKey, PublicKey, PresharedKey, keyTextProblem, writePrivateKeyFile, readPrivateKeyFile, loadOrCreatePrivateKey, KeyFileError } = require('../../dist/genl/wireguard');
const { ValidationError } = require('../../dist/rtnl');

const hasWg = (() => {
  try {
    execFileSync('wg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const wg = (args, input) => execFileSync('wg', args, { input, encoding: 'utf8' }).trim();
const b64 = (hex) => Buffer.from(hex, 'hex').toString('base64');

/** Every way a key could reach a log line, a JSON document or a message. */
function printouts(key) {
  const logged = [];
  const write = process.stdout.write;
  process.stdout.write = (s) => (logged.push(String(s)), true);
  try {
    console.log(key);
    console.log('%s %o %O %j', key, key, { key }, { key });
    console.log({ nested: { key } });
  } finally {
    process.stdout.write = write;
  }
  return [
    ...logged,
    String(key),
    `${key}`,
    'x' + key,
    JSON.stringify(key),
    JSON.stringify({ key, list: [key] }),
    util.inspect(key),
    util.inspect({ key }, { showHidden: true, depth: Infinity, getters: true }),
    util.format('%s %o %O %j %d', key, key, key, key, key),
    JSON.stringify(Object.getOwnPropertyNames(key).map((k) => key[k])),
    JSON.stringify(Object.entries(key)),
    JSON.stringify(structuredClone({ ...key })),
  ];
}

/** The secret must not appear in `texts`, whole or as a telling piece, in base64 or hex. */
function assertNoSecret(texts, secretB64) {
  const hex = Buffer.from(secretB64, 'base64').toString('hex');
  for (const t of texts) {
    for (let i = 0; i + 12 <= secretB64.length; i += 4) assert.ok(!t.includes(secretB64.slice(i, i + 12)), `leaked in: ${t}`);
    assert.ok(!t.includes(hex.slice(0, 16)), `leaked (hex) in: ${t}`);
  }
}

describe('wireguard keys', function () {
  it('derives public keys with node:crypto X25519 (RFC 7748 section 6.1 vectors)', function () {
    const alice = PrivateKey.fromBase64(b64('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    assert.equal(alice.publicKey().toBase64(), b64('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'));
    const bob = PrivateKey.fromBase64(b64('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    assert.equal(bob.publicKey().toBase64(), b64('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'));
  });

  it('generates clamped private keys (as `wg genkey`), different every time, and random preshared keys', function () {
    const seen = new Set();
    for (let i = 0; i < 64; i++) {
      const b = Buffer.from(PrivateKey.generate().revealBase64(), 'base64');
      assert.equal(b.length, 32);
      assert.equal(b[0] & 7, 0);
      assert.equal(b[31] & 0xc0, 0x40);
      seen.add(b.toString('hex'));
    }
    assert.equal(seen.size, 64);
    const psk = PresharedKey.generate();
    assert.equal(Buffer.from(psk.revealBase64(), 'base64').length, 32);
    assert.ok(!psk.equals(PresharedKey.generate()));
  });

  it('stores a private key clamped, as the kernel does: unclamped text reads back equal', function () {
    const raw = Buffer.alloc(32, 0xff);
    const k = PrivateKey.fromBytes(raw);
    const clamped = Buffer.from(k.revealBase64(), 'base64');
    assert.equal(clamped[0], 0xf8);
    assert.equal(clamped[31], 0x7f);
    assert.ok(k.equals(PrivateKey.fromBase64(raw.toString('base64'))));
    assert.ok(!k.equals(PublicKey.fromBytes(clamped)), 'keys of different kinds never compare equal');
  });

  (hasWg ? it : it.skip)('agrees with `wg pubkey` and reads `wg genkey` / `wg genpsk` output', function () {
    for (let i = 0; i < 8; i++) {
      const ours = PrivateKey.generate();
      assert.equal(wg(['pubkey'], ours.revealBase64() + '\n'), ours.publicKey().toBase64());
      const theirs = wg(['genkey']);
      const k = PrivateKey.fromBase64(theirs);
      assert.equal(k.revealBase64(), theirs, 'wg genkey output is already clamped');
      assert.equal(k.publicKey().toBase64(), wg(['pubkey'], theirs + '\n'));
    }
    const psk = wg(['genpsk']);
    assert.equal(PresharedKey.fromBase64(psk).revealBase64(), psk);
  });

  it('public keys print as their base64 text (they are not secret)', function () {
    const pub = PrivateKey.generate().publicKey();
    assert.equal(String(pub), pub.toBase64());
    assert.equal(JSON.stringify({ pub }), `{"pub":"${pub.toBase64()}"}`);
    assert.equal(util.inspect(pub), `PublicKey(${pub.toBase64()})`);
    assert.ok(PublicKey.fromBase64(pub.toBase64()).equals(pub));
  });

  it('a private key never appears in console.log, util.inspect (showHidden), JSON, String(), templates or enumeration', function () {
    const key = PrivateKey.generate();
    const secret = key.revealBase64();
    const texts = printouts(key);
    assertNoSecret(texts, secret);
    assert.ok(texts.some((t) => t.includes('[redacted]')));
    // its public key may show, so that a redacted key can still be told apart
    assert.match(util.inspect(key), new RegExp(key.publicKey().toBase64().replace(/[+/]/g, '\\$&')));
  });

  it('a preshared key never appears in any printout either', function () {
    const psk = PresharedKey.generate();
    assertNoSecret(printouts(psk), psk.revealBase64());
    assert.equal(util.inspect(psk), 'PresharedKey([redacted])');
  });

  it('refuses bad key text with a ValidationError naming the field and never echoing the text', function () {
    const secret = PrivateKey.generate().revealBase64();
    const cases = [
      [secret.slice(0, 40), /40 characters/], // wrong length
      [secret + 'AAAA', /48 characters/],
      [secret.slice(0, 20) + '*' + secret.slice(21), /not base64/], // not base64
      [secret.slice(0, 42) + 'B=', /not the base64 of 32 bytes/], // 44 chars, trailing bits set
      [Buffer.alloc(33, 7).toString('base64'), /characters/],
    ];
    for (const [text, why] of cases) {
      const e = (() => {
        try {
          PrivateKey.fromBase64(text, 'node.privateKey');
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      assert.ok(e instanceof ValidationError, `refused: ${why}`);
      assert.equal(e.problems[0].path, 'node.privateKey');
      assert.match(e.message, why);
      assertNoSecret([e.message, e.stack, JSON.stringify(e.problems), util.inspect(e)], secret);
      assert.ok(!e.message.includes(text));
    }
    assert.equal(keyTextProblem(secret), undefined);
    assert.match(keyTextProblem(42), /got number/);
    assert.throws(() => PresharedKey.fromBase64('short'), (e) => e instanceof ValidationError && e.problems[0].path === 'presharedKey');
    assert.throws(() => PublicKey.fromBytes(Buffer.alloc(31)), TypeError);
  });
});

describe('wireguard key files', function () {
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-wgkey-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file 0600 even under umask 0, and reads the same key back', async function () {
    const f = path.join(dir, 'key');
    const key = PrivateKey.generate();
    const old = process.umask(0);
    try {
      await writePrivateKeyFile(f, key);
    } finally {
      process.umask(old);
    }
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(f, 'utf8'), key.revealBase64() + '\n', 'wg\'s format: base64 and a newline');
    assert.ok((await readPrivateKeyFile(f)).equals(key));
    if (hasWg) assert.equal(wg(['pubkey'], fs.readFileSync(f)), key.publicKey().toBase64());
  });

  it('never overwrites an existing key file (O_EXCL: EEXIST, content unchanged)', async function () {
    const f = path.join(dir, 'key');
    const first = PrivateKey.generate();
    await writePrivateKeyFile(f, first);
    await assert.rejects(writePrivateKeyFile(f, PrivateKey.generate()), (e) => e.code === 'EEXIST');
    assert.ok((await readPrivateKeyFile(f)).equals(first));
  });

  it('keeps the key across restarts: loadOrCreatePrivateKey creates it once, then reads it', async function () {
    const f = path.join(dir, 'agent.key');
    const a = await loadOrCreatePrivateKey(f);
    assert.equal(a.created, true);
    const b = await loadOrCreatePrivateKey(f);
    assert.equal(b.created, false);
    assert.ok(b.key.equals(a.key));
    // several starting at once: one creates, all end with the same key (none reads a file
    // another has created but not yet written)
    for (let round = 0; round < 20; round++) {
      const g = path.join(dir, `race-${round}.key`);
      const got = await Promise.all(Array.from({ length: 6 }, () => loadOrCreatePrivateKey(g)));
      for (const x of got) assert.ok(x.key.equals(got[0].key));
      assert.equal(got.filter((x) => x.created).length, 1);
      assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith(`race-${round}.key`)), [`race-${round}.key`]);
    }
  });

  it('refuses a key file group or others can read (or write), naming the path and mode, not the key', async function () {
    const f = path.join(dir, 'key');
    const key = PrivateKey.generate();
    await writePrivateKeyFile(f, key);
    for (const mode of [0o644, 0o604, 0o640, 0o620]) {
      fs.chmodSync(f, mode);
      const e = await readPrivateKeyFile(f).catch((err) => err);
      assert.ok(e instanceof KeyFileError, String(e));
      assert.equal(e.code, 'ERR_WG_KEYFILE_MODE');
      assert.ok(e.message.includes(f) && e.message.includes(`0${mode.toString(8)}`));
      assertNoSecret([e.message, util.inspect(e)], key.revealBase64());
    }
    fs.chmodSync(f, 0o600);
    await assert.rejects(loadOrCreatePrivateKey(f).then(() => fs.chmodSync(f, 0o666)).then(() => loadOrCreatePrivateKey(f)), KeyFileError);
  });

  it('refuses symbolic links, directories, another owner\'s file and content that is no key (never echoed)', async function () {
    const f = path.join(dir, 'key');
    await writePrivateKeyFile(f, PrivateKey.generate());
    const link = path.join(dir, 'link');
    fs.symlinkSync(f, link);
    await assert.rejects(readPrivateKeyFile(link), (e) => e.code === 'ELOOP');
    await assert.rejects(writePrivateKeyFile(link, PrivateKey.generate()), (e) => e.code === 'EEXIST');
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub, { mode: 0o700 });
    await assert.rejects(readPrivateKeyFile(sub), (e) => e.code === 'ERR_WG_KEYFILE_TYPE' || e.code === 'EISDIR');
    const junk = path.join(dir, 'junk');
    const secretish = PrivateKey.generate().revealBase64().slice(0, 43) + '!';
    fs.writeFileSync(junk, secretish, { mode: 0o600 });
    const e = await readPrivateKeyFile(junk).catch((err) => err);
    assert.equal(e.code, 'ERR_WG_KEYFILE_CONTENT');
    assert.ok(!e.message.includes(secretish.slice(0, 12)));
    if (process.getuid && process.getuid() === 0) {
      fs.chownSync(f, 65534, 65534);
      await assert.rejects(readPrivateKeyFile(f), (err) => err.code === 'ERR_WG_KEYFILE_OWNER');
    }
  });
});
