/**
 * What an INVITE session does once a dialog exists, whichever side created it: BYE, re-INVITE
 * (hold, resume, new media), INFO, and the requests the peer sends within the dialog
 * (RFC 3261 §12, §14, §15; RFC 6086 for INFO).
 */
import type { Dialog } from '../dialog/index.ts';
import { createResponse, formatNameAddr, type SipRequest, type SipResponse } from '../message/index.ts';
import type { ClientTransactionUser, ServerTransaction } from '../transaction/index.ts';
import type { Flow, SendTarget } from '../transport/index.ts';
import { TypedEmitter } from './emitter.ts';
import { UaError } from './errors.ts';
import { ALLOW, failureStatus, type DialogOwner } from './sip-stack.ts';
import type { SipUser } from './sip-user.ts';

export type CallState = 'Calling' | 'Early' | 'Established' | 'Terminating' | 'Terminated';

export interface EndReason {
  /** Who ended it: we did, the peer did, or a failure did. */
  by: 'local' | 'remote' | 'error';
  /** Short machine-readable cause: `bye`, `cancel`, `rejected`, `timeout`, `ack-timeout`, `closed`, ... */
  cause: string;
  /** The SIP status behind it, where one is (final response of a failed INVITE, 487, 408, ...). */
  status?: number;
  reason?: string;
}

/** A re-INVITE from the peer, waiting for our answer (RFC 3261 §14.2). */
export interface RemoteReinvite {
  request: SipRequest;
  /** The new offer (may be empty: then our answer is the offer, sent in the 2xx). */
  sdp: string | undefined;
  accept(sdp?: string): void;
  reject(status?: number, reason?: string): void;
}

export interface SessionEvents extends Record<string, unknown[]> {
  /** A provisional response to our INVITE (100 excluded). */
  progress: [SipResponse];
  /** 2xx sent or received: the dialog is confirmed (for the UAS, ACK may still be on its way). */
  established: [];
  /** The UAS got the ACK for its 2xx. */
  confirmed: [];
  reinvite: [RemoteReinvite];
  info: [SipRequest];
  message: [SipRequest];
  ended: [EndReason];
}

export abstract class Session extends TypedEmitter<SessionEvents> implements DialogOwner {
  readonly user: SipUser;
  dialog: Dialog | undefined;
  localSdp: string | undefined;
  remoteSdp: string | undefined;
  protected stateValue: CallState = 'Calling';
  private endReason: EndReason | undefined;
  /** A re-INVITE of ours in progress: a second one waits (RFC 3261 §14.1). */
  private reinviting = false;
  private pendingUas2xx: { cseq: number; stop: () => void } | undefined;

  constructor(user: SipUser) {
    super();
    this.user = user;
  }

  protected override onListenerError(err: unknown, event: string): void {
    this.user.stack.logger.error({ err, event, callId: this.callId }, 'call listener failed');
  }

  get state(): CallState {
    return this.stateValue;
  }

  get ended(): EndReason | undefined {
    return this.endReason;
  }

  get callId(): string | undefined {
    return this.dialog?.callId;
  }

  /** Ends the call however its state requires (CANCEL, reject, BYE). Idempotent. */
  abstract terminate(cause?: string): Promise<void>;

  /** BYE (RFC 3261 §15.1.1). Resolves once the BYE transaction ends, whatever the answer. */
  async bye(cause = 'bye'): Promise<void> {
    const dialog = this.dialog;
    if (!dialog || this.stateValue === 'Terminated' || this.stateValue === 'Terminating') return;
    this.stateValue = 'Terminating';
    this.pendingUas2xx?.stop();
    try {
      await this.inDialogRequest('BYE');
    } catch {
      // The session ends anyway (RFC 3261 §15.1.1).
    }
    this.finish({ by: 'local', cause });
  }

  /** Sends a re-INVITE with a new offer (hold: `a=sendonly`; resume: `a=sendrecv`) and resolves with the final answer. */
  async reinvite(sdp: string): Promise<SipResponse> {
    const dialog = this.requireEstablished();
    if (this.reinviting) throw new UaError('SIP_ERR_UA_BAD_STATE', 'a re-INVITE is already in progress');
    this.reinviting = true;
    try {
      const req = dialog.createRequest('INVITE', { body: sdp, contentType: 'application/sdp' });
      const res = await this.sendInvite(req);
      if (res.status >= 200 && res.status < 300) {
        this.localSdp = sdp;
        if (res.body.length > 0) this.remoteSdp = res.body.toString('utf8');
        dialog.refreshTarget(res);
        this.ack(req);
      } else if (res.status === 408 || res.status === 481) {
        // The dialog is gone at the peer (RFC 3261 §12.2.1.2).
        void this.bye('dialog-lost');
      }
      return res;
    } finally {
      this.reinviting = false;
    }
  }

  /** INFO within the dialog (RFC 6086), e.g. `application/dtmf-relay`. */
  async info(contentType: string, body: string): Promise<SipResponse> {
    this.requireEstablished();
    return this.inDialogRequest('INFO', body, contentType);
  }

  /** MESSAGE within the dialog (RFC 3428 §4). */
  async message(body: string, contentType = 'text/plain'): Promise<SipResponse> {
    this.requireEstablished();
    return this.inDialogRequest('MESSAGE', body, contentType);
  }

  // ---- DialogOwner ------------------------------------------------------------------------------

  onDialogRequest(req: SipRequest, tx: ServerTransaction): void {
    const stack = this.user.stack;
    const dialog = this.dialog;
    if (!dialog) return void stack.respond(tx, 481);
    if (dialog.receiveRequest(req) === 'out-of-order') return void stack.respond(tx, 500, 'CSeq Out of Order');
    switch (req.method) {
      case 'BYE':
        stack.respond(tx, 200);
        this.pendingUas2xx?.stop();
        this.finish({ by: 'remote', cause: 'bye' });
        return;
      case 'INVITE':
        return this.onRemoteReinvite(req, tx);
      case 'INFO':
        stack.respond(tx, 200);
        this.emit('info', req);
        return;
      case 'MESSAGE':
        stack.respond(tx, 200);
        this.emit('message', req);
        return;
      case 'OPTIONS':
        stack.respond(tx, 200, undefined, stack.capabilityHeaders());
        return;
      default:
        stack.respond(tx, 405, undefined, [['Allow', ALLOW]]);
    }
  }

  onDialogAck(ack: SipRequest, _flow: Flow): void {
    const pending = this.pendingUas2xx;
    if (pending && ack.cseq.seq === pending.cseq) {
      pending.stop();
      this.pendingUas2xx = undefined;
      if (ack.body.length > 0) this.remoteSdp = ack.body.toString('utf8');
      this.emit('confirmed');
    }
  }

  // ---- shared machinery -------------------------------------------------------------------------

  /**
   * Sends our 2xx to an INVITE and keeps re-sending it, T1 doubling to T2, until the ACK arrives;
   * after 64·T1 without one the session is ended with a BYE (RFC 3261 §13.3.1.4).
   */
  protected sendUas2xx(tx: ServerTransaction, res: SipResponse): void {
    const { t1, t2 } = this.user.stack.timers;
    let interval = t1;
    let timer: NodeJS.Timeout | undefined;
    const started = Date.now();
    const stop = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    };
    const tick = () => {
      if (Date.now() - started >= 64 * t1) {
        this.pendingUas2xx = undefined;
        this.user.stack.logger.warn({ callId: res.callId }, 'no ACK for 2xx: ending the call');
        void this.bye('ack-timeout');
        return;
      }
      try {
        tx.respond(res);
      } catch {
        // The transaction is gone; the ACK may still come to the dialog.
      }
      interval = Math.min(interval * 2, t2);
      timer = setTimeout(tick, interval);
    };
    this.pendingUas2xx = { cseq: res.cseq.seq, stop };
    tx.respond(res);
    timer = setTimeout(tick, interval);
  }

  /** ACK for a 2xx, built from the dialog and sent without a transaction (RFC 3261 §13.2.2.4). */
  protected ack(invite: SipRequest, dialog = this.dialog): SipRequest | undefined {
    if (!dialog) return undefined;
    const ack = dialog.createRequest('ACK', { cseq: invite.cseq.seq });
    // Credentials of the INVITE go on its ACK too (RFC 3261 §22.1).
    for (const name of ['Authorization', 'Proxy-Authorization']) {
      for (const v of invite.headers.getAll(name)) ack.headers.append(name, v);
    }
    void this.sendAck(ack);
    return ack;
  }

  protected async sendAck(ack: SipRequest): Promise<void> {
    const stack = this.user.stack;
    stack.decorate(ack);
    try {
      const [target] = await stack.targetsFor(ack);
      await stack.transactions.sendAck2xx(ack, target);
    } catch (err) {
      stack.logger.warn({ err, callId: ack.callId }, 'could not send ACK');
    }
  }

  /** Sends an INVITE (initial or re-INVITE) and resolves with its final response; 2xx retransmissions are left to the caller. */
  protected async sendInvite(req: SipRequest, onProvisional?: (res: SipResponse) => void): Promise<SipResponse> {
    const stack = this.user.stack;
    const [target] = await stack.targetsFor(req);
    return new Promise((resolve) => {
      let done = false;
      const user: ClientTransactionUser = {
        onResponse: (res) => {
          if (res.status < 200) onProvisional?.(res);
          else if (!done) {
            done = true;
            resolve(res);
          }
        },
        onTimeout: (_tx, err) => resolve(synthetic(req, err)),
        onTransportError: (err) => resolve(synthetic(req, err)),
      };
      stack.sendInvite(req, target as SendTarget, user);
    });
  }

  protected async inDialogRequest(method: string, body?: string, contentType?: string): Promise<SipResponse> {
    const dialog = this.dialog;
    if (!dialog) throw new UaError('SIP_ERR_UA_BAD_STATE', `no dialog for ${method}`);
    const req = dialog.createRequest(method, { body, contentType });
    const { stack } = this.user;
    try {
      const res = await stack.request(req, this.user.requestOptions());
      if ((res.status === 408 || res.status === 481) && method !== 'BYE') void this.bye('dialog-lost');
      return res;
    } catch (err) {
      if (method !== 'BYE') void this.bye('dialog-lost');
      throw err;
    }
  }

  protected requireEstablished(): Dialog {
    if (this.stateValue !== 'Established' || !this.dialog) {
      throw new UaError('SIP_ERR_UA_BAD_STATE', `call is ${this.stateValue}, not Established`);
    }
    return this.dialog;
  }

  private onRemoteReinvite(req: SipRequest, tx: ServerTransaction): void {
    const stack = this.user.stack;
    const dialog = this.dialog!;
    if (this.reinviting || this.pendingUas2xx) {
      // Glare: both sides re-INVITE at once (RFC 3261 §14.2).
      stack.respond(tx, 491);
      return;
    }
    const offer = req.body.length > 0 ? req.body.toString('utf8') : undefined;
    let answered = false;
    const reinvite: RemoteReinvite = {
      request: req,
      sdp: offer,
      accept: (sdp) => {
        if (answered) return;
        answered = true;
        dialog.refreshTarget(req);
        if (offer) this.remoteSdp = offer;
        if (sdp) this.localSdp = sdp;
        const body = sdp ?? this.localSdp;
        const res = this.build2xx(tx, body);
        this.sendUas2xx(tx, res);
      },
      reject: (status = 488, reason) => {
        if (answered) return;
        answered = true;
        stack.respond(tx, status, reason);
      },
    };
    // Nobody decides: keep the media as it is and answer with our current SDP.
    if (this.listenerCount('reinvite') === 0) return reinvite.accept();
    this.emit('reinvite', reinvite);
  }

  /** A 2xx to an INVITE with our Contact and SDP, in the dialog's To tag. */
  protected build2xx(tx: ServerTransaction, sdp: string | undefined): SipResponse {
    const { stack } = this.user;
    const dialog = this.dialog!;
    return stack.buildResponse(tx.request, 200, undefined, [['Contact', formatNameAddr(dialog.localContact)], ['Allow', ALLOW]], {
      toTag: dialog.localTag,
      body: sdp,
      contentType: sdp ? 'application/sdp' : undefined,
    });
  }

  protected finish(reason: EndReason): void {
    if (this.stateValue === 'Terminated') return;
    this.stateValue = 'Terminated';
    this.endReason = reason;
    this.pendingUas2xx?.stop();
    if (this.dialog) {
      this.dialog.terminate();
      this.user.stack.removeDialog(this.dialog.key);
    }
    this.emit('ended', reason);
    this.removeAllListeners();
  }
}

/** A final response standing for a timeout or transport failure (RFC 3261 §8.1.3.1). */
function synthetic(req: SipRequest, err: unknown): SipResponse {
  const { status, reason } = failureStatus(err);
  return createResponse(req, status, reason);
}
