import type { SipParseError } from '../message/index.ts';
import type { SipLogger } from '../logger.ts';
import { normalizeHost, peerLabel, remoteKey } from './address.ts';
import type { Flow, TlsClientOptions, TransportProtocol } from './types.ts';

/** What the transport set does with what the sockets deliver. */
export interface InboundHandler {
  /** One whole message: a datagram, a message framed off a stream, or one WebSocket frame. */
  onMessage(buf: Buffer, flow: Flow, conn: Connection | undefined): void;
  /**
   * Framing on a stream is lost. `head` is the start of the message being framed (possibly
   * truncated), enough to answer a request; the connection closes after any answer.
   */
  onFramingError(err: SipParseError, head: Buffer, conn: Connection): void;
}

/** Settings and shared state every transport receives from its set. */
export interface TransportContext {
  readonly logger: SipLogger;
  readonly maxMessageSize: number;
  readonly keepAliveIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** SO_RCVBUF / SO_SNDBUF asked for on UDP sockets; 0 keeps the system default. */
  readonly udpRecvBufferSize: number;
  readonly udpSendBufferSize: number;
  readonly tlsClient: TlsClientOptions | undefined;
  readonly connections: ConnectionTable;
  readonly handler: InboundHandler;
  nextId(protocol: TransportProtocol): string;
}

/**
 * One stream-like connection (TCP, TLS, WS, WSS), inbound or outbound. Owns its keep-alive and
 * idle timers; removes itself from the table when it closes, whoever closed it.
 */
export abstract class Connection {
  readonly flow: Readonly<Flow> & { connectionId: string };
  /** Opened by us (we send keep-alive pings on these) rather than accepted from a peer. */
  readonly outbound: boolean;
  /** TLS/WSS: the name we verified the peer certificate against (outbound only). */
  readonly serverName: string | undefined;
  protected readonly ctx: TransportContext;
  private lastActivity = Date.now();
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closedFlag = false;

  constructor(ctx: TransportContext, flow: Flow, outbound: boolean, serverName?: string) {
    this.ctx = ctx;
    this.flow = { ...flow, connectionId: flow.connectionId ?? ctx.nextId(flow.protocol) };
    this.outbound = outbound;
    this.serverName = serverName;
  }

  get id(): string {
    return this.flow.connectionId;
  }

  get protocol(): TransportProtocol {
    return this.flow.protocol;
  }

  get peer(): string {
    return peerLabel(this.flow.protocol, this.flow.remoteAddress, this.flow.remotePort);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Write one serialized message; rejects with the socket's error. */
  abstract write(buf: Buffer): Promise<void>;
  /** Send a keep-alive ping (CRLFCRLF on streams, a WebSocket ping on WS). */
  protected abstract sendPing(): void;
  /** Close the underlying socket: gracefully (flushing queued bytes) or at once. */
  protected abstract shutdown(graceful: boolean): void;

  /** Registers the connection and starts its timers; call once the connection is usable. */
  open(aliases: string[] = []): void {
    this.ctx.connections.add(this, aliases);
    const { keepAliveIntervalMs, idleTimeoutMs } = this.ctx;
    // Outbound flows are kept alive by the side that opened them (RFC 5626 §4.4.1).
    if (this.outbound && keepAliveIntervalMs > 0) {
      this.keepAliveTimer = setInterval(() => {
        if (!this.closedFlag) this.sendPing();
      }, keepAliveIntervalMs);
    }
    if (idleTimeoutMs > 0) this.scheduleIdleCheck(idleTimeoutMs);
  }

  /** Any bytes in either direction count as use. */
  touch(): void {
    this.lastActivity = Date.now();
  }

  /**
   * Close the connection. Graceful closes let queued bytes (e.g. a 400 for the bad message that
   * lost the framing) reach the peer; the set's close() is not graceful: nothing more is sent.
   */
  close(graceful = false): void {
    if (this.closedFlag) {
      if (!graceful) this.shutdown(false);
      return;
    }
    this.markClosed();
    this.shutdown(graceful);
  }

  /** The socket went away by itself (peer closed, reset, error). */
  protected markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.idleTimer);
    this.ctx.connections.remove(this);
  }

  private scheduleIdleCheck(delay: number): void {
    this.idleTimer = setTimeout(() => {
      if (this.closedFlag) return;
      const idleFor = Date.now() - this.lastActivity;
      if (idleFor >= this.ctx.idleTimeoutMs) {
        this.ctx.logger.debug({ peer: this.peer, connId: this.id }, 'closing idle connection');
        this.close(true);
      } else {
        this.scheduleIdleCheck(this.ctx.idleTimeoutMs - idleFor);
      }
    }, delay);
  }
}

/**
 * Open connections, found by id and by far end (`protocol|host:port`), so a response or a new
 * request to a peer reuses the connection the peer opened to us (RFC 3261 §18.2.2, §18.1.1) and
 * outbound connections are pooled by target.
 */
export class ConnectionTable {
  private readonly byId = new Map<string, Connection>();
  private readonly byRemote = new Map<string, Connection[]>();
  private readonly keysOf = new Map<Connection, string[]>();

  /** `aliases` are extra keys, e.g. the host name a caller used for an outbound connection. */
  add(conn: Connection, aliases: string[] = []): void {
    const f = conn.flow;
    const keys = [remoteKey(f.protocol, f.remoteAddress, f.remotePort), ...aliases];
    this.byId.set(conn.id, conn);
    this.keysOf.set(conn, keys);
    for (const key of keys) {
      const list = this.byRemote.get(key);
      if (list) list.push(conn);
      else this.byRemote.set(key, [conn]);
    }
  }

  remove(conn: Connection): void {
    if (this.byId.get(conn.id) !== conn) return;
    this.byId.delete(conn.id);
    for (const key of this.keysOf.get(conn) ?? []) {
      const list = this.byRemote.get(key)?.filter((c) => c !== conn) ?? [];
      if (list.length) this.byRemote.set(key, list);
      else this.byRemote.delete(key);
    }
    this.keysOf.delete(conn);
  }

  get(id: string): Connection | undefined {
    const conn = this.byId.get(id);
    return conn && !conn.closed ? conn : undefined;
  }

  /**
   * The newest open connection to a far end. With `serverName`, an outbound TLS connection
   * verified for another name is not reused.
   */
  find(key: string, serverName?: string): Connection | undefined {
    const list = this.byRemote.get(key);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i];
      if (c.closed) continue;
      if (serverName && c.outbound && c.serverName && normalizeHost(c.serverName) !== normalizeHost(serverName)) {
        continue;
      }
      return c;
    }
    return undefined;
  }

  all(): Connection[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }
}
