/**
 * The policy port: where the core asks "may this proceed, and with what changes?" and reports what
 * happened. `src/hooks/` implements it over HTTP (REST hooks); without hooks, `allowAllPolicy`
 * stands in and every request proceeds unchanged.
 *
 * The core opens one `PolicySession` per connection. Direct requests of the client (connect an
 * account, place a call, answer, send DTMF or a message) and requests from SIP (an incoming call
 * or message) are asked before they happen; a refusal rejects with `CoreError('policy-denied')`,
 * whose message is the reason the client gets. Status reports never block: the session queues
 * them.
 *
 * A method may answer synchronously (a value) or later (a promise): the allow-all policy answers
 * at once, so a gateway without hooks takes no extra turn of the event loop.
 */
import type { Aor, CallStateEvent, DispositionEvent, Party, RegistrationStateName } from './types.ts';

/** What the core tells the policy about a connection when it opens. */
export interface PolicyContext {
  connectionId: string;
  /** The door the client came through, e.g. `sylkrtc`. */
  door: string;
  /** The client's address as the door saw it, `ip:port`. */
  remote: string;
  /** Where the client connected to, `ip:port`, when the door knows it. */
  local?: string;
  /** The application the door chose for this connection (per listener, per client id), if any. */
  app?: string;
}

/** The SIP identity an account uses: what the client sent, or what the policy put in its place. */
export interface SipIdentity {
  /** The SIP address of record, `user@domain`. */
  aor: Aor;
  /** Digest user name when it differs from the user part of the AOR. */
  authUsername?: string;
  secret: string;
  secretKind: 'ha1' | 'password';
  displayName?: string;
}

/** A client asks to use a SIP account (WCS `connect`). */
export interface ConnectRequest {
  /** The AOR the client refers to the account by. */
  account: Aor;
  identity: SipIdentity;
  /** An application key the client sent (WCS `appKey`), if its door has one. */
  appKey?: string;
  /** Whatever the client sent for the application (WCS `custom`). */
  custom?: Record<string, unknown>;
  userAgent?: string;
  /** Whether the client will REGISTER (WCS `sipRegisterRequired`). */
  registerRequired?: boolean;
}

export interface ConnectDecision {
  /** Fields of the SIP identity the policy replaced (credentials injected server-side). */
  identity?: Partial<SipIdentity>;
}

/** What the policy sees of a call. */
export interface CallInfo {
  id: string;
  direction: 'outgoing' | 'incoming';
  /** The AOR of the account the call belongs to. */
  account: Aor;
  /** Who placed the call and who receives it. */
  caller: Party;
  callee: Party;
  sipCallId?: string;
  /** The offer's media, when known. */
  hasAudio?: boolean;
  hasVideo?: boolean;
}

/** The client places a call (WCS `call`). */
export interface CallRequest {
  call: CallInfo;
  /** The callee as the client wrote it. */
  to: string;
  headers?: Array<{ name: string; value: string }>;
}

export interface CallDecision {
  /** A new callee (AOR or SIP URI). */
  to?: string;
}

/** The client sends a message (WCS `sendMessage`). */
export interface MessageRequest {
  account: Aor;
  from: Party;
  to: Aor;
  messageId: string;
  contentType: string;
  content: string;
  /** The id of the call when sent inside its dialog. */
  callId?: string;
}

export interface MessageDecision {
  to?: Aor;
  content?: string;
}

/** A message from SIP for one of the connection's accounts (WCS `OnMessageEvent`). */
export interface IncomingMessageRequest {
  account: Aor;
  from: Party;
  messageId: string;
  contentType: string;
  content: string;
}

/** What happened, for the policy's records (WCS status events). Never refused. */
export type PolicyReport =
  | { type: 'registration'; account: Aor; state: RegistrationStateName; reason?: string }
  | { type: 'call'; call: CallInfo; event: CallStateEvent }
  /** The gateway ended a call on the client's side (the client hung up, removed its account or left). */
  | { type: 'hangup'; call: CallInfo }
  | { type: 'message'; account: Aor; event: DispositionEvent };

/** A value now, or later. */
export type PolicyAnswer<T> = T | Promise<T>;

/** One connection's conversation with the policy. */
export interface PolicySession {
  connect(req: ConnectRequest): PolicyAnswer<ConnectDecision>;
  call(req: CallRequest): PolicyAnswer<CallDecision>;
  answer(call: CallInfo): PolicyAnswer<void>;
  sendDtmf(call: CallInfo, digit: string, durationMs: number): PolicyAnswer<void>;
  /** Hold and unhold, for doors that have them. */
  hold(call: CallInfo, on: boolean): PolicyAnswer<void>;
  sendMessage(req: MessageRequest): PolicyAnswer<MessageDecision>;
  /** An INVITE for one of the connection's accounts; a refusal answers it 403. */
  incomingCall(call: CallInfo): PolicyAnswer<void>;
  /** A MESSAGE for one of the connection's accounts; a refusal answers it 403. */
  incomingMessage(req: IncomingMessageRequest): PolicyAnswer<void>;
  report(report: PolicyReport): void;
  /** The connection closed; whatever reports are queued still go out. */
  close(): void;
}

export interface PolicyPort {
  open(ctx: PolicyContext): PolicySession;
  /** Stops the port: queued reports get a bounded time to leave. Optional. */
  close?(): Promise<void>;
}

const allowSession: PolicySession = {
  connect: () => ({}),
  call: () => ({}),
  answer: () => undefined,
  sendDtmf: () => undefined,
  hold: () => undefined,
  sendMessage: () => ({}),
  incomingCall: () => undefined,
  incomingMessage: () => undefined,
  report: () => {},
  close: () => {},
};

/** Every request proceeds unchanged and nothing is reported: a gateway without hooks. */
export const allowAllPolicy: PolicyPort = { open: () => allowSession };

/** Whether a policy answer has to be waited for. */
export function isPending<T>(answer: PolicyAnswer<T>): answer is Promise<T> {
  return typeof (answer as { then?: unknown } | undefined)?.then === 'function';
}

/** Whether an SDP offers audio / video (an m= line with a non-zero port). */
export function mediaOf(sdp: string | undefined): { hasAudio: boolean; hasVideo: boolean } {
  if (!sdp) return { hasAudio: false, hasVideo: false };
  return { hasAudio: /^m=audio [1-9]/m.test(sdp), hasVideo: /^m=video [1-9]/m.test(sdp) };
}
