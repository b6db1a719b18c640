/**
 * Notices that etcd is not the store it was: a different cluster id, or a revision lower than
 * one already seen (an etcd whose data directory was lost and that started empty, or one
 * restored from an old backup). Revisions only grow in one store, and reads are linearizable,
 * so a step back is never normal. What was written before (records, reservations, leases)
 * may be gone, and a watch resumed at the old revision would wait for revisions that the new
 * store reaches only much later: the membership must register again and watch anew.
 */
import type { IResponseHeader } from 'etcd3';

/** Follows the headers of a client's responses. */
export class StoreIdentity {
  private clusterId: string | undefined;
  private revision = 0n;

  /**
   * Takes a response header. Returns why the store is not the one seen before (one sentence),
   * or undefined when it is the same one (or the first header).
   */
  observe(header: IResponseHeader | undefined): string | undefined {
    // etcd's grpc-proxy answers a watch that joins one it already holds with a header it makes
    // up itself: cluster id, member id and raft term 0 ("todo: fill in ClusterId" in its
    // watch_broadcast.go). No etcd has cluster id 0, so such a header says nothing about the store.
    if (!header || String(header.cluster_id) === '0') return undefined;
    let revision: bigint;
    try {
      revision = BigInt(header.revision);
    } catch {
      return undefined;
    }
    const cluster = String(header.cluster_id);
    let change: string | undefined;
    if (this.clusterId !== undefined && cluster !== this.clusterId) change = `etcd's cluster id changed from ${this.clusterId} to ${cluster}`;
    else if (revision < this.revision) change = `etcd's revision went back from ${this.revision} to ${revision}`;
    this.clusterId = cluster;
    this.revision = change ? revision : revision > this.revision ? revision : this.revision;
    return change;
  }

  /** The highest revision seen in this store. */
  get lastRevision(): bigint {
    return this.revision;
  }
}
