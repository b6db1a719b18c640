/**
 * WireGuard devices over generic netlink: read a device's configuration, change it (split over
 * as many messages as the kernel needs), bring it to a desired configuration with the minimal
 * per-peer change, add/update/remove one peer. The device itself (link kind "wireguard") is
 * created and deleted through Rtnl's links like every other device.
 */
import { NetlinkError } from '../../wire/errors';
import { GenlSocket, type GenlSocketOptions } from '../../wire/genl';
import type { DeviceRef } from '../../rtnl/types';
import { checkDevice } from '../../rtnl/validate';
import { netnsPath } from '../../values/names';
import { Problems } from '../../values/problems';
import { WG_GENL_NAME } from './constants';
import { encodeWgGetDevice, encodeWgSetMessages, mergeWgDevice, parseWgDeviceMessage, writeWgSetMessage, WG_DEFAULT_SET_MESSAGE_BYTES, type WgDevicePart } from './codec';
import { describeWgPlan, planWgDevice, type WgDevicePlan, type WgPlanOptions } from './plan';
import type { PublicKeyInput, WgDevice, WgDeviceChange, WgDeviceConfig, WgPeerConfig } from './types';
import { validateWgDeviceChange, validateWgDeviceConfig, type WgSetRequest, type WgValidateOptions } from './validate';

/** How WireGuard.open() opens its socket. */
export interface WireGuardOptions extends Omit<GenlSocketOptions, 'netnsPath' | 'netnsFd'> {
  /** Work inside this network namespace: a name under /run/netns or a path. Default: the caller's own. */
  netns?: string;
  /** Largest SET message, bytes (see WG_DEFAULT_SET_MESSAGE_BYTES and the limits in codec.ts). */
  maxMessageBytes?: number;
}

/** What a SET cost. */
export interface WgSetResult {
  /** WG_CMD_SET_DEVICE messages sent. */
  messages: number;
  /** Size of each, bytes. */
  bytes: number[];
}

/** What sync() did. */
export interface WgSyncResult extends WgSetResult {
  /** The plan it carried out (empty: nothing was sent). */
  plan: WgDevicePlan;
}

/** Options of set(), sync(), setPeer(). */
export interface WgSetOptions extends WgValidateOptions {
  /** Override the handle's largest message size for this call. */
  maxMessageBytes?: number;
}

const deviceText = (ref: DeviceRef) => (typeof ref === 'number' ? `index ${ref}` : `"${ref}"`);

/**
 * WireGuard devices of one namespace. Every method validates its input first and throws
 * ValidationError (every problem, named by path, no key ever echoed) before anything is sent;
 * the kernel's refusals are NetlinkError naming the device (ENODEV: no such device,
 * EOPNOTSUPP: not a WireGuard device, EPERM: CAP_NET_ADMIN needed, even to read);
 * GenlFamilyNotFoundError when the kernel has no WireGuard.
 *
 * @example
 * ```ts
 * const nl = await Rtnl.open({ netns: 'host1' });
 * await nl.links.add({ kind: 'wireguard', name: 'wg0', up: true });
 * const wg = await WireGuard.open({ netns: 'host1' });
 * await wg.sync('wg0', { privateKey: key, listenPort: 51820,
 *   peers: [{ publicKey: other, endpoint: '10.57.4.21:51820', allowedIps: ['192.168.11.0/24'] }] });
 * const dev = await wg.get('wg0');     // dev.peers[0].lastHandshake, rxBytes, ...
 * ```
 */
export class WireGuard {
  private readonly maxMessageBytes: number;

  private constructor(
    /** The generic netlink socket this handle uses. */
    readonly genl: GenlSocket,
    private readonly ownsSocket: boolean,
    maxMessageBytes: number | undefined,
  ) {
    this.maxMessageBytes = maxMessageBytes ?? WG_DEFAULT_SET_MESSAGE_BYTES;
  }

  /** Opens a generic netlink socket in the namespace asked for. Rejects with a Node-style error
   * (code, errno, syscall) when it cannot, e.g. ENOENT naming a namespace that does not exist. */
  static async open(opts: WireGuardOptions = {}): Promise<WireGuard> {
    const { netns, maxMessageBytes, ...rest } = opts;
    const genl = GenlSocket.open({ ...rest, netnsPath: netns ? netnsPath(netns) : undefined });
    return new WireGuard(genl, true, maxMessageBytes);
  }

  /** Works on an open GenlSocket (shared with other families; close() leaves it open). */
  static on(genl: GenlSocket, opts: Pick<WireGuardOptions, 'maxMessageBytes'> = {}): WireGuard {
    return new WireGuard(genl, false, opts.maxMessageBytes);
  }

  /** Reads a device's configuration and peer state (one dump, every part merged). */
  async get(ref: DeviceRef): Promise<WgDevice> {
    const what = `wireguard.get ${deviceText(ref)}`;
    checkRef(ref, what);
    const parts = await this.genl
      // secret: the replies hold the private key; each is zeroed once parsed (the parse copies
      // what it keeps), as is the addon's receive scratch.
      .dump<WgDevicePart>(WG_GENL_NAME, (w, fam) => encodeWgGetDevice(w, fam.id, ref), parseWgDeviceMessage, { what, secret: true })
      .catch((e) => {
        throw notWireGuard(e, ref, what);
      });
    return mergeWgDevice(parts);
  }

  /**
   * Applies a change (WG_CMD_SET_DEVICE): the device settings and peer changes given, nothing
   * else. Split into messages of at most maxMessageBytes, sent in order; the split is not
   * atomic: when message k fails, the ones before it stay applied (the error says which).
   */
  async set(ref: DeviceRef, change: WgDeviceChange, opts: WgSetOptions = {}): Promise<WgSetResult> {
    const what = `wireguard.set ${deviceText(ref)}`;
    const p = new Problems();
    checkDevice(p, 'device', ref);
    const req = validateWgDeviceChange(p, '', change, opts);
    p.throwIfAny(what);
    return this.send(ref, req!, what, opts.maxMessageBytes);
  }

  /**
   * Replaces the whole configuration, as `wg setconf`: every peer is removed and the given ones
   * created (WGDEVICE_F_REPLACE_PEERS), so every session restarts. Use sync() to keep them.
   */
  async configure(ref: DeviceRef, config: WgDeviceConfig, opts: WgSetOptions = {}): Promise<WgSetResult> {
    const what = `wireguard.configure ${deviceText(ref)}`;
    const p = new Problems();
    checkDevice(p, 'device', ref);
    const req = validateWgDeviceConfig(p, '', config, opts);
    p.throwIfAny(what);
    req!.replacePeers = true;
    return this.send(ref, req!, what, opts.maxMessageBytes);
  }

  /**
   * Brings a device to a desired configuration with the minimal change: reads it, plans per
   * peer (planWgDevice), sends only what differs; peers that match are not touched, so their
   * sessions live on. Nothing is sent when nothing differs. Peers not in the configuration are
   * removed unless removeUnlisted is false.
   */
  async sync(ref: DeviceRef, config: WgDeviceConfig, opts: WgSetOptions & WgPlanOptions = {}): Promise<WgSyncResult> {
    const what = `wireguard.sync ${deviceText(ref)}`;
    const p = new Problems();
    checkDevice(p, 'device', ref);
    const desired = validateWgDeviceConfig(p, '', config, opts);
    p.throwIfAny(what);
    const plan = planWgDevice(await this.get(ref), desired!, opts);
    if (plan.empty) return { plan, messages: 0, bytes: [] };
    return { plan, ...(await this.send(ref, plan.request, `${what}: ${describeWgPlan(plan).length} changes`, opts.maxMessageBytes)) };
  }

  /**
   * Adds a peer, or brings an existing one to exactly `peer` (its allowed IPs replaced; the
   * other settings given set), in one request whatever the device's size. Other peers are not touched.
   */
  async setPeer(ref: DeviceRef, peer: WgPeerConfig, opts: WgSetOptions = {}): Promise<WgSetResult> {
    const what = `wireguard.setPeer ${deviceText(ref)}`;
    const p = new Problems();
    checkDevice(p, 'device', ref);
    const req = validateWgDeviceChange(p, '', { peers: [{ ...peer, replaceAllowedIps: true, allowedIps: peer?.allowedIps ?? [] }] }, opts);
    p.throwIfAny(what);
    return this.send(ref, req!, what, opts.maxMessageBytes);
  }

  /** Removes one peer (WGPEER_F_REMOVE_ME); removing a peer that is not there is not an error. */
  async removePeer(ref: DeviceRef, publicKey: PublicKeyInput): Promise<WgSetResult> {
    const what = `wireguard.removePeer ${deviceText(ref)}`;
    const p = new Problems();
    checkDevice(p, 'device', ref);
    const req = validateWgDeviceChange(p, '', { peers: [{ publicKey, remove: true }] });
    p.throwIfAny(what);
    return this.send(ref, req!, what);
  }

  private async send(ref: DeviceRef, req: WgSetRequest, what: string, maxMessageBytes?: number): Promise<WgSetResult> {
    const messages = encodeWgSetMessages(0, ref, req, maxMessageBytes ?? this.maxMessageBytes);
    try {
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i];
        const part =
          messages.length === 1 ? what : `${what} (message ${i + 1} of ${messages.length}${m.firstPeer >= 0 ? `: peers ${m.firstPeer}..${m.lastPeer}` : ''}${i ? '; the earlier ones were applied' : ''})`;
        // secret: the socket's reused buffer is zeroed once sent (it held the keys).
        await this.genl.request(WG_GENL_NAME, (w, fam) => writeWgSetMessage(w, fam.id, m), { what: part, secret: true }).catch((e) => {
          throw notWireGuard(e, ref, part);
        });
      }
      return { messages: messages.length, bytes: messages.map((m) => m.bytes.length) };
    } finally {
      for (const m of messages) m.bytes.fill(0); // they held the keys
    }
  }

  /** Closes the socket (unless it was handed in with WireGuard.on()). */
  close(): void {
    if (this.ownsSocket) this.genl.close();
  }
}

function checkRef(ref: unknown, what: string): void {
  const p = new Problems();
  checkDevice(p, 'device', ref);
  p.throwIfAny(what);
}

/** The kernel says EOPNOTSUPP for a device of another kind: say so. */
function notWireGuard(e: unknown, ref: DeviceRef, what: string): unknown {
  if (e instanceof NetlinkError && e.code === 'EOPNOTSUPP' && !e.message.includes('not a WireGuard device')) {
    return new NetlinkError(e.errno, { message: e.kernelMessage }, what, `${deviceText(ref)} is not a WireGuard device`);
  }
  return e;
}
