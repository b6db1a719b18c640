/**
 * WireGuard keys: 32 bytes, written as wg writes them (44 characters of base64 ending in '=').
 *
 * Private and preshared keys are secrets: their classes print, inspect and serialize as
 * "[redacted]" (toString, toJSON, util.inspect, console.log, template strings), keep the bytes
 * in a private field that no enumeration or inspection reaches, and are read only through
 * toBytes() (for the wire) or revealBase64() (for a key file). Errors about a key name the
 * field and what is wrong with it, never the key.
 *
 * Key pairs use node:crypto's X25519 (no `wg` binary): a private key is clamped as
 * `wg genkey` clamps it (and as the kernel stores it), its public key is X25519(key, 9).
 */
import { createPrivateKey, createPublicKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { Problems } from '../../values/problems';

/** WG_KEY_LEN: every WireGuard key is 32 bytes. */
export const WG_KEY_LEN = 32;
/** Length of a key in wg's base64 text form. */
export const WG_KEY_BASE64_LEN = 44;

// PKCS#8 DER header of an X25519 private key (RFC 8410): the raw 32 bytes follow.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const CANONICAL_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const BASE64_CHARS = /^[A-Za-z0-9+/=]*$/;

/**
 * Why `text` is not a key in wg's base64 form, or undefined when it is one. The reason never
 * contains the text (it may be a secret).
 */
export function keyTextProblem(text: unknown): string | undefined {
  if (typeof text !== 'string') return `expected a key as base64 text (44 characters, as wg prints it), got ${text === null ? 'null' : typeof text}`;
  if (!BASE64_CHARS.test(text)) return 'is not base64: it has characters outside A-Z a-z 0-9 + / =';
  if (text.length !== WG_KEY_BASE64_LEN) {
    const bytes = Math.floor((text.replace(/=+$/, '').length * 3) / 4);
    return `is ${text.length} characters of base64 (about ${bytes} bytes); a WireGuard key is ${WG_KEY_BASE64_LEN} characters (${WG_KEY_LEN} bytes) ending in '='`;
  }
  if (!CANONICAL_KEY.test(text)) return `is ${WG_KEY_BASE64_LEN} characters but not the base64 of ${WG_KEY_LEN} bytes (wg would refuse it)`;
  return undefined;
}

/** wg's clamping of a Curve25519 secret (as `wg genkey` and the kernel do). */
function clamp(b: Buffer): Buffer {
  b[0] &= 248;
  b[31] = (b[31] & 127) | 64;
  return b;
}

function checkBytes(bytes: Uint8Array, what: string): Buffer {
  if (!(bytes instanceof Uint8Array) || bytes.length !== WG_KEY_LEN) {
    throw new TypeError(`${what}: a WireGuard key is ${WG_KEY_LEN} bytes, got ${bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes}`);
  }
  return ownCopy(bytes);
}

/** A copy in memory of its own: Buffer.from() may place small copies in a pool slab shared
 * with unrelated buffers, which would keep a secret reachable for as long as any of them. */
function ownCopy(bytes: Uint8Array): Buffer {
  const b = Buffer.alloc(WG_KEY_LEN);
  b.set(bytes);
  return b;
}

function parseText(text: unknown, field: string, what: string): Buffer {
  const problem = keyTextProblem(text);
  if (problem !== undefined) {
    const p = new Problems();
    p.add(field, problem);
    p.throwIfAny(what);
  }
  const pooled = Buffer.from(text as string, 'base64');
  const own = ownCopy(pooled);
  pooled.fill(0);
  return own;
}

/** What the three kinds of key share: 32 bytes and constant-time comparison. */
export abstract class WgKey {
  readonly #bytes: Buffer;
  protected constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }
  /** A copy of the 32 bytes (what goes into a netlink attribute). */
  toBytes(): Buffer {
    return Buffer.from(this.#bytes);
  }
  /** Whether `other` is a key of the same kind with the same bytes (constant time). */
  equals(other: unknown): boolean {
    return other instanceof WgKey && other.constructor === this.constructor && timingSafeEqual(other.#bytes, this.#bytes);
  }
  /** Whether every byte is zero (what the kernel reports for "no preshared key"). */
  isZero(): boolean {
    return this.#bytes.every((b) => b === 0);
  }
  /** Whether the bytes equal `bytes` (constant time). For checks between kinds of key. */
  sameBytes(bytes: Uint8Array): boolean {
    return bytes.length === WG_KEY_LEN && timingSafeEqual(Buffer.from(bytes), this.#bytes);
  }
  /** The key in wg's base64 form. Subclasses holding secrets do not expose it under this name. */
  protected base64(): string {
    return this.#bytes.toString('base64');
  }
}

/**
 * A peer's (or a device's) public key. Not a secret: it prints as its base64 text.
 *
 * @example
 * ```ts
 * const pub = PublicKey.fromBase64('HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=');
 * String(pub);   // the same text
 * ```
 */
export class PublicKey extends WgKey {
  private constructor(bytes: Buffer) {
    super(bytes);
  }
  /** Parses wg's base64 form. Throws ValidationError naming `field` (never the text) when it is not a key. */
  static fromBase64(text: string, field = 'publicKey'): PublicKey {
    return new PublicKey(parseText(text, field, 'invalid public key'));
  }
  /** From the 32 raw bytes (copied). Throws TypeError for another length. */
  static fromBytes(bytes: Uint8Array): PublicKey {
    return new PublicKey(checkBytes(bytes, 'PublicKey.fromBytes'));
  }
  /** The key in wg's base64 form. */
  toBase64(): string {
    return this.base64();
  }
  /** The key in wg's base64 form. */
  override toString(): string {
    return this.base64();
  }
  /** The key in wg's base64 form. */
  toJSON(): string {
    return this.base64();
  }
  /** util.inspect / console.log: PublicKey(<base64>). */
  [inspect.custom](): string {
    return `PublicKey(${this.base64()})`;
  }
}

/** What a secret key prints as, everywhere. */
export const REDACTED = '[redacted]';

/** What the two secret kinds share: they print, serialize and inspect as "[redacted]". */
export abstract class SecretKey extends WgKey {
  /** The secret in wg's base64 form, for a key file or another program's config. Never log it. */
  revealBase64(): string {
    return this.base64();
  }
  /** "[redacted]". */
  override toString(): string {
    return REDACTED;
  }
  /** "[redacted]". */
  toJSON(): string {
    return REDACTED;
  }
  /** util.inspect / console.log: the class name and "[redacted]" (subclasses may add public facts). */
  [inspect.custom](): string {
    return `${this.constructor.name}(${REDACTED})`;
  }
}

/**
 * A device's private key: a secret. Prints, inspects and serializes as "[redacted]"; read it
 * with revealBase64() only to store it (see writePrivateKeyFile).
 *
 * @example
 * ```ts
 * const key = PrivateKey.generate();
 * console.log(key);                 // PrivateKey([redacted], public Hx...=)
 * const pub = key.publicKey();      // X25519, node:crypto
 * ```
 */
export class PrivateKey extends SecretKey {
  #public: PublicKey | undefined;
  private constructor(bytes: Buffer) {
    super(clamp(bytes));
  }
  /** A new random key, clamped as `wg genkey` does (crypto.randomBytes). */
  static generate(): PrivateKey {
    return new PrivateKey(randomBytes(WG_KEY_LEN));
  }
  /**
   * Parses wg's base64 form (the key is clamped as the kernel would). Throws ValidationError
   * naming `field`, never echoing the text, when it is not a key.
   */
  static fromBase64(text: string, field = 'privateKey'): PrivateKey {
    return new PrivateKey(parseText(text, field, 'invalid private key'));
  }
  /** From the 32 raw bytes (copied, then clamped). Throws TypeError for another length. */
  static fromBytes(bytes: Uint8Array): PrivateKey {
    return new PrivateKey(checkBytes(bytes, 'PrivateKey.fromBytes'));
  }
  /** The public key of this private key: X25519(key, basepoint 9), computed once. */
  publicKey(): PublicKey {
    if (!this.#public) {
      const raw = this.toBytes();
      const der = Buffer.concat([PKCS8_X25519, raw]);
      raw.fill(0);
      const spki = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
      der.fill(0);
      this.#public = PublicKey.fromBytes(spki.subarray(spki.length - WG_KEY_LEN));
    }
    return this.#public;
  }
  /** util.inspect / console.log: PrivateKey([redacted], public <base64 of its public key>). */
  override [inspect.custom](): string {
    return `PrivateKey(${REDACTED}, public ${this.publicKey().toBase64()})`;
  }
}

/**
 * A peer's preshared key (an extra symmetric secret, `wg genpsk`): a secret, redacted like
 * PrivateKey.
 */
export class PresharedKey extends SecretKey {
  private constructor(bytes: Buffer) {
    super(bytes);
  }
  /** 32 random bytes (crypto.randomBytes), as `wg genpsk`. */
  static generate(): PresharedKey {
    return new PresharedKey(randomBytes(WG_KEY_LEN));
  }
  /** Parses wg's base64 form. Throws ValidationError naming `field`, never echoing the text. */
  static fromBase64(text: string, field = 'presharedKey'): PresharedKey {
    return new PresharedKey(parseText(text, field, 'invalid preshared key'));
  }
  /** From the 32 raw bytes (copied). Throws TypeError for another length. */
  static fromBytes(bytes: Uint8Array): PresharedKey {
    return new PresharedKey(checkBytes(bytes, 'PresharedKey.fromBytes'));
  }
}
