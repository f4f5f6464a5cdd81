/**
 * The transaction layer (RFC 3261 §17): creates client transactions for the TU's requests, matches
 * responses to them (§17.1.3) and requests to server transactions (§17.2.3), absorbs retransmissions,
 * and hands the TU what is new: requests, ACKs for 2xx, and responses no transaction claims.
 */
import { silentLogger, type SipLogger } from '../logger.ts';
import {
  createResponse,
  formatUri,
  isRequest,
  newBranch,
  newTag,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type Via,
} from '../message/index.ts';
import type { Flow, SendTarget, TransportProtocol, TransportSet } from '../transport/index.ts';
import { TransactionClosedError, TransactionError } from './errors.ts';
import { InviteClientTransaction } from './invite-client-transaction.ts';
import { InviteServerTransaction } from './invite-server-transaction.ts';
import { NonInviteClientTransaction } from './non-invite-client-transaction.ts';
import { NonInviteServerTransaction } from './non-invite-server-transaction.ts';
import {
  resolveTimerConfig,
  TimerService,
  transactionTimers,
  type TimerConfig,
  type TimerOwner,
  type TransactionTimers,
} from './timers.ts';
import type { ClientTransactionUser, LingerTicket, Transaction, TransactionEnv } from './transaction.ts';

/** RFC 3261 §8.1.1.7: branches of RFC 3261 elements start with this. */
const MAGIC_COOKIE = 'z9hG4bK';

export type AnyClientTransaction = InviteClientTransaction | NonInviteClientTransaction;
export type AnyServerTransaction = InviteServerTransaction | NonInviteServerTransaction;

/** What the layer needs from the transport set. `TransportSet` satisfies it. */
export type TransactionTransport = Pick<TransportSet, 'send' | 'local' | 'responseTarget' | 'isReliable' | 'onMessage'>;

export interface TransactionLayerOptions {
  /** T1/T2/T4 for this stack instance; defaults 500/4000/5000 ms. */
  timers?: Partial<TimerConfig>;
  logger?: SipLogger;
  /** How long an INVITE server transaction waits for the TU before sending 100 Trying (RFC 3261 §17.2.1). Default 200. */
  tryingDelayMs?: number;
  /** Retry-After (seconds) on the 503 that answers new requests while closing. Default 5. */
  retryAfterSeconds?: number;
}

export interface CloseOptions {
  /** Let transactions in flight finish for up to this long before ending them. Default 0. */
  graceMs?: number;
}

type LayerState = 'open' | 'closing' | 'closed';

/**
 * What the layer keeps of a non-INVITE client transaction in Completed (RFC 3261 §17.1.2.2): its
 * key, so retransmitted final responses are still absorbed until Timer K, and not the
 * transaction with its request, which would otherwise live for T4 (5 s) and be promoted to the
 * old generation, one per REGISTER. The transaction reads its own state from `expired`.
 */
class CompletedClient implements TimerOwner, LingerTicket {
  expired = false;

  constructor(
    readonly key: string,
    private readonly done: (c: CompletedClient) => void,
  ) {}

  /** Timer K. */
  fired(): void {
    this.done(this);
  }
}

export class TransactionLayer {
  readonly timerConfig: TimerConfig;
  private readonly transport: TransactionTransport;
  private readonly log: SipLogger;
  private readonly env: TransactionEnv;
  private readonly retryAfter: number;
  private readonly clients = new Map<string, AnyClientTransaction | CompletedClient>();
  private readonly servers = new Map<string, AnyServerTransaction>();
  private readonly timerService: TimerService;
  /** `SIP/2.0/UDP host:port;branch=` per protocol: our Via up to the branch value (RFC 3261 §18.1.1). */
  private readonly viaPrefixes = new Map<TransportProtocol, string>();
  private requestHandler: ((req: SipRequest, tx: AnyServerTransaction) => void) | undefined;
  private ackHandler: ((ack: SipRequest, flow: Flow) => void) | undefined;
  private strayHandler: ((res: SipResponse, flow: Flow) => void) | undefined;
  private state: LayerState = 'open';
  private closePromise: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(transport: TransactionTransport, opts: TransactionLayerOptions = {}) {
    this.transport = transport;
    this.timerConfig = resolveTimerConfig(opts.timers);
    this.log = (opts.logger ?? silentLogger).child({ layer: 'transaction' });
    this.retryAfter = opts.retryAfterSeconds ?? 5;
    this.timerService = new TimerService((err) => this.log.error({ err }, 'transaction timer callback threw'));
    // Every transaction over the same kind of transport has the same timer values: two objects serve all.
    const reliableTimers: Readonly<TransactionTimers> = Object.freeze(transactionTimers(this.timerConfig, true));
    const unreliableTimers: Readonly<TransactionTimers> = Object.freeze(transactionTimers(this.timerConfig, false));
    this.env = {
      send: (msg, target) => this.transport.send(msg, target),
      timersFor: (protocol) => (this.transport.isReliable(protocol) ? reliableTimers : unreliableTimers),
      logger: this.log,
      terminated: (tx) => this.forget(tx as AnyClientTransaction | AnyServerTransaction),
      tryingDelayMs: opts.tryingDelayMs ?? 200,
      timerService: this.timerService,
      linger: (tx, ms) => this.linger(tx, ms),
    };
    transport.onMessage = (msg, flow) => this.receive(msg, flow);
  }

  // ------------------------------------------------------------------ TU-facing API

  /**
   * Starts a client transaction. Unless the request already carries a Via (a CANCEL built from its
   * INVITE keeps the INVITE's branch, RFC 3261 §9.1), a Via with our sent-by, a new branch and `rport`
   * (RFC 3581 §3) is put on top (RFC 3261 §8.1.1.7, §18.1.1).
   */
  sendRequest(req: SipRequest, target: SendTarget, user: ClientTransactionUser): AnyClientTransaction {
    if (this.state === 'closed') throw new TransactionClosedError();
    if (req.method === 'ACK') {
      throw new TransactionError(
        'SIP_ERR_TRANSACTION_BAD_REQUEST',
        'ACK is not sent through a client transaction: use sendAck2xx (RFC 3261 §17.1.1.3)',
      );
    }
    // A Via we add ourselves is not parsed back: we know its branch.
    const branch = req.headers.has('Via') ? req.topVia.branch : this.addVia(req, target.protocol);
    if (!branch) throw new TransactionError('SIP_ERR_TRANSACTION_BAD_REQUEST', 'top Via has no branch');
    const key = clientKey(branch, req.method);
    if (this.clients.has(key)) {
      throw new TransactionError('SIP_ERR_TRANSACTION_BAD_REQUEST', `a ${req.method} transaction with branch ${branch} exists`);
    }
    const tx =
      req.method === 'INVITE'
        ? new InviteClientTransaction(req, target, user, this.env, branch)
        : new NonInviteClientTransaction(req, target, user, this.env, branch);
    this.clients.set(key, tx);
    tx.layerKey = key;
    tx.start();
    return tx;
  }

  /**
   * Sends an ACK for a 2xx: no transaction (RFC 3261 §13.2.2.4, §17.1.1.3). A Via with a new branch is
   * added unless the ACK has one.
   */
  async sendAck2xx(ack: SipRequest, target: SendTarget): Promise<Flow> {
    if (this.state === 'closed') throw new TransactionClosedError();
    if (!ack.headers.has('Via')) this.addVia(ack, target.protocol);
    return this.transport.send(ack, target);
  }

  /** New requests (not retransmissions, not ACKs for non-2xx); CANCEL too. */
  onRequest(handler: (req: SipRequest, tx: AnyServerTransaction) => void): void {
    this.requestHandler = handler;
  }

  /** ACKs that match no server transaction in Completed/Confirmed: the ACK for a 2xx (RFC 3261 §17.2.3). */
  onAck(handler: (ack: SipRequest, flow: Flow) => void): void {
    this.ackHandler = handler;
  }

  /** Responses that match no client transaction, e.g. 2xx retransmissions after Timer M (RFC 6026 §8.4). */
  onStrayResponse(handler: (res: SipResponse, flow: Flow) => void): void {
    this.strayHandler = handler;
  }

  /** The INVITE server transaction a CANCEL cancels (RFC 3261 §9.2), matched as in §17.2.3. */
  findInviteServerTransaction(cancel: SipRequest): InviteServerTransaction | undefined {
    const tx = this.servers.get(serverKey(cancel, 'INVITE'));
    if (!(tx instanceof InviteServerTransaction)) return undefined;
    // RFC 2543 matching also wants the To tag of the CANCEL to equal the INVITE's (RFC 3261 §9.2)
    if (!hasMagicCookie(cancel.topVia) && cancel.toTag !== tx.request.toTag) return undefined;
    return tx;
  }

  /** Number of live transactions (client + server). */
  get size(): number {
    return this.clients.size + this.servers.size;
  }

  get isClosing(): boolean {
    return this.state !== 'open';
  }

  /**
   * Starts a graceful shutdown: from now on new requests are answered 503 with Retry-After
   * (RFC 3261 §21.5.4, §20.33); transactions in flight go on. `close()` calls it.
   */
  closing(): void {
    if (this.state === 'open') {
      this.state = 'closing';
      this.log.info({ live: this.size }, 'transaction layer closing');
    }
  }

  /**
   * Ends the layer: waits up to `graceMs` for live transactions, then ends every one and clears every
   * timer. Idempotent; messages arriving afterwards are dropped. Does not close the transport set,
   * which belongs to the stack.
   */
  close(opts: CloseOptions = {}): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closing();
    const graceMs = opts.graceMs ?? 0;
    this.closePromise = (async () => {
      if (graceMs > 0 && this.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, graceMs);
          function finish(): void {
            clearTimeout(timer);
            resolve();
          }
          this.drained = finish;
        });
        this.drained = undefined;
      }
      this.state = 'closed';
      for (const tx of [...this.clients.values(), ...this.servers.values()]) {
        if (tx instanceof CompletedClient) tx.expired = true;
        else tx.abort();
      }
      this.clients.clear();
      this.servers.clear();
      this.timerService.close();
      this.log.info({}, 'transaction layer closed');
    })();
    return this.closePromise;
  }

  // ------------------------------------------------------------------ inbound

  /** Entry point for everything the transport hands up. */
  receive(msg: SipMessage, flow: Flow): void {
    if (this.state === 'closed') return;
    try {
      if (isRequest(msg)) this.receiveRequest(msg, flow);
      else this.receiveResponse(msg, flow);
    } catch (err) {
      // A header the transport did not validate eagerly may still be bad; never let it escape to the socket.
      this.log.warn({ err, peer: `${flow.remoteAddress}:${flow.remotePort}` }, 'dropping message the transaction layer could not process');
    }
  }

  private receiveResponse(res: SipResponse, flow: Flow): void {
    // A response matches a client transaction by top-Via branch and CSeq method (RFC 3261 §17.1.3);
    // CANCEL and INVITE share a branch yet are two transactions.
    const branch = res.topVia.branch;
    const tx = branch === undefined ? undefined : this.clients.get(clientKey(branch, res.cseq.method));
    if (tx) {
      // A Completed non-INVITE transaction absorbs it (RFC 3261 §17.1.2.2).
      if (!(tx instanceof CompletedClient)) tx.receiveResponse(res);
      return;
    }
    this.log.debug({ status: res.status, branch, callId: res.callId }, 'stray response');
    this.strayHandler?.(res, flow);
  }

  private receiveRequest(req: SipRequest, flow: Flow): void {
    if (req.method === 'ACK') {
      const tx = this.matchAck(req);
      if (tx) tx.receiveRequest(req, flow);
      // No INVITE transaction claims it: an ACK for a 2xx, for the TU (RFC 3261 §17.2.3, §13.3.1.4)
      else this.ackHandler?.(req, flow);
      return;
    }
    const key = serverKey(req, req.method);
    const existing = this.servers.get(key);
    if (existing && (hasMagicCookie(req.topVia) || existing.request.toTag === req.toTag)) {
      // A retransmission: the server transaction absorbs it, re-sending its last response (RFC 3261 §17.2.3)
      existing.receiveRequest(req, flow);
      return;
    }

    const target = this.transport.responseTarget(req.topVia, flow);
    const tx: AnyServerTransaction =
      req.method === 'INVITE'
        ? new InviteServerTransaction(req, flow, target, this.env, (ack, f) => this.ackHandler?.(ack, f))
        : new NonInviteServerTransaction(req, flow, target, this.env);
    this.servers.set(key, tx);
    tx.layerKey = key;
    tx.start();

    if (this.state !== 'open') {
      // Shutting down: refuse new work, say when to come back (RFC 3261 §21.5.4, §20.33)
      tx.respond(this.reply(req, 503, { 'Retry-After': String(this.retryAfter) }));
      return;
    }
    if (!this.requestHandler) {
      tx.respond(this.reply(req, 503));
      return;
    }
    try {
      this.requestHandler(req, tx);
    } catch (err) {
      this.log.error({ err, method: req.method, callId: req.callId }, 'request handler threw');
      const last = tx.lastResponse;
      if (!tx.terminated && (last === undefined || last.status < 200)) tx.respond(this.reply(req, 500));
    }
  }

  /** The INVITE server transaction an ACK belongs to, if any (RFC 3261 §17.2.3). */
  private matchAck(ack: SipRequest): InviteServerTransaction | undefined {
    const tx = this.servers.get(serverKey(ack, 'INVITE'));
    if (!(tx instanceof InviteServerTransaction)) return undefined;
    if (hasMagicCookie(ack.topVia)) return tx;
    // RFC 2543: the ACK's To tag must equal the To tag of the response we sent (RFC 3261 §17.2.3)
    return ack.toTag === (tx.responseToTag ?? tx.request.toTag) ? tx : undefined;
  }

  // ------------------------------------------------------------------ helpers

  /** Puts our Via on top and returns its branch. */
  private addVia(req: SipRequest, protocol: TransportProtocol): string {
    let prefix = this.viaPrefixes.get(protocol);
    if (prefix === undefined) {
      const local = this.transport.local(protocol);
      if (!local) {
        throw new TransactionError('SIP_ERR_TRANSACTION_NO_TRANSPORT', `no ${protocol} transport to send from`, 503);
      }
      const host = local.host.includes(':') && !local.host.startsWith('[') ? `[${local.host}]` : local.host;
      // A bound listener keeps its address, so the sent-by part is built once per protocol.
      prefix = `SIP/2.0/${protocol.toUpperCase()} ${host}:${local.port};branch=`;
      this.viaPrefixes.set(protocol, prefix);
    }
    const branch = newBranch();
    req.headers.prepend('Via', `${prefix}${branch};rport`);
    return branch;
  }

  /** A response the layer itself sends; final ones get a To tag (RFC 3261 §8.2.6.2). */
  private reply(req: SipRequest, status: number, headers: Record<string, string> = {}): SipResponse {
    const res = createResponse(req, status, undefined, req.toTag === undefined ? { toTag: newTag() } : {});
    for (const [name, value] of Object.entries(headers)) res.headers.set(name, value);
    return res;
  }

  /** See `TransactionEnv.linger`: the transaction's key stays for `ms`, the transaction goes. */
  private linger(tx: Transaction, ms: number): LingerTicket {
    const t = tx as AnyClientTransaction;
    const key = t.layerKey;
    const done = new CompletedClient(key ?? '', this.endCompleted);
    if (key === undefined || this.state === 'closed') {
      done.expired = true;
      return done;
    }
    t.layerKey = undefined;
    this.clients.set(key, done);
    if (this.timerService.queue(ms).add(done, 'K') === undefined) this.endCompleted(done);
    return done;
  }

  private readonly endCompleted = (c: CompletedClient): void => {
    c.expired = true;
    if (this.clients.get(c.key) === c) this.clients.delete(c.key);
    if (this.size === 0) this.drained?.();
  };

  private forget(tx: AnyClientTransaction | AnyServerTransaction): void {
    const key = tx.layerKey;
    if (key === undefined) return;
    tx.layerKey = undefined;
    const map: Map<string, unknown> = tx.kind === 'client' ? this.clients : this.servers;
    if (map.get(key) === tx) map.delete(key);
    if (this.size === 0) this.drained?.();
  }
}

function hasMagicCookie(via: Via): boolean {
  return via.branch !== undefined && via.branch.startsWith(MAGIC_COOKIE);
}

function clientKey(branch: string, method: string): string {
  return `${branch}\u0000${method}`;
}

/** Default port of a Via sent-by without one (RFC 3261 §18.2.2, RFC 7118 §5). */
function viaDefaultPort(protocol: string): number {
  switch (protocol) {
    case 'TLS':
      return 5061;
    case 'WS':
      return 80;
    case 'WSS':
      return 443;
    default:
      return 5060;
  }
}

function sentBy(via: Via): string {
  return `${via.host.toLowerCase()}:${via.port ?? viaDefaultPort(via.protocol)}`;
}

/**
 * Server transaction key (RFC 3261 §17.2.3). With the magic cookie: branch, sent-by and method, where
 * ACK and CANCEL lookups pass `INVITE`. Without it (RFC 2543 peers): Request-URI, From tag, Call-ID,
 * CSeq number, method and top Via; the To tag is compared by the caller, since an ACK carries the tag of
 * our response that the INVITE did not.
 */
function serverKey(req: SipRequest, method: string): string {
  const via = req.topVia;
  if (hasMagicCookie(via)) return `${via.branch}\u0000${sentBy(via)}\u0000${method}`;
  return [
    '2543',
    method,
    formatUri(req.uri),
    req.fromTag ?? '',
    req.callId,
    String(req.cseq.seq),
    via.protocol,
    sentBy(via),
    via.branch ?? '',
  ].join('\u0000');
}
