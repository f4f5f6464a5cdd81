import type { FailureReason, LadderEntry, SampleLadder } from './report-types.ts';

/**
 * Keeps a bounded sample of client transcripts for ladder diagrams: the first flow of each of the
 * first `clients` clients, and the first `failedFlows` flows that failed (from any client).
 *
 * Whether a flow fails is only known when it ends, so transcripts are buffered while flows run; to
 * bound memory the buffer holds at most `maxBufferedClients` clients at a time and
 * `maxEntriesPerTranscript` entries each. Once the failed quota is full, only the first clients
 * are still buffered.
 */
export interface LadderSamplerOptions {
  /** Default 20. */
  clients?: number;
  /** Default 5. */
  failedFlows?: number;
  /** Default 200. */
  maxEntriesPerTranscript?: number;
  /** Default 1000. */
  maxBufferedClients?: number;
}

interface Buffer {
  entries: LadderEntry[];
  truncated: boolean;
}

export class LadderSampler {
  private readonly clients: number;
  private readonly failedFlows: number;
  private readonly maxEntries: number;
  private readonly maxBuffered: number;
  private readonly buffers = new Map<number, Buffer>();
  /** The first `clients` client ids seen. */
  private readonly firstClients = new Set<number>();
  private readonly keptClients = new Set<number>();
  private readonly failed: SampleLadder[] = [];
  private readonly others: SampleLadder[] = [];

  constructor(opts: LadderSamplerOptions = {}) {
    this.clients = opts.clients ?? 20;
    this.failedFlows = opts.failedFlows ?? 5;
    this.maxEntries = opts.maxEntriesPerTranscript ?? 200;
    this.maxBuffered = opts.maxBufferedClients ?? 1000;
  }

  /** Notes a client; the first `clients` ones are always sampled. */
  clientSeen(clientId: number): void {
    if (this.firstClients.size < this.clients && !this.firstClients.has(clientId)) this.firstClients.add(clientId);
  }

  /** True when entries for this client would be kept: a runner may skip building them otherwise. */
  wants(clientId: number): boolean {
    if (this.buffers.has(clientId)) return true;
    this.clientSeen(clientId);
    if (this.firstClients.has(clientId) && !this.keptClients.has(clientId)) return true;
    return this.failed.length < this.failedFlows && this.buffers.size < this.maxBuffered;
  }

  add(clientId: number, entry: LadderEntry): void {
    let buf = this.buffers.get(clientId);
    if (!buf) {
      if (!this.wants(clientId)) return;
      buf = { entries: [], truncated: false };
      this.buffers.set(clientId, buf);
    }
    if (buf.entries.length >= this.maxEntries) {
      buf.truncated = true;
      return;
    }
    // A copy: the runner may reuse its objects.
    const e: LadderEntry = { at: entry.at, from: entry.from, to: entry.to, label: entry.label };
    if (entry.detail !== undefined) e.detail = entry.detail;
    if (entry.failed) e.failed = true;
    buf.entries.push(e);
  }

  /** A flow ended: keep its transcript if it is a wanted sample, and start afresh for the client's next flow. */
  flowEnded(clientId: number, flow: string, ok: boolean, reason: FailureReason | undefined, durationMs: number): void {
    const buf = this.buffers.get(clientId);
    if (!buf) return;
    this.buffers.delete(clientId);
    const sample: SampleLadder = { clientId, flow, ok, durationMs, entries: buf.entries, truncated: buf.truncated };
    if (reason !== undefined) sample.reason = reason;
    this.keep(sample);
  }

  /** A client ended: a transcript of an unfinished flow is kept only for the first clients. */
  clientEnded(clientId: number): void {
    const buf = this.buffers.get(clientId);
    if (!buf) return;
    this.buffers.delete(clientId);
    if (this.firstClients.has(clientId) && !this.keptClients.has(clientId) && buf.entries.length > 0) {
      this.keptClients.add(clientId);
      this.others.push({ clientId, flow: '', ok: false, entries: buf.entries, truncated: buf.truncated });
    }
  }

  /** Failed flows first (in the order they failed), then the first clients' flows. */
  samples(): SampleLadder[] {
    const pending: SampleLadder[] = [];
    for (const [clientId, buf] of this.buffers) {
      if (this.firstClients.has(clientId) && !this.keptClients.has(clientId) && buf.entries.length > 0) {
        pending.push({ clientId, flow: '', ok: false, entries: buf.entries.slice(), truncated: buf.truncated });
      }
    }
    return [...this.failed, ...this.others, ...pending];
  }

  /** Number of clients whose transcripts are buffered right now. */
  get buffered(): number {
    return this.buffers.size;
  }

  private keep(sample: SampleLadder): void {
    const first = this.firstClients.has(sample.clientId) && !this.keptClients.has(sample.clientId);
    if (!sample.ok && this.failed.length < this.failedFlows) {
      this.failed.push(sample);
      if (first) this.keptClients.add(sample.clientId);
    } else if (first) {
      this.keptClients.add(sample.clientId);
      this.others.push(sample);
    }
  }
}
