/**
 * One hook request: POST `<app url>/<method>` with the JSON body, signed, within a deadline, over
 * keep-alive connections shared by every request to the same backend (undici `Agent`s: a pool per
 * origin, so a busy gateway does not open a TCP connection per hook; one pool for direct requests
 * and one for status events, so events never hold up a request somebody waits for). The outcome is
 * classified so that callers can tell an answer from a failure, and users can tell failures apart:
 *
 * - `ok`: 2xx, with the JSON object it carried (an empty body counts as `{}`);
 * - `refused`: 4xx, with the backend's reason when its body gave one (any JSON with `reason`,
 *   `message`, `info` or `error`, or a short line of text — WCS insists on `{status, reason}`);
 * - `failed`: `unreachable` (connection refused or reset, DNS), `timeout`, `server-error` (5xx or
 *   another status), `invalid-response` (not JSON where JSON was needed), `circuit-open`.
 */
import { STATUS_CODES } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { signBody, SIGNATURE_HEADER, TIMESTAMP_HEADER, wcsAuthorization } from './signing.ts';

export type FailureKind = 'unreachable' | 'timeout' | 'server-error' | 'invalid-response' | 'circuit-open';

export type HookOutcome =
  | { kind: 'ok'; status: number; json: Record<string, unknown> }
  | { kind: 'refused'; status: number; statusText: string; reason?: string }
  | { kind: 'failed'; failure: FailureKind; detail: string };

/** How to reach and authenticate to one app. */
export interface HookTarget {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  secret?: string | undefined;
  wcsSecret?: string | undefined;
}

/**
 * Which connections a request goes over. Direct requests (a caller waits for them) and status
 * events (nobody waits) have separate pools, so a burst of events never queues ahead of a `call`.
 */
export type HookLane = 'direct' | 'event';

/** Answers larger than this are not read (a hook answer is a small JSON object). */
const MAX_ANSWER_BYTES = 1024 * 1024;
const SOCKET_RETRY_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

export interface HookHttpClientOptions {
  /** Keep-alive connections per backend origin for direct requests. */
  connections: number;
  /** Keep-alive connections per backend origin for status events (default: `connections`). */
  eventConnections?: number;
  keepAliveMs: number;
  userAgent?: string;
}

/** What is worked out once per target rather than per request. */
interface Prepared {
  origin: string;
  /** `<base path>/` */
  base: string;
  paths: Map<string, string>;
  basic: string | undefined;
}

export class HookHttpClient {
  private readonly direct: Agent;
  private readonly events: Agent;
  private readonly userAgent: string;
  private readonly prepared = new WeakMap<HookTarget, Prepared>();

  constructor(opts: HookHttpClientOptions) {
    const agent = (connections: number) =>
      new Agent({
        connections,
        keepAliveTimeout: opts.keepAliveMs,
        keepAliveMaxTimeout: Math.max(opts.keepAliveMs, 1000),
        // One request at a time per connection: an answer never waits behind another request's.
        pipelining: 1,
      });
    this.direct = agent(opts.connections);
    this.events = agent(opts.eventConnections ?? opts.connections);
    this.userAgent = opts.userAgent ?? 'Portico-hooks';
  }

  /**
   * POSTs `body` to `<target.url>/<method>`. `needJson`: a 2xx must carry a JSON object (or
   * nothing). Never throws. A connection the backend closed while idle is retried once.
   */
  async post(target: HookTarget, method: string, body: string, timeoutMs: number, needJson: boolean, lane: HookLane = 'direct'): Promise<HookOutcome> {
    const deadline = Date.now() + timeoutMs;
    let outcome = await this.attempt(target, method, body, timeoutMs, needJson, lane);
    if (outcome.kind === 'failed' && outcome.failure === 'unreachable' && SOCKET_RETRY_CODES.has(outcome.detail) && deadline - Date.now() > 5) {
      outcome = await this.attempt(target, method, body, deadline - Date.now(), needJson, lane);
    }
    return outcome;
  }

  close(): Promise<void> {
    return Promise.all([this.direct.close(), this.events.close()]).then(
      () => undefined,
      () => undefined,
    );
  }

  private prepare(target: HookTarget): Prepared {
    let p = this.prepared.get(target);
    if (!p) {
      const url = new URL(`${target.url.replace(/\/+$/, '')}/`);
      p = {
        origin: url.origin,
        base: url.pathname,
        paths: new Map(),
        basic: target.username !== undefined ? `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}` : undefined,
      };
      this.prepared.set(target, p);
    }
    return p;
  }

  private attempt(target: HookTarget, method: string, body: string, timeoutMs: number, needJson: boolean, lane: HookLane): Promise<HookOutcome> {
    const p = this.prepare(target);
    let path = p.paths.get(method);
    if (path === undefined) p.paths.set(method, (path = `${p.base}${method}`));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.userAgent,
    };
    if (p.basic !== undefined) headers.authorization = p.basic;
    else if (target.wcsSecret !== undefined) headers.authorization = wcsAuthorization(target.wcsSecret, body);
    if (target.secret !== undefined) {
      const ts = Math.floor(Date.now() / 1000);
      headers[TIMESTAMP_HEADER] = String(ts);
      headers[SIGNATURE_HEADER] = signBody(target.secret, body, ts);
    }
    return new Promise<HookOutcome>((resolve) => {
      const exchange = new Exchange(resolve, timeoutMs, needJson);
      (lane === 'event' ? this.events : this.direct).dispatch({ origin: p.origin, path, method: 'POST', headers, body }, exchange);
    });
  }
}

/**
 * One request's answer, read straight from the dispatcher (no stream, no abort signal): the
 * status, the body up to `MAX_ANSWER_BYTES`, and the deadline, which aborts the request wherever
 * it is (still waiting for a connection, or sent).
 */
class Exchange implements Dispatcher.DispatchHandler {
  private readonly resolve: (outcome: HookOutcome) => void;
  private readonly needJson: boolean;
  private readonly timeoutMs: number;
  private readonly timer: NodeJS.Timeout;
  private controller: Dispatcher.DispatchController | undefined;
  private done = false;
  private status = 0;
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(resolve: (outcome: HookOutcome) => void, timeoutMs: number, needJson: boolean) {
    this.resolve = resolve;
    this.needJson = needJson;
    this.timeoutMs = timeoutMs;
    this.timer = setTimeout(() => this.finish({ kind: 'failed', failure: 'timeout', detail: `${timeoutMs} ms` }, true), timeoutMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Timed out while waiting for a connection: it need not be sent at all.
    if (this.done) controller.abort(new Error(`timed out (${this.timeoutMs} ms)`));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done || (!this.needJson && this.status >= 200 && this.status < 300)) return;
    this.size += chunk.length;
    if (this.size > MAX_ANSWER_BYTES) {
      this.finish(this.classify(undefined), true);
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.done) return;
    const text = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    this.finish(this.classify(text), false);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.done) return;
    const e = err as { code?: string; cause?: { code?: string }; message?: string };
    this.finish({ kind: 'failed', failure: 'unreachable', detail: e.code ?? e.cause?.code ?? e.message ?? 'error' }, false);
  }

  private classify(text: string | undefined): HookOutcome {
    const status = this.status;
    if (status >= 200 && status < 300) {
      // Nobody reads an answer that need not be JSON (a status event's): it is not parsed either.
      if (!this.needJson) return { kind: 'ok', status, json: {} };
      if (text === undefined) return { kind: 'failed', failure: 'invalid-response', detail: 'answer too large' };
      const json = parseObject(text);
      return json === undefined ? { kind: 'failed', failure: 'invalid-response', detail: 'invalid JSON' } : { kind: 'ok', status, json };
    }
    const statusText = STATUS_CODES[status] ?? 'Unknown';
    if (status >= 400 && status < 500) {
      const reason = text === undefined ? undefined : reasonOf(text);
      return reason !== undefined ? { kind: 'refused', status, statusText, reason } : { kind: 'refused', status, statusText };
    }
    return { kind: 'failed', failure: 'server-error', detail: `${status} ${statusText}` };
  }

  /** `abort`: the request is still under way (timed out, answer too large) and no longer wanted. */
  private finish(outcome: HookOutcome, abort: boolean): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.chunks = [];
    if (abort && this.controller && !this.controller.aborted) this.controller.abort(new Error(outcome.kind === 'failed' ? outcome.detail : 'aborted'));
    this.resolve(outcome);
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The backend's reason for a refusal: from any JSON error body, or a short line of text. */
export function reasonOf(text: string): string | undefined {
  const json = parseObject(text);
  if (json) {
    for (const key of ['reason', 'message', 'info', 'error']) {
      const v = json[key];
      if (typeof v === 'string' && v.trim() !== '') return v.trim().slice(0, 200);
    }
    return undefined;
  }
  const line = text.trim();
  return line !== '' && line.length <= 200 && !line.includes('\n') && !line.startsWith('<') ? line : undefined;
}

/** The `info` text of an outcome: "hook connect unreachable (ECONNREFUSED)", "... timed out (300 ms)", "... refused (403 Forbidden): reason". */
export function describeOutcome(method: string, outcome: Exclude<HookOutcome, { kind: 'ok' }>): string {
  if (outcome.kind === 'refused') return `hook ${method} refused (${outcome.status} ${outcome.statusText})${outcome.reason ? `: ${outcome.reason}` : ''}`;
  switch (outcome.failure) {
    case 'unreachable':
      return `hook ${method} unreachable (${outcome.detail})`;
    case 'timeout':
      return `hook ${method} timed out (${outcome.detail})`;
    case 'server-error':
      return `hook ${method} failed (${outcome.detail})`;
    case 'invalid-response':
      return `hook ${method} failed (${outcome.detail})`;
    case 'circuit-open':
      return `hook ${method} unreachable (${outcome.detail})`;
  }
}
