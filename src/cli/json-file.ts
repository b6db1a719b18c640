/**
 * Reading a JSON file a person gave the command (a desired state), with bounds: a size limit
 * checked before reading (and while reading, for files whose size stat does not tell, like a
 * pipe or /dev/zero), and a nesting limit checked while reading, before anything is parsed.
 * Either is a ValidationError naming the file; nothing is sent to the kernel.
 */
import * as fs from 'node:fs';
import { ValidationError } from '../values/problems';

/** The largest file read: 128 MiB (about 1.5 million routes). */
export const MAX_JSON_FILE_BYTES = 128 * 1024 * 1024;
/** The deepest nesting accepted: a desired state needs 4 levels; 64 leaves room. */
export const MAX_JSON_DEPTH = 64;

/** How readJsonFile bounds the file. */
export interface JsonFileLimits {
  /** Default MAX_JSON_FILE_BYTES. */
  maxBytes?: number;
  /** Default MAX_JSON_DEPTH. */
  maxDepth?: number;
  /** The message of the ValidationError ("invalid desired state"). */
  what?: string;
}

/** Follows the nesting of JSON text chunk by chunk (strings and escapes understood). */
class DepthScanner {
  depth = 0;
  max = 0;
  private inString = false;
  private escaped = false;
  /** Scans a chunk; returns the offset in it where the depth first exceeded `limit`, or -1. */
  scan(chunk: Buffer, limit: number): number {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (++this.depth > limit) return i;
      } else if (c === 0x7d || c === 0x5d) this.depth--;
    }
    return -1;
  }
}

/**
 * Reads and parses a JSON file within the limits. Throws ValidationError (too big, too deep,
 * not JSON) and Error "cannot read FILE: ..." when it cannot be opened or read.
 */
export function readJsonFile(file: string, limits: JsonFileLimits = {}): unknown {
  const maxBytes = limits.maxBytes ?? MAX_JSON_FILE_BYTES;
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  const what = limits.what ?? 'invalid JSON file';
  const refuse = (message: string) => new ValidationError([{ path: file, message }], what);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new Error(`cannot read ${file}: it is a directory`);
    if (st.isFile() && st.size > maxBytes) throw refuse(`${st.size} bytes, more than the ${maxBytes} a file may have here`);
    const chunks: Buffer[] = [];
    const scanner = new DepthScanner();
    let total = 0;
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw new Error(`cannot read ${file}: ${(e as Error).message}`);
      }
      if (n === 0) break;
      const chunk = Buffer.from(buf.subarray(0, n));
      const at = scanner.scan(chunk, maxDepth);
      if (at >= 0) throw refuse(`nested deeper than ${maxDepth} levels (at byte ${total + at}); a desired state needs a handful`);
      total += n;
      if (total > maxBytes) throw refuse(`more than the ${maxBytes} bytes a file may have here`);
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks, total).toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw refuse(`not JSON (${(e as Error).message})`);
    }
  } finally {
    fs.closeSync(fd);
  }
}
