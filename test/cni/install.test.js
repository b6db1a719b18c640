'use strict';
// `netlink-agent cni install`: the executable a runtime finds in CNI_PATH.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { CLI } = require('./helpers');

describe('cni: netlink-agent cni install', function () {
  this.timeout(30000);
  let dir;
  beforeEach(function () {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nla-inst-')), 'opt', 'cni', 'bin');
  });
  afterEach(function () {
    fs.rmSync(path.dirname(path.dirname(path.dirname(dir))), { recursive: true, force: true });
  });

  it('writes an executable "netlink-agent" that starts the plugin with this Node, no shell; again: up to date', function () {
    const r = spawnSync(process.execPath, [CLI, 'cni', 'install', '--bin-dir', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /installed .*netlink-agent \(node /);
    const file = path.join(dir, 'netlink-agent');
    const text = fs.readFileSync(file, 'utf8');
    assert.equal(text.split('\n')[0], `#!${process.execPath}`);
    assert.match(text, /require\(".*dist\/cli\/cni-launch\.js"\)\.launch\(.*"\.netlink-agent"\), ".*dist\/cli\/cni-plugin\.js"\);/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o755);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.netlink-agent', 'netlink-agent'], 'no temporary file left');
    assert.deepEqual(fs.readdirSync(path.join(dir, '.netlink-agent')).sort(), ['plugin.js', 'stamp']);
    const version = () => {
      const v = spawnSync(file, { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
      assert.deepEqual(JSON.parse(v.stdout).supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    };
    version();
    // The first run of a command saves V8's code cache for it; later runs use it.
    const cache = path.join(dir, '.netlink-agent', 'version.cache');
    assert.ok(fs.statSync(cache).size > 1000);
    const mtime = fs.statSync(cache).mtimeMs;
    version();
    assert.equal(fs.statSync(cache).mtimeMs, mtime, 'an accepted cache is not rewritten');
    const again = spawnSync(process.execPath, [CLI, 'cni', 'install', '--bin-dir', dir], { encoding: 'utf8' });
    assert.match(again.stderr, /is up to date/);
  });

  it('runs the package\'s current code when the package changed after the install', function () {
    const r = spawnSync(process.execPath, [CLI, 'cni', 'install', '--bin-dir', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // A bundle that no longer matches the entry's stamp is not used: a broken one proves it.
    fs.writeFileSync(path.join(dir, '.netlink-agent', 'plugin.js'), 'throw new Error("stale bundle used")');
    fs.writeFileSync(path.join(dir, '.netlink-agent', 'stamp'), '0:0');
    const v = spawnSync(path.join(dir, 'netlink-agent'), { input: '{}', env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(JSON.parse(v.stdout).cniVersion, '1.1.0');
  });

  it('the plugin entry loads neither commander nor the etcd client', function () {
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(__dirname, '../../dist/cli/cni-plugin.js'))}); require(${JSON.stringify(path.join(__dirname, '../../dist/rtnl/rtnl.js'))}); console.log(Object.keys(require.cache).join('\\n'))`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /node_modules\/(commander|etcd3|@grpc|cockatiel)\//);
  });
});
