'use strict';
// The typed interfaces of src/ as the TypeScript compiler reads them: each interface's own
// properties with their doc comments. The table tests hold the tables' field docs equal to them.
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const SRC = path.join(__dirname, '..', '..', 'src');

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** A doc comment as one line of text (tags and surrounding whitespace left out). */
function docText(node, sf) {
  const docs = ts.getJSDocCommentsAndTags(node).filter((d) => d.kind === ts.SyntaxKind.JSDoc);
  if (!docs.length) return undefined;
  const c = docs[docs.length - 1].comment;
  const text = typeof c === 'string' ? c : Array.isArray(c) ? c.map((x) => x.text).join('') : '';
  return text.replace(/\s+/g, ' ').trim();
}

let cache;
/** Map interface name -> { file, props: Map(name -> doc) } for every interface under src/<dir>. */
function interfaces(dir = 'rtnl') {
  if (cache && cache.dir === dir) return cache.map;
  const map = new Map();
  for (const file of walk(path.join(SRC, dir))) {
    const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (ts.isInterfaceDeclaration(node)) {
        const props = new Map();
        for (const m of node.members) if (ts.isPropertySignature(m) && m.name) props.set(m.name.getText(sf), docText(m, sf));
        map.set(node.name.text, { file: path.relative(SRC, file), props });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  cache = { dir, map };
  return map;
}

module.exports = { interfaces };
