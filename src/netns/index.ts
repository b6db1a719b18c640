/**
 * Network namespaces without running `ip`: create, delete, list, act inside them, and run
 * worker threads that live in them. Interoperable with iproute2: namespaces are bind mounts
 * under /run/netns, so `ip netns list/exec` see ours and we see theirs.
 */
import type { Worker } from 'node:worker_threads';
import { createNetns, deleteNetns, listNetns, netnsExists } from './lifecycle';
import { nsPath } from './path';
import { NETNS_RUN_DIR } from '../values/names';
import { inode, run } from './run';
import { readSysctl, setSysctl, type SysctlSettings, type SysctlValue } from './sysctl';
import { netnsWorker, type NetnsWorkerOptions } from './worker';

export { NetnsError, type NetnsOperation } from './errors';
export type { NetnsWorkerOptions } from './worker';
export type { SysctlSettings, SysctlValue } from './sysctl';

/**
 * Network namespaces. Every method is static; a namespace is named by its name under
 * /run/netns ("host1") or, where noted, by an absolute path (/proc/PID/ns/net).
 *
 * ```ts
 * Netns.create('pod1');
 * Netns.sysctl('pod1', 'net.ipv4.ip_forward', 1);
 * const nl = await Rtnl.open({ netns: 'pod1' });
 * const w = Netns.worker('pod1', './udp-echo.js', { workerData: { port: 7 } });
 * ...
 * Netns.delete('pod1');
 * ```
 *
 * Errors: a bad name is a ValidationError; a failed system call is a NetnsError whose code is
 * ENOENT (no such namespace, naming it), EEXIST, EPERM (not privileged; the message says what is
 * needed: CAP_SYS_ADMIN, i.e. root), EINVAL (not a network namespace).
 */
export class Netns {
  private constructor() {}

  /** The directory named namespaces live in, as iproute2 keeps them. */
  static readonly runDir = NETNS_RUN_DIR;

  /**
   * Creates network namespace `name`: a new namespace made on a dedicated thread (so no
   * JavaScript thread changes namespace) and bind-mounted at /run/netns/NAME, creating
   * /run/netns and making it a shared mount point as `ip netns add` does. Its loopback is down.
   * Throws ValidationError for a bad name; NetnsError EEXIST when it exists, EPERM when not
   * privileged (needs CAP_SYS_ADMIN).
   */
  static create(name: string): void {
    createNetns(name);
  }

  /**
   * Deletes network namespace `name` (unmounts and removes /run/netns/NAME, as `ip netns del`).
   * The namespace itself goes away once nothing (a process, a worker, a socket) uses it.
   * Throws NetnsError ENOENT when there is no such namespace, EPERM when not privileged.
   */
  static delete(name: string): void {
    deleteNetns(name);
  }

  /** The names under /run/netns, sorted, as `ip netns list` shows them. Never throws for a missing directory. */
  static list(): string[] {
    return listNetns();
  }

  /**
   * True when `netns` (a name or an absolute path) is a namespace file: a bind mount of a
   * namespace, not a leftover plain file. Needs no privilege. Throws only ValidationError.
   */
  static exists(netns: string): boolean {
    return netnsExists(netns);
  }

  /** The path of `netns`: /run/netns/NAME for a name, the path itself for an absolute path. Throws ValidationError. */
  static path(netns: string): string {
    return nsPath(netns, 'Netns.path');
  }

  /**
   * The inode number identifying namespace `netns` (a name or path), as a decimal string; two
   * paths with the same inode are the same namespace. Without an argument, the calling
   * thread's own namespace. Throws NetnsError ENOENT.
   */
  static inode(netns?: string): string {
    return inode(netns);
  }

  /**
   * Runs `fn` synchronously with the calling thread inside `netns` (a name or path) and returns
   * its result; the thread is back in its own namespace afterwards, also when fn throws. For
   * work whose system calls happen inside fn itself: native calls, synchronous file access to
   * /proc/sys/net (see Netns.sysctl).
   *
   * Node sockets made inside fn do NOT land in the namespace: dgram and net create their file
   * descriptor on a later tick, after fn has returned. Use Netns.worker for sockets. Asynchronous
   * fs calls made inside fn run on libuv's thread pool, which stays in the process's namespace
   * (Netns starts that pool before entering, so it is never born inside one). Threads created
   * inside fn (a plain new Worker, an addon's thread) are born inside the namespace and stay.
   *
   * Throws ValidationError for a bad name; NetnsError ENOENT (missing), EPERM (needs
   * CAP_SYS_ADMIN), EINVAL (not a network namespace, or fn returned a promise: only the part of
   * an async function before its first await would run inside); whatever fn throws.
   */
  static run<T>(netns: string, fn: () => T): T {
    return run(netns, fn);
  }

  /**
   * Starts a worker_threads Worker whose OS thread enters `netns` (a name or path) before any
   * of its code runs, so every socket it makes lives there. `fileOrUrl` is an absolute path, a
   * path starting with ./ or ../ (from the working directory), or a file:/data: URL; .js and .cjs
   * files are loaded with require (an ES module .js falls back to import()), .mjs files and URLs
   * with import(). `options` are those of a Worker (workerData, argv, env, stdout, resourceLimits,
   * transferList, ...) except eval; the code sees its own workerData and its file as
   * process.argv[1]. Messages go in and out as with any Worker.
   *
   * The namespace is opened and checked here, synchronously: a missing one throws NetnsError
   * ENOENT (EPERM, EINVAL likewise) and no worker starts. The worker enters exactly the namespace
   * checked here, even if the name is deleted meanwhile.
   *
   * Inside the worker, work done on libuv's thread pool runs in the process's own namespace:
   * name lookups (dns.lookup, the default for net/dgram: use IP literals or dns.Resolver) and
   * asynchronous fs calls (read /proc/sys/net and /proc/thread-self/net synchronously; note
   * /proc/self/net and /proc/net show the main thread's namespace, not the worker's).
   */
  static worker(netns: string, fileOrUrl: string | URL, options?: NetnsWorkerOptions): Worker {
    return netnsWorker(netns, fileOrUrl, options);
  }

  /**
   * Sets network sysctls inside `netns` (a name or path) by writing /proc/sys/net/... from inside
   * it, as sysctl(8) would there: `Netns.sysctl('r1', 'net.ipv4.ip_forward', 1)` or several in one
   * visit, `Netns.sysctl('r1', { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.veth0.proxy_arp': 1 })`.
   * Keys use sysctl(8)'s dotted form ("net.ipv4.conf.eth0/100.rp_filter" for device eth0.100) or
   * the slashed one; only net.* keys are accepted (the others are not per-namespace).
   * Throws ValidationError before writing anything for a bad key or value; NetnsError ENOENT
   * (missing namespace or key), EPERM, EACCES (read-only key), EINVAL (value refused).
   */
  static sysctl(netns: string, key: string, value: SysctlValue): void;
  static sysctl(netns: string, settings: SysctlSettings): void;
  static sysctl(netns: string, keyOrSettings: string | SysctlSettings, value?: SysctlValue): void {
    if (typeof keyOrSettings === 'string') setSysctl(netns, keyOrSettings, value as SysctlValue);
    else setSysctl(netns, keyOrSettings);
  }

  /**
   * Reads a network sysctl inside `netns` ("1" for net.ipv4.ip_forward when forwarding is on),
   * without the trailing newline. Throws as Netns.sysctl does.
   */
  static readSysctl(netns: string, key: string): string {
    return readSysctl(netns, key);
  }
}
