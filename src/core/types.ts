/**
 * The gateway's domain vocabulary: what a front door may ask of the core (commands) and what the
 * core tells it (events). No wire format of any door appears here: a door translates its protocol
 * to these calls and these events back to its protocol.
 */

/** An address of record without scheme, as users write it: `alice@example.com`. */
export type Aor = string;

/** Why a command was refused. Each door maps `code` to its own error text. */
export type CoreErrorCode =
  | 'account-exists'
  | 'account-unknown'
  | 'account-not-registered'
  | 'domain-not-allowed'
  | 'invalid-uri'
  | 'call-exists'
  | 'call-unknown'
  | 'call-bad-state'
  | 'call-terminated'
  | 'not-supported'
  | 'connection-closed'
  | 'policy-denied'
  /** A value a door passed through but the core cannot use (a DTMF digit outside 0-9 * # A-D, ...). */
  | 'invalid-argument'
  | 'internal';

export class CoreError extends Error {
  readonly code: CoreErrorCode;
  /** Values a door needs to word its error (the AOR, the call id, the state). */
  readonly detail: Record<string, string>;
  constructor(code: CoreErrorCode, message: string, detail: Record<string, string> = {}) {
    super(message);
    this.name = 'CoreError';
    this.code = code;
    this.detail = detail;
  }
}

export interface AddAccountCommand {
  aor: Aor;
  /** The secret as the client sent it. */
  secret: string;
  /** `ha1`: H(user:realm:password) as sylkrtc.js sends it; `password`: the password itself. */
  secretKind: 'ha1' | 'password';
  displayName?: string;
  userAgent?: string;
  /** Incoming INVITE headers whose name starts with one of these are passed to the client. */
  incomingHeaderPrefixes?: string[];
  /** The SIP address of record when it differs from `aor` (credentials put in place by the policy). */
  sipAor?: Aor;
  /** Digest user name when it differs from the user part of the SIP AOR. */
  authUsername?: string;
}

export interface CreateCallCommand {
  /** The id the client chose (sylkRTC: `session`). */
  id: string;
  account: Aor;
  /** Callee AOR or SIP URI. */
  to: string;
  /** The client's offer. */
  sdp: string;
  headers?: Array<{ name: string; value: string }>;
}

/** One trickled ICE candidate, as a browser's RTCIceCandidate.toJSON() gives it. */
export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export interface OutgoingMessageCommand {
  account: Aor;
  to: Aor;
  messageId: string;
  contentType: string;
  content: string;
  /** ISO 8601. */
  timestamp: string;
}

export interface DispositionCommand {
  account: Aor;
  to: Aor;
  messageId: string;
  timestamp: string;
  state: 'delivered' | 'failed' | 'displayed' | 'forbidden' | 'error';
}

export interface Party {
  uri: Aor;
  displayName?: string;
}

// ---- events ---------------------------------------------------------------------------------------

export type RegistrationStateName = 'registering' | 'registered' | 'failed' | 'unregistered';

export interface RegistrationStateEvent {
  state: RegistrationStateName;
  /** For `failed`: `"<code> <reason>"`, e.g. `"403 Forbidden"`. */
  reason?: string;
}

/** Call progress as the door reports it (sylkRTC `session-event` states map one to one). */
export type CallStateEvent =
  | { state: 'progress' }
  | { state: 'proceeding'; code: number }
  | { state: 'ringing' }
  | { state: 'early-media'; sdp: string; callId: string }
  | { state: 'accepted'; sdp?: string; callId?: string; headers?: Record<string, string> }
  | { state: 'established' }
  | { state: 'terminated'; reason: string };

export interface CallUpdateEvent {
  /** `received`: the peer re-INVITEd (answer with `call.update(sdp)`); `accepted`: our re-INVITE was answered. */
  state: 'received' | 'accepted' | 'failed';
  sdp?: string;
  reason?: string;
}

export interface IncomingMessageEvent {
  sender: Party;
  messageId: string;
  contentType: string;
  content: string;
  timestamp: string;
  dispositionNotification?: string[];
}

export interface DispositionEvent {
  messageId: string;
  messageTimestamp: string;
  state: 'accepted' | 'delivered' | 'displayed' | 'failed' | 'processed' | 'stored' | 'forbidden' | 'error';
  code: number;
  reason: string;
}
