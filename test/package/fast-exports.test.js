'use strict';
/**
 * Every module's exports object stays a fast-mode object, except the layers' public facades.
 *
 * Compiled code reads an import as a property of the imported module's exports object
 * (`constants_1.NLA_HDRLEN`, `entries_1.entryKey(...)`). When that object is in dictionary mode,
 * V8's optimizing compiler cannot turn such a read into a constant: every one becomes a call to
 * the generic LoadIC, and a function read that way is never inlined. One named re-export is
 * enough to put a module there (TypeScript's CommonJS output first defines the name as a data
 * property, then redefines it as a getter). Measured: wire/constants.ts re-exported one name,
 * and decoding 100k routes spent about a fifth of its time in LoadIC reading NLA_HDRLEN and
 * NLA_TYPE_MASK. So re-exports live only in the facades, which the library never imports from.
 */
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const DIST = path.join(__dirname, '..', '..', 'dist');

/** The public facades: the package's entry and each layer's index (re-exports are their job). */
const FACADES = new Set(['index.js', ...['wire', 'rtnl', 'values', 'membership', 'netns', 'cni', 'overlay', 'metrics', 'memory', 'reconcile', 'genl'].map((l) => `${l}/index.js`)]);
/** Modules that refuse to be loaded on their own. */
const NOT_LOADABLE = new Set(['netns/bootstrap.js']);

function modules(dir, rel = '') {
  const out = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...modules(dir, r));
    else if (e.name.endsWith('.js')) out.push(r);
  }
  return out;
}

/** Runs `body` in a child node with %HasFastProperties available; returns its JSON output. */
function natives(body) {
  return JSON.parse(execFileSync(process.execPath, ['--allow-natives-syntax', '-e', body], { encoding: 'utf8' }));
}

describe('package: module exports stay fast-mode objects', function () {
  this.timeout(60000);

  it('the check tells a re-exporting module from a plain one', () => {
    // TypeScript's output for `export const a = 1; export { b } from './x'`, and for `export const a = 1`.
    const got = natives(`
      const reexports = {}; Object.defineProperty(reexports, '__esModule', { value: true });
      reexports.b = reexports.a = void 0; reexports.a = 1;
      Object.defineProperty(reexports, 'b', { enumerable: true, get() { return 2; } });
      const plain = {}; Object.defineProperty(plain, '__esModule', { value: true });
      plain.a = void 0; plain.a = 1;
      console.log(JSON.stringify([%HasFastProperties(reexports), %HasFastProperties(plain)]));`);
    assert.deepEqual(got, [false, true]);
  });

  it('every module but the facades', () => {
    const files = modules(DIST).filter((f) => !FACADES.has(f) && !NOT_LOADABLE.has(f));
    assert.ok(files.length > 100, `only ${files.length} modules found under dist`);
    const slow = natives(`
      const files = ${JSON.stringify(files)};
      const slow = [];
      for (const f of files) {
        const x = require(${JSON.stringify(DIST)} + '/' + f);
        if (typeof x === 'object' && x !== null && !%HasFastProperties(x)) slow.push(f);
      }
      console.log(JSON.stringify(slow));`);
    assert.deepEqual(slow, [], `dictionary-mode exports (a named re-export? move it to the layer's index.ts): ${slow.join(', ')}`);
  });
});
