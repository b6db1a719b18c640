/**
 * The first code a Netns.worker() thread runs. It moves this OS thread into the namespace
 * before anything else happens, then restores the user's workerData and process.argv[1] and
 * loads the user's file: CommonJS require for .js/.cjs (falling back to import() for an ES
 * module), import() for .mjs and URLs. Every socket the worker's event loop makes from then on
 * is created on this thread, hence inside the namespace.
 */
import workerThreads = require('node:worker_threads');
import { syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';
import { native } from '../addon';
import { netnsErrorFrom } from './errors';
import { claim, HANDOFF_KEY, type WrappedWorkerData } from './handoff';

// TypeScript compiles import() to require() for CommonJS output; this keeps a real import().
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

function main(): void {
  const wrapped = workerThreads.workerData as WrappedWorkerData | undefined;
  const h = wrapped?.[HANDOFF_KEY];
  if (workerThreads.isMainThread || !wrapped || !h) {
    throw new Error('netlink-agent: netns/bootstrap is started by Netns.worker(), not on its own');
  }
  if (!claim(h)) throw new Error(`Netns.worker ${h.netns}: the worker was stopped before it could enter the namespace`);
  const ns = native().netns;
  let old: number;
  try {
    old = ns.enter(h.fd);
  } catch (e) {
    ns.closeFd(h.fd);
    throw netnsErrorFrom(e, 'Netns.worker', h.netns, h.path);
  }
  ns.closeFd(h.fd);
  // This thread never goes back; the fd on its old namespace is not needed.
  ns.closeFd(old);

  // The user's code sees its own workerData (also through `import { workerData }`), and its
  // own file as argv[1], as it would in a plain Worker.
  (workerThreads as { workerData: unknown }).workerData = wrapped.data;
  syncBuiltinESMExports();
  process.argv[1] = h.entry;

  const rethrow = (e: unknown) => {
    // Surfaces as the Worker's 'error' event, like an exception in a plain Worker's file.
    process.nextTick(() => {
      throw e;
    });
  };
  if (h.mode === 'import') {
    importModule(h.entry).catch(rethrow);
    return;
  }
  try {
    require(h.entry);
  } catch (e) {
    // An ES module .js file (package "type": "module"), or one with top-level await where
    // require() of ES modules is supported: load it as the ES module it is.
    const code = (e as { code?: unknown }).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
    importModule(pathToFileURL(h.entry).href).catch(rethrow);
  }
}

main();
