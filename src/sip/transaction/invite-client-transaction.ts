/**
 * INVITE client transaction (RFC 3261 §17.1.1, Figure 5), with the Accepted state of RFC 6026 §7.2:
 *
 *   Calling ──1xx──▶ Proceeding ──300-699──▶ Completed ──Timer D──▶ Terminated
 *      │                 │
 *      └──2xx────────────┴──▶ Accepted ──Timer M──▶ Terminated
 *   Calling ──Timer B / transport error──▶ Terminated
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
  type TransactionEnv,
} from './transaction.ts';
import { buildNon2xxAck } from './ack.ts';

export type InviteClientState = 'Calling' | 'Proceeding' | 'Completed' | 'Accepted' | 'Terminated';

const TRANSITIONS: Record<InviteClientState, readonly InviteClientState[]> = {
  Calling: ['Proceeding', 'Completed', 'Accepted', 'Terminated'],
  Proceeding: ['Completed', 'Accepted', 'Terminated'],
  Completed: ['Terminated'],
  Accepted: ['Terminated'],
  Terminated: [],
};

export class InviteClientTransaction extends TransactionBase<InviteClientState> implements ClientTransaction {
  readonly kind = 'client' as const;
  readonly branch: string;
  private dest: SendTarget;
  private t: TransactionTimers;
  /** The ACK for a non-2xx final response, built once and re-sent for each retransmission of it. */
  private ack: SipRequest | undefined;

  constructor(
    readonly request: SipRequest,
    target: SendTarget,
    private readonly user: ClientTransactionUser,
    env: TransactionEnv,
    /** The top Via's branch when the caller knows it (it added the Via), saving a parse. */
    branch: string = request.topVia.branch ?? '',
  ) {
    super(env, 'Calling', TRANSITIONS, { branch, method: 'INVITE', tx: 'ict' });
    this.branch = branch;
    this.dest = { ...target };
    this.t = env.timersFor(target.protocol);
  }

  get target(): SendTarget {
    return this.dest;
  }

  /** Sends the INVITE and arms Timers A and B (RFC 3261 §17.1.1.2). */
  start(): void {
    // Timer B bounds the wait for any response while Calling (RFC 3261 §17.1.1.2)
    this.timers.start('B', this.t.B, () => this.onTimerB());
    this.env.send(this.request, this.dest).then(
      (flow) => {
        this.pin(flow);
        // Retransmit with Timer A only on unreliable transports (RFC 3261 §17.1.1.2)
        if (this.state === 'Calling' && this.t.A > 0) this.armTimerA(this.t.A);
      },
      (err: unknown) => this.onTransportFailure(err),
    );
  }

  /** A response matched to this transaction (RFC 3261 §17.1.3). */
  receiveResponse(res: SipResponse): void {
    const status = res.status;
    switch (this.state) {
      case 'Calling':
      case 'Proceeding':
        if (status < 200) {
          if (this.state === 'Calling') {
            // 1xx in Calling: stop retransmitting A, hand it up (RFC 3261 §17.1.1.2); Timer B only
            // bounds Calling, so it goes too.
            this.timers.stop('A');
            this.timers.stop('B');
            this.transition('Proceeding');
          }
          // Further 1xx in Proceeding are handed up as well (RFC 3261 §17.1.1.2)
          this.passUp(res);
        } else if (status < 300) {
          // 2xx: the TU ACKs it; wait in Accepted for retransmissions and forks (RFC 6026 §8.4)
          this.timers.stop('A');
          this.timers.stop('B');
          this.transition('Accepted');
          this.timers.start('M', this.t.M, () => this.transition('Terminated'));
          this.passUp(res);
        } else {
          // 300-699: ACK it ourselves, hand it up, absorb retransmissions for Timer D (RFC 3261 §17.1.1.2)
          this.timers.stop('A');
          this.timers.stop('B');
          this.transition('Completed');
          this.ack = buildNon2xxAck(this.request, res);
          this.sendAck();
          this.passUp(res);
          if (this.terminated) return; // the transport (or the layer closing) ended us meanwhile
          // Timer D is zero on reliable transports: leave at once (RFC 3261 §17.1.1.2)
          if (this.t.D > 0) this.timers.start('D', this.t.D, () => this.transition('Terminated'));
          else this.transition('Terminated');
        }
        return;
      case 'Completed':
        // Retransmitted final response: ACK again, do not hand it up (RFC 3261 §17.1.1.2)
        if (status >= 300) this.sendAck();
        return;
      case 'Accepted':
        // 2xx retransmissions and 2xx from other forks go to the TU, which ACKs them (RFC 6026 §8.4)
        if (status >= 200 && status < 300) this.passUp(res);
        return;
      case 'Terminated':
        return;
    }
  }

  private armTimerA(interval: number): void {
    this.timers.start('A', interval, () => {
      if (this.state !== 'Calling') return;
      // Timer A fired: retransmit and double the interval, no cap for INVITE (RFC 3261 §17.1.1.2)
      this.log.debug({ interval }, 'Timer A: retransmitting INVITE');
      this.env.send(this.request, this.dest).catch((err: unknown) => this.onTransportFailure(err));
      this.armTimerA(interval * 2);
    });
  }

  private onTimerB(): void {
    if (this.state !== 'Calling') return;
    // Timer B fired in Calling: tell the TU it timed out (RFC 3261 §17.1.1.2); the TU treats it as 408
    this.timers.stop('A');
    this.transition('Terminated');
    const err = new TransactionTimeoutError('B', this.branch, 'INVITE');
    this.callUser(() => this.user.onTimeout(this, err));
  }

  private sendAck(): void {
    if (!this.ack) return;
    this.env.send(this.ack, this.dest).catch((err: unknown) => this.onTransportFailure(err));
  }

  /**
   * Later sends (retransmissions, ACK) leave on the same connection / socket (RFC 3261 §17.1.1.3).
   * Not yet: when the transport moves a large INVITE from UDP to TCP it rewrites the top Via of the copy
   * it sends, not of `request`, so the ACK for a non-2xx would carry the UDP sent-by and a strict server
   * would not match it.
   */
  private pin(flow: Flow): void {
    if (flow.protocol !== this.dest.protocol) {
      // The transport moved a large request from UDP to TCP (RFC 3261 §18.1.1): no retransmissions then.
      this.t = this.env.timersFor(flow.protocol);
    }
    this.dest = { ...this.dest, protocol: flow.protocol, ...(flow.connectionId ? { connectionId: flow.connectionId } : {}) };
  }

  private onTransportFailure(err: unknown): void {
    if (this.terminated || this.state === 'Accepted') return;
    // Transport error: the transaction ends and the TU hears of it (RFC 3261 §17.1.4, Figure 5)
    const terr = asTransportError(err, this.dest);
    this.log.debug({ code: terr.code }, 'transport error');
    this.transition('Terminated');
    this.callUser(() => this.user.onTransportError(terr, this));
  }

  private passUp(res: SipResponse): void {
    this.callUser(() => this.user.onResponse(res, this));
  }
}
