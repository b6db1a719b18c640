/**
 * Reading a whole key prefix from etcd in pages, at one revision, so that no response is ever
 * larger than the client accepts (gRPC's default is 4 MiB) and one oversized value does not
 * stop the others from being read.
 *
 * A page is at most `pageSize` keys. When a page is still too big (large values), the page is
 * halved and read again, down to one key; a key whose value alone is too big is listed (its
 * key read without the value) in `tooBig` and passed over. Every page is read at the revision
 * of the first, so the result is one consistent snapshot as a single range read would be.
 */
import type { Etcd3, IKeyValue, IResponseHeader } from 'etcd3';

/** One consistent read of a prefix. */
export interface PrefixSnapshot {
  /** The keys and values, in key order (without the ones in tooBig). */
  kvs: IKeyValue[];
  /** Keys whose value alone exceeds what one response may carry: not read. */
  tooBig: string[];
  /** The header of the first page: the store's revision and cluster id at the read. */
  header: IResponseHeader;
}

/** How readPrefix pages. */
export interface ReadPrefixOptions {
  /** Keys per page at most. Default 256. */
  pageSize?: number;
  /** Read at this revision (default: the current one, fixed by the first page). */
  revision?: string;
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // the prefix is all 0xff: to the end of the key space
}

/** Whether an error says a response was larger than the client accepts. */
export function isResponseTooLarge(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return e.constructor.name === 'GRPCResourceExhastedError' || /RESOURCE_EXHAUSTED|larger than max/i.test(e.message);
}

/** Reads every key under `prefix` in pages (see the module doc). Errors of the store are thrown. */
export async function readPrefix(client: Etcd3, prefix: string, options: ReadPrefixOptions = {}): Promise<PrefixSnapshot> {
  const pageSize = options.pageSize ?? 256;
  const rangeEnd = prefixEnd(Buffer.from(prefix));
  let key = Buffer.from(prefix);
  let revision = options.revision;
  let header: IResponseHeader | undefined;
  let limit = pageSize;
  const kvs: IKeyValue[] = [];
  const tooBig: string[] = [];
  const range = (keysOnly: boolean) =>
    client.kv.range({ key, range_end: rangeEnd, limit, keys_only: keysOnly, ...(revision !== undefined ? { revision } : {}) });
  for (;;) {
    let res;
    try {
      res = await range(false);
    } catch (e) {
      if (!isResponseTooLarge(e)) throw e;
      if (limit > 1) {
        limit = Math.max(1, limit >> 1);
        continue;
      }
      // One value alone is too big: learn its key without the value, and go on after it.
      res = await range(true);
      if (!res.kvs.length) throw e;
      header ??= res.header;
      revision ??= res.header.revision;
      tooBig.push(res.kvs[0].key.toString());
      if (!res.more) break;
      key = Buffer.concat([res.kvs[0].key, Buffer.from([0])]);
      continue;
    }
    header ??= res.header;
    revision ??= res.header.revision;
    kvs.push(...res.kvs);
    if (!res.more || res.kvs.length === 0) break;
    key = Buffer.concat([res.kvs[res.kvs.length - 1].key, Buffer.from([0])]);
    limit = Math.min(pageSize, limit * 2); // big values were local: grow back
  }
  return { kvs, tooBig, header: header! };
}
