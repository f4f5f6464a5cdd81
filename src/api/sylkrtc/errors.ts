/**
 * The sylkRTC door's error catalogue. On the wire an error is only a string
 * (`{"sylkrtc":"error","transaction":…,"error":"<text>"}`), so every text a handler can produce is
 * SylkServer's own wording where SylkServer has one (reference §2.4, §2.5). Each door-level error
 * also has a stable `code` for logs and metrics; PROTOCOL.md lists them all (a test checks it).
 */
import { CoreError } from '../../core/types.ts';
import type { RequestName } from './validation.ts';

export const SYLKRTC_ERROR_CODES = {
  /** The frame is not JSON. SylkServer ignores it; we answer. */
  SYLKRTC_ERR_INVALID_JSON: 'Invalid JSON message',
  /** A binary frame. SylkServer ignores it; we answer. */
  SYLKRTC_ERR_BINARY_FRAME: 'Binary messages are not supported',
  /** JSON, but not an object. */
  SYLKRTC_ERR_NOT_AN_OBJECT: 'Message is not a JSON object',
  /** No `sylkrtc` key (SylkServer logs this text and sends nothing). */
  SYLKRTC_ERR_NO_TYPE: 'could not get WebSocket message type',
  /** An unknown `sylkrtc` value (SylkServer logs this text and sends nothing). */
  SYLKRTC_ERR_UNKNOWN_REQUEST: 'unknown WebSocket request: <name>',
  /** A property failed validation; the text is SylkServer's (see validation.ts). */
  SYLKRTC_ERR_VALIDATION: '<SylkServer validation text>',
  /** A request this gateway does not implement yet (video rooms, address book, history, push, keys). */
  SYLKRTC_ERR_NOT_SUPPORTED: '<feature> are not supported by this gateway',
  /** Too many requests waiting on one connection: the error, then close 1008. */
  SYLKRTC_ERR_QUEUE_FULL: 'Too many pending requests (limit <n>)',
  /** A handler error: CoreError mapped to SylkServer's text (table below). */
  SYLKRTC_ERR_REQUEST_FAILED: '<SylkServer handler text>',
  /** Anything unexpected (SylkServer's own wording). */
  SYLKRTC_ERR_INTERNAL: 'Internal error',
} as const;

export type SylkRtcErrorCode = keyof typeof SYLKRTC_ERROR_CODES;

/** An error answered on the wire: `wireMessage` is the `error` string. */
export class SylkRtcError extends Error {
  readonly code: SylkRtcErrorCode;
  readonly wireMessage: string;
  constructor(code: SylkRtcErrorCode, wireMessage: string) {
    super(wireMessage);
    this.name = 'SylkRtcError';
    this.code = code;
    this.wireMessage = wireMessage;
  }
}

export const apiError = {
  invalidJson: () => new SylkRtcError('SYLKRTC_ERR_INVALID_JSON', SYLKRTC_ERROR_CODES.SYLKRTC_ERR_INVALID_JSON),
  binaryFrame: () => new SylkRtcError('SYLKRTC_ERR_BINARY_FRAME', SYLKRTC_ERROR_CODES.SYLKRTC_ERR_BINARY_FRAME),
  notAnObject: () => new SylkRtcError('SYLKRTC_ERR_NOT_AN_OBJECT', SYLKRTC_ERROR_CODES.SYLKRTC_ERR_NOT_AN_OBJECT),
  noType: () => new SylkRtcError('SYLKRTC_ERR_NO_TYPE', SYLKRTC_ERROR_CODES.SYLKRTC_ERR_NO_TYPE),
  unknownRequest: (name: unknown) =>
    new SylkRtcError('SYLKRTC_ERR_UNKNOWN_REQUEST', `unknown WebSocket request: ${typeof name === 'string' ? name : JSON.stringify(name)}`),
  validation: (text: string) => new SylkRtcError('SYLKRTC_ERR_VALIDATION', text),
  notSupported: (feature: string) => new SylkRtcError('SYLKRTC_ERR_NOT_SUPPORTED', `${feature} are not supported by this gateway`),
  queueFull: (limit: number) => new SylkRtcError('SYLKRTC_ERR_QUEUE_FULL', `Too many pending requests (limit ${limit})`),
  failed: (text: string) => new SylkRtcError('SYLKRTC_ERR_REQUEST_FAILED', text),
  internal: () => new SylkRtcError('SYLKRTC_ERR_INTERNAL', SYLKRTC_ERROR_CODES.SYLKRTC_ERR_INTERNAL),
};

/** What the door knows about the request that failed, to word the error. */
export interface ErrorContext {
  account?: string;
  session?: string;
  uri?: string;
}

/** SylkServer spells the early-media state with an underscore in its error texts. */
export function sylkStateName(state: string | undefined): string {
  return state === 'early-media' ? 'early_media' : (state ?? 'unknown');
}

const UNKNOWN_ACCOUNT_SUFFIX: Partial<Record<RequestName, string>> = {
  'account-remove': ' for remove',
  'account-register': ' for register',
  'account-unregister': ' for unregister',
  'account-devicetoken': ' for token',
};

const BAD_STATE: Partial<Record<RequestName, (id: string, state: string) => string>> = {
  'session-answer': (id, s) => `Invalid state for answering session ${id}: ${s}`,
  'session-terminate': (id, s) => `Invalid state for terminating session ${id}: ${s}`,
  'session-update': (id, s) => `Invalid state for updating session ${id}: ${s}`,
  'session-message': (id, s) => `Invalid state session ${id}: ${s} for sending messages`,
  'session-dtmf-info': (id, s) => `Invalid state session ${id}: ${s} for DTMF info`,
};

/** `Unknown account specified: alice@example.com`, or `… for register: …` for the requests that say so. */
export function unknownAccountText(request: RequestName, aor: string): string {
  return `Unknown account specified${UNKNOWN_ACCOUNT_SUFFIX[request] ?? ''}: ${aor}`;
}

export function badStateText(request: RequestName, id: string, state: string): string {
  const word = BAD_STATE[request];
  return word ? word(id, sylkStateName(state)) : `Invalid state for session ${id}: ${sylkStateName(state)}`;
}

/** Maps whatever a handler threw to the error the client gets (SylkServer's wording, else `Internal error`). */
export function toWireError(request: RequestName, err: unknown, ctx: ErrorContext = {}): SylkRtcError {
  if (err instanceof SylkRtcError) return err;
  if (!(err instanceof CoreError)) return apiError.internal();
  const d = err.detail;
  const aor = ctx.account ?? d.aor ?? d.account ?? '';
  const id = ctx.session ?? d.id ?? d.session ?? d.callId ?? '';
  switch (err.code) {
    case 'account-exists':
      return apiError.failed(`Account ${aor} already added`);
    case 'domain-not-allowed':
      return apiError.failed(`SIP domain not allowed: ${d.domain ?? aor.slice(aor.lastIndexOf('@') + 1)}`);
    case 'invalid-uri':
      return apiError.failed(`invalid SIP URI: ${d.uri ?? ctx.uri ?? aor}`);
    case 'account-unknown':
      return apiError.failed(unknownAccountText(request, aor));
    case 'account-not-registered':
      return apiError.failed('Account not authenticated');
    case 'call-exists':
      return apiError.failed(`Session ID ${id} already in use`);
    case 'call-unknown':
      return apiError.failed(`Unknown session ${id}`);
    case 'call-terminated':
      return request === 'session-trickle' ? apiError.failed(`Session ${id} is terminated`) : apiError.failed(badStateText(request, id, 'terminated'));
    case 'call-bad-state':
      return apiError.failed(badStateText(request, id, d.state ?? 'unknown'));
    case 'not-supported':
    case 'policy-denied':
    case 'invalid-argument':
      return apiError.failed(err.message);
    case 'connection-closed':
      return apiError.failed('Connection closed');
    case 'internal':
    default:
      return apiError.internal();
  }
}
