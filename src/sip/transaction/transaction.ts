/**
 * What the four RFC 3261 §17 state machines share: a state with a transition table that throws on an
 * illegal move, named timers cleared on termination, and the environment the transaction layer gives
 * them (sending, timer values, logging, removal from the layer's tables).
 */
import type { SipLogger } from '../logger.ts';
import type { SipMessage, SipRequest, SipResponse } from '../message/index.ts';
import { TransportError, type Flow, type SendTarget, type TransportProtocol } from '../transport/index.ts';
import { IllegalTransitionError, type TransactionTimeoutError } from './errors.ts';
import { TimerSet, type TimerService, type TransactionTimers } from './timers.ts';

/** The layer's services as a transaction sees them. */
export interface TransactionEnv {
  /** Serializes and sends; rejects with a `TransportError`. */
  send(msg: SipMessage, target: SendTarget): Promise<Flow>;
  /** Timers A–M for a transaction over this protocol (reliable ones zero D/I/J/K and retransmit nothing). */
  timersFor(protocol: TransportProtocol): TransactionTimers;
  logger: SipLogger;
  /** Called once, when the transaction reaches Terminated, so the layer forgets it. */
  terminated(tx: Transaction): void;
  /** Delay before an INVITE server transaction answers 100 Trying on its own (RFC 3261 §17.2.1). */
  tryingDelayMs: number;
  /** Shared timer queues; without it each transaction uses Node timers. */
  timerService?: TimerService;
  /**
   * A client transaction entering Completed on an unreliable transport hands the layer its
   * Timer K: the layer keeps absorbing retransmitted responses by key for `ms` and forgets the
   * transaction object. The ticket says when Timer K has run (or the layer closed).
   */
  linger(tx: Transaction, ms: number): LingerTicket;
}

/** See `TransactionEnv.linger`. */
export interface LingerTicket {
  readonly expired: boolean;
}

/** The TU of a client transaction (RFC 3261 §17.1): receives responses and failures. */
export interface ClientTransactionUser {
  /** Every response the state machine passes up: provisional, final, and 2xx retransmissions in Accepted. */
  onResponse(res: SipResponse, tx: ClientTransaction): void;
  /** Timer B or F fired: act as on a 408 (RFC 3261 §8.1.3.1). */
  onTimeout(tx: ClientTransaction, err: TransactionTimeoutError): void;
  /** The transport failed: act as on a 503 (RFC 3261 §8.1.3.1, §17.1.4). */
  onTransportError(err: TransportError, tx: ClientTransaction): void;
}

/** Optional TU hooks on a server transaction (RFC 3261 §17.2). */
export interface ServerTransactionUser {
  /** Timer H fired: no ACK came for our non-2xx final response (RFC 3261 §17.2.1). */
  onTimeout?(tx: ServerTransaction, err: TransactionTimeoutError): void;
  /** Sending a response failed (RFC 3261 §17.2.4). */
  onTransportError?(err: TransportError, tx: ServerTransaction): void;
  /** The transaction reached Terminated, for whatever reason. */
  onTerminated?(tx: ServerTransaction): void;
}

/** Common surface of client transactions. */
export interface ClientTransaction {
  readonly kind: 'client';
  readonly request: SipRequest;
  readonly branch: string;
  readonly state: string;
  /** Where the request goes; after the first send it names the connection used, so later sends reuse it. */
  readonly target: SendTarget;
}

/** Common surface of server transactions (the contract's `ServerTransaction`). */
export interface ServerTransaction {
  readonly kind: 'server';
  readonly request: SipRequest;
  /** How the request arrived. */
  readonly flow: Flow;
  readonly branch: string;
  readonly state: string;
  /** The last response sent, if any. */
  readonly lastResponse: SipResponse | undefined;
  /** Optional hooks for timeouts and transport errors. */
  user: ServerTransactionUser | undefined;
  /** Sends a response through the state machine. Throws `TransactionStateError` when the state forbids it. */
  respond(res: SipResponse): void;
}

export type Transaction = ClientTransaction | ServerTransaction;

/** Wraps anything a send rejected with into a TransportError, so the TU sees one type. */
export function asTransportError(err: unknown, target: SendTarget): TransportError {
  if (err instanceof TransportError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TransportError('SIP_ERR_TRANSPORT_SEND', message, target, err);
}

/** Base of the four state machines. `S` is the union of the RFC's state names. */
export abstract class TransactionBase<S extends string> {
  private current: S;
  private wasAborted = false;
  protected readonly timers: TimerSet<string>;
  protected readonly log: SipLogger;
  /** @internal The layer's table key for this transaction. */
  layerKey: string | undefined;

  protected constructor(
    protected readonly env: TransactionEnv,
    initial: S,
    /** Allowed moves: state → states it may go to. Terminated maps to nothing. */
    private readonly transitions: Readonly<Record<S, readonly S[]>>,
    logBindings: Record<string, unknown>,
  ) {
    this.current = initial;
    this.timers = new TimerSet<string>(env.timerService);
    this.log = env.logger.child(logBindings);
  }

  get state(): S {
    return this.current;
  }

  get terminated(): boolean {
    return this.state === ('Terminated' as S);
  }

  /** Moves to `to`; throws `IllegalTransitionError` if the RFC draws no such arrow. */
  protected transition(to: S): void {
    const from = this.current;
    if (!this.transitions[from].includes(to)) throw new IllegalTransitionError(this.constructor.name, from, to);
    this.current = to;
    this.log.debug({ from, to }, 'transaction state');
    this.entered(to);
    if (to === ('Terminated' as S)) {
      this.timers.clear();
      this.env.terminated(this as unknown as Transaction);
    }
  }

  /** Hook for subclasses: runs after each transition, before termination bookkeeping. */
  protected entered(_state: S): void {}

  /**
   * Ends the transaction at once without telling the TU: the layer's shutdown path. Not an RFC
   * transition, so it bypasses the table; idempotent.
   */
  abort(): void {
    if (this.terminated) return;
    this.wasAborted = true;
    this.current = 'Terminated' as S;
    this.timers.clear();
    this.env.terminated(this as unknown as Transaction);
    this.entered(this.current);
  }

  /** Whether the layer ended the transaction with `abort()`. */
  protected get aborted(): boolean {
    return this.wasAborted;
  }

  /** Calls into the TU; a throwing TU must not leave the state machine half-done. */
  protected callUser(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'transaction user threw');
    }
  }

  /** Number of running timers (0 once terminated); lets tests check nothing is left behind. */
  get activeTimers(): number {
    return this.timers.size;
  }
}
