/**
 * EchoApp: a REST hook backend for Portico (and Web Call Server), in TypeScript with nothing but
 * Node's own modules. Every hook is a POST of a JSON body to `<base path>/<method>`; by default the
 * app answers 200 with the body it received, which lets every request through unchanged.
 *
 * Two things a real backend does are shown with settings:
 * - `credentials`: SIP credentials kept server-side and injected at `connect` (the browser never
 *   sees them). The answer to `connect` opts in with `restClientConfig.connect = {restPolicy:
 *   "OVERWRITE", restOverwrite: "sipPassword,..."}` and carries the values.
 * - `callees`: callee rewriting (click-to-call): `restClientConfig.call = {restPolicy: "OVERWRITE",
 *   restOverwrite: "callee"}`, and the answer to `call` carries the real callee.
 *
 * `refuse` lists methods answered 403 with a reason. With `control: true` the app also takes
 * `POST /control` (per method: status, delay, reason, invalid JSON — to try a gateway's failure
 * handling) and keeps what it received, listed at `GET /received` (without `control` nothing is
 * kept: `received` stays empty).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoAppOptions {
  /** HMAC-SHA256 key: requests must carry Portico's signature headers (403 otherwise). */
  secret?: string;
  /** WCS's key: requests must carry `Authorization: WCS <hex HMAC-MD5 of the body>`. */
  wcsSecret?: string;
  /** SIP credentials to inject at `connect`, by the `sipLogin` the client sent. */
  credentials?: Record<string, { sipLogin?: string; sipPassword: string; sipAuthenticationName?: string; sipDomain?: string }>;
  /** Callee rewriting: what the client dialled → where the call goes. */
  callees?: Record<string, string>;
  /** Methods refused with 403 and this reason. */
  refuse?: Record<string, string>;
  /** Enables `POST /control` and `GET /received`. */
  control?: boolean;
  /** How far a signature's timestamp may be from now (s). */
  toleranceSec?: number;
}

/** A behaviour set through `POST /control`, for one method or `*`. */
export interface Behaviour {
  method: string;
  status?: number;
  delayMs?: number;
  reason?: string;
  invalidJson?: boolean;
}

export interface Received {
  method: string;
  body: Record<string, unknown>;
  at: number;
}

export class EchoApp {
  readonly received: Received[] = [];
  private readonly opts: EchoAppOptions;
  private readonly server: Server;
  private readonly behaviours = new Map<string, Behaviour>();

  constructor(opts: EchoAppOptions = {}) {
    this.opts = opts;
    this.server = createServer((req, res) => {
      this.onRequest(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  }

  listen(port = 0, host = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const a = this.server.address() as AddressInfo;
        resolve(`http://${host}:${a.port}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    if (this.opts.control && path === '/control' && req.method === 'POST') {
      const b = JSON.parse(text || '{}') as Behaviour | { reset: true };
      if ('reset' in b) this.behaviours.clear();
      else this.behaviours.set(b.method, b);
      return json(res, 200, { ok: true });
    }
    if (this.opts.control && path === '/received') {
      if (req.method === 'DELETE') this.received.length = 0;
      return json(res, 200, this.received);
    }
    if (req.method !== 'POST') return json(res, 405, { reason: 'hooks are POSTed' });
    const method = path.slice(path.lastIndexOf('/') + 1);
    if (!this.authentic(req, text)) return json(res, 403, { status: 403, reason: 'Bad signature' });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return json(res, 400, { reason: 'Body is not JSON' });
    }
    // Kept only for `GET /received`: a backend answering thousands of hooks a second must not hoard them.
    if (this.opts.control) this.received.push({ method, body, at: Date.now() });

    const b = this.behaviours.get(method) ?? this.behaviours.get('*');
    if (b?.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
    if (b?.invalidJson) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return void res.end('{"this is": not json');
    }
    if (b?.status && b.status !== 200) return json(res, b.status, b.reason ? { status: b.status, reason: b.reason } : {});
    const refusal = this.opts.refuse?.[method];
    if (refusal !== undefined) return json(res, 403, { status: 403, reason: refusal });
    // Only `connect` and `call` may change the answer; any other echo is the text received.
    if (method !== 'connect' && method !== 'call') return send(res, 200, text);
    json(res, 200, this.answer(method, body));
  }

  /** The echo, with the opt-ins for credential injection and callee rewriting. */
  private answer(method: string, body: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { ...body };
    if (method === 'connect') {
      const restClientConfig: Record<string, unknown> = {};
      const creds = this.opts.credentials?.[String(body.sipLogin ?? '')];
      if (creds) {
        Object.assign(out, creds);
        restClientConfig.connect = { restPolicy: 'OVERWRITE', restOverwrite: Object.keys(creds).join(',') };
      }
      if (this.opts.callees && Object.keys(this.opts.callees).length > 0) restClientConfig.call = { restPolicy: 'OVERWRITE', restOverwrite: 'callee' };
      if (Object.keys(restClientConfig).length > 0) out.restClientConfig = restClientConfig;
    }
    if (method === 'call') {
      const to = this.opts.callees?.[String(body.callee ?? '')];
      if (to) out.callee = to;
    }
    return out;
  }

  private authentic(req: IncomingMessage, text: string): boolean {
    const { secret, wcsSecret } = this.opts;
    if (secret !== undefined) {
      const ts = Number(req.headers['x-portico-timestamp']);
      const sig = String(req.headers['x-portico-signature'] ?? '');
      if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > (this.opts.toleranceSec ?? 300)) return false;
      if (!same(sig, `sha256=${createHmac('sha256', secret).update(`${ts}.${text}`).digest('hex')}`)) return false;
    }
    if (wcsSecret !== undefined) {
      if (!same(String(req.headers.authorization ?? ''), `WCS ${createHmac('md5', wcsSecret).update(text).digest('hex')}`)) return false;
    }
    return true;
  }
}

function same(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a === b;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body));
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
