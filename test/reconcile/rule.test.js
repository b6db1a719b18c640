'use strict';
// The reconciler's rule kind (issue 20, reconciler): policy rules owned by FRA_PROTOCOL, keyed
// by ruleKey() (owner left out), IPv4 and IPv6; foreign rules are never changed, a foreign rule
// on a desired key is a conflict; priority as `ip rule` has it; watch repairs. `ip -j rule` is
// the oracle.
const assert = require('node:assert/strict');
const { Reconciler } = require('../../dist/reconcile');
const { ValidationError } = require('../../dist/values/problems');
const { kernelDescribe, ip, ipJson, slow } = require('../support/kernel');
const { reconcilerPerTest } = require('../support/reconciler');
const { pollUntil } = require('../support/poll');

/** `ip rule` of both families as "family pref text proto" lines, the kernel's own left out. */
function rules(ns) {
  const out = [];
  for (const fam of ['-4', '-6']) {
    for (const r of ipJson(ns, fam, 'rule', 'show')) {
      if (['local', 'main', 'default'].includes(r.table) && r.src === 'all' && !r.fwmark && !r.iif) continue;
      out.push(`${fam} ${r.priority} ${r.src}${r.srclen !== undefined ? `/${r.srclen}` : ''}${r.dst ? ` to ${r.dst}/${r.dstlen}` : ''}${r.fwmark ? ` fwmark ${r.fwmark}/${r.fwmask ?? ''}` : ''}${r.iif ? ` iif ${r.iif}` : ''} ${r.action ?? 'lookup'} ${r.table ?? r.target ?? ''} proto ${r.protocol ?? ''}`.trim());
    }
  }
  return out.sort();
}

function state({ table = 100 } = {}) {
  return {
    rules: [
      { priority: 1000, from: '10.244.0.0/16', table },
      { priority: 1001, fwmark: 0x10, fwmask: 0xff, table: 200 },
      { priority: 1002, family: 6, to: 'fd00:1::/64', action: 'unreachable' },
      { priority: 1003, iif: 'eth0', goto: 1005 },
      { priority: 1005, from: '10.0.0.0/8', dport: { start: 8000, end: 8080 }, ipProto: 'tcp', table: 'main' },
    ],
  };
}

kernelDescribe('reconcile: policy rules', function () {
  const t = reconcilerPerTest('rule', { setup: (ns) => ip(ns, 'link', 'set', 'lo', 'up') });
  const ns = t.ns;

  it('converges (IPv4 and IPv6, tables, marks, goto, port ranges), every rule carrying protocol 77; a second apply sends nothing', async function () {
    const res = await t.rec.apply(state());
    assert.ok(res.converged, res.failed.map((f) => f.error.message).join('; '));
    assert.equal(res.requests, 5);
    const mine = [...ipJson(ns(), '-4', 'rule', 'show'), ...ipJson(ns(), '-6', 'rule', 'show')].filter((r) => r.protocol === '77');
    assert.deepEqual(mine.map((r) => r.priority).sort(), [1000, 1001, 1002, 1003, 1005]);
    assert.match(ip(ns(), '-4', 'rule', 'show', 'pref', '1000'), /from 10\.244\.0\.0\/16 lookup 100 proto 77/);
    assert.match(ip(ns(), '-4', 'rule', 'show', 'pref', '1001'), /fwmark 0x10\/0xff lookup 200 proto 77/);
    assert.match(ip(ns(), '-6', 'rule', 'show', 'pref', '1002'), /to fd00:1::\/64 unreachable proto 77/);
    assert.match(ip(ns(), '-4', 'rule', 'show', 'pref', '1003'), /iif eth0 \[detached\] goto 1005 proto 77/);
    assert.match(ip(ns(), '-4', 'rule', 'show', 'pref', '1005'), /ipproto tcp dport 8000-8080 lookup main proto 77/);
    const again = await t.rec.apply(state());
    assert.equal(again.plan.ops.length, 0, again.plan.text());
    assert.equal(again.requests, 0);
  });

  it('a changed rule is another rule: the new one is added, the old one deleted, nothing else touched', async function () {
    await t.rec.apply(state());
    const before = rules(ns());
    const res = await t.rec.apply(state({ table: 101 }));
    assert.ok(res.converged);
    assert.deepEqual(res.plan.ops.map((o) => `${o.action} ${o.kind} ${o.key}`), ['create rule pref 1000 from 10.244.0.0/16 lookup 101', 'delete rule pref 1000 from 10.244.0.0/16 lookup 100']);
    const after = rules(ns());
    assert.deepEqual(
      after.filter((l) => !l.includes(' 1000 ')),
      before.filter((l) => !l.includes(' 1000 ')),
    );
    assert.match(ip(ns(), '-4', 'rule', 'show', 'pref', '1000'), /lookup 101 proto 77/);
  });

  it('a foreign rule on a desired key is a conflict and stays as it is; adoptConflicts takes it over; foreign rules not desired are never touched', async function () {
    ip(ns(), 'rule', 'add', 'pref', '1000', 'from', '10.244.0.0/16', 'table', '100', 'proto', 'static');
    ip(ns(), 'rule', 'add', 'pref', '2000', 'from', '10.99.0.0/16', 'table', '100'); // foreign, not desired
    const conflicts = [];
    t.rec.on('conflict', (c) => conflicts.push(c));
    const res = await t.rec.apply(state());
    assert.equal(res.converged, false);
    assert.deepEqual(conflicts.map((c) => `${c.kind} ${c.key}: ${c.reason}`), ['rule pref 1000 from 10.244.0.0/16 lookup 100: held by protocol 4']);
    assert.match(ip(ns(), '-4', 'rule', 'show', 'pref', '1000'), /lookup 100 proto static/);
    assert.doesNotMatch(ip(ns(), '-4', 'rule', 'show', 'pref', '1000'), /proto 77/);
    const adopt = new Reconciler(t.nl, { adoptConflicts: true });
    try {
      const res2 = await adopt.apply(state());
      assert.ok(res2.converged, res2.failed.map((f) => f.error.message).join('; '));
      assert.deepEqual(res2.plan.ops.map((o) => `${o.action} ${o.key}: ${o.reason}`), ['update pref 1000 from 10.244.0.0/16 lookup 100: adopt from protocol 4']);
      assert.equal(ip(ns(), '-4', 'rule', 'show', 'pref', '1000').trim(), '1000:\tfrom 10.244.0.0/16 lookup 100 proto 77');
      const gone = await adopt.apply({});
      assert.ok(gone.converged);
      assert.equal(gone.plan.ops.length, 5);
      assert.deepEqual(rules(ns()), ['-4 2000 10.99.0.0/16 lookup 100 proto']);
    } finally {
      await adopt.stop();
    }
  });

  it('priority left out: the kernel picks it (as ip rule add), and the rule is kept wherever it went', async function () {
    const desired = { rules: [{ priority: 500, from: '10.1.0.0/16', table: 10 }, { from: '10.2.0.0/16', table: 20 }] };
    const res = await t.rec.apply(desired);
    assert.ok(res.converged);
    const picked = ipJson(ns(), '-4', 'rule', 'show').find((r) => r.src === '10.2.0.0');
    assert.equal(picked.priority, 499); // below the lowest non-zero priority, as the kernel does
    assert.equal((await t.rec.plan(desired)).ops.length, 0);
  });

  it('watch puts back a rule someone deleted, and deletes one someone added with our protocol', async function () {
    const desired = state();
    await t.rec.apply(desired);
    const converged = new Promise((resolve) => t.rec.once('converged', resolve));
    t.rec.watch(desired, { debounceMs: 20, resyncIntervalMs: 60_000 });
    await converged;
    ip(ns(), 'rule', 'del', 'pref', '1001');
    ip(ns(), 'rule', 'add', 'pref', '3000', 'from', '10.3.0.0/16', 'table', '30', 'proto', '77');
    await pollUntil(() => /fwmark 0x10\/0xff lookup 200 proto 77/.test(ip(ns(), '-4', 'rule', 'show', 'pref', '1001')) && ip(ns(), '-4', 'rule', 'show', 'pref', '3000').trim() === '', {
      ms: 2000 * slow,
      what: 'the repair of the rules',
    });
  });

  describe('bad input is one ValidationError naming the field, nothing sent', function () {
    const cases = [
      ['table and goto', { rules: [{ priority: 1, table: 100, goto: 5 }] }, 'rules[0].goto'],
      ['priority out of range', { rules: [{ priority: 2 ** 32, table: 100 }] }, 'rules[0].priority'],
      ['another protocol', { rules: [{ priority: 1, table: 100, protocol: 'static' }] }, 'rules[0].protocol'],
      ['the same rule twice', { rules: [{ priority: 1, table: 254, from: '10.0.0.0/8' }, { priority: 1, table: 'main', from: '10.0.0.0/8' }] }, 'rules[1]'],
    ];
    for (const [title, desired, path] of cases) {
      it(title, async function () {
        const before = rules(ns());
        await assert.rejects(t.rec.apply(desired), (e) => {
          assert.ok(e instanceof ValidationError, e.stack);
          assert.ok(e.problems.some((p) => p.path === path), `${path} in ${JSON.stringify(e.problems)}`);
          return true;
        });
        assert.deepEqual(rules(ns()), before);
      });
    }
  });
});
