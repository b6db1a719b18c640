import { EventEmitter } from 'eventemitter3';
import { Reconciler } from '../reconcile/reconciler';
import type { ApplyResult, DesiredState, ReconcilerOptions, WatchOptions } from '../reconcile/types';
import { PrivateKey } from '../genl/wireguard/key';
import type { Rtnl } from '../rtnl/rtnl';
import { canonicalIP } from '../values/address';
import { Problems } from '../values/problems';
import { desiredState, type OverlayConfig, type OverlayNode } from './modes';

/** What an OverlayAgent is made with: an OverlayConfig without the node list (given to setNodes), with the underlay found when not given. */
export interface OverlayAgentOptions extends Omit<OverlayConfig, 'nodes' | 'underlayDev' | 'underlayMtu' | 'underlaySubnet' | 'underlaySubnets'> {
  /** The rtnetlink handle of the host (namespace) to configure. */
  nl: Rtnl;
  /** Default: the device of the kernel's route to the first peer (or to this node's own IP). */
  underlayDev?: string;
  /** Default: the underlay device's MTU. */
  underlayMtu?: number;
  /** Default: the prefix of this node's IP address on the underlay device. */
  underlaySubnet?: string;
  /** Default: the prefixes of this node's IP addresses (one per family) on the underlay device. */
  underlaySubnets?: string[];
  /** Options of the Reconciler (ownership marks). */
  reconciler?: ReconcilerOptions;
  /** Options of the Reconciler's watch (debounce, resync, backoff). */
  watch?: WatchOptions;
}

/** The events an OverlayAgent emits (it is an EventEmitter). */
export interface OverlayAgentEvents {
  /** A new DesiredState was computed from the node list. */
  desired: (state: DesiredState) => void;
  /** The reconciler finished an apply (see ReconcilerEvents.applied). */
  applied: (result: ApplyResult) => void;
  /** The watching reconciler reached the desired state. */
  converged: () => void;
  /** A watch cycle failed; the reconciler retries with backoff. */
  error: (error: Error) => void;
}

/**
 * One host's overlay: a mode plus a watching Reconciler. Give it the node list (again whenever
 * it changes); it computes this host's desired state and keeps the kernel there.
 *
 * @example
 * ```ts
 * const agent = new OverlayAgent({ nl, mode: 'vxlan', self: 'host1' });
 * await agent.setNodes(nodes);   // resolves once the first apply is done
 * await agent.stop();            // leaves the kernel as it is
 * ```
 */
export class OverlayAgent extends EventEmitter<OverlayAgentEvents> {
  /** The Reconciler that applies and watches this host's desired state. */
  readonly reconciler: Reconciler;
  private underlay: { dev: string; mtu: number; subnets: string[] } | undefined;
  private watching = false;
  private lastNodes: OverlayNode[] | undefined;

  /** Makes the agent and its Reconciler; nothing is sent until setNodes(). Throws RangeError
   * for a bad reconciler.protocol. */
  constructor(private readonly opts: OverlayAgentOptions) {
    super();
    this.reconciler = new Reconciler(opts.nl, opts.reconciler);
    this.reconciler.on('applied', (r) => this.emit('applied', r));
    this.reconciler.on('converged', () => this.emit('converged'));
    this.reconciler.on('error', (e) => this.emit('error', e));
  }

  /** Finds the underlay device, its MTU and this host's subnet on it (once). */
  private async resolveUnderlay(nodes: OverlayNode[]): Promise<{ dev: string; mtu: number; subnets: string[] }> {
    if (this.underlay) return this.underlay;
    const { nl } = this.opts;
    const self = nodes.find((n) => n.name === this.opts.self);
    let dev: string | undefined = this.opts.underlayDev;
    if (dev === undefined) {
      const peer = nodes.find((n) => n.name !== this.opts.self) ?? self;
      if (!peer) throw new Error(`overlay: node "${this.opts.self}" is not in the node list`);
      const route = await nl.routes.get(peer.nodeIP);
      if (route.dev === undefined) throw new Error(`overlay: the route to ${peer.nodeIP} has no device; give underlayDev`);
      dev = (await nl.links.get(route.dev)).name;
    }
    const link = await nl.links.get(dev);
    // Given subnets win; the families without one take the prefix of this node's address on the device.
    const subnets = [this.opts.underlaySubnet, ...(this.opts.underlaySubnets ?? [])].filter((x): x is string => x !== undefined);
    if (self) {
      const given = new Set(subnets.map((x) => (x.includes(':') ? 6 : 4)));
      const mine = new Set([self.nodeIP, ...(self.nodeIPs ?? [])].map((x) => canonicalIP(x)));
      for (const a of await nl.addresses.list({ dev: link.index })) {
        if (!given.has(a.family) && mine.has(a.address.split('/')[0])) {
          given.add(a.family);
          subnets.push(a.address);
        }
      }
    }
    const underlay = { dev, mtu: this.opts.underlayMtu ?? link.mtu, subnets };
    this.underlay = underlay;
    return underlay;
  }

  /** The DesiredState this host gets for a node list (validates; resolves the underlay once).
   * Throws ValidationError for a bad config or node list, Error when self is missing or the
   * underlay cannot be found, NetlinkError when the kernel lookups of the underlay fail. */
  async desiredFor(nodes: OverlayNode[]): Promise<DesiredState> {
    const u = await this.resolveUnderlay(nodes);
    const { nl: _nl, reconciler: _r, watch: _w, ...config } = this.opts;
    const c: OverlayConfig = { ...config, nodes, underlayDev: u.dev, underlayMtu: u.mtu, underlaySubnet: undefined, underlaySubnets: u.subnets };
    return desiredState(c); // validates (one pass over the nodes, not a second one before it)
  }

  /** Sets the node list: the first call applies (resolving with its ApplyResult) and starts
   * watching; later calls re-target the watch and resolve with undefined. Throws as desiredFor()
   * does; kernel refusals of single ops are in the result, not thrown. */
  async setNodes(nodes: OverlayNode[]): Promise<ApplyResult | undefined> {
    const desired = await this.desiredFor(nodes);
    this.lastNodes = nodes;
    this.emit('desired', desired);
    if (!this.watching) {
      const result = await this.reconciler.apply(desired);
      this.reconciler.watch(desired, this.opts.watch);
      this.watching = true;
      return result;
    }
    this.reconciler.setDesired(desired);
    return undefined;
  }

  /**
   * wireguard mode: replaces this host's private key while running (a rotated key file). The
   * device takes it as one op (its peers and their settings stay); the others follow once
   * this host's record carries the new public key (EtcdMembership.setWireGuard). Resolves as
   * setNodes() does; before the first node list, only keeps the key. Throws ValidationError
   * when the key is not a PrivateKey.
   */
  async setWireGuardKey(key: PrivateKey): Promise<ApplyResult | undefined> {
    const p = new Problems();
    if (this.opts.mode !== 'wireguard') p.add('mode', `is ${this.opts.mode}: only the wireguard mode has a key`);
    if (!(key instanceof PrivateKey)) p.add('wireguardKey', 'must be a PrivateKey (key text is not taken here: it would be a secret in a plain string)');
    p.throwIfAny('OverlayAgent.setWireGuardKey');
    this.opts.wireguardKey = key;
    if (!this.lastNodes) return undefined;
    return this.setNodes(this.lastNodes);
  }

  /**
   * Looks at the host again: finds the underlay (device, MTU, subnet) anew, as when the agent
   * was made, and applies the last node list with it (e.g. on SIGHUP after the underlay's MTU
   * changed). Resolves with what setNodes() resolves with; does nothing before the first list.
   */
  async refresh(): Promise<ApplyResult | undefined> {
    const previous = this.underlay;
    this.underlay = undefined;
    if (!this.lastNodes) return undefined;
    try {
      return await this.setNodes(this.lastNodes);
    } catch (e) {
      this.underlay ??= previous; // the underlay could not be read: keep what worked
      throw e;
    }
  }

  /** Stops watching; the kernel keeps the last state. */
  async stop(): Promise<void> {
    this.watching = false;
    await this.reconciler.stop();
  }
}
