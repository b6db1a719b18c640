/**
 * What neighbours and FDB entries share: the struct ndmsg header (both are RTM_*NEIGH messages,
 * told apart by ndm_family: AF_INET/AF_INET6 for neighbours, AF_BRIDGE for FDB entries), and
 * the device resolution step of their batch operations.
 */
import { constants as osConstants } from 'node:os';
import { NetlinkError, NetlinkParseError } from '../wire/errors';
import type { MessageView } from '../wire/reader';
import type { BatchResult } from '../wire/socket';
import type { MessageWriter } from '../wire/writer';
import { defineStruct, field } from '../wire/struct';
import { NDMSG_LEN, RTM_NEWNEIGH } from './constants';
import type { RtnlContext } from './context';
import { Problems, describeValue, own } from '../values/problems';
import type { DeviceRef } from './types';

const ENODEV = osConstants.errno.ENODEV;

/** The fields of struct ndmsg (linux/neighbour.h). */
export interface NdmsgHeader {
  family: number;
  ifindex: number;
  /** NUD_* bits. */
  state: number;
  /** NTF_* bits (8 bits on the wire). */
  flags: number;
  type: number;
}

/** struct ndmsg (linux/neighbour.h); ndm_pad1/ndm_pad2 stay zero, as strict checking insists. */
export const NDMSG = defineStruct('ndmsg', NDMSG_LEN, {
  family: field(0, 'u8'),
  ifindex: field(4, 's32'),
  /** NUD_* bits. */
  state: field(8, 'u16'),
  /** NTF_* bits. */
  flags: field(10, 'u8'),
  type: field(11, 'u8'),
});

/**
 * Reserves and fills a struct ndmsg right after the nlmsghdr (NDMSG's layout; ndm_type and the
 * pads zero). Written byte by byte, not through NDMSG.write(): every neighbour and FDB entry of
 * a 10k batch has one, and the generic writer's zeroing fill() alone cost more than the rest.
 */
export function writeNdmsg(w: MessageWriter, family: number, ifindex: number, state: number, flags: number): void {
  fillNdmsg(w.buf, w.claim(NDMSG_LEN), family, ifindex, state, flags);
}

/** Writes every byte of a struct ndmsg at b[off] (pads and ndm_type zero). */
export function fillNdmsg(b: Buffer, off: number, family: number, ifindex: number, state: number, flags: number): void {
  b[off] = family;
  b[off + 1] = 0;
  b[off + 2] = 0;
  b[off + 3] = 0;
  b.writeInt32LE(ifindex, off + 4);
  b.writeUInt16LE(state, off + 8);
  b[off + 10] = flags;
  b[off + 11] = 0;
}

/** Reads struct ndmsg; throws NetlinkParseError when the message is too short for it. */
export function readNdmsg(m: MessageView): NdmsgHeader {
  if (m.end - m.payload < NDMSG_LEN) {
    throw new NetlinkParseError(`neighbour message of ${m.end - m.payload} bytes, shorter than struct ndmsg`, m.payload);
  }
  return NDMSG.read(m.buf, m.payload, m.end, 'neighbour message');
}

/**
 * Resolves the distinct device names of a batch once each. A name the kernel does not know
 * does not fail the whole batch: its entries get that ENODEV error and the others go ahead.
 */
export async function resolveForBatch(
  ctx: RtnlContext,
  refs: Iterable<DeviceRef>,
  what: string,
): Promise<Map<DeviceRef, number | Error>> {
  const out = new Map<DeviceRef, number | Error>();
  for (const r of refs) {
    if (out.has(r)) continue;
    try {
      out.set(r, await ctx.devices.index(r, what));
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') out.set(r, e);
      else throw e;
    }
  }
  return out;
}

/**
 * The shape of the neighbour and FDB getMany(): check every key (one ValidationError naming every
 * bad key, nothing sent), resolve the devices once, then one request per key, every one sent
 * before any answer is awaited. Each key resolves to its entry, undefined where the kernel has
 * none (ENOENT), or the NetlinkError it gave for that key.
 */
export async function getEach<K extends { dev: DeviceRef }, T>(
  ctx: RtnlContext,
  what: string,
  keys: readonly K[],
  check: (p: Problems, path: string, key: K) => void,
  encode: (w: MessageWriter, key: K, devIndex: number) => void,
  parse: (m: MessageView) => T,
  describe: (key: K) => string,
): Promise<Array<T | undefined | NetlinkError>> {
  const p = new Problems();
  keys.forEach((k, i) => check(p, `[${i}]`, k));
  p.throwIfAny(what);
  const indexes = await resolveForBatch(ctx, keys.map((k) => k.dev), what);
  return Promise.all(
    keys.map(async (k) => {
      const index = indexes.get(k.dev)!;
      if (index instanceof Error) return index as NetlinkError;
      try {
        const replies = await ctx.socket.request((w) => encode(w, k, index), { what: `${describe(k)}${devText(k.dev)}` });
        for (const m of replies) if (m.type === RTM_NEWNEIGH) return parse(m);
        return undefined;
      } catch (e) {
        if (e instanceof NetlinkError) return e.code === 'ENOENT' ? undefined : e;
        throw e;
      }
    }),
  );
}

/** Options of the neighbour and FDB xxxMany() calls. */
export interface ManyOptions {
  /** Every spec already passed validation, as the reconciler's have (skips it; a bad spec then
   * fails alone, with the error encoding it gave). */
  validated?: boolean;
}

/**
 * The shape of every xxxMany(): validate each spec (one ValidationError naming every problem,
 * nothing sent), resolve devices, then one pipelined batch whose BatchResult says, per entry,
 * whether the kernel applied it.
 */
export async function runMany<S extends { dev: DeviceRef }>(
  ctx: RtnlContext,
  what: string,
  specs: readonly S[],
  validate: (p: Problems, path: string, x: unknown) => boolean,
  encode: (w: MessageWriter, spec: S, devIndex: number) => void,
  describe: (spec: S) => string,
  opts: ManyOptions = {},
  quick?: QuickCheck,
): Promise<BatchResult> {
  const p = new Problems();
  if (!Array.isArray(specs)) p.add('', `expected an array of specs, got ${typeof specs}`);
  else if (opts.validated !== true) validateAll(p, specs, validate, quick);
  p.throwIfAny(what);
  const devs = await resolveForBatch(ctx, distinctDevs(specs), what);
  // 10k entries usually name one device: looked up again only when it changes.
  let lastRef: DeviceRef | undefined;
  let lastDev: number | Error = 0;
  return ctx.socket.batch(
    specs.length,
    (i, w) => {
      const ref = specs[i].dev;
      if (ref !== lastRef || lastRef === undefined) {
        lastRef = ref;
        lastDev = devs.get(ref)!;
      }
      const dev = lastDev;
      if (dev instanceof Error) {
        // Each entry gets its own error, naming the entry and the missing device.
        throw new NetlinkError(ENODEV, {}, `${what}: ${describe(specs[i])}`, `no device ${describeValue(specs[i].dev)}`);
      }
      encode(w, specs[i], dev);
    },
    { what, describe: (i) => describe(specs[i]) },
  );
}

/**
 * A cheap check of the common spec shape: true only for a spec the full check accepts too,
 * given the device names (okDevs) the full check accepted before; false means "check fully".
 */
export type QuickCheck = (x: unknown, okDevs: ReadonlySet<string>) => boolean;

/** Validates every spec: the common ones by the quick check, the rest (and the first on each
 * device name) fully. The problems are the full check's, as it would find them alone. */
function validateAll(p: Problems, specs: readonly unknown[], validate: (p: Problems, path: string, x: unknown) => boolean, quick: QuickCheck | undefined): void {
  const okDevs = new Set<string>();
  for (let i = 0; i < specs.length; i++) {
    const s = specs[i];
    if (quick !== undefined && quick(s, okDevs)) continue;
    if (validate(p, `[${i}]`, s) && quick !== undefined && typeof s === 'object' && s !== null) {
      const dev = own(s, 'dev');
      if (typeof dev === 'string') okDevs.add(dev);
    }
  }
}

/** The devices specs name, each once, in the order first named (no array of 10k refs). */
function distinctDevs(specs: readonly { dev: DeviceRef }[]): DeviceRef[] {
  const out: DeviceRef[] = [];
  const seen = new Set<DeviceRef>();
  let last: DeviceRef | undefined;
  for (let i = 0; i < specs.length; i++) {
    const ref = specs[i].dev;
    if (ref === last && i > 0) continue;
    last = ref;
    if (seen.has(ref)) continue;
    seen.add(ref);
    out.push(ref);
  }
  return out;
}

/** " dev NAME" / " dev #3" for messages. */
export function devText(dev: DeviceRef): string {
  return typeof dev === 'number' ? ` dev #${dev}` : ` dev ${dev}`;
}

/** Whether an object given to del() is a read-back object (has an interface index) rather than a spec. */
export function isReadBack<T extends { index: number }>(x: object): x is T {
  return !Object.prototype.hasOwnProperty.call(x, 'dev') && typeof own(x, 'index') === 'number';
}
