/**
 * A call between a client (the browser leg) and SIP (one INVITE dialog). Signalling only for now:
 * every SDP crosses the media port (identity until the media bridge exists), trickled candidates
 * are collected for it.
 *
 * States, as the door reports them: outgoing `progress` → (`early-media`) → `accepted` →
 * `established`; incoming `connecting` → `accepted` → `established`; any → `terminated`.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  UaError,
  failureStatus,
  type EndReason,
  type IncomingCall,
  type OutgoingCall,
  type RemoteReinvite,
  type SessionEvents,
} from '../sip/ua/index.ts';
import type { Account } from './account.ts';
import { partyOf } from './aor.ts';
import type { Connection } from './connection.ts';
import { CoreEmitter, type LogLevel } from './core-emitter.ts';
import type { MediaCallRef } from './media-port.ts';
import { isPending, mediaOf, type CallInfo } from './policy.ts';
import { outgoingMessageBody, readIncomingMessage } from './message.ts';
import {
  CoreError,
  type Aor,
  type CallStateEvent,
  type CallUpdateEvent,
  type CreateCallCommand,
  type DispositionEvent,
  type IceCandidate,
  type IncomingMessageEvent,
  type OutgoingMessageCommand,
  type Party,
} from './types.ts';

export type CallStateName = 'connecting' | 'progress' | 'early-media' | 'accepted' | 'established' | 'terminated';

export interface CallEvents extends Record<string, unknown[]> {
  state: [CallStateEvent];
  update: [CallUpdateEvent];
  /** A MESSAGE within the call's dialog. */
  message: [IncomingMessageEvent];
  /** Outcome of `sendMessage`, or an IMDN received within the dialog. */
  disposition: [DispositionEvent];
}

/** What `Call.sendMessage` needs: the message without account and target (the dialog names them). */
export type CallMessageCommand = Omit<OutgoingMessageCommand, 'account' | 'to'>;

const DTMF_DIGIT = /^[0-9A-Da-d*#]$/;
const PHRASES: Record<number, string> = {
  200: 'OK',
  404: 'Not Found',
  408: 'Request Timeout',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  503: 'Service Unavailable',
  603: 'Decline',
};

/** `"<code> <reason>"` as sylkRTC's `terminated` carries it. */
function statusText(status: number, reason?: string): string {
  return `${status} ${reason || PHRASES[status] || 'Unknown'}`;
}

function endText(r: EndReason): string {
  if (r.status && r.status >= 300) return statusText(r.status, r.reason);
  if (r.cause === 'bye' || r.cause === 'hangup' || r.cause === 'closed') return '200 OK';
  if (r.cause === 'cancel') return statusText(487);
  if (r.cause === 'timeout' || r.cause === 'ack-timeout') return statusText(408);
  if (r.status) return statusText(r.status, r.reason);
  return 'unspecified reason';
}

/** The id of an incoming call: the SIP Call-ID's MD5, written as a UUID (as SylkServer derives it). */
export function callIdToSessionId(sipCallId: string): string {
  const h = createHash('md5').update(sipCallId).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export class Call extends CoreEmitter<CallEvents> {
  readonly id: string;
  readonly direction: 'outgoing' | 'incoming';
  /** The AOR of the account the call belongs to. */
  readonly account: Aor;
  readonly peer: Party;
  /** Incoming calls: the caller's offer, as the browser gets it. */
  readonly offer: string | undefined;
  /** Incoming calls: INVITE headers matching the account's `incomingHeaderPrefixes`. */
  readonly incomingHeaders: Record<string, string> | undefined;
  readonly connection: Connection;
  /** Candidates the client trickled, for the media layer. */
  readonly candidates: IceCandidate[] = [];
  /** The client said it has no more candidates (`trickle([])`). */
  candidatesComplete = false;
  private readonly owner: Account;
  private readonly session: OutgoingCall | IncomingCall;
  private readonly ref: MediaCallRef;
  private stateValue: CallStateName;
  private earlyMediaSent = false;
  /** What the first offer carried, for the policy. */
  private readonly media: { hasAudio: boolean; hasVideo: boolean };
  private pendingReinvite: { reinvite: RemoteReinvite; timer: NodeJS.Timeout } | undefined;
  private childLog: Logger | undefined;

  private constructor(init: {
    connection: Connection;
    account: Account;
    id: string;
    direction: 'outgoing' | 'incoming';
    peer: Party;
    session: OutgoingCall | IncomingCall;
    offer?: string;
    incomingHeaders?: Record<string, string>;
    state: CallStateName;
    media?: { hasAudio: boolean; hasVideo: boolean };
  }) {
    super();
    this.connection = init.connection;
    this.owner = init.account;
    this.account = init.account.aor;
    this.id = init.id;
    this.direction = init.direction;
    this.peer = init.peer;
    this.session = init.session;
    this.offer = init.offer;
    this.incomingHeaders = init.incomingHeaders;
    this.stateValue = init.state;
    this.media = init.media ?? mediaOf(init.offer);
    this.ref = { id: init.id, connectionId: init.connection.id, peer: init.peer.uri };
    this.session.on('reinvite', (r) => this.onRemoteReinvite(r));
    this.session.on('message', (req) => this.onDialogMessage(req.contentType ?? 'text/plain', req.body.toString('utf8')));
    this.session.on('ended', (reason) => this.onEnded(reason));
  }

  /** @internal Use `connection.createCall()`. */
  static outgoing(connection: Connection, account: Account, cmd: CreateCallCommand, target: string): Call {
    const gateway = connection.gateway;
    const ref = { id: cmd.id, connectionId: connection.id, peer: target };
    const sdp = gateway.media.offerToSip(cmd.sdp, ref);
    let session: OutgoingCall;
    try {
      session = account.sipUser.call(target, { sdp, headers: cmd.headers?.map((h): [string, string] => [h.name, h.value]) });
    } catch (err) {
      if (err instanceof UaError && err.code === 'SIP_ERR_UA_CLOSED') throw new CoreError('connection-closed', 'the account is closed');
      throw new CoreError('invalid-uri', `invalid call target: ${cmd.to}`, { uri: cmd.to });
    }
    const call = new Call({ connection, account, id: cmd.id, direction: 'outgoing', peer: partyOf(target), session, state: 'progress', media: mediaOf(cmd.sdp) });
    session.on('progress', (res) => call.onProvisional(res));
    session.on('established', () => call.onAnswered());
    gateway.observer.callStateChanged?.(call, 'none', 'progress');
    call.logAt('info', { to: target }, 'outgoing call');
    // The INVITE is on its way (sylkRTC `progress`), reported after the command returns.
    call.emitSoon('state', { state: 'progress' });
    return call;
  }

  /** @internal What the policy is asked about an outgoing call before it exists. */
  static outgoingInfo(account: Account, cmd: CreateCallCommand, target: string): CallInfo {
    return { id: cmd.id, direction: 'outgoing', account: account.aor, caller: account.party, callee: partyOf(target), ...mediaOf(cmd.sdp) };
  }

  /** @internal What the policy is asked about an incoming INVITE before the client hears of it. */
  static incomingInfo(account: Account, session: IncomingCall): CallInfo {
    const from = session.request.from;
    return {
      id: callIdToSessionId(session.request.callId),
      direction: 'incoming',
      account: account.aor,
      caller: partyOf(from.uri.user ? `${from.uri.user}@${from.uri.host}` : from.uri.host, from.displayName),
      callee: account.party,
      sipCallId: session.request.callId,
      ...mediaOf(session.offer),
    };
  }

  /** @internal An INVITE reached `account`; undefined if the call was refused. */
  static incoming(connection: Connection, account: Account, session: IncomingCall): Call | undefined {
    const gateway = connection.gateway;
    const req = session.request;
    const from = req.from;
    const peer = partyOf(from.uri.user ? `${from.uri.user}@${from.uri.host}` : from.uri.host, from.displayName);
    let incomingHeaders: Record<string, string> | undefined;
    if (account.incomingHeaderPrefixes.length > 0) {
      for (const [name, value] of req.headers.entries()) {
        const lower = name.toLowerCase();
        if (account.incomingHeaderPrefixes.some((p) => lower.startsWith(p))) (incomingHeaders ??= {})[name] = value;
      }
    }
    const id = callIdToSessionId(req.callId);
    const ref = { id, connectionId: connection.id, peer: peer.uri };
    let offer: string | undefined;
    try {
      offer = session.offer !== undefined ? gateway.media.offerFromSip(session.offer, ref) : undefined;
    } catch (err) {
      // An offer the media layer cannot take (no codec in common, malformed SDP): 488 (RFC 3261 §21.4.26).
      const status = (err as { status?: unknown }).status;
      session.reject(typeof status === 'number' && status >= 400 && status < 700 ? status : 488, (err as { reason?: string }).reason);
      account.logAt('info', { err }, 'incoming call refused: its media cannot be bridged');
      return undefined;
    }
    const call = new Call({ connection, account, id, direction: 'incoming', peer, session, offer, incomingHeaders, state: 'connecting' });
    if (!connection.adoptCall(call)) {
      session.reject(486);
      return undefined;
    }
    session.on('confirmed', () => call.onConfirmed());
    gateway.observer.callStateChanged?.(call, 'none', 'connecting');
    call.logAt('info', { from: peer.uri }, 'incoming call');
    // Ring the caller while the client decides (RFC 3261 §13.3.1.1).
    session.progress(180);
    return call;
  }

  /** @internal */
  reportError(code: string, err: unknown): void {
    this.connection.gateway.reportError(code, err);
  }

  get log(): Logger {
    return (this.childLog ??= this.owner.log.child({ callId: this.id, sipCallId: this.sipCallId }));
  }

  logAt(level: LogLevel, obj: object, msg: string): void {
    this.owner.logAt(level, { callId: this.id, sipCallId: this.sipCallId, ...obj }, msg);
  }

  get state(): CallStateName {
    return this.stateValue;
  }

  /** The same as `incomingHeaders` (the name the sylkRTC door reads). */
  get headers(): Record<string, string> | undefined {
    return this.incomingHeaders;
  }

  /** The SIP dialog's Call-ID. */
  get sipCallId(): string | undefined {
    const s = this.session;
    return 'transaction' in s ? s.request.callId : s.request?.callId;
  }

  /** What the policy sees of this call. */
  policyInfo(): CallInfo {
    const caller = this.direction === 'outgoing' ? this.owner.party : this.peer;
    const callee = this.direction === 'outgoing' ? this.peer : this.owner.party;
    const sipCallId = this.sipCallId;
    return { id: this.id, direction: this.direction, account: this.account, caller, callee, ...(sipCallId ? { sipCallId } : {}), ...this.media };
  }

  /** `answer` after asking the policy (WCS `answer`); a refusal rejects with `policy-denied`. */
  async answerChecked(sdp: string, headers?: Array<{ name: string; value: string }>): Promise<void> {
    if (this.direction !== 'incoming' || this.stateValue !== 'connecting') return this.answer(sdp, headers);
    const answer = this.connection.policy.answer(this.policyInfo());
    if (isPending(answer)) await answer;
    this.answer(sdp, headers);
  }

  /** `sendDtmf` after asking the policy (WCS `sendDtmf`); a refusal rejects with `policy-denied`. */
  async sendDtmfChecked(digit: string, durationMs = 100): Promise<void> {
    if (!DTMF_DIGIT.test(digit)) throw new CoreError('invalid-argument', `not a DTMF digit: ${digit}`, { digit });
    this.requireAnswered('sendDtmf');
    const answer = this.connection.policy.sendDtmf(this.policyInfo(), digit, durationMs);
    if (isPending(answer)) await answer;
    this.sendDtmf(digit, durationMs);
  }

  /** Answers an incoming call with the client's SDP (200 OK). Throws `call-bad-state` otherwise. */
  answer(sdp: string, _headers?: Array<{ name: string; value: string }>): void {
    // Not yet: extra headers on the 200 OK (the user agent layer has no way to add them).
    if (this.direction !== 'incoming' || this.stateValue !== 'connecting') {
      throw new CoreError('call-bad-state', `call ${this.id} cannot be answered in state ${this.stateValue}`, { call: this.id, state: this.stateValue });
    }
    const session = this.session as IncomingCall;
    session.accept({ sdp: this.connection.gateway.media.answerToSip(sdp, this.ref) });
    this.setState('accepted');
    this.emitSoon('state', { state: 'accepted' });
  }

  /** Candidates from the client; `[]` marks their end. Throws `call-terminated` after the end. */
  trickle(candidates: IceCandidate[]): void {
    if (this.stateValue === 'terminated') throw new CoreError('call-terminated', `call ${this.id} is terminated`, { call: this.id });
    if (candidates.length === 0) this.candidatesComplete = true;
    else this.candidates.push(...candidates);
    this.connection.gateway.media.trickle(candidates, this.ref);
  }

  /**
   * Ends the call the way its state needs: an unanswered incoming call is declined (486 by
   * default), an unanswered outgoing one CANCELled (RFC 3261 §9.1), an answered one BYEd
   * (§15.1.1). `terminated` is reported at once (with `reason` when given, e.g. a media timeout);
   * SIP finishes in the background. Idempotent.
   */
  terminate(reason?: string): void {
    if (this.stateValue === 'terminated') return;
    this.connection.policy.report({ type: 'hangup', call: this.policyInfo() });
    const session = this.session;
    const decline = this.connection.gateway.settings.declineCode;
    if (this.direction === 'incoming' && this.stateValue === 'connecting') {
      this.finish(reason ?? statusText(decline), true);
      (session as IncomingCall).reject(decline);
    } else if (session.state === 'Established') {
      this.finish(reason ?? '200 OK', true);
      void session.terminate('hangup');
    } else {
      this.finish(reason ?? statusText(487), true);
      void session.terminate('cancel');
    }
  }

  /**
   * A new offer (re-INVITE, RFC 3261 §14.1), or the answer to the peer's re-INVITE after an
   * `update` `received`. Outcome of an offer: `update` `accepted` (with the answer) or `failed`.
   */
  update(sdp: string): void {
    const media = this.connection.gateway.media;
    const pending = this.pendingReinvite;
    if (pending) {
      clearTimeout(pending.timer);
      this.pendingReinvite = undefined;
      pending.reinvite.accept(media.answerToSip(sdp, this.ref));
      return;
    }
    this.requireAnswered('update');
    this.session.reinvite(media.offerToSip(sdp, this.ref)).then(
      (res) => {
        if (this.stateValue === 'terminated') return;
        if (res.status >= 200 && res.status < 300) {
          const answer = this.session.remoteSdp;
          this.emitInOrder('update', answer ? { state: 'accepted', sdp: media.answerFromSip(answer, this.ref) } : { state: 'accepted' });
        } else this.emitInOrder('update', { state: 'failed', reason: statusText(res.status, res.reason) });
      },
      (err: unknown) => {
        const { status, reason } = failureStatus(err);
        if (this.stateValue !== 'terminated') this.emitInOrder('update', { state: 'failed', reason: statusText(status, reason) });
      },
    );
  }

  /** A DTMF digit as SIP INFO `application/dtmf-relay` (the form SIP phones and PBXs accept). */
  sendDtmf(digit: string, durationMs = 100): void {
    if (!DTMF_DIGIT.test(digit)) throw new CoreError('invalid-argument', `not a DTMF digit: ${digit}`, { digit });
    this.requireAnswered('sendDtmf');
    const duration = Number.isFinite(durationMs) && durationMs > 0 ? Math.round(durationMs) : 100;
    this.session.info('application/dtmf-relay', `Signal=${digit.toUpperCase()}\r\nDuration=${duration}\r\n`).then(
      (res) => {
        if (res.status >= 300) this.logAt('info', { status: res.status, digit }, 'DTMF INFO refused');
      },
      (err: unknown) => {
        this.logAt('warn', { err, digit }, 'DTMF INFO failed');
        this.reportError('sip-info', err);
      },
    );
  }

  /** A MESSAGE within the dialog (RFC 3428 §4), CPIM-wrapped; outcome as a `disposition` event. */
  sendMessage(cmd: CallMessageCommand): void {
    this.requireAnswered('sendMessage');
    const { contentType, body } = outgoingMessageBody(this.owner.party, this.peer, cmd);
    this.session.message(body, contentType).then(
      (res) => {
        const ok = res.status >= 200 && res.status < 300;
        this.emitInOrder('disposition', { messageId: cmd.messageId, messageTimestamp: cmd.timestamp, state: ok ? 'accepted' : 'failed', code: res.status, reason: res.reason });
      },
      (err: unknown) => {
        const { status, reason } = failureStatus(err);
        this.emitInOrder('disposition', { messageId: cmd.messageId, messageTimestamp: cmd.timestamp, state: 'failed', code: status, reason });
      },
    );
  }

  // ---- SIP side --------------------------------------------------------------------------------

  private onProvisional(res: SessionEvents['progress'][0]): void {
    if (this.stateValue === 'terminated') return;
    this.emitInOrder('state', { state: 'proceeding', code: res.status });
    if (res.status === 180) this.emitInOrder('state', { state: 'ringing' });
    const sdp = res.body.length > 0 && (res.contentType ?? '').toLowerCase().startsWith('application/sdp') ? res.body.toString('utf8') : undefined;
    // The answer goes to the client exactly once: here, or in `accepted`.
    if (sdp && !this.earlyMediaSent) {
      this.earlyMediaSent = true;
      this.setState('early-media');
      this.emitInOrder('state', { state: 'early-media', sdp: this.connection.gateway.media.answerFromSip(sdp, this.ref), callId: res.callId });
    }
  }

  private onAnswered(): void {
    if (this.stateValue === 'terminated') return;
    const remote = this.session.remoteSdp;
    const callId = this.sipCallId;
    this.setState('accepted');
    if (this.earlyMediaSent || !remote) this.emitInOrder('state', { state: 'accepted' });
    else this.emitInOrder('state', { state: 'accepted', sdp: this.connection.gateway.media.answerFromSip(remote, this.ref), callId });
    // Signalling only: the media is up once the dialog is (the media bridge will report its own).
    this.setState('established');
    this.emitInOrder('state', { state: 'established' });
  }

  private onConfirmed(): void {
    if (this.stateValue !== 'accepted') return;
    this.setState('established');
    this.emitInOrder('state', { state: 'established' });
  }

  private onRemoteReinvite(reinvite: RemoteReinvite): void {
    if (this.stateValue === 'terminated' || this.listenerCount('update') === 0) return reinvite.accept();
    // A client that never answers must not hold the peer's re-INVITE: keep the media as it is.
    const timer = setTimeout(() => {
      if (this.pendingReinvite?.reinvite !== reinvite) return;
      this.pendingReinvite = undefined;
      this.logAt('info', {}, 'no answer to the re-INVITE from the client; media kept as is');
      reinvite.accept();
    }, this.connection.gateway.settings.reinviteAnswerTimeoutMs);
    timer.unref?.();
    this.pendingReinvite = { reinvite, timer };
    const media = this.connection.gateway.media;
    this.emitInOrder('update', reinvite.sdp ? { state: 'received', sdp: media.offerFromSip(reinvite.sdp, this.ref) } : { state: 'received' });
  }

  private onDialogMessage(contentType: string, body: string): void {
    if (this.stateValue === 'terminated') return;
    let content;
    try {
      content = readIncomingMessage(contentType, body, this.peer);
    } catch (err) {
      this.logAt('info', { err }, 'malformed CPIM in dialog ignored');
      this.reportError('cpim-malformed', err);
      return;
    }
    if (content.kind === 'message') this.emitInOrder('message', content.event);
    else this.emitInOrder('disposition', content.event);
  }

  private onEnded(reason: EndReason): void {
    if (this.stateValue === 'terminated') return; // we ended it; SIP has now caught up
    const missed = this.direction === 'incoming' && this.stateValue === 'connecting' && reason.cause === 'cancel';
    this.logAt('info', { by: reason.by, cause: reason.cause, status: reason.status }, 'call ended');
    this.finish(endText(reason), false);
    if (missed) this.owner.missed(this.peer);
  }

  private finish(reason: string, soon: boolean): void {
    if (this.pendingReinvite) clearTimeout(this.pendingReinvite.timer);
    this.pendingReinvite = undefined;
    this.setState('terminated');
    this.connection.forgetCall(this);
    this.connection.gateway.media.release(this.ref);
    if (soon) this.emitSoon('state', { state: 'terminated', reason });
    else this.emitInOrder('state', { state: 'terminated', reason });
  }

  private setState(to: CallStateName): void {
    const from = this.stateValue;
    if (from === to) return;
    this.stateValue = to;
    this.connection.gateway.observer.callStateChanged?.(this, from, to);
  }

  private requireAnswered(what: string): void {
    if ((this.stateValue !== 'accepted' && this.stateValue !== 'established') || this.session.state !== 'Established') {
      throw new CoreError('call-bad-state', `${what} needs an answered call; call ${this.id} is ${this.stateValue}`, { call: this.id, state: this.stateValue });
    }
  }
}
