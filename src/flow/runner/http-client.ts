import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * A small HTTP/1.1 client over raw sockets. It writes the bytes a template rendered exactly as
 * they are (so negative tests can send malformed requests) and parses the answer itself, so a
 * server that answers garbage, closes mid-response or never answers becomes a typed error, never a
 * crash. Idle connections are kept per origin and reused (keep-alive, RFC 9112 §9.3).
 */

export interface HttpResponse {
  version: string;
  status: number;
  reason: string;
  /** Header lines in wire order, names as received. */
  headers: [string, string][];
  body: Buffer;
}

export type HttpErrorCode = 'FLOW_ERR_HTTP_TIMEOUT' | 'FLOW_ERR_HTTP_CONNECT' | 'FLOW_ERR_HTTP_CLOSED' | 'FLOW_ERR_HTTP_BAD_RESPONSE' | 'FLOW_ERR_HTTP_ABORTED';

export class HttpClientError extends Error {
  constructor(readonly code: HttpErrorCode, message: string) {
    super(message);
    this.name = 'HttpClientError';
  }
}

export interface Origin {
  host: string;
  port: number;
  tls: boolean;
}

export function originOf(url: URL): Origin {
  const tls = url.protocol === 'https:' || url.protocol === 'wss:';
  const port = url.port ? Number(url.port) : tls ? 443 : 80;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, tls };
}

const MAX_HEAD = 64 * 1024;
const MAX_BODY = 16 * 1024 * 1024;

export interface RequestOptions {
  /** The request method, so a HEAD answer is read without a body (RFC 9112 §6.3). */
  method: string;
  timeoutMs: number;
  /** Ask the pool not to reuse this connection afterwards. */
  close?: boolean;
}

interface Pending {
  resolve: (r: HttpResponse) => void;
  reject: (e: HttpClientError) => void;
  timer: NodeJS.Timeout;
  method: string;
  gotBytes: boolean;
  reused: boolean;
}

/** One keep-alive connection; at most one request in flight. */
class HttpConnection {
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  closed = false;
  connected = false;

  constructor(readonly key: string, readonly socket: Socket, private readonly onIdleClose: (c: HttpConnection) => void) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(this.connected ? 'FLOW_ERR_HTTP_CLOSED' : 'FLOW_ERR_HTTP_CONNECT', err.code ?? err.message));
    socket.on('close', () => this.onClose());
  }

  send(bytes: Buffer, opts: RequestOptions, reused: boolean): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail('FLOW_ERR_HTTP_TIMEOUT', `no complete response within ${opts.timeoutMs} ms`);
      }, opts.timeoutMs);
      this.pending = { resolve, reject, timer, method: opts.method.toUpperCase(), gotBytes: false, reused };
      this.buf = Buffer.alloc(0);
      this.socket.write(bytes);
    });
  }

  abort(): void {
    this.fail('FLOW_ERR_HTTP_ABORTED', 'aborted');
  }

  private onData(chunk: Buffer): void {
    const p = this.pending;
    if (!p) {
      // Bytes nobody asked for: the connection is out of step, drop it.
      this.destroy();
      return;
    }
    p.gotBytes = true;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.tryParse(false);
  }

  private onClose(): void {
    const wasClosed = this.closed;
    this.closed = true;
    const p = this.pending;
    if (p) {
      // A response delimited by the end of the connection is complete now (RFC 9112 §6.3 item 8).
      if (p.gotBytes && this.tryParse(true)) return;
      // tryParse may already have failed the request (bad bytes); then there is nothing left to do.
      if (this.pending === p) this.fail('FLOW_ERR_HTTP_CLOSED', p.gotBytes ? 'connection closed mid-response' : 'connection closed before any response');
    } else if (!wasClosed) this.onIdleClose(this);
  }

  /** Returns true when a response was delivered. */
  private tryParse(atEof: boolean): boolean {
    const p = this.pending!;
    let parsed: ReturnType<typeof parseResponse>;
    try {
      parsed = parseResponse(this.buf, p.method, atEof);
    } catch (err) {
      this.fail('FLOW_ERR_HTTP_BAD_RESPONSE', (err as Error).message);
      return false;
    }
    if (!parsed) return false;
    if (parsed.interim) {
      // 1xx informational answers are skipped; the final one follows (RFC 9110 §15.2).
      this.buf = this.buf.subarray(parsed.consumed);
      return this.buf.length > 0 ? this.tryParse(atEof) : false;
    }
    clearTimeout(p.timer);
    this.pending = undefined;
    const res = parsed.response;
    const leftover = this.buf.length > parsed.consumed;
    this.buf = Buffer.alloc(0);
    const keep = !leftover && !atEof && !parsed.untilClose && keepAlive(res);
    if (!keep) this.destroy();
    p.resolve(res);
    return true;
  }

  private fail(code: HttpErrorCode, message: string): void {
    const p = this.pending;
    this.pending = undefined;
    this.destroy();
    if (p) {
      clearTimeout(p.timer);
      p.reject(Object.assign(new HttpClientError(code, message), { retryable: p.reused && !p.gotBytes && code === 'FLOW_ERR_HTTP_CLOSED' }));
    }
  }

  get idle(): boolean {
    return !this.pending && !this.closed;
  }

  destroy(): void {
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
    }
  }
}

function keepAlive(res: HttpResponse): boolean {
  const conn = headerValue(res.headers, 'connection')?.toLowerCase() ?? '';
  if (/\bclose\b/.test(conn)) return false;
  if (res.version === 'HTTP/1.0') return /\bkeep-alive\b/.test(conn);
  return true;
}

export function headerValue(headers: [string, string][], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.length === lower.length && n.toLowerCase() === lower) return v;
  return undefined;
}

export function headerValues(headers: [string, string][], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/**
 * Parses one response from the front of `buf`. Returns undefined when more bytes are needed,
 * throws on bytes that are not HTTP/1.x.
 */
export function parseResponse(buf: Buffer, method: string, atEof: boolean):
  | { interim: true; consumed: number }
  | { interim: false; response: HttpResponse; consumed: number; untilClose: boolean }
  | undefined {
  // Status lines start with "HTTP/"; anything else is not a response.
  const probe = Math.min(buf.length, 5);
  if (buf.subarray(0, probe).toString('latin1') !== 'HTTP/'.slice(0, probe)) throw new Error('response does not start with HTTP/');
  let headEnd = buf.indexOf('\r\n\r\n');
  let sepLen = 4;
  if (headEnd < 0) {
    const lf = buf.indexOf('\n\n');
    if (lf >= 0) { headEnd = lf; sepLen = 2; }
  }
  if (headEnd < 0) {
    if (buf.length > MAX_HEAD) throw new Error('response head too large');
    if (atEof) throw new Error('connection closed inside the response head');
    return undefined;
  }
  const lines = buf.subarray(0, headEnd).toString('latin1').split(/\r?\n/);
  const m = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const status = Number(m[2]);
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const c = line.indexOf(':');
    if (c <= 0) throw new Error(`bad header line: ${JSON.stringify(line.slice(0, 80))}`);
    headers.push([line.slice(0, c).trim(), line.slice(c + 1).trim()]);
  }
  const bodyStart = headEnd + sepLen;
  const base = { version: m[1]!, status, reason: m[3] ?? '', headers };
  if (status >= 100 && status < 200 && status !== 101) return { interim: true, consumed: bodyStart };
  // RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304.
  if (method === 'HEAD' || status === 204 || status === 304 || status === 101) {
    return { interim: false, response: { ...base, body: Buffer.alloc(0) }, consumed: bodyStart, untilClose: false };
  }
  const te = headerValue(headers, 'transfer-encoding');
  if (te && /chunked\s*$/i.test(te)) {
    const r = parseChunked(buf, bodyStart);
    if (!r) {
      if (atEof) throw new Error('connection closed inside a chunked body');
      return undefined;
    }
    return { interim: false, response: { ...base, body: r.body }, consumed: r.end, untilClose: false };
  }
  const cl = headerValue(headers, 'content-length');
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) throw new Error(`bad Content-Length: ${cl}`);
    const n = Number(cl);
    if (n > MAX_BODY) throw new Error('response body too large');
    if (buf.length - bodyStart < n) {
      if (atEof) throw new Error(`connection closed after ${buf.length - bodyStart} of ${n} body bytes`);
      return undefined;
    }
    return { interim: false, response: { ...base, body: buf.subarray(bodyStart, bodyStart + n) }, consumed: bodyStart + n, untilClose: false };
  }
  // No length: the body runs to the end of the connection.
  if (!atEof) {
    if (buf.length - bodyStart > MAX_BODY) throw new Error('response body too large');
    return undefined;
  }
  return { interim: false, response: { ...base, body: buf.subarray(bodyStart) }, consumed: buf.length, untilClose: true };
}

function parseChunked(buf: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const sizeText = buf.subarray(at, eol).toString('latin1').split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`bad chunk size: ${JSON.stringify(sizeText.slice(0, 20))}`);
    const size = parseInt(sizeText, 16);
    if (size === 0) {
      // Skip trailer fields up to the empty line.
      const end = buf.indexOf('\r\n\r\n', eol);
      if (end < 0) return buf.length >= eol + 4 && buf.subarray(eol, eol + 4).toString() === '\r\n\r\n' ? { body: Buffer.concat(parts), end: eol + 4 } : undefined;
      return { body: Buffer.concat(parts), end: end + 4 };
    }
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

export interface HttpPoolOptions {
  /** Idle connections kept per origin. */
  maxIdlePerOrigin?: number;
  connectTimeoutMs?: number;
}

/** Keep-alive connections per origin, shared by all emulated clients of a run. */
export class HttpPool {
  private readonly idle = new Map<string, HttpConnection[]>();
  private readonly active = new Set<HttpConnection>();
  private readonly maxIdle: number;
  private closed = false;

  constructor(opts: HttpPoolOptions = {}) {
    this.maxIdle = opts.maxIdlePerOrigin ?? 1024;
  }

  async request(origin: Origin, bytes: Buffer, opts: RequestOptions): Promise<HttpResponse> {
    if (this.closed) throw new HttpClientError('FLOW_ERR_HTTP_ABORTED', 'client pool closed');
    const key = `${origin.tls ? 's' : ''}${origin.host}:${origin.port}`;
    for (let attempt = 0; ; attempt++) {
      const reused = this.takeIdle(key);
      const conn = reused ?? (await this.open(key, origin, opts.timeoutMs));
      if (this.closed) {
        conn.destroy();
        throw new HttpClientError('FLOW_ERR_HTTP_ABORTED', 'client pool closed');
      }
      this.active.add(conn);
      try {
        const res = await conn.send(bytes, opts, reused !== undefined);
        this.active.delete(conn);
        if (opts.close) conn.destroy();
        else this.release(key, conn);
        return res;
      } catch (err) {
        this.active.delete(conn);
        // A kept-alive connection the server had already closed: try once on a fresh one.
        if (attempt === 0 && (err as { retryable?: boolean }).retryable) continue;
        throw err;
      }
    }
  }

  private takeIdle(key: string): HttpConnection | undefined {
    const list = this.idle.get(key);
    while (list && list.length) {
      const c = list.pop()!;
      if (c.idle) return c;
    }
    return undefined;
  }

  private release(key: string, conn: HttpConnection): void {
    if (!conn.idle || this.closed) {
      conn.destroy();
      return;
    }
    let list = this.idle.get(key);
    if (!list) this.idle.set(key, (list = []));
    if (list.length >= this.maxIdle) conn.destroy();
    else list.push(conn);
  }

  private open(key: string, origin: Origin, timeoutMs: number): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = origin.tls
        ? tlsConnect({ host: origin.host, port: origin.port, servername: origin.host, rejectUnauthorized: false })
        : netConnect({ host: origin.host, port: origin.port });
      const conn = new HttpConnection(key, socket, (c) => this.dropIdle(c));
      this.active.add(conn);
      const timer = setTimeout(() => {
        cleanup();
        conn.destroy();
        reject(new HttpClientError('FLOW_ERR_HTTP_TIMEOUT', `connect to ${origin.host}:${origin.port} timed out`));
      }, timeoutMs);
      const onErr = (err: NodeJS.ErrnoException): void => {
        cleanup();
        reject(new HttpClientError('FLOW_ERR_HTTP_CONNECT', `connect to ${origin.host}:${origin.port}: ${err.code ?? err.message}`));
      };
      const onConnect = (): void => {
        cleanup();
        conn.connected = true;
        resolve(conn);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.active.delete(conn);
        socket.off('error', onErr);
        socket.off(origin.tls ? 'secureConnect' : 'connect', onConnect);
      };
      socket.once('error', onErr);
      socket.once(origin.tls ? 'secureConnect' : 'connect', onConnect);
    });
  }

  private dropIdle(c: HttpConnection): void {
    const list = this.idle.get(c.key);
    if (!list) return;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
  }

  /** Aborts in-flight requests and closes every connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.active) c.abort();
    this.active.clear();
    for (const list of this.idle.values()) for (const c of list) c.destroy();
    this.idle.clear();
  }
}
