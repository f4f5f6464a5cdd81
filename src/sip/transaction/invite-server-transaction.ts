/**
 * INVITE server transaction (RFC 3261 §17.2.1, Figure 7), with RFC 6026 §7.1's Accepted state: a 2xx
 * moves to Accepted and the UA core, not this machine, retransmits it (Timer G/H for 2xx live in `ua/`).
 *
 *   Proceeding ──300-699──▶ Completed ──ACK──▶ Confirmed ──Timer I──▶ Terminated
 *       │                      └──Timer H / transport error──▶ Terminated
 *       └──2xx──▶ Accepted ──Timer L──▶ Terminated
 */
import { createResponse, type SipRequest, type SipResponse } from '../message/index.ts';
import type { Flow, SendTarget } from '../transport/index.ts';
import { TransactionStateError, TransactionTimeoutError } from './errors.ts';
import type { TransactionTimers } from './timers.ts';
import {
  asTransportError,
  TransactionBase,
  type ServerTransaction,
  type ServerTransactionUser,
  type TransactionEnv,
} from './transaction.ts';

export type InviteServerState = 'Proceeding' | 'Completed' | 'Confirmed' | 'Accepted' | 'Terminated';

const TRANSITIONS: Record<InviteServerState, readonly InviteServerState[]> = {
  Proceeding: ['Completed', 'Accepted', 'Terminated'],
  Completed: ['Confirmed', 'Terminated'],
  Confirmed: ['Terminated'],
  Accepted: ['Terminated'],
  Terminated: [],
};

export class InviteServerTransaction extends TransactionBase<InviteServerState> implements ServerTransaction {
  readonly kind = 'server' as const;
  readonly branch: string;
  user: ServerTransactionUser | undefined;
  private last: SipResponse | undefined;
  private readonly t: TransactionTimers;

  /**
   * @param target where responses go (RFC 3261 §18.2.2), computed by the layer from the top Via and flow
   * @param passAck receives ACKs that match this transaction while Accepted (RFC 6026 §7.1)
   */
  constructor(
    readonly request: SipRequest,
    readonly flow: Flow,
    private readonly target: SendTarget,
    env: TransactionEnv,
    private readonly passAck: (ack: SipRequest, flow: Flow) => void,
  ) {
    const branch = request.topVia.branch ?? '';
    super(env, 'Proceeding', TRANSITIONS, { branch, method: 'INVITE', tx: 'ist' });
    this.branch = branch;
    this.t = env.timersFor(flow.protocol);
  }

  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  /** The To tag of the final response, for RFC 2543 ACK matching (RFC 3261 §17.2.3). */
  get responseToTag(): string | undefined {
    return this.last && this.last.status >= 200 ? this.last.toTag : undefined;
  }

  /** Arms the automatic 100 Trying. */
  start(): void {
    // Answer 100 Trying ourselves unless the TU answers within 200 ms (RFC 3261 §17.2.1)
    this.timers.start('Trying', this.env.tryingDelayMs, () => {
      if (this.state === 'Proceeding' && this.last === undefined) this.send(createResponse(this.request, 100));
    });
  }

  respond(res: SipResponse): void {
    const status = res.status;
    // The layer closed under a TU still working on the request: nothing can be sent, and it is not the
    // TU's mistake, so this is not an error.
    if (this.aborted) return;
    switch (this.state) {
      case 'Proceeding':
        this.timers.stop('Trying');
        this.last = res;
        this.send(res);
        if (status < 200) return; // provisional: stay in Proceeding (RFC 3261 §17.2.1)
        if (status < 300) {
          // 2xx: Accepted; the UA core retransmits it, we absorb INVITE retransmissions until
          // Timer L (RFC 6026 §7.1, §8.7)
          this.transition('Accepted');
          this.timers.start('L', this.t.L, () => this.transition('Terminated'));
          return;
        }
        // 300-699: Completed; retransmit with Timer G on unreliable transports and wait for the ACK
        // until Timer H (RFC 3261 §17.2.1)
        this.transition('Completed');
        if (this.t.G > 0) this.armTimerG(this.t.G);
        this.timers.start('H', this.t.H, () => this.onTimerH());
        return;
      case 'Accepted':
        // 2xx retransmissions from the UA core pass straight to the transport (RFC 6026 §8.7)
        if (status >= 200 && status < 300) {
          this.last = res;
          this.send(res);
          return;
        }
        throw new TransactionStateError(`INVITE server transaction ${this.branch} is Accepted: only 2xx may follow, got ${status}`);
      default:
        throw new TransactionStateError(`INVITE server transaction ${this.branch} is ${this.state}: cannot send ${status}`);
    }
  }

  /** A retransmitted INVITE, or an ACK, matched to this transaction (RFC 3261 §17.2.3). */
  receiveRequest(req: SipRequest, flow: Flow): void {
    if (req.method === 'ACK') {
      switch (this.state) {
        case 'Completed':
          // ACK for our non-2xx: stop retransmitting, absorb ACK retransmissions until Timer I
          // (RFC 3261 §17.2.1)
          this.timers.stop('G');
          this.timers.stop('H');
          this.transition('Confirmed');
          // Timer I is zero on reliable transports (RFC 3261 §17.2.1)
          if (this.t.I > 0) this.timers.start('I', this.t.I, () => this.transition('Terminated'));
          else this.transition('Terminated');
          return;
        case 'Accepted':
          // An ACK matching the transaction while Accepted goes to the TU (RFC 6026 §7.1)
          this.passAck(req, flow);
          return;
        default:
          // Confirmed absorbs ACK retransmissions; an ACK in Proceeding acknowledges nothing.
          return;
      }
    }
    switch (this.state) {
      case 'Proceeding':
        // Retransmitted INVITE: re-send the last provisional response (RFC 3261 §17.2.1)
        if (this.last) this.send(this.last);
        return;
      case 'Completed':
        // Retransmitted INVITE: re-send the final response (RFC 3261 §17.2.1)
        if (this.last) this.send(this.last);
        return;
      default:
        // Accepted and Confirmed absorb INVITE retransmissions (RFC 6026 §7.1, RFC 3261 §17.2.1)
        return;
    }
  }

  private armTimerG(interval: number): void {
    this.timers.start('G', interval, () => {
      if (this.state !== 'Completed' || !this.last) return;
      // Timer G fired: retransmit the final response, double the interval up to T2 (RFC 3261 §17.2.1)
      this.log.debug({ interval }, 'Timer G: retransmitting final response');
      this.send(this.last);
      this.armTimerG(Math.min(interval * 2, this.t.cap));
    });
  }

  private onTimerH(): void {
    if (this.state !== 'Completed') return;
    // Timer H fired: no ACK ever came; tell the TU (RFC 3261 §17.2.1)
    this.transition('Terminated');
    const err = new TransactionTimeoutError('H', this.branch, 'INVITE');
    this.callUser(() => this.user?.onTimeout?.(this, err));
  }

  private send(res: SipResponse): void {
    this.env.send(res, this.target).catch((err: unknown) => this.onTransportFailure(err));
  }

  private onTransportFailure(err: unknown): void {
    if (this.terminated) return;
    const terr = asTransportError(err, this.target);
    this.log.debug({ code: terr.code }, 'transport error');
    // Accepted has no transport-error arrow (RFC 6026 Figure 7): the UA core, which retransmits the 2xx,
    // decides; the TU is told.
    if (this.state === 'Proceeding' || this.state === 'Completed') this.transition('Terminated');
    // Failure to send a response is reported to the TU (RFC 3261 §17.2.4)
    this.callUser(() => this.user?.onTransportError?.(terr, this));
  }

  protected override entered(state: InviteServerState): void {
    if (state === 'Terminated') this.callUser(() => this.user?.onTerminated?.(this));
  }
}
