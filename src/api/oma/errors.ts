/**
 * The REST door's error catalogue. On the wire every error is the OMA `requestError` envelope
 * (OMA REST_NetAPI_Common, as cited by OMA-NC §7):
 *
 *   {"requestError":{"serviceException":{"messageId":"SVC0002","text":"Invalid input value for message part %1","variables":["..."]}}}
 *
 * `messageId` and `text` are OMA's; each error also has a stable Portico `code` for logs and metrics.
 * PROTOCOL.md lists them all (a test checks it).
 */
import { CoreError } from '../../core/types.ts';

export interface OmaErrorSpec {
  status: number;
  exception: 'serviceException' | 'policyException';
  messageId: string;
  text: string;
}

export const OMA_ERROR_CODES = {
  /** The body is not JSON, or not the JSON root element this resource takes. */
  OMA_ERR_BAD_JSON: { status: 400, exception: 'serviceException', messageId: 'SVC0002', text: 'Invalid input value for message part %1' },
  /** A field is missing, of the wrong type, unknown, or a POST carries `resourceURL`. */
  OMA_ERR_INVALID_INPUT: { status: 400, exception: 'serviceException', messageId: 'SVC0002', text: 'Invalid input value for message part %1' },
  /** A field outside its set of values. */
  OMA_ERR_INVALID_VALUE: { status: 400, exception: 'serviceException', messageId: 'SVC0003', text: 'Invalid input value for message part %1, valid values are %2' },
  /** An address that is neither tel:, sip: nor a bare number or user. */
  OMA_ERR_INVALID_ADDRESS: { status: 400, exception: 'serviceException', messageId: 'SVC0004', text: 'No valid addresses provided in message part %1' },
  /** No valid X-Session-ID / X-Client-ID (or an unknown, expired or closed session). */
  OMA_ERR_UNAUTHENTICATED: { status: 401, exception: 'policyException', messageId: 'POL0001', text: 'A policy error occurred. Error code is %1' },
  /** The path names a session other than the one in X-Session-ID, or a line of another user. */
  OMA_ERR_FORBIDDEN: { status: 403, exception: 'policyException', messageId: 'POL0001', text: 'A policy error occurred. Error code is %1' },
  /** `channelType` other than WebSockets or LongPolling (OMA-NC §7). */
  OMA_ERR_CHANNEL_TYPE: { status: 403, exception: 'policyException', messageId: 'POL1023', text: 'Notification channel type %1 not supported. Supported types: %2' },
  /** Too many channels, subscriptions, calls or chats in one session. */
  OMA_ERR_LIMIT: { status: 403, exception: 'policyException', messageId: 'POL0003', text: 'Too many %1 (limit %2)' },
  /** The login at reg_srv failed (bad state, code refused by the identity provider, unknown user). */
  OMA_ERR_LOGIN_FAILED: { status: 401, exception: 'policyException', messageId: 'POL0001', text: 'A policy error occurred. Error code is %1' },
  OMA_ERR_NOT_FOUND: { status: 404, exception: 'serviceException', messageId: 'SVC0001', text: 'A service error occurred. Error code is %1' },
  OMA_ERR_METHOD_NOT_ALLOWED: { status: 405, exception: 'serviceException', messageId: 'SVC0001', text: 'A service error occurred. Error code is %1' },
  /** The resource is in a state where this request means nothing (answer an outgoing call, ...). */
  OMA_ERR_CONFLICT: { status: 409, exception: 'serviceException', messageId: 'SVC0001', text: 'A service error occurred. Error code is %1' },
  /** A second long poll on the same channel: the first is answered with this (OMA-NC §5.3.19). */
  OMA_ERR_SIMULTANEOUS_POLL: { status: 409, exception: 'serviceException', messageId: 'SVC1012', text: 'Simultaneous channel requests not supported' },
  OMA_ERR_TOO_LARGE: { status: 413, exception: 'serviceException', messageId: 'SVC0001', text: 'A service error occurred. Error code is %1' },
  /** A body that is not JSON (XML and form encodings are not supported yet). */
  OMA_ERR_MEDIA_TYPE: { status: 415, exception: 'serviceException', messageId: 'SVC0001', text: 'A service error occurred. Error code is %1' },
  /** The SIP side failed (registrar unreachable, ...), or the identity provider did not answer. */
  OMA_ERR_UPSTREAM: { status: 502, exception: 'serviceException', messageId: 'SVC0001', text: 'A service error occurred. Error code is %1' },
  /** The gateway is shutting down. */
  OMA_ERR_UNAVAILABLE: { status: 503, exception: 'serviceException', messageId: 'SVC0001', text: 'A service error occurred. Error code is %1' },
  OMA_ERR_INTERNAL: { status: 500, exception: 'serviceException', messageId: 'SVC0001', text: 'A service error occurred. Error code is %1' },
} as const satisfies Record<string, OmaErrorSpec>;

export type OmaErrorCode = keyof typeof OMA_ERROR_CODES;

/** An error answered with the OMA envelope; `variables` fill `%1`, `%2` of the text. */
export class OmaError extends Error {
  readonly code: OmaErrorCode;
  readonly status: number;
  readonly variables: string[];
  /** Extra response headers (`Allow` for 405). */
  readonly headers: Record<string, string>;
  constructor(code: OmaErrorCode, variables: string[] = [], headers: Record<string, string> = {}) {
    const spec = OMA_ERROR_CODES[code];
    super(spec.text.replace(/%(\d)/g, (_m, n: string) => variables[Number(n) - 1] ?? ''));
    this.name = 'OmaError';
    this.code = code;
    this.status = spec.status;
    this.variables = variables;
    this.headers = headers;
  }

  /** The `requestError` body. */
  toJSON(): { requestError: Record<string, { messageId: string; text: string; variables: string[] }> } {
    const spec = OMA_ERROR_CODES[this.code];
    return { requestError: { [spec.exception]: { messageId: spec.messageId, text: spec.text, variables: this.variables } } };
  }
}

export const omaError = {
  badJson: (part: string) => new OmaError('OMA_ERR_BAD_JSON', [part]),
  invalid: (part: string) => new OmaError('OMA_ERR_INVALID_INPUT', [part]),
  invalidValue: (part: string, valid: string) => new OmaError('OMA_ERR_INVALID_VALUE', [part, valid]),
  address: (part: string) => new OmaError('OMA_ERR_INVALID_ADDRESS', [part]),
  unauthenticated: (why: string) => new OmaError('OMA_ERR_UNAUTHENTICATED', [why]),
  forbidden: (why: string) => new OmaError('OMA_ERR_FORBIDDEN', [why]),
  notFound: (what: string) => new OmaError('OMA_ERR_NOT_FOUND', [`${what} not found`]),
  methodNotAllowed: (allow: string[]) => new OmaError('OMA_ERR_METHOD_NOT_ALLOWED', ['Method not allowed'], { Allow: allow.join(', ') }),
  conflict: (why: string) => new OmaError('OMA_ERR_CONFLICT', [why]),
  limit: (what: string, limit: number) => new OmaError('OMA_ERR_LIMIT', [what, String(limit)]),
  upstream: (why: string) => new OmaError('OMA_ERR_UPSTREAM', [why]),
  internal: () => new OmaError('OMA_ERR_INTERNAL', ['Internal error']),
};

/** Maps whatever a handler threw to the error the client gets. */
export function toOmaError(err: unknown): OmaError {
  if (err instanceof OmaError) return err;
  if (!(err instanceof CoreError)) return omaError.internal();
  switch (err.code) {
    case 'invalid-uri':
      return omaError.address(err.detail.uri ?? err.detail.aor ?? 'address');
    case 'domain-not-allowed':
      return omaError.forbidden(err.message);
    case 'account-unknown':
    case 'call-unknown':
      return omaError.notFound(err.code === 'call-unknown' ? 'Session' : 'Line');
    case 'account-exists':
    case 'call-exists':
    case 'call-bad-state':
    case 'call-terminated':
    case 'account-not-registered':
      return omaError.conflict(err.message);
    case 'policy-denied':
      return omaError.forbidden(err.message);
    case 'invalid-argument':
    case 'not-supported':
      return omaError.invalid(err.message);
    case 'connection-closed':
      return new OmaError('OMA_ERR_UNAVAILABLE', ['Session closed']);
    default:
      return omaError.internal();
  }
}
