/**
 * Membership -> OverlayAgent: every node list a membership source reports goes to
 * agent.setNodes, one call at a time and always with the newest list (lists that arrive while
 * a call runs collapse into one). A failed call is retried with backoff with whatever list is
 * newest by then; the kernel keeps its last state meanwhile.
 */
import { EventEmitter } from 'eventemitter3';
import type { OverlayNode } from '../overlay/modes';
import { toOverlayNodes, type Membership, type NodeRecord } from './types';
import { sameItems } from '../values/list';

/**
 * toOverlayNodes, keeping one OverlayNode per unchanged record: a membership lists the same
 * record objects again for the nodes that did not change (5,000 of them for one changed
 * record), and the agent then finds the same node objects, whose checks and specs it keeps
 * (overlay/modes), instead of 5,000 new ones per change. A record whose fields differ from
 * what its node was made from (changed in place) gets a new node.
 */
export class OverlayNodes {
  private readonly made = new WeakMap<NodeRecord, OverlayNode>();

  of(records: NodeRecord[]): OverlayNode[] {
    const out: OverlayNode[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      let node = this.made.get(r);
      if (node === undefined || !madeFrom(node, r)) this.made.set(r, (node = toOverlayNodes([r])[0]));
      out[i] = node;
    }
    return out;
  }
}

/** Whether toOverlayNodes would make this node of the record as it is now (it leaves out empty optional fields). */
function madeFrom(n: OverlayNode, r: NodeRecord): boolean {
  return (
    n.name === r.name &&
    n.nodeIP === r.nodeIP &&
    n.podCIDR === r.podCIDR &&
    sameItems(n.nodeIPs, r.nodeIPs) &&
    sameItems(n.podCIDRs, r.podCIDRs) &&
    n.vtepMac === (r.vtepMac || undefined) &&
    n.vtepMac6 === (r.vtepMac6 || undefined) &&
    n.wireguard === (r.wireguard || undefined) &&
    n.linkLocal6 === (r.linkLocal6 || undefined)
  );
}

/** Anything that takes node lists (OverlayAgent does). */
export interface NodeSink {
  /** Takes the complete node list (this host included). */
  setNodes(nodes: OverlayNode[]): Promise<unknown>;
}

/** Retry pacing of a MembershipFeed. */
export interface FeedOptions {
  /** Retry delays after a failed setNodes: first, doubled up to the max. Default 200 ms / 10 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** What a MembershipFeed reports. */
export interface FeedEvents {
  /** setNodes finished for this list. */
  fed: (nodes: NodeRecord[]) => void;
  /** setNodes failed; it is retried. */
  error: (error: Error, retryInMs: number) => void;
}

/**
 * Feeds a membership's node lists to an agent until stop(). If the membership already has a
 * list (start() resolved before), that list is fed at once.
 */
export class MembershipFeed extends EventEmitter<FeedEvents> {
  private latest: NodeRecord[] | undefined;
  private busy: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoff = 0;
  private stopped = false;
  private readonly onNodes = (nodes: NodeRecord[]) => this.offer(nodes);
  private readonly overlayNodes = new OverlayNodes();

  constructor(
    private readonly membership: Membership,
    private readonly sink: NodeSink,
    private readonly options: FeedOptions = {},
  ) {
    super();
    membership.on('nodes', this.onNodes);
    const now = membership.nodes();
    if (now.length) this.offer(now);
  }

  private offer(nodes: NodeRecord[]): void {
    if (this.stopped) return;
    this.latest = nodes;
    if (!this.busy && !this.timer) this.busy = this.pump();
  }

  private async pump(): Promise<void> {
    while (this.latest && !this.stopped) {
      const nodes = this.latest;
      this.latest = undefined;
      try {
        await this.sink.setNodes(this.overlayNodes.of(nodes));
        this.backoff = 0;
        this.emit('fed', nodes);
      } catch (e) {
        const min = this.options.minBackoffMs ?? 200;
        this.backoff = this.backoff ? Math.min(this.backoff * 2, this.options.maxBackoffMs ?? 10000) : min;
        if (!this.latest) this.latest = nodes;
        this.emit('error', e instanceof Error ? e : new Error(String(e)), this.backoff);
        if (this.stopped) break;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (!this.busy) this.busy = this.pump();
        }, this.backoff);
        break;
      }
    }
    this.busy = undefined;
  }

  /** Resolves when no setNodes call is running (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.busy) await this.busy;
  }

  /** Stops feeding; waits for a running setNodes call to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.membership.off('nodes', this.onNodes);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.idle();
  }
}
