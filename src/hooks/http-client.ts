/**
 * One hook request: POST `<app url>/<method>` with the JSON body, signed, within a deadline, over
 * keep-alive connections shared by every request to the same backend (an undici `Agent`: a pool per
 * origin, so a busy gateway does not open a TCP connection per hook). The outcome is classified so
 * that callers can tell an answer from a failure, and users can tell failures apart:
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

/** Answers larger than this are not read (a hook answer is a small JSON object). */
const MAX_ANSWER_BYTES = 1024 * 1024;
const SOCKET_RETRY_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

export interface HookHttpClientOptions {
  /** Keep-alive connections per backend origin. */
  connections: number;
  keepAliveMs: number;
  userAgent?: string;
}

export class HookHttpClient {
  private readonly agent: Agent;
  private readonly userAgent: string;

  constructor(opts: HookHttpClientOptions) {
    this.agent = new Agent({
      connections: opts.connections,
      keepAliveTimeout: opts.keepAliveMs,
      keepAliveMaxTimeout: Math.max(opts.keepAliveMs, 1000),
      pipelining: 1,
    });
    this.userAgent = opts.userAgent ?? 'Portico-hooks';
  }

  /**
   * POSTs `body` to `<target.url>/<method>`. `needJson`: a 2xx must carry a JSON object (or
   * nothing). Never throws. A connection the backend closed while idle is retried once.
   */
  async post(target: HookTarget, method: string, body: string, timeoutMs: number, needJson: boolean): Promise<HookOutcome> {
    const deadline = Date.now() + timeoutMs;
    let outcome = await this.attempt(target, method, body, timeoutMs, needJson);
    if (outcome.kind === 'failed' && outcome.failure === 'unreachable' && SOCKET_RETRY_CODES.has(outcome.detail) && deadline - Date.now() > 5) {
      outcome = await this.attempt(target, method, body, deadline - Date.now(), needJson);
    }
    return outcome;
  }

  close(): Promise<void> {
    return this.agent.close().catch(() => undefined);
  }

  private async attempt(target: HookTarget, method: string, body: string, timeoutMs: number, needJson: boolean): Promise<HookOutcome> {
    const url = new URL(`${target.url.replace(/\/+$/, '')}/${method}`);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.userAgent,
    };
    if (target.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}`;
    else if (target.wcsSecret !== undefined) headers.authorization = wcsAuthorization(target.wcsSecret, body);
    if (target.secret !== undefined) {
      const ts = Math.floor(Date.now() / 1000);
      headers[TIMESTAMP_HEADER] = String(ts);
      headers[SIGNATURE_HEADER] = signBody(target.secret, body, ts);
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const res: Dispatcher.ResponseData = await this.agent.request({
        origin: url.origin,
        path: url.pathname,
        method: 'POST',
        headers,
        body,
        signal: controller.signal,
      });
      const text = await readLimited(res.body);
      const status = res.statusCode;
      if (status >= 200 && status < 300) {
        if (text === undefined) return { kind: 'failed', failure: 'invalid-response', detail: 'answer too large' };
        const json = parseObject(text);
        if (json === undefined) {
          if (needJson) return { kind: 'failed', failure: 'invalid-response', detail: 'invalid JSON' };
          return { kind: 'ok', status, json: {} };
        }
        return { kind: 'ok', status, json };
      }
      const statusText = STATUS_CODES[status] ?? 'Unknown';
      if (status >= 400 && status < 500) {
        const reason = text === undefined ? undefined : reasonOf(text);
        return reason !== undefined ? { kind: 'refused', status, statusText, reason } : { kind: 'refused', status, statusText };
      }
      return { kind: 'failed', failure: 'server-error', detail: `${status} ${statusText}` };
    } catch (err) {
      if (timedOut) return { kind: 'failed', failure: 'timeout', detail: `${timeoutMs} ms` };
      const e = err as { code?: string; cause?: { code?: string }; message?: string };
      return { kind: 'failed', failure: 'unreachable', detail: e.code ?? e.cause?.code ?? e.message ?? 'error' };
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_ANSWER_BYTES) {
      body.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
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
