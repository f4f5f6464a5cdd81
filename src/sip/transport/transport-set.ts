import { Resolver } from 'node:dns/promises';
import {
  SipParseError,
  formatVia,
  isRequest,
  parseMessage,
  type SipMessage,
  type SipResponse,
  type SipUri,
  type Via,
} from '../message/index.ts';
import { silentLogger, type SipLogger } from '../logger.ts';
import { flowPeer, isWildcard, normalizeHost, remoteKey } from './address.ts';
import { ConnectionTable, type Connection, type InboundHandler, type TransportContext } from './connection.ts';
import { TransportError } from './errors.ts';
import { buildMinimalResponse, salvageRequest, stampVia } from './inbound.ts';
import { SipResolver } from './resolver.ts';
import { StreamTransport } from './stream-transport.ts';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_UDP_MAX_SIZE,
  DEFAULT_UDP_RECV_BUFFER_SIZE,
  DEFAULT_UDP_SEND_BUFFER_SIZE,
  MAX_DATAGRAM_SIZE,
  isReliableProtocol,
  toTransportProtocol,
  type DnsLookup,
  type Flow,
  type SendTarget,
  type TransportProtocol,
  type TransportSetOptions,
} from './types.ts';
import { UdpTransport } from './udp-transport.ts';
import { WsTransport } from './ws-transport.ts';

type ConnectingProtocol = Exclude<TransportProtocol, 'udp'>;
type Listener = UdpTransport | StreamTransport | WsTransport;

/** How much of a rejected message is read to answer it. */
const SALVAGE_BYTES = 4096;

/** Default sent-by port of a Via without one (RFC 3261 §18.2.2): 5061 for TLS, else 5060. */
function viaPort(via: Via): number {
  if (via.port !== undefined) return via.port;
  const p = toTransportProtocol(via.protocol);
  return p === 'tls' || p === 'wss' ? 5061 : 5060;
}

/** CRLF keep-alives and STUN packets that share a UDP port with SIP (RFC 5626 §4.4). */
function isUdpKeepAlive(buf: Buffer): boolean {
  if (buf.length === 0 || buf.every((b) => b === 0x0d || b === 0x0a)) return true;
  // Not yet: STUN keep-alives (RFC 5626 §4.4.2) are recognised by their magic cookie and dropped.
  return buf.length >= 20 && (buf[0] & 0xc0) === 0 && buf.readUInt32BE(4) === 0x2112a442;
}

export interface TransportStats {
  /** Connections accepted from peers since start, per protocol. */
  accepted: Record<ConnectingProtocol, number>;
  /** Connections we opened since start, per protocol. */
  opened: Record<ConnectingProtocol, number>;
  /** Connections open now. */
  open: Array<{ flow: Flow; outbound: boolean }>;
}

/**
 * Every transport of one SIP stack, shared by every account (RFC 3261 §18): listeners, outbound
 * connections pooled by target, and the rules for where responses go.
 */
/** How long a peer that refused TCP for a large request gets large requests over UDP instead. */
const TCP_REFUSED_MEMORY_MS = 5 * 60_000;

export class TransportSet {
  /** Set by the transaction layer before start(): every message that passed the transport checks. */
  onMessage: (msg: SipMessage, flow: Flow) => void = () => {};

  private readonly logger: SipLogger;
  private readonly maxMessageSize: number;
  private readonly udpMaxSize: number;
  /** Peers (`host:port`) that refused a TCP connection for a large request, until when. */
  private readonly tcpRefusedUntil = new Map<string, number>();
  private readonly aliases: Set<string>;
  private readonly connections = new ConnectionTable();
  private readonly ctx: TransportContext;
  private readonly listeners: Listener[] = [];
  /** One listener-less transport per connection protocol opens our outbound connections. */
  private readonly clients: Record<ConnectingProtocol, StreamTransport | WsTransport>;
  /** Connects in progress, so simultaneous sends to one target share one connection. */
  private readonly connecting = new Map<string, Promise<Connection>>();
  private resolver: SipResolver | undefined;
  private dns: DnsLookup | undefined;
  private started: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private idCounter = 0;

  constructor(private readonly opts: TransportSetOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.maxMessageSize = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.udpMaxSize = opts.udpMaxSize ?? DEFAULT_UDP_MAX_SIZE;
    this.aliases = new Set((opts.hostAliases ?? []).map(normalizeHost));
    this.dns = opts.dns;
    const handler: InboundHandler = {
      onMessage: (buf, flow, conn) => this.receive(buf, flow, conn),
      onFramingError: (err, head, conn) => this.framingError(err, head, conn),
    };
    this.ctx = {
      logger: this.logger,
      maxMessageSize: this.maxMessageSize,
      keepAliveIntervalMs: opts.keepAliveIntervalMs ?? 0,
      idleTimeoutMs: opts.idleTimeoutMs ?? 0,
      connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      udpRecvBufferSize: opts.udpRecvBufferSize ?? DEFAULT_UDP_RECV_BUFFER_SIZE,
      udpSendBufferSize: opts.udpSendBufferSize ?? DEFAULT_UDP_SEND_BUFFER_SIZE,
      tlsClient: opts.tlsClient,
      connections: this.connections,
      handler,
      nextId: (protocol) => `${protocol}-${++this.idCounter}`,
    };
    this.clients = {
      tcp: new StreamTransport(this.ctx, 'tcp'),
      tls: new StreamTransport(this.ctx, 'tls'),
      ws: new WsTransport(this.ctx, 'ws'),
      wss: new WsTransport(this.ctx, 'wss'),
    };
  }

  /** Binds every listener; on any failure closes what was bound and rejects with SIP_ERR_TRANSPORT_LISTEN. */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(new TransportError('SIP_ERR_TRANSPORT_CLOSED', 'transport set closed'));
    this.started ??= this.bindAll();
    return this.started;
  }

  private async bindAll(): Promise<void> {
    for (const spec of this.opts.listen) {
      const l: Listener =
        spec.protocol === 'udp'
          ? new UdpTransport(this.ctx, spec)
          : spec.protocol === 'tcp' || spec.protocol === 'tls'
            ? new StreamTransport(this.ctx, spec.protocol, spec)
            : new WsTransport(this.ctx, spec.protocol, spec);
      this.listeners.push(l);
    }
    try {
      await Promise.all(this.listeners.map((l) => l.listen()));
    } catch (err) {
      await this.close();
      throw err instanceof TransportError ? err : new TransportError('SIP_ERR_TRANSPORT_LISTEN', String(err), undefined, err);
    }
    for (const l of this.listeners) this.logger.info({ protocol: l.protocol, ...l.address }, 'listening');
  }

  /** The address the first listener of a protocol is bound to: for Via sent-by and Contact. */
  local(protocol: TransportProtocol): { host: string; port: number } | undefined {
    for (const l of this.listeners) if (l.protocol === protocol && l.address) return { ...l.address };
    return undefined;
  }

  /** Every bound listener, in the order of `listen`. */
  listening(): Array<{ protocol: TransportProtocol; host: string; port: number }> {
    const out: Array<{ protocol: TransportProtocol; host: string; port: number }> = [];
    for (const l of this.listeners) if (l.address) out.push({ protocol: l.protocol, ...l.address });
    return out;
  }

  isReliable(protocol: TransportProtocol): boolean {
    return isReliableProtocol(protocol);
  }

  /**
   * Send one message. Stream protocols reuse the connection named by `connectionId`, else any
   * open connection to the same far end (including one the peer opened to us), else connect.
   */
  send(msg: SipMessage, target: SendTarget): Promise<Flow> {
    // Not an async function: a UDP send returns the socket's own promise, with no extra step.
    try {
      return this.sendNow(msg, target);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private sendNow(msg: SipMessage, target: SendTarget): Promise<Flow> {
    if (this.closing) throw new TransportError('SIP_ERR_TRANSPORT_CLOSED', 'transport set closed', target);
    let buf = msg.toBuffer();
    if (buf.length > this.maxMessageSize) {
      throw new TransportError('SIP_ERR_TRANSPORT_TOO_LARGE', `message of ${buf.length} bytes exceeds maxMessageSize`, target);
    }
    if (target.protocol !== 'udp') return this.sendOnConnection(buf, target);
    if (buf.length > this.udpMaxSize && isRequest(msg)) {
      const tcp = this.local('tcp');
      const peer = `${target.host}:${target.port}`;
      if (tcp && !this.refusesTcp(peer)) {
        // RFC 3261 §18.1.1: too large for UDP without a known path MTU, so TCP, and the top Via
        // must say so. It is changed on the caller's request itself, so that retransmissions and a
        // CANCEL or ACK built from it carry the same Via; the returned Flow tells the caller the
        // request went over TCP.
        const via = msg.vias[0];
        if (via && toTransportProtocol(via.protocol) === 'udp') {
          msg.headers.replaceFirst('Via', formatVia({ ...via, protocol: 'TCP', port: tcp.port }));
          buf = msg.toBuffer();
        }
        this.logger.debug({ size: buf.length, host: target.host, port: target.port }, 'large request: UDP → TCP');
        return this.sendOnConnection(buf, { protocol: 'tcp', host: target.host, port: target.port }).catch((err: unknown) => {
          // The peer does not take TCP there (refused or reset): retry over UDP (RFC 3261 §18.1.1),
          // with the Via as it was, and go straight to UDP for that peer for a while.
          if (!(err instanceof TransportError) || err.code !== 'SIP_ERR_TRANSPORT_CONNECT') throw err;
          this.tcpRefusedUntil.set(peer, Date.now() + TCP_REFUSED_MEMORY_MS);
          if (via) msg.headers.replaceFirst('Via', formatVia(via));
          const udpBuf = msg.toBuffer();
          if (udpBuf.length > MAX_DATAGRAM_SIZE) throw err;
          this.logger.debug({ host: target.host, port: target.port }, 'TCP refused: large request over UDP');
          return this.udpFor(target).send(udpBuf, target);
        });
      }
    }
    if (buf.length > MAX_DATAGRAM_SIZE) {
      throw new TransportError('SIP_ERR_TRANSPORT_TOO_LARGE', `message of ${buf.length} bytes does not fit a UDP datagram`, target);
    }
    return this.udpFor(target).send(buf, target);
  }

  /** A peer that refused TCP for a large request recently gets it over UDP (RFC 3261 §18.1.1). */
  private refusesTcp(peer: string): boolean {
    const until = this.tcpRefusedUntil.get(peer);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.tcpRefusedUntil.delete(peer);
    return false;
  }

  /**
   * Where a response to a request that arrived on `flow` goes (RFC 3261 §18.2.2, RFC 3581 §4):
   * on a reliable transport the same connection while it is open, else a new one to the
   * `received` address and sent-by port; on UDP `maddr`, then `received` with `rport`, then
   * `received` with the sent-by port, then sent-by itself. UDP responses leave from the socket
   * the request came in on.
   */
  responseTarget(topVia: Via, flow: Flow): SendTarget {
    const port = viaPort(topVia);
    const received = topVia.params.get('received') || undefined;
    if (isReliableProtocol(flow.protocol)) {
      if (flow.connectionId && this.connections.get(flow.connectionId)) {
        return { protocol: flow.protocol, host: flow.remoteAddress, port: flow.remotePort, connectionId: flow.connectionId };
      }
      return { protocol: flow.protocol, host: normalizeHost(received ?? flow.remoteAddress), port };
    }
    const socket = flow.connectionId ? { connectionId: flow.connectionId } : {};
    const maddr = topVia.params.get('maddr');
    if (maddr) return { protocol: 'udp', host: normalizeHost(maddr), port, ...socket };
    if (topVia.params.has('rport')) {
      const rport = Number(topVia.params.get('rport'));
      const rp = Number.isInteger(rport) && rport > 0 && rport < 65536 ? rport : flow.remotePort;
      return { protocol: 'udp', host: normalizeHost(received ?? flow.remoteAddress), port: rp, ...socket };
    }
    if (received) return { protocol: 'udp', host: normalizeHost(received), port, ...socket };
    // Not yet: RFC 3263 §5 SRV lookup for a sent-by name without port; its A record is used.
    return { protocol: 'udp', host: normalizeHost(topVia.host), port, ...socket };
  }

  /** RFC 3263 targets for a URI, best first; rejects with SIP_ERR_TRANSPORT_RESOLVE. */
  resolve(uri: SipUri): Promise<SendTarget[]> {
    if (!this.resolver) {
      const dns = (this.dns ??= new Resolver());
      this.resolver = new SipResolver(dns, (p) => (p === 'udp' ? this.local('udp') !== undefined : true));
    }
    return this.resolver.resolve(uri);
  }

  /** Counters and open connections, for monitoring. */
  stats(): TransportStats {
    const count = (field: 'accepted' | 'opened'): Record<ConnectingProtocol, number> => {
      const out = { tcp: 0, tls: 0, ws: 0, wss: 0 };
      for (const t of [...this.listeners, ...Object.values(this.clients)]) {
        if (t.protocol !== 'udp') out[t.protocol] += (t as StreamTransport | WsTransport)[field];
      }
      return out;
    };
    return {
      accepted: count('accepted'),
      opened: count('opened'),
      open: this.connections.all().map((c) => ({ flow: { ...c.flow }, outbound: c.outbound })),
    };
  }

  /** Closes every socket, connection and timer; sends nothing afterwards. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const c of this.connections.all()) c.close(false);
      const all = [...this.listeners, ...Object.values(this.clients)];
      await Promise.all(all.map((t) => t.close().catch(() => {})));
      this.connecting.clear();
    })();
    return this.closing;
  }

  // ---- sending -------------------------------------------------------------------------------

  private udpFor(target: SendTarget): UdpTransport {
    // The socket named by connectionId, else the first that reaches the target (no array built per send).
    let chosen: UdpTransport | undefined;
    for (const l of this.listeners) {
      if (!(l instanceof UdpTransport)) continue;
      if (target.connectionId !== undefined && l.id === target.connectionId) return l;
      if (chosen === undefined && l.reaches(target.host)) chosen = l;
    }
    if (!chosen) throw new TransportError('SIP_ERR_TRANSPORT_NO_TRANSPORT', 'no UDP transport for this target', target);
    return chosen;
  }

  private async sendOnConnection(buf: Buffer, target: SendTarget): Promise<Flow> {
    const conn = await this.connectionFor(target);
    try {
      await conn.write(buf);
    } catch (err) {
      const code = conn.closed ? 'SIP_ERR_TRANSPORT_CLOSED' : 'SIP_ERR_TRANSPORT_SEND';
      throw new TransportError(code, `write to ${conn.peer} failed: ${(err as Error).message}`, target, err);
    }
    return { ...conn.flow };
  }

  private connectionFor(target: SendTarget): Promise<Connection> {
    const protocol = target.protocol as ConnectingProtocol;
    if (target.connectionId) {
      const byId = this.connections.get(target.connectionId);
      if (byId && byId.protocol === protocol) return Promise.resolve(byId);
    }
    const key = remoteKey(protocol, target.host, target.port);
    const open = this.connections.find(key, target.serverName);
    if (open) return Promise.resolve(open);
    const pendingKey = `${key}|${target.serverName ?? ''}`;
    let pending = this.connecting.get(pendingKey);
    if (!pending) {
      pending = this.clients[protocol].connect(target).finally(() => this.connecting.delete(pendingKey));
      this.connecting.set(pendingKey, pending);
    }
    return pending;
  }

  // ---- receiving -----------------------------------------------------------------------------

  private receive(buf: Buffer, flow: Flow, conn: Connection | undefined): void {
    if (this.closing) return;
    if (!conn && isUdpKeepAlive(buf)) return;
    let msg: SipMessage;
    try {
      const stream = conn !== undefined && (conn.protocol === 'tcp' || conn.protocol === 'tls');
      msg = parseMessage(buf, { maxSize: this.maxMessageSize, stream });
      // RFC 3261 §18.2.1, RFC 3581 §4.
      if (isRequest(msg)) stampVia(msg, flow);
    } catch (err) {
      this.rejectInput(err, buf, flow, conn, false);
      return;
    }
    if (!isRequest(msg) && !this.ownsResponse(msg, conn)) {
      // RFC 3261 §18.1.2: a response whose top Via is not ours was misrouted.
      this.logger.debug({ peer: flowPeer(flow), callId: msg.callId }, 'dropping response for another sent-by');
      return;
    }
    try {
      this.onMessage(msg, flow);
    } catch (err) {
      this.logger.error({ err, peer: flowPeer(flow) }, 'message handler threw');
    }
  }

  private framingError(err: SipParseError, head: Buffer, conn: Connection): void {
    this.rejectInput(err, head, conn.flow, conn, true);
  }

  /**
   * Bad input: one warn line naming the peer; a 400/505/513 (the parser's status) when it is a
   * request we can answer; the connection closed when its framing is lost. Other peers are
   * untouched.
   */
  private rejectInput(err: unknown, buf: Buffer, flow: Flow, conn: Connection | undefined, framingLost: boolean): void {
    const parseError = err instanceof SipParseError ? err : undefined;
    if (!parseError) this.logger.error({ err, peer: flowPeer(flow) }, 'unexpected error while parsing');
    const code = parseError?.code ?? 'SIP_ERR_BAD_MESSAGE';
    this.logger.warn({ peer: flowPeer(flow), code }, 'bad SIP input');
    if (this.closing) return;
    const req = salvageRequest(buf.subarray(0, SALVAGE_BYTES));
    // Never answer an ACK (RFC 3261 §17.1.1.3: ACK gets no response).
    if (req && req.method.toUpperCase() !== 'ACK') {
      const response = buildMinimalResponse(req, parseError?.status ?? 400, flow);
      if (conn) {
        conn.write(response).catch(() => {});
      } else {
        // Only ever back to the source address: a broken request does not get to pick a third
        // party (maddr is ignored here).
        const port = req.topVia.params.has('rport') ? flow.remotePort : viaPort(req.topVia);
        const target: SendTarget = { protocol: 'udp', host: flow.remoteAddress, port, connectionId: flow.connectionId };
        try {
          this.udpFor(target).send(response, target).catch(() => {});
        } catch {
          // No UDP socket reaches the source: nothing to answer on.
        }
      }
    }
    if (framingLost && conn) conn.close(true);
  }

  /** RFC 3261 §18.1.2: is the top Via's sent-by one of ours? Our own outbound connections always are. */
  private ownsResponse(res: SipResponse, conn: Connection | undefined): boolean {
    if (conn?.outbound) return true;
    const via = res.topVia;
    const host = normalizeHost(via.host);
    const port = viaPort(via);
    return this.listeners.some((l) => {
      const a = l.address;
      return !!a && a.port === port && (isWildcard(a.host) || a.host === host || this.aliases.has(host));
    });
  }
}
