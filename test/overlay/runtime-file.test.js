'use strict';
// The runtime file `netlink-agent overlay` writes for the CNI plugin: checked, atomic, readable.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { writeRuntimeFile, readRuntimeFile, podMtu } = require('../../dist/overlay/runtime-file');

const info = { version: 1, node: 'host1', mode: 'vxlan', networks: ['10.244.0.0/16'], subnets: ['10.244.1.0/24'], mtu: 1450 };

describe('overlay: the runtime file', function () {
  let dir;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nla-rtf-'));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes JSON through a temporary file renamed over the old one, making the directory; reads it back', function () {
    const file = path.join(dir, 'run', 'netlink-agent', 'network.json');
    writeRuntimeFile(file, info);
    assert.deepEqual(readRuntimeFile(file), info);
    const inode = fs.statSync(file).ino;
    writeRuntimeFile(file, { ...info, mtu: 1400 });
    assert.notEqual(fs.statSync(file).ino, inode, 'replaced by rename, not rewritten in place');
    assert.equal(readRuntimeFile(file).mtu, 1400);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['network.json'], 'no temporary file left');
    assert.equal(readRuntimeFile(path.join(dir, 'none.json')), undefined);
  });

  it('refuses bad content before writing anything, naming the fields', function () {
    const file = path.join(dir, 'network.json');
    assert.throws(() => writeRuntimeFile(file, { ...info, subnets: ['10.244.1.1/24'], mtu: 20, node: '' }), (e) => {
      assert.equal(e.name, 'ValidationError');
      for (const f of ['subnets[0]', 'mtu', 'node']) assert.ok(e.problems.some((p) => p.path === f), f);
      return true;
    });
    assert.equal(fs.existsSync(file), false);
    fs.writeFileSync(file, '{"version":2}');
    assert.throws(() => readRuntimeFile(file), /version: expected 1/);
  });

  it('the pod MTU is the smallest tunnel MTU of the desired state, or the underlay\'s', function () {
    assert.equal(podMtu({ links: [{ kind: 'vxlan', name: 'vxlan0', vni: 1, mtu: 1450 }] }, 1500), 1450);
    assert.equal(podMtu({ routes: [] }, 9000), 9000);
  });
});
