/**
 * Errors of the user-agent layer. Transport and transaction failures keep their own types
 * (`TransportError` → treated as 503, `TransactionTimeoutError` → treated as 408).
 */
export type UaErrorCode =
  | 'SIP_ERR_UA_CLOSED'
  | 'SIP_ERR_UA_BAD_STATE'
  | 'SIP_ERR_UA_NO_ROUTE'
  | 'SIP_ERR_UA_AUTH_FAILED'
  | 'SIP_ERR_UA_REJECTED';

export class UaError extends Error {
  readonly code: UaErrorCode;
  /** The SIP status this failure stands for, where one does (e.g. a final response's). */
  readonly status?: number;
  constructor(code: UaErrorCode, message: string, status?: number) {
    super(message);
    this.name = 'UaError';
    this.code = code;
    this.status = status;
  }
}

/** A method called after `close()`. */
export class ClosedError extends UaError {
  constructor(what: string) {
    super('SIP_ERR_UA_CLOSED', `${what} is closed`);
    this.name = 'ClosedError';
  }
}
