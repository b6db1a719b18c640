'use strict';
// Generic netlink requests are counted like rtnetlink's (issue 22): a GenlSocket classifies its
// own (dumps and readOnly requests read, other requests modify, since genl message types are
// family ids, not RTM_*), Rtnl.genl() is one socket per handle whose modifying requests join
// Rtnl.modifyingRequests() (ApplyResult.requests), and AgentStats sums it into the metrics.
// Any kernel, no root: the controller (nlctrl) is the family; a command it does not have
// (CTRL_CMD_NEWFAMILY) is a modifying request the kernel refuses. The wireguard kind's count on
// a real WireGuard device is in test/reconcile/wireguard.kernel.test.js (VM lane).
const assert = require('node:assert/strict');
const { Rtnl, AgentStats } = require('../../dist');
const wire = require('../../dist/wire');

const CTRL_CMD_NEWFAMILY = 1;

describe('generic netlink: requests counted as reads or modifying, in Rtnl and AgentStats (any kernel, no root)', function () {
  let nl;
  afterEach(function () {
    if (nl) nl.close();
    nl = undefined;
  });

  it('Rtnl.genl() is opened once, on first use, and closed with the handle', async function () {
    nl = await Rtnl.open();
    assert.equal(nl.genlIfOpen(), undefined, 'nothing opened before genl()');
    const g = nl.genl();
    assert.equal(nl.genl(), g, 'the same socket every time');
    assert.ok((await g.listFamilies()).some((f) => f.name === 'nlctrl'));
    nl.close();
    assert.equal(g.isClosed, true);
    assert.throws(() => nl.genl(), wire.NetlinkClosedError);
    nl = undefined;
  });

  it('dumps and readOnly requests are reads; any other request modifies, in Rtnl.modifyingRequests() and AgentStats', async function () {
    nl = await Rtnl.open();
    const stats = new AgentStats();
    stats.observeNetlink(nl);
    const s0 = stats.snapshot().netlink;
    const m0 = nl.modifyingRequests();
    const g = nl.genl();

    await g.listFamilies(); // a dump of the controller itself (no family lookup)
    await g.dump('nlctrl', (w) => wire.encodeGetFamily(w), () => undefined);
    await g.request('nlctrl', (w) => wire.encodeGetFamily(w, 'nlctrl'), { readOnly: true });
    assert.equal(g.modifyingRequests, 0);
    assert.equal(g.readRequests, 2, 'the dump and the readOnly request to the family (listFamilies and lookups are the socket\'s own)');
    assert.equal(nl.modifyingRequests(), m0);

    await assert.rejects(
      g.request('nlctrl', (w, fam) => {
        wire.beginGenl(w, fam.id, 0, CTRL_CMD_NEWFAMILY, 1);
        w.end();
      }),
      (e) => e instanceof wire.NetlinkError && e.code === 'EOPNOTSUPP',
    );
    assert.equal(g.modifyingRequests, 1, 'the refused command was sent once (the stale-id check found the same id)');
    assert.equal(nl.modifyingRequests(), m0 + 1, 'Rtnl.modifyingRequests() includes the genl socket');

    const s1 = stats.snapshot().netlink;
    assert.equal(s1.modifyingRequests - s0.modifyingRequests, 1);
    assert.ok(s1.readRequests - s0.readRequests >= 2, `reads ${s1.readRequests - s0.readRequests}`);
    assert.equal(s1.errors.EOPNOTSUPP - (s0.errors.EOPNOTSUPP ?? 0), 1, 'the refusal is in the errors by errno');
    assert.ok(s1.dumps - s0.dumps >= 2, 'the genl dumps are counted');
  });
});
