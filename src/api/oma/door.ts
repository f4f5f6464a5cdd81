/**
 * The REST door: an OMA/GSMA-style WebRTC API (T-Mobile flavour) over the core. It answers
 *
 * - INIT (`GET {initPath}`): 303 to the login page, with a `state` it remembers;
 * - `GET /reg_srv?code&state&session_num&user_id`: the authenticator names the user, a gateway
 *   session is created (one core Connection), 303 to the web app with `sessionId` and `clientId`;
 * - every resource of routes.ts, for requests carrying that session's `X-Session-ID` and
 *   `X-Client-ID` (401 otherwise, 403 for a path naming another session);
 * - WebSocket upgrades on the notification channels' `channelURL`s;
 * - `GET /oma/openapi.json`, and the embedded authenticator's login form at `/oma/login`.
 *
 * Sessions are isolated: a resource id is only ever looked up in the session of the request.
 * `close()` ends every session (calls ended, registrations removed) and refuses new work with 503.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Gateway } from '../../core/index.ts';
import { EmbeddedAuthenticator, type Authenticator } from './auth.ts';
import { WS_SUBPROTOCOL, type ChannelSettings } from './channel.ts';
import { silentLog, type DoorLog } from './door-log.ts';
import { OmaError, omaError, toOmaError } from './errors.ts';
import { parseJsonBody, readBody, sendError, sendJson, sendRedirect, sendText, splitUrl } from './http-io.ts';
import { openApiDocument } from './openapi.ts';
import { matchRoute, type RouteContext } from './routes.ts';
import { OmaSession, type SessionSettings } from './session.ts';
import { HTTP_PREFIXES, WS_PREFIX } from './urls.ts';

/** The door name the core sees in `openConnection()` (logs and metrics). */
export const OMA_DOOR = 'oma';

export interface OmaDoorOptions {
  authenticator: Authenticator;
  /** Path of INIT, the web app's entry (default `/webrtc`). */
  initPath?: string;
  /** Where reg_srv sends the browser with its session (default `/wrcprohome.html`, relative to the gateway). */
  appUrl?: string;
  /** The gateway's URL as clients reach it (`https://gw.example.com`); default: from the Host header. */
  publicUrl?: string;
  /** Largest request body (default 64 KiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** Most sessions at once (default 10 000); beyond, reg_srv answers 503. */
  maxSessions?: number;
  /** How long an INIT `state` stays valid (default 10 min). */
  stateLifetimeMs?: number;
  session?: Partial<Omit<SessionSettings, 'channel'>> & { channel?: Partial<ChannelSettings> };
  logger?: DoorLog;
}

export const DEFAULT_CHANNEL_SETTINGS: ChannelSettings = {
  defaultLifetimeS: 3600,
  minLifetimeS: 10,
  maxLifetimeS: 86_400,
  checkIntervalMs: 60_000,
  longPollTimeoutMs: 25_000,
  maxQueued: 256,
  defaultMaxNotifications: 20,
};

export const DEFAULT_SESSION_SETTINGS: Omit<SessionSettings, 'channel'> = {
  maxChannels: 4,
  maxSubscriptions: 16,
  maxCalls: 8,
  maxChats: 64,
  idleTimeoutMs: 120_000,
  registerTimeoutMs: 10_000,
  maxSubscriptionDurationS: 86_400,
  capabilityDurationS: 86_400,
};

const HOST_HEADER = /^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

export class OmaDoor {
  readonly log: DoorLog;
  readonly settings: SessionSettings;
  private readonly gateway: Gateway;
  private readonly opts: Required<Pick<OmaDoorOptions, 'initPath' | 'appUrl' | 'maxBodyBytes' | 'maxSessions' | 'stateLifetimeMs'>> & OmaDoorOptions;
  private readonly sessions = new Map<string, OmaSession>();
  private readonly states = new Map<string, number>();
  private readonly wss: WebSocketServer;
  private closing: Promise<void> | undefined;

  constructor(gateway: Gateway, opts: OmaDoorOptions) {
    this.gateway = gateway;
    this.opts = { initPath: '/webrtc', appUrl: '/wrcprohome.html', maxBodyBytes: 64 * 1024, maxSessions: 10_000, stateLifetimeMs: 600_000, ...stripUndefined(opts), authenticator: opts.authenticator };
    this.log = (opts.logger ?? silentLog).child({ door: OMA_DOOR });
    this.settings = { ...DEFAULT_SESSION_SETTINGS, ...stripUndefined(opts.session ?? {}), channel: { ...DEFAULT_CHANNEL_SETTINGS, ...stripUndefined(opts.session?.channel ?? {}) } };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: 16 * 1024,
      perMessageDeflate: false,
      clientTracking: false,
      // The OMA subprotocol when offered; Landslide's client offers none, which we tolerate.
      handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
    });
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** A session by id (monitoring and tests). */
  session(id: string): OmaSession | undefined {
    return this.sessions.get(id);
  }

  /** Whether an HTTP request path belongs to this door. */
  handles(path: string): boolean {
    const p = splitUrl(path).path;
    return p === this.opts.initPath || HTTP_PREFIXES.some((prefix) => p.startsWith(prefix));
  }

  /** WebSocket upgrades arrive under this prefix. */
  get upgradePrefix(): string {
    return WS_PREFIX;
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    this.serve(req, res).catch((err: unknown) => {
      const e = toOmaError(err);
      if (e.code === 'OMA_ERR_INTERNAL') this.log.error({ err, url: req.url }, 'REST request failed');
      sendError(res, e);
    });
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number, text: string) => {
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (this.closing) return refuse(503, 'Service Unavailable');
    const m = /^\/ws\/channelCreateUrl\/notificationchannel\/v1\/([^/]+)\/channels\/([^/]+)\/notifications$/.exec(splitUrl(req.url).path);
    let sid: string | undefined;
    let cid: string | undefined;
    try {
      sid = m ? decodeURIComponent(m[1]!) : undefined;
      cid = m ? decodeURIComponent(m[2]!) : undefined;
    } catch {
      /* refused below */
    }
    const channel = sid && cid ? this.sessions.get(sid)?.channels.get(cid) : undefined;
    if (!channel) return refuse(404, 'Not Found');
    if (channel.type !== 'WebSockets') return refuse(400, 'Bad Request');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.log.info({ channel: cid, protocol: ws.protocol || '(none)' }, 'notification channel WebSocket open');
      channel.attach(ws);
    });
  }

  /** Ends every session (calls ended, registrations removed); later requests get 503. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => s.close('shutdown')));
    this.sessions.clear();
    this.states.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  // ---- requests --------------------------------------------------------------------------------------

  private base(req: IncomingMessage): string {
    if (this.opts.publicUrl) return this.opts.publicUrl.replace(/\/$/, '');
    const host = req.headers.host;
    const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
    if (host && HOST_HEADER.test(host)) return `${secure ? 'https' : 'http'}://${host}`;
    const addr = req.socket.localAddress ?? '127.0.0.1';
    return `${secure ? 'https' : 'http'}://${addr.includes(':') ? `[${addr}]` : addr}:${req.socket.localPort}`;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.closing) throw new OmaError('OMA_ERR_UNAVAILABLE', ['Gateway closing']);
    const { path, query } = splitUrl(req.url);
    const method = req.method ?? 'GET';
    const base = this.base(req);
    if (path === this.opts.initPath && method === 'GET') return this.init(res, base);
    if (path === '/reg_srv' && method === 'GET') return this.regSrv(req, res, query, base);
    if (path === '/oma/openapi.json' && method === 'GET') return sendJson(res, 200, openApiDocument(base));
    const auth = this.opts.authenticator;
    if (auth instanceof EmbeddedAuthenticator && path === auth.loginPath) return this.loginForm(req, res, query, base, auth);

    const { route, params, allow } = matchRoute(method, path);
    if (!route) {
      req.resume();
      throw allow.length > 0 ? omaError.methodNotAllowed(allow) : omaError.notFound('Resource');
    }
    const session = this.authenticate(req, query, params);
    session.base = base;
    session.touch();
    let body: Promise<unknown> | undefined;
    const ctx: RouteContext = {
      req,
      res,
      params,
      query,
      session,
      json: () => (body ??= readBody(req, this.opts.maxBodyBytes).then((buf) => parseJsonBody(req, buf))),
    };
    await route.handler(ctx);
  }

  /** X-Session-ID and X-Client-ID must name a live session (401); the path must name the same (403). */
  private authenticate(req: IncomingMessage, query: URLSearchParams, params: Record<string, string>): OmaSession {
    const sid = req.headers['x-session-id'];
    if (typeof sid !== 'string' || sid === '') throw omaError.unauthenticated('X-Session-ID missing');
    const session = this.sessions.get(sid);
    if (!session || session.isClosed) throw omaError.unauthenticated('unknown or expired session');
    if (req.headers['x-client-id'] !== session.clientId) throw omaError.unauthenticated('X-Client-ID missing or wrong');
    const qc = query.get('clientId');
    if (qc !== null && qc !== session.clientId) throw omaError.unauthenticated('clientId does not match the session');
    if (params.sid !== session.id) throw omaError.forbidden('the path names another session');
    return session;
  }

  private init(res: ServerResponse, base: string): void {
    const now = Date.now();
    for (const [s, exp] of this.states) {
      if (exp >= now && this.states.size < 10_000) break;
      this.states.delete(s);
    }
    const state = randomBytes(16).toString('hex');
    this.states.set(state, now + this.opts.stateLifetimeMs);
    sendRedirect(res, this.opts.authenticator.loginUrl({ state, redirectUri: `${base}/reg_srv`, base }));
  }

  private async regSrv(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, base: string): Promise<void> {
    const state = query.get('state') ?? '';
    const expires = this.states.get(state);
    // The state we issued at INIT, once (RFC 6749 §10.12).
    if (expires === undefined || expires < Date.now()) throw new OmaError('OMA_ERR_LOGIN_FAILED', ['unknown or expired state']);
    this.states.delete(state);
    const user = await this.opts.authenticator.authenticate({
      code: query.get('code') ?? undefined,
      userId: query.get('user_id') ?? undefined,
      sessionNum: query.get('session_num') ?? undefined,
      redirectUri: `${base}/reg_srv`,
    });
    if (this.sessions.size >= this.opts.maxSessions) throw new OmaError('OMA_ERR_UNAVAILABLE', ['too many sessions']);
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    let connection;
    try {
      connection = this.gateway.openConnection({ door: OMA_DOOR, remote });
    } catch {
      throw new OmaError('OMA_ERR_UNAVAILABLE', ['Gateway closing']);
    }
    const session = new OmaSession({ host: { log: this.log, settings: this.settings, sessionClosed: (s) => this.sessions.delete(s.id) }, user, connection, base, remote });
    this.sessions.set(session.id, session);
    session.log.info({ remote }, 'session started');
    const app = /^https?:\/\//.test(this.opts.appUrl) ? this.opts.appUrl : `${base}${this.opts.appUrl}`;
    const q = new URLSearchParams({ clientId: session.clientId, sessionId: session.id, nodeFqdn: new URL(base).hostname });
    sendRedirect(res, `${app}${app.includes('?') ? '&' : '?'}${q}`);
  }

  /** The embedded authenticator's login form (development): a configured user and its login password. */
  private async loginForm(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, base: string, auth: EmbeddedAuthenticator): Promise<void> {
    const redirect = `${base}/reg_srv`;
    if (req.method === 'GET') {
      const state = escapeHtml(query.get('state') ?? '');
      return sendText(
        res,
        200,
        'text/html; charset=utf-8',
        `<!doctype html><title>Portico login</title><form method="post"><input type="hidden" name="state" value="${state}"><label>User <input name="user_id"></label> <label>Password <input name="password" type="password"></label> <button>Log in</button></form>\n`,
      );
    }
    if (req.method !== 'POST') throw omaError.methodNotAllowed(['GET', 'POST']);
    const form = new URLSearchParams((await readBody(req, this.opts.maxBodyBytes)).toString('utf8'));
    const userId = form.get('user_id') ?? '';
    const user = auth.user(userId);
    if (!user?.loginPassword || user.loginPassword !== form.get('password')) throw new OmaError('OMA_ERR_LOGIN_FAILED', ['wrong user or password']);
    const code = auth.issueCode(userId)!;
    sendRedirect(res, `${redirect}?${new URLSearchParams({ code, state: form.get('state') ?? '', user_id: userId })}`);
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
