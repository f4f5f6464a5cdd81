/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8):
 *
 *   Trying ──1xx──▶ Proceeding ──200-699──▶ Completed ──Timer J──▶ Terminated
 *     └────────────200-699────────────────────▲
 *   Proceeding / Completed ──transport error──▶ Terminated
 */
import type { SipRequest, SipResponse } from '../message/index.ts';
import type { Flow, SendTarget } from '../transport/index.ts';
import { TransactionStateError } from './errors.ts';
import type { TransactionTimers } from './timers.ts';
import {
  asTransportError,
  TransactionBase,
  type ServerTransaction,
  type ServerTransactionUser,
  type TransactionEnv,
} from './transaction.ts';

export type NonInviteServerState = 'Trying' | 'Proceeding' | 'Completed' | 'Terminated';

const TRANSITIONS: Record<NonInviteServerState, readonly NonInviteServerState[]> = {
  Trying: ['Proceeding', 'Completed', 'Terminated'],
  Proceeding: ['Completed', 'Terminated'],
  Completed: ['Terminated'],
  Terminated: [],
};

export class NonInviteServerTransaction extends TransactionBase<NonInviteServerState> implements ServerTransaction {
  readonly kind = 'server' as const;
  readonly branch: string;
  user: ServerTransactionUser | undefined;
  private last: SipResponse | undefined;
  private readonly t: TransactionTimers;

  /** @param target where responses go (RFC 3261 §18.2.2), computed by the layer from the top Via and flow */
  constructor(
    readonly request: SipRequest,
    readonly flow: Flow,
    private readonly target: SendTarget,
    env: TransactionEnv,
  ) {
    const branch = request.topVia.branch ?? '';
    super(env, 'Trying', TRANSITIONS, { branch, method: request.method, tx: 'nist' });
    this.branch = branch;
    this.t = env.timersFor(flow.protocol);
  }

  get lastResponse(): SipResponse | undefined {
    return this.last;
  }

  start(): void {}

  respond(res: SipResponse): void {
    const status = res.status;
    // The layer closed under a TU still working on the request: nothing can be sent, and it is not the
    // TU's mistake, so this is not an error.
    if (this.aborted) return;
    if (this.state === 'Completed' || this.state === 'Terminated') {
      // Responses after the final one are discarded (RFC 3261 §17.2.2); we tell the TU by throwing.
      throw new TransactionStateError(`${this.request.method} server transaction ${this.branch} is ${this.state}: cannot send ${status}`);
    }
    this.last = res;
    this.send(res);
    if (status < 200) {
      // Provisional from the TU: Proceeding (RFC 3261 §17.2.2)
      if (this.state === 'Trying') this.transition('Proceeding');
      return;
    }
    // Final response: Completed; absorb request retransmissions until Timer J, which is zero on
    // reliable transports (RFC 3261 §17.2.2)
    this.transition('Completed');
    if (this.t.J > 0) this.timers.start('J', this.t.J, () => this.transition('Terminated'));
    else this.transition('Terminated');
  }

  /** A retransmission of the request (RFC 3261 §17.2.3). */
  receiveRequest(_req: SipRequest, _flow: Flow): void {
    switch (this.state) {
      case 'Trying':
        // Nothing to repeat yet: discard (RFC 3261 §17.2.2)
        return;
      case 'Proceeding':
      case 'Completed':
        // Re-send the last response, provisional or final (RFC 3261 §17.2.2)
        if (this.last) this.send(this.last);
        return;
      case 'Terminated':
        return;
    }
  }

  private send(res: SipResponse): void {
    this.env.send(res, this.target).catch((err: unknown) => this.onTransportFailure(err));
  }

  private onTransportFailure(err: unknown): void {
    if (this.aborted) return;
    // Failure to send a response: Terminated, and the TU is told (RFC 3261 §17.2.2, §17.2.4). On a
    // reliable transport we may already be Terminated (Timer J is zero); the TU still hears of it.
    const terr = asTransportError(err, this.target);
    this.log.debug({ code: terr.code }, 'transport error');
    if (!this.terminated) this.transition('Terminated');
    this.callUser(() => this.user?.onTransportError?.(terr, this));
  }

  protected override entered(state: NonInviteServerState): void {
    if (state === 'Terminated') this.callUser(() => this.user?.onTerminated?.(this));
  }
}
