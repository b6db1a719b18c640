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
    assert.match(text, /require\(".*dist\/cli\/cni-plugin\.js"\)\.main\(\);/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o755);
    assert.deepEqual(fs.readdirSync(dir), ['netlink-agent'], 'no temporary file left');
    const v = spawnSync(file, { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.deepEqual(JSON.parse(v.stdout).supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    const again = spawnSync(process.execPath, [CLI, 'cni', 'install', '--bin-dir', dir], { encoding: 'utf8' });
    assert.match(again.stderr, /is up to date/);
  });

  it('the plugin entry loads neither commander nor the etcd client', function () {
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(__dirname, '../../dist/cli/cni-plugin.js'))}); require(${JSON.stringify(path.join(__dirname, '../../dist/rtnl/rtnl.js'))}); console.log(Object.keys(require.cache).join('\\n'))`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /node_modules\/(commander|etcd3|@grpc|cockatiel)\//);
  });
});
