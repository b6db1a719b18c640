/**
 * The overlay's WireGuard key: kept in a file (0600) across restarts, created on first start,
 * replaced by --rotate-key. Only public keys are ever logged.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyFileError, loadOrCreatePrivateKey, rotatePrivateKey } from '../genl/wireguard/keyfile';
import type { PrivateKey } from '../genl/wireguard/key';
import type { Logger } from './log';

/** Where the overlay keeps its WireGuard key when --wg-key-file is not given (not with --netns). */
export const DEFAULT_WG_KEY_FILE = '/var/lib/netlink-agent/wireguard.key';

/** The key file asked for, or why there is none: an agent for a namespace must say where its key lives. */
export function wgKeyFile(o: { wgKeyFile?: string; netns?: string }): string | { problem: string } {
  if (o.wgKeyFile !== undefined) return o.wgKeyFile;
  if (o.netns !== undefined) return { problem: 'with --netns, give --wg-key-file: each host (namespace) needs a key of its own' };
  return DEFAULT_WG_KEY_FILE;
}

/** Reads the key, or creates it (its directory 0700 when made). Rejects with KeyFileError or a Node error naming the path, never the key. */
export async function loadWgKey(path: string, log: Logger): Promise<PrivateKey> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const { key, created } = await loadOrCreatePrivateKey(path);
  log.info('wireguard', `${created ? 'created' : 'loaded'} the key in ${path}: public key ${key.publicKey().toBase64()}`);
  return key;
}

/** --rotate-key: a new key replaces the one in the file (atomically); the old public key is logged for the record. */
export async function rotateWgKey(path: string, log: Logger): Promise<PrivateKey> {
  const { key, previous } = await rotatePrivateKey(path);
  log.info('wireguard', `rotated the key in ${path}: public key ${previous ? `${previous.toBase64()} -> ` : ''}${key.publicKey().toBase64()}; peers take the new one from membership`);
  return key;
}

/** A key file problem as one sentence for the start-up error. */
export function describeKeyError(e: unknown): string | undefined {
  if (e instanceof KeyFileError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.path === 'string') return `the WireGuard key file ${err.path}: ${err.code} (${err.syscall ?? 'open'})`;
  return undefined;
}
