/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6):
 *
 *   Trying ──1xx──▶ Proceeding ──200-699──▶ Completed ──Timer K──▶ Terminated
 *     └──────────200-699─────────────────────▲
 *   Trying / Proceeding ──Timer F / transport error──▶ Terminated
 */
import type { SipRequest, SipResponse } from '../message/index.ts';
import type { Flow, SendTarget } from '../transport/index.ts';
import { TransactionTimeoutError } from './errors.ts';
import type { TransactionTimers } from './timers.ts';
import {
  asTransportError,
  TransactionBase,
  type ClientTransaction,
  type ClientTransactionUser,
  type LingerTicket,
  type TransactionEnv,
} from './transaction.ts';

export type NonInviteClientState = 'Trying' | 'Proceeding' | 'Completed' | 'Terminated';

const TRANSITIONS: Record<NonInviteClientState, readonly NonInviteClientState[]> = {
  Trying: ['Proceeding', 'Completed', 'Terminated'],
  Proceeding: ['Completed', 'Terminated'],
  Completed: ['Terminated'],
  Terminated: [],
};

export class NonInviteClientTransaction extends TransactionBase<NonInviteClientState> implements ClientTransaction {
  readonly kind = 'client' as const;
  readonly branch: string;
  private readonly dest: SendTarget;
  private t: TransactionTimers;
  /**
   * The TU, until it has heard the outcome. A Completed transaction only absorbs retransmitted
   * responses for Timer K, so it lets go of the TU (and whatever the TU's callbacks hold, such as
   * the response just handed up) rather than keep it alive for T4.
   */
  private user: ClientTransactionUser | undefined;
  /** Set in Completed on an unreliable transport: the layer runs Timer K (see `TransactionEnv.linger`). */
  private completed: LingerTicket | undefined;

  constructor(
    readonly request: SipRequest,
    target: SendTarget,
    user: ClientTransactionUser,
    env: TransactionEnv,
    /** The top Via's branch when the caller knows it (it added the Via), saving a parse. */
    branch: string = request.topVia.branch ?? '',
  ) {
    super(env, 'Trying', TRANSITIONS, { branch, method: request.method, tx: 'nict' });
    this.branch = branch;
    this.user = user;
    this.dest = { ...target };
    this.t = env.timersFor(target.protocol);
  }

  get target(): SendTarget {
    return this.dest;
  }

  /** Completed moves to Terminated when Timer K runs in the layer (RFC 3261 §17.1.2.2). */
  override get state(): NonInviteClientState {
    return this.completed?.expired ? 'Terminated' : super.state;
  }

  /** Sends the request and arms Timers E and F (RFC 3261 §17.1.2.2). */
  start(): void {
    // Timer F bounds the whole transaction (RFC 3261 §17.1.2.2)
    this.timers.start('F', this.t.F, () => this.onTimerF());
    this.env.send(this.request, this.dest).then(
      (flow) => {
        this.pin(flow);
        // Timer E only on unreliable transports (RFC 3261 §17.1.2.2)
        if ((this.state === 'Trying' || this.state === 'Proceeding') && this.t.E > 0) this.armTimerE(this.t.E);
      },
      (err: unknown) => this.onTransportFailure(err),
    );
  }

  /** A response matched to this transaction (RFC 3261 §17.1.3). */
  receiveResponse(res: SipResponse): void {
    const status = res.status;
    switch (this.state) {
      case 'Trying':
      case 'Proceeding':
        if (status < 200) {
          // 1xx: move to Proceeding (from Trying) and hand it up; retransmissions continue at T2
          // (RFC 3261 §17.1.2.2)
          if (this.state === 'Trying') this.transition('Proceeding');
          this.passUp(res);
        } else {
          // Final response: hand it up, absorb retransmissions until Timer K (RFC 3261 §17.1.2.2)
          this.timers.stop('E');
          this.timers.stop('F');
          this.transition('Completed');
          this.passUp(res);
          this.user = undefined;
          if (this.terminated) return;
          // Timer K is zero on reliable transports: leave at once (RFC 3261 §17.1.2.2). Otherwise
          // the layer absorbs retransmissions by our key until Timer K and lets this object go:
          // nothing but the TU, if it cares to, keeps a Completed transaction for T4.
          if (this.t.K > 0) this.completed = this.env.linger(this, this.t.K);
          else this.transition('Terminated');
        }
        return;
      case 'Completed':
      case 'Terminated':
        // Retransmitted responses are absorbed in Completed (RFC 3261 §17.1.2.2)
        return;
    }
  }

  private armTimerE(interval: number): void {
    this.timers.start('E', interval, () => {
      if (this.state !== 'Trying' && this.state !== 'Proceeding') return;
      this.log.debug({ interval }, 'Timer E: retransmitting request');
      this.env.send(this.request, this.dest).catch((err: unknown) => this.onTransportFailure(err));
      // Timer E doubles up to T2 in Trying; in Proceeding it is T2 (RFC 3261 §17.1.2.2)
      const next = this.state === 'Proceeding' ? this.t.cap : Math.min(interval * 2, this.t.cap);
      this.armTimerE(next);
    });
  }

  private onTimerF(): void {
    if (this.state !== 'Trying' && this.state !== 'Proceeding') return;
    // Timer F fired: the TU treats it as 408 (RFC 3261 §17.1.2.2, §8.1.3.1)
    this.transition('Terminated');
    const err = new TransactionTimeoutError('F', this.branch, this.request.method);
    const user = this.user;
    this.user = undefined;
    if (user) this.callUser(() => user.onTimeout(this, err));
  }

  /** Later sends (retransmissions) go the way the first one went. `dest` is our own copy, so it is updated in place. */
  private pin(flow: Flow): void {
    const dest = this.dest;
    if (flow.protocol !== dest.protocol) {
      this.t = this.env.timersFor(flow.protocol);
      dest.protocol = flow.protocol;
    }
    if (flow.connectionId && dest.connectionId !== flow.connectionId) dest.connectionId = flow.connectionId;
  }

  private onTransportFailure(err: unknown): void {
    if (this.terminated || this.state === 'Completed') return;
    // Transport error: the transaction ends and the TU hears of it (RFC 3261 §17.1.4, Figure 6)
    const terr = asTransportError(err, this.dest);
    this.log.debug({ code: terr.code }, 'transport error');
    this.transition('Terminated');
    const user = this.user;
    this.user = undefined;
    if (user) this.callUser(() => user.onTransportError(terr, this));
  }

  private passUp(res: SipResponse): void {
    const user = this.user;
    if (user) this.callUser(() => user.onResponse(res, this));
  }
}
