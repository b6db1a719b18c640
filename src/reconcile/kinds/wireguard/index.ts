/**
 * The wireguard kind: a WireGuard device's configuration (private key, listen port, fwmark,
 * peers with their allowed IPs, endpoints, keepalive and preshared keys), read and set over
 * generic netlink, compared peer by peer (genl/wireguard/plan.ts). Only what differs is sent:
 * a peer that matches is never in a request, so its session (handshake) lives on while others
 * change; the whole device is never re-set (WGDEVICE_F_REPLACE_PEERS is never used).
 *
 * Ownership is the device's: on a device this reconciler owns (its alias; or one it creates in
 * this apply) every setting given and the complete peer set are kept, and peers not desired are
 * removed. A device another owner holds is left alone (a conflict). A WireGuard device nobody
 * desires as a link (not owned) is a conflict when its configuration differs, unless
 * adoptConflicts: then the desired settings and peers are set ("adopt"), and peers not
 * desired are still left there, since they are not this reconciler's.
 *
 * The kernel sends no event when a WireGuard configuration changes: the watch sees a device
 * appear, go or change through link events, and someone else's change to its peers at the next
 * resync (WatchOptions.resyncIntervalMs).
 */
import { WireGuard } from '../../../genl/wireguard/device';
import { planWgDevice, type WgDeviceField, type WgPeerPlan } from '../../../genl/wireguard/plan';
import type { WgDevice, WgPeerChange, WgDeviceChange } from '../../../genl/wireguard/types';
import { validateWgDeviceConfig, type WgSetRequest } from '../../../genl/wireguard/validate';
import type { Rtnl } from '../../../rtnl/rtnl';
import { checkIfName } from '../../../values/names';
import { isObject, type Problems } from '../../../values/problems';
import type { KindContext, KindModule, LinkView, Outcome, PrepareContext } from '../../engine/kind';
import { one } from '../../engine/outcome';
import type { WireGuardConflict, WireGuardOp, WireGuardPeerOp } from './types';

/** One desired device configuration, validated. */
export interface PreparedWireGuardDevice {
  /** The device. */
  readonly dev: string;
  /** Where it is in the desired state ("wireguard[0]"). */
  readonly path: string;
  /** The configuration, normalized (key objects, parsed endpoints and prefixes). */
  readonly request: WgSetRequest;
}

/** The desired device configurations, in the order given. */
export interface PreparedWireGuard {
  readonly list: readonly PreparedWireGuardDevice[];
}

/** How one desired device was found. */
export type ObservedWireGuard =
  /** Read back (owned: this reconciler's; adopted: not, configured anyway). */
  | { state: 'device'; device: WgDevice; owned: boolean; adopt: boolean }
  /** Created (or recreated) in this apply: it starts with nothing. */
  | { state: 'new' }
  /** Left alone, with why. */
  | { state: 'conflict'; reason: string; device?: WgDevice };

/** Validates the desired configurations: device names, each device once, every WireGuard field. */
function prepareWireGuard(p: Problems, given: readonly unknown[], ctx: PrepareContext): PreparedWireGuard {
  const list: PreparedWireGuardDevice[] = [];
  const seen = new Map<string, string>();
  given.forEach((spec, i) => {
    const path = `wireguard[${i}]`;
    if (!isObject(spec)) return p.add(path, 'expected a WireGuard device configuration object with a dev');
    const { dev, ...config } = spec;
    if (!checkIfName(p, `${path}.dev`, dev)) return;
    const request = validateWgDeviceConfig(p, path, config);
    const had = seen.get(dev);
    if (had) return p.add(`${path}.dev`, `the configuration of ${dev} is already desired at ${had}`);
    seen.set(dev, path);
    ctx.references.push({ path: `${path}.dev`, dev });
    if (request) list.push({ dev, path, request });
  });
  return { list };
}

/**
 * A WireGuard handle on the Rtnl's generic netlink socket (opened once, kept with the handle):
 * its requests count in ApplyResult.requests and the agent's metrics like rtnetlink's.
 */
async function openWireGuard(nl: Rtnl): Promise<WireGuard> {
  if (nl.openOptions.kernel !== undefined) throw new Error('wireguard: a WireGuard configuration needs a real kernel (generic netlink); this Rtnl works on an in-memory kernel');
  return WireGuard.on(nl.genl());
}

/** How a desired device stands, and what to read of it. */
function standing(d: PreparedWireGuardDevice, view: LinkView): ObservedWireGuard | 'read' | 'read-unowned' {
  const status = view.status(d.dev);
  if (status === 'foreign') {
    const i = view.index(d.dev);
    return { state: 'conflict', reason: `${d.dev} is held by another owner${i !== undefined && view.foreign.get(i) ? ` (${view.foreign.get(i)})` : ''}` };
  }
  if (status === 'pending' || status === 'vanishing') return { state: 'new' };
  const link = view.byName.get(d.dev);
  if (link && link.kind !== 'wireguard') return { state: 'conflict', reason: `${d.dev} is a ${link.kind ?? 'plain'} device, not a WireGuard device` };
  return status === 'owned' ? 'read' : 'read-unowned';
}

/** Reads every desired device that exists and may be configured; one socket for the lot. */
async function observeWireGuard(nl: Rtnl, desired: PreparedWireGuard, view: LinkView, ctx: KindContext): Promise<ObservedWireGuard[]> {
  if (desired.list.length === 0) return [];
  const found = desired.list.map((d) => standing(d, view));
  if (found.every((f) => typeof f !== 'string')) return found as ObservedWireGuard[];
  const wg = await openWireGuard(nl);
  try {
    const out: ObservedWireGuard[] = [];
    for (let i = 0; i < found.length; i++) {
      const f = found[i];
      if (typeof f !== 'string') {
        out.push(f);
        continue;
      }
      const device = await wg.get(desired.list[i].dev);
      out.push({ state: 'device', device, owned: f === 'read', adopt: f === 'read-unowned' && ctx.adoptConflicts });
    }
    return out;
  } finally {
    wg.close();
  }
}

const EMPTY_DEVICE = (dev: string): WgDevice => ({ ifindex: 0, name: dev, listenPort: 0, fwmark: 0, peers: [], unknown: [] });

/** The reason of a device op: which settings, never a key. */
function deviceReason(fields: WgDeviceField[], req: WgSetRequest, current: WgDevice | undefined): string {
  return fields
    .map((f) => {
      if (f === 'privateKey') return current?.privateKey ? 'privateKey changes' : 'privateKey set';
      const now = f === 'listenPort' ? current?.listenPort : current?.fwmark;
      return `${f} ${current ? now : '(new)'} -> ${req[f]}`;
    })
    .join(', ');
}

/** The reason of a peer op: what differs, never a secret. */
function peerReason(p: WgPeerPlan, current: WgDevice | undefined): string {
  if (p.action === 'remove') return 'not desired';
  if (p.action === 'add') return p.fields.length ? `missing (${p.fields.join(', ')})` : 'missing';
  const was = current?.peers.find((x) => x.publicKey.equals(p.publicKey));
  return p.fields
    .map((f) => {
      if (f === 'presharedKey') return p.change.presharedKey ? 'presharedKey changes' : 'presharedKey removed';
      if (f === 'endpoint') return `endpoint ${was?.endpoint ?? '(none)'} -> ${p.change.endpoint?.text}`;
      if (f === 'persistentKeepalive') return `persistentKeepalive ${was?.persistentKeepalive ?? 0} -> ${p.change.persistentKeepalive}`;
      return `allowedIps ${was?.allowedIps.join(',') || '(none)'} -> ${p.change.allowedIps.map((a) => a.text).join(',') || '(none)'}`;
    })
    .join(', ');
}

/** Desired against found: one op for the device's settings, one per peer that differs. */
function diffWireGuard(desired: PreparedWireGuard, observed: ObservedWireGuard[]): { ops: WireGuardOp[]; conflicts: WireGuardConflict[] } {
  const ops: WireGuardOp[] = [];
  const conflicts: WireGuardConflict[] = [];
  desired.list.forEach((d, i) => {
    const o = observed[i];
    const conflict = (reason: string) => conflicts.push({ kind: 'wireguard', key: d.dev, reason, dev: d.dev, peers: d.request.peers.length });
    if (o.state === 'conflict') return void conflict(o.reason);
    const current = o.state === 'device' ? o.device : undefined;
    // Peers not desired go only from a device this reconciler owns (or creates now).
    const owned = o.state === 'new' || o.owned;
    const plan = planWgDevice(current ?? EMPTY_DEVICE(d.dev), d.request, { removeUnlisted: owned });
    if (plan.empty) return;
    if (o.state === 'device' && !o.owned && !o.adopt) {
      return void conflict(`${d.dev} is not this reconciler's and its configuration differs (${plan.device.length + plan.peers.length} changes); give adoptConflicts to configure it`);
    }
    const adopt = o.state === 'device' && o.adopt ? { adopt: true } : {};
    if (plan.device.length) {
      const r = plan.request;
      const change = { ...(r.privateKey ? { privateKey: r.privateKey } : {}), ...(r.listenPort !== undefined ? { listenPort: r.listenPort } : {}), ...(r.fwmark !== undefined ? { fwmark: r.fwmark } : {}) };
      ops.push({ kind: 'wireguard', target: 'device', action: current ? 'update' : 'create', key: d.dev, reason: deviceReason(plan.device, r, current), dev: d.dev, fields: plan.device, change, ...adopt });
    }
    for (const p of plan.peers) {
      const actual = current?.peers.find((x) => x.publicKey.equals(p.publicKey));
      ops.push({
        kind: 'wireguard',
        target: 'peer',
        action: p.action === 'add' ? 'create' : p.action === 'remove' ? 'delete' : 'update',
        key: `${d.dev} peer ${p.publicKey.toBase64()}`,
        reason: peerReason(p, current),
        dev: d.dev,
        publicKey: p.publicKey,
        fields: p.fields,
        change: p.change,
        ...(actual ? { actual: { publicKey: actual.publicKey, endpoint: actual.endpoint, allowedIps: actual.allowedIps, persistentKeepalive: actual.persistentKeepalive, lastHandshake: actual.lastHandshake } } : {}),
        ...adopt,
      });
    }
  });
  return { ops, conflicts };
}

/** An op as a part of WireGuard.set()'s input (keys stay objects). */
function changeOf(ops: readonly WireGuardOp[]): WgDeviceChange {
  const change: WgDeviceChange = { peers: [] };
  for (const op of ops) {
    if (op.target === 'device') Object.assign(change, op.change);
    else change.peers!.push(peerChange(op));
  }
  return change;
}

function peerChange(op: WireGuardPeerOp): WgPeerChange {
  const c = op.change;
  if (c.remove) return { publicKey: c.publicKey, remove: true };
  return {
    publicKey: c.publicKey,
    ...(c.replaceAllowedIps ? { replaceAllowedIps: true } : {}),
    ...(c.presharedKey !== undefined ? { presharedKey: c.presharedKey } : {}),
    ...(c.endpoint ? { endpoint: c.endpoint.text } : {}),
    ...(c.persistentKeepalive !== undefined ? { persistentKeepalive: c.persistentKeepalive } : {}),
    allowedIps: c.allowedIps.map((a) => a.text),
  };
}

/**
 * Sends one stage's ops, device by device: each device's ops as one change (split over as many
 * messages as the kernel needs; one message for a small one). When it fails, the ops are sent
 * again one by one, so each op's outcome is its own; sending a part again is harmless (a peer
 * added again with the same settings, a removal of a peer that is gone, are no-ops).
 */
async function applyWireGuard(nl: Rtnl, ops: readonly WireGuardOp[], out: Outcome<WireGuardOp>): Promise<void> {
  const byDev = new Map<string, WireGuardOp[]>();
  for (const op of ops) {
    const list = byDev.get(op.dev);
    if (list) list.push(op);
    else byDev.set(op.dev, [op]);
  }
  let wg: WireGuard;
  try {
    wg = await openWireGuard(nl);
  } catch (e) {
    for (const op of ops) out.failed.push({ op, error: e instanceof Error ? e : new Error(String(e)) });
    return;
  }
  try {
    for (const [dev, list] of byDev) {
      try {
        await wg.set(dev, changeOf(list));
        for (const op of list) out.applied.push(op);
      } catch (e) {
        if (list.length === 1) out.failed.push({ op: list[0], error: e instanceof Error ? e : new Error(String(e)) });
        else for (const op of list) await one(op, out, () => wg.set(dev, changeOf([op])));
      }
    }
  } finally {
    wg.close();
  }
}

/** The types the wireguard kind works with. */
export interface WireGuardTypes {
  kind: 'wireguard';
  field: 'wireguard';
  prepared: PreparedWireGuard;
  observed: ObservedWireGuard[];
  op: WireGuardOp;
  conflict: WireGuardConflict;
  event: 'link';
}

/**
 * WireGuard configurations: after the links (the device must exist), before addresses and
 * routes; peers that go are removed late, after the new ones took their allowed IPs (a node's
 * new key is added before its old one goes, so its pods stay routed).
 */
export const wireguardKind: KindModule<WireGuardTypes> = {
  kind: 'wireguard',
  field: 'wireguard',
  stages: { create: 15, update: 15, recreate: 15, delete: 85 },
  // No WireGuard events exist: the device's link events (its references) trigger re-reads.
  event: 'link',
  prepare: prepareWireGuard,
  observe: observeWireGuard,
  diff: (desired, observed) => diffWireGuard(desired, observed),
  async apply(nl, ops, _ctx, out) {
    await applyWireGuard(nl, ops, out);
  },
  relevant: () => false,
  count: (desired) => desired.list.length,
};

export type { WireGuardConflict, WireGuardDeviceOp, WireGuardOp, WireGuardPeerOp, WireGuardSpec } from './types';
