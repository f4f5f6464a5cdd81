/**
 * One sylkRTC connection: its accounts and calls as the client sees them, and the single FIFO
 * through which every request AND every core event of the connection passes, one at a time.
 *
 * Why one FIFO (reference §0.5, §1.5): sylkrtc.js fires `session-create` and then, without
 * waiting, one `session-trickle` per ICE candidate; an error on any trickle (an "Unknown session"
 * because the create was not processed yet) makes it drop the call. And the ack of a request goes
 * out before the events the request set in motion (`registering` after the ack of
 * `account-register`, `progress` after the ack of `session-create`), as SylkServer does: those
 * events are queued behind the request that caused them.
 *
 * Guarantees kept here for an unmodified sylkrtc.js (reference §0):
 *   - `ready-event` is the first frame;
 *   - the answer SDP of an outgoing call is sent exactly once: in `early-media` or in `accepted`;
 *   - `terminated` is sent once per session, and at most `terminateGraceMs` after the ack of a
 *     `session-terminate` (if the core has not reported it by then, the door reports it itself);
 *   - `registration-state` only on change, and never the core's `unregistered` (sylkRTC has none).
 */
import type {
  CallStateEvent,
  CallUpdateEvent,
  DispositionEvent,
  IceCandidate,
  IncomingMessageEvent,
  Party,
  RegistrationStateEvent,
} from '../../core/types.ts';
import { decodeFrame, dispositionBody, encodeAck, encodeError, encodeEvent, messageBody, wireParty, type DecodedFrame, type Dialect, type WireEvent } from './codec.ts';
import type { AccountPort, CallPort, ConnectionPort } from './core-port.ts';
import { apiError, badStateText, toWireError, unknownAccountText, type ErrorContext } from './errors.ts';
import type { RequestName, RequestOf } from './validation.ts';

export interface DoorLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): DoorLogger;
}

const noop = (): void => {};
export const silentDoorLogger: DoorLogger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silentDoorLogger };

export interface SessionLimits {
  /** Requests received but not yet started; one more is answered with an error and the connection closed (1008). */
  maxPendingRequests: number;
  /** After acking `session-terminate`, how long the core has to report `terminated` before the door does. */
  terminateGraceMs: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { maxPendingRequests: 256, terminateGraceMs: 250 };

/** How the `password` of `account-add` is handed to SIP digest (sylkrtc.js sends the HA1). */
export type SecretKind = 'ha1' | 'password' | 'auto';

export interface SessionTransport {
  send(text: string): void;
  /** Close the WebSocket with this code (the session then closes itself through `close()`). */
  close(code: number, reason: string): void;
}

export interface SylkRtcSessionOptions {
  connection: ConnectionPort;
  dialect: Dialect;
  transport: SessionTransport;
  logger?: DoorLogger;
  limits?: Partial<SessionLimits>;
  secretKind?: SecretKind;
}

/** WebSocket close codes this door uses (RFC 6455 §7.4.1). */
export const CLOSE_CODES = { goingAway: 1001, policyViolation: 1008, messageTooBig: 1009 } as const;

/** Reason given when the door reports `terminated` itself (the core was slower than `terminateGraceMs`). */
export const LOCAL_TERMINATE_REASON = 'Terminated by client';

/** How many ended session ids are remembered, to answer late requests with "is terminated". */
const ENDED_SESSIONS_KEPT = 128;

type Job = { request: boolean; run: () => void | Promise<void> };

/**
 * An account as this connection added it. Its core listeners stay attached until the core closes
 * the account (removal or the connection's end); once the door has let it go (`removed`) they
 * report nothing.
 */
interface DoorAccount {
  account: AccountPort;
  /** Whether `registered` was reported on this connection (SylkServer's "authenticated"). */
  everRegistered: boolean;
  lastState: string | undefined;
  removed: boolean;
}

/** A call of this connection; its core listeners report nothing once it `ended`. */
interface DoorCall {
  call: CallPort;
  id: string;
  direction: 'outgoing' | 'incoming';
  answerSent: boolean;
  sent: Set<string>;
  ended: boolean;
  terminateTimer: NodeJS.Timeout | undefined;
}

function isHa1(secret: string): boolean {
  return /^[0-9a-f]{32}$/i.test(secret);
}

const HISTORY_REQUESTS = new Set<RequestName>([
  'account-sync-conversations',
  'account-mark-conversation-read',
  'account-remove-message',
  'account-remove-conversation',
]);
const ADDRESSBOOK_REQUESTS = new Set<RequestName>(['account-fetch-addressbook', 'account-update-addressbook']);

export class SylkRtcSession {
  readonly connection: ConnectionPort;
  readonly dialect: Dialect;
  private readonly transport: SessionTransport;
  /** The door's logger; every line names the connection (`connId`), see `logAt`. */
  private readonly log: DoorLogger;
  private readonly limits: SessionLimits;
  private readonly secretKind: SecretKind;
  private readonly accounts = new Map<string, DoorAccount>();
  // Created with the first call: most connections only register.
  private sessions: Map<string, DoorCall> | undefined;
  private ended: Set<string> | undefined;
  // The FIFO: an array with a moving head (shift() is O(n) on long queues), emptied when drained.
  private queue: Array<Job | undefined> = [];
  private head = 0;
  private pending = 0;
  private running = false;
  private closing: Promise<void> | undefined;
  /** Set first thing in `doClose` (before `closing` is assigned): the core's `closed` then needs no answer. */
  private closeStarted = false;

  constructor(opts: SylkRtcSessionOptions) {
    this.connection = opts.connection;
    this.dialect = opts.dialect;
    this.transport = opts.transport;
    // No child logger per connection (one costs about 800 bytes): the id goes into each line.
    this.log = opts.logger ?? silentDoorLogger;
    const limits = opts.limits;
    this.limits =
      limits?.maxPendingRequests !== undefined && limits.terminateGraceMs !== undefined ? (limits as SessionLimits) : { ...DEFAULT_SESSION_LIMITS, ...limits };
    this.secretKind = opts.secretKind ?? 'ha1';
    this.connection.on('closed', () => {
      if (!this.closeStarted) this.transport.close(CLOSE_CODES.goingAway, 'Gateway closing');
    });
  }

  /** Sends the ready event; call once the WebSocket is open. */
  start(): void {
    this.enqueue(false, () => this.emitEvent({ sylkrtc: 'ready-event' }));
  }

  /** Requests received and not yet started. */
  get pendingRequests(): number {
    return this.pending;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** One WebSocket message from the client. */
  receive(data: string | Buffer, isBinary: boolean): void {
    if (this.closing) return;
    const frame = decodeFrame(this.dialect, data, isBinary);
    if (this.pending >= this.limits.maxPendingRequests) {
      // Out of order on purpose: the connection is closed right after, nothing follows it.
      const err = apiError.queueFull(this.limits.maxPendingRequests);
      this.logAt('warn', { limit: this.limits.maxPendingRequests }, 'request queue full; closing the connection');
      this.transport.send(encodeError(frame.transaction, err.wireMessage));
      this.transport.close(CLOSE_CODES.policyViolation, 'Too many pending requests');
      void this.close();
      return;
    }
    this.enqueue(true, () => this.handle(frame));
  }

  /** Ends the connection's calls and registrations through the core. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closeStarted = true;
    this.queue = [];
    this.head = 0;
    this.pending = 0;
    // From here on the core's events find the session closing and report nothing.
    for (const a of this.accounts.values()) a.removed = true;
    if (this.sessions) {
      for (const c of this.sessions.values()) {
        clearTimeout(c.terminateTimer);
        c.ended = true;
      }
    }
    this.accounts.clear();
    this.sessions = undefined;
    try {
      await this.connection.close();
    } catch (err) {
      this.logAt('warn', { err }, 'closing the core connection failed');
    }
  }

  private logAt(level: 'debug' | 'info' | 'warn' | 'error', obj: object, msg: string): void {
    this.log[level]({ connId: this.connection.id, ...obj }, msg);
  }

  // ---- the FIFO -------------------------------------------------------------------------------

  private enqueue(request: boolean, run: () => void | Promise<void>): void {
    if (this.closing) return;
    this.queue.push({ request, run });
    if (request) this.pending++;
    if (!this.running) void this.pump();
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (!this.closing && this.head < this.queue.length) {
        const job = this.queue[this.head] as Job;
        this.queue[this.head++] = undefined;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        if (job.request) this.pending--;
        try {
          const result = job.run();
          if (result) await result;
        } catch (err) {
          this.logAt('error', { err }, 'sylkRTC job failed');
        }
      }
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
    } finally {
      this.running = false;
    }
  }

  private send(text: string): void {
    if (!this.closing) this.transport.send(text);
  }

  private emitEvent(event: WireEvent): void {
    this.send(encodeEvent(this.dialect, event));
  }

  // ---- requests -------------------------------------------------------------------------------

  private async handle(frame: DecodedFrame): Promise<void> {
    if (!frame.ok) {
      this.logAt('debug', { code: frame.error.code, request: frame.name, error: frame.error.wireMessage }, 'bad request');
      this.send(encodeError(frame.transaction, frame.error.wireMessage));
      return;
    }
    const { name, transaction, request } = frame;
    const r = request as Record<string, unknown>;
    const ctx: ErrorContext = {
      ...(typeof r.account === 'string' ? { account: r.account } : {}),
      ...(typeof r.session === 'string' ? { session: r.session } : {}),
      ...(typeof r.uri === 'string' ? { uri: r.uri } : {}),
    };
    let afterAck: (() => void) | undefined;
    try {
      afterAck = await this.dispatch(name, request);
    } catch (err) {
      const wire = toWireError(name, err, ctx);
      if (wire.code === 'SYLKRTC_ERR_INTERNAL') this.logAt('error', { err, request: name }, 'request failed');
      else this.logAt('debug', { request: name, error: wire.wireMessage }, 'request refused');
      this.send(encodeError(transaction, wire.wireMessage));
      return;
    }
    this.send(encodeAck(transaction));
    afterAck?.();
  }

  /** Runs one valid request; throws what becomes the `error` reply. May return work to do after the ack. */
  private async dispatch(name: RequestName, request: RequestOf<RequestName>): Promise<(() => void) | undefined> {
    switch (name) {
      case 'ping':
        return undefined;
      case 'account-add':
        await this.addAccount(request as RequestOf<'account-add'>);
        return undefined;
      case 'account-remove':
        this.removeAccount((request as RequestOf<'account-remove'>).account);
        return undefined;
      case 'account-register':
        this.accountFor(name, (request as RequestOf<'account-register'>).account).account.register();
        return undefined;
      case 'account-unregister': {
        const a = this.accountFor(name, (request as RequestOf<'account-unregister'>).account);
        a.lastState = undefined;
        a.account.unregister().catch((err: unknown) => this.logAt('warn', { err, aor: a.account.aor }, 'un-REGISTER failed'));
        return undefined;
      }
      case 'account-message': {
        const m = request as RequestOf<'account-message'>;
        const a = this.authenticated(name, m.account);
        const send = a.account.sendMessageChecked ? a.account.sendMessageChecked.bind(a.account) : a.account.sendMessage.bind(a.account);
        await send({
          account: a.account.aor,
          to: m.uri,
          messageId: m.message_id,
          contentType: m.content_type,
          content: m.content,
          timestamp: m.timestamp,
        });
        return undefined;
      }
      case 'account-disposition-notification': {
        const m = request as RequestOf<'account-disposition-notification'>;
        const a = this.authenticated(name, m.account);
        await a.account.sendDisposition({ account: a.account.aor, to: m.uri, messageId: m.message_id, timestamp: m.timestamp, state: m.state });
        return undefined;
      }
      case 'account-devicetoken':
        this.accountFor(name, (request as RequestOf<'account-devicetoken'>).account);
        throw apiError.notSupported('Push notification tokens');
      case 'session-create':
        await this.createSession(request as RequestOf<'session-create'>);
        return undefined;
      case 'session-answer': {
        const m = request as RequestOf<'session-answer'>;
        const c = this.sessionFor(name, m.session);
        if (c.direction === 'outgoing') throw apiError.failed(`Cannot answer outgoing session ${m.session}`);
        await (c.call.answerChecked ? c.call.answerChecked(m.sdp, m.headers) : c.call.answer(m.sdp, m.headers));
        return undefined;
      }
      case 'session-trickle': {
        const m = request as RequestOf<'session-trickle'>;
        const c = this.sessionFor(name, m.session);
        const candidates: IceCandidate[] = m.candidates.map((x) => ({
          candidate: x.candidate,
          sdpMid: x.sdpMid,
          sdpMLineIndex: x.sdpMLineIndex,
          ...(x.usernameFragment !== undefined ? { usernameFragment: x.usernameFragment } : {}),
        }));
        await c.call.trickle(candidates);
        return undefined;
      }
      case 'session-terminate': {
        const c = this.sessionFor(name, (request as RequestOf<'session-terminate'>).session);
        await c.call.terminate();
        return () => this.armTerminateTimer(c);
      }
      case 'session-update': {
        const m = request as RequestOf<'session-update'>;
        await this.sessionFor(name, m.session).call.update(m.sdp, m.headers);
        return undefined;
      }
      case 'session-message': {
        const m = request as RequestOf<'session-message'>;
        await this.sessionFor(name, m.session).call.sendMessage({
          messageId: m.message_id,
          contentType: m.content_type,
          content: m.content,
          timestamp: m.timestamp,
        });
        return undefined;
      }
      case 'session-dtmf-info': {
        const m = request as RequestOf<'session-dtmf-info'>;
        const c = this.sessionFor(name, m.session);
        // sylkrtc.js sends one tone per request; a run of tones is sent one INFO per tone.
        for (const digit of m.digit) await (c.call.sendDtmfChecked ? c.call.sendDtmfChecked(digit, m.duration ?? 100) : c.call.sendDtmf(digit, m.duration ?? 100));
        return undefined;
      }
      case 'lookup-public-key':
        throw apiError.notSupported('Public key lookups');
      default:
        break;
    }
    if (HISTORY_REQUESTS.has(name) || ADDRESSBOOK_REQUESTS.has(name)) {
      // SylkServer's checks first (unknown account, not authenticated), then ours.
      this.authenticated(name, (request as { account: string }).account);
      throw apiError.notSupported(HISTORY_REQUESTS.has(name) ? 'Message history requests' : 'Address book requests');
    }
    if (name.startsWith('videoroom-')) throw apiError.notSupported('Video rooms');
    throw apiError.internal();
  }

  private accountFor(request: RequestName, aor: string): DoorAccount {
    const a = this.accounts.get(aor);
    if (!a) throw apiError.failed(unknownAccountText(request, aor));
    return a;
  }

  private authenticated(request: RequestName, aor: string): DoorAccount {
    const a = this.accountFor(request, aor);
    if (!a.everRegistered) throw apiError.failed('Account not authenticated');
    return a;
  }

  private sessionFor(request: RequestName, id: string): DoorCall {
    const c = this.sessions?.get(id);
    if (c) return c;
    if (!this.ended?.has(id)) throw apiError.failed(`Unknown session ${id}`);
    if (request === 'session-trickle') throw apiError.failed(`Session ${id} is terminated`);
    throw apiError.failed(badStateText(request, id, 'terminated'));
  }

  private async addAccount(m: RequestOf<'account-add'>): Promise<void> {
    if (this.accounts.has(m.account)) throw apiError.failed(`Account ${m.account} already added`);
    const secretKind = this.secretKind === 'auto' ? (isHa1(m.password) ? 'ha1' : 'password') : this.secretKind;
    // With the checked form the gateway's policy (REST hooks) may refuse; its reason is the error text.
    const add = this.connection.addAccountChecked ? this.connection.addAccountChecked.bind(this.connection) : this.connection.addAccount.bind(this.connection);
    const account = await add({
      aor: m.account,
      secret: m.password,
      secretKind,
      ...(m.display_name !== undefined ? { displayName: m.display_name } : {}),
      ...(m.user_agent !== undefined ? { userAgent: m.user_agent } : {}),
      ...(m.incoming_header_prefixes !== undefined ? { incomingHeaderPrefixes: m.incoming_header_prefixes } : {}),
    });
    const aor = m.account;
    const da: DoorAccount = { account, everRegistered: false, lastState: undefined, removed: false };
    // Unnamed arrows on purpose: a named function costs a property table of its own here (the
    // TypeScript loader keeps function names), and these live as long as the account.
    account.on('registration', (ev: RegistrationStateEvent) => {
      if (!da.removed) this.enqueue(false, () => this.registrationChanged(da, ev));
    });
    account.on('incomingCall', (call: CallPort) => {
      if (!da.removed) this.incomingCall(aor, call);
    });
    account.on('missedCall', (p: Party) => {
      if (!da.removed) this.enqueue(false, () => this.emitEvent({ sylkrtc: 'account-event', account: aor, event: 'missed-session', originator: wireParty(p) }));
    });
    account.on('message', (ev: IncomingMessageEvent) => {
      if (!da.removed) this.enqueue(false, () => this.emitEvent({ sylkrtc: 'account-event', account: aor, ...messageBody(ev) }));
    });
    account.on('disposition', (ev: DispositionEvent) => {
      if (!da.removed) this.enqueue(false, () => this.emitEvent({ sylkrtc: 'account-event', account: aor, ...dispositionBody(ev) }));
    });
    this.accounts.set(aor, da);
  }

  private removeAccount(aor: string): void {
    const a = this.accountFor('account-remove', aor);
    a.removed = true;
    this.accounts.delete(aor);
    // Its calls end through the core; their `terminated` events still come (call listeners stay).
    this.connection.removeAccount(aor).catch((err: unknown) => this.logAt('warn', { err, aor }, 'removing the account failed'));
  }

  private registrationChanged(a: DoorAccount, ev: RegistrationStateEvent): void {
    if (ev.state === 'unregistered') {
      a.lastState = undefined;
      return;
    }
    if (ev.state === a.lastState && ev.state !== 'failed') return;
    a.lastState = ev.state;
    if (ev.state === 'registered') a.everRegistered = true;
    this.emitEvent({
      sylkrtc: 'account-event',
      account: a.account.aor,
      event: 'registration-state',
      state: ev.state,
      ...(ev.state === 'failed' ? { reason: ev.reason ?? 'unspecified reason' } : {}),
    });
  }

  private async createSession(m: RequestOf<'session-create'>): Promise<void> {
    if (this.sessions?.has(m.session)) throw apiError.failed(`Session ID ${m.session} already in use`);
    this.accountFor('session-create', m.account);
    const create = this.connection.createCallChecked ? this.connection.createCallChecked.bind(this.connection) : this.connection.createCall.bind(this.connection);
    const call = await create({
      id: m.session,
      account: m.account,
      to: m.uri,
      sdp: m.sdp,
      ...(m.headers !== undefined ? { headers: m.headers } : {}),
    });
    this.ended?.delete(m.session);
    this.track(call, m.session, 'outgoing');
  }

  private incomingCall(aor: string, call: CallPort): void {
    if (this.closing || this.sessions?.has(call.id)) return;
    const c = this.track(call, call.id, 'incoming');
    this.enqueue(false, () => {
      if (c.ended) return;
      this.emitEvent({
        sylkrtc: 'account-event',
        account: aor,
        event: 'incoming-session',
        session: call.id,
        originator: wireParty(call.peer),
        sdp: call.offer ?? '',
        call_id: call.sipCallId ?? '',
        ...(call.headers && Object.keys(call.headers).length > 0 ? { headers: call.headers } : {}),
      });
    });
  }

  private track(call: CallPort, id: string, direction: 'outgoing' | 'incoming'): DoorCall {
    const c: DoorCall = { call, id, direction, answerSent: false, sent: new Set(), ended: false, terminateTimer: undefined };
    // Unnamed arrows (see addAccount); each reports nothing once the call ended here.
    call.on('state', (ev: CallStateEvent) => {
      if (!c.ended) this.enqueue(false, () => this.callState(c, ev));
    });
    call.on('update', (ev: CallUpdateEvent) => {
      if (!c.ended)
        this.enqueue(false, () => {
          if (!c.ended) this.emitEvent({ sylkrtc: 'session-event', session: id, event: 'update', state: ev.state, sdp: ev.sdp, reason: ev.reason });
        });
    });
    call.on('message', (ev: IncomingMessageEvent) => {
      if (!c.ended)
        this.enqueue(false, () => {
          if (!c.ended) this.emitEvent({ sylkrtc: 'session-event', session: id, ...messageBody(ev) });
        });
    });
    call.on('disposition', (ev: DispositionEvent) => {
      if (!c.ended)
        this.enqueue(false, () => {
          if (!c.ended) this.emitEvent({ sylkrtc: 'session-event', session: id, ...dispositionBody(ev) });
        });
    });
    (this.sessions ??= new Map()).set(id, c);
    return c;
  }

  private callState(c: DoorCall, ev: CallStateEvent): void {
    if (c.ended) return;
    const base = { sylkrtc: 'session-event', session: c.id, event: 'state' } as const;
    switch (ev.state) {
      case 'terminated':
        this.emitEvent({ ...base, state: 'terminated', reason: ev.reason || 'unspecified reason' });
        this.finish(c);
        return;
      case 'early-media':
        // The answer goes out once (reference §0.7); a second 183 changes nothing for the browser.
        if (c.answerSent || c.direction !== 'outgoing') return;
        c.answerSent = true;
        c.sent.add('early-media');
        this.emitEvent({ ...base, state: 'early-media', sdp: ev.sdp, call_id: ev.callId });
        return;
      case 'accepted': {
        if (c.sent.has('accepted')) return;
        c.sent.add('accepted');
        if (c.direction === 'outgoing' && !c.answerSent && ev.sdp !== undefined) {
          c.answerSent = true;
          this.emitEvent({ ...base, state: 'accepted', sdp: ev.sdp, call_id: ev.callId, headers: ev.headers && Object.keys(ev.headers).length > 0 ? ev.headers : undefined });
        } else {
          this.emitEvent({ ...base, state: 'accepted' });
        }
        return;
      }
      case 'proceeding':
        this.emitEvent({ ...base, state: 'proceeding', code: ev.code });
        return;
      default:
        if (c.sent.has(ev.state)) return;
        c.sent.add(ev.state);
        this.emitEvent({ ...base, state: ev.state });
    }
  }

  private finish(c: DoorCall): void {
    c.ended = true;
    clearTimeout(c.terminateTimer);
    c.terminateTimer = undefined;
    if (this.sessions?.get(c.id) === c) this.sessions.delete(c.id);
    const ended = (this.ended ??= new Set());
    ended.add(c.id);
    if (ended.size > ENDED_SESSIONS_KEPT) ended.delete(ended.values().next().value as string);
  }

  private armTerminateTimer(c: DoorCall): void {
    if (c.ended || c.terminateTimer || this.closing) return;
    c.terminateTimer = setTimeout(() => {
      c.terminateTimer = undefined;
      this.enqueue(false, () => {
        if (c.ended) return;
        this.logAt('warn', { session: c.id }, 'core did not report terminated in time; reporting it to the client');
        this.callState(c, { state: 'terminated', reason: LOCAL_TERMINATE_REASON });
      });
    }, this.limits.terminateGraceMs);
    c.terminateTimer.unref?.();
  }
}
