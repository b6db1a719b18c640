'use strict';
// Netns: create/delete/list/exists interoperating with iproute2, Netns.run, sysctls, errors.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { Netns, NetnsError } = require('../../dist/netns');
const { kernelDescribe, ip, threadNetns } = require('../support/kernel');
const { ownNamespaces } = require('./helpers');

const ipNetnsList = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
const ipExec = (ns, ...args) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
const inodeOf = (link) => /^net:\[(\d+)\]$/.exec(link)[1];

describe('netns: names and validation (no kernel needed)', function () {
  it('refuses bad names with a ValidationError before doing anything', function () {
    for (const bad of ['', '.', '..', 'a/b', 'x'.repeat(256), 'a\0b', 42, undefined]) {
      assert.throws(() => Netns.create(bad), { name: 'ValidationError' }, `create(${JSON.stringify(bad)})`);
      assert.throws(() => Netns.delete(bad), { name: 'ValidationError' }, `delete(${JSON.stringify(bad)})`);
    }
    // create/delete take names only; the others also take absolute paths, never relative ones.
    assert.throws(() => Netns.create('/run/netns/x'), { name: 'ValidationError' });
    assert.throws(() => Netns.delete('/proc/1/ns/net'), { name: 'ValidationError' });
    assert.throws(() => Netns.run('rel/path', () => 1), /ValidationError|absolute path/);
    assert.throws(() => Netns.exists('..'), { name: 'ValidationError' });
    assert.equal(Netns.path('host1'), '/run/netns/host1');
    assert.equal(Netns.path('/proc/1/ns/net'), '/proc/1/ns/net');
    assert.ok(Netns.path('x'.repeat(255)).endsWith('x'.repeat(255)));
  });

  it('refuses sysctl keys outside net.* (they are not per-namespace) and bad values, before entering', function () {
    // A namespace that does not exist: validation must fail first, so no ENOENT.
    const ns = 'nla-never-made';
    for (const key of ['kernel.hostname', 'vm.swappiness', 'net', 'net..ipv4', 'net.ipv4/../../kernel/x', '../x', '']) {
      assert.throws(() => Netns.sysctl(ns, key, 1), { name: 'ValidationError' }, key);
    }
    for (const value of ['', 'a\nb', NaN, Infinity, null, {}, undefined]) {
      assert.throws(() => Netns.sysctl(ns, 'net.ipv4.ip_forward', value), { name: 'ValidationError' }, String(value));
    }
    assert.throws(() => Netns.sysctl(ns, {}), { name: 'ValidationError' });
    assert.throws(() => Netns.readSysctl(ns, 'kernel.hostname'), { name: 'ValidationError' });
    assert.throws(
      () => Netns.sysctl(ns, { 'net.ipv4.ip_forward': 1, 'fs.file-max': 1, 'net.ipv6.conf.all.forwarding': 'x\n' }),
      (e) => e.name === 'ValidationError' && e.problems.length === 2,
    );
  });
});

kernelDescribe('netns: lifecycle, interoperable with iproute2', function () {
  const own = ownNamespaces('ns');

  it('a namespace made by Netns.create is listed by `ip netns list` and usable by `ip netns exec`', function () {
    const ns = own.create();
    assert.ok(ipNetnsList().includes(ns), 'ip netns list shows it');
    assert.ok(Netns.list().includes(ns));
    assert.ok(Netns.exists(ns));
    // ip netns exec enters the same namespace: same inode, and only lo inside.
    assert.equal(inodeOf(ipExec(ns, 'readlink', '/proc/self/ns/net').trim()), Netns.inode(ns));
    assert.notEqual(Netns.inode(ns), Netns.inode());
    assert.deepEqual(
      JSON.parse(ipExec(ns, 'ip', '-j', 'link')).map((l) => l.ifname),
      ['lo'],
    );
    // /run/netns is a shared mount point, as iproute2 makes it.
    const runNetns = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/run/netns');
    assert.match(runNetns, /shared:\d+/);
    Netns.delete(ns);
    assert.ok(!ipNetnsList().includes(ns), 'gone from ip netns list');
    assert.ok(!Netns.exists(ns));
    assert.ok(!fs.existsSync(`/run/netns/${ns}`));
  });

  it('a namespace made by `ip netns add` is usable: exists, list, run, sysctl, and Netns.delete removes it', function () {
    const ns = own.track(own.name());
    execFileSync('ip', ['netns', 'add', ns]);
    assert.ok(Netns.exists(ns));
    assert.ok(Netns.list().includes(ns));
    const inside = Netns.run(ns, () => threadNetns());
    assert.equal(inodeOf(inside), Netns.inode(ns));
    assert.equal(inodeOf(ipExec(ns, 'readlink', '/proc/self/ns/net').trim()), Netns.inode(ns));
    Netns.sysctl(ns, 'net.ipv4.ip_forward', 1);
    assert.equal(ipExec(ns, 'sysctl', '-n', 'net.ipv4.ip_forward').trim(), '1');
    Netns.delete(ns);
    assert.ok(!ipNetnsList().includes(ns));
  });

  it('creating an existing namespace is EEXIST naming it; deleting a missing one is ENOENT naming it', function () {
    const ns = own.create();
    const inode = Netns.inode(ns);
    assert.throws(() => Netns.create(ns), (e) => {
      assert.ok(e instanceof NetnsError);
      assert.equal(e.code, 'EEXIST');
      assert.equal(e.errno, 17);
      assert.equal(e.netns, ns);
      assert.ok(e.message.includes(ns), e.message);
      return true;
    });
    assert.equal(Netns.inode(ns), inode, 'the existing namespace was left alone');
    const missing = own.name();
    assert.throws(() => Netns.delete(missing), (e) => {
      assert.ok(e instanceof NetnsError);
      assert.equal(e.code, 'ENOENT');
      assert.equal(e.errno, 2);
      assert.ok(e.message.includes(missing), e.message);
      return true;
    });
    assert.equal(Netns.exists(missing), false);
  });

  it('a missing namespace is ENOENT naming it for run, worker, sysctl, readSysctl and inode', function () {
    const missing = own.name();
    const calls = {
      run: () => Netns.run(missing, () => assert.fail('fn must not run')),
      worker: () => Netns.worker(missing, `${__dirname}/fixtures/peer.js`),
      sysctl: () => Netns.sysctl(missing, 'net.ipv4.ip_forward', 1),
      readSysctl: () => Netns.readSysctl(missing, 'net.ipv4.ip_forward'),
      inode: () => Netns.inode(missing),
    };
    const before = threadNetns();
    for (const [what, call] of Object.entries(calls)) {
      assert.throws(call, (e) => {
        assert.ok(e instanceof NetnsError, `${what}: ${e}`);
        assert.equal(e.code, 'ENOENT', what);
        assert.ok(e.message.includes(missing), `${what}: ${e.message}`);
        return true;
      });
    }
    assert.equal(threadNetns(), before);
  });

  it('a file under /run/netns that is not a namespace or another kind of namespace, does not exist for Netns and cannot be entered (EINVAL)', function () {
    const ns = own.track(own.name());
    fs.writeFileSync(`/run/netns/${ns}`, '');
    assert.equal(Netns.exists(ns), false);
    assert.throws(() => Netns.run(ns, () => 1), { name: 'NetnsError', code: 'EINVAL' });
    assert.throws(() => Netns.worker(ns, `${__dirname}/fixtures/peer.js`), { name: 'NetnsError', code: 'EINVAL' });
    Netns.delete(ns); // removes a stale file like `ip netns del` does
    assert.ok(!fs.existsSync(`/run/netns/${ns}`));
    // Another kind of namespace is not a network namespace either.
    assert.equal(Netns.exists('/proc/self/ns/mnt'), false);
    assert.equal(Netns.exists('/proc/thread-self/ns/net'), true);
    assert.throws(() => Netns.run('/proc/self/ns/mnt', () => 1), (e) => e.code === 'EINVAL' && /not a network namespace/.test(e.message));
  });

  it('without CAP_SYS_ADMIN, create and run fail with EPERM and a sentence saying what is needed', function () {
    const ns = own.track(own.name());
    const script = `
      const { Netns } = require(${JSON.stringify(require.resolve('../../dist/netns'))});
      const out = {};
      for (const [k, f] of Object.entries({
        create: () => Netns.create(${JSON.stringify(ns)}),
        run: () => Netns.run('/proc/1/ns/net', () => 1),
      })) { try { f(); out[k] = 'no error'; } catch (e) { out[k] = { name: e.name, code: e.code, message: e.message }; } }
      process.stdout.write(JSON.stringify(out));`;
    // Root without any capability: what an unprivileged caller gets.
    const out = JSON.parse(
      execFileSync('setpriv', ['--bounding-set=-all', '--inh-caps=-all', process.execPath, '-e', script], { encoding: 'utf8' }),
    );
    assert.equal(out.create.name, 'NetnsError');
    assert.equal(out.create.code, 'EPERM');
    assert.match(out.create.message, /creating network namespaces needs CAP_SYS_ADMIN \(run as root\)/);
    assert.ok(out.create.message.includes(ns));
    assert.equal(out.run.code, 'EPERM');
    assert.match(out.run.message, /needs CAP_SYS_ADMIN/);
    assert.ok(!fs.existsSync(`/run/netns/${ns}`), 'nothing left behind');
  });
});

kernelDescribe('netns: Netns.run', function () {
  const own = ownNamespaces('run');

  it('runs fn inside the namespace and returns its result; the thread is back home afterwards', function () {
    const ns = own.create();
    const home = threadNetns();
    const seen = Netns.run(ns, () => ({ link: threadNetns() }));
    assert.equal(inodeOf(seen.link), Netns.inode(ns));
    assert.equal(threadNetns(), home);
    assert.equal(Netns.inode(), inodeOf(home));
  });

  it('comes back when fn throws, and the error passes through unchanged', function () {
    const ns = own.create();
    const home = threadNetns();
    const boom = new Error('boom');
    let inside;
    assert.throws(
      () =>
        Netns.run(ns, () => {
          inside = threadNetns();
          throw boom;
        }),
      (e) => e === boom,
    );
    assert.equal(inodeOf(inside), Netns.inode(ns));
    assert.equal(threadNetns(), home);
  });

  it('nests: inner run enters another namespace and returns to the outer one, not to home', function () {
    const a = own.create();
    const b = own.create();
    const home = threadNetns();
    const seen = Netns.run(a, () => {
      const inB = Netns.run(b, () => threadNetns());
      return [inB, threadNetns()];
    });
    assert.deepEqual(seen.map(inodeOf), [Netns.inode(b), Netns.inode(a)]);
    assert.equal(threadNetns(), home);
  });

  it('accepts an absolute path (/proc/self/ns/net is the namespace we are in)', function () {
    assert.equal(Netns.run('/proc/self/ns/net', () => Netns.inode()), Netns.inode());
  });

  it('refuses an async fn (only its synchronous part would run inside), after coming back', async function () {
    const ns = own.create();
    const home = threadNetns();
    let afterAwait;
    assert.throws(
      () =>
        Netns.run(ns, async () => {
          await null;
          afterAwait = threadNetns();
        }),
      (e) => e.name === 'NetnsError' && e.code === 'EINVAL' && /Netns\.worker/.test(e.message),
    );
    assert.equal(threadNetns(), home);
    await new Promise((r) => setImmediate(r));
    assert.equal(afterAwait, home, 'the continuation ran at home, which is why run refuses it');
  });

  it('libuv\'s thread pool is never born inside a namespace (fresh process: the first async fs job comes from inside run or a worker)', function () {
    const ns = own.create();
    const dist = JSON.stringify(require.resolve('../../dist/netns'));
    const fixture = JSON.stringify(require.resolve('./fixtures/pool.js'));
    const viaRun = `
      const { Netns } = require(${dist}); const fs = require('node:fs');
      Netns.run(${JSON.stringify(ns)}, () => fs.readlink('/proc/thread-self/ns/net', (e, l) => {
        process.stdout.write(JSON.stringify({ home: fs.readlinkSync('/proc/thread-self/ns/net'), pool: l }));
      }));`;
    const viaWorker = `
      const { Netns } = require(${dist}); const fs = require('node:fs');
      Netns.worker(${JSON.stringify(ns)}, ${fixture}).on('message', (l) => {
        process.stdout.write(JSON.stringify({ home: fs.readlinkSync('/proc/thread-self/ns/net'), pool: l }));
      });`;
    for (const script of [viaRun, viaWorker]) {
      const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
      assert.match(out.pool, /^net:\[\d+\]$/);
      assert.equal(out.pool, out.home, 'a pool job ran in the process\'s own namespace');
    }
  });

  it('files opened by fn see the namespace: /proc/thread-self/net lists its devices, not the host\'s', function () {
    const ns = own.create();
    ip(ns, 'link', 'add', 'nla-in0', 'type', 'veth', 'peer', 'name', 'nla-in1');
    const inside = Netns.run(ns, () => fs.readFileSync('/proc/thread-self/net/dev', 'utf8'));
    assert.ok(inside.includes('nla-in0') && inside.includes('nla-in1'), inside);
    assert.ok(!fs.readFileSync('/proc/thread-self/net/dev', 'utf8').includes('nla-in0'));
  });
});

kernelDescribe('netns: sysctls inside a namespace', function () {
  const own = ownNamespaces('sys');

  it('writes land in the namespace asked for, checked with `ip netns exec NS sysctl`; the host and others are untouched', function () {
    const a = own.create();
    const b = own.create();
    ip(a, 'link', 'add', 'nla-v0', 'type', 'veth', 'peer', 'name', 'nla-v1');
    const hostForward = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
    assert.equal(Netns.readSysctl(a, 'net.ipv4.ip_forward'), '0');
    Netns.sysctl(a, { 'net.ipv4.ip_forward': 1, 'net.ipv4.conf.nla-v0.proxy_arp': true, 'net/ipv6/conf/all/forwarding': '1' });
    assert.equal(ipExec(a, 'sysctl', '-n', 'net.ipv4.ip_forward').trim(), '1');
    assert.equal(ipExec(a, 'sysctl', '-n', 'net.ipv4.conf.nla-v0.proxy_arp').trim(), '1');
    assert.equal(ipExec(a, 'sysctl', '-n', 'net.ipv4.conf.nla-v1.proxy_arp').trim(), '0');
    assert.equal(ipExec(a, 'sysctl', '-n', 'net.ipv6.conf.all.forwarding').trim(), '1');
    assert.equal(ipExec(b, 'sysctl', '-n', 'net.ipv4.ip_forward').trim(), '0', 'the other namespace is untouched');
    assert.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostForward, 'the host is untouched');
    // Reading alternately must not mix namespaces up (proc caches sysctl dentries).
    for (let i = 0; i < 3; i++) {
      assert.equal(Netns.readSysctl(a, 'net.ipv4.ip_forward'), '1');
      assert.equal(Netns.readSysctl(b, 'net.ipv4.ip_forward'), '0');
      assert.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostForward);
    }
    Netns.sysctl(a, 'net.ipv4.ip_forward', 0);
    assert.equal(ipExec(a, 'sysctl', '-n', 'net.ipv4.ip_forward').trim(), '0');
  });

  it('a device name with a dot is written as sysctl(8) does: net.ipv4.conf.v0/7.proxy_arp', function () {
    const a = own.create();
    ip(a, 'link', 'add', 'v0.7', 'type', 'veth', 'peer', 'name', 'v1');
    Netns.sysctl(a, 'net.ipv4.conf.v0/7.proxy_arp', 1);
    assert.equal(ipExec(a, 'sysctl', '-n', 'net.ipv4.conf.v0/7.proxy_arp').trim(), '1');
    assert.equal(Netns.readSysctl(a, 'net/ipv4/conf/v0.7/proxy_arp'), '1');
  });

  it('a key that does not exist in the namespace is ENOENT naming key and namespace; a read-only key is EACCES; a refused value is EINVAL', function () {
    const a = own.create();
    assert.throws(() => Netns.sysctl(a, 'net.ipv4.conf.nla-nodev.proxy_arp', 1), (e) => {
      assert.equal(e.name, 'NetnsError');
      assert.equal(e.code, 'ENOENT');
      assert.ok(e.message.includes(a) && e.message.includes('net.ipv4.conf.nla-nodev.proxy_arp'), e.message);
      return true;
    });
    assert.throws(() => Netns.sysctl(a, 'net.ipv4.route.gc_interval_nope', 1), { code: 'ENOENT' });
    assert.throws(() => Netns.sysctl(a, 'net.ipv4.conf.lo.mc_forwarding', 1), (e) => {
      assert.equal(e.code, 'EACCES');
      assert.match(e.message, /read-only/);
      return true;
    });
    // A write-only key (mode 0200) can be written: the file is opened O_WRONLY.
    Netns.sysctl(a, 'net.ipv4.route.flush', 1);
    // A value the kernel refuses is EINVAL.
    assert.throws(() => Netns.sysctl(a, 'net.ipv4.ip_forward', 'not-a-number'), { code: 'EINVAL' });
    assert.throws(() => Netns.sysctl(a, 'net.ipv6.conf.lo.mtu', -5), { code: 'EINVAL' });
  });
});
