'use strict';
// Generic netlink on the real kernel (this one and the VM lane's): the controller resolves
// families, iproute2's `genl ctrl list` is the independent oracle.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const wire = require('../../dist/wire');
const { kernelDescribe, netnsPerTest, NETNS_DIR } = require('../support/kernel');

/** `genl ctrl list` as name -> { id, groups: name -> id }. */
function genlCtrlList() {
  const out = execFileSync('genl', ['ctrl', 'list'], { encoding: 'utf8' });
  const families = new Map();
  let cur;
  for (const line of out.split('\n')) {
    let m = /^Name: (\S+)/.exec(line);
    if (m) {
      cur = { groups: new Map() };
      families.set(m[1], cur);
      continue;
    }
    m = /^\s+ID: (0x[0-9a-f]+)\s+Version: (0x[0-9a-f]+)/.exec(line);
    if (m && cur && cur.id === undefined) {
      cur.id = Number(m[1]);
      cur.version = Number(m[2]);
      continue;
    }
    m = /ID-(0x[0-9a-f]+)\s+name: (\S+)/.exec(line);
    if (m && cur) cur.groups.set(m[2], Number(m[1]));
  }
  return families;
}

kernelDescribe('wire: generic netlink on the real kernel', function () {
  const ns = netnsPerTest('genl');
  let genl;
  afterEach(function () {
    if (genl) genl.close();
    genl = undefined;
  });

  it('resolves nlctrl: the fixed id GENL_ID_CTRL, its "notify" group has the same number, GETFAMILY can do and dump', async function () {
    genl = wire.GenlSocket.open({ netnsPath: `${NETNS_DIR}/${ns()}` });
    const f = await genl.family('nlctrl');
    assert.equal(f.id, wire.GENL_ID_CTRL);
    assert.deepEqual(f.groups, [{ name: 'notify', id: wire.GENL_ID_CTRL }]);
    const get = f.ops.find((o) => o.cmd === wire.CTRL_CMD_GETFAMILY);
    assert.ok(get, 'GETFAMILY is listed');
    assert.equal(get.flags & (wire.GENL_CMD_CAP_DO | wire.GENL_CMD_CAP_DUMP), wire.GENL_CMD_CAP_DO | wire.GENL_CMD_CAP_DUMP);
    const oracle = genlCtrlList().get('nlctrl');
    assert.equal(f.version, oracle.version);
  });

  it('lists the same families, ids and groups as `genl ctrl list`', async function () {
    genl = wire.GenlSocket.open();
    const ours = await genl.listFamilies();
    const oracle = genlCtrlList();
    assert.deepEqual(ours.map((f) => f.name).sort(), [...oracle.keys()].sort());
    for (const f of ours) {
      assert.equal(f.id, oracle.get(f.name).id, f.name);
      assert.deepEqual(new Map(f.groups.map((g) => [g.name, g.id])), oracle.get(f.name).groups, f.name);
      // resolving by name agrees with the dump
      assert.equal((await genl.family(f.name)).id, f.id);
    }
  });

  it('a family the kernel does not have is GenlFamilyNotFoundError (ENOENT) naming it', async function () {
    genl = wire.GenlSocket.open();
    await assert.rejects(genl.family('nla-nosuch'), (e) => e instanceof wire.GenlFamilyNotFoundError && e.code === 'ENOENT' && e.message.includes('"nla-nosuch"'));
  });

  it('extended acks and strict checking: a name over the policy length is EINVAL with the kernel\'s text and the attribute offset', async function () {
    genl = wire.GenlSocket.open();
    const err = await genl
      .request('nlctrl', (w, fam) => {
        wire.beginGenl(w, fam.id, 0, wire.CTRL_CMD_GETFAMILY, 2);
        w.string(wire.CTRL_ATTR_FAMILY_NAME, 'x'.repeat(40));
        w.end();
      }, { what: 'getfamily with a long name' })
      .catch((e) => e);
    assert.ok(err instanceof wire.NetlinkError, String(err));
    assert.equal(err.code, 'EINVAL');
    assert.match(err.kernelMessage, /policy/i);
    assert.equal(err.badAttributeOffset, 16 + 4, 'the first attribute, after nlmsghdr and genlmsghdr');
    assert.match(err.message, /getfamily with a long name/);
  });

  it('batches: pipelined requests, each failure reported for its own request', async function () {
    genl = wire.GenlSocket.open();
    const names = ['nlctrl', 'nla-nosuch', 'nlctrl', 'nla-nosuch2'];
    const r = await genl.batch('nlctrl', names.length, (i, w) => wire.encodeGetFamily(w, names[i]), { describe: (i) => names[i] });
    assert.deepEqual(r.errors.map((e) => e && e.code), [undefined, 'ENOENT', undefined, 'ENOENT']);
    assert.match(r.errors[3].message, /nla-nosuch2/);
  });

  it('one message is limited by the socket\'s send buffer: longer than sk_sndbuf - 32 is EMSGSIZE, nothing sent', async function () {
    // SO_SNDBUF(FORCE) stores twice the value asked: 4096 -> sk_sndbuf 8192, so 8160 bytes pass.
    genl = wire.GenlSocket.open({ sendBufferBytes: 4096 });
    const withPad = (total) => (w, fam) => {
      wire.beginGenl(w, fam.id, 0, wire.CTRL_CMD_GETFAMILY, 2);
      w.string(wire.CTRL_ATTR_FAMILY_NAME, 'nlctrl');
      w.binary(0x7fff, Buffer.alloc(total - w.length - 4)); // an attribute the kernel never reads
      w.end();
    };
    const big = await genl.request('nlctrl', withPad(8164)).catch((e) => e);
    assert.equal(big.code, 'EMSGSIZE', String(big));
    // 8160 bytes reach the controller, which answers (GETFAMILY parses liberally: it skips the
    // attribute it does not know).
    const fits = await genl.request('nlctrl', withPad(8160));
    assert.equal(wire.parseFamilyMessage(fits[0]).name, 'nlctrl');
  });
});
