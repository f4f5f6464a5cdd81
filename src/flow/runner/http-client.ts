import { isIP, connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
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
const EMPTY = Buffer.alloc(0);
const MAX_TIMER_MS = 2 ** 31 - 1;
const STATUS_LINE = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/;

export interface RequestOptions {
  /** The request method, so a HEAD answer is read without a body (RFC 9112 §6.3). */
  method: string;
  timeoutMs: number;
  /** Ask the pool not to reuse this connection afterwards. */
  close?: boolean;
}

/** One request on its way: it moves to a fresh connection when a kept-alive one turns out closed. */
interface Pending {
  resolve: (r: HttpResponse) => void;
  reject: (e: HttpClientError) => void;
  bytes: Buffer;
  method: string;
  timeoutMs: number;
  close: boolean;
  origin: Origin;
  key: string;
  gotBytes: boolean;
  reused: boolean;
  attempt: number;
}

/**
 * One keep-alive connection; at most one request in flight. The response deadline is checked by one
 * timer per connection that is re-armed only when it fires early or a shorter deadline comes, so a
 * request costs no timer of its own.
 */
class HttpConnection {
  private buf: Buffer = EMPTY;
  private pending: Pending | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private deadline = 0;
  closed = false;
  connected = false;

  constructor(readonly key: string, readonly socket: Socket, private readonly pool: HttpPool) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(this.connected ? 'FLOW_ERR_HTTP_CLOSED' : 'FLOW_ERR_HTTP_CONNECT', err.code ?? err.message));
    socket.on('close', () => this.onClose());
  }

  start(p: Pending): void {
    this.pending = p;
    p.gotBytes = false;
    this.buf = EMPTY;
    const now = performance.now();
    this.deadline = now + p.timeoutMs;
    if (this.timer === undefined || this.deadline < this.timerDue) this.arm(now, p.timeoutMs);
    this.socket.write(p.bytes);
  }

  private arm(now: number, ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    // Whole milliseconds (one timer list per duration), within what setTimeout can wait; a longer
    // deadline is simply re-armed when the timer fires.
    const whole = Math.min(Math.max(1, Math.ceil(ms)), MAX_TIMER_MS);
    this.timerDue = now + whole;
    this.timer = setTimeout(this.onTimer, whole);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const p = this.pending;
    if (!p || this.closed) return;
    const now = performance.now();
    if (this.deadline > now) this.arm(now, this.deadline - now);
    else this.fail('FLOW_ERR_HTTP_TIMEOUT', `no complete response within ${p.timeoutMs} ms`);
  };

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
    this.stopTimer();
    this.pool.forget(this);
    const p = this.pending;
    if (p) {
      // A response delimited by the end of the connection is complete now (RFC 9112 §6.3 item 8).
      if (p.gotBytes && this.tryParse(true)) return;
      // tryParse may already have failed the request (bad bytes); then there is nothing left to do.
      if (this.pending === p) this.fail('FLOW_ERR_HTTP_CLOSED', p.gotBytes ? 'connection closed mid-response' : 'connection closed before any response');
    } else if (!wasClosed) this.pool.dropIdle(this);
  }

  /** Returns true when a response was delivered. */
  private tryParse(atEof: boolean): boolean {
    const p = this.pending!;
    let parsed: Parsed | undefined;
    try {
      parsed = parseAt(this.buf, p.method, atEof);
    } catch (err) {
      this.fail('FLOW_ERR_HTTP_BAD_RESPONSE', (err as Error).message);
      return false;
    }
    if (!parsed) return false;
    if (parsed.response === undefined) {
      // 1xx informational answers are skipped; the final one follows (RFC 9110 §15.2).
      this.buf = this.buf.subarray(parsed.consumed);
      return this.buf.length > 0 ? this.tryParse(atEof) : false;
    }
    this.pending = undefined;
    const res = parsed.response;
    const leftover = this.buf.length > parsed.consumed;
    this.buf = EMPTY;
    const keep = !leftover && !atEof && !parsed.untilClose && keepAlive(res.version, parsed.connection);
    if (!keep || p.close) this.destroy();
    else this.pool.release(this);
    p.resolve(res);
    return true;
  }

  private fail(code: HttpErrorCode, message: string): void {
    const p = this.pending;
    this.pending = undefined;
    this.destroy();
    if (!p) return;
    const retryable = p.reused && !p.gotBytes && code === 'FLOW_ERR_HTTP_CLOSED';
    // A kept-alive connection the server had already closed: try once on a fresh one.
    if (retryable && p.attempt === 0) {
      p.attempt = 1;
      this.pool.dispatch(p);
      return;
    }
    p.reject(Object.assign(new HttpClientError(code, message), { retryable }));
  }

  get idle(): boolean {
    return !this.pending && !this.closed;
  }

  private stopTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  destroy(): void {
    this.stopTimer();
    if (!this.closed) {
      this.closed = true;
      this.socket.destroy();
    }
  }
}

/** RFC 9112 §9.3: HTTP/1.1 stays open unless told `close`; HTTP/1.0 only when told `keep-alive`. */
function keepAlive(version: string, connection: string | undefined): boolean {
  if (connection === undefined) return version !== 'HTTP/1.0';
  const conn = connection.toLowerCase();
  if (conn === 'keep-alive') return true;
  if (/\bclose\b/.test(conn)) return false;
  if (version === 'HTTP/1.0') return /\bkeep-alive\b/.test(conn);
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

/** What the connection needs from a parse: a final response (or none for a 1xx) and how it ends. */
interface Parsed {
  response: HttpResponse | undefined;
  consumed: number;
  untilClose: boolean;
  /** The first Connection header's value. */
  connection: string | undefined;
}

/**
 * Parses one response from the front of `buf`. Returns undefined when more bytes are needed,
 * throws on bytes that are not HTTP/1.x.
 */
export function parseResponse(buf: Buffer, method: string, atEof: boolean):
  | { interim: true; consumed: number }
  | { interim: false; response: HttpResponse; consumed: number; untilClose: boolean }
  | undefined {
  const r = parseAt(buf, method, atEof);
  if (!r) return undefined;
  if (r.response === undefined) return { interim: true, consumed: r.consumed };
  return { interim: false, response: r.response, consumed: r.consumed, untilClose: r.untilClose };
}

// "HTTP/" as bytes: status lines start with it; anything else is not a response.
const H = 0x48, T = 0x54, P = 0x50, SLASH = 0x2f;

function parseAt(buf: Buffer, method: string, atEof: boolean): Parsed | undefined {
  const len = buf.length;
  if ((len > 0 && buf[0] !== H) || (len > 1 && buf[1] !== T) || (len > 2 && buf[2] !== T) || (len > 3 && buf[3] !== P) || (len > 4 && buf[4] !== SLASH)) {
    throw new Error('response does not start with HTTP/');
  }
  let headEnd = buf.indexOf('\r\n\r\n');
  let sepLen = 4;
  if (headEnd < 0) {
    const lf = buf.indexOf('\n\n');
    if (lf >= 0) { headEnd = lf; sepLen = 2; }
  }
  if (headEnd < 0) {
    if (len > MAX_HEAD) throw new Error('response head too large');
    if (atEof) throw new Error('connection closed inside the response head');
    return undefined;
  }
  // Lines end in CRLF or a bare LF (RFC 9112 §2.2); a CR elsewhere stays part of its line.
  const text = buf.toString('latin1', 0, headEnd);
  let nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl > 0 && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl);
  const m = STATUS_LINE.exec(first);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(first.slice(0, 80))}`);
  const status = Number(m[2]);
  const headers: [string, string][] = [];
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connection: string | undefined;
  while (nl >= 0) {
    const from = nl + 1;
    nl = text.indexOf('\n', from);
    const line = nl < 0 ? text.slice(from) : text.slice(from, nl > from && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl);
    const c = line.indexOf(':');
    if (c <= 0) throw new Error(`bad header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, c).trim();
    const value = line.slice(c + 1).trim();
    headers.push([name, value]);
    // The headers that frame the message, first occurrence wins (as headerValue reads them).
    switch (name.length) {
      case 14: if (contentLength === undefined && name.toLowerCase() === 'content-length') contentLength = value; break;
      case 17: if (transferEncoding === undefined && name.toLowerCase() === 'transfer-encoding') transferEncoding = value; break;
      case 10: if (connection === undefined && name.toLowerCase() === 'connection') connection = value; break;
    }
  }
  const bodyStart = headEnd + sepLen;
  if (status >= 100 && status < 200 && status !== 101) return { response: undefined, consumed: bodyStart, untilClose: false, connection };
  const version = m[1]!;
  const reason = m[3] ?? '';
  // RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304.
  if (method === 'HEAD' || status === 204 || status === 304 || status === 101) {
    return { response: { version, status, reason, headers, body: EMPTY }, consumed: bodyStart, untilClose: false, connection };
  }
  if (transferEncoding && /chunked\s*$/i.test(transferEncoding)) {
    const r = parseChunked(buf, bodyStart);
    if (!r) {
      if (atEof) throw new Error('connection closed inside a chunked body');
      return undefined;
    }
    return { response: { version, status, reason, headers, body: r.body }, consumed: r.end, untilClose: false, connection };
  }
  if (contentLength !== undefined) {
    if (!/^\d+$/.test(contentLength)) throw new Error(`bad Content-Length: ${contentLength}`);
    const n = Number(contentLength);
    if (n > MAX_BODY) throw new Error('response body too large');
    if (len - bodyStart < n) {
      if (atEof) throw new Error(`connection closed after ${len - bodyStart} of ${n} body bytes`);
      return undefined;
    }
    return { response: { version, status, reason, headers, body: buf.subarray(bodyStart, bodyStart + n) }, consumed: bodyStart + n, untilClose: false, connection };
  }
  // No length: the body runs to the end of the connection.
  if (!atEof) {
    if (len - bodyStart > MAX_BODY) throw new Error('response body too large');
    return undefined;
  }
  return { response: { version, status, reason, headers, body: buf.subarray(bodyStart) }, consumed: len, untilClose: true, connection };
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

const originKeys = new WeakMap<Origin, string>();

function keyOf(origin: Origin): string {
  let key = originKeys.get(origin);
  if (key === undefined) originKeys.set(origin, (key = `${origin.tls ? 's' : ''}${origin.host}:${origin.port}`));
  return key;
}

/** Keep-alive connections per origin, shared by all emulated clients of a run. */
export class HttpPool {
  private readonly idle = new Map<string, HttpConnection[]>();
  /** Every connection not yet closed, connecting, busy or idle. */
  private readonly open = new Set<HttpConnection>();
  private readonly maxIdle: number;
  private closed = false;

  constructor(opts: HttpPoolOptions = {}) {
    this.maxIdle = opts.maxIdlePerOrigin ?? 1024;
  }

  request(origin: Origin, bytes: Buffer, opts: RequestOptions): Promise<HttpResponse> {
    if (this.closed) return Promise.reject(new HttpClientError('FLOW_ERR_HTTP_ABORTED', 'client pool closed'));
    return new Promise((resolve, reject) => {
      this.dispatch({
        resolve,
        reject,
        bytes,
        method: opts.method.toUpperCase(),
        timeoutMs: opts.timeoutMs,
        close: opts.close === true,
        origin,
        key: keyOf(origin),
        gotBytes: false,
        reused: false,
        attempt: 0,
      });
    });
  }

  /** Puts a request on an idle connection of its origin, or on a new one. */
  dispatch(p: Pending): void {
    if (this.closed) {
      p.reject(new HttpClientError('FLOW_ERR_HTTP_ABORTED', 'client pool closed'));
      return;
    }
    const idle = this.takeIdle(p.key);
    if (idle) {
      p.reused = true;
      idle.start(p);
      return;
    }
    p.reused = false;
    this.connect(p.key, p.origin, p.timeoutMs).then((conn) => {
      if (this.closed) {
        conn.destroy();
        p.reject(new HttpClientError('FLOW_ERR_HTTP_ABORTED', 'client pool closed'));
      } else conn.start(p);
    }, p.reject);
  }

  private takeIdle(key: string): HttpConnection | undefined {
    const list = this.idle.get(key);
    while (list && list.length) {
      const c = list.pop()!;
      if (c.idle) return c;
    }
    return undefined;
  }

  /** A connection whose response is complete and that may carry another request. */
  release(conn: HttpConnection): void {
    if (!conn.idle || this.closed) {
      conn.destroy();
      return;
    }
    let list = this.idle.get(conn.key);
    if (!list) this.idle.set(conn.key, (list = []));
    if (list.length >= this.maxIdle) conn.destroy();
    else list.push(conn);
  }

  private connect(key: string, origin: Origin, timeoutMs: number): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      // No server name for an address literal (RFC 6066 §3).
      const socket = origin.tls
        ? tlsConnect({ host: origin.host, port: origin.port, servername: isIP(origin.host) ? undefined : origin.host, rejectUnauthorized: false })
        : netConnect({ host: origin.host, port: origin.port });
      const conn = new HttpConnection(key, socket, this);
      this.open.add(conn);
      const timer = setTimeout(() => {
        cleanup();
        conn.destroy();
        reject(new HttpClientError('FLOW_ERR_HTTP_TIMEOUT', `connect to ${origin.host}:${origin.port} timed out`));
      }, Math.min(timeoutMs, MAX_TIMER_MS));
      const onErr = (err: NodeJS.ErrnoException): void => {
        cleanup();
        reject(new HttpClientError('FLOW_ERR_HTTP_CONNECT', `connect to ${origin.host}:${origin.port}: ${err.code ?? err.message}`));
      };
      // Closed without an error: the pool closed while connecting.
      const onClose = (): void => {
        cleanup();
        reject(new HttpClientError('FLOW_ERR_HTTP_ABORTED', 'client pool closed'));
      };
      const onConnect = (): void => {
        cleanup();
        conn.connected = true;
        resolve(conn);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off('error', onErr);
        socket.off('close', onClose);
        socket.off(origin.tls ? 'secureConnect' : 'connect', onConnect);
      };
      socket.once('error', onErr);
      socket.once('close', onClose);
      socket.once(origin.tls ? 'secureConnect' : 'connect', onConnect);
    });
  }

  /** A connection that closed: it can neither be aborted nor reused any more. */
  forget(c: HttpConnection): void {
    this.open.delete(c);
  }

  dropIdle(c: HttpConnection): void {
    const list = this.idle.get(c.key);
    if (!list) return;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
  }

  /** Aborts in-flight requests and closes every connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.open]) c.abort();
    this.open.clear();
    this.idle.clear();
  }
}
