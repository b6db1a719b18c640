/**
 * The plugin's code as one file, written by `netlink-agent cni install` next to the executable.
 * A runtime starts the plugin for every pod: loading ~40 compiled modules one by one costs a
 * module resolution, a file read and a compilation each. One file compiled through vm.Script
 * can use V8's code cache, which the plugin itself saves per command after its first run of it
 * (with every function that command ran already compiled), so later runs skip compiling.
 *
 * The bundle holds this package's own modules reachable from the plugin entry; packages from
 * node_modules (and the native addon) are required from where they are installed, as before.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/** Where bundled modules are looked for: this package's dist/ directory. */
const DIST = resolve(__dirname, '..');

/** require("…") and require('…') calls in tsc's CommonJS output (dynamic import() compiles to them too). */
const REQUIRE_RE = /\brequire\((["'])([^"'\n]+)\1\)/g;

interface BundledModule {
  id: number;
  file: string;
  source: string;
  deps: Record<string, number>;
}

/** The .js file a relative specifier names from `from`, if it is one of ours. */
function resolveOwn(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  for (const f of [base, `${base}.js`, join(base, 'index.js')]) {
    if (f.startsWith(`${DIST}/`) && f.endsWith('.js')) {
      try {
        readFileSync(f);
        return f;
      } catch {
        // try the next form
      }
    }
  }
  return undefined;
}

/**
 * The bundle's text for `entry` (an absolute path in dist/): a table of module functions and a
 * small require() that serves bundled modules from the table and everything else (node: modules,
 * packages, the addon) through a require made for the module's original location. The bundle
 * exports the entry module's exports.
 */
export function bundleSource(entry: string): string {
  const mods = new Map<string, BundledModule>();
  const visit = (file: string): number => {
    const known = mods.get(file);
    if (known) return known.id;
    const source = readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
    const m: BundledModule = { id: mods.size, file, source, deps: {} };
    mods.set(file, m);
    for (const [, , spec] of source.matchAll(REQUIRE_RE)) {
      if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      const own = resolveOwn(file, spec);
      if (own) m.deps[spec] = visit(own);
    }
    return m.id;
  };
  const entryId = visit(resolve(entry));
  const parts = ["'use strict';", 'const defs = [];'];
  for (const m of mods.values()) {
    parts.push(`defs[${m.id}] = [${JSON.stringify(m.file)}, ${JSON.stringify(m.deps)}, function (exports, require, module, __filename, __dirname) {\n${m.source}\n}];`);
  }
  parts.push(`const { createRequire } = require('node:module');
const loaded = [];
function load(id) {
  if (loaded[id]) return loaded[id].exports;
  const [file, deps, fn] = defs[id];
  const module = { exports: {}, filename: file, id: file, loaded: false };
  loaded[id] = module;
  let outside;
  const req = (spec) => (spec in deps ? load(deps[spec]) : (outside ??= createRequire(file))(spec));
  req.resolve = (spec) => (outside ??= createRequire(file)).resolve(spec);
  fn.call(module.exports, module.exports, req, module, file, file.slice(0, file.lastIndexOf('/')));
  module.loaded = true;
  return module.exports;
}
module.exports = load(${entryId});`);
  return `${parts.join('\n')}\n`;
}
