/**
 * The sylkRTC WebSocket door: accepts the upgrade at the gateway's WebSocket path, picks the dialect
 * from the subprotocol (`sylkRTC-2`, else `sylkRTC-1`; neither → HTTP 406 "No compatible protocol
 * specified", as SylkServer answers), opens one core Connection per socket and hands every frame to
 * that socket's SylkRtcSession.
 *
 * Limits (PROTOCOL.md, "Limits"): frames above `maxPayloadBytes` close the socket with 1009 (ws
 * enforces it before buffering); more than `maxPendingRequests` requests waiting on one socket get
 * an error and close it with 1008; a client that stops reading while more than `maxBufferedBytes`
 * wait to be sent is closed with 1008; a socket that misses a WebSocket pong for one
 * `pingIntervalMs` is dropped. Nothing one socket does stops another.
 *
 * The pings of one interval are spread over it in slices (`PING_SLICE_MS` apart), so that ten
 * thousand sockets are not pinged in one timer callback that holds up everything else.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { chooseDialect, parseSubprotocols, type Dialect } from './codec.ts';
import type { GatewayPort } from './core-port.ts';
import { CLOSE_CODES, DEFAULT_SESSION_LIMITS, silentDoorLogger, SylkRtcSession, type DoorLogger, type SecretKind, type SessionLimits, type SessionTransport } from './session.ts';

export interface SylkRtcDoorOptions {
  /** Largest accepted frame; a bigger one closes the socket with 1009. Default 256 KiB. */
  maxPayloadBytes?: number;
  /** Requests waiting on one socket before it is closed with 1008. Default 256. */
  maxPendingRequests?: number;
  /** After the ack of `session-terminate`, how long the core has to report `terminated`. Default 250 ms. */
  terminateGraceMs?: number;
  /** Bytes waiting to be sent to a client that does not read, before it is closed with 1008. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** WebSocket-level ping period; a socket that missed the previous pong is dropped. 0 = off. Default 30 s. */
  pingIntervalMs?: number;
  /** `Origin` values accepted (403 otherwise); `'*'` (default) accepts any, and none. */
  allowedOrigins?: '*' | string[];
  /** How `account-add`'s `password` is used for digest: `ha1` (sylkrtc.js, default), `password`, or `auto` (32 hex digits = HA1). */
  secretKind?: SecretKind;
  /** The REST hooks application for clients of this listener (default: the gateway's choice by domain or default). */
  app?: string;
  logger?: DoorLogger;
}

export const DEFAULT_DOOR_OPTIONS = {
  maxPayloadBytes: 256 * 1024,
  maxPendingRequests: DEFAULT_SESSION_LIMITS.maxPendingRequests,
  terminateGraceMs: DEFAULT_SESSION_LIMITS.terminateGraceMs,
  maxBufferedBytes: 4 * 1024 * 1024,
  pingIntervalMs: 30_000,
  allowedOrigins: '*' as '*' | string[],
  secretKind: 'ha1' as SecretKind,
};

/** How far apart the slices of a ping sweep run (at most `pingIntervalMs`). */
export const PING_SLICE_MS = 100;

/** The door name the core sees in `openConnection()` (logs and metrics). */
export const SYLKRTC_DOOR = 'sylkrtc';

/**
 * One open socket: the session's transport. Frames written in one turn of the event loop leave in
 * one write: the first frame corks the TCP socket and the door uncorks it once the turn's
 * callbacks and promise jobs have run (`process.nextTick`). An ack and the event after it, or the
 * four frames of a call's setup that a single SIP response sets off, then cost one system call
 * instead of one each (ws writes every frame on its own otherwise).
 */
class Peer implements SessionTransport {
  session!: SylkRtcSession;
  /** A pong (or the socket's first ping) came since the last ping. */
  alive = true;
  /** The socket is corked until the door's next uncork. */
  corked = false;
  /** The ping slice (a tick count) in which the socket was last pinged. */
  pingedAt = 0;

  constructor(
    readonly door: SylkRtcDoor,
    readonly ws: WebSocket,
    readonly socket: Duplex,
  ) {}

  send(text: string): void {
    this.door.write(this, text);
  }

  close(code: number, reason: string): void {
    const ws = this.ws;
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
  }
}

function refuse(socket: Duplex, status: number, text: string, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
  socket.destroy();
}

export class SylkRtcDoor {
  private readonly gateway: GatewayPort;
  private readonly opts: typeof DEFAULT_DOOR_OPTIONS & { app?: string };
  private readonly log: DoorLogger;
  /** One object for every session (a session keeps the one it is given). */
  private readonly sessionLimits: SessionLimits;
  private readonly wss: WebSocketServer;
  private readonly peers = new Set<Peer>();
  private pingTimer: NodeJS.Timeout | undefined;
  /** Ping slices since the door opened, slices per interval, and the sweep under way. */
  private pingTick = 0;
  private readonly slicesPerSweep: number;
  private sweep: { peers: Iterator<Peer>; perSlice: number } | undefined;
  private closing: Promise<void> | undefined;
  /** Peers corked in this turn of the event loop, uncorked together at its end. */
  private corked: Peer[] = [];
  private readonly uncorkAll = (): void => {
    const corked = this.corked;
    this.corked = [];
    for (const p of corked) {
      p.corked = false;
      p.socket.uncork();
    }
  };

  constructor(gateway: GatewayPort, opts: SylkRtcDoorOptions = {}) {
    this.gateway = gateway;
    const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
    this.opts = { ...DEFAULT_DOOR_OPTIONS, ...defined };
    this.log = (opts.logger ?? silentDoorLogger).child({ door: SYLKRTC_DOOR });
    this.sessionLimits = { maxPendingRequests: this.opts.maxPendingRequests, terminateGraceMs: this.opts.terminateGraceMs };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.opts.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => chooseDialect(protocols) ?? false,
      verifyClient: (info, done) => {
        if (chooseDialect(parseSubprotocols(info.req.headers['sec-websocket-protocol'])) === undefined) {
          done(false, 406, 'No compatible protocol specified');
          return;
        }
        const allowed = this.opts.allowedOrigins;
        if (allowed !== '*' && (info.origin === undefined || !allowed.includes(info.origin))) {
          done(false, 403, 'Origin not allowed');
          return;
        }
        done(true);
      },
    });
    const slice = Math.min(PING_SLICE_MS, this.opts.pingIntervalMs);
    this.slicesPerSweep = Math.max(1, Math.round(this.opts.pingIntervalMs / Math.max(1, slice)));
    if (this.opts.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.pingSlice(), slice);
      this.pingTimer.unref();
    }
  }

  /** Open sockets. */
  get connectionCount(): number {
    return this.peers.size;
  }

  /** Hands an HTTP upgrade request (already matched to the WebSocket path) to this door. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) {
      refuse(socket, 503, 'Service Unavailable', 'Gateway closing');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, socket));
  }

  /** Closes every socket (1001) and its core connection (calls ended, registrations removed). Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    clearInterval(this.pingTimer);
    this.sweep = undefined;
    const peers = [...this.peers];
    for (const p of peers) p.ws.close(CLOSE_CODES.goingAway, 'Gateway closing');
    await Promise.allSettled(peers.map((p) => p.session.close()));
    // The closing handshake had the time the core took; whoever has not answered is cut off.
    for (const p of peers) if (p.ws.readyState !== WebSocket.CLOSED) p.ws.terminate();
    this.peers.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    if (this.closing) {
      ws.close(CLOSE_CODES.goingAway, 'Gateway closing');
      return;
    }
    const dialect = ws.protocol as Dialect;
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    let connection;
    try {
      const local = `${req.socket.localAddress ?? '?'}:${req.socket.localPort ?? '?'}`;
      connection = this.gateway.openConnection({ door: SYLKRTC_DOOR, remote, local, ...(this.opts.app !== undefined ? { app: this.opts.app } : {}) });
    } catch (err) {
      this.log.warn({ err, remote }, 'the core refused a connection');
      ws.close(1011, 'Gateway unavailable');
      return;
    }
    const peer = new Peer(this, ws, socket);
    const session = new SylkRtcSession({
      connection,
      dialect,
      logger: this.log,
      limits: this.sessionLimits,
      secretKind: this.opts.secretKind,
      transport: peer,
    });
    peer.session = session;
    this.peers.add(peer);
    this.log.info({ connId: connection.id, remote, dialect }, 'sylkRTC connection open');
    ws.on('message', (data, isBinary) => session.receive(data as Buffer, isBinary));
    ws.on('pong', () => (peer.alive = true));
    ws.on('error', (err) => this.log.debug({ connId: connection.id, err }, 'WebSocket error'));
    ws.on('close', (code) => {
      this.peers.delete(peer);
      this.log.info({ connId: connection.id, code }, 'sylkRTC connection closed');
      void session.close();
    });
    session.start();
  }

  /** @internal One frame from a session to its client, in the current turn's write (see `Peer`). */
  write(peer: Peer, text: string): void {
    const ws = peer.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
      this.log.warn({ connId: peer.session.connection.id, buffered: ws.bufferedAmount }, 'client is not reading; closing');
      ws.close(CLOSE_CODES.policyViolation, 'Client not reading');
      void peer.session.close();
      return;
    }
    if (!peer.corked) {
      peer.corked = true;
      peer.socket.cork();
      if (this.corked.push(peer) === 1) process.nextTick(this.uncorkAll);
    }
    ws.send(text);
  }

  /**
   * One slice of the ping sweep: a sweep starts every `slicesPerSweep` slices and visits every open
   * socket once, spread evenly over the slices (sockets opened meanwhile join the sweep at its
   * end). A socket that did not answer the previous ping is dropped; one pinged less than half an
   * interval ago (the sweep order moved it up) is left for the next sweep.
   */
  private pingSlice(): void {
    const tick = ++this.pingTick;
    if (!this.sweep) {
      if (tick % this.slicesPerSweep !== 0) return;
      this.sweep = { peers: this.peers.values(), perSlice: Math.max(1, Math.ceil(this.peers.size / this.slicesPerSweep)) };
    }
    const sweep = this.sweep;
    for (let n = 0; n < sweep.perSlice; n++) {
      const next = sweep.peers.next();
      if (next.done) {
        this.sweep = undefined;
        return;
      }
      const p = next.value;
      if (!p.alive) {
        if ((tick - p.pingedAt) * 2 < this.slicesPerSweep) continue;
        this.log.info({ connId: p.session.connection.id }, 'no pong; dropping the connection');
        p.ws.terminate();
        continue;
      }
      p.alive = false;
      p.pingedAt = tick;
      p.ws.ping();
    }
  }
}
