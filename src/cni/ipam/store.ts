/**
 * Reservations on disk in host-local's format, so that a node can switch between the two plugins
 * and tools that read host-local's directory read ours:
 *
 *   <dataDir>/<network>/<address>            one file per reserved address: "<containerID>\r\n<ifname>"
 *   <dataDir>/<network>/last_reserved_ip.<N> the address last handed out from range set N
 *   <dataDir>/<network>/lock                 flock(2)ed while the directory changes
 *
 * A reservation file is created with O_EXCL, so two allocators can never both take an address;
 * the lock (the same flock host-local takes) makes "read what is free, then take it" one step,
 * and dies with its holder, so a killed plugin never leaves the network locked.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../addon';
import { CniError, CNI_ERR } from '../errors';
import { parseIp } from './range';

/** host-local's separator between container ID and interface name. */
const LINE_BREAK = '\r\n';
const LAST_RESERVED = 'last_reserved_ip.';
/** Prefix of a reservation being written (never an address, so host-local and list() skip it). */
const PENDING = '.pending-';

/** Where a reserved address went: the attachment (container ID, interface) holding it. */
export interface Reservation {
  /** The address, canonical text (the file's name). */
  ip: string;
  /** The container ID. */
  id: string;
  /** The interface name; '' for files written by host-local before it recorded interfaces. */
  ifname: string;
}

/** How long an operation waits for another holder of the lock before answering "try again later". */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One network's reservation directory. Open with ReservationStore.open(); close() when done. */
export class ReservationStore {
  private locked = false;

  private constructor(
    /** The network's directory, <dataDir>/<network>. */
    readonly dir: string,
    private readonly lockFd: number,
  ) {}

  /** Opens (creating as needed) <dataDir>/<network> and its lock file. Throws CniError IO_FAILURE. */
  static open(dataDir: string, network: string): ReservationStore {
    const dir = join(dataDir, network);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      return new ReservationStore(dir, openSync(join(dir, 'lock'), 'a', 0o644));
    } catch (e) {
      throw ioError(`cannot open the reservation directory ${dir}`, e);
    }
  }

  /** Takes the directory's lock, waiting up to timeoutMs for another holder (CniError
   * TRY_AGAIN_LATER after), and clears what killed plugins left half-written. */
  async lock(timeoutMs = DEFAULT_LOCK_TIMEOUT_MS): Promise<void> {
    const flock = native().flock;
    const t0 = Date.now();
    let wait = 1;
    while (!flock.lock(this.lockFd, true, false)) {
      if (Date.now() - t0 >= timeoutMs) {
        throw new CniError(CNI_ERR.TRY_AGAIN_LATER, 'the address reservations are locked', `${this.dir}/lock was held by another process for ${timeoutMs} ms`);
      }
      await sleep(wait);
      wait = Math.min(wait * 2, 20);
    }
    this.locked = true;
    this.removeAbandoned();
  }

  /** Releases the lock (closing also does). */
  unlock(): void {
    if (!this.locked) return;
    this.locked = false;
    native().flock.unlock(this.lockFd);
  }

  /** Releases the lock and closes the lock file. */
  close(): void {
    this.unlock();
    closeSync(this.lockFd);
  }

  /** The canonical texts of every reserved address (the file names that are addresses). */
  reservedAddresses(): Set<string> {
    const out = new Set<string>();
    for (const name of this.names()) {
      const ip = parseIp(name);
      if (ip) out.add(name);
    }
    return out;
  }

  /** Every reservation with its holder. Files that vanish or cannot be read meanwhile are skipped. */
  list(): Reservation[] {
    const out: Reservation[] = [];
    for (const name of this.names()) {
      if (!parseIp(name)) continue;
      const holder = this.holder(name);
      if (holder) out.push({ ip: name, ...holder });
    }
    return out;
  }

  /** The holder of one address, or undefined when it is not reserved. */
  holder(ip: string): { id: string; ifname: string } | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.dir, ip), 'utf8').trim();
    } catch {
      return undefined;
    }
    const at = text.indexOf(LINE_BREAK);
    return at < 0 ? { id: text, ifname: '' } : { id: text.slice(0, at), ifname: text.slice(at + LINE_BREAK.length) };
  }

  /** The addresses held by an attachment (files written by old host-local, holding only the ID, count too). */
  heldBy(id: string, ifname: string): string[] {
    return this.list()
      .filter((r) => r.id === id.trim() && (r.ifname === ifname || r.ifname === ''))
      .map((r) => r.ip);
  }

  /**
   * Reserves `ip` for an attachment: creates its file exclusively and records it as the last
   * address of range set `rangeId`. False when the address is taken (the file exists).
   * Throws CniError IO_FAILURE for anything else.
   */
  reserve(ip: string, id: string, ifname: string, rangeId: string): boolean {
    const file = join(this.dir, ip);
    // The file must never exist without its holder: a plugin killed between creating it and
    // writing it would leave an address nobody's DEL releases. So the content is written to a
    // file of our own first and linked into place, which is as exclusive as O_EXCL (EEXIST
    // when the address is taken) and makes the reservation appear whole or not at all.
    const tmp = join(this.dir, `${PENDING}${process.pid}-${ip}`);
    try {
      writeFileSync(tmp, `${id.trim()}${LINE_BREAK}${ifname}`, { mode: 0o644 });
    } catch (e) {
      unlinkQuietly(tmp);
      throw ioError(`cannot write the reservation of ${ip}`, e);
    }
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw ioError(`cannot reserve ${ip}`, e);
    } finally {
      unlinkQuietly(tmp);
    }
    try {
      writeFileSync(join(this.dir, `${LAST_RESERVED}${rangeId}`), ip);
    } catch (e) {
      unlinkQuietly(file);
      throw ioError(`cannot record the last reserved address of range set ${rangeId}`, e);
    }
    return true;
  }

  /**
   * Removes the pending files of plugins that died before linking them (see reserve): their
   * names carry the writer's pid. Called with the lock held.
   */
  removeAbandoned(): void {
    for (const name of this.names()) {
      if (!name.startsWith(PENDING)) continue;
      const pid = Number(name.slice(PENDING.length, name.indexOf('-', PENDING.length)));
      if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) unlinkQuietly(join(this.dir, name));
    }
  }

  /** The address last handed out from range set `rangeId`, if recorded. */
  lastReserved(rangeId: string): string | undefined {
    try {
      return readFileSync(join(this.dir, `${LAST_RESERVED}${rangeId}`), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  /** Removes the reservation of `ip` (nothing when there is none). */
  release(ip: string): void {
    unlinkQuietly(join(this.dir, ip));
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch (e) {
      throw ioError(`cannot read ${this.dir}`, e);
    }
  }
}

/** Whether a process exists (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

function ioError(what: string, e: unknown): CniError {
  return new CniError(CNI_ERR.IO_FAILURE, what, e instanceof Error ? e.message : String(e));
}
