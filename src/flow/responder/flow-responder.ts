import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Flow, FrameSpec, LeafStep, MatchSpec, SendStep, ServeSpec, WsOpenStep, WsSendStep } from '../model/index.ts';
import { compileProgram, parseDuration } from '../model/index.ts';
import { checkMatch, extractValues, Subject } from '../runner/extract.ts';
import { interpolate, interpolateJson, type ComputedState } from '../runner/interpolate.ts';
import { resolvePointer, jsonValueToFiller } from '../runner/json-pointer.ts';
import { prepareFlow, type PreparedFlow } from '../runner/prepare.ts';
import type { MessageResolver } from '../runner/messages.ts';
import { parseHttpHead, renderTemplate, type CompiledTemplate, type FillerContext, type FillerValue } from '../template/index.ts';
import { matchRoute, routeFromTemplate, type RoutePattern } from './route-pattern.ts';

/**
 * The network host: answers the client side of a flow from its response templates, so a client
 * (or `portico flow run`) can be tested without the real network. Requests are routed by the
 * request templates' request lines; each answer is the paired response template rendered with
 * what the request carried, what earlier answers generated for the same session (`serve.set`),
 * and the host's own address. `serve.notify` frames go down the session's WebSocket afterwards.
 */

export interface ResponderOptions {
  flow: Flow | PreparedFlow;
  port?: number;
  host?: string;
  /** Fillers that win over the flow's `serve.vars` (e.g. from the command line). */
  vars?: Record<string, string>;
  resolveMessage?: MessageResolver;
  /** Called for each request no route answered (answered 404). */
  onUnmatched?: (method: string, url: string) => void;
}

interface HttpRoute {
  step: SendStep;
  pattern: RoutePattern;
  response?: CompiledTemplate;
  serve: ServeSpec;
  /** Body conditions telling apart requests with the same method and path (`serve.match`). */
  match: MatchSpec[];
}

interface FrameRoute {
  step: WsSendStep;
  match: MatchSpec[];
  serve: ServeSpec;
}

/** What the host remembers for one emulated client (keyed by the flow's session filler). */
interface Session {
  vars: Map<string, FillerValue>;
  sockets: Set<WebSocket>;
  /** Frames waiting for the session's WebSocket to open. */
  backlog: string[];
  seq: ComputedState;
  timers: Set<NodeJS.Timeout>;
}

export interface ResponderStats {
  requests: number;
  unmatched: number;
  notifications: number;
  sockets: number;
}

export class FlowResponder {
  private readonly prepared: PreparedFlow;
  private readonly routes: HttpRoute[] = [];
  private readonly frameRoutes: FrameRoute[] = [];
  private readonly wsOpen: WsOpenStep[] = [];
  private readonly sessions = new Map<string, Session>();
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private readonly hostVars: Record<string, string> = {};
  private closed = false;
  readonly stats: ResponderStats = { requests: 0, unmatched: 0, notifications: 0, sockets: 0 };

  constructor(private readonly opts: ResponderOptions) {
    const f = opts.flow;
    this.prepared = 'program' in f ? (f.responses.size || !f.program.leaves.some((s) => s.kind === 'send') ? f : prepareFlow(f.flow, { forServe: true, resolveMessage: opts.resolveMessage })) : prepareFlow(f, { forServe: true, resolveMessage: opts.resolveMessage });
    void compileProgram;
    for (const step of this.prepared.program.leaves) this.addRoute(step);
    // More literal text first, so `/sessions/{id}` wins over `{webrtc-srv-url}`.
    this.routes.sort((a, b) => b.pattern.specificity - a.pattern.specificity);
    this.server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => this.onRequest(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      // RFC 6455 §4.2.2: pick one of the offered subprotocols; the first is the client's preference.
      handleProtocols: (protocols) => (protocols.size ? [...protocols][0]! : false),
    });
    this.server.on('upgrade', (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, req));
    });
  }

  private addRoute(step: LeafStep): void {
    if (step.kind === 'send') {
      const t = this.prepared.requests.get(step);
      const pattern = t ? routeFromTemplate(t) : undefined;
      const m = step.serve?.match;
      if (pattern) this.routes.push({ step, pattern, response: this.prepared.responses.get(step), serve: step.serve ?? {}, match: m === undefined ? [] : Array.isArray(m) ? m : [m] });
    } else if (step.kind === 'ws-open') {
      this.wsOpen.push(step);
    } else if (step.kind === 'ws-send') {
      const match = step.serve?.match ? (Array.isArray(step.serve.match) ? step.serve.match : [step.serve.match]) : deriveFrameMatch(step.json);
      if (match.length) this.frameRoutes.push({ step, match, serve: step.serve ?? {} });
    }
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    const name = this.opts.host && this.opts.host !== '0.0.0.0' && this.opts.host !== '::' ? this.opts.host : '127.0.0.1';
    Object.assign(this.hostVars, {
      'webrtc-srv-name': name,
      'http-port': String(addr.port),
      'websocket-port': String(addr.port),
      'content-type': 'application/json',
      'client-ip': '127.0.0.1',
    });
    return addr.port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  get url(): string {
    return `http://${this.hostVars['webrtc-srv-name'] ?? '127.0.0.1'}:${this.port}`;
  }

  get routeList(): string[] {
    return this.routes.map((r) => r.pattern.source);
  }

  private session(key: string | undefined): Session {
    const fresh = (): Session => ({ vars: new Map(), sockets: new Set(), backlog: [], seq: { seq: 0 }, timers: new Set() });
    if (key === undefined) return fresh();
    let s = this.sessions.get(key);
    if (!s) this.sessions.set(key, (s = fresh()));
    return s;
  }

  private context(layers: (Record<string, FillerValue> | Map<string, FillerValue>)[], req: RequestView, seq: ComputedState): FillerContext {
    const base = [...layers, this.opts.vars ?? {}, this.prepared.flow.serve.vars, this.hostVars, this.prepared.flow.vars];
    return {
      lookup: (name) => {
        for (const l of base) {
          const v = l instanceof Map ? l.get(name) : Object.prototype.hasOwnProperty.call(l, name) ? (l as Record<string, FillerValue>)[name] : undefined;
          if (v !== undefined) return v;
        }
        return req.lookup(name);
      },
      nextSeq: () => ++seq.seq,
    };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1 << 20) chunks.push(c);
    });
    req.on('end', () => {
      try {
        this.answer(req, res, Buffer.concat(chunks));
      } catch (err) {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(`network host error: ${(err as Error).message}\n`);
        } else res.destroy();
      }
    });
  }

  private answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    this.stats.requests++;
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    let route: HttpRoute | undefined;
    let captured: Record<string, string> | undefined;
    const subj = new Subject(body, undefined, rawHeaders(req));
    for (const r of this.routes) {
      captured = matchRoute(r.pattern, method, url);
      if (captured && r.match.every((m) => checkMatch(m, subj, undefined) === undefined)) { route = r; break; }
      captured = undefined;
    }
    if (!route || !captured) {
      this.stats.unmatched++;
      this.opts.onUnmatched?.(method, url);
      const text = JSON.stringify({ requestError: { serviceException: { messageId: 'SVC0002', text: 'Invalid input value for message part %1', variables: [`${method} ${url}`] } } });
      res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const key = this.prepared.flow.serve.sessionKey;
    const view = new RequestView(body, req.headers, url);
    const captures: Record<string, FillerValue> = { ...captured };
    if (route.serve.capture) for (const v of extractValues(route.serve.capture, subj).values) captures[v.name] = v.value;
    const sessionId = (captures[key] as string | undefined) ?? headerOf(req, 'x-session-id');
    let session = this.session(sessionId);
    const setNow: Record<string, FillerValue> = {};
    if (route.serve.set) {
      const ctx = this.context([setNow, captures, session.vars], view, session.seq);
      for (const [name, v] of Object.entries(route.serve.set)) setNow[name] = interpolate(v, ctx, `${route.step.label} serve.set`, session.seq);
      // A newly generated session key opens a session the client's next requests will name.
      const newKey = setNow[key];
      if (typeof newKey === 'string' && newKey !== sessionId) session = this.session(newKey);
    }
    for (const [k, v] of Object.entries(setNow)) session.vars.set(k, v);
    for (const [k, v] of Object.entries(captures)) session.vars.set(k, v);
    const ctx = this.context([setNow, captures, session.vars], view, session.seq);
    const delayMs = route.serve.delay !== undefined ? parseDuration(route.serve.delay) : 0;
    const reply = (): void => {
      if (this.closed) return;
      this.writeResponse(res, route!, ctx, body, req);
      this.schedule(session, route!.serve.notify ?? [], ctx, route!.step.label);
    };
    if (delayMs > 0) this.later(session, delayMs, reply);
    else reply();
  }

  private writeResponse(res: ServerResponse, route: HttpRoute, ctx: FillerContext, body: Buffer, req: IncomingMessage): void {
    const s = route.serve;
    if (route.response && !s.echo) {
      const r = renderTemplate(route.response, ctx, { lenient: this.prepared.flow.options.lenient });
      const head = parseHttpHead(r.head);
      if (head.kind !== 'response') throw new Error(`${route.step.label}: the response template does not start with a status line`);
      const headers: string[] = [];
      let hasLength = false;
      for (const h of head.headers) {
        const lower = h.name.toLowerCase();
        // The body is never compressed here; a stray Content-Encoding would make clients fail.
        if (lower === 'content-encoding') continue;
        if (lower === 'content-length') { hasLength = true; headers.push(h.name, String(r.body.length)); continue; }
        headers.push(h.name, h.value);
      }
      if (!hasLength) headers.push('Content-Length', String(r.body.length));
      res.writeHead(s.status ?? head.status, head.reason || undefined, headers);
      res.end(r.body);
      return;
    }
    const status = s.status ?? 200;
    const out = s.echo ? body : Buffer.alloc(0);
    const headers: Record<string, string> = { 'Content-Length': String(out.length) };
    if (out.length) headers['Content-Type'] = req.headers['content-type'] ?? 'application/json';
    res.writeHead(status, headers);
    res.end(out);
  }

  private render(f: FrameSpec, ctx: FillerContext, seq: ComputedState, label: string): string {
    if (f.text !== undefined) return interpolate(f.text, ctx, `${label} frame`, seq);
    if (f.template !== undefined) return renderTemplate(this.prepared.frames.get(f.template)!, ctx).body.toString('utf8');
    return JSON.stringify(interpolateJson(f.json ?? {}, ctx, `${label} frame`, seq));
  }

  private later(session: Session, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      session.timers.delete(t);
      fn();
    }, ms);
    session.timers.add(t);
  }

  /** Sends frames one after another, each `delay` after the previous one. */
  private schedule(session: Session, frames: FrameSpec[], ctx: FillerContext, label: string, only?: WebSocket): void {
    let at = 0;
    for (const f of frames) {
      at += f.delay !== undefined ? parseDuration(f.delay) : 0;
      const send = (): void => {
        if (this.closed) return;
        let text: string;
        try {
          text = this.render(f, ctx, session.seq, label);
        } catch {
          return;
        }
        this.stats.notifications++;
        const targets = only ? [only] : [...session.sockets];
        if (targets.length === 0) session.backlog.push(text);
        for (const ws of targets) if (ws.readyState === ws.OPEN) ws.send(text);
      };
      if (at > 0) this.later(session, at, send);
      else send();
    }
  }

  private onSocket(ws: WebSocket, req: IncomingMessage): void {
    this.stats.sockets++;
    const url = req.url ?? '/';
    // The session is the one whose key appears in the channel URL (OMA puts the user id there).
    const segments = url.split(/[/?&=]/);
    let session: Session | undefined;
    for (const seg of segments) {
      const s = seg ? this.sessions.get(seg) : undefined;
      if (s) { session = s; break; }
    }
    session ??= this.session(undefined);
    const sess = session;
    sess.sockets.add(ws);
    const view = new RequestView(Buffer.alloc(0), req.headers, url);
    for (const text of sess.backlog.splice(0)) ws.send(text);
    const open = this.wsOpen.find((s) => s.serve?.['on-open']) ?? this.wsOpen[0];
    if (open?.serve?.['on-open']) this.schedule(sess, open.serve['on-open'], this.context([sess.vars], view, sess.seq), open.label, ws);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      const subj = new Subject(text);
      const doc = subj.json as Record<string, unknown> | undefined;
      // OMA-NC Appendix I: a client connCheck is answered with connAck and the channel lifetime.
      if (doc && typeof doc === 'object' && 'connCheck' in doc) {
        ws.send(JSON.stringify({ connAck: { channelLifetime: 3600 } }));
        return;
      }
      const route = this.frameRoutes.find((r) => r.match.every((m) => checkMatch(m, subj, undefined) === undefined));
      if (!route) return;
      const frameView = new RequestView(Buffer.from(text), req.headers, url);
      const captures: Record<string, FillerValue> = {};
      if (route.serve.capture) for (const v of extractValues(route.serve.capture, subj).values) captures[v.name] = v.value;
      const setNow: Record<string, FillerValue> = {};
      const ctx0 = this.context([setNow, captures, sess.vars], frameView, sess.seq);
      for (const [name, v] of Object.entries(route.serve.set ?? {})) setNow[name] = interpolate(v, ctx0, `${route.step.label} serve.set`, sess.seq);
      for (const [k, v] of Object.entries({ ...captures, ...setNow })) sess.vars.set(k, v);
      this.schedule(sess, route.serve.reply ?? [], ctx0, route.step.label, ws);
    });
    ws.on('close', () => {
      sess.sockets.delete(ws);
    });
    ws.on('error', () => ws.terminate());
  }

  /** Stops listening, drops every connection and pending notification. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sessions.values()) for (const t of s.timers) clearTimeout(t);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** `serve` a flow: builds the host and starts listening. */
export async function serveFlow(opts: ResponderOptions): Promise<FlowResponder> {
  const r = new FlowResponder(opts);
  await r.listen();
  return r;
}

/**
 * Request-derived fillers: `req.<dotted JSON path>` from the JSON body (OMA lists unwrapped),
 * `req.header.<name>`, `req.query.<name>`, `req.path`, `req.body`.
 */
class RequestView {
  private json: unknown;
  private parsed = false;

  constructor(private readonly body: Buffer, private readonly headers: IncomingMessage['headers'], private readonly url: string) {}

  lookup(name: string): string | undefined {
    if (!name.startsWith('req.')) return undefined;
    const rest = name.slice(4);
    if (rest === 'body') return this.body.toString('utf8');
    if (rest === 'path') return this.url.split('?')[0];
    if (rest.startsWith('header.')) {
      const v = this.headers[rest.slice(7).toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    }
    if (rest.startsWith('query.')) {
      const q = this.url.indexOf('?');
      return q >= 0 ? new URLSearchParams(this.url.slice(q + 1)).get(rest.slice(6)) ?? undefined : undefined;
    }
    if (!this.parsed) {
      this.parsed = true;
      try {
        this.json = JSON.parse(this.body.toString('utf8'));
      } catch {
        this.json = undefined;
      }
    }
    if (this.json === undefined) return undefined;
    const v = resolvePointer(this.json, `/${rest.split('.').join('/')}`);
    return v === undefined || v === null ? undefined : jsonValueToFiller(v);
  }
}

function rawHeaders(req: IncomingMessage): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) out.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  return out;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** For a ws-send step without `serve.match`: its literal top-level string fields identify it. */
function deriveFrameMatch(json: unknown): MatchSpec[] {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return [];
  const out: MatchSpec[] = [];
  for (const [k, v] of Object.entries(json)) {
    if (typeof v === 'string' && !v.includes('{')) out.push({ json: `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, equals: v });
  }
  return out;
}
