/**
 * Membership from a JSON file, for hosts without a store: `[{name, nodeIP, podCIDR, ...}, ...]`
 * or `{"nodes": [...]}`. The file is re-read when it changes (inotify on its directory, so that
 * editors that replace the file are seen, plus a stat poll as a fallback). A file that cannot
 * be read or parsed later on leaves the last node list in force and is reported.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { Problems, ValidationError } from '../values/problems';
import { parsePrefix } from '../values/address';
import {
  MAX_RECORD_BYTES,
  checkProtectedPrefixes,
  type ScreenOptions,
  screenNodes,
  ScreenedChanges,
  validateNodeRecord,
  type CandidateRecord,
  type Membership,
  type MembershipEvents,
  type NodeRecord,
} from './types';

/** The file StaticMembership follows and this host's place in it. */
export interface StaticMembershipOptions {
  /** The JSON file of node records. */
  file: string;
  /** This host: its name (its record must be in the file) or its full record. */
  self: string | NodeRecord;
  /** When set, records whose podCIDR (of its family) lies outside it are skipped. */
  clusterCIDR?: string;
  /** Dual stack: the cluster's pod ranges, at most one per family; each binds its family. */
  clusterCIDRs?: string[];
  /** Prefixes no peer's podCIDR may overlap (this host's underlay subnets). */
  protectedPrefixes?: string[];
  /** Wait this long after a change for more before re-reading. Default 100 ms. */
  debounceMs?: number;
  /** Stat the file this often as a fallback to change notifications. Default 2000 ms. */
  pollIntervalMs?: number;
}

/** The most a node file may hold: it is read whole. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Membership from a file.
 *
 * ```ts
 * const m = new StaticMembership({ file: '/etc/netlink-agent/nodes.json', self: 'host1' });
 * const me = await m.start();
 * m.on('nodes', (nodes) => agent.setNodes(nodes));
 * ```
 * start() rejects when the file cannot be read, is not JSON, or lacks a valid record of this
 * host (ValidationError); later problems are reported through 'status' and 'error'.
 */
export class StaticMembership extends EventEmitter<MembershipEvents> implements Membership {
  private readonly o: Required<Omit<StaticMembershipOptions, 'clusterCIDR' | 'clusterCIDRs' | 'protectedPrefixes'>> & Pick<StaticMembershipOptions, 'clusterCIDR'>;
  private readonly screen: ScreenOptions;
  private list: NodeRecord[] = [];
  private readonly changes = new ScreenedChanges({
    warning: (w) => this.emit('warning', w),
    skipped: (sk) => this.emit('skipped', sk),
    nodes: (nodes) => {
      this.list = nodes;
      this.emit('nodes', nodes);
    },
  });
  private record: NodeRecord | undefined;
  private watcher: fs.FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private stamp = '';
  private healthy: boolean | undefined;
  private lastError = '';
  private started = false;

  /** Throws ValidationError for bad options. */
  constructor(options: StaticMembershipOptions) {
    super();
    const p = new Problems();
    if (typeof options.file !== 'string' || !options.file) p.add('file', 'give the path of the node file');
    if (typeof options.self !== 'string' && (options.self === null || typeof options.self !== 'object')) p.add('self', 'give this host\'s name or record');
    if (options.clusterCIDR !== undefined) parsePrefix(p, 'clusterCIDR', options.clusterCIDR, 'reject');
    if (options.clusterCIDRs !== undefined) {
      if (!Array.isArray(options.clusterCIDRs)) p.add('clusterCIDRs', 'expected an array of prefixes');
      else options.clusterCIDRs.forEach((c, i) => parsePrefix(p, `clusterCIDRs[${i}]`, c, 'reject'));
    }
    checkProtectedPrefixes(p, options.protectedPrefixes);
    for (const k of ['debounceMs', 'pollIntervalMs'] as const) {
      const v = options[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 3600000)) p.add(k, 'must be an integer 0..3600000');
    }
    p.throwIfAny('invalid static membership options');
    this.o = {
      file: path.resolve(options.file),
      self: options.self,
      clusterCIDR: options.clusterCIDR,
      debounceMs: options.debounceMs ?? 100,
      pollIntervalMs: options.pollIntervalMs ?? 2000,
    };
    this.screen = {
      ...(options.clusterCIDR !== undefined ? { clusterCIDR: options.clusterCIDR } : {}),
      ...(Array.isArray(options.clusterCIDRs) ? { clusterCIDRs: [...options.clusterCIDRs] } : {}),
      protectedPrefixes: [...(options.protectedPrefixes ?? [])],
    };
  }

  /** The last node list (this host included), sorted by name. */
  nodes(): NodeRecord[] {
    return this.list;
  }

  /** This host's record, once start() resolved. */
  self(): NodeRecord | undefined {
    return this.record;
  }

  /** Reads the file (rejecting when it is unusable) and starts following it. */
  async start(): Promise<NodeRecord> {
    if (this.started) throw new Error('StaticMembership: already started');
    this.load(true);
    this.started = true;
    this.healthy = true;
    this.emit('status', { state: 'connected' });
    const dir = path.dirname(this.o.file);
    const base = path.basename(this.o.file);
    try {
      this.watcher = fs.watch(dir, { persistent: true }, (_event, name) => {
        if (name === null || name === base) this.changed();
      });
      this.watcher.on('error', () => undefined); // the poll below still sees changes
    } catch {
      this.watcher = undefined;
    }
    if (this.o.pollIntervalMs > 0) this.poll = setInterval(() => this.changed(true), this.o.pollIntervalMs);
    return this.record!;
  }

  private fileStamp(): string {
    try {
      const st = fs.statSync(this.o.file);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (e) {
      return `error:${(e as NodeJS.ErrnoException).code ?? ''}`;
    }
  }

  private changed(fromPoll = false): void {
    if (!this.started) return;
    if (fromPoll && this.fileStamp() === this.stamp) {
      if (this.healthy) this.emit('read', {}); // checked: unchanged, still in sync
      return;
    }
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      try {
        this.load(false);
        this.lastError = '';
        if (this.healthy !== true) {
          this.healthy = true;
          this.emit('status', { state: 'connected' });
        }
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        if (this.healthy !== false) {
          this.healthy = false;
          this.emit('status', { state: 'disconnected', error: err, retryInMs: this.o.pollIntervalMs });
        }
        if (err.message !== this.lastError) this.emit('error', err);
        this.lastError = err.message;
      }
    }, this.o.debounceMs);
  }

  /** Reads, validates and (on change) emits. Throws when the file is unusable as a whole. */
  private load(first: boolean): void {
    this.stamp = this.fileStamp();
    const st = fs.statSync(this.o.file);
    if (st.size > MAX_FILE_BYTES) throw new Error(`${this.o.file}: ${st.size} bytes, more than ${MAX_FILE_BYTES}`);
    const text = fs.readFileSync(this.o.file, 'utf8');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new ValidationError([{ path: this.o.file, message: `not JSON (${(e as Error).message})` }], 'invalid node file');
    }
    const list = Array.isArray(doc) ? doc : doc !== null && typeof doc === 'object' ? (doc as { nodes?: unknown }).nodes : undefined;
    if (!Array.isArray(list)) throw new ValidationError([{ path: this.o.file, message: 'expected an array of node records or {"nodes": [...]}' }], 'invalid node file');
    const self = this.resolveSelf(list);
    if (!first && this.record && self.name !== this.record.name) throw new Error('this host\'s name cannot change');
    this.record = self;
    const candidates: CandidateRecord[] = list.map((value, i) => {
      const source = `${this.o.file}#${i}`;
      const size = JSON.stringify(value)?.length ?? 0;
      return size > MAX_RECORD_BYTES ? { source, value: undefined, error: `record is ${size} bytes, more than ${MAX_RECORD_BYTES}` } : { source, value };
    });
    const result = screenNodes(self, candidates, this.screen);
    this.changes.publish(result);
    this.emit('read', {});
  }

  private resolveSelf(list: unknown[]): NodeRecord {
    if (typeof this.o.self !== 'string') return validateNodeRecord(this.o.self, 'self');
    const name = this.o.self;
    const i = list.findIndex((r) => r !== null && typeof r === 'object' && (r as { name?: unknown }).name === name);
    if (i < 0) throw new ValidationError([{ path: this.o.file, message: `no record of this host ("${name}")` }], 'invalid node file');
    return validateNodeRecord(list[i], `${this.o.file}#${i}`);
  }

  /** Reads the file again now (e.g. on SIGHUP). */
  resync(): void {
    this.changed();
  }

  /** Stops following the file. The kernel is not touched. */
  async stop(): Promise<void> {
    this.started = false;
    this.watcher?.close();
    this.watcher = undefined;
    for (const t of [this.poll, this.debounce]) if (t) clearTimeout(t);
    if (this.poll) clearInterval(this.poll);
    this.poll = this.debounce = undefined;
  }
}
