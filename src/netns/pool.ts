/**
 * libuv starts its thread pool (fs, dns.lookup, crypto, zlib work) lazily, on the first job,
 * from whichever thread submits it — and a new thread is born in the network namespace of the
 * thread that creates it. If that first job were submitted from inside Netns.run() or from a
 * Netns.worker() thread, every pool thread of the process would live in that namespace for
 * good (measured: an fs.readlink of /proc/thread-self/ns/net submitted inside run() answers with
 * the namespace, and so do all later ones). So before any thread enters a namespace, the pool
 * is started from here, in the caller's own namespace.
 */
import { access } from 'node:fs';

let started = false;

/** Makes sure libuv's thread pool exists (submitting one trivial job starts all its threads). */
export function ensureThreadPool(): void {
  if (started) return;
  started = true;
  // uv_fs_access always runs on the pool (never io_uring); the pool's threads are created
  // synchronously inside this call.
  access('/', () => undefined);
}
