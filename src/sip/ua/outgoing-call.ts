/**
 * A call we place (RFC 3261 §13.2): INVITE, provisional responses and early dialogs, the 2xx that
 * confirms one dialog (later forked 2xx are ACKed and hung up), CANCEL before an answer (§9.1),
 * and one round of digest authentication.
 */
import { Dialog } from '../dialog/index.ts';
import { createRequest, formatNameAddr, type SipRequest, type SipResponse, type SipUri } from '../message/index.ts';
import type { ClientTransaction, ClientTransactionUser } from '../transaction/index.ts';
import { failureStatus } from './sip-stack.ts';
import { Session } from './session.ts';
import type { SipUser } from './sip-user.ts';

export interface OutgoingCallOptions {
  /** The SDP offer. */
  sdp?: string;
  /** Extra headers for the INVITE. */
  headers?: Array<[string, string]>;
}

export class OutgoingCall extends Session {
  readonly target: SipUri;
  private readonly opts: OutgoingCallOptions;
  private invite: SipRequest | undefined;
  private tx: ClientTransaction | undefined;
  private readonly earlyDialogs = new Map<string, Dialog>();
  /** The ACK we sent for each 2xx, by To tag, to repeat when the 2xx is retransmitted. */
  private readonly acks = new Map<string, SipRequest>();
  private provisionalSeen = false;
  /** The last provisional status per To tag, to recognise retransmitted copies. */
  private readonly lastProvisional = new Map<string, string>();
  private cancelRequested = false;
  private authRounds = 0;

  constructor(user: SipUser, target: SipUri, opts: OutgoingCallOptions) {
    super(user);
    this.target = target;
    this.opts = opts;
    this.localSdp = opts.sdp;
  }

  /** The INVITE as last sent (after any authentication retry). */
  get request(): SipRequest | undefined {
    return this.invite;
  }

  /** @internal */
  start(): void {
    const req = this.user.outOfDialog('INVITE', this.target, this.opts.sdp, this.opts.sdp ? 'application/sdp' : undefined);
    req.headers.set('Contact', formatNameAddr(this.user.contact()));
    req.headers.set('Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO');
    for (const [name, value] of this.opts.headers ?? []) req.headers.append(name, value);
    this.user.digest.preauthorize(req, this.user.credentials ?? (() => undefined));
    this.user.stack.addInviteClient(req.callId, this);
    void this.send(req);
  }

  /** Cancels before the answer (CANCEL after the first provisional, RFC 3261 §9.1), or hangs up after it. */
  async terminate(cause = 'cancel'): Promise<void> {
    if (this.stateValue === 'Terminated') return;
    if (this.stateValue === 'Established') return this.bye(cause);
    const ended = this.next('ended');
    this.cancelRequested = true;
    if (this.provisionalSeen) this.sendCancel();
    // Without any provisional the CANCEL must wait; Timer B bounds the wait (RFC 3261 §9.1).
    await ended;
  }

  private async send(req: SipRequest): Promise<void> {
    this.invite = req;
    const stack = this.user.stack;
    let target;
    try {
      [target] = await stack.targetsFor(req);
    } catch (err) {
      const { status, reason } = failureStatus(err);
      return this.fail(status, reason);
    }
    const user: ClientTransactionUser = {
      onResponse: (res) => this.onResponse(req, res),
      onTimeout: (_tx, err) => this.onFailure(err),
      onTransportError: (err) => this.onFailure(err),
    };
    this.tx = stack.sendInvite(req, target!, user);
  }

  private onFailure(err: unknown): void {
    if (this.stateValue === 'Established' || this.stateValue === 'Terminated') return;
    const { status, reason } = failureStatus(err);
    this.fail(status, reason);
  }

  private onResponse(req: SipRequest, res: SipResponse): void {
    if (req !== this.invite) return; // a response to an INVITE we already re-sent with credentials
    if (res.status < 200) return this.onProvisional(req, res);
    if (res.status < 300) return this.on2xx(req, res);
    if ((res.status === 401 || res.status === 407) && this.user.credentials && this.authRounds < 2 && !this.cancelRequested) {
      this.authRounds++;
      const retry = this.user.digest.authorize(req, res, this.user.credentials);
      if (retry) return void this.send(retry);
    }
    const cancelled = this.cancelRequested && res.status === 487;
    this.finish({
      by: cancelled ? 'local' : 'remote',
      cause: cancelled ? 'cancel' : 'rejected',
      status: res.status,
      reason: res.reason,
    });
  }

  private onProvisional(req: SipRequest, res: SipResponse): void {
    if (this.stateValue === 'Terminated') return;
    // A UAS re-sends its last provisional when our INVITE is retransmitted (RFC 3261 §17.2.1):
    // the same status from the same fork again is that copy, not news.
    const key = `${res.toTag ?? ''} ${res.status}`;
    if (this.lastProvisional.get(res.toTag ?? '') === key) return;
    this.lastProvisional.set(res.toTag ?? '', key);
    const first = !this.provisionalSeen;
    this.provisionalSeen = true;
    if (first && this.cancelRequested) this.sendCancel();
    const toTag = res.toTag;
    // A 1xx with a To tag creates an early dialog (RFC 3261 §12.1.2); one per fork.
    if (toTag && res.status > 100 && !this.earlyDialogs.has(toTag)) {
      const dialog = Dialog.asUac(req, res, this.user.contact());
      this.earlyDialogs.set(toTag, dialog);
      this.user.stack.addDialog(dialog.key, this);
      this.dialog ??= dialog;
    }
    if (res.status > 100) {
      if (this.stateValue === 'Calling') this.stateValue = 'Early';
      if (res.body.length > 0 && !this.remoteSdp) this.remoteSdp = res.body.toString('utf8');
      this.emit('progress', res);
    }
  }

  private on2xx(req: SipRequest, res: SipResponse): void {
    const toTag = res.toTag ?? '';
    const repeat = this.acks.get(toTag);
    if (repeat) {
      void this.sendAck(repeat); // 2xx retransmission: same ACK again (RFC 3261 §13.2.2.4)
      return;
    }
    if (this.stateValue === 'Established' || this.stateValue === 'Terminated' || this.stateValue === 'Terminating') {
      // Another fork answered, or the CANCEL lost the race: ACK it, then hang it up.
      const extra = Dialog.asUac(req, res, this.user.contact());
      const ack = this.ack(req, extra);
      if (ack) this.acks.set(toTag, ack);
      void this.user.stack.request(extra.createRequest('BYE')).catch(() => undefined);
      return;
    }
    let dialog = this.earlyDialogs.get(toTag);
    if (dialog) dialog.confirm(res);
    else {
      dialog = Dialog.asUac(req, res, this.user.contact());
      this.user.stack.addDialog(dialog.key, this);
    }
    // Other early dialogs end with this answer (RFC 3261 §13.2.2.4).
    for (const [tag, early] of this.earlyDialogs) if (tag !== toTag) this.user.stack.removeDialog(early.key);
    this.dialog = dialog;
    if (res.body.length > 0) this.remoteSdp = res.body.toString('utf8');
    const ack = this.ack(req, dialog);
    if (ack) this.acks.set(toTag, ack);
    this.stateValue = 'Established';
    if (this.cancelRequested) {
      void this.bye('cancel');
      return;
    }
    this.emit('established');
  }

  onStray2xx(res: SipResponse): void {
    if (this.invite && res.cseq.seq === this.invite.cseq.seq) this.on2xx(this.invite, res);
  }

  /** CANCEL: the INVITE's Request-URI, Call-ID, From, To, CSeq number and top Via (RFC 3261 §9.1). */
  private sendCancel(): void {
    const invite = this.tx?.request ?? this.invite;
    if (!invite || !this.tx) return;
    const cancel = createRequest({
      method: 'CANCEL',
      uri: invite.uri,
      from: invite.from,
      to: invite.to,
      callId: invite.callId,
      cseq: invite.cseq.seq,
      headers: [['Via', invite.headers.getAll('Via')[0]!], ...invite.headers.getAll('Route').map((r): [string, string] => ['Route', r])],
    });
    void this.user.stack.request(cancel, { target: this.tx.target }).catch((err) => {
      this.user.stack.logger.debug({ err, callId: invite.callId }, 'CANCEL failed');
    });
  }

  private fail(status: number, reason: string): void {
    this.finish({ by: 'error', cause: status === 408 ? 'timeout' : 'failed', status, reason });
  }

  protected override finish(reason: Parameters<Session['finish']>[0]): void {
    for (const early of this.earlyDialogs.values()) this.user.stack.removeDialog(early.key);
    super.finish(reason);
    // Keep answering 2xx retransmissions for a while after the end (Timer M, RFC 6026 §7.2).
    const callId = this.invite?.callId;
    if (!callId) return;
    const t = setTimeout(() => this.user.stack.removeInviteClient(callId), 64 * this.user.stack.timers.t1);
    t.unref?.();
  }
}

