/**
 * A call the peer places to one of our users (RFC 3261 §13.3): provisional answers with an early
 * dialog, the 2xx re-sent until ACK, rejection, and CANCEL (RFC 3261 §9.2: 487 to the INVITE).
 */
import { Dialog } from '../dialog/index.ts';
import { formatNameAddr, newTag, type SipRequest } from '../message/index.ts';
import type { ServerTransaction } from '../transaction/index.ts';
import { ALLOW } from './sip-stack.ts';
import { Session } from './session.ts';
import type { SipUser } from './sip-user.ts';

export class IncomingCall extends Session {
  readonly request: SipRequest;
  readonly transaction: ServerTransaction;
  private readonly localTag = newTag();
  private answered = false;

  constructor(user: SipUser, request: SipRequest, tx: ServerTransaction) {
    super(user);
    this.request = request;
    this.transaction = tx;
    if (request.body.length > 0) this.remoteSdp = request.body.toString('utf8');
    if (request.contacts().length === 0 || !request.fromTag) {
      // A dialog cannot exist without them (RFC 3261 §8.1.1.8, §12.1.1).
      this.answered = true;
      user.stack.respond(tx, 400, 'Missing Contact or From tag');
      this.stateValue = 'Terminated';
      return;
    }
    this.dialog = Dialog.asUas(request, this.localTag, user.contact(), 'Early');
    user.stack.addDialog(this.dialog.key, this);
  }

  /** The caller's offer, if the INVITE carried one. */
  get offer(): string | undefined {
    return this.remoteSdp;
  }

  get from(): string {
    return this.request.headers.get('From') ?? '';
  }

  /** 180 Ringing or 183 Session Progress (with early-media SDP), in the early dialog. */
  progress(status = 180, opts: { sdp?: string; reason?: string } = {}): void {
    if (this.answered || this.stateValue === 'Terminated') return;
    if (opts.sdp) this.localSdp = opts.sdp;
    this.stateValue = 'Early';
    this.user.stack.respond(this.transaction, status, opts.reason, [['Contact', formatNameAddr(this.dialog!.localContact)]], {
      toTag: this.localTag,
      body: opts.sdp,
      contentType: opts.sdp ? 'application/sdp' : undefined,
    });
  }

  /** 200 OK with our answer; re-sent until the ACK comes (RFC 3261 §13.3.1.4). */
  accept(opts: { sdp?: string } = {}): void {
    if (this.answered || this.stateValue === 'Terminated') return;
    this.answered = true;
    if (opts.sdp) this.localSdp = opts.sdp;
    this.dialog!.confirm();
    this.stateValue = 'Established';
    this.sendUas2xx(this.transaction, this.build2xx(this.transaction, this.localSdp));
    this.emit('established');
  }

  /** Declines: 486 Busy Here by default; 603 Decline, 480, 488 ... as the caller needs. */
  reject(status = 486, reason?: string): void {
    if (this.answered || this.stateValue === 'Terminated') return;
    this.answered = true;
    const headers: Array<[string, string]> = status === 405 ? [['Allow', ALLOW]] : [];
    this.user.stack.respond(this.transaction, status, reason, headers, { toTag: this.localTag });
    this.finish({ by: 'local', cause: 'rejected', status, reason });
  }

  /** @internal The caller cancelled: 487 to the INVITE (the stack already answered the CANCEL). */
  cancelled(): void {
    if (this.answered || this.stateValue === 'Terminated') return;
    this.answered = true;
    this.user.stack.respond(this.transaction, 487, undefined, [], { toTag: this.localTag });
    this.finish({ by: 'remote', cause: 'cancel', status: 487 });
  }

  async terminate(cause = 'hangup'): Promise<void> {
    if (this.stateValue === 'Terminated') return;
    if (this.stateValue === 'Established') return this.bye(cause);
    this.reject(cause === 'closed' ? 480 : 486);
  }

  override onDialogRequest(req: SipRequest, tx: ServerTransaction): void {
    // BYE in the early dialog: 200 to it and 487 to the INVITE (RFC 3261 §15.1.2).
    if (req.method === 'BYE' && !this.answered) {
      this.answered = true;
      this.user.stack.respond(tx, 200);
      this.user.stack.respond(this.transaction, 487, undefined, [], { toTag: this.localTag });
      this.finish({ by: 'remote', cause: 'bye', status: 487 });
      return;
    }
    super.onDialogRequest(req, tx);
  }
}
