'use strict';
// The contract between the real kernel and MemoryKernel: every case of a table runs twice,
// through the public Rtnl API, once in namespaces of the real kernel (root; also on the VM
// lane's Linux 6.1) and once on a fresh MemoryKernel (everywhere). A case is
//   { name, run: async (w) => observation, expect: value | (w) => value }
// (the observation must deepEqual the expectation on both), or { name, run } whose run
// asserts itself. `only: 'memory' | 'linux'` and `skip: (w) => reason | undefined` say where a
// case cannot run, and why.
const assert = require('node:assert/strict');
const os = require('node:os');
const { Rtnl, MemoryKernel, NetlinkError } = require('../../../dist');
const { kernelDescribe, makeNetns, removeNetns, slow } = require('../../support/kernel');
const { pollUntil } = require('../../support/poll');

let counter = 0;

/** What a case works with: namespaces by letter ('a' is the first), handles, helpers. */
class World {
  constructor(kind) {
    /** 'linux' or 'memory'. */
    this.kind = kind;
    this.kernel = kind === 'memory' ? new MemoryKernel() : undefined;
    this.names = new Map();
    this.handles = [];
    this.release = kind === 'memory' ? '6.18.0-memory' : os.release();
    const [maj, min] = this.release.split('.').map(Number);
    /** The kernel is (or models) Linux 6.18 or later; false on the VM lane's 6.1. */
    this.atLeast618 = maj > 6 || (maj === 6 && min >= 18);
  }

  /** The namespace called `letter` in this case (made on first use). */
  ns(letter = 'a') {
    let name = this.names.get(letter);
    if (name) return name;
    if (this.kind === 'linux') name = makeNetns('ctr');
    else {
      name = `nla-ctr-${process.pid}-m${++counter}`;
      this.kernel.createNamespace(name);
    }
    this.names.set(letter, name);
    return name;
  }

  /** An Rtnl handle on namespace `letter` (closed after the case). */
  async open(letter = 'a') {
    const nl = await Rtnl.open(this.kernel ? { kernel: this.kernel, netns: this.ns(letter) } : { netns: this.ns(letter) });
    this.handles.push(nl);
    return nl;
  }

  /** The MemoryNamespace of `letter` (MemoryKernel only). */
  memoryNamespace(letter = 'a') {
    return this.kernel.namespace(this.ns(letter));
  }

  /** Runs fn until it stops throwing (the kernel's linkwatch and DAD act after a delay). */
  async eventually(fn, what = 'condition') {
    let last;
    const got = await pollUntil(
      async () => {
        try {
          return { value: await fn() };
        } catch (e) {
          last = e;
          return undefined;
        }
      },
      { ms: 8000 * slow, every: this.kind === 'memory' ? 1 : 50, what: () => `${what} (last: ${last && last.message})` },
    );
    return got.value;
  }

  /** A recorder of typed events: seen is a list of "action kind text" strings. */
  record(nl, groups) {
    const mon = nl.monitor({ groups });
    const rec = { seen: [], overflows: 0, monitor: mon };
    mon.on('link', (e) => rec.seen.push(`${e.action} link ${e.object.name}`));
    mon.on('address', (e) => rec.seen.push(`${e.action} address ${e.object.address}`));
    mon.on('route', (e) => rec.seen.push(`${e.action} route ${e.object.dst} table ${e.object.table}`));
    mon.on('neighbor', (e) => rec.seen.push(`${e.action} neighbor ${e.object.ip}`));
    mon.on('fdb', (e) => rec.seen.push(`${e.action} fdb ${e.object.mac}${e.object.dst ? ` dst ${e.object.dst}` : ''}`));
    mon.on('overflow', () => rec.overflows++);
    rec.until = (pred, what) =>
      this.eventually(() => {
        assert.ok(pred(rec.seen), `${what}: seen ${JSON.stringify(rec.seen)}`);
      }, what);
    return rec;
  }

  /** The outcome of a promise as { code, kernelMessage } or 'ok'. */
  async outcome(p) {
    try {
      await p;
      return 'ok';
    } catch (e) {
      if (!(e instanceof NetlinkError)) throw e;
      return e.kernelMessage ? { code: e.code, kernelMessage: e.kernelMessage } : { code: e.code };
    }
  }

  close() {
    for (const h of this.handles) h.close();
    if (this.kind === 'linux') for (const n of this.names.values()) removeNetns(n);
  }
}

function runCase(kind, c) {
  const title = c.name;
  if (c.only && c.only !== kind) return;
  it(title, async function () {
    const w = new World(kind);
    try {
      const reason = c.skip && (await c.skip(w));
      if (reason) {
        console.log(`      skipped on ${kind} ${w.release}: ${reason}`);
        this.skip();
      }
      const got = await c.run(w);
      if ('expect' in c) {
        const want = typeof c.expect === 'function' ? c.expect(w) : c.expect;
        assert.deepEqual(got, want);
      }
    } finally {
      w.close();
    }
  });
}

/** Registers a contract table: one suite on the real kernel (root), one on MemoryKernel. */
function contract(title, cases) {
  kernelDescribe(`contract on the real kernel: ${title}`, function () {
    for (const c of cases) runCase('linux', c);
  });
  describe(`contract on MemoryKernel: ${title}`, function () {
    for (const c of cases) runCase('memory', c);
  });
}

// ------------------------------------------------------------------ observations
// Compact, `ip`-like texts of what the kernel reports, so a table's expectations read as what
// `ip route` / `ip link` would print. Indexes are shown as names; what the kernel adds on its
// own with timing of its own (IPv6 link-local addresses and routes, ff00::/8, multicast FDB
// entries of the interfaces' address lists) is left out unless asked for.

async function nameMap(nl) {
  const m = new Map();
  for (const l of await nl.links.list()) m.set(l.index, l.name);
  return m;
}

function isAutoV6(text) {
  return /fe80:|ff00::\/8/.test(text);
}

/** Routes as `ip route` lines (sorted), table all by default. */
async function routes(nl, filter = { table: 'all' }, opts = {}) {
  const names = await nameMap(nl);
  const out = [];
  for (const r of await nl.routes.list(filter)) {
    let s = r.type === 'unicast' ? r.dst : `${r.type} ${r.dst}`;
    if (r.via) s += ` via ${r.via}`;
    if (r.dev !== undefined) s += ` dev ${names.get(r.dev) ?? r.dev}`;
    if (r.table !== 254) s += ` table ${r.table === 255 ? 'local' : r.table}`;
    s += ` proto ${r.protocol}`;
    if (r.scope) s += ` scope ${r.scope}`;
    if (r.prefsrc) s += ` src ${r.prefsrc}`;
    if (r.metric !== undefined && !(r.family === 4 && r.metric === 0)) s += ` metric ${r.metric}`;
    if (r.tos) s += ` tos ${r.tos}`;
    if (r.onlink) s += ' onlink';
    if (r.flags & 16) s += ' linkdown';
    if (r.flags & 1) s += ' dead';
    if (r.mtu) s += ` mtu ${r.mtu}`;
    if (r.advmss) s += ` advmss ${r.advmss}`;
    if (r.nexthops) {
      s += ` nexthops ${r.nexthops.map((n) => `[${n.via ?? ''} dev ${names.get(n.dev) ?? n.dev} weight ${n.weight}${n.flags & 1 ? ' dead' : ''}${n.flags & 16 ? ' linkdown' : ''}]`).join(' ')}`;
    }
    if (!opts.auto && isAutoV6(s)) continue;
    out.push(s);
  }
  return out.sort();
}

/** Addresses as "dev address [flags]" lines (sorted); IPv6 link-local ones left out. */
async function addresses(nl, filter = {}, opts = {}) {
  const names = await nameMap(nl);
  const out = [];
  for (const a of await nl.addresses.list(filter)) {
    if (!opts.auto && a.address.startsWith('fe80:')) continue;
    let s = `${names.get(a.index)} ${a.address}`;
    if (a.peer) s += ` peer ${a.peer}`;
    if (a.broadcast) s += ` brd ${a.broadcast}`;
    if (a.label && a.label !== names.get(a.index)) s += ` label ${a.label}`;
    s += ` scope ${a.scope}`;
    if (a.flags & 1) s += ' secondary';
    if (a.flags & 2) s += ' nodad';
    if (a.flags & 0x200) s += ' noprefixroute';
    if (!a.permanent) s += ' dynamic';
    out.push(s);
  }
  return out.sort();
}

/** Links as "name kind [up] mtu N [master M] [link L]" lines, in index order. */
async function links(nl, opts = {}) {
  const names = await nameMap(nl);
  const out = [];
  for (const l of await nl.links.list()) {
    if (/^(tunl0|sit0|ip6tnl0|gre0|gretap0|erspan0|ip_vti0|ip6_vti0|ip6gre0)$/.test(l.name)) continue; // fallback tunnels of loaded modules
    let s = `${l.name} ${l.kind ?? '-'}${l.up ? ' up' : ''} mtu ${l.mtu}`;
    if (l.master) s += ` master ${names.get(l.master)}`;
    if (opts.link && l.link !== undefined) s += ` link ${l.linkNetnsId !== undefined ? `${l.link}@nsid${l.linkNetnsId}` : names.get(l.link) ?? l.link}`;
    if (opts.operstate) s += ` ${l.operstate}`;
    if (l.alias) s += ` alias ${l.alias}`;
    out.push(s);
  }
  return out;
}

/** Neighbour entries as "ip dev lladdr states [router] [proxy]" lines (sorted). */
async function neighbors(nl, filter = {}) {
  const names = await nameMap(nl);
  return (await nl.neighbors.list(filter))
    .filter((n) => !n.ip.startsWith('ff02:') && !(n.family === 6 && n.states.includes('noarp')))
    .map((n) => `${n.ip} dev ${names.get(n.index)}${n.lladdr ? ` lladdr ${n.lladdr}` : ''} ${n.states.join(',') || 'none'}${n.router ? ' router' : ''}${n.proxy ? ' proxy' : ''}`)
    .sort();
}

/** FDB entries as "mac [vlan V] [dst D] dev X [flags]" lines (sorted); multicast MACs of address lists left out. */
async function fdb(nl, filter = {}) {
  const names = await nameMap(nl);
  return (await nl.fdb.list(filter))
    .filter((e) => !/^(33:33|01:00:5e)/.test(e.mac))
    .map((e) => {
      let s = `${e.mac}`;
      if (e.vlan !== undefined) s += ` vlan ${e.vlan}`;
      if (e.dst) s += ` dst ${e.dst}`;
      if (e.vni !== undefined) s += ` vni ${e.vni}`;
      if (e.port !== undefined) s += ` port ${e.port}`;
      s += ` dev ${names.get(e.index)}`;
      if (e.masterIndex !== undefined) s += ` master ${names.get(e.masterIndex)}`;
      if (e.self) s += ' self';
      s += e.permanent ? ' permanent' : e.state & 64 ? ' static' : ` state ${e.state}`;
      return s;
    })
    .sort();
}

module.exports = { contract, World, routes, addresses, links, neighbors, fdb };
