/**
 * Errors of the transaction layer. Each has a stable `code`; those a TU turns into a response say
 * which (`status`). The catalogue is documented in `ERRORS.md` beside this file.
 */

export const TRANSACTION_ERROR_CODES = [
  'SIP_ERR_TRANSACTION_TIMEOUT',
  'SIP_ERR_TRANSACTION_ILLEGAL_TRANSITION',
  'SIP_ERR_TRANSACTION_STATE',
  'SIP_ERR_TRANSACTION_CLOSED',
  'SIP_ERR_TRANSACTION_NO_TRANSPORT',
  'SIP_ERR_TRANSACTION_BAD_REQUEST',
] as const;
export type TransactionErrorCode = (typeof TRANSACTION_ERROR_CODES)[number];

export class TransactionError extends Error {
  override name = 'TransactionError';
  constructor(
    readonly code: TransactionErrorCode,
    message: string,
    /** The response a TU should act as if it had received or should send; undefined if none applies. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * A client transaction got no final response in time (Timer B or F), or an INVITE server transaction
 * got no ACK (Timer H). The TU treats the first as a 408 (RFC 3261 §8.1.3.1, §17.1.1.2, §17.1.2.2).
 */
export class TransactionTimeoutError extends TransactionError {
  override name = 'TransactionTimeoutError';
  constructor(
    readonly timer: 'B' | 'F' | 'H',
    readonly branch: string,
    readonly method: string,
  ) {
    super('SIP_ERR_TRANSACTION_TIMEOUT', `Timer ${timer} fired for ${method} transaction ${branch}`, 408);
  }
}

/** A state machine was asked to move between two states the RFC does not connect (a bug). */
export class IllegalTransitionError extends TransactionError {
  override name = 'IllegalTransitionError';
  constructor(
    readonly machine: string,
    readonly from: string,
    readonly to: string,
  ) {
    super('SIP_ERR_TRANSACTION_ILLEGAL_TRANSITION', `${machine}: no transition from ${from} to ${to}`);
  }
}

/** The TU asked a transaction for something its state forbids, e.g. a second final response. */
export class TransactionStateError extends TransactionError {
  override name = 'TransactionStateError';
  constructor(message: string) {
    super('SIP_ERR_TRANSACTION_STATE', message);
  }
}

/** The transaction layer is closed. */
export class TransactionClosedError extends TransactionError {
  override name = 'TransactionClosedError';
  constructor() {
    super('SIP_ERR_TRANSACTION_CLOSED', 'transaction layer is closed', 503);
  }
}
