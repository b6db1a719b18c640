'use strict';
// StaticMembership: a JSON file of nodes, followed as it changes (in place or replaced).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ValidationError } = require('../../dist');
const { StaticMembership } = require('../../dist/membership');
const { waitFor, collect } = require('./helpers');

const H1 = { name: 'h1', nodeIP: '10.0.0.1', podCIDR: '10.244.1.0/24' };
const H2 = { name: 'h2', nodeIP: '10.0.0.2', podCIDR: '10.244.2.0/24' };
const H3 = { name: 'h3', nodeIP: '10.0.0.3', podCIDR: '10.244.3.0/24' };

describe('membership: StaticMembership (a JSON file)', function () {
  let dir;
  let file;
  let m;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-static-'));
    file = path.join(dir, 'nodes.json');
  });
  afterEach(async function () {
    if (m) await m.stop();
    m = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const write = (doc) => fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  const replace = (doc) => {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(doc));
    fs.renameSync(`${file}.tmp`, file); // what editors and config managers do
  };
  const names = (l) => l.map((n) => n.name);

  it('reads the file, follows edits in place and replacements, and keeps the last list through a broken file', async function () {
    write([H1, H2]);
    m = new StaticMembership({ file, self: 'h1', debounceMs: 10, pollIntervalMs: 200 });
    const lists = collect(m, 'nodes');
    const status = collect(m, 'status');
    const errors = collect(m, 'error');
    assert.deepEqual(await m.start(), H1);
    assert.deepEqual(names(m.nodes()), ['h1', 'h2']);

    write({ nodes: [H1, H2, H3] });
    await waitFor(() => m.nodes().length === 3);
    replace([H1, H3]);
    await waitFor(() => names(m.nodes()).join() === 'h1,h3');

    write('{"nodes": [');
    await waitFor(() => errors.some((e) => /not JSON/.test(e.message)));
    assert.equal(status[status.length - 1].state, 'disconnected');
    assert.deepEqual(names(m.nodes()), ['h1', 'h3'], 'a broken file changes nothing');
    replace([H1, H2]);
    await waitFor(() => names(m.nodes()).join() === 'h1,h2');
    assert.equal(status[status.length - 1].state, 'connected');
    assert.deepEqual(lists.map(names), [['h1', 'h2'], ['h1', 'h2', 'h3'], ['h1', 'h3'], ['h1', 'h2']]);
  });

  it('skips hostile records (with reasons) and refuses a file without a valid record of this host', async function () {
    write([H1, { ...H2, podCIDR: '10.244.1.128/25' }, { ...H3, nodeIP: H1.nodeIP }, { name: 'h4', nodeIP: '10.0.0.4', podCIDR: '0.0.0.0/0' }]);
    m = new StaticMembership({ file, self: 'h1', pollIntervalMs: 0 });
    const skipped = collect(m, 'skipped');
    await m.start();
    assert.deepEqual(names(m.nodes()), ['h1']);
    assert.deepEqual(
      skipped[0].map((s) => s.reason),
      ['podCIDR 10.244.1.128/25 overlaps this host\'s podCIDR 10.244.1.0/24', 'nodeIP 10.0.0.1 is this host\'s address', 'a pod subnet must be /8../30'.replace('a pod', '0.0.0.0/0: a pod')],
    );
    await m.stop();

    write([H2]);
    m = new StaticMembership({ file, self: 'h1' });
    await assert.rejects(m.start(), (e) => e instanceof ValidationError && /no record of this host/.test(e.message));
    m = new StaticMembership({ file: path.join(dir, 'missing.json'), self: 'h1' });
    await assert.rejects(m.start(), /ENOENT/);
    m = undefined;
    assert.throws(() => new StaticMembership({ file: '', self: 5, pollIntervalMs: -1 }), (e) => e instanceof ValidationError && e.problems.length === 3);
  });
});
