/**
 * The overlay's WireGuard key: kept in a file (0600) across restarts, created on first start,
 * replaced by --rotate-key. Only public keys are ever logged.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { KeyFileError, loadOrCreatePrivateKey, readPrivateKeyFile, rotatePrivateKey } from '../genl/wireguard/keyfile';
import { Problems } from '../values/problems';
import type { PrivateKey } from '../genl/wireguard/key';
import type { NodeRecord } from '../membership/types';
import type { NodeWireGuard } from '../overlay/modes';
import type { ApplyResult } from '../reconcile/types';
import { describeError } from './common';
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

/**
 * A desired-state file's WireGuard devices may name their key by file, `privateKeyFile`
 * (absolute, or relative to the desired-state file), instead of holding it as `privateKey`
 * text: the key stays out of the config (and of argv and logs), in a file kept 0600 as
 * `wg genkey` users keep theirs (readPrivateKeyFile's checks). Each such entry gets the key
 * read as a PrivateKey in place of the file name, on every read of the config, so a SIGHUP
 * after replacing the file reconfigures the device with the new key. Throws ValidationError
 * naming each entry's field and file (never the key) before anything reaches the kernel.
 */
export async function readDesiredKeyFiles<T>(desired: T, configFile: string, what: string): Promise<T> {
  const list = (desired as { wireguard?: unknown } | null)?.wireguard;
  if (!Array.isArray(list)) return desired;
  const p = new Problems();
  const out = await Promise.all(
    list.map(async (spec: unknown, i) => {
      if (spec === null || typeof spec !== 'object' || !('privateKeyFile' in spec)) return spec;
      const { privateKeyFile: file, ...rest } = spec as { privateKeyFile: unknown } & Record<string, unknown>;
      const field = `wireguard[${i}].privateKeyFile`;
      if ('privateKey' in rest) return p.add(field, 'give privateKey or privateKeyFile, not both'), spec;
      if (typeof file !== 'string' || file.length === 0) return p.add(field, 'expected the path of a file holding the private key (wg genkey > FILE; chmod 600 FILE)'), spec;
      const path = resolve(dirname(configFile), file);
      try {
        return { ...rest, privateKey: await readPrivateKeyFile(path) };
      } catch (e) {
        p.add(field, describeKeyError(e) ?? `${path}: ${(e as Error).message}`);
        return spec;
      }
    }),
  );
  p.throwIfAny(what);
  return { ...(desired as object), wireguard: out } as T;
}

/**
 * A running overlay agent's key rotation (SIGHUP): the key file is read again; when it holds a
 * new key, the device takes it (one op, the peers stay) and the record publishes its public key
 * (etcd), so every other agent replaces this host's peer (old key out, new key in). With a node
 * file there is nothing to publish: the file must give this host the new key. A file that
 * cannot be read or trusted keeps the current key. Returns the SIGHUP step; only public keys
 * are logged. Rotations run one at a time, a SIGHUP meanwhile reads the file again after.
 */
export function rekeyOnHangup(
  wg: { key: PrivateKey; record: NodeWireGuard; file: string },
  agent: { setWireGuardKey(key: PrivateKey): Promise<ApplyResult | undefined> },
  membership: object & { setWireGuard?(w: NodeWireGuard): Promise<NodeRecord> },
  log: Logger,
): () => void {
  let current = wg.key;
  let running: Promise<void> | undefined;
  let again = false;
  const once = async (): Promise<void> => {
    let key: PrivateKey;
    try {
      key = await readPrivateKeyFile(wg.file);
    } catch (e) {
      log.error('wireguard', `SIGHUP: ${describeKeyError(e) ?? describeError(e)}; keeping the current key ${current.publicKey().toBase64()}`);
      return;
    }
    if (key.equals(current)) return;
    const from = current.publicKey().toBase64();
    const record: NodeWireGuard = { ...wg.record, publicKey: key.publicKey().toBase64() };
    current = key;
    log.info('wireguard', `SIGHUP: ${wg.file} holds a new key: public key ${from} -> ${record.publicKey}; the device takes it now`);
    await agent.setWireGuardKey(key);
    if (typeof membership.setWireGuard === 'function') {
      await membership.setWireGuard(record);
      log.info('wireguard', `published the new public key ${record.publicKey}; the other nodes replace this host's peer`);
    } else {
      log.warn('wireguard', `the node file must give this host the new public key ${record.publicKey} for the other nodes to follow`);
    }
  };
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = once()
      .catch((e: unknown) => log.error('wireguard', `SIGHUP: ${describeError(e)}`))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          run();
        }
      });
  };
  return run;
}

/** A key file problem as one sentence for the start-up error. */
export function describeKeyError(e: unknown): string | undefined {
  if (e instanceof KeyFileError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.path === 'string') return `the WireGuard key file ${err.path}: ${err.code} (${err.syscall ?? 'open'})`;
  return undefined;
}
