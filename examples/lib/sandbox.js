'use strict';
/**
 * A throwaway cluster in network namespaces, built only through netlink-agent (no `ip`):
 *
 *   switch ns (bridge br0) ── eth0 of every host on the first subnet, and the router
 *   router ns (when some host is on another subnet) ── eth1 to those hosts
 *   per host: a host ns (eth0 = its underlay NIC) and one pod ns joined to it by a veth
 *
 * Pods get a /32 address and reach the world through a link-local gateway (169.254.10.24)
 * that their host answers for by proxy ARP, as in the seed article. A host with nodeIP6 has an
 * IPv6 underlay address too (fd57:4::/64 on the switch, fd57:5::/64 behind the router); one with
 * podIP6 gives its pod a /128 with the default route via fe80::1 (the host end's address). A host
 * without nodeIP is IPv6-only on the underlay. The overlay itself
 * (routes between hosts) is NOT set up here: that is what the agents under test do.
 */
const path = require('node:path');
const { Netns, Rtnl } = require('netlink-agent');

const GATEWAY = '169.254.10.24';
const SEED_HOSTS = [
  { name: 'host1', nodeIP: '10.57.4.20', podCIDR: '192.168.10.0/24', podIP: '192.168.10.10' },
  { name: 'host2', nodeIP: '10.57.4.21', podCIDR: '192.168.11.0/24', podIP: '192.168.11.10' },
];
const FAR_HOST = { name: 'host3', nodeIP: '10.57.5.22', podCIDR: '192.168.12.0/24', podIP: '192.168.12.10', far: true };
const GATEWAY6 = 'fe80::1';

/** The seed hosts with IPv6 too: `v6` adds an IPv6 underlay address and IPv6 pods; `dual`
 * keeps IPv4 as well (false: IPv6 only); `underlay6` drops the IPv4 underlay only. */
function withIPv6(hosts, { dual = true, underlay6 = false } = {}) {
  return hosts.map((h) => {
    const n = h.nodeIP.split('.')[3];
    const net = h.podCIDR.split('.')[2];
    const v6 = { ...h, nodeIP6: `fd57:${h.far ? 5 : 4}::${n}`, podCIDR6: `fd10:0:0:${Number(net).toString(16)}::/64`, podIP6: `fd10:0:0:${Number(net).toString(16)}::10` };
    if (!dual) {
      delete v6.nodeIP;
      delete v6.podCIDR;
      delete v6.podIP;
    } else if (underlay6) delete v6.nodeIP;
    return v6;
  });
}

class Sandbox {
  /**
   * @param {{ prefix?: string, hosts?: Array<{name:string,nodeIP:string,podCIDR:string,podIP:string,far?:boolean}> }} opts
   */
  constructor(opts = {}) {
    this.prefix = opts.prefix || `nla${process.pid}`;
    this.hosts = opts.hosts || SEED_HOSTS;
    this.created = [];
    this.handles = new Map();
  }

  ns(part) {
    return `${this.prefix}-${part}`;
  }
  hostNs(host) {
    return this.ns(host);
  }
  podNs(host) {
    return this.ns(`${host}-pod`);
  }
  host(name) {
    return this.hosts.find((h) => h.name === name);
  }
  /** The node list an overlay agent takes (nodeIPs/podCIDRs for the hosts with two families). */
  nodes() {
    return this.hosts.map(({ name, nodeIP, podCIDR, nodeIP6, podCIDR6 }) => {
      const ips = [nodeIP, nodeIP6].filter(Boolean);
      const cidrs = [podCIDR, podCIDR6].filter(Boolean);
      return { name, nodeIP: ips[0], podCIDR: cidrs[0], ...(ips.length > 1 ? { nodeIPs: ips } : {}), ...(cidrs.length > 1 ? { podCIDRs: cidrs } : {}) };
    });
  }

  async rtnl(ns) {
    let nl = this.handles.get(ns);
    if (!nl) {
      nl = await Rtnl.open({ netns: ns });
      this.handles.set(ns, nl);
    }
    return nl;
  }

  makeNs(name) {
    Netns.create(name);
    this.created.push(name);
  }

  async build() {
    const sw = this.ns('sw');
    this.makeNs(sw);
    const swnl = await this.rtnl(sw);
    await swnl.links.add({ kind: 'bridge', name: 'br0', up: true });
    const far = this.hosts.filter((h) => h.far);
    let rt;
    if (far.length) {
      rt = this.ns('rt');
      this.makeNs(rt);
      await this.plugIntoSwitch(swnl, 'sw-rt', rt);
      const rtnl = await this.rtnl(rt);
      await this.up(rtnl, 'lo');
      await rtnl.addresses.add({ dev: 'eth0', address: '10.57.4.1/24' });
      await rtnl.addresses.add({ dev: 'eth0', address: 'fd57:4::1/64', nodad: true });
      await this.up(rtnl, 'eth0');
      Netns.sysctl(rt, { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 });
    }
    for (const h of this.hosts) {
      const hns = this.hostNs(h.name);
      this.makeNs(hns);
      const nl = await this.rtnl(hns);
      await this.up(nl, 'lo');
      if (h.far) {
        // On the other subnet, behind the router: router eth1.<n> <-> host eth0.
        const rtnl = await this.rtnl(rt);
        const rtDev = `eth1-${h.name}`.slice(0, 15);
        await rtnl.links.add({ kind: 'veth', name: rtDev, peer: { name: 'eth0', netns: hns } });
        await rtnl.addresses.add({ dev: rtDev, address: '10.57.5.1/24' });
        await rtnl.addresses.add({ dev: rtDev, address: 'fd57:5::1/64', nodad: true });
        await this.up(rtnl, rtDev);
        await this.underlay(nl, h, '10.57.5.1', 'fd57:5::1');
      } else {
        await this.plugIntoSwitch(swnl, `sw-${h.name}`.slice(0, 15), hns);
        // Like a real host, a default route (to the sandbox's router address). Proxy ARP needs
        // it: the host answers for the pods' gateway only if it can route that address
        // through another interface than the pod's.
        await this.underlay(nl, h, '10.57.4.1', 'fd57:4::1');
      }
      Netns.sysctl(hns, {
        'net.ipv4.ip_forward': 1,
        'net.ipv6.conf.all.forwarding': 1,
        'net.ipv4.conf.all.rp_filter': 0,
        'net.ipv4.conf.default.rp_filter': 0,
      });
      await this.addPod(h);
    }
    return this;
  }

  /** The host's eth0: its node addresses (no DAD for the IPv6 one) and default routes. */
  async underlay(nl, h, gw4, gw6) {
    if (h.nodeIP) await nl.addresses.add({ dev: 'eth0', address: `${h.nodeIP}/24` });
    if (h.nodeIP6) await nl.addresses.add({ dev: 'eth0', address: `${h.nodeIP6}/64`, nodad: true });
    await this.up(nl, 'eth0');
    if (h.nodeIP) await nl.routes.add({ dst: 'default', via: gw4, dev: 'eth0', protocol: 'static' });
    if (h.nodeIP6) await nl.routes.add({ dst: '::/0', via: gw6, dev: 'eth0', protocol: 'static' });
  }

  async plugIntoSwitch(swnl, swDev, intoNs) {
    await swnl.links.add({ kind: 'veth', name: swDev, peer: { name: 'eth0', netns: intoNs } });
    await swnl.links.set(swDev, { master: 'br0', up: true });
  }

  async up(nl, dev) {
    await nl.links.set(dev, { up: true });
  }

  /** One pod per host: a /32 address, default route via the proxy-ARP gateway. */
  async addPod(h) {
    const hns = this.hostNs(h.name);
    const pns = this.podNs(h.name);
    this.makeNs(pns);
    const nl = await this.rtnl(hns);
    await nl.links.add({ kind: 'veth', name: 'vpod', peer: { name: 'eth0', netns: pns } });
    await this.up(nl, 'vpod');
    Netns.sysctl(hns, { 'net.ipv4.conf.vpod.proxy_arp': 1, 'net.ipv4.conf.vpod.rp_filter': 0 });
    const pod = await this.rtnl(pns);
    await this.up(pod, 'lo');
    await this.up(pod, 'eth0');
    if (h.podIP) {
      // Proxy ARP answers only for an address routed out of another device: a host without an
      // IPv4 underlay (no IPv4 default route) owns the pods' gateway address instead.
      if (!h.nodeIP) await nl.addresses.add({ dev: 'vpod', address: `${GATEWAY}/32` });
      await nl.routes.add({ dst: `${h.podIP}/32`, dev: 'vpod', scope: 'link', protocol: 'static' });
      await pod.addresses.add({ dev: 'eth0', address: `${h.podIP}/32` });
      await pod.routes.add({ dst: `${GATEWAY}/32`, dev: 'eth0', scope: 'link', protocol: 'static' });
      await pod.routes.add({ dst: 'default', via: GATEWAY, dev: 'eth0', protocol: 'static' });
    }
    if (h.podIP6) {
      // IPv6 needs no proxy: the host end has fe80::1 itself and the pod routes via it.
      await nl.addresses.add({ dev: 'vpod', address: `${GATEWAY6}/64`, nodad: true });
      await nl.routes.add({ dst: `${h.podIP6}/128`, dev: 'vpod', protocol: 'static' });
      await pod.addresses.add({ dev: 'eth0', address: `${h.podIP6}/128`, nodad: true });
      await pod.routes.add({ dst: '::/0', via: GATEWAY6, dev: 'eth0', protocol: 'static' });
    }
  }

  /**
   * UDP and TCP from the pod of `from` to the pod of `to` (both ways of one pair is two calls),
   * to its IPv4 pod address or (family 6) its IPv6 one.
   * Resolves { udp, tcp } with ok flags and what arrived. `payload` is what is sent (and must
   * come back after "echo:").
   */
  async traffic(from, to, { port = 7777, timeoutMs = 3000, payload = `hello from ${from}`, family = 4 } = {}) {
    const worker = path.join(__dirname, 'traffic-worker.js');
    const dst = family === 6 ? this.host(to).podIP6 : this.host(to).podIP;
    const server = Netns.worker(this.podNs(to), worker, { workerData: { role: 'server', port } });
    try {
      await once(server, (m) => m.ready);
      const client = Netns.worker(this.podNs(from), worker, {
        workerData: { role: 'client', host: dst, port, timeoutMs, payload },
      });
      const result = await once(client, (m) => m.result);
      await client.terminate();
      return result.result;
    } finally {
      await server.terminate();
    }
  }

  /** Closes every handle and deletes every namespace this sandbox made (also after failures). */
  async destroy() {
    for (const nl of this.handles.values()) nl.close();
    this.handles.clear();
    for (const name of this.created.reverse()) {
      try {
        Netns.delete(name);
      } catch (e) {
        if (e.code !== 'ENOENT') throw e;
      }
    }
    this.created = [];
  }
}

function once(worker, match) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (match(m)) {
        cleanup();
        resolve(m);
      }
    };
    const onError = (e) => {
      cleanup();
      reject(e);
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`traffic worker exited (${code}) before answering`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/** Deletes the sandbox on Ctrl-C / SIGTERM too, then exits. */
function cleanupOnSignals(sandbox) {
  const handler = async (sig) => {
    console.error(`\n${sig}: removing the sandbox`);
    try {
      await sandbox.destroy();
    } finally {
      process.exit(130);
    }
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

module.exports = { Sandbox, SEED_HOSTS, FAR_HOST, GATEWAY, GATEWAY6, withIPv6, cleanupOnSignals };
