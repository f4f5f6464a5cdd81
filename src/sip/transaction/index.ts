/** The SIP transaction layer (RFC 3261 §17, RFC 6026). */
export { TransactionLayer } from './transaction-layer.ts';
export type {
  AnyClientTransaction,
  AnyServerTransaction,
  CloseOptions,
  TransactionLayerOptions,
  TransactionTransport,
} from './transaction-layer.ts';
export { InviteClientTransaction } from './invite-client-transaction.ts';
export type { InviteClientState } from './invite-client-transaction.ts';
export { NonInviteClientTransaction } from './non-invite-client-transaction.ts';
export type { NonInviteClientState } from './non-invite-client-transaction.ts';
export { InviteServerTransaction } from './invite-server-transaction.ts';
export type { InviteServerState } from './invite-server-transaction.ts';
export { NonInviteServerTransaction } from './non-invite-server-transaction.ts';
export type { NonInviteServerState } from './non-invite-server-transaction.ts';
export type {
  ClientTransaction,
  ClientTransactionUser,
  ServerTransaction,
  ServerTransactionUser,
} from './transaction.ts';
export { buildNon2xxAck } from './ack.ts';
export { DEFAULT_TIMER_CONFIG, resolveTimerConfig, transactionTimers } from './timers.ts';
export type { TimerConfig, TransactionTimers } from './timers.ts';
export {
  IllegalTransitionError,
  TRANSACTION_ERROR_CODES,
  TransactionClosedError,
  TransactionError,
  TransactionStateError,
  TransactionTimeoutError,
} from './errors.ts';
export type { TransactionErrorCode } from './errors.ts';
