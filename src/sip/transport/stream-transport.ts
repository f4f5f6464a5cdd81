import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { isIpLiteral, normalizeHost, remoteKey } from './address.ts';
import type { Connection, TransportContext } from './connection.ts';
import { TransportError } from './errors.ts';
import { SocketConnection } from './socket-connection.ts';
import type { Flow, ListenSpec, SendTarget } from './types.ts';

type StreamProtocol = 'tcp' | 'tls';

/** Flow of a connected socket, addresses in normal form. */
export function socketFlow(protocol: Flow['protocol'], socket: Socket): Flow {
  return {
    protocol,
    localAddress: normalizeHost(socket.localAddress ?? ''),
    localPort: socket.localPort ?? 0,
    remoteAddress: normalizeHost(socket.remoteAddress ?? ''),
    remotePort: socket.remotePort ?? 0,
  };
}

/**
 * TCP or TLS (RFC 3261 §18, §26.2): a listener when a ListenSpec is given, and outbound
 * connections on demand in any case.
 */
export class StreamTransport {
  readonly protocol: StreamProtocol;
  /** Connections accepted since start, for monitoring and tests. */
  accepted = 0;
  /** Connections we opened since start. */
  opened = 0;
  private readonly ctx: TransportContext;
  private readonly spec: ListenSpec | undefined;
  private server: net.Server | undefined;
  private bound: { host: string; port: number } | undefined;
  /** Every raw socket not yet closed, including those still connecting or in a TLS handshake. */
  private readonly sockets = new Set<Socket>();
  private closed = false;

  constructor(ctx: TransportContext, protocol: StreamProtocol, spec?: ListenSpec) {
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
    let server: net.Server;
    if (this.protocol === 'tls') {
      if (!spec.tls) throw new TransportError('SIP_ERR_TRANSPORT_LISTEN', 'a tls listener needs tls.key and tls.cert');
      const { key, cert, ca, requestCert } = spec.tls;
      server = tls.createServer({ key, cert, ca, requestCert: requestCert ?? false, rejectUnauthorized: false });
      server.on('secureConnection', (s: tls.TLSSocket) => this.accept(s));
      server.on('tlsClientError', (err: NodeJS.ErrnoException, s: tls.TLSSocket) => {
        this.ctx.logger.debug({ peer: `tls:${s.remoteAddress}:${s.remotePort}`, code: err.code }, 'TLS handshake failed');
      });
    } else {
      server = net.createServer((s) => this.accept(s));
    }
    // Every raw socket, TLS ones before their handshake too, so close() can destroy them all.
    server.on('connection', (s: Socket) => this.track(s));
    server.on('error', (err) => this.ctx.logger.error({ err, protocol: this.protocol }, 'listener error'));
    this.server = server;
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
    const addr = server.address() as net.AddressInfo;
    this.bound = { host: normalizeHost(addr.address), port: addr.port };
  }

  /**
   * Open a connection to a target. `aliases` are extra pool keys (the name the caller used).
   * Fails with SIP_ERR_TRANSPORT_CONNECT or _TIMEOUT.
   */
  connect(target: SendTarget): Promise<Connection> {
    const host = normalizeHost(target.host);
    const serverName = target.serverName ?? (isIpLiteral(host) ? undefined : host);
    const aliases = isIpLiteral(host) ? [] : [remoteKey(this.protocol, host, target.port)];
    return new Promise((resolve, reject) => {
      let socket: Socket;
      const readyEvent = this.protocol === 'tls' ? 'secureConnect' : 'connect';
      if (this.protocol === 'tls') {
        const c = this.ctx.tlsClient;
        socket = tls.connect({
          host,
          port: target.port,
          // SNI carries names only (RFC 6066 §3); identity is checked against serverName or the IP.
          servername: serverName,
          ca: c?.ca,
          key: c?.key,
          cert: c?.cert,
          rejectUnauthorized: c?.rejectUnauthorized ?? true,
        });
      } else {
        socket = net.connect({ host, port: target.port });
      }
      this.track(socket);
      const timer = setTimeout(() => {
        fail(new TransportError('SIP_ERR_TRANSPORT_TIMEOUT', `connect to ${this.protocol}:${host}:${target.port} timed out`, target));
      }, this.ctx.connectTimeoutMs);
      const fail = (err: TransportError): void => {
        clearTimeout(timer);
        socket.off(readyEvent, onReady);
        socket.off('error', onError);
        socket.off('close', onClose);
        socket.destroy();
        reject(err);
      };
      const onError = (err: Error): void => {
        fail(new TransportError('SIP_ERR_TRANSPORT_CONNECT', `connect to ${this.protocol}:${host}:${target.port} failed: ${err.message}`, target, err));
      };
      const onClose = (): void => {
        fail(new TransportError('SIP_ERR_TRANSPORT_CLOSED', `connection to ${this.protocol}:${host}:${target.port} closed while connecting`, target));
      };
      const onReady = (): void => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off('close', onClose);
        if (this.closed) {
          socket.destroy();
          reject(new TransportError('SIP_ERR_TRANSPORT_CLOSED', 'transport closed', target));
          return;
        }
        this.opened++;
        const conn = new SocketConnection(this.ctx, socket, socketFlow(this.protocol, socket), true, serverName);
        conn.open(aliases);
        resolve(conn);
      };
      socket.once('error', onError);
      socket.once('close', onClose);
      socket.once(readyEvent, onReady);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
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
    // Errors are reported by whoever owns the socket at the time; none may go uncaught.
    socket.on('error', () => {});
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.accepted++;
    const conn = new SocketConnection(this.ctx, socket, socketFlow(this.protocol, socket), false);
    conn.open();
  }
}
