'use strict';
// EtcdMembership through etcd's gRPC proxy (issue 24: what a larger cluster would do). A real
// etcd and `etcd grpc-proxy start` in front of it, both on loopback; the members' only endpoint
// is the proxy. The proxy coalesces watches of one range into one watch on etcd (the role
// calico's Typha plays): etcd's own gauges (etcd_debugging_mvcc_watcher_total, ..._watch_stream_total)
// show what the members cost etcd, against members connected to etcd directly in the same test,
// and etcd_debugging_mvcc_events_total what one change costs. (The proxy's own
// etcd_grpc_proxy_* metrics cannot be read in etcd 3.4: /metrics on its listen address and on
// --metrics-addr both relay etcd's page, and /proxy/metrics came only in 3.5.)
// The proxy answers a watch that joins one it already holds on etcd with a response header it
// makes up (cluster id, member id and raft term 0): a member must not take that for another
// store and register again. A restarted proxy (same port), or etcd restarting behind it, must not
// cost the members their list.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { Etcd3 } = require('etcd3');
const { ConnectionPool } = require('etcd3/lib/connection-pool');
const { EtcdMembership } = require('../../dist/membership');
const { etcdDescribe, freePort } = require('../support/etcd');
const { sleep } = require('../support/poll');
const { waitFor, collect, publishRecord, memberOptions } = require('./helpers');

const ETCD_BINARY = process.env.NETLINK_AGENT_ETCD || '/usr/bin/etcd';

/** GET http://host/path; resolves with the body, or undefined when nothing answers. */
function httpGet(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** The value of an unlabelled metric in a Prometheus text page (the first such line). */
function metric(page, name) {
  const m = page.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  assert.ok(m, `metric ${name} is exported`);
  return Number(m[1]);
}

/** `etcd grpc-proxy start` on a free loopback port, in front of one etcd; restartable on the same port. */
class GrpcProxy {
  constructor(etcdUrl) {
    this.etcd = etcdUrl.replace(/^http:\/\//, '');
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `nla-grpc-proxy-${process.pid}-`));
    this.log = [];
  }

  async start() {
    this.port ??= await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    const args = ['grpc-proxy', 'start', `--endpoints=${this.etcd}`, `--listen-addr=127.0.0.1:${this.port}`, `--data-dir=${this.dataDir}`];
    const proc = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH || '/usr/bin:/bin', HOME: this.dataDir } });
    this.proc = proc;
    proc.stderr.on('data', (d) => {
      this.log.push(String(d));
      if (this.log.length > 100) this.log.shift();
    });
    proc.exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve(code ?? sig)));
    await waitFor(
      async () => {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`grpc-proxy exited: ${this.log.join('').slice(-1500)}`);
        return (await httpGet(`${this.url}/metrics`)) !== undefined;
      },
      15000,
      'grpc-proxy serving',
    );
  }

  async kill() {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await proc.exited;
    clearTimeout(t);
  }

  async stop() {
    await this.kill();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

let seq = 0;
const names = (list) => list.map((n) => n.name);
const host = (i) => ({ name: `host-${i}`, nodeIP: `10.70.0.${i}`, podCIDR: `10.244.${i}.0/24` });

etcdDescribe('membership: EtcdMembership through etcd grpc-proxy', function (etcd) {
  this.timeout(60000);
  let proxy;
  let running;
  let raw;

  before(async function () {
    this.timeout(30000);
    proxy = new GrpcProxy(etcd().url);
    try {
      await proxy.start();
    } catch (e) {
      await proxy.stop();
      proxy = undefined;
      throw e;
    }
  });
  after(async function () {
    if (proxy) await proxy.stop();
  });
  beforeEach(function () {
    running = [];
    raw = new Etcd3({ hosts: etcd().url });
  });
  afterEach(async function () {
    for (const m of running) await m.stop({ leave: true }).catch(() => undefined);
    raw.close();
  });

  /** A member (incremental reads, the default) whose only endpoint is `endpoint` (the proxy unless told). */
  function member(prefix, self, { endpoint = proxy.url, ...extra } = {}) {
    const m = new EtcdMembership(memberOptions(endpoint, prefix, self, { callTimeoutMs: 2000, ...extra }));
    m.warnings = collect(m, 'warning');
    m.statuses = collect(m, 'status');
    running.push(m);
    return m;
  }
  const newPrefix = () => `/nla-proxy-${process.pid}-${++seq}/`;

  /** etcd's watch gauges and the events it has sent to watchers, read from etcd itself. */
  async function etcdWatch() {
    const page = await httpGet(`${etcd().url}/metrics`);
    assert.ok(page, 'etcd serves /metrics');
    return {
      watchers: metric(page, 'etcd_debugging_mvcc_watcher_total'),
      streams: metric(page, 'etcd_debugging_mvcc_watch_stream_total'),
      events: metric(page, 'etcd_debugging_mvcc_events_total'),
    };
  }
  /** etcd's gauges once they have not changed for 600 ms. */
  async function settled() {
    let last = await etcdWatch();
    let since = Date.now();
    await waitFor(async () => {
      const now = await etcdWatch();
      if (JSON.stringify(now) !== JSON.stringify(last)) [last, since] = [now, Date.now()];
      return Date.now() - since >= 600;
    }, 10000, 'etcd\'s watch gauges holding still');
    return last;
  }

  /** Every member's list is exactly `expected` (names). */
  const allSee = (ms, expected) => ms.every((m) => JSON.stringify(names(m.nodes())) === JSON.stringify(expected));
  /** No member took the proxy for another store (registered again, read everything again). */
  function noStoreChange(ms) {
    for (const m of ms) {
      assert.deepEqual(m.warnings.filter((w) => /lost or replaced its data|reading everything again/.test(w)), [], `${m.self()?.name}: warnings`);
    }
  }

  it('six members starting at once through the proxy see each other and cost etcd one watcher, one stream and one event per write; six direct members cost six', async function () {
    const base = await etcdWatch();
    const proxied = newPrefix();
    const six = (first) => [0, 1, 2, 3, 4, 5].map((i) => host(first + i));
    const ps = six(1).map((h) => member(proxied, h));
    // At once, as a cluster boots: the watches start at different revisions, so the proxy may
    // open several watches on etcd at first and merges them as they catch up.
    await Promise.all(ps.map((m) => m.start()));
    await waitFor(() => allSee(ps, names(six(1))), 10000, 'every proxied member lists all six');
    // The records arrived over the proxy: each member read the store once, and none mistook a
    // header the proxy made up for another store.
    for (const m of ps) assert.equal(m.readStats().fullReads, 1, `${m.self().name} read the store once`);
    noStoreChange(ps);
    // A member's watch is made after its first read: wait for the gauges to hold still.
    const viaProxy = await settled();

    const direct = newPrefix();
    const ds = six(11).map((h) => member(direct, h, { endpoint: etcd().url }));
    await Promise.all(ds.map((m) => m.start()));
    await waitFor(() => allSee(ds, names(six(11))), 10000, 'every direct member lists all six');
    await waitFor(async () => (await etcdWatch()).watchers - viaProxy.watchers >= 6, 5000, 'the direct members\' watches on etcd').catch(() => undefined);
    const both = await settled();

    // One change (a peer's record: three writes, reservation and record) in each prefix: etcd
    // sends each write once to the proxy, which hands it to the six members, and once to each
    // direct member.
    const eventsFor = async (prefix, ms, i) => {
      const before = (await etcdWatch()).events;
      const X = { name: `x${i}`, nodeIP: `10.71.0.${i}`, podCIDR: `10.244.${20 + i}.0/24` };
      const lease = await publishRecord(raw, prefix, X);
      await waitFor(() => ms.every((m) => m.nodes().some((n) => n.name === X.name && n.nodeIP === X.nodeIP)), 5000, `${X.name} on every member of ${prefix}`);
      const after = await settled();
      await lease.revoke();
      await waitFor(() => ms.every((m) => !m.nodes().some((n) => n.name === X.name)), 5000, `${X.name} gone from ${prefix}`);
      await settled();
      return after.events - before;
    };
    const cost = {
      proxied: { watchers: viaProxy.watchers - base.watchers, streams: viaProxy.streams - base.streams, events: await eventsFor(proxied, ps, 1) },
      direct: { watchers: both.watchers - viaProxy.watchers, streams: both.streams - viaProxy.streams, events: await eventsFor(direct, ds, 2) },
    };
    console.log(`      (etcd's cost of 6 members: through the proxy ${JSON.stringify(cost.proxied)}, direct ${JSON.stringify(cost.direct)}; events: of one peer's 3 writes)`);
    assert.deepEqual(cost.direct, { watchers: 6, streams: 6, events: 18 });
    assert.deepEqual(cost.proxied, { watchers: 1, streams: 1, events: 3 }, 'the proxy coalesced the six watches into one');
  });

  it('two proxies (one per rack): the members behind each list all of them, etcd carries one watch and one event per write per proxy; with one proxy gone, a member that also names the other goes on through it', async function () {
    const rackB = new GrpcProxy(etcd().url);
    try {
      await rackB.start();
      const base = await settled();
      const prefix = newPrefix();
      const a = [1, 2, 3].map((i) => member(prefix, host(i)));
      const b = [4, 5, 6].map((i) => member(prefix, host(i), { endpoint: rackB.url }));
      // A member that names both proxies, as a node would for when its own is down. The etcd3
      // client picks an endpoint per call at random; in its deterministic order (a switch for
      // tests) it tries the last one named first, here rack B's, for every call: its watch
      // starts there, and without failover (EtcdMembership) it never got away from it.
      ConnectionPool.deterministicOrder = true;
      const both = member(prefix, host(7), { endpoint: [proxy.url, rackB.url] });
      const all = [...a, ...b, both];
      await Promise.all(all.map((m) => m.start()));
      const seven = [1, 2, 3, 4, 5, 6, 7].map((i) => `host-${i}`);
      await waitFor(() => allSee(all, seven), 10000, 'every member lists all seven');
      noStoreChange(all);
      const racks = await settled();
      // The two-endpoint member may watch through either proxy: still one watch per proxy.
      assert.deepEqual({ watchers: racks.watchers - base.watchers, streams: racks.streams - base.streams }, { watchers: 2, streams: 2 }, 'one watch on etcd per proxy');

      // A peer's record (three writes): etcd sends each write once to each proxy.
      const X = { name: 'x', nodeIP: '10.71.0.9', podCIDR: '10.244.29.0/24' };
      const before = (await etcdWatch()).events;
      const lease = await publishRecord(raw, prefix, X);
      await waitFor(() => all.every((m) => m.nodes().some((n) => n.name === 'x')), 5000, 'x on every member');
      assert.equal((await settled()).events - before, 6, 'three writes, once to each of the two proxies');
      // A member behind one proxy leaves: the members behind the other see it go.
      await a[2].stop({ leave: true });
      await waitFor(() => [...b, both].every((m) => !m.nodes().some((n) => n.name === 'host-3')), 3000, 'host-3 gone from rack B');

      // Rack B's proxy goes away: its single-endpoint members keep their lists; the member that
      // names rack A's proxy too follows a change through it.
      const listsB = b.map((m) => collect(m, 'nodes'));
      const keptB = b.map((m) => names(m.nodes()));
      assert.deepEqual(keptB[0], ['host-1', 'host-2', 'host-4', 'host-5', 'host-6', 'host-7', 'x']);
      await rackB.kill();
      await lease.put(`${prefix}nodes/x`).value(JSON.stringify({ ...X, nodeIP: '10.71.0.10' }));
      const moved = (m) => m.nodes().find((n) => n.name === 'x')?.nodeIP === '10.71.0.10';
      await waitFor(() => a.slice(0, 2).every(moved), 5000, 'x\'s new node IP behind rack A');
      const tRackA = Date.now(); // the members behind rack A have the change
      await waitFor(() => moved(both), 5000, 'x\'s new node IP on the member that names both proxies').catch((e) => {
        throw new Error(`${e.message}: ${JSON.stringify(both.nodes())}; statuses ${JSON.stringify(both.statuses.map((x) => x.state))}; warnings ${JSON.stringify(both.warnings)}`);
      });
      b.forEach((m, i) => assert.deepEqual(names(m.nodes()), keptB[i], `${m.self().name} keeps its list while its proxy is away`));
      for (const l of listsB) assert.ok(l.every((x) => x.length >= 7), `never a shorter list: ${JSON.stringify(l.map(names))}`);
      console.log(`      (the two-endpoint member followed the change ${Date.now() - tRackA} ms after the members behind rack A: statuses ${JSON.stringify(both.statuses.map((x) => x.state))}, warnings ${JSON.stringify(both.warnings)})`);
      noStoreChange(all);

      // Both proxies away: the two-endpoint member reports etcd unreachable in a sentence and
      // keeps its list; when rack A's proxy is back (same port), it follows changes again.
      const keptBoth = names(both.nodes());
      const seen = both.statuses.length;
      await proxy.kill();
      await waitFor(() => both.statuses.slice(seen).some((x) => x.state === 'disconnected'), 10000, 'the two-endpoint member noticed');
      await sleep(1500); // its loop retries meanwhile (endpoints paused, then tried again)
      const reasons = [...new Set(both.statuses.slice(seen).filter((x) => x.error).map((x) => x.error.message))];
      console.log(`      (with both proxies away: ${JSON.stringify(reasons)})`);
      // A call none of the paused endpoints could take says why each was paused.
      assert.ok(reasons.length > 0, 'a reason');
      for (const r of reasons) assert.match(r, /^no etcd endpoint answers \(http:\/\/127\.0\.0\.1:\d+: \d+ [A-Z_]+: [^;]+; http:\/\/127\.0\.0\.1:\d+: \d+ [A-Z_]+: [^;]+\); each is tried again within 1000 ms$|^\d+ [A-Z_]+: /);
      assert.deepEqual(names(both.nodes()), keptBoth);
      await proxy.start();
      await lease.put(`${prefix}nodes/x`).value(JSON.stringify({ ...X, nodeIP: '10.71.0.11' }));
      const tBack = Date.now();
      await waitFor(() => both.nodes().find((n) => n.name === 'x')?.nodeIP === '10.71.0.11', 10000, 'x\'s next node IP on the two-endpoint member once rack A\'s proxy is back').catch((e) => {
        throw new Error(`${e.message}: statuses since ${JSON.stringify(both.statuses.slice(seen).map((x) => [x.state, x.error?.message?.slice(0, 160)]))}; warnings ${JSON.stringify(both.warnings)}; members behind A ${JSON.stringify(a.slice(0, 2).map((m) => m.nodes().find((n) => n.name === 'x')?.nodeIP))}`);
      });
      console.log(`      (followed a change ${Date.now() - tBack} ms after rack A's proxy was back)`);
      await lease.revoke();
    } finally {
      ConnectionPool.deterministicOrder = false;
      await rackB.stop();
    }
  });

  it('through the proxy: a changed node IP reaches the others; a member that leaves or stops (lease expiry) drops out', async function () {
    const prefix = newPrefix();
    const ms = [1, 2, 3].map((i) => member(prefix, host(i)));
    for (const m of ms) await m.start();
    await waitFor(() => allSee(ms, ['host-1', 'host-2', 'host-3']), 10000, 'all three listed');

    // A peer known only by its record changes its node IP (same key, same lease).
    const Y = { name: 'y', nodeIP: '10.71.0.2', podCIDR: '10.244.21.0/24' };
    const lease = await publishRecord(raw, prefix, Y);
    await waitFor(() => ms.every((m) => m.nodes().some((n) => n.name === 'y' && n.nodeIP === Y.nodeIP)), 5000, 'y listed');
    await lease.put(`${prefix}nodes/y`).value(JSON.stringify({ ...Y, nodeIP: '10.71.0.3' }));
    await waitFor(() => ms.every((m) => m.nodes().find((n) => n.name === 'y')?.nodeIP === '10.71.0.3'), 5000, 'y\'s new node IP on every member');
    await lease.revoke();
    await waitFor(() => allSee(ms, ['host-1', 'host-2', 'host-3']), 5000, 'y gone with its lease');

    // Leaving revokes the lease through the proxy: gone at once.
    const t0 = Date.now();
    await ms[2].stop({ leave: true });
    await waitFor(() => allSee(ms.slice(0, 2), ['host-1', 'host-2']), 3000, 'host-3 gone');
    assert.ok(Date.now() - t0 < 1500, `leave took ${Date.now() - t0} ms`);
    // Stopping without leaving stops the keepalives the proxy relayed: gone when the 2 s TTL ends.
    const t1 = Date.now();
    await ms[1].stop();
    assert.deepEqual(names(ms[0].nodes()), ['host-1', 'host-2']);
    await waitFor(() => allSee([ms[0]], ['host-1']), 8000, 'host-2 expired');
    const took = Date.now() - t1;
    assert.ok(took >= 1000 && took < 7000, `expired after ${took} ms`);
    noStoreChange(ms);
  });

  /** Three members of a new prefix, started and listing each other; each one's later lists recorded. */
  async function threeListed() {
    const prefix = newPrefix();
    const ms = [1, 2, 3].map((i) => member(prefix, host(i)));
    for (const m of ms) await m.start();
    await waitFor(() => allSee(ms, ['host-1', 'host-2', 'host-3']), 10000, 'all three listed');
    return { prefix, ms, lists: ms.map((m) => collect(m, 'nodes')) };
  }

  it('the proxy restarts on the same port: members keep their lists while it is away, then see the changes made meanwhile and after', async function () {
    const { prefix, ms, lists } = await threeListed();
    const base = await etcdWatch();

    await proxy.kill();
    await waitFor(() => ms.every((m) => m.statuses.some((s) => s.state === 'disconnected')), 10000, 'every member noticed the proxy gone');
    // Written to etcd while the proxy is away: the resumed watches must replay it.
    const Z = { name: 'z', nodeIP: '10.71.0.4', podCIDR: '10.244.22.0/24' };
    const lease = await publishRecord(raw, prefix, Z);
    await sleep(1000);
    await proxy.start();
    await waitFor(() => ms.every((m) => m.statuses[m.statuses.length - 1].state === 'connected'), 15000, 'every member connected again');
    await waitFor(() => allSee(ms, ['host-1', 'host-2', 'host-3', 'z']), 10000, 'z (written while the proxy was away) on every member').catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(ms.map((m) => names(m.nodes())))}; warnings ${JSON.stringify(ms.map((m) => m.warnings))}`);
    });
    // And a write after the restart.
    await lease.put(`${prefix}nodes/z`).value(JSON.stringify({ ...Z, nodeIP: '10.71.0.5' }));
    await waitFor(() => ms.every((m) => m.nodes().find((n) => n.name === 'z')?.nodeIP === '10.71.0.5'), 5000, 'z\'s new node IP on every member');
    for (const l of lists) assert.ok(l.every((x) => x.length >= 3), `never a shorter list: ${JSON.stringify(l.map(names))}`);
    noStoreChange(ms);
    // The resumed watches are coalesced again (etcd's watch on the proxy's behalf replaced the old one).
    await waitFor(async () => (await etcdWatch()).watchers === base.watchers, 10000, 'etcd back to one watcher for the three members').catch(async (e) => {
      throw new Error(`${e.message}: before ${JSON.stringify(base)}, now ${JSON.stringify(await etcdWatch())}`);
    });
    await lease.revoke();
  });

  it('etcd restarts behind the proxy: members keep their lists while it is down, then see what is written after', async function () {
    const { prefix, ms, lists } = await threeListed();
    // etcd down for 2 s (longer than nothing, shorter than the members' 2 s leases plus their
    // keepalive slack: a lease in etcd is restored with a fresh TTL on restart), the proxy stays.
    await etcd().restart({ downMs: 2000 });
    raw.close();
    raw = new Etcd3({ hosts: etcd().url });
    const Z = { name: 'z', nodeIP: '10.71.0.6', podCIDR: '10.244.23.0/24' };
    const lease = await publishRecord(raw, prefix, Z);
    await waitFor(() => allSee(ms, ['host-1', 'host-2', 'host-3', 'z']), 20000, 'z (written after the restart) on every member').catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(ms.map((m) => names(m.nodes())))}; warnings ${JSON.stringify(ms.map((m) => m.warnings))}; proxy ${proxy.log.join('').slice(-800)}`);
    });
    await lease.put(`${prefix}nodes/z`).value(JSON.stringify({ ...Z, nodeIP: '10.71.0.7' }));
    await waitFor(() => ms.every((m) => m.nodes().find((n) => n.name === 'z')?.nodeIP === '10.71.0.7'), 10000, 'z\'s new node IP on every member');
    for (const l of lists) assert.ok(l.every((x) => x.length >= 3), `never a shorter list: ${JSON.stringify(l.map(names))}`);
    noStoreChange(ms); // the same etcd came back: not another store
    await lease.revoke();
  });
});
