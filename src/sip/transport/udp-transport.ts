import dgram from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { normalizeHost } from './address.ts';
import type { TransportContext } from './connection.ts';
import { TransportError } from './errors.ts';
import type { Flow, ListenSpec, SendTarget } from './types.ts';

/**
 * Address lookup for `socket.send`. dgram resolves every destination, even an IP literal, through
 * `dns.lookup`, which answers a literal on the next tick; the transport only ever sends to
 * literals (the resolver found them), so a literal is handed straight back and the datagram leaves
 * within the `send` call. Names still go to the system resolver.
 */
function literalLookup(
  address: string,
  // dgram passes the socket's family (4 or 6), although the typings promise an options object.
  options: LookupOneOptions | number,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const fam = isIP(address);
  if (fam !== 0) callback(null, address, fam);
  else if (typeof options === 'number') dnsLookup(address, options, callback);
  else dnsLookup(address, options, callback);
}

/**
 * One bound UDP socket (RFC 3261 §18). Every datagram is one message. The socket's id travels in
 * `Flow.connectionId` so the response to a request leaves from the socket the request came in
 * on, as RFC 3581 §4 asks for NAT traversal.
 */
export class UdpTransport {
  readonly protocol = 'udp' as const;
  readonly id: string;
  private readonly ctx: TransportContext;
  private readonly spec: ListenSpec;
  private socket: dgram.Socket | undefined;
  private bound: { host: string; port: number } | undefined;
  private closed = false;

  constructor(ctx: TransportContext, spec: ListenSpec) {
    this.ctx = ctx;
    this.spec = spec;
    this.id = ctx.nextId('udp');
  }

  get address(): { host: string; port: number } | undefined {
    return this.bound;
  }

  /** 4 or 6: the family of the bound socket (an IPv6 wildcard socket also reaches IPv4). */
  get family(): 4 | 6 {
    return isIP(normalizeHost(this.spec.host)) === 6 ? 6 : 4;
  }

  async listen(): Promise<void> {
    const host = normalizeHost(this.spec.host);
    const { udpRecvBufferSize, udpSendBufferSize } = this.ctx;
    const socket = dgram.createSocket({
      type: this.family === 6 ? 'udp6' : 'udp4',
      lookup: literalLookup,
      // Applied once bound. The kernel caps them at net.core.rmem_max / wmem_max.
      recvBufferSize: udpRecvBufferSize || undefined,
      sendBufferSize: udpSendBufferSize || undefined,
    });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new TransportError('SIP_ERR_TRANSPORT_LISTEN', `cannot bind udp ${host}:${this.spec.port}: ${err.message}`, undefined, err));
      };
      socket.once('error', onError);
      socket.bind({ address: host, port: this.spec.port }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    const addr = socket.address();
    this.bound = { host: normalizeHost(addr.address), port: addr.port };
    this.reportBufferSizes(socket);
    socket.on('error', (err) => this.ctx.logger.warn({ err, connId: this.id }, 'udp socket error'));
    socket.on('message', (msg, rinfo) => {
      if (this.closed) return;
      const flow: Flow = {
        protocol: 'udp',
        localAddress: this.bound!.host,
        localPort: this.bound!.port,
        remoteAddress: normalizeHost(rinfo.address),
        remotePort: rinfo.port,
        connectionId: this.id,
      };
      this.ctx.handler.onMessage(msg, flow, undefined);
    });
  }

  /**
   * Datagrams that arrive while the event loop is busy (a burst of responses, a GC pause) wait in
   * the socket's receive buffer; once it is full the kernel drops them and the peers' Timer E/A
   * retransmissions (500 ms and more) make up for it. The system default (about 200 KB, some 160
   * datagrams of 500 bytes) is too small for a stack with hundreds of transactions in flight, so
   * `udpRecvBufferSize` asks for more; when the kernel grants less, an info line says so.
   */
  private reportBufferSizes(socket: dgram.Socket): void {
    const { udpRecvBufferSize, udpSendBufferSize, logger } = this.ctx;
    try {
      // Linux reports twice the size asked for (it counts its bookkeeping too).
      const recv = socket.getRecvBufferSize();
      const send = socket.getSendBufferSize();
      const fields = { connId: this.id, recvBufferSize: recv, sendBufferSize: send };
      if (recv < udpRecvBufferSize || send < udpSendBufferSize) {
        logger.info(
          { ...fields, asked: { recv: udpRecvBufferSize, send: udpSendBufferSize } },
          'udp socket buffers smaller than asked (the kernel caps them at net.core.rmem_max / wmem_max)',
        );
      } else logger.debug(fields, 'udp socket buffers');
    } catch {
      // Not every platform reports them.
    }
  }

  /** Whether this socket can reach an address of the given family. */
  reaches(host: string): boolean {
    const fam = isIP(normalizeHost(host));
    if (fam === 0) return true; // a name: dgram resolves it with the socket's family
    return this.family === 6 ? true : fam === 4;
  }

  send(buf: Buffer, target: SendTarget): Promise<Flow> {
    const socket = this.socket;
    const bound = this.bound;
    if (this.closed || !socket || !bound) {
      return Promise.reject(new TransportError('SIP_ERR_TRANSPORT_CLOSED', 'udp socket closed', target));
    }
    const remote = normalizeHost(target.host);
    // An IPv6 socket reaches IPv4 peers through mapped addresses.
    const host = this.family === 6 && isIP(remote) === 4 ? `::ffff:${remote}` : remote;
    return new Promise((resolve, reject) => {
      socket.send(buf, target.port, host, (err) => {
        if (err) {
          reject(new TransportError('SIP_ERR_TRANSPORT_SEND', `udp send to ${target.host}:${target.port} failed: ${err.message}`, target, err));
          return;
        }
        resolve({
          protocol: 'udp',
          localAddress: bound.host,
          localPort: bound.port,
          remoteAddress: remote,
          remotePort: target.port,
          connectionId: this.id,
        });
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    if (!socket) return;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
