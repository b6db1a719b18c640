/**
 * Worker threads that live in a network namespace. Node creates a socket's file descriptor a
 * tick after bind()/listen()/connect() return, so switching the main thread's namespace around
 * a call cannot place Node sockets; a worker whose whole OS thread is inside the namespace can.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { NETLINK_ROUTE } from '../addon';
import { native } from '../addon';
import { netnsErrorFrom } from './errors';
import { claim, HANDOFF_KEY, type EntryMode, type Handoff, type WrappedWorkerData } from './handoff';
import { nsPath } from './path';
import { ensureThreadPool } from './pool';

/** The options of a plain Worker, except `eval` (the worker always runs a file or URL). */
export type NetnsWorkerOptions = Omit<WorkerOptions, 'eval'>;

const BOOTSTRAP = join(__dirname, 'bootstrap.js');

function entryOf(fileOrUrl: string | URL): { entry: string; mode: EntryMode } {
  if (fileOrUrl instanceof URL || /^(file|data):/.test(fileOrUrl)) {
    const url = fileOrUrl instanceof URL ? fileOrUrl : new URL(fileOrUrl);
    if (url.protocol !== 'file:' && url.protocol !== 'data:') {
      throw new TypeError(`Netns.worker: ${url.href}: only file: and data: URLs can be loaded`);
    }
    return { entry: url.href, mode: 'import' };
  }
  if (typeof fileOrUrl !== 'string' || fileOrUrl.length === 0) {
    throw new TypeError('Netns.worker(netns, fileOrUrl): expected a file path or a URL');
  }
  // As with new Worker(): an absolute path, or one relative to the working directory that says
  // so with ./ or ../ (a bare name would look like a package).
  if (!isAbsolute(fileOrUrl) && !/^\.\.?\//.test(fileOrUrl)) {
    throw new TypeError(`Netns.worker: ${JSON.stringify(fileOrUrl)}: give an absolute path, one starting with ./ or ../, or a URL`);
  }
  const entry = resolve(fileOrUrl);
  return { entry, mode: entry.endsWith('.mjs') ? 'import' : 'require' };
}

/**
 * Opens the namespace and checks, on a short-lived thread of the addon's, that it is a network
 * namespace this process may enter (setns checks type and privilege); returns the open fd.
 */
function openChecked(ns: string, path: string): number {
  const n = native();
  let fd: number;
  try {
    fd = n.netns.open(path);
  } catch (e) {
    throw netnsErrorFrom(e, 'Netns.worker', ns, path);
  }
  try {
    new n.NlSocket(NETLINK_ROUTE, null, fd).close();
  } catch (e) {
    n.netns.closeFd(fd);
    throw netnsErrorFrom(e, 'Netns.worker', ns, path);
  }
  return fd;
}

/** Netns.worker(): see the doc comment on Netns.worker in index.ts. */
export function netnsWorker(ns: string, fileOrUrl: string | URL, options: NetnsWorkerOptions = {}): Worker {
  const path = nsPath(ns, 'Netns.worker');
  if ((options as WorkerOptions).eval) throw new TypeError('Netns.worker: the eval option is not supported; give a file or a URL');
  const { entry, mode } = entryOf(fileOrUrl);
  const fd = openChecked(ns, path);
  ensureThreadPool();
  const handoff: Handoff = { netns: ns, path, fd, claim: new Int32Array(new SharedArrayBuffer(4)), entry, mode };
  const workerData: WrappedWorkerData = { [HANDOFF_KEY]: handoff, data: options.workerData };
  let worker: Worker;
  try {
    worker = new Worker(BOOTSTRAP, { ...options, workerData });
  } catch (e) {
    native().netns.closeFd(fd);
    throw e;
  }
  // A worker terminated before its bootstrap ran never claimed the fd: close it here.
  worker.once('exit', () => {
    if (claim(handoff)) native().netns.closeFd(fd);
  });
  return worker;
}
