/**
 * Test support for the transaction layer's tests (not part of the public API): a real stack (a
 * `TransportSet` on 127.0.0.1 with ephemeral ports and a `TransactionLayer` with shrunk timers), a raw
 * peer socket whose traffic the test controls and records, and a recording TU.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { silentLogger } from '../logger.ts';
import {
  createRequest,
  createResponse,
  newBranch,
  newCallId,
  newTag,
  parseMessage,
  StreamFramer,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../message/index.ts';
import { TransportSet, type SendTarget, type TransportError } from '../transport/index.ts';
import type { TransactionTimeoutError } from './errors.ts';
import type { TimerConfig } from './timers.ts';
import { TransactionLayer, type TransactionLayerOptions } from './transaction-layer.ts';
import type { ClientTransaction, ClientTransactionUser } from './transaction.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function until<T>(check: () => T | undefined | false, timeoutMs = 2000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

export interface Stack {
  transport: TransportSet;
  layer: TransactionLayer;
  udpPort: number;
  tcpPort: number;
  close(): Promise<void>;
}

/** A TransportSet (UDP + TCP on 127.0.0.1, ephemeral ports) with a TransactionLayer on top. */
export async function startStack(timers: Partial<TimerConfig>, opts: Omit<TransactionLayerOptions, 'timers'> = {}): Promise<Stack> {
  const transport = new TransportSet({
    listen: [
      { protocol: 'udp', host: '127.0.0.1', port: 0 },
      { protocol: 'tcp', host: '127.0.0.1', port: 0 },
    ],
    logger: silentLogger,
  });
  const layer = new TransactionLayer(transport, { timers, ...opts });
  await transport.start();
  return {
    transport,
    layer,
    udpPort: transport.local('udp')!.port,
    tcpPort: transport.local('tcp')!.port,
    async close() {
      await layer.close();
      await transport.close();
    },
  };
}

export interface Seen {
  msg: SipMessage;
  at: number;
}

/**
 * A peer socket driven by the test: records every message it receives (with arrival time) and sends
 * what it is told. On TCP it listens for the stack's connections and can also connect to the stack.
 */
export class RawPeer {
  readonly seen: Seen[] = [];
  private udp: dgram.Socket | undefined;
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private current: net.Socket | undefined;

  private constructor(
    readonly protocol: 'udp' | 'tcp',
    public port = 0,
  ) {}

  static async udp(): Promise<RawPeer> {
    const peer = new RawPeer('udp');
    const sock = dgram.createSocket('udp4');
    sock.on('message', (buf) => peer.record(buf));
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    peer.udp = sock;
    peer.port = sock.address().port;
    return peer;
  }

  static async tcp(): Promise<RawPeer> {
    const peer = new RawPeer('tcp');
    const server = net.createServer((s) => peer.adopt(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    peer.server = server;
    peer.port = (server.address() as net.AddressInfo).port;
    return peer;
  }

  static create(protocol: 'udp' | 'tcp'): Promise<RawPeer> {
    return protocol === 'udp' ? RawPeer.udp() : RawPeer.tcp();
  }

  /** Where the stack should send to reach this peer. */
  get target(): SendTarget {
    return { protocol: this.protocol, host: '127.0.0.1', port: this.port };
  }

  /** Sends to the stack's port (over the open TCP connection when there is one). */
  async send(msg: SipMessage, stackPort: number): Promise<void> {
    const buf = msg.toBuffer();
    if (this.udp) {
      await new Promise<void>((resolve, reject) => this.udp!.send(buf, stackPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      return;
    }
    if (!this.current || this.current.destroyed) {
      const s = net.connect(stackPort, '127.0.0.1');
      await new Promise<void>((resolve, reject) => {
        s.once('connect', resolve);
        s.once('error', reject);
      });
      this.adopt(s);
    }
    await new Promise<void>((resolve, reject) => this.current!.write(buf, (e) => (e ? reject(e) : resolve())));
  }

  requests(method?: string): SipRequest[] {
    return this.seen
      .map((s) => s.msg)
      .filter((m): m is SipRequest => 'method' in m && (method === undefined || m.method === method));
  }

  responses(status?: number): SipResponse[] {
    return this.seen
      .map((s) => s.msg)
      .filter((m): m is SipResponse => 'status' in m && (status === undefined || m.status === status));
  }

  /** Arrival times of the requests with this method, ms. */
  times(method: string): number[] {
    return this.seen.filter((s) => 'method' in s.msg && s.msg.method === method).map((s) => s.at);
  }

  /** Arrival times of responses with this status, ms. */
  responseTimes(status: number): number[] {
    return this.seen.filter((s) => 'status' in s.msg && s.msg.status === status).map((s) => s.at);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.udp) await new Promise<void>((resolve) => this.udp!.close(() => resolve()));
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private adopt(s: net.Socket): void {
    this.sockets.add(s);
    this.current = s;
    const framer = new StreamFramer({ onMessage: (buf) => this.record(buf), onError: () => s.destroy() });
    s.on('data', (chunk) => framer.push(chunk));
    s.on('error', () => {});
    s.on('close', () => this.sockets.delete(s));
  }

  private record(buf: Buffer): void {
    this.seen.push({ msg: parseMessage(buf, { stream: this.protocol === 'tcp' }), at: performance.now() });
  }
}

/** A request as a peer would send it to the stack: top Via naming the peer, magic-cookie branch. */
export function peerRequest(
  peer: RawPeer,
  method: string,
  opts: { branch?: string; callId?: string; cseq?: number; toTag?: string; fromTag?: string; uri?: string } = {},
): SipRequest {
  const req = createRequest({
    method,
    uri: opts.uri ?? 'sip:bob@127.0.0.1',
    from: `<sip:alice@127.0.0.1>;tag=${opts.fromTag ?? 'peer-tag'}`,
    to: `<sip:bob@127.0.0.1>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    callId: opts.callId ?? newCallId(),
    cseq: opts.cseq ?? 1,
  });
  req.headers.prepend('Via', `SIP/2.0/${peer.protocol.toUpperCase()} 127.0.0.1:${peer.port};branch=${opts.branch ?? newBranch()}`);
  return req;
}

/** A request for the stack to send (no Via: the layer adds it). */
export function stackRequest(method: string, opts: { route?: string; callId?: string } = {}): SipRequest {
  const req = createRequest({
    method,
    uri: 'sip:bob@127.0.0.1',
    from: `<sip:alice@127.0.0.1>;tag=${newTag()}`,
    to: '<sip:bob@127.0.0.1>',
    callId: opts.callId ?? newCallId(),
    cseq: 1,
    ...(opts.route ? { headers: [['Route', opts.route]] as const } : {}),
  });
  return req;
}

/** The peer's answer to a request it received: copies Via, From, To, Call-ID, CSeq. */
export function peerResponse(req: SipRequest, status: number, toTag = status > 100 ? 'uas-tag' : undefined): SipResponse {
  return createResponse(req, status, undefined, toTag ? { toTag } : {});
}

/** A ClientTransactionUser that records what the transaction tells it. */
export class RecordingUser implements ClientTransactionUser {
  readonly responses: SipResponse[] = [];
  readonly timeouts: TransactionTimeoutError[] = [];
  readonly transportErrors: TransportError[] = [];
  /** Ordered log: `response 180`, `timeout B`, `transport SIP_ERR_...`, with the state seen by the TU. */
  readonly events: string[] = [];
  timeoutAt = 0;

  onResponse(res: SipResponse, tx: ClientTransaction): void {
    this.responses.push(res);
    this.events.push(`response ${res.status} in ${tx.state}`);
  }

  onTimeout(tx: ClientTransaction, err: TransactionTimeoutError): void {
    this.timeouts.push(err);
    this.timeoutAt = performance.now();
    this.events.push(`timeout ${err.timer} in ${tx.state}`);
  }

  onTransportError(err: TransportError, tx: ClientTransaction): void {
    this.transportErrors.push(err);
    this.events.push(`transport ${err.code} in ${tx.state}`);
  }
}

/** Gaps between consecutive times. */
export function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}
