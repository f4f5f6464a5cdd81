import { isUtf8 } from 'node:buffer';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { hostPort, isIpLiteral, normalizeHost, remoteKey } from './address.ts';
import { Connection, type TransportContext } from './connection.ts';
import { TransportError } from './errors.ts';
import { socketFlow } from './stream-transport.ts';
import type { Flow, ListenSpec, SendTarget } from './types.ts';

/** The WebSocket subprotocol for SIP (RFC 7118 §4.1). */
export const SIP_SUBPROTOCOL = 'sip';
const LINGER_MS = 1000;

/**
 * A SIP-over-WebSocket connection (RFC 7118): every frame, text or binary, carries exactly one
 * message, so framing cannot be lost; keep-alives are WebSocket pings.
 */
class WsConnection extends Connection {
  private readonly ws: WebSocket;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(ctx: TransportContext, ws: WebSocket, flow: Flow, outbound: boolean, serverName?: string) {
    super(ctx, flow, outbound, serverName);
    this.ws = ws;
    ws.on('message', (data: WebSocket.RawData) => {
      if (this.closed) return;
      this.touch();
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      ctx.handler.onMessage(buf, this.flow, this);
    });
    ws.on('ping', () => this.touch());
    ws.on('pong', () => this.touch());
    ws.on('error', (err: Error & { code?: string }) => {
      // e.g. WS_ERR_UNSUPPORTED_MESSAGE_LENGTH for a frame above maxMessageSize (close code 1009).
      ctx.logger.warn({ peer: this.peer, code: err.code ?? 'SIP_ERR_TRANSPORT_CLOSED', connId: this.id }, 'websocket error');
    });
    ws.on('close', () => {
      clearTimeout(this.lingerTimer);
      this.markClosed();
    });
  }

  write(buf: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error('connection closed'));
        return;
      }
      this.touch();
      // RFC 7118 §5.1: text frames for UTF-8 messages, binary frames otherwise.
      this.ws.send(buf, { binary: !isUtf8(buf) }, (err) => (err ? reject(err) : resolve()));
    });
  }

  protected sendPing(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  protected shutdown(graceful: boolean): void {
    if (!graceful) {
      clearTimeout(this.lingerTimer);
      this.ws.terminate();
      return;
    }
    this.ws.close(1000);
    this.lingerTimer = setTimeout(() => this.ws.terminate(), LINGER_MS);
  }
}

/** WS or WSS: an HTTP(S) listener accepting upgrades that offer the `sip` subprotocol, and clients. */
export class WsTransport {
  readonly protocol: 'ws' | 'wss';
  accepted = 0;
  opened = 0;
  private readonly ctx: TransportContext;
  private readonly spec: ListenSpec | undefined;
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private bound: { host: string; port: number } | undefined;
  /** Raw sockets of the listener and client sockets still connecting, destroyed on close. */
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Set<WebSocket>();
  private closed = false;

  constructor(ctx: TransportContext, protocol: 'ws' | 'wss', spec?: ListenSpec) {
    this.ctx = ctx;
    this.protocol = protocol;
    this.spec = spec;
  }

  get address(): { host: string; port: number } | undefined {
    return this.bound;
  }

  async listen(): Promise<void> {
    const spec = this.spec;
    if (!spec) return;
    const refuse = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
      res.writeHead(426, { Connection: 'close', Upgrade: 'websocket' }).end();
    };
    let server: http.Server;
    if (this.protocol === 'wss') {
      if (!spec.tls) throw new TransportError('SIP_ERR_TRANSPORT_LISTEN', 'a wss listener needs tls.key and tls.cert');
      const { key, cert, ca, requestCert } = spec.tls;
      server = https.createServer({ key, cert, ca, requestCert: requestCert ?? false, rejectUnauthorized: false }, refuse);
    } else {
      server = http.createServer(refuse);
    }
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.ctx.maxMessageSize,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false),
    });
    server.on('connection', (s: Socket) => this.track(s));
    server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
    server.on('error', (err) => this.ctx.logger.error({ err, protocol: this.protocol }, 'listener error'));
    this.server = server;
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new TransportError('SIP_ERR_TRANSPORT_LISTEN', `cannot listen on ${this.protocol} ${spec.host}:${spec.port}: ${err.message}`, undefined, err));
      };
      server.once('error', onError);
      server.listen({ host: normalizeHost(spec.host), port: spec.port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const addr = server.address() as import('node:net').AddressInfo;
    this.bound = { host: normalizeHost(addr.address), port: addr.port };
  }

  connect(target: SendTarget): Promise<Connection> {
    const host = normalizeHost(target.host);
    const serverName = target.serverName ?? (isIpLiteral(host) ? undefined : host);
    const aliases = isIpLiteral(host) ? [] : [remoteKey(this.protocol, host, target.port)];
    const url = `${this.protocol}://${hostPort(host, target.port)}/`;
    const c = this.ctx.tlsClient;
    const options: WebSocket.ClientOptions & { servername?: string } = {
      handshakeTimeout: this.ctx.connectTimeoutMs,
      maxPayload: this.ctx.maxMessageSize,
      perMessageDeflate: false,
      ...(this.protocol === 'wss'
        ? { servername: serverName, ca: c?.ca, key: c?.key, cert: c?.cert, rejectUnauthorized: c?.rejectUnauthorized ?? true }
        : {}),
    };
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, [SIP_SUBPROTOCOL], options);
      this.clients.add(ws);
      let socket: Socket | undefined;
      let settled = false;
      const timer = setTimeout(() => {
        fail(new TransportError('SIP_ERR_TRANSPORT_TIMEOUT', `connect to ${url} timed out`, target));
      }, this.ctx.connectTimeoutMs);
      const fail = (err: TransportError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.clients.delete(ws);
        ws.terminate();
        reject(err);
      };
      ws.on('error', (err) => {
        fail(new TransportError('SIP_ERR_TRANSPORT_CONNECT', `connect to ${url} failed: ${err.message}`, target, err));
      });
      ws.once('close', () => fail(new TransportError('SIP_ERR_TRANSPORT_CLOSED', `${url} closed while connecting`, target)));
      ws.once('upgrade', (res) => {
        socket = res.socket as Socket;
      });
      ws.once('open', () => {
        // RFC 7118 §4.1: a server that did not agree to `sip` is not speaking SIP to us.
        if (ws.protocol !== SIP_SUBPROTOCOL || !socket) {
          fail(new TransportError('SIP_ERR_TRANSPORT_CONNECT', `${url} did not accept the sip subprotocol`, target));
          return;
        }
        if (this.closed) {
          fail(new TransportError('SIP_ERR_TRANSPORT_CLOSED', 'transport closed', target));
          return;
        }
        settled = true;
        clearTimeout(timer);
        this.clients.delete(ws);
        ws.removeAllListeners('error');
        ws.removeAllListeners('close');
        this.opened++;
        this.track(socket);
        const conn = new WsConnection(this.ctx, ws, socketFlow(this.protocol, socket), true, serverName);
        conn.open(aliases);
        resolve(conn);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ws of this.clients) ws.terminate();
    this.clients.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.wss?.close();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
  }

  private upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const wss = this.wss;
    const reject = (status: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (this.closed || !wss) {
      socket.destroy();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (this.spec?.wsPath && path !== this.spec.wsPath) {
      reject('404 Not Found');
      return;
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim().toLowerCase());
    if (!offered.includes(SIP_SUBPROTOCOL)) {
      // RFC 7118 §4.1: the handshake must negotiate `sip`.
      reject('400 Bad Request');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.closed) {
        ws.terminate();
        return;
      }
      this.accepted++;
      const conn = new WsConnection(this.ctx, ws, socketFlow(this.protocol, socket), false);
      conn.open();
    });
  }
}
