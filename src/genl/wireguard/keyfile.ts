/**
 * A private key kept in a file across restarts, as `wg genkey > key; chmod 600 key` would keep
 * it but without a moment where the file is readable by others or half written: the key is
 * written to a file of its own beside it (O_CREAT | O_EXCL | O_NOFOLLOW, mode 0600, then fchmod
 * 0600 whatever the umask), fsync'ed, and linked into place. Reading refuses a file that group
 * or others may read or write, a file owned by another user, a symbolic link or anything but a
 * regular file; the error names the path and what is wrong, never the content.
 */
import { constants as fsc } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { PrivateKey, WG_KEY_BASE64_LEN, type PublicKey } from './key';

/** A key file that must not be trusted (its mode, owner or type), or that holds no key. */
export class KeyFileError extends Error {
  /** Always 'KeyFileError'. */
  override readonly name = 'KeyFileError';
  /**
   * @param code - ERR_WG_KEYFILE_MODE (group/others have access), ERR_WG_KEYFILE_OWNER,
   *   ERR_WG_KEYFILE_TYPE (not a regular file), ERR_WG_KEYFILE_CONTENT (no key in it)
   * @param path - the file
   * @param message - what is wrong (never the file's content)
   */
  constructor(
    readonly code: 'ERR_WG_KEYFILE_MODE' | 'ERR_WG_KEYFILE_OWNER' | 'ERR_WG_KEYFILE_TYPE' | 'ERR_WG_KEYFILE_CONTENT',
    readonly path: string,
    message: string,
  ) {
    super(`private key file ${path}: ${message}`);
  }
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Creates `path` holding `key` (base64 and a newline, as wg writes it), mode 0600. Fails with
 * the Node error EEXIST when the file exists: an existing key is never overwritten.
 */
export async function writePrivateKeyFile(path: string, key: PrivateKey): Promise<void> {
  if (!(key instanceof PrivateKey)) throw new TypeError('writePrivateKeyFile: key must be a PrivateKey');
  // Written whole beside it, then linked into place: link(2) refuses an existing name (EEXIST,
  // a symbolic link included) as O_EXCL would, and the name never holds a half-written file,
  // so an agent starting at the same moment reads the whole key or finds no file.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.new`;
  const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  try {
    try {
      await fh.chmod(0o600); // the umask may have taken bits away; it cannot have added any
      await fh.writeFile(`${key.revealBase64()}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(tmp, path);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function checkTrusted(fh: FileHandle, path: string): Promise<void> {
  const st = await fh.stat();
  if (!st.isFile()) throw new KeyFileError('ERR_WG_KEYFILE_TYPE', path, 'is not a regular file');
  if (st.mode & 0o077) {
    throw new KeyFileError('ERR_WG_KEYFILE_MODE', path, `has mode ${octal(st.mode)}: group or others may access it; a private key file must be 0600 (chmod 600 it, and replace the key if others may have read it)`);
  }
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : st.uid;
  if (st.uid !== uid) throw new KeyFileError('ERR_WG_KEYFILE_OWNER', path, `is owned by uid ${st.uid}, not by this process (uid ${uid})`);
}

/**
 * Reads the private key in `path` (wg's base64 form; surrounding whitespace allowed). Rejects
 * with KeyFileError when the file is not 0600-safe, not a regular file, not ours or holds no
 * key, and with the Node error (ENOENT, ELOOP for a symbolic link, ...) when it cannot be opened.
 */
export async function readPrivateKeyFile(path: string): Promise<PrivateKey> {
  const fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    await checkTrusted(fh, path);
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.toString('utf8', 0, bytesRead).trim();
    buf.fill(0);
    if (text.length !== WG_KEY_BASE64_LEN || bytesRead === buf.length) {
      throw new KeyFileError('ERR_WG_KEYFILE_CONTENT', path, `does not hold one WireGuard key (${WG_KEY_BASE64_LEN} characters of base64)`);
    }
    try {
      return PrivateKey.fromBase64(text, 'privateKeyFile');
    } catch {
      throw new KeyFileError('ERR_WG_KEYFILE_CONTENT', path, 'does not hold a WireGuard key in base64');
    }
  } finally {
    await fh.close();
  }
}

/** What loadOrCreatePrivateKey() found or made. */
export interface LoadedKey {
  /** The key. */
  key: PrivateKey;
  /** True when the file did not exist and was created with a new key. */
  created: boolean;
}

/**
 * The agent's key across restarts: reads `path`, or when it does not exist generates a key and
 * creates the file (0600, O_EXCL: if another process created it meanwhile, that one is read).
 * Rejects like readPrivateKeyFile for a file that exists but cannot be trusted.
 */
export async function loadOrCreatePrivateKey(path: string): Promise<LoadedKey> {
  try {
    return { key: await readPrivateKeyFile(path), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = PrivateKey.generate();
  try {
    await writePrivateKeyFile(path, key);
    return { key, created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { key: await readPrivateKeyFile(path), created: false };
  }
}

/** What rotatePrivateKey() did. */
export interface RotatedKey {
  /** The new key, now in the file. */
  key: PrivateKey;
  /** The public key of the key it replaced, when the file held one. */
  previous?: PublicKey;
}

/**
 * Replaces the key in `path` with a new one (generated here), atomically: the new key is
 * written to a temporary file beside it (0600, O_EXCL) and renamed over it, so the file holds
 * the old key or the new one, never a mix or nothing. The old file must pass the same checks as
 * readPrivateKeyFile (a file that cannot be trusted is not silently replaced); a missing file is
 * created. Only the old key's public half is returned.
 */
export async function rotatePrivateKey(path: string): Promise<RotatedKey> {
  let previous: PublicKey | undefined;
  try {
    previous = (await readPrivateKeyFile(path)).publicKey();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = PrivateKey.generate();
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.new`;
  try {
    await writePrivateKeyFile(tmp, key);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return previous ? { key, previous } : { key };
}
