/**
 * The gateway's HTTP server: `/healthz`, `/metrics`, and WebSocket upgrades handed to the door
 * registered for the request path (sylkRTC at `/webrtcgateway/ws` by default). HTTPS/WSS when a
 * certificate is given. Graceful close: new upgrades get 503, then the doors close their
 * connections, then the server stops.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

/** A front door taking WebSocket upgrades on one path. */
export interface Door {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every connection of this door (their calls end, their registrations are removed). */
  close(): Promise<void>;
}

/** A front door answering plain HTTP requests under some paths (the REST door). */
export interface HttpDoor {
  /** Whether this door answers `path` (origin-form, query included). */
  handles(path: string): boolean;
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

export interface HealthReport {
  ok: boolean;
  [key: string]: unknown;
}

export interface GatewayHttpServerOptions {
  host: string;
  port: number;
  tls?: { cert: Buffer | string; key: Buffer | string };
  logger: Logger;
  /** `/metrics`; absent: 404. */
  metrics?: { contentType: string; text(): Promise<string> };
  health: () => HealthReport;
  /** Counts failures (a door that threw, a failed /metrics), e.g. into the errors metric. */
  onError?: (code: string, err: unknown) => void;
  /** How long `close()` lets open HTTP requests finish before cutting them (default 2000 ms). */
  closeTimeoutMs?: number;
  /** Answers requests it recognises (the hooks' admin API under `/admin/`); false: not its path. */
  admin?: { handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> };
}

/** Answers an upgrade we refuse with a plain HTTP response and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = `${reason}\n`;
  const lines = [`HTTP/1.1 ${status} ${reason}`, 'Connection: close', 'Content-Type: text/plain', `Content-Length: ${Buffer.byteLength(body)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

export class GatewayHttpServer {
  private readonly opts: GatewayHttpServerOptions;
  private readonly server: Server;
  private readonly doors = new Map<string, Door>();
  /** Upgrades whose path starts with a prefix (notification channels carry ids in the path). */
  private readonly prefixDoors: Array<[string, Door]> = [];
  private readonly httpDoors: HttpDoor[] = [];
  private readonly log: Logger;
  private state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  private closingPromise: Promise<void> | undefined;

  constructor(opts: GatewayHttpServerOptions) {
    this.opts = opts;
    this.log = opts.logger.child({ component: 'http' });
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.onRequest(req, res);
    this.server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(handler);
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (err, socket) => {
      this.log.debug({ err }, 'bad HTTP request');
      refuseUpgrade(socket, 400, 'Bad Request');
    });
  }

  get secure(): boolean {
    return this.opts.tls !== undefined;
  }

  /** Routes WebSocket upgrades on `path` to `door`. */
  addDoor(path: string, door: Door): void {
    if (this.doors.has(path)) throw new Error(`a door already serves ${path}`);
    this.doors.set(path, door);
  }

  /** Routes WebSocket upgrades whose path starts with `prefix` to `door` (after the exact paths). */
  addUpgradePrefix(prefix: string, door: Door): void {
    if (this.prefixDoors.some(([p]) => p === prefix)) throw new Error(`a door already serves ${prefix}`);
    this.prefixDoors.push([prefix, door]);
  }

  /** Hands HTTP requests that `door.handles()` to it, before /healthz and /metrics are looked at. */
  addHttpDoor(door: HttpDoor): void {
    this.httpDoors.push(door);
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.state = 'listening';
    this.log.info({ url: this.url() }, 'HTTP server listening');
  }

  address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo | null;
    if (!a) throw new Error('the HTTP server is not listening');
    return { host: a.address, port: a.port };
  }

  /** `http://host:port` (https when TLS), for logs and tests. */
  url(): string {
    const { host, port } = this.address();
    return `${this.secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Stops taking upgrades (503 from now on); the doors and the server keep running. */
  beginClosing(): void {
    if (this.state === 'listening' || this.state === 'new') this.state = 'closing';
  }

  /** Closes the doors (their connections end gracefully), then the server. Idempotent. */
  close(): Promise<void> {
    this.closingPromise ??= this.doClose();
    return this.closingPromise;
  }

  private async doClose(): Promise<void> {
    this.beginClosing();
    const all = new Set<{ close(): Promise<void> }>([...this.doors.values(), ...this.prefixDoors.map(([, d]) => d), ...this.httpDoors]);
    await Promise.allSettled([...all].map((d) => d.close()));
    if (this.server.listening) {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      const timer = setTimeout(() => this.server.closeAllConnections(), this.opts.closeTimeoutMs ?? 2000);
      await closed;
      clearTimeout(timer);
    }
    this.state = 'closed';
    this.log.info('HTTP server closed');
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.log.debug({ err }, 'upgrade socket error'));
    if (this.state !== 'listening') return refuseUpgrade(socket, 503, 'Service Unavailable', { 'Retry-After': '5' });
    const path = pathOf(req.url);
    const door = this.doors.get(path) ?? this.prefixDoors.find(([prefix]) => path.startsWith(prefix))?.[1];
    if (!door) {
      this.log.info({ path, remote: req.socket.remoteAddress }, 'upgrade to an unknown path refused');
      return refuseUpgrade(socket, 404, 'Not Found');
    }
    try {
      door.handleUpgrade(req, socket, head);
    } catch (err) {
      this.log.error({ err, path }, 'door failed to take an upgrade');
      this.opts.onError?.('door-upgrade', err);
      refuseUpgrade(socket, 500, 'Internal Server Error');
    }
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url);
    try {
      if (this.opts.admin && (await this.opts.admin.handle(req, res))) return;
      const httpDoor = this.httpDoors.find((d) => d.handles(path));
      if (httpDoor) return httpDoor.handleRequest(req, res);
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
      if (path === '/healthz') {
        const report = this.opts.health();
        const ok = report.ok && this.state === 'listening';
        return send(res, ok ? 200 : 503, 'application/json', `${JSON.stringify({ ...report, ok, status: ok ? 'ok' : this.state === 'listening' ? 'unhealthy' : 'closing' })}\n`);
      }
      if (path === '/metrics' && this.opts.metrics) {
        const text = await this.opts.metrics.text();
        return send(res, 200, this.opts.metrics.contentType, text);
      }
      if (this.doors.has(path)) return send(res, 426, 'text/plain', 'Upgrade Required: open a WebSocket here\n', { Upgrade: 'websocket' });
      send(res, 404, 'text/plain', 'Not Found\n');
    } catch (err) {
      this.log.error({ err, path }, 'HTTP request failed');
      this.opts.onError?.('http', err);
      if (!res.headersSent) send(res, 500, 'text/plain', 'Internal Server Error\n');
      else res.destroy();
    }
  }
}

function pathOf(url: string | undefined): string {
  let u = url ?? '/';
  // Absolute-form request targets (RFC 9112 §3.2.2): keep the path.
  if (/^https?:\/\//i.test(u)) {
    const slash = u.indexOf('/', u.indexOf('//') + 2);
    u = slash < 0 ? '/' : u.slice(slash);
  }
  const q = u.indexOf('?');
  return q >= 0 ? u.slice(0, q) : u;
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
